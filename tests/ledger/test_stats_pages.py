"""/stats/ as a person reads it: every number on the page is the summary's, shown by its
vocabulary label, with its chart, table and CSV link; filters in the URL; bad filters a 400
page naming every problem; and not one query of the decision or appeal tables."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal, Appellant, Review
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger.public import citation, pages, queries, rollups
from ledger.public.models import AuditCount
from moderation import services
from moderation.models import Decision, ModelVersion, Platform
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

# Decisions are counted by the UTC day the ledger received them.
DAY0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def at(days: float, hours: float = 0) -> dt.datetime:
    return DAY0 + dt.timedelta(days=days, hours=hours)


def record_at(platform: Platform, moment: dt.datetime, body: dict[str, Any]) -> Decision:
    """Record a decision as the ledger would have received it at `moment` (the services' clock
    set back; nothing else about the decision changes)."""
    real = services.timezone
    services.timezone = SimpleNamespace(now=lambda: moment)  # type: ignore[assignment]
    try:
        recorded = services.record_decision(platform=platform, decision=as_input(body))
    finally:
        services.timezone = real
    return Decision.objects.get(public_id=recorded.public_id)


def build_ledger(platform: Platform, *, days: int = 3) -> dict[str, Any]:
    """A few days of a platform's decisions and appeals, counted by the roll-ups:
    25 automated shadowbans (search exclusions by hate-speech v1) on day 0; 12 human removals
    on day 1 and 3 more on the last day (a count below LEDGER_MIN_CELL); 12 appeals against
    the shadowbans, 10 overturned and 1 upheld on day 2 (each overturn records a reversal)."""
    shadowbans = [
        record_at(platform, at(0, n / 10), decision_payload(puid=f"shadow-{n}")) for n in range(25)
    ]
    for n in range(12):
        record_at(platform, at(1, n / 10), human_payload(puid=f"removal-{n}"))
    for n in range(3):
        record_at(platform, at(days - 1, n / 10), human_payload(puid=f"late-{n}"))
    for decision in shadowbans[:12]:
        file_appeal(
            decision=decision, appellant=Appellant.SUBJECT, statement="Chess.", now=at(1, 3)
        )
    reviewer = make_reviewer(platform, "rita")
    for n in range(11):
        item = claim_next_review(reviewer=reviewer, now=at(2, n / 10))
        assert item is not None
        real = services.timezone
        services.timezone = SimpleNamespace(now=lambda n=n: at(2, n / 10))  # type: ignore[assignment]
        try:
            resolve_appeal(
                reviewer=reviewer,
                item=item,
                version=item.version,
                outcome="overturned" if n < 10 else "upheld",
                reason="A chess lesson, not hate speech." if n < 10 else "It breaks the rules.",
                now=at(2, n / 10),
            )
        finally:
            services.timezone = real
    rollups.refresh()
    return {"shadowbans": shadowbans}


@pytest.fixture
def ledger(platform: Platform, model_v1: ModelVersion) -> dict[str, Any]:
    return build_ledger(platform)


class Tables(HTMLParser):
    """Each <table>'s caption id -> its rows of cell texts (header row included), and each
    element id met."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: list[str] = []
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "table":
            self._rows = []
        elif tag == "caption" and self._rows is not None:
            self._caption = True
            self.tables[attributes.get("id") or ""] = self._rows
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "caption":
            self._caption = False
        elif tag == "table":
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def shown(column: str, value: Any, min_cell: int = 10) -> str:
    return pages.show(column, value, min_cell).text


def test_the_page_shows_the_overview_and_every_section(client: Client, ledger: Any) -> None:
    response = client.get("/stats/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=5"
    html = response.content.decode()
    page = parse(html)
    for section in (
        "overview",
        "decisions",
        "visibility",
        "automation",
        "appeals",
        "models",
        "disputes",
        "about",
    ):
        assert section in page.ids
    assert "Shadowbans and other visibility restrictions" in html
    assert sorted(page.ids) == sorted(set(page.ids)), "an id used twice"
    # No JavaScript at all: the charts are SVG in the page.
    assert "<script" not in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 10


def test_the_numbers_are_the_summarys_after_the_roll_ups_count_the_log(
    client: Client, ledger: Any
) -> None:
    html = client.get("/stats/").content.decode()
    summary = queries.summary(queries.Filters())
    # What was recorded: 25 + 12 + 3 decisions, and 10 reversals from the overturned appeals.
    assert summary.totals["decisions"] == 50
    assert summary.totals["appeals_filed"] == 12
    assert summary.totals["appeals_decided"] == 11
    assert summary.totals["overturn_rate"] == pytest.approx(10 / 11)

    overview = re.search(r'<dl class="totals">(.*?)</dl>', html, re.S)
    assert overview is not None
    text = re.sub(r"<[^>]+>", " ", overview.group(1))
    for label, value in (
        ("Decisions", "50"),
        ("Appeals filed", "12"),
        ("Appeals decided", "11"),
        ("Overturned or modified on appeal", "90.9%"),
        ("Median time to decide an appeal", f"{summary.totals['median_hours_to_decide']} h"),
    ):
        assert re.search(rf"{re.escape(label)}\s+{re.escape(value)}(?![0-9])", text), label

    tables = parse(html).tables
    for name in (
        "decisions_by_action",
        "decisions_by_category",
        "decisions_by_source",
        "visibility_by_kind",
        "automation",
        "appeals_by_day",
        "appeals_by_action",
        "models",
    ):
        table = summary.tables[name]
        rows = tables[f"caption-{name}"]
        assert rows[0] == table.labels, name
        expected = [
            [shown(c, v) for c, v in zip(table.columns, row, strict=True)] for row in table.rows
        ]
        assert rows[1:] == expected, name

    # The by-day tables: one row a day, a column a value, the same numbers.
    by_day = tables["caption-decisions_by_day"]
    assert by_day[0] == ["Day", "Visibility restriction", "Removal or disabling", "Reversal"]
    assert by_day[1:] == [
        ["2026-11-02", "25", "0", "0"],
        ["2026-11-03", "0", "12", "0"],
        ["2026-11-04", "0", "<10", "10"],
    ]


def test_stored_values_are_shown_by_their_labels(client: Client, ledger: Any) -> None:
    tables = parse(client.get("/stats/").content.decode()).tables
    assert ["Excluded from search (silent)", "25"] in tables["caption-visibility_by_kind"]
    assert ["Content removed", "15"] in tables["caption-visibility_by_kind"]
    assert ["Illegal or harmful speech", "50"] in tables["caption-decisions_by_category"]
    assert ["Own initiative", "35"] in tables["caption-decisions_by_source"]
    cells = {cell for rows in tables.values() for row in rows for cell in row}
    assert not {c for c in cells if re.fullmatch(r"[A-Z_]{6,}", c)}


def test_a_suppressed_count_reads_fewer_than_and_is_not_drawn_to_scale(
    client: Client, ledger: Any
) -> None:
    html = client.get("/stats/").content.decode()
    assert '<abbr title="fewer than 10: not published">&lt;10</abbr>' in html
    assert 'class="suppressed"' in html  # a hatched mark in a chart
    assert "Hatched: fewer than 10, not drawn to scale." in html


def test_every_table_has_a_csv_link_with_the_same_filters(client: Client, ledger: Any) -> None:
    query = "from=2026-11-02&to=2026-11-03&platform=vidshare"
    html = client.get(f"/stats/?{query}").content.decode()
    links = re.findall(r'href="(/stats/[a-z_]+\.csv[^"]*)"', html)
    names = {urlsplit(link).path.removeprefix("/stats/").removesuffix(".csv") for link in links}
    assert names == set(queries.TABLES)
    for link in links:
        params = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
        assert params == {"from": ["2026-11-02"], "to": ["2026-11-03"], "platform": ["vidshare"]}
    response = client.get(links[0].replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_filters_by_period_and_platform_narrow_every_number(
    client: Client, ledger: Any, platform: Platform
) -> None:
    response = client.get("/stats/", {"from": "2026-11-03", "to": "2026-11-03"})
    assert response.status_code == 200
    tables = parse(response.content.decode()).tables
    assert tables["caption-decisions_by_day"][1:] == [["2026-11-03", "12"]]
    assert tables["caption-decisions_by_action"][1:] == [["Removal or disabling", "12"]]
    assert 'value="2026-11-03"' in response.content.decode()

    other = services.create_platform(slug="other", name="Other <b>platform</b>")
    html = client.get("/stats/", {"platform": other.slug}).content.decode()
    assert "Other &lt;b&gt;platform&lt;/b&gt;" in html
    assert '<option value="other" selected>' in html
    assert parse(html).tables["caption-decisions_by_action"][1:] == [
        ["Nothing counted for these filters."]
    ]


def test_an_empty_form_field_is_no_filter(client: Client, ledger: Any) -> None:
    response = client.get("/stats/", {"from": "", "to": "", "platform": ""})
    assert response.status_code == 200
    assert parse(response.content.decode()).tables["caption-decisions_by_action"][1:]


def test_bad_filters_are_a_400_page_naming_every_problem(client: Client, ledger: Any) -> None:
    response = client.get(
        "/stats/?from=2026-02-30&to=yesterday&platform=nobody&action=REMOVAL&from=2026-01-01"
    )
    assert response.status_code == 400
    html = response.content.decode()
    problems = re.search(r'id="filter-errors">(.*?)</div>', html, re.S)
    assert problems is not None
    for name in ("from", "to", "platform", "action"):
        assert f"<strong>{name}</strong>" in problems.group(1)
    # The form stays, showing what was sent and where it is wrong, and no numbers are shown.
    assert 'aria-invalid="true"' in html
    assert 'value="yesterday"' in html
    assert 'id="overview"' not in html

    ends_first = client.get("/stats/", {"from": "2026-11-05", "to": "2026-11-01"})
    assert ends_first.status_code == 400
    assert "ends (2026-11-01) before it starts (2026-11-05)" in ends_first.content.decode()


def test_the_page_reads_no_decision_appeal_or_review_table(client: Client, ledger: Any) -> None:
    private = {m._meta.db_table for m in (Decision, Appeal, Review)}
    with CaptureQueriesContext(connection) as queries_run:
        assert client.get("/stats/", {"platform": "vidshare"}).status_code == 200
    read = " ".join(q["sql"] for q in queries_run.captured_queries)
    for table in private:
        assert not re.search(rf'\b"?{table}"?\b', read), table
    assert "public_decisioncount" in read


def test_the_foot_names_the_checkpoint_the_licence_and_the_citation(
    client: Client, ledger: Any
) -> None:
    html = client.get("/stats/").content.decode()
    size = rollups.counted_upto()
    assert f"signed checkpoint of size <strong>{size}</strong>" in html
    assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license">CC BY 4.0' in html
    assert citation("http://testserver", size) in html
    assert "python -m ledger.verify http://testserver" in html


def test_a_version_below_the_minimum_precision_is_flagged(
    client: Client, ledger: Any, platform: Platform, model_v1: ModelVersion, settings: Any
) -> None:
    settings.LEDGER_MIN_PRECISION = 0.5
    # Audit labels as the roll-ups count them: 20 of v1's samples reviewed, 3 labelled correct.
    AuditCount.objects.create(
        day=DAY0.date(),
        platform=platform,
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        model_version=model_v1,
        reviewed=20,
        correct=3,
    )
    html = client.get("/stats/").content.decode()
    flagged = re.search(r'id="flagged-versions">(.*?)</div>', html, re.S)
    assert flagged is not None
    assert "vidshare · hate-speech v1: precision 15.0% (95% interval" in flagged.group(1)
    models = parse(html).tables["caption-models"]
    assert models[1][-1].endswith("Below 50%")
    chart = re.search(r'<svg[^>]*id="chart-models-precision".*?</svg>', html, re.S)
    assert chart is not None
    assert "⚠ vidshare · hate-speech v1" in chart.group(0)
    assert "minimum 50%" in chart.group(0)


def test_no_version_is_flagged_without_enough_audits(client: Client, ledger: Any) -> None:
    html = client.get("/stats/").content.decode()
    assert 'id="flagged-versions"' not in html
    assert 'id="chart-models-precision"' not in html


def test_the_page_works_before_anything_is_counted(client: Client, db: None) -> None:
    response = client.get("/stats/")
    assert response.status_code == 200
    assert "Nothing is counted yet" in response.content.decode()


def test_a_long_period_is_drawn_a_week_a_column_and_tabled_a_day_a_row(
    client: Client, ledger: Any
) -> None:
    html = client.get("/stats/", {"from": "2026-09-01", "to": "2026-12-31"}).content.decode()
    assert "one per week (Monday to Sunday)" in html
    assert len(parse(html).tables["caption-decisions_by_day"]) == 1 + 3


def test_only_get_and_head(client: Client, db: None) -> None:
    assert client.post("/stats/").status_code == 405
    assert client.head("/stats/").status_code == 200


def test_labels_cover_every_value_a_table_can_hold() -> None:
    assert set(pages.LABELS["kind"]) >= {"DECISION_VISIBILITY_SEARCH_EXCLUDED"}
    assert pages.label("kind", "DECISION_VISIBILITY_SEARCH_EXCLUDED").endswith("(silent)")
    assert pages.label("action", "SOMETHING_NEW") == "SOMETHING_NEW"
