"""The public statistics as tables: totals and breakdowns of decisions, visibility restrictions,
automation, appeals, model versions and out-of-court disputes, filtered by platform, period,
action, category, source and model, for the summary API, the CSV downloads and the pages.

Every number is a SUM over the roll-up tables (ledger.public.models), grouped in the database,
so its cost follows the number of roll-up rows in the filtered period, never the decisions; the
only other tables read are the small ones that name things (Platform, ModelVersion, Checkpoint).
Every count is published through `stats.suppressed` and no rate is computed from a suppressed
count, so no caller can forget to.

Filters that a roll-up cannot split by are not applied to it, and say so: audit labels are
counted by platform, day, category and model version (not by action or source), dispute steps
by platform and day only. Under such a filter those numbers are null (totals) or left out (the
models table's audit columns, the disputes table's rows), and the table's title names the
filters it could not apply.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import Q, QuerySet, Sum
from django.http import QueryDict
from django.utils.http import urlencode

from appeals import quality
from ledger.models import Checkpoint
from ledger.public import rollups, stats
from ledger.public.models import (
    AppealCount,
    AppealEvent,
    AuditCount,
    DecisionCount,
    DecisionFacetCount,
    DisputeCount,
    DisputeEvent,
    Facet,
    FacetDayCount,
)
from moderation.models import ModelVersion, Platform
from moderation.schemas import SLUG_PATTERN
from moderation.vocabulary import Action, AutomatedDecision, Category, Source, Visibility

Cell = int | str
CACHE_PREFIX = "ledger:summary:v1"
# A day at most: a key outlives its use only until the next catch-up moves the generation.
CACHE_SECONDS = 24 * 3600

FILTER_PARAMS = ("platform", "from", "to", "action", "category", "source", "model", "version")
# The longest value each text filter can match (moderation.models); anything longer is a
# mistake, and a NUL would make PostgreSQL refuse the query.
LONGEST = {"platform": 64, "model": 100, "version": 64}
_CHOICES = {"action": Action, "category": Category, "source": Source}
_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# Error keys echo the caller's parameter names: bounded, so a huge name is not sent back whole.
_NAME_SHOWN = 100

DECIDED_EVENTS = (
    AppealEvent.UPHELD.value,
    AppealEvent.OVERTURNED.value,
    AppealEvent.MODIFIED.value,
)
CHANGED_EVENTS = (AppealEvent.OVERTURNED.value, AppealEvent.MODIFIED.value)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the public asked to see; None is "all"."""

    platform: str | None = None
    start: dt.date | None = None  # query parameter "from", inclusive
    end: dt.date | None = None  # query parameter "to", inclusive
    action: str | None = None  # stored Action value, e.g. "REMOVAL"
    category: str | None = None  # stored Category value
    source: str | None = None  # stored Source value
    model: str | None = None  # model name
    version: str | None = None  # model version (with or without model)

    def query(self) -> dict[str, str]:
        """The URL parameters that give these filters back (only those set)."""
        values = {
            "platform": self.platform,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "action": self.action,
            "category": self.category,
            "source": self.source,
            "model": self.model,
            "version": self.version,
        }
        return {name: value for name, value in values.items() if value is not None}

    def names(self) -> set[str]:
        """The parameter names of the filters set."""
        return set(self.query())


def _getlist(params: QueryDict | Mapping[str, list[str]], name: str) -> list[str]:
    if isinstance(params, QueryDict):
        return params.getlist(name)
    return list(params.get(name, []))


def parse_filters(
    params: QueryDict | Mapping[str, list[str]], *, allowed: Iterable[str] = FILTER_PARAMS
) -> tuple[Filters, dict[str, list[str]]]:
    """The filters in `params`, and every problem with them, each under its parameter's name.

    Unknown and repeated parameters, malformed values, unknown enum values (the allowed ones
    named), an unknown platform and a period that ends before it starts are all reported at
    once. An empty value is the same as leaving the parameter out, as an HTML form sends it.
    """
    allowed = tuple(allowed)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in params:
        if name not in allowed:
            errors[name[:_NAME_SHOWN]] = [f"Unknown parameter; use {', '.join(allowed)}."]
    for name in allowed:
        given = _getlist(params, name)
        if len(given) > 1:
            errors[name] = ["Give it at most once."]
            continue
        if not given or given[0] == "":
            continue
        value, problem = _parse_one(name, given[0])
        if problem:
            errors[name] = [problem]
        else:
            values[name] = value
    start, end = values.get("from"), values.get("to")
    if start is not None and end is not None and start > end:
        errors["to"] = [f"The period ends ({end}) before it starts ({start})."]
    platform = values.get("platform")
    if platform is not None and not Platform.objects.filter(slug=platform).exists():
        errors["platform"] = [f"No such platform: {platform!r}."]
    if errors:
        return Filters(), errors
    filters = Filters(
        platform=platform,
        start=start,
        end=end,
        action=values.get("action"),
        category=values.get("category"),
        source=values.get("source"),
        model=values.get("model"),
        version=values.get("version"),
    )
    return filters, {}


def _parse_one(name: str, raw: str) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong with it)."""
    if name in ("from", "to"):
        try:
            if not _DATE.match(raw):
                raise ValueError(raw)
            return dt.date.fromisoformat(raw), None
        except ValueError:
            return None, "Must be a date, YYYY-MM-DD."
    if name in _CHOICES:
        choices = _CHOICES[name]
        if raw in choices.values:
            return raw, None
        return None, f"Unknown {name}; use one of {', '.join(choices.values)}."
    longest = LONGEST[name]
    if name == "version":
        if "\x00" in raw or len(raw) > longest:
            return None, f"Must be a version of at most {longest} characters, without NUL."
        return raw, None
    if not re.match(SLUG_PATTERN, raw) or len(raw) > longest:
        return None, f"Must be a name of letters, digits, '-' or '_', at most {longest} long."
    return raw, None


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the statistics, as published: counts already suppressed."""

    name: str  # slug; its CSV is /stats/<name>.csv?<filters>
    title: str
    columns: list[str]  # machine keys
    labels: list[str]  # human column headers
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Summary:
    filters: Filters
    counted_upto: int  # the roll-ups' checkpoint size
    checkpoint: dict[str, Any] | None  # {"size", "root_hash" (base64), "signed_at" (ISO)}
    min_cell: int
    totals: dict[str, Any]
    tables: dict[str, Table]


# name -> (title, [(column, label), ...]), in page order: each column named with its label.
_SHAPES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "decisions_by_day": (
        "Decisions by day received and action",
        [("day", "Day"), ("action", "Action"), ("decisions", "Decisions")],
    ),
    "decisions_by_action": (
        "Decisions by action",
        [("action", "Action"), ("decisions", "Decisions")],
    ),
    "decisions_by_category": (
        "Decisions by category",
        [("category", "Category"), ("decisions", "Decisions")],
    ),
    "decisions_by_ground": (
        "Decisions by ground",
        [("ground", "Ground"), ("decisions", "Decisions")],
    ),
    "decisions_by_source": (
        "Decisions by source",
        [("source", "Source"), ("decisions", "Decisions")],
    ),
    "automation": (
        "Decisions by automated detection and automated decision",
        [
            ("automated_detection", "Detected automatically"),
            ("automated_decision", "Decided automatically"),
            ("decisions", "Decisions"),
        ],
    ),
    "visibility_by_kind": (
        "Visibility restrictions by kind (a decision counts under each of its kinds)",
        [("kind", "Kind"), ("decisions", "Decisions")],
    ),
    "visibility_by_day": (
        "Visibility restrictions by day received and kind",
        [("day", "Day"), ("kind", "Kind"), ("decisions", "Decisions")],
    ),
    "territories": (
        "Decisions by territory (a decision counts under each territory it applies to)",
        [("territory", "Territory"), ("decisions", "Decisions")],
    ),
    "appeals_by_day": (
        "Appeals filed and decided by day",
        [
            ("day", "Day"),
            ("filed", "Filed"),
            ("upheld", "Upheld"),
            ("overturned", "Overturned"),
            ("modified", "Modified"),
        ],
    ),
    "appeals_by_action": (
        "Appeals by the action appealed",
        [
            ("action", "Action"),
            ("filed", "Filed"),
            ("decided", "Decided"),
            ("upheld", "Upheld"),
            ("overturned", "Overturned"),
            ("modified", "Modified"),
            ("overturn_rate", "Overturn rate"),
            ("median_hours", "Median hours to decide"),
        ],
    ),
    "models": (
        "Model versions: appeals, overturns and audited precision",
        [
            ("platform", "Platform"),
            ("model", "Model"),
            ("version", "Version"),
            ("decisions", "Decisions"),
            ("appeals", "Appeals"),
            ("appeals_decided", "Appeals decided"),
            ("overturned", "Overturned or modified"),
            ("overturn_rate", "Overturn rate"),
            ("audit_reviewed", "Audit samples reviewed"),
            ("audit_correct", "Labelled correct"),
            ("precision", "Precision"),
            ("precision_low", "Precision, 95% low"),
            ("precision_high", "Precision, 95% high"),
            ("below_min_precision", "Below the minimum precision"),
        ],
    ),
    "disputes": ("Out-of-court dispute steps", [("event", "Step"), ("disputes", "Disputes")]),
}
TABLES: dict[str, str] = {name: shape[0] for name, shape in _SHAPES.items()}

# The filters each roll-up can apply; the others are named as not applied.
_DECISION_FILTERS = frozenset(FILTER_PARAMS)
_AUDIT_FILTERS = frozenset({"platform", "from", "to", "category", "model", "version"})
_DISPUTE_FILTERS = frozenset({"platform", "from", "to"})
# The filters on a decision's own dimensions (beyond platform and period).
_DIMENSION_FILTERS = frozenset({"action", "category", "source", "model", "version"})

_ORDER: dict[str, list[str]] = {
    "action": list(Action.values),
    "category": list(Category.values),
    "source": list(Source.values),
    "automated_decision": list(AutomatedDecision.values),
    "visibility": list(Visibility.values),
    "event": list(DisputeEvent.values),
}


def _rank(kind: str) -> Callable[[Any], tuple[int, str]]:
    """Sort key: the vocabulary's order, then anything unknown by its value."""
    order = {value: i for i, value in enumerate(_ORDER.get(kind, []))}
    return lambda value: (order.get(value, len(order)), str(value))


def median_hours(histogram: Mapping[int, int]) -> int | None:
    """The median of a histogram {whole hours: appeals}: the smallest h whose cumulative count
    reaches half the total (cumulative * 2 >= total), so the lower median of an even count.
    None when the histogram is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    cumulative = 0
    for hours in sorted(histogram):
        cumulative += histogram[hours]
        if cumulative * 2 >= total:
            return hours
    raise AssertionError("unreachable: the cumulative count reaches the total")


def _rate(numerator: int, denominator: int, min_cell: int) -> float | None:
    """A rate only when both its counts are shown: otherwise rate x denominator would give a
    suppressed count back."""
    if numerator < min_cell or denominator < min_cell:
        return None
    return numerator / denominator


def _precision(reviewed: int, correct: int, min_cell: int) -> dict[str, Any]:
    """Precision and its 95% Wilson interval, null below `min_cell` reviewed (the rule of
    stats.published_audit, which explains why `correct` need not be shown too)."""
    precision = low = high = None
    if reviewed >= min_cell:
        row = quality.precision_of((), reviewed, correct)
        precision, low, high = row.precision, row.low, row.high
    return {"precision": precision, "low": low, "high": high}


def _not_applied(title: str, filters: Filters, applied: frozenset[str], what: str = "") -> str:
    """The title, naming the filters set that these counts cannot be split by."""
    missing = [name for name in FILTER_PARAMS if name in filters.names() - applied]
    if not missing:
        return title
    what = f"{what} " if what else ""
    return f"{title} ({what}not counted by {', '.join(missing)}: left out under that filter)"


class _Counts:
    """The grouped sums one summary needs, each queried once and only when first used."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters

    def _filtered(self, model: type[Any], applied: frozenset[str]) -> QuerySet[Any]:
        f = self.filters
        q = Q()
        if f.platform is not None:
            q &= Q(platform__slug=f.platform)
        if f.start is not None:
            q &= Q(day__gte=f.start)
        if f.end is not None:
            q &= Q(day__lte=f.end)
        for name in ("action", "category", "source"):
            value = getattr(f, name)
            if value is not None and name in applied:
                q &= Q(**{name: value})
        if f.model is not None and "model" in applied:
            q &= Q(model_version__model__name=f.model)
        if f.version is not None and "version" in applied:
            q &= Q(model_version__version=f.version)
        return model._default_manager.filter(q)

    def _grouped(
        self, model: type[Any], applied: frozenset[str], keys: tuple[str, ...], total: str
    ) -> list[dict[str, Any]]:
        return list(
            self._filtered(model, applied)
            .values(*keys)
            .annotate(n=Sum(total))
            .order_by()
            .values(*keys, "n")
        )

    def decisions(self, *keys: str) -> list[dict[str, Any]]:
        return self._grouped(DecisionCount, _DECISION_FILTERS, keys, "decisions")

    @cached_property
    def by_day_action(self) -> list[dict[str, Any]]:
        return self.decisions("day", "action")

    @cached_property
    def by_automation(self) -> list[dict[str, Any]]:
        return self.decisions("automated_detection", "automated_decision")

    def facet(self, facet: Facet, *keys: str) -> list[dict[str, Any]]:
        if self.filters.names() & _DIMENSION_FILTERS:
            rows = self._filtered(DecisionFacetCount, _DECISION_FILTERS)
        else:
            # Period and platform only: the narrow table, a few rows per day and value.
            rows = self._filtered(FacetDayCount, frozenset())
        rows = rows.filter(facet=facet.value)
        return list(rows.values(*keys).annotate(n=Sum("decisions")).order_by().values(*keys, "n"))

    @cached_property
    def visibility_by_day(self) -> list[dict[str, Any]]:
        return self.facet(Facet.VISIBILITY, "day", "value")

    @cached_property
    def appeals_by_day(self) -> list[dict[str, Any]]:
        return self._grouped(AppealCount, _DECISION_FILTERS, ("day", "event"), "appeals")

    @cached_property
    def appeals_by_action(self) -> list[dict[str, Any]]:
        """(action, event, hours) -> appeals: the hours histogram of each action's decisions."""
        return self._grouped(
            AppealCount, _DECISION_FILTERS, ("action", "event", "hours"), "appeals"
        )

    @cached_property
    def audits(self) -> dict[int | None, tuple[int, int]]:
        """model_version_id -> (reviewed, correct)."""
        rows = (
            self._filtered(AuditCount, _AUDIT_FILTERS)
            .values("model_version_id")
            .annotate(reviewed=Sum("reviewed"), correct=Sum("correct"))
            .order_by()
        )
        return {r["model_version_id"]: (r["reviewed"], r["correct"]) for r in rows}

    @cached_property
    def disputes(self) -> dict[str, int]:
        rows = self._grouped(DisputeCount, _DISPUTE_FILTERS, ("event",), "disputes")
        return {r["event"]: r["n"] for r in rows}

    def applies(self, applied: frozenset[str]) -> bool:
        return self.filters.names() <= applied


def _sum_by(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, int]:
    sums: dict[Any, int] = defaultdict(int)
    for row in rows:
        sums[row[key]] += row["n"]
    return sums


def blank(name: str) -> Table:
    """The table's shape with no rows (KeyError if there is no such table)."""
    return _table(name, [])


def _table(name: str, rows: list[list[Any]], title: str | None = None) -> Table:
    default, columns = _SHAPES[name]
    return Table(
        name, title or default, [c for c, _ in columns], [label for _, label in columns], rows
    )


def _ranked(sums: Mapping[Any, int], kind: str, min_cell: int) -> list[list[Any]]:
    rank = _rank(kind)
    return [[key, stats.suppressed(sums[key], min_cell)] for key in sorted(sums, key=rank)]


# --- The tables ---------------------------------------------------------------------------------


def _decisions_by_day(c: _Counts, min_cell: int) -> Table:
    rank = _rank("action")
    rows = sorted(c.by_day_action, key=lambda r: (r["day"], rank(r["action"])))
    return _table(
        "decisions_by_day",
        [[r["day"], r["action"], stats.suppressed(r["n"], min_cell)] for r in rows],
    )


def _decisions_by_action(c: _Counts, min_cell: int) -> Table:
    return _table(
        "decisions_by_action", _ranked(_sum_by(c.by_day_action, "action"), "action", min_cell)
    )


def _decisions_by(dimension: str, table: str, kind: str) -> Callable[[_Counts, int], Table]:
    def build(c: _Counts, min_cell: int) -> Table:
        return _table(table, _ranked(_sum_by(c.decisions(dimension), dimension), kind, min_cell))

    return build


def _automation(c: _Counts, min_cell: int) -> Table:
    rank = _rank("automated_decision")
    rows = sorted(
        c.by_automation, key=lambda r: (not r["automated_detection"], rank(r["automated_decision"]))
    )
    return _table(
        "automation",
        [
            [r["automated_detection"], r["automated_decision"], stats.suppressed(r["n"], min_cell)]
            for r in rows
        ],
    )


def _visibility_by_kind(c: _Counts, min_cell: int) -> Table:
    sums = _sum_by(c.visibility_by_day, "value")
    return _table("visibility_by_kind", _ranked(sums, "visibility", min_cell))


def _visibility_by_day(c: _Counts, min_cell: int) -> Table:
    rank = _rank("visibility")
    rows = sorted(c.visibility_by_day, key=lambda r: (r["day"], rank(r["value"])))
    return _table(
        "visibility_by_day",
        [[r["day"], r["value"], stats.suppressed(r["n"], min_cell)] for r in rows],
    )


def _territories(c: _Counts, min_cell: int) -> Table:
    sums = _sum_by(c.facet(Facet.TERRITORY, "value"), "value")
    return _table("territories", _ranked(sums, "territory", min_cell))


def _appeals_by_day(c: _Counts, min_cell: int) -> Table:
    days: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in c.appeals_by_day:
        days[r["day"]][r["event"]] += r["n"]
    events = [e.value for e in AppealEvent]
    return _table(
        "appeals_by_day",
        [
            [day, *(stats.suppressed(days[day][event], min_cell) for event in events)]
            for day in sorted(days)
        ],
    )


@dataclass(slots=True)
class _Appeals:
    """The appeal counts of one group (an action, or everything) and its hours histogram."""

    events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hours: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        self.events[row["event"]] += row["n"]
        if row["event"] in DECIDED_EVENTS and row["hours"] is not None:
            self.hours[row["hours"]] += row["n"]

    @property
    def decided(self) -> int:
        return sum(self.events[e] for e in DECIDED_EVENTS)

    @property
    def changed(self) -> int:
        return sum(self.events[e] for e in CHANGED_EVENTS)

    def median(self, min_cell: int) -> int | None:
        return median_hours(self.hours) if self.decided >= min_cell else None


def _appeals_of(rows: Iterable[dict[str, Any]]) -> tuple[_Appeals, dict[str, _Appeals]]:
    everything = _Appeals()
    by_action: dict[str, _Appeals] = defaultdict(_Appeals)
    for row in rows:
        everything.add(row)
        by_action[row["action"]].add(row)
    return everything, by_action


def _appeals_by_action(c: _Counts, min_cell: int) -> Table:
    _, by_action = _appeals_of(c.appeals_by_action)
    rows = []
    for action in sorted(by_action, key=_rank("action")):
        a = by_action[action]
        rows.append(
            [
                action,
                stats.suppressed(a.events[AppealEvent.FILED], min_cell),
                stats.suppressed(a.decided, min_cell),
                stats.suppressed(a.events[AppealEvent.UPHELD], min_cell),
                stats.suppressed(a.events[AppealEvent.OVERTURNED], min_cell),
                stats.suppressed(a.events[AppealEvent.MODIFIED], min_cell),
                _rate(a.changed, a.decided, min_cell),
                a.median(min_cell),
            ]
        )
    return _table("appeals_by_action", rows)


def _models(c: _Counts, min_cell: int) -> Table:
    """Every model version of the filtered platforms and models, its own decisions (reversals
    and expiries change a decision, they are not the model's: as stats.CHANGING_ACTIONS) and
    the appeals against them, and its audited precision."""
    f = c.filters
    versions = ModelVersion.objects.all()
    if f.platform is not None:
        versions = versions.filter(model__platform__slug=f.platform)
    if f.model is not None:
        versions = versions.filter(model__name=f.model)
    if f.version is not None:
        versions = versions.filter(version=f.version)
    listed = list(
        versions.order_by("model__platform__slug", "model__name", "version", "id").values_list(
            "id", "model__platform__slug", "model__name", "version"
        )
    )
    ids = [row[0] for row in listed]
    decisions = {
        r["model_version_id"]: r["n"]
        for r in c._filtered(DecisionCount, _DECISION_FILTERS)
        .filter(model_version_id__in=ids)
        .exclude(action__in=stats.CHANGING_ACTIONS)
        .values("model_version_id")
        .annotate(n=Sum("decisions"))
        .order_by()
    }
    appeals: dict[int, _Appeals] = defaultdict(_Appeals)
    for r in (
        c._filtered(AppealCount, _DECISION_FILTERS)
        .filter(model_version_id__in=ids)
        .exclude(action__in=stats.CHANGING_ACTIONS)
        .values("model_version_id", "event")
        .annotate(n=Sum("appeals"))
        .order_by()
    ):
        appeals[r["model_version_id"]].add({**r, "hours": None})
    audited = c.applies(_AUDIT_FILTERS | _DECISION_FILTERS - {"action", "source"})
    rows = []
    for pk, platform, model, version in listed:
        a = appeals[pk]
        audit: list[Any] = [None] * 6
        if audited:
            reviewed, correct = c.audits.get(pk, (0, 0))
            p = _precision(reviewed, correct, min_cell)
            flagged = None if p["high"] is None else p["high"] < settings.LEDGER_MIN_PRECISION
            audit = [
                stats.suppressed(reviewed, min_cell),
                stats.suppressed(correct, min_cell),
                p["precision"],
                p["low"],
                p["high"],
                flagged,
            ]
        rows.append(
            [
                platform,
                model,
                version,
                stats.suppressed(decisions.get(pk, 0), min_cell),
                stats.suppressed(a.events[AppealEvent.FILED], min_cell),
                stats.suppressed(a.decided, min_cell),
                stats.suppressed(a.changed, min_cell),
                _rate(a.changed, a.decided, min_cell),
                *audit,
            ]
        )
    title = _not_applied(TABLES["models"], f, _DECISION_FILTERS - {"action", "source"}, "audits")
    return _table("models", rows, title)


def _disputes(c: _Counts, min_cell: int) -> Table:
    if not c.applies(_DISPUTE_FILTERS):
        title = _not_applied(TABLES["disputes"], c.filters, _DISPUTE_FILTERS)
        return _table("disputes", [], title)
    return _table("disputes", _ranked(c.disputes, "event", min_cell))


_BUILDERS: dict[str, Callable[[_Counts, int], Table]] = {
    "decisions_by_day": _decisions_by_day,
    "decisions_by_action": _decisions_by_action,
    "decisions_by_category": _decisions_by("category", "decisions_by_category", "category"),
    "decisions_by_ground": _decisions_by("ground", "decisions_by_ground", "ground"),
    "decisions_by_source": _decisions_by("source", "decisions_by_source", "source"),
    "automation": _automation,
    "visibility_by_kind": _visibility_by_kind,
    "visibility_by_day": _visibility_by_day,
    "territories": _territories,
    "appeals_by_day": _appeals_by_day,
    "appeals_by_action": _appeals_by_action,
    "models": _models,
    "disputes": _disputes,
}


def _min_cell(min_cell: int | None) -> int:
    return settings.LEDGER_MIN_CELL if min_cell is None else min_cell


@contextmanager
def snapshot() -> Iterator[int]:
    """One view of the roll-ups for every query inside, and the log size they count up to.

    A catch-up may commit between two queries of a summary; under PostgreSQL's default READ
    COMMITTED the later queries would count entries the earlier ones and `counted_upto` did
    not. REPEATABLE READ gives all of them the snapshot of the first (a hot standby allows it
    too); SQLite's transactions are serializable already. Inside a transaction that has begun
    (a test's), the isolation level can no longer be set, and that transaction is the view.
    """
    alias = router.db_for_read(DecisionCount)
    connection = connections[alias]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield rollups.counted_upto()


def table(name: str, filters: Filters, *, min_cell: int | None = None) -> Table:
    """One table (KeyError if there is no such table)."""
    return _BUILDERS[name](_Counts(filters), _min_cell(min_cell))


def _totals(c: _Counts, min_cell: int) -> dict[str, Any]:
    by_action = _sum_by(c.by_day_action, "action")
    everything, _ = _appeals_of(c.appeals_by_action)
    automated = sum(r["n"] for r in c.by_automation if r["automated_detection"])
    fully = sum(
        r["n"] for r in c.by_automation if r["automated_decision"] == AutomatedDecision.FULLY
    )
    totals: dict[str, Any] = {
        "decisions": stats.suppressed(sum(by_action.values()), min_cell),
        "visibility_restrictions": stats.suppressed(by_action.get(Action.VISIBILITY, 0), min_cell),
        "automated_detection": stats.suppressed(automated, min_cell),
        "fully_automated": stats.suppressed(fully, min_cell),
        "appeals_filed": stats.suppressed(everything.events[AppealEvent.FILED], min_cell),
        "appeals_decided": stats.suppressed(everything.decided, min_cell),
        "upheld": stats.suppressed(everything.events[AppealEvent.UPHELD], min_cell),
        "overturned": stats.suppressed(everything.events[AppealEvent.OVERTURNED], min_cell),
        "modified": stats.suppressed(everything.events[AppealEvent.MODIFIED], min_cell),
        "overturn_rate": _rate(everything.changed, everything.decided, min_cell),
        "median_hours_to_decide": everything.median(min_cell),
        "audit_reviewed": None,
        "audit_correct": None,
        "precision": None,
        "precision_low": None,
        "precision_high": None,
        "disputes_referred": None,
    }
    if c.applies(_AUDIT_FILTERS):
        reviewed = sum(r for r, _ in c.audits.values())
        correct = sum(k for _, k in c.audits.values())
        p = _precision(reviewed, correct, min_cell)
        totals |= {
            "audit_reviewed": stats.suppressed(reviewed, min_cell),
            "audit_correct": stats.suppressed(correct, min_cell),
            "precision": p["precision"],
            "precision_low": p["low"],
            "precision_high": p["high"],
        }
    if c.applies(_DISPUTE_FILTERS):
        totals["disputes_referred"] = stats.suppressed(
            c.disputes.get(DisputeEvent.REFERRED, 0), min_cell
        )
    return totals


def checkpoint_of(size: int) -> dict[str, Any] | None:
    """The signed checkpoint the roll-ups count up to, as the public sees it."""
    if size <= 0:
        return None
    row = Checkpoint.objects.filter(size=size).values("size", "root", "created_at").first()
    if row is None:
        return None
    return {
        "size": row["size"],
        "root_hash": base64.b64encode(bytes(row["root"])).decode("ascii"),
        "signed_at": row["created_at"].isoformat(),
    }


def _computed(filters: Filters, threshold: int) -> Summary:
    counts = _Counts(filters)
    with snapshot() as upto:
        return Summary(
            filters=filters,
            counted_upto=upto,
            checkpoint=checkpoint_of(upto),
            min_cell=threshold,
            totals=_totals(counts, threshold),
            tables={name: build(counts, threshold) for name, build in _BUILDERS.items()},
        )


def _cache_key(filters: Filters, threshold: int, generation: tuple[int, str]) -> str:
    asked = urlencode(sorted(filters.query().items()))
    digest = hashlib.sha256(f"{generation}|{threshold}|{asked}".encode()).hexdigest()
    return f"{CACHE_PREFIX}:{digest}"


def summary(filters: Filters, *, min_cell: int | None = None) -> Summary:
    """Totals and every table under `filters`, each grouped sum queried once.

    Cached (Django's cache: Redis when REDIS_URL is set, else per process) under the roll-ups'
    generation: an answer stays true until the next catch-up or rebuild, which changes the key,
    so it is never stale and needs no invalidation. Beat warms the views most asked for after
    each catch-up (`warm`); any other filter is computed once per checkpoint counted.
    """
    threshold = _min_cell(min_cell)
    key = _cache_key(filters, threshold, rollups.generation())
    found = cache.get(key)
    if isinstance(found, Summary):
        return found
    result = _computed(filters, threshold)
    cache.set(key, result, CACHE_SECONDS)
    return result
