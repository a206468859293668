"""A moderator reverses a wrongful shadowban from the admin, in a real browser, on a laptop and
on a phone: the page shows what is reversed before asking for the reason, and the reversal is
recorded through `services.reverse_decision` about the same subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from moderation import services
from moderation.models import Decision, ModelVersion, Platform
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_moderator_reverses_a_shadowban_and_sees_what_is_reversed_first(
    live_server: Any,
    admin_user: User,
    platform: Platform,
    model_v1: ModelVersion,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    recorded = services.record_decision(
        platform=platform,
        decision=as_input(
            decision_payload(
                puid="chess-shadowban",
                subject={"account": "creator-1", "content": "chess-video-9"},
                decision_facts="white knight captures black queen",
            )
        ),
    )
    original = Decision.objects.get(public_id=recorded.public_id)
    admin_path = f"/admin/moderation/decision/{original.pk}/change/"

    # No ORM call inside this block: Playwright's sync API keeps an event loop in this thread.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next={admin_path}")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "password")
        page.click("input[type=submit]")
        page.wait_for_url(f"**{admin_path}")

        page.click("a:has-text('Reverse this decision')")
        page.wait_for_url("**/reverse/")
        shown = page.inner_text(".reversed-decision")
        assert "chess-shadowban" in shown
        assert "white knight captures black queen" in shown
        # Without a reason the browser does not even send the form.
        page.click("input[type=submit]")
        assert page.eval_on_selector("#id_reason", "e => e.validity.valueMissing")
        assert "/reverse/" in page.url
        page.fill("#id_reason", "Chess notation, not hate speech: the classifier was wrong.")
        page.screenshot(path=str(tmp_path / f"reverse-{width}.png"), full_page=True)
        page.click("input[type=submit]")
        success = page.wait_for_selector(".messagelist .success")
        assert success is not None
        assert "Recorded the reversal" in success.inner_text()
        browser.close()

    reversals = Decision.objects.filter(supersedes=original)
    assert reversals.count() == 1
    reversal = reversals.get()
    assert reversal.decision_type == "DECISION_TYPE_REVERSAL"
    assert (reversal.subject_account, reversal.subject_content) == (
        original.subject_account,
        original.subject_content,
    )
    assert reversal.moderator_id == admin_user.pk
    assert reversal.decision_facts.startswith("Chess notation")
