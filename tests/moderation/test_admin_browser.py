"""The moderators' admin in a real browser: sign in, filter the shadowbans, read a decision with
its chain, and record a manual decision.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves them as docs/admin-*.png
instead, to refresh the ones in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from ledger.db import append_only_models
from moderation import services
from moderation.models import Decision, ModelVersion, Platform
from tests.factories import as_input, decision_payload, human_payload

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def flushable_after_test(transactional_db: None, live_server: Any) -> Iterator[None]:
    """Lets the transactional test database be emptied after the test.

    Emptying it on SQLite is a DELETE per table, which the append-only triggers refuse, so they
    are dropped first; the flush emits post_migrate, which installs them again. PostgreSQL's
    flush is a TRUNCATE, which row triggers do not see.
    """
    yield
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for model in append_only_models():
            for operation in ("update", "delete"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "{model._meta.db_table}_no_{operation}"')


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def test_staff_filter_shadowbans_read_a_chain_and_record_a_decision(
    live_server: Any,
    admin_user: User,
    platform: Platform,
    model_v1: ModelVersion,
    flushable_after_test: None,
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")

    subject = {"account": "creator-1", "content": "chess-video-9"}
    record(
        platform,
        decision_payload(
            puid="flag-1",
            subject=subject,
            decision_type="DECISION_TYPE_FLAG",
            decision_visibility=None,
            decided_at="2026-11-02T09:00:00+00:00",
        ),
    )
    shadowban = record(
        platform,
        decision_payload(
            puid="shadowban-1",
            subject=subject,
            score=0.81,
            internal_notes="Probably chess notation again (white knight takes black queen).",
            decided_at="2026-11-02T10:00:00+00:00",
        ),
    )
    record(
        platform,
        human_payload(
            puid="reversal-1",
            subject=subject,
            decision_type="DECISION_TYPE_REVERSAL",
            decision_visibility=None,
            supersedes=str(shadowban.public_id),
            decided_at="2026-11-03T10:00:00+00:00",
        ),
    )
    for n in range(3):
        record(platform, human_payload(puid=f"removal-{n}"))
        record(
            platform,
            decision_payload(
                puid=f"demotion-{n}",
                decision_visibility=["DECISION_VISIBILITY_CONTENT_DEMOTED"],
            ),
        )
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path
    shots.mkdir(exist_ok=True)

    # No ORM call inside this block: Playwright's sync API keeps an event loop running in this
    # thread, where Django refuses synchronous database access. The live server has its own.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(15_000)

        page.goto(f"{live_server.url}/admin/login/?next=/admin/moderation/decision/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "password")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/moderation/decision/")
        # Screenshots without the navigation sidebar, which the admin remembers per browser.
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        page.reload()
        assert page.locator("#result_list tbody tr").count() == 9

        page.click("#changelist-filter a:has-text('Any silent restriction (shadowban)')")
        page.wait_for_url("**visibility=silent**")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 4
        assert "removal-0" not in page.inner_text("#result_list")
        page.screenshot(path=str(shots / "admin-decisions-list.png"))

        rows.filter(has_text="shadowban-1").locator("th a").click()
        page.wait_for_selector("#decision-chain")
        chain_rows = page.locator("#decision-chain tbody tr")
        assert chain_rows.count() == 3
        assert "(this decision)" in chain_rows.nth(1).inner_text()
        assert page.locator("input[name=_save]").count() == 0
        assert page.locator(".deletelink").count() == 0
        page.screenshot(path=str(shots / "admin-decision-detail.png"), full_page=True)

        page.click("a:has-text('Record a reversal or follow-up')")
        page.wait_for_url("**/admin/moderation/decision/add/**")
        assert page.input_value("#id_supersedes") == str(shadowban.public_id)
        page.select_option("#id_decision_type", "DECISION_TYPE_RESTRICTION")
        page.fill("#id_supersedes", "")
        page.fill("#id_puid", "browser-removal")
        page.fill("#id_subject_account", "user-42")
        page.fill("#id_subject_content", "image-7")
        page.check("input[name=decision_visibility][value=DECISION_VISIBILITY_CONTENT_REMOVED]")
        page.select_option("#id_decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT")
        page.fill("#id_illegal_content_legal_ground", "Section 130 StGB")
        page.fill("#id_illegal_content_explanation", "Incitement to hatred.")
        page.select_option("#id_category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")
        page.fill("#id_decision_facts", "A moderator reviewed the notice and removed the image.")
        page.fill("#id_internal_notes", "Checked with the legal team.")
        page.select_option("#id_source_type", "SOURCE_ARTICLE_16")
        page.fill("#id_source_identity", "notice-77")
        page.check("input[name=automated_detection][value=No]")
        page.select_option("#id_automated_decision", "AUTOMATED_DECISION_NOT_AUTOMATED")
        page.check("input[name=content_type][value=CONTENT_TYPE_IMAGE]")
        page.fill("#id_content_date", "2026-11-20")
        page.screenshot(path=str(shots / "admin-record-decision.png"), full_page=True)
        page.click("input[name=_save]")

        success = page.wait_for_selector(".messagelist .success")
        assert success is not None
        assert "Recorded decision" in success.inner_text()
        assert page.locator("#decision-chain tbody tr").count() == 1
        browser.close()

    decision = Decision.objects.get(platform=platform, puid="browser-removal")
    assert decision.moderator_id == admin_user.pk
    assert decision.action == "REMOVAL"
