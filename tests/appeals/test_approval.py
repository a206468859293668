"""Second approval: a high-impact appeal outcome (an account termination upheld; a legal
order's decision overturned or modified) is only proposed, and takes effect once a second,
different reviewer approves it, exactly once; a rejection sends the appeal to a senior. The
log binds every step, and the creator's page and the appeals API say the answer is waiting."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from appeals import selectors, services
from appeals.models import Appeal, AppealStatus, ItemState, Outcome, Review, ReviewItem
from appeals.payloads import reviewer_pseudonym
from appeals.services import ReviewRefused, answer_proposal, claim_next_review, resolve_appeal
from ledger.audit import audit_log
from ledger.db import install_append_only_triggers
from ledger.models import EntryType, LogEntry
from moderation import services as moderation
from moderation.models import AuditEvent, Decision, Platform, WebhookMessage
from moderation.services import Measure
from moderation.vocabulary import AccountAction, DecisionType, Visibility
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

pytestmark = pytest.mark.django_db

STATEMENT = "The court order was lifted on appeal last month; the post is lawful again."
PROPOSED = "The order this removal rests on was set aside by the court of appeal."
APPROVED = "Checked the appeal court's ruling: the order no longer applies."
REJECTED = "The ruling we were sent is about another post; the order still stands."
UPHOLD = "The account posted the same threats again after two suspensions."


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = moderation.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def legal_order(**overrides: Any) -> dict[str, Any]:
    """A moderator's removal of a post on a court's order."""
    return human_payload(
        source_type="SOURCE_LEGAL_ORDER", source_identity="Order 2026/117", **overrides
    )


def termination() -> dict[str, Any]:
    return human_payload(decision_visibility=None, decision_account="DECISION_ACCOUNT_TERMINATED")


def appeal_of(decision: Decision) -> Appeal:
    return services.file_appeal(decision=decision, appellant="subject", statement=STATEMENT)


def written() -> tuple[int, int, int, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    items = list(ReviewItem.objects.values_list("id", "state", "version", "claimed_by_id"))
    appeals = list(Appeal.objects.values_list("id", "status"))
    return (
        LogEntry.objects.count(),
        Review.objects.count(),
        Decision.objects.count(),
        items,
        appeals,
    )


def refused(code: str, call: Callable[..., Any], **kwargs: Any) -> ReviewRefused:
    before = written()
    with pytest.raises(ReviewRefused) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert written() == before
    return caught.value


def propose(reviewer: Any, outcome: str, reason: str = PROPOSED, **kwargs: Any) -> Review:
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    return resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome=outcome, reason=reason, **kwargs
    )


def answer(reviewer: Any, *, approve: bool, reason: str) -> Review:
    item = claim_next_review(reviewer=reviewer)
    assert item is not None and item.proposal_id is not None
    return answer_proposal(
        reviewer=reviewer, item=item, version=item.version, approve=approve, reason=reason
    )


def entry(review: Review) -> dict[str, Any]:
    assert review.log_entry_id is not None
    return json.loads(LogEntry.objects.get(index=review.log_entry_id).payload)


@pytest.fixture
def paula(platform: Platform) -> Any:
    return make_reviewer(platform, "paula")


@pytest.fixture
def adam(platform: Platform) -> Any:
    return make_reviewer(platform, "adam")


def test_only_high_impact_outcomes_need_a_second_approval(platform, model_v1):
    terminated = record(platform, termination())
    ordered = record(platform, legal_order())
    shadowban = record(platform, decision_payload())
    needs = services.needs_second_approval

    assert [needs(terminated, o) for o in ("upheld", "overturned", "modified")] == [
        True,
        False,
        False,
    ]
    assert [needs(ordered, o) for o in ("upheld", "overturned", "modified")] == [
        False,
        True,
        True,
    ]
    assert [needs(shadowban, o) for o in ("upheld", "overturned", "modified")] == [
        False,
        False,
        False,
    ]


def test_upholding_a_termination_is_only_proposed(platform, paula):
    terminated = record(platform, termination())
    appeal = appeal_of(terminated)
    log_size = LogEntry.objects.count()

    proposal = propose(paula, "upheld", UPHOLD)

    assert proposal.needs_approval and proposal.outcome == Outcome.UPHELD
    assert proposal.reversal is None and proposal.measure is None
    assert LogEntry.objects.count() == log_size + 1
    assert LogEntry.objects.get(index=proposal.log_entry_id).entry_type == EntryType.APPEAL_PROPOSED
    assert entry(proposal) == {
        "type": "appeal_proposed",
        "appeal": str(appeal.public_id),
        "decision": str(terminated.public_id),
        "platform": "vidshare",
        "reviewer": reviewer_pseudonym(platform="vidshare", reviewer_id=paula.pk),
        "outcome": "upheld",
        "reason_sha256": sha256(UPHOLD),
        "proposed_at": proposal.decided_at.astimezone(dt.UTC).isoformat(),
    }
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.AWAITING_APPROVAL
    item = ReviewItem.objects.get(appeal=appeal)
    assert item.state == ItemState.OPEN and item.claimed_by is None
    assert item.version == 3  # filed 1, claimed 2, back to the queue 3
    assert item.proposal == proposal and not item.senior_only
    assert not LogEntry.objects.filter(entry_type=EntryType.APPEAL_DECIDED).exists()
    assert list(WebhookMessage.objects.values_list("event_type", flat=True)) == ["appeal.filed"]
    assert AuditEvent.objects.filter(
        action="appeal.proposed", actor_user=paula.user, object_id=str(appeal.public_id)
    ).exists()
    assert audit_log().ok


def test_the_proposer_can_never_approve_their_own_proposal(platform, paula):
    appeal_of(record(platform, termination()))
    proposal = propose(paula, "upheld", UPHOLD)
    item = ReviewItem.objects.get(pk=proposal.item_id)

    assert claim_next_review(reviewer=paula) is None
    refused(
        "not_held",
        answer_proposal,
        reviewer=paula,
        item=item,
        version=item.version,
        approve=True,
        reason=APPROVED,
    )
    # Nor can any code path hand them the item: the database refuses the claim.
    with (
        pytest.raises(IntegrityError, match="already reviewed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE appeals_reviewitem SET state = 'claimed', claimed_by_id = %s,"
            " claimed_at = %s, lease_expires_at = %s WHERE id = %s",
            [paula.pk, timezone.now(), timezone.now() + timedelta(minutes=5), item.pk],
        )


def test_an_approval_by_another_reviewer_overturns_exactly_once(platform, paula, adam):
    ordered = record(platform, legal_order())
    appeal = appeal_of(ordered)
    decisions = Decision.objects.count()

    proposal = propose(paula, "overturned")
    # Rehearsed and rolled back: nothing reversed while the proposal waits.
    assert Decision.objects.count() == decisions
    assert not ordered.superseded_by.exists()

    approval = answer(adam, approve=True, reason=APPROVED)

    assert approval.outcome == Outcome.APPROVED and approval.approves == proposal
    reversal = approval.reversal
    assert reversal is not None and Decision.objects.count() == decisions + 1
    assert reversal.decision_type == DecisionType.REVERSAL
    assert reversal.supersedes_id == ordered.pk
    assert reversal.decision_facts == PROPOSED
    assert reversal.moderator == paula.user
    assert entry(approval) == {
        "type": "appeal_decided",
        "appeal": str(appeal.public_id),
        "decision": str(ordered.public_id),
        "platform": "vidshare",
        "reviewer": reviewer_pseudonym(platform="vidshare", reviewer_id=adam.pk),
        "outcome": "overturned",
        "reason_sha256": sha256(PROPOSED),
        "approval_reason_sha256": sha256(APPROVED),
        "proposal": proposal.log_entry_id,
        "reversal": str(reversal.public_id),
        "decided_at": approval.decided_at.astimezone(dt.UTC).isoformat(),
    }
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OVERTURNED
    item = ReviewItem.objects.get(appeal=appeal)
    assert item.state == ItemState.DONE and item.closed_at == approval.decided_at
    assert item.proposal is None
    (decided,) = WebhookMessage.objects.filter(event_type="appeal.decided")
    assert decided.payload["data"]["outcome"] == "overturned"
    assert decided.payload["data"]["reason"] == PROPOSED
    assert decided.payload["data"]["reason_sha256"] == sha256(PROPOSED)
    assert decided.payload["data"]["reversal"] == str(reversal.public_id)
    assert AuditEvent.objects.filter(action="appeal.decided", actor_user=adam.user).count() == 1
    assert audit_log().ok

    # Done: nobody can approve it again, and nothing more is reversed.
    refused(
        "not_held",
        answer_proposal,
        reviewer=adam,
        item=item,
        version=item.version,
        approve=True,
        reason=APPROVED,
    )
    assert claim_next_review(reviewer=make_reviewer(platform, "third")) is None
    assert ordered.superseded_by.count() == 1


def test_a_proposed_modification_keeps_its_measure_until_the_approval(platform, paula, adam):
    ordered = record(platform, legal_order())
    appeal_of(ordered)
    measure = Measure(
        decision_visibility=(Visibility.CONTENT_DEMOTED,),
        end_date_visibility_restriction=dt.date(2027, 6, 30),
    )

    proposal = propose(paula, "modified", measure=measure)

    assert proposal.measure == {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"],
        "decision_visibility_other": None,
        "end_date_visibility_restriction": "2027-06-30",
        "decision_monetary": None,
        "decision_monetary_other": None,
        "end_date_monetary_restriction": None,
        "decision_provision": None,
        "end_date_service_restriction": None,
        "decision_account": None,
        "end_date_account_restriction": None,
    }
    assert services.measure_from_json(proposal.measure) == measure
    assert not ordered.superseded_by.exists()

    approval = answer(adam, approve=True, reason=APPROVED)

    modification = approval.reversal
    assert modification is not None and modification.supersedes_id == ordered.pk
    assert modification.decision_type == DecisionType.RESTRICTION
    assert modification.decision_visibility == ["DECISION_VISIBILITY_CONTENT_DEMOTED"]
    assert modification.end_date_visibility_restriction == dt.date(2027, 6, 30)
    assert Appeal.objects.get(pk=proposal.appeal_id).status == AppealStatus.MODIFIED
    assert entry(approval)["outcome"] == "modified"
    assert audit_log().ok


def test_a_proposal_its_approval_could_not_carry_out_is_refused_at_once(platform, paula):
    # A search exclusion on a court's order: terminating the account is no lighter measure.
    appeal_of(
        record(platform, legal_order(decision_visibility=["DECISION_VISIBILITY_SEARCH_EXCLUDED"]))
    )
    item = claim_next_review(reviewer=paula)
    assert item is not None

    caught = refused(
        "invalid",
        resolve_appeal,
        reviewer=paula,
        item=item,
        version=item.version,
        outcome="modified",
        reason=PROPOSED,
        measure=Measure(decision_account=AccountAction.TERMINATED),
    )

    assert "not lighter" in caught.errors["outcome"][0]
    assert ReviewItem.objects.get(pk=item.pk).claimed_by == paula
    assert audit_log().ok


def test_a_rejection_sends_the_appeal_to_a_senior_who_decides_anew(platform, paula, adam):
    terminated = record(platform, termination())
    appeal = appeal_of(terminated)
    junior = make_reviewer(platform, "june")
    senior = make_reviewer(platform, "sena", senior=True)
    proposal = propose(paula, "upheld", UPHOLD)

    rejection = answer(adam, approve=False, reason=REJECTED)

    assert rejection.outcome == Outcome.REJECTED and rejection.approves == proposal
    assert rejection.reversal is None
    assert LogEntry.objects.get(index=rejection.log_entry_id).entry_type == (
        EntryType.APPEAL_PROPOSAL_REJECTED
    )
    assert entry(rejection) == {
        "type": "appeal_proposal_rejected",
        "appeal": str(appeal.public_id),
        "decision": str(terminated.public_id),
        "platform": "vidshare",
        "reviewer": reviewer_pseudonym(platform="vidshare", reviewer_id=adam.pk),
        "reason_sha256": sha256(REJECTED),
        "rejected_at": rejection.decided_at.astimezone(dt.UTC).isoformat(),
        "proposal": proposal.log_entry_id,
    }
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.IN_REVIEW
    item = ReviewItem.objects.get(appeal=appeal)
    assert item.state == ItemState.OPEN and item.senior_only and item.proposal is None
    assert not WebhookMessage.objects.filter(event_type="appeal.decided").exists()
    assert audit_log().ok

    # Neither of the two, nor a junior, takes it again: a senior does, and decides anew.
    assert claim_next_review(reviewer=paula) is None
    assert claim_next_review(reviewer=adam) is None
    assert claim_next_review(reviewer=junior) is None
    taken = claim_next_review(reviewer=senior)
    assert taken is not None and taken.pk == item.pk
    final = resolve_appeal(
        reviewer=senior,
        item=taken,
        version=taken.version,
        outcome="overturned",
        reason="Two suspensions were for another account; this one is reinstated.",
    )
    assert not final.needs_approval and final.reversal is not None
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.OVERTURNED
    assert audit_log().ok

    counts = selectors.overturned_at_senior_level()
    assert counts[paula.pk] == selectors.SeniorOverturns(
        reviewer_id=paula.pk, proposals=1, rejected=1, overturned=1
    )
    # Only proposals are counted: adam answered one, the senior decided at once.
    assert set(counts) == {paula.pk}
    assert selectors.overturned_at_senior_level(platform_ids=[platform.pk + 1]) == {}


def test_senior_overturns_count_only_rejected_proposals_decided_otherwise(platform, paula, adam):
    senior = make_reviewer(platform, "sena", senior=True)
    other = make_reviewer(platform, "otis", senior=True)
    # 1: approved. 2: rejected, then decided the same way (upheld again, approved).
    # 3: rejected, still with the seniors.
    for _ in range(3):
        appeal_of(record(platform, termination()))
    propose(paula, "upheld", UPHOLD)
    answer(adam, approve=True, reason=APPROVED)
    propose(paula, "upheld", UPHOLD)
    answer(adam, approve=False, reason=REJECTED)
    propose(senior, "upheld", UPHOLD)
    answer(other, approve=True, reason=APPROVED)
    propose(paula, "upheld", UPHOLD)
    answer(adam, approve=False, reason=REJECTED)

    counts = selectors.overturned_at_senior_level(platform_ids=[platform.pk])
    assert counts[paula.pk] == selectors.SeniorOverturns(
        reviewer_id=paula.pk, proposals=3, rejected=2, overturned=0
    )
    assert counts[senior.pk] == selectors.SeniorOverturns(
        reviewer_id=senior.pk, proposals=1, rejected=0, overturned=0
    )
    assert audit_log().ok


def test_deciding_a_proposal_is_refused_and_so_is_answering_an_ordinary_appeal(
    platform, model_v1, paula, adam
):
    appeal_of(record(platform, termination()))
    propose(paula, "upheld", UPHOLD)
    item = claim_next_review(reviewer=adam)
    assert item is not None
    caught = refused(
        "invalid",
        resolve_appeal,
        reviewer=adam,
        item=item,
        version=item.version,
        outcome="overturned",
        reason=REJECTED,
    )
    assert set(caught.errors) == {"outcome"}
    services.release_review(reviewer=adam, item=item)

    appeal_of(record(platform, decision_payload()))
    ordinary = claim_next_review(reviewer=paula)
    assert ordinary is not None and ordinary.proposal_id is None
    caught = refused(
        "invalid",
        answer_proposal,
        reviewer=paula,
        item=ordinary,
        version=ordinary.version,
        approve=True,
        reason=APPROVED,
    )
    assert set(caught.errors) == {"outcome"}


def test_a_bad_answer_names_every_problem_and_writes_nothing(platform, paula, adam):
    appeal_of(record(platform, termination()))
    propose(paula, "upheld", UPHOLD)
    item = claim_next_review(reviewer=adam)
    assert item is not None

    caught = refused(
        "invalid", answer_proposal, reviewer=adam, item=item, version=0, approve="yes", reason=" "
    )
    assert set(caught.errors) == {"outcome", "reason", "version"}
    refused(
        "invalid",
        answer_proposal,
        reviewer=adam,
        item=item,
        version=item.version,
        approve=True,
        reason="ok\x00",
    )
    refused(
        "stale_version",
        answer_proposal,
        reviewer=adam,
        item=item,
        version=item.version - 1,
        approve=True,
        reason=APPROVED,
    )
    refused(
        "lease_expired",
        answer_proposal,
        reviewer=adam,
        item=item,
        version=item.version,
        approve=True,
        reason=APPROVED,
        now=timezone.now() + timedelta(hours=1),
    )


def test_the_creators_page_and_the_api_say_the_answer_is_waiting(platform, paula, adam, client):
    terminated = record(platform, termination())
    appeal = appeal_of(terminated)
    page_url = f"/notice/{terminated.notice_token}"
    api_url = f"/api/v1/appeals/{appeal.public_id}?token={terminated.notice_token}"
    propose(paula, "upheld", UPHOLD)

    page = client.get(page_url).content.decode()
    assert 'id="appeal-awaiting-approval"' in page
    assert "The answer to your appeal is waiting for a second reviewer's approval." in page
    assert "until then nothing changes" in page
    assert "Awaiting a second approval" in page
    # Not the proposed outcome nor its reason: they may yet be rejected.
    assert 'id="appeal-outcome"' not in page and UPHOLD not in page
    body = APIClient().get(api_url).json()
    assert body["status"] == "awaiting_approval"
    assert (body["outcome"], body["reason"], body["decided_at"]) == (None, None, None)
    assert body["escalated"] is False

    approval = answer(adam, approve=True, reason=APPROVED)

    page = client.get(page_url).content.decode()
    assert 'id="appeal-awaiting-approval"' not in page
    assert "Your appeal did not succeed: the decision stands." in page
    assert UPHOLD in page and APPROVED not in page
    body = APIClient().get(api_url).json()
    assert (body["status"], body["outcome"], body["reason"]) == ("upheld", "upheld", UPHOLD)
    assert body["decided_at"] == approval.decided_at.isoformat().replace("+00:00", "Z")


def test_after_a_rejection_the_page_says_a_senior_reviewer_has_it(platform, paula, adam, client):
    terminated = record(platform, termination())
    appeal = appeal_of(terminated)
    propose(paula, "upheld", UPHOLD)
    answer(adam, approve=False, reason=REJECTED)

    page = client.get(f"/notice/{terminated.notice_token}").content.decode()
    assert 'id="appeal-awaiting-approval"' not in page
    assert "It has been passed to a senior reviewer." in page
    body = (
        APIClient()
        .get(f"/api/v1/appeals/{appeal.public_id}", {"token": terminated.notice_token})
        .json()
    )
    assert (body["status"], body["outcome"], body["escalated"]) == ("in_review", None, True)


def _tamper_review(review: Review, sql: str) -> None:
    """Change a review row as an attacker with database access would, around its trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's transaction still holds the deferred foreign-key checks of the rows it
            # wrote, and ALTER TABLE refuses a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE appeals_review DISABLE TRIGGER USER")
        else:
            cursor.execute('DROP TRIGGER "appeals_review_no_update"')
        cursor.execute(sql, [review.pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE appeals_review ENABLE TRIGGER USER")
    install_append_only_triggers()


def test_verify_log_catches_a_proposal_changed_behind_the_services_back(platform, paula, adam):
    appeal_of(record(platform, legal_order()))
    proposal = propose(paula, "overturned")
    approval = answer(adam, approve=True, reason=APPROVED)
    assert audit_log().ok

    _tamper_review(proposal, "UPDATE appeals_review SET outcome = 'upheld' WHERE id = %s")

    report = audit_log()
    assert not report.ok
    assert report.first_bad_index == proposal.log_entry_id
    problems = "\n".join(report.problems)
    # Both the proposal's entry and the approval's, which carries the proposal's outcome.
    assert f"entry {proposal.log_entry_id}: proposed outcome" in problems
    assert f"entry {approval.log_entry_id}: appeal_decided" in problems
    assert "differs from its log entry in outcome" in problems


def test_verify_log_catches_a_rejection_changed_behind_the_services_back(platform, paula, adam):
    appeal_of(record(platform, termination()))
    propose(paula, "upheld", UPHOLD)
    rejection = answer(adam, approve=False, reason=REJECTED)
    assert audit_log().ok

    _tamper_review(
        rejection,
        f"UPDATE appeals_review SET reason_sha256 = '{sha256('approved after all')}' WHERE id = %s",
    )

    report = audit_log()
    assert report.first_bad_index == rejection.log_entry_id
    assert "differs from its log entry in reason_sha256" in "\n".join(report.problems)


# --- through the reviewer API ---------------------------------------------------------------


def _client(platform: Platform, username: str, **kwargs: Any) -> APIClient:
    _, token = services.create_reviewer(
        username=username, platform=platform, actor="tests", **kwargs
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _post(client: APIClient, path: str, body: Any = None) -> Any:
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def test_the_decide_endpoint_proposes_then_approves(platform):
    ordered = record(platform, legal_order())
    appeal = appeal_of(ordered)
    pia, abe = _client(platform, "pia"), _client(platform, "abe")

    item = _post(pia, "/api/v1/review/claim").json()
    decide = f"/api/v1/review/items/{item['id']}/decide"
    proposed = _post(
        pia, decide, {"outcome": "overturned", "reason": PROPOSED, "version": item["version"]}
    )
    assert proposed.status_code == 200, proposed.content
    assert proposed.json()["review"]["reversal"] is None
    assert proposed.json()["item"]["state"] == "open"
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.AWAITING_APPROVAL
    assert _post(pia, "/api/v1/review/claim").status_code == 204

    held = _post(abe, "/api/v1/review/claim").json()
    assert held["id"] == item["id"]
    # An appeal's outcome is not an answer to a proposal.
    before = written()
    wrong = _post(
        abe, decide, {"outcome": "upheld", "reason": APPROVED, "version": held["version"]}
    )
    assert wrong.status_code == 400 and "outcome" in wrong.json()["errors"]
    assert written() == before

    approved = _post(
        abe, decide, {"outcome": "approved", "reason": APPROVED, "version": held["version"]}
    )

    assert approved.status_code == 200, approved.content
    assert approved.json()["review"]["outcome"] == "approved"
    reversal = approved.json()["review"]["reversal"]
    assert reversal == str(ordered.superseded_by.get().public_id)
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.OVERTURNED
    before = written()
    again = _post(abe, decide, {"outcome": "approved", "reason": APPROVED, "version": 99})
    # Decided: the item waits on no proposal any more, so "approved" is no outcome for it.
    assert again.status_code == 400 and written() == before
    assert ordered.superseded_by.count() == 1
    assert audit_log().ok


def test_the_decide_endpoint_rejects_and_the_proposer_is_refused(platform):
    appeal = appeal_of(record(platform, termination()))
    pia, abe = _client(platform, "pia"), _client(platform, "abe")
    item = _post(pia, "/api/v1/review/claim").json()
    decide = f"/api/v1/review/items/{item['id']}/decide"
    assert (
        _post(pia, decide, {"outcome": "upheld", "reason": UPHOLD, "version": item["version"]})
    ).status_code == 200
    # The proposer does not hold it and cannot claim it: refused, nothing written.
    before = written()
    own = _post(pia, decide, {"outcome": "approved", "reason": APPROVED, "version": 3})
    assert own.status_code == 409 and written() == before

    held = _post(abe, "/api/v1/review/claim").json()
    rejected = _post(
        abe, decide, {"outcome": "rejected", "reason": REJECTED, "version": held["version"]}
    )

    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["review"]["outcome"] == "rejected"
    assert rejected.json()["item"]["senior_only"] is True
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.IN_REVIEW
    assert audit_log().ok


# --- PostgreSQL: two approvers at once --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_make_one_decision_and_one_reversal(platform):
    ordered = record(platform, legal_order())
    appeal_of(ordered)
    proposer = make_reviewer(platform, "paula")
    approvers = [make_reviewer(platform, f"a{n}") for n in range(2)]
    propose(proposer, "overturned")

    def approve(reviewer: Any) -> Callable[[], Review | None]:
        def work() -> Review | None:
            item = claim_next_review(reviewer=reviewer)
            if item is None:
                return None
            return answer_proposal(
                reviewer=reviewer, item=item, version=item.version, approve=True, reason=APPROVED
            )

        return work

    outcomes = at_once([approve(r) for r in approvers])

    assert failures(outcomes) == []
    assert sorted(o is None for o in outcomes) == [False, True]
    assert Review.objects.filter(outcome=Outcome.APPROVED).count() == 1
    assert ordered.superseded_by.count() == 1
    assert LogEntry.objects.filter(entry_type=EntryType.APPEAL_DECIDED).count() == 1
    assert WebhookMessage.objects.filter(event_type="appeal.decided").count() == 1
    assert audit_log().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_a_claim_after_its_lease_ends_takes_effect_once(platform, settings):
    ordered = record(platform, legal_order())
    appeal_of(ordered)
    proposer, slow, fast = (make_reviewer(platform, n) for n in ("paula", "slow", "fast"))
    propose(proposer, "overturned")
    start = timezone.now()
    item = claim_next_review(reviewer=slow, now=start)
    assert item is not None
    lease = timedelta(seconds=settings.LEDGER_REVIEW_LEASE_SECONDS)

    def slow_approves() -> Review:
        # Still within its lease by its own clock.
        return answer_proposal(
            reviewer=slow,
            item=item.pk,
            version=item.version,
            approve=True,
            reason=APPROVED,
            now=start + lease - timedelta(seconds=1),
        )

    def fast_takes_over() -> Review | None:
        later = start + lease + timedelta(seconds=1)
        taken = claim_next_review(reviewer=fast, now=later)
        if taken is None:
            return None
        return answer_proposal(
            reviewer=fast,
            item=taken,
            version=taken.version,
            approve=False,
            reason=REJECTED,
            now=later,
        )

    outcomes = at_once([slow_approves, fast_takes_over])

    answers = [o for o in outcomes if isinstance(o, Review)]
    assert len(answers) == 1, outcomes
    (other,) = [o for o in outcomes if not isinstance(o, Review)]
    assert other is None or (isinstance(other, ReviewRefused) and other.code == "not_held")
    assert Review.objects.filter(outcome__in=[Outcome.APPROVED, Outcome.REJECTED]).count() == 1
    assert ordered.superseded_by.count() == (1 if answers[0].outcome == Outcome.APPROVED else 0)
    assert audit_log().ok
