"""A reviewer works an appeal in the admin, in a real browser, on a laptop and on a phone: signs
in, claims the next item, reads the decision and the appellant's statement, and overturns the
decision with a reason; the reversal is recorded through the review service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from appeals.models import AppealStatus, ItemState, Outcome, Review, Reviewer, ReviewItem
from appeals.services import file_appeal
from moderation import services
from moderation.models import Decision, ModelVersion, Platform, PlatformMember
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
STATEMENT = "This is a chess video: 'white knight captures black queen' is a move, not hate."
REASON = "Chess notation, not hate speech: the classifier was wrong. The video is shown again."


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_reviewer_claims_the_next_appeal_reads_the_statement_and_overturns_it(
    live_server: Any,
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
                decision_facts="Automated classifier flagged the video's title above threshold.",
            )
        ),
    )
    decision = Decision.objects.get(public_id=recorded.public_id)
    appeal = file_appeal(decision=decision, appellant="subject", statement=STATEMENT)
    user = User.objects.create_user("rita", password="password", is_staff=True)
    PlatformMember.objects.create(user=user, platform=platform)
    reviewer = Reviewer.objects.create(user=user)
    queue_path = "/admin/appeals/reviewitem/my-queue/"

    # No ORM call inside this block: Playwright's sync API keeps an event loop in this thread.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next={queue_path}")
        page.fill("#id_username", "rita")
        page.fill("#id_password", "password")
        page.click("input[type=submit]")
        page.wait_for_url(f"**{queue_path}")
        assert "Item" in page.inner_text("#claimable-items")

        page.click("#claim-next")
        page.wait_for_url("**/change/")
        assert "You hold item" in page.inner_text(".messagelist")
        assert page.inner_text("#appeal-statement") == STATEMENT
        summary = page.inner_text("#decision-summary")
        assert "Visibility restriction of the content: Excluded from search" in summary
        assert "hate-speech v1" in summary
        assert "chess-shadowban" in summary
        # Nothing on the page is wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        # Without a reason the browser does not even send the form.
        page.check("input[name=outcome][value=overturned]")
        page.click("#decide-submit")
        assert page.eval_on_selector("#id_reason", "e => e.validity.valueMissing")
        page.fill("#id_reason", REASON)
        shot = DOCS / "review-admin.png" if width > 1000 else tmp_path / "review-admin-phone.png"
        page.screenshot(path=str(shot), full_page=True)
        page.click("#decide-submit")
        page.wait_for_url(f"**{queue_path}")
        success = page.inner_text(".messagelist .success")
        assert "Appeal overturned" in success
        assert "You hold no item" in page.inner_text("#content-main")

        page.click("text=Queue dashboard")
        page.wait_for_url("**/dashboard/")
        assert "All appeals (vidshare)" in page.inner_text("#queue-stats")
        assert "rita" in page.inner_text("#reviewer-stats")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        browser.close()

    review = Review.objects.get(appeal=appeal)
    assert (review.outcome, review.reason, review.reviewer) == (
        Outcome.OVERTURNED,
        REASON,
        reviewer,
    )
    assert review.reversal is not None
    assert review.reversal.supersedes_id == decision.pk
    assert review.reversal.decision_type == "DECISION_TYPE_REVERSAL"
    assert review.reversal.decision_facts == REASON
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OVERTURNED
    assert ReviewItem.objects.get(appeal=appeal).state == ItemState.DONE
