"""Review queues: routing, claims as leases, deciding with the lease and version, escalation,
nobody reviewing their own decision, and what the clock does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from appeals import services
from appeals.models import (
    Appeal,
    AppealStatus,
    ItemState,
    Outcome,
    Review,
    ReviewItem,
    ReviewQueue,
)
from appeals.services import ReviewRefused, claim_next_review, file_appeal, resolve_appeal
from ledger.audit import audit_log
from ledger.models import EntryType, LogEntry
from moderation import services as moderation
from moderation.models import AuditEvent, Decision, Platform, WebhookMessage
from moderation.services import Measure
from moderation.vocabulary import DecisionType, Visibility
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

pytestmark = pytest.mark.django_db

STATEMENT = "My video teaches chess; 'white attacks black' is about the pieces."
REASON = "The video is a chess lesson; the classifier misread chess terms as hate speech."


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = moderation.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def appeal_of(decision: Decision, appellant: str = "subject") -> Appeal:
    return file_appeal(decision=decision, appellant=appellant, statement=STATEMENT)


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(platform, decision_payload())


@pytest.fixture
def reviewer(platform: Platform) -> Any:
    return make_reviewer(platform, "rita")


def written() -> tuple[int, int, int]:
    return LogEntry.objects.count(), Review.objects.count(), Decision.objects.count()


def refused(code: str, call: Any, **kwargs: Any) -> ReviewRefused:
    before = written()
    with pytest.raises(ReviewRefused) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert written() == before
    return caught.value


def test_an_appeal_lands_in_the_first_matching_queue_else_the_default(platform, shadowban):
    suspensions = ReviewQueue.objects.create(
        platform=platform,
        slug="accounts",
        name="Account actions",
        actions=["ACCOUNT_SUSPENSION", "ACCOUNT_TERMINATION"],
        deadline_hours=48,
        position=1,
    )
    german = ReviewQueue.objects.create(
        platform=platform, slug="de", name="Germany", territories=["DE"], deadline_hours=72
    )
    routed = appeal_of(shadowban)

    item = routed.review_item
    assert item.queue == german  # the shadowban's scope is DE and FR; not an account action
    assert routed.deadline_at == routed.filed_at + timedelta(hours=72)
    assert item.due_at == routed.deadline_at
    assert suspensions.items.count() == 0

    elsewhere = record(platform, decision_payload(territorial_scope=["IT"]))
    assert appeal_of(elsewhere).review_item.queue.is_default


def test_account_actions_are_claimed_before_older_appeals(platform, shadowban, reviewer):
    older = appeal_of(shadowban)
    suspension = record(
        platform,
        human_payload(
            decision_visibility=None,
            decision_account="DECISION_ACCOUNT_SUSPENDED",
            end_date_account_restriction="2026-12-31",
        ),
    )
    urgent = appeal_of(suspension)

    first = claim_next_review(reviewer=reviewer)
    assert first is not None and first.appeal == urgent
    second = claim_next_review(reviewer=reviewer)
    assert second is not None and second.appeal == older


def test_a_claimed_item_is_nobody_elses_until_its_lease_runs_out(platform, shadowban, reviewer):
    appeal = appeal_of(shadowban)
    other = make_reviewer(platform, "omar")
    now = timezone.now()

    item = claim_next_review(reviewer=reviewer, now=now)
    assert item is not None and item.state == ItemState.CLAIMED and item.version == 2
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.IN_REVIEW
    assert claim_next_review(reviewer=other, now=now + timedelta(seconds=299)) is None

    taken = claim_next_review(reviewer=other, now=now + timedelta(seconds=301))
    assert taken is not None and taken.pk == item.pk and taken.claimed_by == other
    refused(
        "not_held",
        resolve_appeal,
        reviewer=reviewer,
        item=item.pk,
        version=item.version,
        outcome="upheld",
        reason=REASON,
        now=now + timedelta(seconds=302),
    )


def test_upholding_logs_the_reasons_digest_not_the_reason(platform, shadowban, reviewer):
    appeal = appeal_of(shadowban)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None

    review = resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome="upheld", reason=REASON
    )

    appeal.refresh_from_db()
    item.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD and item.state == ItemState.DONE
    entry = LogEntry.objects.get(index=review.log_entry_id)
    payload = json.loads(entry.payload)
    assert entry.entry_type == EntryType.APPEAL_DECIDED
    assert payload["outcome"] == "upheld"
    assert payload["reason_sha256"] == hashlib.sha256(REASON.encode()).hexdigest()
    assert payload["appeal"] == str(appeal.public_id) and payload["reversal"] is None
    assert REASON not in entry.payload and STATEMENT not in entry.payload
    assert str(reviewer.pk) != payload["reviewer"] and len(payload["reviewer"]) == 64
    filed, decided = WebhookMessage.objects.order_by("id")
    assert filed.event_type == "appeal.filed" and decided.event_type == "appeal.decided"
    assert filed.payload["data"]["deadline"] == appeal.deadline_at.isoformat()
    assert decided.payload["data"]["outcome"] == "upheld"
    assert decided.payload["data"]["reason"] == REASON
    assert AuditEvent.objects.filter(
        action="appeal.decided", actor_user=reviewer.user, object_id=str(appeal.public_id)
    ).exists()
    assert audit_log().ok


def test_overturning_records_a_reversal_of_the_same_subject(platform, shadowban, reviewer):
    appeal_of(shadowban)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None

    review = resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome="overturned", reason=REASON
    )

    reversal = review.reversal
    assert reversal is not None
    assert reversal.decision_type == DecisionType.REVERSAL
    assert reversal.supersedes_id == shadowban.pk
    assert reversal.subject_content == shadowban.subject_content
    assert reversal.decision_facts == REASON
    assert reversal.moderator == reviewer.user
    assert json.loads(review.log_entry.payload)["reversal"] == str(reversal.public_id)
    assert audit_log().ok


def test_a_modification_needs_a_lighter_measure(platform, model_v1, reviewer):
    removal = record(
        platform, decision_payload(decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"])
    )
    appeal_of(removal)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    caught = refused(
        "invalid",
        resolve_appeal,
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="modified",
        reason=REASON,
    )
    assert "measure" in caught.errors

    review = resolve_appeal(
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="modified",
        reason=REASON,
        measure=Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,)),
    )
    assert review.reversal is not None
    assert review.reversal.decision_visibility == [Visibility.CONTENT_DEMOTED.value]
    assert Appeal.objects.get(pk=item.appeal_id).status == AppealStatus.MODIFIED


def test_bad_decisions_name_every_problem_and_write_nothing(platform, shadowban, reviewer):
    appeal_of(shadowban)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    caught = refused(
        "invalid",
        resolve_appeal,
        reviewer=reviewer,
        item=item,
        version=0,
        outcome="maybe",
        reason="  ",
    )
    assert set(caught.errors) == {"outcome", "reason", "version"}
    refused(
        "invalid",
        resolve_appeal,
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="upheld",
        reason="ok\x00",
    )
    refused(
        "stale_version",
        resolve_appeal,
        reviewer=reviewer,
        item=item,
        version=item.version - 1,
        outcome="upheld",
        reason=REASON,
    )
    refused(
        "lease_expired",
        resolve_appeal,
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="upheld",
        reason=REASON,
        now=timezone.now() + timedelta(hours=1),
    )
    stranger = make_reviewer(moderation.create_platform(slug="other", name="Other"), "sam")
    refused(
        "not_found",
        resolve_appeal,
        reviewer=stranger,
        item=item,
        version=item.version,
        outcome="upheld",
        reason=REASON,
    )


def test_nobody_is_given_a_decision_they_made_over_the_api(platform, reviewer):
    removal = record(platform, human_payload(moderator="mod-7"))
    appeal_of(removal)
    author = make_reviewer(platform, "mo", moderator_id="mod-7")

    assert claim_next_review(reviewer=author) is None
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    # The database refuses the claim too, whatever code path tries it.
    with (
        pytest.raises(IntegrityError, match="own decision"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE appeals_reviewitem SET claimed_by_id = %s WHERE id = %s",
            [author.pk, item.pk],
        )


def test_the_database_refuses_a_review_by_the_decisions_moderator(platform, reviewer):
    removal = record(platform, human_payload(moderator="mod-9"))
    appeal_of(removal)
    author = make_reviewer(platform, "mona", moderator_id="mod-9")
    item = ReviewItem.objects.get()
    with (
        pytest.raises(IntegrityError, match="own decision"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO appeals_review (item_id, appeal_id, reviewer_id, outcome, reason,"
            " reason_sha256, decided_at, log_index) VALUES (%s, %s, %s, 'upheld', 'x', '',"
            " %s, %s)",
            [item.pk, item.appeal_id, author.pk, timezone.now(), item.appeal.log_entry_id],
        )


def test_an_escalation_goes_to_a_different_senior_reviewer(platform, shadowban, reviewer):
    appeal = appeal_of(shadowban)
    junior = make_reviewer(platform, "jun")
    senior = make_reviewer(platform, "sen", senior=True)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None

    review = services.escalate_review(
        reviewer=reviewer, item=item, version=item.version, reason="Needs a legal view."
    )

    assert review.outcome == Outcome.ESCALATED
    assert review.log_entry.entry_type == EntryType.APPEAL_ESCALATED
    assert "Needs a legal view" not in review.log_entry.payload
    assert claim_next_review(reviewer=reviewer) is None
    assert claim_next_review(reviewer=junior) is None
    taken = claim_next_review(reviewer=senior)
    assert taken is not None and taken.appeal == appeal
    # The escalating reviewer is refused by the database too.
    with (
        pytest.raises(IntegrityError, match="already reviewed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE appeals_reviewitem SET claimed_by_id = %s WHERE id = %s",
            [reviewer.pk, item.pk],
        )


def test_heartbeat_keeps_the_lease_and_release_returns_the_item(platform, shadowban, reviewer):
    appeal_of(shadowban)
    now = timezone.now()
    item = claim_next_review(reviewer=reviewer, now=now)
    assert item is not None
    kept = services.heartbeat_review(reviewer=reviewer, item=item, now=now + timedelta(seconds=250))
    assert kept.version == item.version
    assert kept.lease_expires_at == now + timedelta(seconds=550)
    other = make_reviewer(platform, "otto")
    assert claim_next_review(reviewer=other, now=now + timedelta(seconds=400)) is None

    released = services.release_review(reviewer=reviewer, item=item, now=now)
    assert released.state == ItemState.OPEN and released.version == item.version + 1
    refused("not_held", services.release_review, reviewer=reviewer, item=item)
    assert claim_next_review(reviewer=other) is not None


def test_the_clock_expires_leases_escalates_and_counts_breaches_once(platform, shadowban, reviewer):
    appeal = appeal_of(shadowban)
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    lease_over = item.lease_expires_at + timedelta(seconds=1)

    assert services.expire_leases(now=lease_over) == 1
    assert services.expire_leases(now=lease_over) == 0
    assert ReviewItem.objects.get(pk=item.pk).state == ItemState.OPEN

    near = appeal.deadline_at - timedelta(hours=1)
    assert services.escalate_near_deadline(now=near) == 1
    assert services.escalate_near_deadline(now=near) == 0
    escalation = Review.objects.get(item=item)
    assert escalation.reviewer is None and escalation.outcome == Outcome.ESCALATED

    late = appeal.deadline_at + timedelta(seconds=1)
    assert services.count_breaches(now=late) == 1
    assert services.count_breaches(now=late) == 0
    assert ReviewItem.objects.get(pk=item.pk).breached_at == late
    assert (
        AuditEvent.objects.filter(actor_label="system", action__startswith="review.").count() == 3
    )
    assert audit_log().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_reviewers_claiming_at_once_never_share_an_item(platform, model_v1):
    for n in range(30):
        appeal_of(record(platform, decision_payload(puid=f"many-{n}")))
    reviewers = [make_reviewer(platform, f"r{n}") for n in range(20)]
    claimed: list[tuple[int, int]] = []

    def worker(reviewer: Any) -> Callable[[], None]:
        def work() -> None:
            while (item := claim_next_review(reviewer=reviewer)) is not None:
                claimed.append((item.pk, reviewer.pk))
                resolve_appeal(
                    reviewer=reviewer,
                    item=item,
                    version=item.version,
                    outcome="upheld",
                    reason=REASON,
                )

        return work

    assert failures(at_once([worker(r) for r in reviewers], timeout=120)) == []
    items = [item for item, _ in claimed]
    assert len(items) == len(set(items)) == 30
    assert Review.objects.count() == 30
    assert Appeal.objects.filter(status=AppealStatus.UPHELD).count() == 30
    assert LogEntry.objects.filter(entry_type=EntryType.APPEAL_DECIDED).count() == 30
