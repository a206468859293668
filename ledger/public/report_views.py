"""The DSA transparency report over HTTP: as RFC 4180 CSV for machines
(GET /api/v1/reports/dsa) and as a page for people (/reports/dsa/), both from
ledger.public.report, with the same three parameters (platform, from, to).

The page arranges the report's figures in the shape of the Santa Clara Principles' "Numbers":
what was actioned and who raised it, by category, by what was done, how it was detected, and
the appeals and their outcomes. It shows no number the CSV does not hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.public import LICENCE, LICENCE_URL, queries, report
from ledger.public.models import Facet
from moderation.models import Platform
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

# The report changes with every checkpoint counted: a shared cache may keep it for seconds.
CACHE_CONTROL = "public, max-age=5"
CSV_TYPE = "text/csv; charset=utf-8"
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "errors"],
}
_EXAMPLE_CSV = (
    "section,item,dimension,value\r\n"
    "metadata,platform,,vidshare\r\n"
    "metadata,period_from,,2026-01-01\r\n"
    "metadata,period_to,,2026-06-30\r\n"
    "metadata,checkpoint_size,,48213\r\n"
    "metadata,checkpoint_root_hash,,3q2+7w==...\r\n"
    "...\r\n"
    "1.3,notices,source=SOURCE_TRUSTED_FLAGGER,412\r\n"
    "1.4,own_initiative_measures,visibility=DECISION_VISIBILITY_SEARCH_EXCLUDED,<10\r\n"
    "1.5.1,complaints_reversal_rate,,0.4120\r\n"
    "1.6,model_precision,model=hate-speech;version=v1,0.2000\r\n"
)


def report_csv(result: report.Report) -> str:
    """The report as RFC 4180 CSV: a header row, CRLF line ends, fields quoted when needed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(report.COLUMNS)
    writer.writerows(report.csv_rows(result))
    return out.getvalue()


def _base_url(request: HttpRequest) -> str:
    """Where the ledger is published, for the citation: the operator's address when set (behind
    a proxy the request's host may be an internal one)."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def _checkpoint_headers(response: HttpResponse, result: report.Report) -> None:
    response["Ledger-Checkpoint"] = str(result.checkpoint_size)
    if result.checkpoint_root_hash:
        response["Ledger-Checkpoint-Root"] = result.checkpoint_root_hash
    response["Link"] = f'<{LICENCE_URL}>; rel="license"'


class _IgnoreAccept(BaseContentNegotiation):
    """The report is CSV whatever the client accepts, and a refusal is JSON: an Accept header
    asking for anything else still gets an answer rather than a 406."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class DsaReportApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _IgnoreAccept

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "platform",
                {
                    "type": "string",
                    "pattern": "^[-a-zA-Z0-9_]+$",
                    "maxLength": queries.LONGEST["platform"],
                },
                required=True,
                description="The platform's slug (an unknown one is refused, named)",
            ),
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                required=True,
                description="First UTC day of the period, YYYY-MM-DD",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                required=True,
                description=f"Last UTC day of the period (inclusive), at most {report.MAX_DAYS} "
                "days after from",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    "RFC 4180 UTF-8 CSV with CRLF line ends: a header row "
                    "(section,item,dimension,value), then one row per figure. Headers "
                    "Ledger-Checkpoint (the tree size) and Ledger-Checkpoint-Root (base64) "
                    "name the signed log checkpoint the numbers were counted at, as the "
                    "first rows (section metadata) do."
                ),
                examples=[OpenApiExample("A report", value=_EXAMPLE_CSV, media_type="text/csv")],
            ),
            400: OpenApiResponse(_ERROR_SCHEMA, description="Bad parameters, each named"),
        },
        summary="DSA transparency report (quantitative template) for a platform and period",
        description=(
            "The quantitative part of the Commission's harmonised transparency-report template "
            "(Implementing Regulation (EU) 2024/2835, Annex I) computed from the ledger: "
            "Member State orders (1.2.1), notices incl. trusted flaggers (1.3), own-initiative "
            "moderation by measure, category and detection (1.4), internal complaints, "
            "out-of-court disputes and suspensions (1.5.1), automated means with overturn "
            "rates and audited precision per model version (1.6). Counts below "
            'LEDGER_MIN_CELL (10 by default) read "<10"; a rate is empty unless both its '
            "counts are shown. Days are UTC days a decision was received or an appeal or "
            "dispute step happened. Licensed CC BY 4.0."
        ),
        tags=["reports"],
    )
    def get(self, request: Request) -> HttpResponse:
        period, errors = report.parse_params(request.query_params)
        if period is None:
            return Response({"detail": "Invalid parameters.", "errors": errors}, status=400)
        result = report.report(period, base_url=_base_url(request))
        response = HttpResponse(report_csv(result), content_type=CSV_TYPE)
        name = f"dsa-report-{period.platform.slug}-{period.start}-{period.end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = CACHE_CONTROL
        response["Access-Control-Allow-Origin"] = "*"
        _checkpoint_headers(response, result)
        return response


# --- the page ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    withheld: bool = False  # a suppressed count or a withheld rate: the page explains why


@dataclass(frozen=True, slots=True)
class Table:
    id: str
    title: str
    note: str
    headers: list[str]
    rows: list[tuple[str, list[Cell]]]

    def lines(self) -> list[tuple[str, list[tuple[str, Cell]]]]:
        """Each row's label and its cells with their column's name (a phone shows it beside
        the number)."""
        return [(label, list(zip(self.headers, cells, strict=True))) for label, cells in self.rows]


def _cell(value: report.Value, *, percent: bool = False) -> Cell:
    if value is None:
        return Cell("\u2013", withheld=True)  # an en dash: withheld
    if isinstance(value, str):
        return Cell(value, withheld=value.startswith("<"))
    if percent:
        return Cell(f"{value:.1%}")
    if isinstance(value, float):
        return Cell(f"{value:,.1f}")
    return Cell(f"{value:,}")


def _labels(choices: Any) -> dict[str, str]:
    return {str(value): str(label) for value, label in choices.choices}


MEASURES = {
    Facet.VISIBILITY.value: _labels(Visibility),
    Facet.MONETARY.value: _labels(Monetary),
    Facet.PROVISION.value: _labels(Provision),
    Facet.ACCOUNT.value: _labels(AccountAction),
}


def page_tables(result: report.Report) -> list[Table]:
    """The report's figures as the page's tables, in the Santa Clara Principles' order."""
    figures = {(f.section, f.item, f.dimension): f.value for f in result.figures}

    def value(section: str, item: str, dimension: str = "") -> report.Value:
        return figures[(section, item, dimension)]

    actions = _labels(Action)
    categories = _labels(Category)
    sources = _labels(Source)
    tables = [
        Table(
            "raised",
            "Decisions, and who raised them",
            "Each decision counts once, by what started it. Government orders are orders of "
            "a Member State authority; notices come from people and organisations outside "
            "the platform; the rest the platform found itself.",
            ["Decisions"],
            [
                ("All decisions", [_cell(value("1.6", "decisions"))]),
                ("Government orders", [_cell(value("1.2.1", "orders"))]),
                *[
                    (sources[s], [_cell(value("1.3", "notices", f"source={s}"))])
                    for s in report.NOTICE_SOURCES
                ],
                (
                    "Own initiative, detected by automated means",
                    [_cell(value("1.4", "own_initiative", "automated_detection=true"))],
                ),
                (
                    "Own initiative, detected by people",
                    [_cell(value("1.4", "own_initiative", "automated_detection=false"))],
                ),
            ],
        ),
        Table(
            "actions",
            "What was done",
            "Each decision counts once, by its most severe effect. Account suspensions and "
            "terminations act on accounts; the other actions on pieces of content.",
            ["Upon orders", "Upon notices", "Own initiative"],
            [
                (
                    actions[a],
                    [
                        _cell(value("1.2.1", "orders", f"action={a}")),
                        _cell(value("1.3", "notices", f"action={a}")),
                        _cell(value("1.4", "own_initiative", f"action={a}")),
                    ],
                )
                for a in report.ACTIONS
            ],
        ),
        Table(
            "categories",
            "By category of the rule or law at issue",
            "Own-initiative decisions are split by how the content was detected.",
            ["Upon orders", "Upon notices", "Own initiative, automated", "Own initiative, people"],
            [
                (
                    categories[c],
                    [
                        _cell(value("1.2.1", "orders", f"category={c}")),
                        _cell(value("1.3", "notices", f"category={c}")),
                        _cell(
                            value("1.4", "own_initiative", f"category={c};automated_detection=true")
                        ),
                        _cell(
                            value(
                                "1.4", "own_initiative", f"category={c};automated_detection=false"
                            )
                        ),
                    ],
                )
                for c in Category.values
            ],
        ),
        Table(
            "measures",
            "Own-initiative restrictions in detail",
            "A decision counts under each restriction it imposed. Exclusion from search or "
            "recommendations, demotion and hiding from non-followers are what people call "
            "shadowbans.",
            ["Decisions"],
            [
                (label, [_cell(value("1.4", "own_initiative_measures", f"{facet}={kind}"))])
                for facet, kinds in MEASURES.items()
                for kind, label in kinds.items()
            ],
        ),
        Table(
            "notices",
            "What became of notices",
            "Action is taken on the ground that content is illegal, or that it breaks the "
            "platform's terms.",
            ["Decisions"],
            [
                ("Notices acted on", [_cell(value("1.3", "notices_actioned"))]),
                *[
                    (
                        f"… as {label.lower()}",
                        [_cell(value("1.3", "notices_actioned", f"ground={g}"))],
                    )
                    for g, label in _labels(Ground).items()
                ],
                ("Notices rejected (no action)", [_cell(value("1.3", "notices_no_action"))]),
                ("Decided by automated means", [_cell(value("1.3", "notices_automated"))]),
            ],
        ),
        Table(
            "appeals",
            "Appeals (complaints) and their outcomes",
            "Appeals are counted by the day they were filed, outcomes by the day they were "
            "decided. The time to decide is in whole hours.",
            ["Appeals"],
            [
                ("Filed", [_cell(value("1.5.1", "complaints_received"))]),
                ("Decided", [_cell(value("1.5.1", "complaints_decided"))]),
                ("Decision upheld", [_cell(value("1.5.1", "complaints_upheld"))]),
                ("Decision reversed", [_cell(value("1.5.1", "complaints_reversed"))]),
                ("Decision modified", [_cell(value("1.5.1", "complaints_modified"))]),
                (
                    "Reversed or modified, of those decided",
                    [_cell(value("1.5.1", "complaints_reversal_rate"), percent=True)],
                ),
                ("Median hours to decide", [_cell(value("1.5.1", "complaints_median_hours"))]),
                *[
                    (
                        f"Filed against: {actions[a].lower()}",
                        [_cell(value("1.5.1", "complaints_received", f"action={a}"))],
                    )
                    for a in report.ACTIONS
                ],
            ],
        ),
        Table(
            "disputes",
            "Out-of-court disputes",
            "Disputes taken to a certified out-of-court body (DSA Art. 21).",
            ["Disputes"],
            [
                ("Referred", [_cell(value("1.5.1", "disputes_referred"))]),
                *[
                    (
                        label,
                        [_cell(value("1.5.1", "disputes_outcome", f"outcome={event}"))],
                    )
                    for event, label in (
                        ("upheld", "Decision upheld"),
                        ("overturned", "Decision overturned"),
                        ("settled", "Settled"),
                        ("withdrawn", "Withdrawn"),
                    )
                ],
                ("Outcome implemented", [_cell(value("1.5.1", "disputes_implemented"))]),
                ("Outcome not implemented", [_cell(value("1.5.1", "disputes_not_implemented"))]),
                (
                    "Share implemented",
                    [_cell(value("1.5.1", "disputes_implemented_share"), percent=True)],
                ),
            ],
        ),
        Table(
            "suspensions",
            "Suspensions",
            "Suspensions of accounts and of the service, from every source, and those on the "
            "ground of illegal content. The ledger does not know whether a suspension was for "
            "manifestly illegal content or for manifestly unfounded notices or complaints.",
            ["All", "For illegal content"],
            [
                (
                    MEASURES[facet][kind],
                    [
                        _cell(value("1.5.1", "suspensions", f"{facet}={kind}")),
                        _cell(
                            value(
                                "1.5.1",
                                "suspensions",
                                f"{facet}={kind};ground={Ground.ILLEGAL_CONTENT.value}",
                            )
                        ),
                    ],
                )
                for facet, kind in report.SUSPENSIONS
            ],
        ),
        Table(
            "automation",
            "Automation",
            "How many decisions machines detected or took, and how often an appeal against "
            "them succeeded.",
            ["Decisions", "Share"],
            [
                (
                    "Detected by automated means",
                    [
                        _cell(value("1.6", "automated_detection")),
                        _cell(value("1.6", "automated_detection_share"), percent=True),
                    ],
                ),
                *[
                    (
                        label,
                        [
                            _cell(value("1.6", "automated_decision", f"automated_decision={how}")),
                            _cell(
                                value(
                                    "1.6", "automated_decision_share", f"automated_decision={how}"
                                ),
                                percent=True,
                            ),
                        ],
                    )
                    for how, label in _labels(AutomatedDecision).items()
                ],
                (
                    "Appeals succeeding, automated detection",
                    [
                        Cell(""),
                        _cell(
                            value("1.6", "overturn_rate", "automated_detection=true"), percent=True
                        ),
                    ],
                ),
                (
                    "Appeals succeeding, detected by people",
                    [
                        Cell(""),
                        _cell(
                            value("1.6", "overturn_rate", "automated_detection=false"), percent=True
                        ),
                    ],
                ),
            ],
        ),
    ]
    models = [f for f in result.figures if f.item == "model_decisions"]
    if models:
        tables.append(
            Table(
                "models",
                "Accuracy of each model version",
                "Overturn rate: appeals decided against the version's decisions that reversed "
                "or modified them. Precision: the share of its blindly audited decisions "
                "labelled correct, with a 95% Wilson interval.",
                ["Decisions", "Appeals decided", "Overturn rate", "Audited", "Precision"],
                [_model_row(value, f.dimension) for f in models],
            )
        )
    return tables


def _model_row(value: Any, key: str) -> tuple[str, list[Cell]]:
    model, version = key.split(";", 1)
    precision = value("1.6", "model_precision", key)
    if precision is None:
        shown = _cell(None)
    else:
        low, high = (
            value("1.6", "model_precision_low", key),
            value("1.6", "model_precision_high", key),
        )
        shown = Cell(f"{precision:.1%} ({low:.1%} to {high:.1%})")
    return (
        f"{model.removeprefix('model=')} {version.removeprefix('version=')}",
        [
            _cell(value("1.6", "model_decisions", key)),
            _cell(value("1.6", "model_complaints_decided", key)),
            _cell(value("1.6", "model_overturn_rate", key), percent=True),
            _cell(value("1.6", "model_audit_reviewed", key)),
            shown,
        ],
    )


@require_safe
def dsa_report_page(request: HttpRequest) -> HttpResponse:
    """The report for a person: a form for the platform and period, then the numbers."""
    platforms = list(Platform.objects.order_by("slug").values_list("slug", "name"))
    context: dict[str, Any] = {
        "platforms": platforms,
        "asked": {name: request.GET.get(name, "") for name in report.PARAMS},
        "errors": {},
        "result": None,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "sections": report.SECTIONS,
    }
    if not request.GET:
        return render(request, "ledger/public/report_dsa.html", context)
    period, errors = report.parse_params(request.GET)
    if period is None:
        context["errors"] = errors
        return render(request, "ledger/public/report_dsa.html", context, status=400)
    result = report.report(period, base_url=_base_url(request))
    query = urlencode({"platform": period.platform.slug, "from": period.start, "to": period.end})
    context |= {
        "result": result,
        "citation": result.value("metadata", "citation"),
        "tables": page_tables(result),
        "csv_url": f"{reverse('report-dsa')}?{query}",
    }
    response = render(request, "ledger/public/report_dsa.html", context)
    _checkpoint_headers(response, result)
    return response
