"""/stats/ and the home page in a real browser (Debian's Chromium driven by Playwright) on a
phone (390x844) and a desktop (1440x900): nothing wider than the screen, charts drawn and
visible, tables readable and scrolling inside their own box, the filter form working without
JavaScript, and no serious axe-core finding.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves them as
docs/stats-1440.png, docs/stats-390.png, docs/home-1440.png and docs/home-390.png instead.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connections

from ledger.public import rollups
from ledger.public.models import AuditCount
from moderation import services
from moderation.models import ModelVersion, Platform
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload, human_payload, register_model
from tests.ledger.test_notice_browser import serious_violations
from tests.ledger.test_stats_pages import DAY0, build_ledger

DOCS = Path(__file__).resolve().parents[2] / "docs"
SIZES = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KINDS = (
    "DECISION_VISIBILITY_SEARCH_EXCLUDED",
    "DECISION_VISIBILITY_RECOMMENDATIONS_EXCLUDED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
)
CATEGORIES = (
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
)


def four_weeks(platform: Platform) -> None:
    """Four weeks of decisions before DAY0, a different mix each day: 12 to 24 silent
    restrictions by two classifier versions (exclusions from search most days above
    LEDGER_MIN_CELL, the other kinds below it) and 10 to 16 removals by people."""
    v2 = register_model(platform, version="v2")
    for day in range(-28, 0):
        silent = [
            decision_payload(
                puid=f"silent{day}-{n}",
                decision_visibility=[KINDS[0 if n < 10 else 1 + n % 3]],
                category=CATEGORIES[(n + day) % 3],
                category_specification=None,
                model_version=v2.version if day > -14 else "v1",
            )
            for n in range(12 + (day * 7) % 13)
        ]
        removals = [
            human_payload(puid=f"removal{day}-{n}", category=CATEGORIES[n % 3])
            for n in range(10 + (day * 5) % 7)
        ]
        moment = DAY0 + dt.timedelta(days=day)
        real = services.timezone
        services.timezone = SimpleNamespace(now=lambda moment=moment: moment)  # type: ignore[assignment]
        try:
            services.record_decisions(
                platform=platform, decisions=[as_input(b) for b in silent + removals]
            )
        finally:
            services.timezone = real


def audited(platform: Platform) -> None:
    """Audit labels as the roll-ups count them (written straight into AuditCount, as the
    page tests do): v1 mostly wrong (9 of 40 correct), v2 mostly right (27 of 30)."""
    for version, reviewed, correct in (("v1", 40, 9), ("v2", 30, 27)):
        AuditCount.objects.create(
            day=DAY0.date(),
            platform=platform,
            category=CATEGORIES[0],
            model_version=ModelVersion.objects.get(model__platform=platform, version=version),
            reviewed=reviewed,
            correct=correct,
        )


def scrolls_sideways(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


@pytest.fixture
def chromium() -> Any:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    pytest.importorskip("axe_playwright_python")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Django opened connections inside Playwright's event loop: close them, or the test
            # database cannot be emptied and dropped.
            connections.close_all()


def open_page(chromium: Any, size: str) -> Any:
    phone = size == "390"
    return chromium.new_page(viewport=SIZES[size], is_mobile=phone, has_touch=phone)


def test_the_statistics_read_on_a_phone_and_a_desktop_and_filter_without_javascript(
    live_server: Any,
    flushable_append_only_tables: None,
    chromium: Any,
    platform: Platform,
    model_v1: ModelVersion,
    tmp_path: Path,
) -> None:
    four_weeks(platform)
    build_ledger(platform)
    rollups.refresh()
    audited(platform)
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path

    for size, viewport in SIZES.items():
        page = open_page(chromium, size)
        response = page.goto(f"{live_server.url}/stats/")
        assert response is not None and response.status == 200
        assert not scrolls_sideways(page), size

        charts = page.locator("svg.chart")
        assert charts.count() >= 10
        for n in range(charts.count()):
            box = charts.nth(n).bounding_box()
            assert box is not None and 200 <= box["width"] <= viewport["width"], (size, n, box)
        first = page.locator("#chart-decisions_by_day")
        first.scroll_into_view_if_needed()
        assert first.is_visible()
        assert page.locator("#chart-decisions_by_day rect.bar").count() >= 28

        # Tables: each inside its own box no wider than the screen (the box scrolls, the page
        # does not), headed by its caption, in type no smaller than 12 px.
        boxes = page.locator(".table-box")
        assert boxes.count() == page.locator("table").count() >= 13
        for n in range(boxes.count()):
            box = boxes.nth(n).bounding_box()
            assert box is not None and box["x"] >= 0
            assert box["x"] + box["width"] <= viewport["width"], (size, n)
        wide = page.locator("#figure-decisions_by_day .table-box")
        assert wide.evaluate("e => e.scrollWidth > e.clientWidth") == (size == "390")
        smallest = page.evaluate(
            "Math.min(...[...document.querySelectorAll('td, th')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 12
        assert page.locator("#caption-decisions_by_action").inner_text() == "Decisions by action"
        assert page.locator("#flagged-versions").is_visible()
        assert page.locator("#chart-models-precision circle.share").count() == 2
        assert serious_violations(page) == []
        page.screenshot(path=str(shots / f"stats-{size}.png"), full_page=True)

    # The filter form: a plain GET, the filters in the URL, the numbers narrowed.
    page = open_page(chromium, "390")
    page.goto(f"{live_server.url}/stats/")
    page.locator("#from").fill("2026-10-20")
    page.locator("#to").fill("2026-10-26")
    page.locator("#platform").select_option("vidshare")
    page.locator("#filters-submit").click()
    page.wait_for_url("**/stats/?from=2026-10-20&to=2026-10-26&platform=vidshare")
    days = page.locator("#caption-decisions_by_day ~ tbody th").all_inner_texts()
    assert days and all("2026-10-20" <= day <= "2026-10-26" for day in days)
    assert page.locator("#platform").input_value() == "vidshare"
    assert "by VidShare" in page.locator("h1 + .lead").inner_text()
    assert not scrolls_sideways(page)

    # Bad filters: a 400 page that says what is wrong, still with no sideways scrolling.
    response = page.goto(f"{live_server.url}/stats/?from=2026-10-26&to=2026-10-20")
    assert response is not None and response.status == 400
    assert "before it starts" in page.locator("#filter-errors").inner_text()
    assert page.locator("#to").get_attribute("aria-invalid") == "true"
    assert not scrolls_sideways(page)
    assert serious_violations(page) == []


def test_the_home_page_reads_on_a_phone_and_a_desktop(
    live_server: Any,
    flushable_append_only_tables: None,
    chromium: Any,
    platform: Platform,
    model_v1: ModelVersion,
    tmp_path: Path,
) -> None:
    build_ledger(platform)
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path
    for size in SIZES:
        page = open_page(chromium, size)
        page.goto(f"{live_server.url}/")
        assert not scrolls_sideways(page), size
        for section in ("#notice", "#auditors", "#platforms"):
            assert page.locator(section).is_visible()
        assert page.locator("#verify-command").inner_text() == (
            f"python -m ledger.verify {live_server.url}"
        )
        assert serious_violations(page) == []
        page.screenshot(path=str(shots / f"home-{size}.png"), full_page=True)
        page.locator("a", has_text="Statistics").first.click()
        page.wait_for_url("**/stats/")
        assert page.locator("h1").is_visible()
