"""A person reads the DSA transparency report on a laptop and on a phone: no sideways scrolling,
nothing serious for axe-core, and the form works without JavaScript.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves them as
docs/report-dsa-1440.png and docs/report-dsa-390.png instead.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from ledger.models import Checkpoint
from ledger.public import rollups
from tests.ledger.test_notice_browser import chromium, scrolls_sideways, serious_violations

DOCS = Path(__file__).resolve().parents[2] / "docs"
VIEWPORTS = {"1440": {"width": 1440, "height": 900}, "390": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["chromium"]  # the fixture, imported for its use here


@pytest.fixture
def demo() -> str:
    """The demo platform's decisions, appeals, audits and disputes, counted."""
    call_command("seed_demo", decisions=1500, days=30, seed=5, stdout=io.StringIO())
    rollups.refresh()
    return "vidshare"


def report_url(base: str, slug: str) -> str:
    today = timezone.now().date()
    start = today - dt.timedelta(days=60)
    return f"{base}/reports/dsa/?platform={slug}&from={start}&to={today}"


def test_the_report_reads_on_a_laptop_and_a_phone(
    live_server, flushable_append_only_tables, chromium, demo, tmp_path
):
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path
    size = str(Checkpoint.objects.order_by("-size").values_list("size", flat=True).first())
    for name, viewport in VIEWPORTS.items():
        page: Any = chromium.new_page(viewport=viewport, is_mobile=name == "390")
        page.goto(report_url(live_server.url, demo))
        assert page.locator("#checkpoint-size").inner_text() == size
        assert page.locator("#raised").is_visible()
        assert page.locator("#models").is_visible()
        assert page.locator("#csv-link").get_attribute("href").startswith("/api/v1/reports/dsa?")
        assert not scrolls_sideways(page), name
        assert serious_violations(page) == [], name
        page.screenshot(path=str(shots / f"report-dsa-{name}.png"), full_page=True)
        page.close()


def test_the_form_works_without_javascript_and_names_the_problems(
    live_server, flushable_append_only_tables, chromium, demo
):
    context = chromium.new_context(viewport=VIEWPORTS["390"], java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/reports/dsa/")
    assert page.locator("#checkpoint-size").count() == 0
    page.locator("#from").fill("2026-03-01")
    page.locator("#to").fill("2026-02-01")
    page.locator("#report-submit").click()
    page.wait_for_load_state()
    assert "before it starts" in page.locator("#report-errors").inner_text()
    assert page.locator("#to").get_attribute("aria-invalid") == "true"
    assert not scrolls_sideways(page)

    today = timezone.now().date()
    page.locator("#from").fill(str(today - dt.timedelta(days=7)))
    page.locator("#to").fill(str(today))
    page.locator("#report-submit").click()
    page.wait_for_load_state()
    assert page.locator("#report-errors").count() == 0
    assert page.locator("#checkpoint-size").is_visible()
    assert not scrolls_sideways(page)
    context.close()
