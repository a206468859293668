"""A creator opens their notice link on a phone and on a laptop, reads it without scrolling
sideways, and appeals; an accessibility check (axe-core) finds nothing serious; the page works
with JavaScript switched off too.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves them as
docs/notice-phone.png, docs/notice-appeal-filed.png and docs/notice-appeal-decided.png instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from appeals.models import Appeal, Appellant
from appeals.services import claim_next_review, resolve_appeal
from moderation import services
from moderation.models import Decision, Platform
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
STATEMENT = (
    "This is a chess lesson. 'White attacks the black king' describes a move on the board; "
    "nobody is insulted. Please have a person watch it."
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def scrolls_sideways(page: Any) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, as 'rule: target' lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']}: {node['target']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


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


def test_a_creator_reads_the_notice_on_a_phone_and_a_laptop_and_appeals(
    live_server, flushable_append_only_tables, chromium, platform, model_v1, tmp_path
):
    shadowban = record(
        platform,
        decision_payload(
            puid="chess-video-1",
            subject={"account": "chess-teacher", "content": "video-1"},
            content_type=["CONTENT_TYPE_VIDEO"],
            decided_at="2026-11-20T08:30:00+00:00",
            incompatible_content_explanation="The video's speech was classified as hate speech "
            "(phrases such as 'white attacks black' and 'the black queen is trapped').",
        ),
    )
    link = f"{live_server.url}/notice/{shadowban.notice_token}"
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path

    laptop = chromium.new_page(viewport=LAPTOP)
    laptop.goto(link)
    assert laptop.locator("h1").inner_text() == "Your video is not shown in search"
    assert not scrolls_sideways(laptop)
    assert serious_violations(laptop) == []

    phone = chromium.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "Your video is not shown in search"
    assert phone.locator("#silent-warning").is_visible()
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []
    phone.screenshot(path=str(shots / "notice-phone.png"), full_page=True)

    # An empty statement first: the page says what is wrong, next to the field.
    phone.locator("#appeal-submit").click()
    phone.wait_for_load_state()
    assert phone.locator("#appeal-errors").is_visible()
    assert "The statement is empty" in phone.locator("#statement-error").inner_text()
    assert phone.locator("#statement").get_attribute("aria-invalid") == "true"
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []

    phone.locator("#statement").fill(STATEMENT)
    phone.locator("#appeal-submit").click()
    phone.wait_for_url("**#your-appeal")
    assert phone.locator("#appeal-state").inner_text() == "Filed"
    deadline = phone.locator("#appeal-deadline").inner_text()
    assert deadline.endswith("UTC")
    assert phone.locator("#appeal-form").count() == 0
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []
    phone.evaluate("document.getElementById('options').scrollIntoView()")
    phone.screenshot(path=str(shots / "notice-appeal-filed.png"))

    appeal = Appeal.objects.get()
    assert (appeal.decision_id, appeal.appellant, appeal.statement) == (
        shadowban.pk,
        Appellant.SUBJECT,
        STATEMENT,
    )
    assert deadline == f"{appeal.deadline_at:%-d %B %Y, %H:%M} UTC"

    # A reviewer overturns it; the creator reloads the page and reads the outcome and why.
    reviewer = make_reviewer(platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    resolve_appeal(
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="overturned",
        reason="I watched the video: it is a chess lesson. Nothing in it is hateful.",
    )
    connections.close_all()
    phone.goto(link)
    assert phone.locator("#changed").is_visible()
    assert "reversed" in phone.locator("#changed").inner_text()
    assert phone.locator("#appeal-state").inner_text() == "Overturned"
    assert "Your appeal succeeded" in phone.locator("#appeal-outcome").inner_text()
    assert "a chess lesson" in phone.locator("#appeal-reason").inner_text()
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []
    phone.screenshot(path=str(shots / "notice-appeal-decided.png"))
    phone.locator("#reversal-link").click()
    assert "reversed an earlier decision" in phone.locator("h1").inner_text()
    assert serious_violations(phone) == []


def test_the_notice_and_the_appeal_work_without_javascript(
    live_server, flushable_append_only_tables, chromium, platform
):
    reported = record(
        platform,
        human_payload(
            puid="reported-1",
            notifier="reporter-42",
            decision_type="DECISION_TYPE_NO_ACTION",
            decision_visibility=None,
        ),
    )
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/notice/{reported.notifier_token}")
    assert page.locator("h1").inner_text() == (
        "VidShare took no action against the image you reported"
    )
    page.locator("#appeal-submit").click()
    page.wait_for_load_state()
    assert page.locator("#appeal-errors").is_visible()
    page.locator("#statement").fill("The image is a threat against my neighbour.")
    page.locator("#appeal-submit").click()
    page.wait_for_url("**#your-appeal")

    assert page.locator("#appeal-state").inner_text() == "Filed"
    assert page.locator("#appeal-deadline").is_visible()
    context.close()
    assert Appeal.objects.get().appellant == Appellant.NOTIFIER
