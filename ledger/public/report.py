"""The DSA transparency report computed from the ledger: the quantitative part of the
Commission's harmonised template (Commission Implementing Regulation (EU) 2024/2835, Annex I,
"1. Quantitative template"), for one platform and period, as "the log at checkpoint N".

Every figure is one row: (section, item, dimension, value).

- `section` is the template's own numbering where the ledger has something to say: 1.2.1
  (Member State orders to act against illegal content, DSA Art. 9 and 15(1)(a)), 1.3 (notices,
  Art. 16 and 15(1)(b)), 1.4 (own-initiative content moderation, Art. 15(1)(c)), 1.5.1
  (internal complaints, out-of-court disputes and suspensions, Art. 15(1)(d), 20, 21, 23 and
  24(1)(a)(b)), 1.6 (automated means and indicators of accuracy, Art. 15(1)(e) and 42(2)(c)).
  "metadata" comes first and stands in for 1.1 (report identification): platform, period and
  the signed checkpoint the numbers were counted at.
- `item` is ours (ITEMS names each): the template's field labels live in the Commission's
  spreadsheets, which were not at hand, so the items follow the regulation's wording and the
  sections its numbering.
- `dimension` is "" for a total, else "key=value" pairs joined by ";" with the stored enum
  values of moderation.vocabulary (e.g. "category=STATEMENT_CATEGORY_VIOLENCE"); a model
  version is "model=NAME;version=LABEL", the version last because its label is free text.

What the ledger cannot know and the report therefore leaves out: orders to provide
information (Art. 10, template 1.2.2) and the Member State that issued an order; the median
times to acknowledge or act on an order or a notice (the ledger records decisions, not when an
order or notice arrived); whether an Art. 23 suspension was for manifestly illegal content or
for manifestly unfounded notices or complaints; the median duration of out-of-court disputes;
free-text contextual information (1.2.3, 1.3.1), human resources (1.7) and average monthly
active recipients (1.8).

Reads the roll-up tables only (and Platform, ModelVersion, Checkpoint), never the decision
tables. Counts below LEDGER_MIN_CELL read "<N"; a rate or share is None unless both of its
counts are shown (stats.published's rule), except the audited precision, which follows
stats.published_audit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.http import QueryDict
from django.utils import timezone

from ledger.public import LICENCE, LICENCE_URL, citation, queries, stats
from ledger.public.models import (
    AppealCount,
    AppealEvent,
    AuditCount,
    DecisionCount,
    DecisionFacetCount,
    DisputeCount,
    DisputeEvent,
    Facet,
)
from moderation.models import ModelVersion, Platform
from moderation.vocabulary import (
    AccountAction,
    Action,
    AutomatedDecision,
    Category,
    Ground,
    Monetary,
    Provision,
    Source,
    Visibility,
)

TEMPLATE = "Commission Implementing Regulation (EU) 2024/2835, Annex I, quantitative template"
PARAMS = ("platform", "from", "to")
# Ten years, leap days included: a longer period is surely a typo, and the roll-ups it would
# sum are still small, but the report is a periodic one.
MAX_DAYS = 3653

SECTIONS: dict[str, str] = {
    "metadata": "Report identification and the log checkpoint it was computed at",
    "1.2.1": "Member State orders to act against illegal content (DSA Art. 9, 15(1)(a))",
    "1.3": "Notices (DSA Art. 16, 15(1)(b)), trusted flaggers (Art. 22) included",
    "1.4": "Content moderation at the provider's own initiative (DSA Art. 15(1)(c))",
    "1.5.1": (
        "Internal complaints (DSA Art. 20), out-of-court disputes (Art. 21) and suspensions "
        "(Art. 23) (Art. 15(1)(d), 24(1)(a), 24(1)(b))"
    ),
    "1.6": (
        "Automated means of content moderation and indicators of accuracy "
        "(DSA Art. 15(1)(e), 42(2)(c))"
    ),
}

# Every item the report can hold, with what it counts: the CSV's key and the page's label.
ITEMS: dict[str, str] = {
    "platform": "Platform (slug)",
    "platform_name": "Platform name",
    "period_from": "Period from (UTC day, inclusive)",
    "period_to": "Period to (UTC day, inclusive)",
    "checkpoint_size": "Log checkpoint the numbers were counted at: tree size",
    "checkpoint_root_hash": "Log checkpoint: root hash (base64)",
    "checkpoint_signed_at": "Log checkpoint: signed at",
    "generated_at": "Report generated at",
    "min_cell": "Counts below this read as suppressed",
    "template": "Template followed",
    "licence": "Licence",
    "licence_url": "Licence text",
    "citation": "Cite as",
    "orders": "Decisions taken upon an order of a Member State authority",
    "notices": "Decisions taken upon a notice",
    "notices_actioned": "Decisions upon a notice that restricted something",
    "notices_no_action": "Decisions upon a notice that took no action",
    "notices_automated": "Decisions upon a notice taken by automated means (fully or partly)",
    "own_initiative": "Decisions taken at the provider's own initiative",
    "own_initiative_measures": "Own-initiative decisions with this restriction",
    "complaints_received": "Complaints received (appeals filed)",
    "complaints_decided": "Complaints decided",
    "complaints_upheld": "Complaints decided: decision upheld",
    "complaints_reversed": "Complaints decided: decision reversed",
    "complaints_modified": "Complaints decided: decision modified",
    "complaints_reversal_rate": "Share of decided complaints that reversed or modified",
    "complaints_median_hours": "Median time to decide a complaint (hours)",
    "disputes_referred": "Disputes referred to a certified out-of-court body",
    "disputes_outcome": "Out-of-court outcomes",
    "disputes_implemented": "Out-of-court outcomes the platform implemented",
    "disputes_not_implemented": "Out-of-court outcomes the platform did not implement",
    "disputes_implemented_share": "Share of outcomes implemented",
    "suspensions": "Suspensions imposed",
    "decisions": "Decisions (all sources)",
    "automated_detection": "Decisions on content detected by automated means",
    "automated_detection_share": "Share of decisions detected by automated means",
    "automated_decision": "Decisions by how automated the decision was",
    "automated_decision_share": "Share of decisions by how automated the decision was",
    "overturn_rate": "Share of decided complaints that reversed or modified",
    "model_decisions": "Decisions naming this model version",
    "model_complaints_decided": "Complaints decided against its decisions",
    "model_complaints_reversed": "Of those, reversed or modified",
    "model_overturn_rate": "Overturn rate on complaint",
    "model_audit_reviewed": "Blind audit samples labelled",
    "model_audit_correct": "Of those, labelled correct",
    "model_precision": "Audited precision",
    "model_precision_low": "Audited precision, 95% Wilson interval, low",
    "model_precision_high": "Audited precision, 95% Wilson interval, high",
}

# How the ledger's sources map onto the template. SOURCE_LEGAL_ORDER is a Member State order
# (1.2.1). The notices of 1.3 are every notice by someone outside the provider:
# SOURCE_ARTICLE_16 (an Art. 16 notice), SOURCE_TRUSTED_FLAGGER (an Art. 16 notice from an
# Art. 22 trusted flagger, which the template asks for apart), SOURCE_TYPE_OTHER_NOTIFICATION
# (the EU database's "other notification") and SOURCE_COMMUNITY_REPORT (a user's report through
# the service's own report button: a notice, whatever form it took; the EU export maps it to
# "other notification"). The `source` dimension keeps the four apart, so a reader who counts
# only strict Art. 16 notices can. SOURCE_VOLUNTARY is own initiative (1.4).
ORDER_SOURCES = (Source.LEGAL_ORDER.value,)
NOTICE_SOURCES = (
    Source.ARTICLE_16.value,
    Source.TRUSTED_FLAGGER.value,
    Source.OTHER_NOTIFICATION.value,
    Source.COMMUNITY_REPORT.value,
)
OWN_INITIATIVE_SOURCES = (Source.VOLUNTARY.value,)
# Decisions that restricted nothing: a flag (not acted on yet) or a rejected notice.
NOT_RESTRICTING = (Action.FLAG.value, Action.NO_ACTION.value)
# The measures of 1.4, as the facets record them (a decision counts under each of its values).
MEASURE_FACETS: dict[str, tuple[str, ...]] = {
    Facet.VISIBILITY.value: tuple(Visibility.values),
    Facet.MONETARY.value: tuple(Monetary.values),
    Facet.PROVISION.value: tuple(Provision.values),
    Facet.ACCOUNT.value: tuple(AccountAction.values),
}
# Art. 23 suspensions, as far as the ledger knows them: suspensions of an account or of the
# service; why (manifestly illegal content, unfounded notices or complaints) it does not know.
SUSPENSIONS = (
    (Facet.ACCOUNT.value, AccountAction.SUSPENDED.value),
    (Facet.PROVISION.value, Provision.TOTAL_SUSPENSION.value),
    (Facet.PROVISION.value, Provision.PARTIAL_SUSPENSION.value),
)
# Reversals and expiries change an earlier decision rather than moderate anything (as in
# stats): they are left out of every count of decisions here; complaints count their outcome.
ACTIONS = tuple(a for a in Action.values if a not in stats.CHANGING_ACTIONS)

Value = int | str | float | None
Errors = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Figure:
    section: str
    item: str
    dimension: str
    value: Value


@dataclass(frozen=True, slots=True)
class Period:
    platform: Platform
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    checkpoint_size: int
    checkpoint_root_hash: str  # base64, "" when no checkpoint of that size exists (size 0)
    checkpoint_signed_at: dt.datetime | None
    generated_at: dt.datetime
    min_cell: int
    figures: list[Figure]

    def value(self, section: str, item: str, dimension: str = "") -> Value:
        """One figure's value (KeyError if the report has no such figure)."""
        for figure in self.figures:
            if (figure.section, figure.item, figure.dimension) == (section, item, dimension):
                return figure.value
        raise KeyError((section, item, dimension))


# --- parameters ----------------------------------------------------------------------------


def parse_params(params: QueryDict | Mapping[str, list[str]]) -> tuple[Period | None, Errors]:
    """The platform and period asked for, or None and every problem by parameter name.

    The public side's filter parser (queries.parse_filters: unknown or repeated parameters,
    malformed dates, an unknown platform, a period ending before it starts), and what a
    report needs beyond a filter: all three parameters, and at most MAX_DAYS days.
    """
    filters, errors = queries.parse_filters(params, allowed=PARAMS)
    given = {
        name: params.getlist(name) if isinstance(params, QueryDict) else params.get(name, [])
        for name in PARAMS
    }
    for name in PARAMS:
        if name not in errors and not any(given[name]):
            errors[name] = ["Required."]
    # Checked here too when the platform is wrong, which leaves `filters` empty.
    if "from" not in errors and "to" not in errors:
        start, end = (dt.date.fromisoformat(given[name][0]) for name in ("from", "to"))
        if (end - start).days >= MAX_DAYS:
            errors["to"] = [f"The period may be at most {MAX_DAYS} days (ten years)."]
    if errors or filters.platform is None or filters.start is None or filters.end is None:
        return None, errors
    platform = Platform.objects.get(slug=filters.platform)
    return Period(platform=platform, start=filters.start, end=filters.end), {}


# --- figures -------------------------------------------------------------------------------


def _dimension(**pairs: Any) -> str:
    return ";".join(f"{key}={_text(value)}" for key, value in pairs.items())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Builder:
    """Collects figures in order, suppressing counts and withholding rates as it goes."""

    def __init__(self, min_cell: int) -> None:
        self.min_cell = min_cell
        self.figures: list[Figure] = []

    def add(self, section: str, item: str, value: Value, **dims: Any) -> None:
        self.figures.append(Figure(section, item, _dimension(**dims), value))

    def count(self, section: str, item: str, n: int, **dims: Any) -> None:
        self.add(section, item, stats.suppressed(n, self.min_cell), **dims)

    def rate(self, section: str, item: str, part: int, whole: int, **dims: Any) -> None:
        """part / whole, or None unless both counts are shown: a rate over a shown whole would
        give a suppressed part back."""
        shown = part >= self.min_cell and whole >= self.min_cell
        self.add(section, item, part / whole if shown else None, **dims)


def _sum(rows: Iterable[dict[str, Any]], **match: Any) -> int:
    """The total `n` of the rows whose fields hold the given values (a tuple: any of them)."""
    total = 0
    for row in rows:
        if all(row[k] in v if isinstance(v, tuple) else row[k] == v for k, v in match.items()):
            total += row["n"]
    return total


def _figures(period: Period, min_cell: int) -> list[Figure]:
    span = {"platform_id": period.platform.pk, "day__gte": period.start, "day__lte": period.end}
    dims = ("source", "action", "category", "ground", "automated_detection", "automated_decision")
    decisions = list(
        DecisionCount.objects.filter(**span, action__in=ACTIONS)
        .values(*dims)
        .annotate(n=Sum("decisions"))
        .order_by()
    )
    facets = list(
        DecisionFacetCount.objects.filter(
            **span, action__in=ACTIONS, facet__in=list(MEASURE_FACETS)
        )
        .values("source", "ground", "facet", "value")
        .annotate(n=Sum("decisions"))
        .order_by()
    )
    appeals = list(
        AppealCount.objects.filter(**span)
        .values("event", "hours", "action", "automated_detection", "model_version_id")
        .annotate(n=Sum("appeals"))
        .order_by()
    )
    disputes = dict(
        DisputeCount.objects.filter(**span)
        .values("event")
        .annotate(n=Sum("disputes"))
        .order_by()
        .values_list("event", "n")
    )
    build = _Builder(min_cell)

    # 1.2.1: orders to act against illegal content. The ledger records the decisions taken upon
    # an order, one per item acted on, not the orders themselves.
    orders = [row for row in decisions if row["source"] in ORDER_SOURCES]
    build.count("1.2.1", "orders", _sum(orders))
    for category in Category.values:
        build.count("1.2.1", "orders", _sum(orders, category=category), category=category)
    for action in ACTIONS:
        build.count("1.2.1", "orders", _sum(orders, action=action), action=action)

    # 1.3: notices.
    notices = [row for row in decisions if row["source"] in NOTICE_SOURCES]
    build.count("1.3", "notices", _sum(notices))
    for source in NOTICE_SOURCES:
        build.count("1.3", "notices", _sum(notices, source=source), source=source)
    for category in Category.values:
        build.count("1.3", "notices", _sum(notices, category=category), category=category)
    for action in ACTIONS:
        build.count("1.3", "notices", _sum(notices, action=action), action=action)
    acted = [row for row in notices if row["action"] not in NOT_RESTRICTING]
    build.count("1.3", "notices_actioned", _sum(acted))
    # The template asks whether action was taken on the basis of the law or of the terms.
    for ground in Ground.values:
        build.count("1.3", "notices_actioned", _sum(acted, ground=ground), ground=ground)
    build.count("1.3", "notices_no_action", _sum(notices, action=Action.NO_ACTION.value))
    automated = (AutomatedDecision.FULLY.value, AutomatedDecision.PARTIALLY.value)
    build.count("1.3", "notices_automated", _sum(notices, automated_decision=automated))

    # 1.4: own initiative, by measure, category and detection method.
    own = [row for row in decisions if row["source"] in OWN_INITIATIVE_SOURCES]
    build.count("1.4", "own_initiative", _sum(own))
    for action in ACTIONS:
        build.count("1.4", "own_initiative", _sum(own, action=action), action=action)
    for facet, values in MEASURE_FACETS.items():
        for value in values:
            n = _sum(facets, source=OWN_INITIATIVE_SOURCES, facet=facet, value=value)
            build.count("1.4", "own_initiative_measures", n, **{facet: value})
    for detected in (True, False):
        n = _sum(own, automated_detection=detected)
        build.count("1.4", "own_initiative", n, automated_detection=detected)
    for category in Category.values:
        build.count("1.4", "own_initiative", _sum(own, category=category), category=category)
        for detected in (True, False):
            n = _sum(own, category=category, automated_detection=detected)
            build.count("1.4", "own_initiative", n, category=category, automated_detection=detected)

    # 1.5.1: complaints (appeals), counted by the day filed or decided.
    filed = [row for row in appeals if row["event"] == AppealEvent.FILED.value]
    decided = [row for row in appeals if row["event"] != AppealEvent.FILED.value]
    upheld = _sum(decided, event=AppealEvent.UPHELD.value)
    reversed_ = _sum(decided, event=AppealEvent.OVERTURNED.value)
    modified = _sum(decided, event=AppealEvent.MODIFIED.value)
    total_decided = upheld + reversed_ + modified
    build.count("1.5.1", "complaints_received", _sum(filed))
    for action in ACTIONS:
        build.count("1.5.1", "complaints_received", _sum(filed, action=action), action=action)
    build.count("1.5.1", "complaints_decided", total_decided)
    build.count("1.5.1", "complaints_upheld", upheld)
    build.count("1.5.1", "complaints_reversed", reversed_)
    build.count("1.5.1", "complaints_modified", modified)
    build.rate("1.5.1", "complaints_reversal_rate", reversed_ + modified, total_decided)
    hours: Counter[int] = Counter()
    for row in decided:
        hours[row["hours"]] += row["n"]
    build.add(
        "1.5.1",
        "complaints_median_hours",
        queries.median_hours(hours) if total_decided >= min_cell else None,
    )
    # Out-of-court disputes (Art. 21), counted by the day of each step.
    build.count("1.5.1", "disputes_referred", disputes.get(DisputeEvent.REFERRED.value, 0))
    for outcome in (
        DisputeEvent.UPHELD,
        DisputeEvent.OVERTURNED,
        DisputeEvent.SETTLED,
        DisputeEvent.WITHDRAWN,
    ):
        n = disputes.get(outcome.value, 0)
        build.count("1.5.1", "disputes_outcome", n, outcome=outcome.value)
    done = disputes.get(DisputeEvent.IMPLEMENTED.value, 0)
    not_done = disputes.get(DisputeEvent.NOT_IMPLEMENTED.value, 0)
    build.count("1.5.1", "disputes_implemented", done)
    build.count("1.5.1", "disputes_not_implemented", not_done)
    build.rate("1.5.1", "disputes_implemented_share", done, done + not_done)
    # Suspensions (Art. 23), from every source, and how many were on grounds of illegality.
    for facet, value in SUSPENSIONS:
        build.count(
            "1.5.1", "suspensions", _sum(facets, facet=facet, value=value), **{facet: value}
        )
        for ground in Ground.values:
            n = _sum(facets, facet=facet, value=value, ground=ground)
            build.count("1.5.1", "suspensions", n, **{facet: value, "ground": ground})

    # 1.6: automated means, over every decision of the period whatever its source.
    total = _sum(decisions)
    build.count("1.6", "decisions", total)
    machine_found = _sum(decisions, automated_detection=True)
    build.count("1.6", "automated_detection", machine_found)
    build.rate("1.6", "automated_detection_share", machine_found, total)
    for how in AutomatedDecision.values:
        n = _sum(decisions, automated_decision=how)
        build.count("1.6", "automated_decision", n, automated_decision=how)
        build.rate("1.6", "automated_decision_share", n, total, automated_decision=how)
    changed = (AppealEvent.OVERTURNED.value, AppealEvent.MODIFIED.value)
    for flag in (True, False):
        build.rate(
            "1.6",
            "overturn_rate",
            _sum(decided, automated_detection=flag, event=changed),
            _sum(decided, automated_detection=flag),
            automated_detection=flag,
        )
    _model_figures(build, span, decided)
    return build.figures


def _model_figures(build: _Builder, span: dict[str, Any], decided: list[dict[str, Any]]) -> None:
    """Per model version: its decisions, complaints decided and reversed, and its precision on
    blind audit samples with the 95% Wilson interval (stats.published_audit)."""
    made = dict(
        DecisionCount.objects.filter(**span, action__in=ACTIONS, model_version__isnull=False)
        .values("model_version_id")
        .annotate(n=Sum("decisions"))
        .order_by()
        .values_list("model_version_id", "n")
    )
    audits = {
        row["model_version_id"]: (row["reviewed"], row["correct"])
        for row in AuditCount.objects.filter(**span, model_version__isnull=False)
        .values("model_version_id")
        .annotate(reviewed=Sum("reviewed"), correct=Sum("correct"))
        .order_by()
    }
    ids = set(made) | set(audits) | {r["model_version_id"] for r in decided} - {None}
    versions = ModelVersion.objects.filter(id__in=ids).order_by("model__name", "version", "id")
    changed = (AppealEvent.OVERTURNED.value, AppealEvent.MODIFIED.value)
    for version in versions.values("id", "version", "model__name"):
        key = {"model": version["model__name"], "version": version["version"]}
        pk = version["id"]
        appeals = _sum(decided, model_version_id=pk)
        reversed_ = _sum(decided, model_version_id=pk, event=changed)
        reviewed, correct = audits.get(pk, (0, 0))
        build.count("1.6", "model_decisions", made.get(pk, 0), **key)
        build.count("1.6", "model_complaints_decided", appeals, **key)
        build.count("1.6", "model_complaints_reversed", reversed_, **key)
        build.rate("1.6", "model_overturn_rate", reversed_, appeals, **key)
        audit = stats.published_audit(
            stats.ModelVersionCounts(
                platform="",
                model=key["model"],
                version=key["version"],
                decisions=0,
                appeals=0,
                appeals_decided=0,
                overturned=0,
                audit_reviewed=reviewed,
                audit_correct=correct,
            ),
            build.min_cell,
        )
        build.add("1.6", "model_audit_reviewed", audit["reviewed"], **key)
        build.add("1.6", "model_audit_correct", audit["correct"], **key)
        build.add("1.6", "model_precision", audit["precision"], **key)
        build.add("1.6", "model_precision_low", audit["low"], **key)
        build.add("1.6", "model_precision_high", audit["high"], **key)


def report(period: Period, *, base_url: str, min_cell: int | None = None) -> Report:
    """The report for `period`, every figure read in one snapshot of the roll-ups
    (queries.snapshot), so that the numbers are exactly those of the checkpoint it names."""
    threshold = settings.LEDGER_MIN_CELL if min_cell is None else min_cell
    with queries.snapshot() as upto:
        figures = _figures(period, threshold)
        checkpoint = queries.checkpoint_of(upto)
    root = checkpoint["root_hash"] if checkpoint else ""
    signed_at = dt.datetime.fromisoformat(checkpoint["signed_at"]) if checkpoint else None
    now = timezone.now()
    metadata: list[tuple[str, Value]] = [
        ("platform", period.platform.slug),
        ("platform_name", period.platform.name),
        ("period_from", period.start.isoformat()),
        ("period_to", period.end.isoformat()),
        ("checkpoint_size", upto),
        ("checkpoint_root_hash", root),
        ("checkpoint_signed_at", _iso(signed_at) if signed_at else ""),
        ("generated_at", _iso(now)),
        ("min_cell", threshold),
        ("template", TEMPLATE),
        ("licence", LICENCE),
        ("licence_url", LICENCE_URL),
        ("citation", citation(base_url, upto)),
    ]
    return Report(
        period=period,
        checkpoint_size=upto,
        checkpoint_root_hash=root,
        checkpoint_signed_at=signed_at,
        generated_at=now,
        figures=[Figure("metadata", item, "", value) for item, value in metadata] + figures,
        min_cell=threshold,
    )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- CSV -----------------------------------------------------------------------------------

COLUMNS = ("section", "item", "dimension", "value")


def csv_value(value: Value) -> str:
    """A figure's value as the CSV writes it: counts and "<N" as they are, rates, shares and
    the median hours with four decimals, a withheld one as the empty string."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def csv_rows(result: Report) -> Iterable[tuple[str, str, str, str]]:
    for figure in result.figures:
        yield figure.section, figure.item, figure.dimension, csv_value(figure.value)
