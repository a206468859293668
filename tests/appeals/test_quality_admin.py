"""The audit side of the reviewers' admin: the blind review page of an audit item (searched whole
for the model's name, version, score and threshold and the decision's ids), labelling, claiming,
approving or rejecting a proposed outcome, planting known answers, audit plans, and the quality
page with hand-computed precision, Wilson intervals, kappa and reviewer accuracy, each scoped
to the user's platforms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appeals.admin import withhold
from appeals.audit import set_audit_plan
from appeals.disputes import record_ruling, refer_dispute
from appeals.labels import label_item, plant_known_answer
from appeals.models import (
    AppealStatus,
    ItemKind,
    ItemState,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
)
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from moderation import services
from moderation.models import AuditEvent, Decision, Platform, PlatformMember
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db

# Distinctive values, so that finding one anywhere in a page can only mean it leaked.
MODEL, VERSION, THRESHOLD, SCORE = "chess-hate-xl", "2026.11-rc7", 0.8123, 0.9137
PUID = "chess-video-puid-4711"
FACTS = (
    f"Flagged by {MODEL} {VERSION} at {SCORE} (threshold {THRESHOLD}) on video {PUID}: "
    "'white knight captures black queen'."
)
REASON = "Chess notation, not hate speech: the knight and the queen are pieces."
CLAUSE = "none: chess commentary falls under no rule of section 4.2"


# --- helpers --------------------------------------------------------------------------------


def member(username: str, *platforms: Platform, perms: bool = False) -> User:
    user = User.objects.create_user(username, password="password", is_staff=True)
    for platform in platforms:
        PlatformMember.objects.create(user=user, platform=platform)
    if perms:
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["moderation", "appeals"])
        )
    return user


def reviewer_of(username: str, *platforms: Platform, senior: bool = False) -> Reviewer:
    return Reviewer.objects.create(user=member(username, *platforms), senior=senior)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def chess_decision(platform: Platform, puid: str = PUID) -> Decision:
    return record(
        platform,
        decision_payload(
            puid=puid,
            model=MODEL,
            model_version=VERSION,
            score=SCORE,
            decision_facts=FACTS,
        ),
    )


def sample_everything(platform: Platform, *models: tuple[str, str], double: float = 0.0) -> None:
    """A plan that samples every decision of the given model versions."""
    set_audit_plan(
        platform=platform,
        strata=[{"model": name, "version": version, "rate": 1} for name, version in models],
        double_review=double,
        actor="tests",
    )


def item_url(item: ReviewItem) -> str:
    return reverse("admin:appeals_reviewitem_change", args=[item.pk])


def claimed(reviewer: Reviewer) -> ReviewItem:
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    return item


def label(reviewer: Reviewer, item: ReviewItem, outcome: str) -> Review:
    return label_item(
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome=outcome,
        reason=REASON,
        clause=CLAUSE if outcome == "incorrect" else "",
    )


def label_all(reviewer: Reviewer, choose: Any) -> int:
    """Claim and label every item the reviewer may take, the label chosen per item."""
    n = 0
    while (item := claim_next_review(reviewer=reviewer)) is not None:
        label(reviewer, item, choose(item))
        n += 1
    return n


@pytest.fixture
def other_platform(db: None) -> Platform:
    platform = services.create_platform(slug="clipzone", name="ClipZone")
    register_model(platform, name="clip-spam-net", version="9.9-beta")
    return platform


@pytest.fixture
def chess_model(platform: Platform) -> Any:
    return register_model(platform, name=MODEL, version=VERSION, threshold=THRESHOLD)


@pytest.fixture
def sample(platform: Platform, chess_model: Any) -> ReviewItem:
    sample_everything(platform, (MODEL, VERSION))
    decision = chess_decision(platform)
    return ReviewItem.objects.get(decision=decision, kind=ItemKind.AUDIT)


@pytest.fixture
def reviewer(platform: Platform) -> Reviewer:
    return reviewer_of("rita", platform)


# --- blindness ------------------------------------------------------------------------------


def leaks(html: str, decision: Decision) -> list[str]:
    """Every identifying value of the decision found anywhere in the page, links included."""
    values = [
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
    page = html.lower()
    return [value for value in values if value.lower() in page]


def test_the_audit_review_page_shows_nothing_of_the_model_or_the_decisions_ids(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    client = client_for(reviewer.user)

    claim = client.post(reverse("admin:appeals_reviewitem_claim_next"))
    assert claim.status_code == 302
    assert claim["Location"] == item_url(sample)
    response = client.get(claim["Location"])

    assert response.status_code == 200
    html = response.content.decode()
    decision = sample.decision
    assert decision.model_version is not None and decision.threshold == THRESHOLD
    assert leaks(html, decision) == []
    # The decision's record is not a click away either, nor its notice page or the log.
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not [h for h in hrefs if "/moderation/decision/" in h or "/notice/" in h]
    assert not [h for h in hrefs if "/log" in h]
    # What the reviewer needs is there: what was decided, the rule, the facts (redacted).
    summary = response.context["summary"]
    assert ("What was decided", "Visibility restriction of the content: Excluded from search") in (
        summary
    )
    facts = dict(summary)["Facts"]
    assert facts == (
        "Flagged by [redacted] [redacted] at [redacted] (threshold [redacted]) on video "
        "[redacted]: 'white knight captures black queen'."
    )
    assert "Community guidelines, section 4.2 (hateful conduct)" in html
    assert 'name="action" value="label"' in html
    assert "decision" not in response.context


def test_a_policy_whose_address_names_the_model_is_shown_redacted_and_not_as_a_link(
    platform: Platform, chess_model: Any, reviewer: Reviewer
) -> None:
    services.register_policy(
        platform=platform,
        key="hateful-conduct",
        title=f"Hateful conduct ({MODEL} enforced)",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="Section 4.2: no attacks on people for who they are.",
        url=f"https://vidshare.example/policies/{MODEL}",
    )
    sample_everything(platform, (MODEL, VERSION))
    decision = record(
        platform,
        decision_payload(
            puid=PUID,
            model=MODEL,
            model_version=VERSION,
            score=SCORE,
            policy="hateful-conduct",
        ),
    )
    item = claimed(reviewer)
    assert item.decision_id == decision.pk and decision.policy_id is not None

    html = client_for(reviewer.user).get(item_url(item)).content.decode()

    assert leaks(html, decision) == []
    assert "Hateful conduct ([redacted] enforced)" in html
    assert "Section 4.2: no attacks on people for who they are." in html
    assert "https://vidshare.example/policies/[redacted]" in html
    assert 'href="https://vidshare.example/policies' not in html


def test_a_planted_item_looks_like_a_sample_and_an_earlier_label_is_not_shown(
    platform: Platform, chess_model: Any, reviewer: Reviewer
) -> None:
    sample_everything(platform, (MODEL, VERSION), double=1.0)
    chess = chess_decision(platform)
    moderator = member("moe", platform, perms=True)
    # The platform's own words are shown as written; a person's decision whose facts said so
    # would stand out, but nothing the page adds may.
    person = record(platform, human_payload(decision_facts="The post was reported and removed."))
    planted = plant_known_answer(decision=person, answer="incorrect", actor=moderator)
    first = reviewer_of("rolf", platform)
    item = claimed(first)
    assert item.decision_id == chess.pk
    label(first, item, "incorrect")
    client = client_for(reviewer.user)

    sample_page = client.get(item_url(item)).content.decode()
    planted_page = client.get(item_url(planted)).content.decode()

    for page in (sample_page, planted_page):
        lowered = page.lower()
        assert "planted" not in lowered and "known answer" not in lowered
        assert REASON not in page and CLAUSE not in page
        assert "rolf" not in page
        # How automated a decision was would tell the planted person's decision apart.
        assert "automat" not in lowered and "moderator" not in lowered
    assert leaks(sample_page, chess) == []
    # Both read "Audit", in the same queue.
    assert "Audit\n  · Waiting\n  · queue Audit samples (vidshare)" in sample_page
    assert "Audit\n  · Waiting\n  · queue Audit samples (vidshare)" in planted_page


def test_my_queue_lists_audit_items_as_audit_and_claim_next_takes_them(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    client = client_for(reviewer.user)

    queue = client.get(reverse("admin:appeals_reviewitem_my_queue"))
    assert [item.pk for item in queue.context["claimable"]] == [sample.pk]
    assert f"Item {sample.pk}</a> · Audit" in queue.content.decode()
    assert leaks(queue.content.decode(), sample.decision) == []

    client.post(reverse("admin:appeals_reviewitem_claim_next"))

    sample.refresh_from_db()
    assert (sample.state, sample.claimed_by) == (ItemState.CLAIMED, reviewer)
    held = client.get(reverse("admin:appeals_reviewitem_my_queue"), follow=True)
    assert [item.pk for item in held.context["held"]] == [sample.pk]


def test_the_items_list_and_the_item_page_show_no_plan_or_known_answer_to_reviewers(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    client = client_for(reviewer.user)

    listing = client.get(reverse("admin:appeals_reviewitem_changelist"))

    assert listing.status_code == 200
    html = listing.content.decode()
    assert "known" not in html.lower()
    assert leaks(html, sample.decision) == []


def test_withholding_takes_whole_values_only_whatever_their_case() -> None:
    values = ["hate-speech", "0.93", "v1"]

    assert (
        withhold("Hate-Speech v1 scored 0.93.", values)
        == "[redacted] [redacted] scored [redacted]."
    )
    assert withhold("v10 scored 0.935 and 10.93; hate-speeches", values) == (
        "v10 scored 0.935 and 10.93; hate-speeches"
    )
    assert withhold("", values) == ""


# --- labelling ------------------------------------------------------------------------------


def test_a_reviewer_labels_an_audit_item_incorrect_with_the_clause_through_the_form(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    item = claimed(reviewer)
    client = client_for(reviewer.user)

    response = client.post(
        item_url(item),
        {
            "action": "label",
            "version": item.version,
            "outcome": "incorrect",
            "reason": REASON,
            "clause": CLAUSE,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:appeals_reviewitem_my_queue")
    review = Review.objects.get(item=item)
    assert (review.outcome, review.reason, review.clause, review.reviewer) == (
        Outcome.INCORRECT,
        REASON,
        CLAUSE,
        reviewer,
    )
    # A sample's label is a log entry; the page then says the item is labelled.
    assert review.log_entry_id is not None
    item.refresh_from_db()
    assert item.state == ItemState.DONE
    page = client.get(item_url(item)).content.decode()
    assert "This item is labelled." in page
    assert REASON not in page
    assert AuditEvent.objects.filter(action="audit.labelled", actor_user=reviewer.user).exists()


def test_labelling_a_planted_item_says_the_same_as_for_a_sample(
    platform: Platform, reviewer: Reviewer
) -> None:
    planted = plant_known_answer(
        decision=record(platform, human_payload()),
        answer="correct",
        actor=member("moe", platform, perms=True),
    )
    item = claimed(reviewer)
    assert item.pk == planted.pk

    response = client_for(reviewer.user).post(
        item_url(item),
        {"action": "label", "version": item.version, "outcome": "correct", "reason": REASON},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [f"Labelled item {item.pk} correct."]
    review = Review.objects.get(item=item)
    assert review.outcome == Outcome.CORRECT
    assert review.log_entry_id is None


def test_an_incorrect_label_without_a_clause_is_refused_and_writes_nothing(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    item = claimed(reviewer)

    response = client_for(reviewer.user).post(
        item_url(item),
        {"action": "label", "version": item.version, "outcome": "incorrect", "reason": REASON},
    )

    assert response.status_code == 400
    form = response.context["label_form"]
    assert "clause" in form.errors
    # What was typed stays, and the page stays blind.
    html = response.content.decode()
    assert REASON in html
    assert leaks(html, item.decision) == []
    assert not Review.objects.filter(item=item).exists()
    item.refresh_from_db()
    assert item.state == ItemState.CLAIMED


def test_a_label_with_a_stale_version_or_a_bad_outcome_is_refused(
    sample: ReviewItem, reviewer: Reviewer
) -> None:
    item = claimed(reviewer)
    client = client_for(reviewer.user)
    data = {"action": "label", "outcome": "correct", "reason": REASON}

    stale = client.post(item_url(item), {**data, "version": item.version - 1})
    wrong = client.post(item_url(item), {**data, "version": item.version, "outcome": "upheld"})
    empty = client.post(item_url(item), {**data, "version": item.version, "reason": " "})
    decide = client.post(
        item_url(item),
        {"action": "decide", "version": item.version, "outcome": "upheld", "reason": REASON},
    )

    assert stale.status_code == 409
    assert "changed since you read it" in stale.content.decode()
    assert f'name="version" value="{item.version}"' in stale.content.decode()
    assert wrong.status_code == empty.status_code == decide.status_code == 400
    assert "Select a valid choice" in wrong.content.decode()
    assert "This field is required" in empty.content.decode()
    assert not Review.objects.exists()


def test_a_reviewer_who_does_not_hold_the_item_cannot_label_it(
    sample: ReviewItem, reviewer: Reviewer, platform: Platform
) -> None:
    item = claimed(reviewer)
    other = reviewer_of("rolf", platform)

    response = client_for(other.user).post(
        item_url(item),
        {"action": "label", "version": item.version, "outcome": "correct", "reason": REASON},
    )

    assert response.status_code == 409
    assert "You do not hold this item" in response.content.decode()
    assert not Review.objects.exists()


def test_a_reviewer_of_another_platform_gets_404_for_the_audit_item(
    sample: ReviewItem, other_platform: Platform
) -> None:
    outsider = reviewer_of("otto", other_platform)

    assert client_for(outsider.user).get(item_url(sample)).status_code == 404


# --- second approval ------------------------------------------------------------------------


def termination_proposal(platform: Platform, proposer: Reviewer) -> ReviewItem:
    """An upheld appeal against an account termination: proposed, waiting for approval."""
    decision = record(
        platform,
        human_payload(
            decision_visibility=None,
            decision_account="DECISION_ACCOUNT_TERMINATED",
            account_type="ACCOUNT_TYPE_PRIVATE",
            content_type=["CONTENT_TYPE_TEXT"],
            moderator="mod-8",
        ),
    )
    appeal = file_appeal(decision=decision, appellant="subject", statement="I did nothing.")
    item = claimed(proposer)
    assert item.appeal_id == appeal.pk
    resolve_appeal(
        reviewer=proposer,
        item=item,
        version=item.version,
        outcome="upheld",
        reason="Repeated threats: the termination stands.",
    )
    item.refresh_from_db()
    assert item.proposal_id is not None
    return item


def test_the_proposal_page_shows_the_outcome_and_reason_not_the_proposer(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    proposer = reviewer_of("paula", platform)
    item = termination_proposal(platform, proposer)
    assert claimed(reviewer).pk == item.pk
    client = client_for(reviewer.user)

    response = client.get(item_url(item))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Repeated threats: the termination stands." in html
    assert "<strong>Upheld</strong>, proposed" in html
    assert "paula" not in html
    assert 'name="action" value="answer"' in html
    assert 'name="action" value="decide"' not in html


def test_a_second_reviewer_approves_the_proposal_through_the_form(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    item = termination_proposal(platform, reviewer_of("paula", platform))
    claimed(reviewer)
    item.refresh_from_db()

    response = client_for(reviewer.user).post(
        item_url(item),
        {"action": "answer", "version": item.version, "outcome": "approved", "reason": "Agreed."},
    )

    assert response.status_code == 302
    answer = Review.objects.get(item=item, reviewer=reviewer)
    assert (answer.outcome, answer.approves_id) == (Outcome.APPROVED, item.proposal_id)
    item.refresh_from_db()
    assert item.state == ItemState.DONE
    assert item.appeal is not None and item.appeal.status == AppealStatus.UPHELD


def test_a_second_reviewer_rejects_the_proposal_and_it_goes_to_seniors(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    item = termination_proposal(platform, reviewer_of("paula", platform))
    claimed(reviewer)
    item.refresh_from_db()
    client = client_for(reviewer.user)

    no_reason = client.post(
        item_url(item), {"action": "answer", "version": item.version, "outcome": "rejected"}
    )
    response = client.post(
        item_url(item),
        {"action": "answer", "version": item.version, "outcome": "rejected", "reason": "No."},
    )

    assert no_reason.status_code == 400
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.senior_only, item.proposal_id) == (ItemState.OPEN, True, None)
    assert item.appeal is not None and item.appeal.status == AppealStatus.IN_REVIEW
    assert Review.objects.get(item=item, reviewer=reviewer).outcome == Outcome.REJECTED


def test_the_proposer_cannot_approve_their_own_proposal(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    item = termination_proposal(platform, reviewer)

    # The claim itself refuses them: they already reviewed the item.
    assert claim_next_review(reviewer=reviewer) is None
    response = client_for(reviewer.user).post(
        item_url(item),
        {"action": "answer", "version": item.version, "outcome": "approved", "reason": "Yes."},
    )

    assert response.status_code == 409
    assert not Review.objects.filter(outcome=Outcome.APPROVED).exists()


# --- planting known answers -----------------------------------------------------------------


def test_a_moderator_plants_a_known_answer_item_from_the_admin(
    platform: Platform, model_v1: Any
) -> None:
    moderator = member("moe", platform, perms=True)
    decision = record(platform, decision_payload())
    client = client_for(moderator)
    plant = reverse("admin:appeals_reviewitem_plant")

    prefilled = client.get(plant, {"decision": str(decision.public_id)})
    response = client.post(plant, {"decision": decision.puid, "answer": "correct"})

    assert str(decision.public_id) in prefilled.content.decode()
    assert response.status_code == 302
    item = ReviewItem.objects.get(known_answer="correct")
    assert (item.kind, item.decision, item.plan, item.planted_by) == (
        ItemKind.AUDIT,
        decision,
        None,
        moderator,
    )
    assert item.queue.audit
    assert AuditEvent.objects.filter(action="audit.planted", actor_user=moderator).exists()


def test_planting_refuses_every_problem_and_another_platforms_decision_or_queue(
    platform: Platform, model_v1: Any, other_platform: Platform
) -> None:
    moderator = member("moe", platform, perms=True)
    ours = record(platform, decision_payload())
    theirs = record(
        other_platform, decision_payload(model="clip-spam-net", model_version="9.9-beta")
    )
    their_queue = services_queue(other_platform)
    client = client_for(moderator)
    plant = reverse("admin:appeals_reviewitem_plant")

    foreign = client.post(plant, {"decision": str(theirs.public_id), "answer": "correct"})
    bad = client.post(plant, {"decision": "no-such-decision", "answer": "maybe"})
    queue = client.post(
        plant, {"decision": str(ours.public_id), "answer": "correct", "queue": their_queue}
    )

    assert foreign.status_code == bad.status_code == queue.status_code == 400
    assert "No decision of your platforms has this id" in foreign.content.decode()
    assert set(bad.context["form"].errors) == {"decision", "answer"}
    assert "queue" in queue.context["form"].errors
    # The other platform's queue is not even offered.
    assert "clipzone" not in client.get(plant).content.decode()
    assert not ReviewItem.objects.exists()


def services_queue(platform: Platform) -> int:
    from appeals.audit import ensure_audit_queue

    return ensure_audit_queue(platform).pk


def test_planting_is_for_moderators_with_the_permission_not_plain_reviewers(
    platform: Platform, reviewer: Reviewer
) -> None:
    plant = reverse("admin:appeals_reviewitem_plant")

    assert client_for(reviewer.user).get(plant).status_code == 403
    assert client_for(member("sam", platform)).get(plant).status_code == 403


# --- audit plans ----------------------------------------------------------------------------


def test_audit_plans_are_listed_read_only_and_scoped_to_the_platform(
    platform: Platform, chess_model: Any, other_platform: Platform
) -> None:
    set_audit_plan(
        platform=platform,
        strata=[
            {"model": MODEL, "version": VERSION, "rate": 0.05},
            {"category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "rate": 0.01},
            {"rate": 0.001},
        ],
        double_review=0.1,
        actor="tests",
    )
    set_audit_plan(platform=other_platform, strata=[{"rate": 0.5}], actor="tests")
    client = client_for(member("sam", platform, perms=True))

    response = client.get(reverse("admin:appeals_auditplan_changelist"))

    (plan,) = response.context["cl"].result_list
    assert plan.platform == platform
    html = response.content.decode()
    assert (
        f"model {MODEL} {VERSION}: 5%; category Illegal or harmful speech: 1%; "
        "everything else: 0.1%"
    ) in html
    assert "10%" in html
    detail = client.get(reverse("admin:appeals_auditplan_change", args=[plan.pk]))
    assert plan.salt in detail.content.decode()
    assert client.get(reverse("admin:appeals_auditplan_add")).status_code == 403
    assert client.post(reverse("admin:appeals_auditplan_delete", args=[plan.pk])).status_code == 403
    foreign = other_platform.audit_plans.get()
    assert (
        client.get(reverse("admin:appeals_auditplan_change", args=[foreign.pk])).status_code == 404
    )


# --- the quality page -----------------------------------------------------------------------


def row_named(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (row,) = [row for row in rows if row["name"] == name]
    return row


def test_the_quality_page_shows_precision_with_wilson_intervals_and_flags_the_chess_model(
    platform: Platform,
    chess_model: Any,
    model_v1: Any,
    other_platform: Platform,
    reviewer: Reviewer,
) -> None:
    register_model(platform, name="spam-guard", version="3.1")
    sample_everything(platform, (MODEL, VERSION), ("spam-guard", "3.1"))
    for n in range(10):
        chess_decision(platform, puid=f"chess-{n}")
        record(platform, decision_payload(model="spam-guard", model_version="3.1", score=0.99))
    seen = {MODEL: 0, "spam-guard": 0}

    def choose(item: ReviewItem) -> str:
        # Chess: 1 of 10 correct; spam: 8 of 10 correct.
        version = item.decision.model_version
        assert version is not None
        name = version.model.name
        seen[name] += 1
        right = 1 if name == MODEL else 8
        return "correct" if seen[name] <= right else "incorrect"

    assert label_all(reviewer, choose) == 20
    client = client_for(member("sam", platform, perms=True))

    response = client.get(reverse("admin:appeals_reviewitem_quality"))

    assert response.status_code == 200
    models = response.context["models"]
    chess = row_named(models, f"{MODEL} {VERSION}")
    spam = row_named(models, "spam-guard 3.1")
    # 1/10: p = 0.1, Wilson 95%: 0.0179 to 0.4042 (upper bound below 0.5: flagged).
    assert (chess["reviewed"], chess["correct"], chess["precision"]) == (10, 1, "10.0%")
    assert chess["interval"] == "1.8% to 40.4%"
    assert chess["flagged"] is True
    # 8/10: 0.4902 to 0.9433.
    assert (spam["reviewed"], spam["correct"], spam["precision"]) == (10, 8, "80.0%")
    assert spam["interval"] == "49.0% to 94.3%"
    assert spam["flagged"] is False
    never = row_named(models, "hate-speech v1")
    assert (never["reviewed"], never["precision"], never["flagged"]) == (0, "—", False)
    html = response.content.decode()
    assert "Below the minimum precision" in html
    assert f"{MODEL} {VERSION} (vidshare): 10.0%" in html
    assert html.count('class="quality-flagged"') == 1
    # Per language and territory: all 20 are English, in DE and FR (LEDGER_MIN_CELL is 10).
    breakdowns = {title: rows for title, _, _, rows in response.context["breakdowns"]}
    english = row_named(breakdowns["Per content language"], "EN")
    assert (english["reviewed"], english["correct"], english["precision"]) == (20, 9, "45.0%")
    territories = breakdowns["Per territory"]
    assert [(r["name"], r["reviewed"]) for r in territories] == [("DE", 20), ("FR", 20)]
    # Another platform's models are not on the page.
    assert "clip-spam-net" not in html


def test_the_quality_page_gives_kappa_reviewer_accuracy_and_dispute_counts(
    platform: Platform, chess_model: Any, reviewer: Reviewer
) -> None:
    sample_everything(platform, (MODEL, VERSION), double=1.0)
    decisions = [chess_decision(platform, puid=f"chess-{n}") for n in range(4)]
    moderator = member("moe", platform, perms=True)
    right = plant_known_answer(
        decision=record(platform, human_payload()), answer="correct", actor=moderator
    )
    wrong = plant_known_answer(
        decision=record(platform, human_payload()), answer="correct", actor=moderator
    )
    rolf = reviewer_of("rolf", platform)
    # Pairs (rita, rolf) by decision: (c, c), (c, c), (i, i), (c, i) -> po 3/4, pe 1/2, kappa 0.5.
    rita_labels = dict(
        zip([d.pk for d in decisions], ["correct", "correct", "incorrect", "correct"], strict=True)
    )
    rolf_labels = dict(
        zip(
            [d.pk for d in decisions], ["correct", "correct", "incorrect", "incorrect"], strict=True
        )
    )
    known = {right.pk: "correct", wrong.pk: "incorrect"}
    label_all(reviewer, lambda item: known.get(item.pk) or rita_labels[item.decision_id])
    label_all(rolf, lambda item: rolf_labels.get(item.decision_id, "correct"))
    dispute = refer_dispute(
        decision=decisions[0],
        complainant="subject",
        body="Appeals Centre Europe",
        referred_at=timezone.now(),
        actor="tests",
    )
    record_ruling(dispute=dispute, outcome="overturned", decided_at=timezone.now(), actor="tests")

    response = client_for(moderator).get(reverse("admin:appeals_reviewitem_quality"))

    agreements = {title: rows for title, _, _, rows in response.context["agreements"]}
    queue = row_named(agreements["Per queue"], "Audit samples (audit)")
    assert (queue["pairs"], queue["agreed"], queue["kappa"]) == (4, 3, "0.50")
    rita = row_named(response.context["reviewers"], "rita")
    # 1 of 2 known answers right: Wilson 95% 0.0945 to 0.9055.
    assert (rita["known_answers"], rita["right"], rita["accuracy"]) == (2, 1, "50.0%")
    assert rita["interval"] == "9.5% to 90.5%"
    assert rita["audit_labels"] == 4
    rolf_row = row_named(response.context["reviewers"], "rolf")
    # The planted items needed one label each, and rita gave it: none left for rolf.
    assert (rolf_row["known_answers"], rolf_row["accuracy"], rolf_row["audit_labels"]) == (
        0,
        "—",
        4,
    )
    counts = response.context["disputes"]
    assert (counts["referred"], counts["decided_total"], counts["awaiting_ruling"]) == (1, 1, 0)
    html = response.content.decode()
    assert "decision overturned 1" in html
    assert "Appeals Centre Europe" not in html  # counts only


def test_the_quality_page_counts_decisions_overturned_at_the_senior_level(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    item = termination_proposal(platform, reviewer)
    second = reviewer_of("rolf", platform)
    claimed(second)
    item.refresh_from_db()
    client_for(second.user).post(
        item_url(item),
        {"action": "answer", "version": item.version, "outcome": "rejected", "reason": "No."},
    )
    senior = reviewer_of("sue", platform, senior=True)
    held = claimed(senior)
    resolve_appeal(
        reviewer=senior, item=held, version=held.version, outcome="overturned", reason="Wrong."
    )

    response = client_for(member("sam", platform, perms=True)).get(
        reverse("admin:appeals_reviewitem_quality")
    )

    rita = row_named(response.context["reviewers"], "rita")
    assert (rita["proposals_rejected"], rita["overturned"]) == (1, 1)
    assert row_named(response.context["reviewers"], "sue")["overturned"] == 0


def test_the_quality_page_is_for_the_platforms_moderators_only(
    platform: Platform, reviewer: Reviewer, other_platform: Platform
) -> None:
    page = reverse("admin:appeals_reviewitem_quality")

    assert client_for(reviewer.user).get(page).status_code == 403
    assert client_for(member("sam", platform)).get(page).status_code == 403
    foreign = client_for(member("otto", other_platform, perms=True)).get(page)
    assert foreign.status_code == 200
    assert [row["name"] for row in foreign.context["models"]] == ["clip-spam-net 9.9-beta"]


def test_the_quality_page_with_nothing_audited_says_so(
    platform: Platform, admin_client: Client
) -> None:
    response = admin_client.get(reverse("admin:appeals_reviewitem_quality"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "No labelled sample yet." in html
    assert "No item has two labels yet." in html
    assert "Below the minimum precision" not in html


def test_the_quality_and_audit_pages_run_a_bounded_number_of_queries(
    platform: Platform,
    chess_model: Any,
    reviewer: Reviewer,
    django_assert_max_num_queries: Any,
) -> None:
    sample_everything(platform, (MODEL, VERSION), double=1.0)
    for n in range(12):
        chess_decision(platform, puid=f"chess-{n}")
    label_all(reviewer, lambda item: "correct")
    label_all(reviewer_of("rolf", platform), lambda item: "incorrect")
    chess_decision(platform)
    held = claimed(reviewer_of("rudi", platform))
    moderator = client_for(member("sam", platform, perms=True))
    rudi = client_for(held.claimed_by.user)  # type: ignore[union-attr]

    # Session, user, permissions, platforms, "a reviewer?", then one query per table of the
    # page (two for model versions, one per breakdown, kappa, reviewers, seniors, disputes):
    # nothing per row.
    with django_assert_max_num_queries(17):
        response = moderator.get(reverse("admin:appeals_reviewitem_quality"))
    assert response.context["models"][0]["reviewed"] == 12
    # Session, user, "a reviewer?", platforms, the item with its decision, its model's name,
    # and the sidebar's two permission queries.
    with django_assert_max_num_queries(8):
        assert rudi.get(item_url(held)).status_code == 200


def test_the_audit_queue_is_never_made_the_default_or_given_routing_rules_on_its_form(
    sample: ReviewItem, platform: Platform
) -> None:
    client = client_for(member("sam", platform, perms=True))
    queue = sample.queue
    change = reverse("admin:appeals_reviewqueue_change", args=[queue.pk])
    data = {
        "slug": queue.slug,
        "name": queue.name,
        "position": queue.position,
        "deadline_hours": queue.deadline_hours,
        "escalate_before_hours": queue.escalate_before_hours,
    }

    refused = client.post(change, {**data, "is_default": "on", "languages": ["DE"]})
    renamed = client.post(change, {**data, "name": "Blind audits"})

    assert refused.status_code == 200
    assert set(refused.context["adminform"].form.errors) == {"is_default", "languages"}
    assert renamed.status_code == 302
    queue.refresh_from_db()
    assert (queue.name, queue.is_default, queue.languages, queue.audit) == (
        "Blind audits",
        False,
        [],
        True,
    )
    listing = client.get(reverse("admin:appeals_reviewqueue_changelist")).content.decode()
    assert "audit items only" in listing


def test_upholding_a_termination_on_the_decide_form_proposes_it_for_a_second_approval(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    decision = record(
        platform,
        human_payload(
            decision_visibility=None,
            decision_account="DECISION_ACCOUNT_TERMINATED",
            account_type="ACCOUNT_TYPE_PRIVATE",
            content_type=["CONTENT_TYPE_TEXT"],
            moderator="mod-8",
        ),
    )
    appeal = file_appeal(decision=decision, appellant="subject", statement="I did nothing.")
    item = claimed(reviewer)

    response = client_for(reviewer.user).post(
        item_url(item),
        {"action": "decide", "version": item.version, "outcome": "upheld", "reason": "Threats."},
        follow=True,
    )

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Proposed: upheld. This outcome has a high impact")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.AWAITING_APPROVAL
    item.refresh_from_db()
    assert (item.state, item.proposal_id is not None) == (ItemState.OPEN, True)
