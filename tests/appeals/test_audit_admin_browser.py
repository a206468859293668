"""A reviewer labels a blind audit sample in the admin, in a real browser, on a phone and on a
laptop: claims it from "My queue", reads the decision and the policy with nothing of the model
or the decision's ids anywhere in the page, and labels it incorrect with a reason and the
clause. A moderator then reads the quality page, where the chess classifier is flagged. No
page scrolls sideways.

Screenshots: docs/audit-review-390.png, docs/audit-review-desktop.png, docs/quality-desktop.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from appeals.audit import set_audit_plan
from appeals.disputes import refer_dispute
from appeals.labels import label_item, plant_known_answer
from appeals.models import ItemKind, ItemState, Outcome, Review, Reviewer, ReviewItem
from appeals.services import claim_next_review
from moderation import services
from moderation.models import Decision, Platform, PlatformMember
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODEL, VERSION, THRESHOLD, SCORE = "chess-hate-xl", "2026.11-rc7", 0.8123, 0.9137
PUID = "chess-video-puid-4711"
FACTS = (
    f"Flagged by {MODEL} {VERSION} at {SCORE} (threshold {THRESHOLD}): the title reads 'white "
    "knight captures black queen, then the black king falls'."
)
REASON = "Chess notation, not hate speech: the knight, the queen and the king are pieces."
CLAUSE = "none: chess commentary falls under no rule of section 4.2"


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def user(username: str, platform: Platform, *, perms: bool = False) -> User:
    person = User.objects.create_user(username, password="password", is_staff=True)
    PlatformMember.objects.create(user=person, platform=platform)
    if perms:
        person.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["moderation", "appeals"])
        )
    return person


def chess(platform: Platform, puid: str) -> Decision:
    return record(
        platform,
        decision_payload(
            puid=puid, model=MODEL, model_version=VERSION, score=SCORE, decision_facts=FACTS
        ),
    )


def audited_history(platform: Platform, moderator: User) -> None:
    """What the quality page shows: the chess model right on 4 samples of 20 (flagged), a spam
    model on 9 of 10, two known answers, one dispute; all labelled by rolf."""
    register_model(platform, name=MODEL, version=VERSION, threshold=THRESHOLD)
    register_model(platform, name="spam-guard", version="3.1")
    set_audit_plan(
        platform=platform,
        strata=[
            {"model": MODEL, "version": VERSION, "rate": 1},
            {"model": "spam-guard", "version": "3.1", "rate": 1},
        ],
        actor="tests",
    )
    decisions = [chess(platform, f"chess-{n}") for n in range(20)]
    for _ in range(10):
        record(platform, decision_payload(model="spam-guard", model_version="3.1", score=0.99))
    for answer in ("correct", "incorrect"):
        plant_known_answer(
            decision=record(platform, human_payload()), answer=answer, actor=moderator
        )
    rolf = Reviewer.objects.create(user=user("rolf", platform))
    right = {MODEL: 4, "spam-guard": 9}
    while (item := claim_next_review(reviewer=rolf)) is not None:
        version = item.decision.model_version
        if version is None:
            outcome = "correct"
        else:
            name = version.model.name
            outcome = "correct" if right[name] > 0 else "incorrect"
            right[name] -= 1
        label_item(
            reviewer=rolf,
            item=item,
            version=item.version,
            outcome=outcome,
            reason="Checked against the policy.",
            clause="" if outcome == "correct" else "none",
        )
    refer_dispute(
        decision=decisions[0],
        complainant="subject",
        body="Appeals Centre Europe",
        referred_at=timezone.now(),
        actor="tests",
    )


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_reviewer_labels_a_blind_sample_and_a_moderator_reads_the_quality_page(
    live_server: Any, platform: Platform, tmp_path: Path, width: int, height: int
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    moderator = user("moe", platform, perms=True)
    audited_history(platform, moderator)
    decision = chess(platform, PUID)
    item = ReviewItem.objects.get(decision=decision, kind=ItemKind.AUDIT)
    Reviewer.objects.create(user=user("rita", platform))
    secrets = [
        MODEL,
        VERSION,
        str(SCORE),
        f"{SCORE:.2f}",
        str(THRESHOLD),
        f"{THRESHOLD:.2f}",
        PUID,
        str(decision.public_id),
        decision.public_id.hex,
        decision.notice_token,
    ]
    queue_path = "/admin/appeals/reviewitem/my-queue/"
    quality_path = "/admin/appeals/reviewitem/quality/"
    phone = width < 1000

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
        assert f"Item {item.pk} · Audit" in page.inner_text("#claimable-items")

        page.click("#claim-next")
        page.wait_for_url(f"**/{item.pk}/change/")
        assert "You hold item" in page.inner_text(".messagelist")
        html = page.content().lower()
        assert [s for s in secrets if s.lower() in html] == []
        summary = page.inner_text("#decision-summary")
        assert "white knight captures black queen" in summary
        assert "[redacted]" in summary
        assert "Community guidelines, section 4.2" in summary
        assert page.inner_text("#review-status").startswith("Audit")
        assert no_sideways_scroll(page)

        # Without a reason the browser does not even send the form.
        page.check("input[name=outcome][value=incorrect]")
        page.click("#label-submit")
        assert page.eval_on_selector("#id_reason", "e => e.validity.valueMissing")
        page.fill("#id_reason", REASON)
        page.fill("#id_clause", CLAUSE)
        shot = "audit-review-390.png" if phone else "audit-review-desktop.png"
        page.screenshot(path=str(DOCS / shot), full_page=True)
        page.click("#label-submit")
        page.wait_for_url(f"**{queue_path}")
        assert f"Labelled item {item.pk} incorrect." in page.inner_text(".messagelist .success")
        assert "You hold no item" in page.inner_text("#content-main")
        assert no_sideways_scroll(page)

        # A plain reviewer is not shown the quality page.
        assert page.goto(f"{live_server.url}{quality_path}").status == 403

        other = browser.new_context(viewport={"width": width, "height": height})
        quality = other.new_page()
        quality.set_default_timeout(15_000)
        quality.goto(f"{live_server.url}/admin/login/?next={quality_path}")
        quality.fill("#id_username", "moe")
        quality.fill("#id_password", "password")
        quality.click("input[type=submit]")
        quality.wait_for_url(f"**{quality_path}")
        flags = quality.inner_text("#quality-flags")
        assert f"{MODEL} {VERSION} (vidshare): 19.0%" in flags
        flagged = quality.inner_text("#quality-models tr.quality-flagged")
        assert "Below 50.0%" in flagged
        assert "spam-guard 3.1" not in flagged
        assert "rolf" in quality.inner_text("#quality-reviewers")
        assert "Referred to a certified body\n1" in quality.inner_text("#quality-disputes")
        assert no_sideways_scroll(quality)
        quality_shot = DOCS / "quality-desktop.png" if not phone else tmp_path / "quality.png"
        quality.screenshot(path=str(quality_shot), full_page=True)
        browser.close()

    review = Review.objects.select_related("reviewer__user").get(item=item)
    assert review.reviewer is not None
    assert (review.outcome, review.reason, review.clause, review.reviewer.user.username) == (
        Outcome.INCORRECT,
        REASON,
        CLAUSE,
        "rita",
    )
    item.refresh_from_db()
    assert item.state == ItemState.DONE
