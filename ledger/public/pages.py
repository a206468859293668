"""The statistics page, /stats/: the public numbers for a person, with no login and no
JavaScript. Each chart is drawn on the server (ledger.public.charts) next to a real table of
the same numbers and a link to them as CSV (/stats/<table>.csv with the same filters).

Everything comes from one `queries.summary` (roll-ups and the small naming tables, never the
decision tables), so every number on the page counts the log up to the same signed checkpoint,
which the page names. Stored enum values are shown by their vocabulary labels; the CSVs keep
the stored values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from ledger.public import LICENCE, LICENCE_URL, charts, citation, queries
from ledger.public.models import DisputeEvent
from moderation.models import Platform
from moderation.vocabulary import (
    COUNTRY_NAMES,
    SILENT_VISIBILITY,
    Action,
    AutomatedDecision,
    Category,
    Ground,
    Source,
    Visibility,
)

# The page filters by period and platform only; the API and the CSVs take the rest.
PAGE_FILTERS = ("platform", "from", "to")

# Column key -> {stored value: label}: the vocabulary's own labels.
LABELS: dict[str, Mapping[str, str]] = {
    "action": dict(Action.choices),
    "category": dict(Category.choices),
    "ground": dict(Ground.choices),
    "source": dict(Source.choices),
    "automated_decision": dict(AutomatedDecision.choices),
    "kind": dict(Visibility.choices),
    "territory": COUNTRY_NAMES,
    "event": dict(DisputeEvent.choices),
}
# Columns holding a share (0 to 1), shown as a percentage.
RATES = frozenset({"overturn_rate", "precision", "precision_low", "precision_high"})
SILENT = frozenset(v.value for v in SILENT_VISIBILITY)


def label(column: str, value: Any) -> str:
    """The human label of a stored value (the value itself when the vocabulary lacks it)."""
    names = LABELS.get(column)
    if names is None or value is None:
        return "" if value is None else str(value)
    text = str(names.get(value, value))
    if column == "kind" and value in SILENT:
        text += " (silent)"
    return text


@dataclass(frozen=True, slots=True)
class Shown:
    """One table cell as the page shows it."""

    text: str
    numeric: bool = False
    # "suppressed": a count below LEDGER_MIN_CELL; "flag": a version below the minimum
    # precision; "none": not published or not applicable; "day": a date, kept on one line.
    kind: str = ""
    note: str = ""


def show(column: str, value: Any, min_cell: int) -> Shown:
    if value is None:
        return Shown("\u2013", numeric=True, kind="none", note="not published or not applicable")
    if column == "below_min_precision":
        if value:
            return Shown(f"Below {settings.LEDGER_MIN_PRECISION:.0%}", kind="flag")
        return Shown("No")
    if isinstance(value, bool):
        return Shown("Yes" if value else "No")
    if isinstance(value, str) and value.startswith("<"):
        return Shown(value, numeric=True, kind="suppressed", note=f"fewer than {min_cell}")
    if column in RATES and isinstance(value, float):
        return Shown(f"{value:.1%}", numeric=True)
    if isinstance(value, int):
        return Shown(f"{value:,}", numeric=True)
    if isinstance(value, float):
        return Shown(f"{value:,.1f}", numeric=True)
    if isinstance(value, dt.date):
        return Shown(value.isoformat(), kind="day")
    return Shown(label(column, value))


@dataclass(slots=True)
class TableView:
    name: str
    caption: str
    headers: list[tuple[str, bool]]  # (label, numeric)
    rows: list[list[Shown]]
    csv: str
    note: str = ""

    @property
    def body(self) -> SafeString:
        """The <tbody>'s rows as HTML, built here rather than in the template: a year by day
        is thousands of cells, which a template loop renders a hundred times slower."""
        if not self.rows:
            return format_html(
                '<tr><td colspan="{}">Nothing counted for these filters.</td></tr>',
                len(self.headers),
            )
        return mark_safe(  # noqa: S308 (every cell's text is escaped by _cell)
            "\n".join(
                "<tr>" + "".join(_cell(c, first=i == 0) for i, c in enumerate(row)) + "</tr>"
                for row in self.rows
            )
        )


def _cell(cell: Shown, *, first: bool) -> str:
    classes = " ".join(c for c in ("num" if cell.numeric else "", cell.kind) if c)
    attribute = f' class="{classes}"' if classes else ""
    text: str = escape(cell.text)
    if cell.kind == "suppressed":
        text = f'<abbr title="{escape(cell.note)}: not published">{text}</abbr>'
    elif cell.kind == "flag":
        text = f'<strong class="flag">⚠ {text}</strong>'
    elif cell.kind == "none":
        text = f'<span title="{escape(cell.note)}">{text}</span>'
    if first:
        return f'<th scope="row"{attribute}>{text}</th>'
    return f"<td{attribute}>{text}</td>"


@dataclass(slots=True)
class Figure:
    """A chart (or none) with its table."""

    table: TableView
    charts: list[SafeString] = field(default_factory=list)
    # Shown above each chart when a figure has several (one table, two charts).
    titles: list[str] = field(default_factory=list)

    @property
    def titled(self) -> list[tuple[str, SafeString]]:
        return list(zip(self.titles or [""] * len(self.charts), self.charts, strict=True))


def _with_query(url: str, filters: queries.Filters) -> str:
    query = filters.query()
    return f"{url}?{urlencode(query)}" if query else url


def csv_url(name: str, filters: queries.Filters) -> str:
    return _with_query(reverse("stats-csv", args=[name]), filters)


def table_view(table: queries.Table, s: queries.Summary, *, caption: str = "") -> TableView:
    rows = [
        [show(c, v, s.min_cell) for c, v in zip(table.columns, row, strict=True)]
        for row in table.rows
    ]
    numeric = [
        all(r[i].numeric for r in rows) if rows else c not in LABELS and c != "day"
        for i, c in enumerate(table.columns)
    ]
    return TableView(
        name=table.name,
        caption=caption or table.title,
        headers=list(zip(table.labels, numeric, strict=True)),
        rows=rows,
        csv=csv_url(table.name, s.filters),
    )


def pivot(table: queries.Table, s: queries.Summary, key: str, caption: str) -> TableView:
    """A long [day, key, count] table as one row a day and a column per value of `key`, in the
    vocabulary's order: the same numbers, readable on a screen. The CSV stays long."""
    values = _ordered({row[1] for row in table.rows}, key)
    by_day: dict[dt.date, dict[str, Any]] = {}
    for day, value, count in table.rows:
        by_day.setdefault(day, {})[value] = count
    return TableView(
        name=table.name,
        caption=caption,
        headers=[("Day", False), *((label(key, v), True) for v in values)],
        rows=[
            [
                Shown(day.isoformat(), kind="day"),
                *(show(key, cells.get(v, 0), s.min_cell) for v in values),
            ]
            for day, cells in sorted(by_day.items())
        ],
        csv=csv_url(table.name, s.filters),
        note="One row a day, one column a value; the CSV has one row a day and value.",
    )


def _ordered(values: set[str], key: str) -> list[str]:
    order = list(LABELS.get(key, {}))
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def _bars(
    chart_id: str, title: str, desc: str, items: Sequence[charts.Bar], s: queries.Summary
) -> SafeString:
    return charts.bars(chart_id=chart_id, title=title, desc=desc, items=items, min_cell=s.min_cell)


def by_value(
    table: queries.Table, s: queries.Summary, desc: str, unit: str = "decisions"
) -> Figure:
    """A [value, count] table as a bar per value (no chart when there is nothing to draw)."""
    if not table.rows:
        return Figure(table_view(table, s))
    key = table.columns[0]
    items = [
        charts.Bar(label(key, row[0]), row[1], highlight=key == "kind" and row[0] in SILENT)
        for row in table.rows
    ]
    chart = charts.bars(
        chart_id=f"chart-{table.name}",
        title=table.title,
        desc=desc,
        items=items,
        min_cell=s.min_cell,
        unit=unit,
    )
    return Figure(table_view(table, s), [chart])


def period(s: queries.Summary) -> tuple[dt.date | None, dt.date | None]:
    """The days every chart over time spans: the filters' period, or else from the first to
    the last day with any count, so that the charts of one page line up."""
    days = [
        row[0]
        for name in ("decisions_by_day", "visibility_by_day", "appeals_by_day")
        for row in s.tables[name].rows
    ]
    return (
        s.filters.start or min(days, default=None),
        s.filters.end or max(days, default=None),
    )


def over_time(
    table: queries.Table, s: queries.Summary, key: str, desc: str, caption: str
) -> Figure:
    """A long [day, key, count] table as stacked columns and a day-by-value table."""
    if not table.rows:
        return Figure(pivot(table, s, key, caption))
    values = _ordered({row[1] for row in table.rows}, key)
    start, end = period(s)
    chart = charts.columns(
        chart_id=f"chart-{table.name}",
        title=table.title,
        desc=desc,
        series=[charts.Series(v, label(key, v)) for v in values],
        cells={(row[0], row[1]): row[2] for row in table.rows},
        min_cell=s.min_cell,
        start=start,
        end=end,
    )
    return Figure(pivot(table, s, key, caption), [chart])


def automation(table: queries.Table, s: queries.Summary) -> Figure:
    if not table.rows:
        return Figure(table_view(table, s))
    items = [
        charts.Bar(
            f"{'Detected' if detected else 'Not detected'} by machine · "
            f"{label('automated_decision', decided).lower()}",
            count,
        )
        for detected, decided, count in table.rows
    ]
    chart = _bars(
        "chart-automation",
        table.title,
        "How decisions were found (by machine or not) and decided (fully, partly or not "
        "automated).",
        items,
        s,
    )
    return Figure(table_view(table, s), [chart])


def version_decisions(table: queries.Table, s: queries.Summary) -> Figure:
    """Decisions by model version: the models table's first columns, as bars."""
    keep = ["platform", "model", "version", "decisions"]
    index = [table.columns.index(c) for c in keep]
    part = queries.Table(
        name=table.name,
        title="Decisions by model version",
        columns=keep,
        labels=[table.labels[i] for i in index],
        rows=[[row[i] for i in index] for row in table.rows],
    )
    view = table_view(part, s)
    # Its own name for the page's ids; its CSV is the models table's.
    view.name = "version_decisions"
    view.note = "The CSV is the whole models table."
    if not part.rows:
        return Figure(view)
    chart = _bars(
        "chart-version-decisions",
        part.title,
        "Decisions each model version took part in (reversals and expiries left out).",
        [charts.Bar(f"{p} · {m} {v}", n) for p, m, v, n in part.rows],
        s,
    )
    return Figure(view, [chart])


def models_figure(table: queries.Table, s: queries.Summary) -> Figure:
    """The models table, and each version's audited precision with its interval against the
    minimum (no chart when no version has a published precision)."""
    col = {name: i for i, name in enumerate(table.columns)}
    items = [
        charts.Interval(
            ("⚠ " if row[col["below_min_precision"]] else "")
            + f"{row[col['platform']]} · {row[col['model']]} {row[col['version']]}",
            row[col["precision"]],
            row[col["precision_low"]],
            row[col["precision_high"]],
            flagged=bool(row[col["below_min_precision"]]),
        )
        for row in table.rows
    ]
    if not any(item.value is not None for item in items):
        return Figure(table_view(table, s))
    chart = charts.intervals(
        chart_id="chart-models-precision",
        title="Audited precision by model version",
        desc="The share of each version's blind audit samples labelled correct, with its 95% "
        "Wilson interval, against the minimum precision.",
        items=items,
        line=settings.LEDGER_MIN_PRECISION,
    )
    return Figure(table_view(table, s), [chart])


def flagged(table: queries.Table) -> list[str]:
    """'platform · model version: precision p (95% interval low to high)' of each version
    below LEDGER_MIN_PRECISION."""
    col = {name: i for i, name in enumerate(table.columns)}
    return [
        f"{row[col['platform']]} · {row[col['model']]} {row[col['version']]}: precision "
        f"{row[col['precision']]:.1%} (95% interval {row[col['precision_low']]:.1%} to "
        f"{row[col['precision_high']]:.1%})"
        for row in table.rows
        if row[col["below_min_precision"]]
    ]


def appeals_figure(table: queries.Table, s: queries.Summary) -> Figure:
    """Appeals by day: filed as one chart, decided (by outcome) as another; one table."""
    col = {name: i for i, name in enumerate(table.columns)}
    filed = {(row[0], "filed"): row[col["filed"]] for row in table.rows}
    outcomes = ("upheld", "overturned", "modified")
    decided = {(row[0], o): row[col[o]] for row in table.rows for o in outcomes}
    names = dict(zip(table.columns, table.labels, strict=True))
    if not table.rows:
        return Figure(table_view(table, s))
    start, end = period(s)
    common = {"min_cell": s.min_cell, "start": start, "end": end}
    return Figure(
        table_view(table, s),
        [
            charts.columns(
                chart_id="chart-appeals-filed",
                title="Appeals filed per day",
                desc="Appeals filed against decisions, by the day they were filed.",
                series=[charts.Series("filed", names["filed"])],
                cells=filed,
                unit="appeals",
                **common,  # type: ignore[arg-type]
            ),
            charts.columns(
                chart_id="chart-appeals-decided",
                title="Appeals decided per day, by outcome",
                desc="Appeals decided, by the day they were decided and their outcome.",
                series=[charts.Series(o, names[o]) for o in outcomes],
                cells=decided,
                unit="appeals",
                **common,  # type: ignore[arg-type]
            ),
        ],
        titles=["Appeals filed per day", "Appeals decided per day, by outcome"],
    )


def figures(s: queries.Summary) -> dict[str, Figure]:
    t = s.tables
    return {
        "decisions_by_day": over_time(
            t["decisions_by_day"],
            s,
            "action",
            "Decisions received per day, by action (the decision's most severe effect).",
            "Decisions by day received and action",
        ),
        "decisions_by_action": by_value(t["decisions_by_action"], s, "Decisions by action."),
        "decisions_by_category": by_value(t["decisions_by_category"], s, "Decisions by category."),
        "decisions_by_ground": by_value(
            t["decisions_by_ground"], s, "Decisions by ground: illegal, or against the terms."
        ),
        "decisions_by_source": by_value(
            t["decisions_by_source"], s, "Decisions by how the content came to the platform."
        ),
        "territories": by_value(t["territories"], s, "Decisions by the territory they apply to."),
        "visibility_by_kind": by_value(
            t["visibility_by_kind"],
            s,
            "Visibility restrictions by kind; the silent ones are what people call shadowbans.",
        ),
        "visibility_by_day": over_time(
            t["visibility_by_day"],
            s,
            "kind",
            "Visibility restrictions per day received, by kind.",
            "Visibility restrictions by day received and kind",
        ),
        "automation": automation(t["automation"], s),
        "appeals_by_day": appeals_figure(t["appeals_by_day"], s),
        "appeals_by_action": Figure(table_view(t["appeals_by_action"], s)),
        "version_decisions": version_decisions(t["models"], s),
        "models": models_figure(t["models"], s),
        "disputes": by_value(t["disputes"], s, "Out-of-court dispute steps.", unit="disputes"),
    }


@dataclass(frozen=True, slots=True)
class Total:
    label: str
    value: Shown
    hint: str = ""


def totals(s: queries.Summary) -> list[Total]:
    t = s.totals

    def count(key: str) -> Shown:
        return show(key, t[key], s.min_cell)

    def rate(key: str) -> Shown:
        return show("overturn_rate", t[key], s.min_cell)

    hours = t["median_hours_to_decide"]
    interval = ""
    if t["precision_low"] is not None and t["precision_high"] is not None:
        interval = f"95% interval {t['precision_low']:.1%} to {t['precision_high']:.1%}"
    rows: list[tuple[str, Shown, str]] = [
        ("Decisions", count("decisions"), ""),
        (
            "Visibility restrictions",
            count("visibility_restrictions"),
            "decisions whose action is a visibility restriction",
        ),
        ("Detected by machine", count("automated_detection"), ""),
        ("Decided by machine alone", count("fully_automated"), "fully automated"),
        ("Appeals filed", count("appeals_filed"), ""),
        ("Appeals decided", count("appeals_decided"), ""),
        ("Overturned or modified on appeal", rate("overturn_rate"), "of appeals decided"),
        (
            "Median time to decide an appeal",
            Shown(f"{hours:,} h", numeric=True) if hours is not None else show("hours", None, 0),
            "hours from filing",
        ),
        ("Audited precision", rate("precision"), interval),
        ("Out-of-court disputes referred", count("disputes_referred"), ""),
    ]
    return [Total(name, value, hint) for name, value, hint in rows]


def base_url(request: HttpRequest) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def _form(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "") for name in PAGE_FILTERS}


@require_safe
def stats(request: HttpRequest) -> HttpResponse:
    """/stats/?from=YYYY-MM-DD&to=YYYY-MM-DD&platform=SLUG: bad filters are a 400 page naming
    every problem beside the form, never a 500."""
    filters, errors = queries.parse_filters(request.GET, allowed=PAGE_FILTERS)
    context: dict[str, Any] = {
        "platforms": list(Platform.objects.order_by("name").values_list("slug", "name")),
        "form": _form(request),
        "errors": errors,
        "error_list": [
            (name, message) for name, messages in errors.items() for message in messages
        ],
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "min_cell": settings.LEDGER_MIN_CELL,
        "base_url": base_url(request),
    }
    if errors:
        return render(request, "ledger/public/stats.html", context, status=400)
    s = queries.summary(filters)
    context |= {
        "summary": s,
        "totals": totals(s),
        "figures": figures(s),
        "platform_name": dict(context["platforms"]).get(filters.platform or ""),
        "citation": citation(context["base_url"], s.counted_upto),
        "signed_at": dt.datetime.fromisoformat(s.checkpoint["signed_at"]) if s.checkpoint else None,
        "min_precision": f"{settings.LEDGER_MIN_PRECISION:.0%}",
        "flagged": flagged(s.tables["models"]),
        "api_url": _with_query(reverse("stats-summary"), filters),
    }
    response = render(request, "ledger/public/stats.html", context)
    # The numbers move only when a checkpoint is counted: a few seconds in a shared cache
    # spare the database a burst of identical requests.
    response["Cache-Control"] = "public, max-age=5"
    return response
