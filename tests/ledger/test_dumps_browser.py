"""/data/ in a real browser, on a phone (390 px) and a desktop (1440 px): the days, their files
with sizes and SHA-256, the licence and the verify command, without scrolling sideways; axe
finds nothing serious; a file link downloads the file as written.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves docs/data-1440.png.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from ledger.public import dumps
from moderation import services
from moderation.models import Platform
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload
from tests.ledger.test_notice_browser import scrolls_sideways, serious_violations

DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chromium() -> Iterator[Any]:
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
            connections.close_all()


def test_the_data_page_on_a_phone_and_a_desktop(
    live_server: Any,
    chromium: Any,
    platform: Platform,
    model_v1: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.LEDGER_DUMP_DIR = tmp_path / "dumps"
    days = ((dt.date(2026, 12, 4), 40), (dt.date(2026, 12, 5), 25))
    for day, count in days:
        moment = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        services.record_decisions(
            platform=platform, decisions=[as_input(decision_payload()) for _ in range(count)]
        )
    monkeypatch.undo()
    for day, _ in days:
        dumps.cut(day, now=dt.datetime(2026, 12, 6, 0, 5, tzinfo=dt.UTC))
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path
    sums = (Path(settings.LEDGER_DUMP_DIR) / "2026-12-05" / "SHA256SUMS").read_text()

    for width, height in ((390, 844), (1440, 1000)):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(f"{live_server.url}/data/")
        assert page.locator("h1").inner_text() == "Daily data dumps"
        listed = page.locator("section h2[id^=day-]").all_inner_texts()
        assert listed == ["5 December 2026", "4 December 2026"]
        assert page.locator(".status").all_inner_texts() == ["complete", "complete"]
        text = page.locator("main").inner_text()
        assert all(line.split("  ")[0] in text for line in sums.splitlines())
        assert "CC BY 4.0" in text
        assert f"python -m ledger.verify {live_server.url} --dump decisions-2026-12-05" in text
        assert not scrolls_sideways(page)
        assert serious_violations(page) == []
        if width == 1440:
            page.screenshot(path=str(shots / "data-1440.png"), full_page=True)
        else:
            with page.expect_download() as download:
                page.get_by_role("link", name="decisions-2026-12-05.csv.gz").click()
            saved = tmp_path / "downloaded.csv.gz"
            download.value.save_as(saved)
            written = (
                Path(settings.LEDGER_DUMP_DIR)
                / "2026-12-05"
                / saved.name.replace("downloaded", "decisions-2026-12-05")
            )
            assert saved.read_bytes() == written.read_bytes()
        page.close()
