"""Audit labels: a reviewer labels a sampled (or planted) decision correct or incorrect through
the service and the reviewer API; every bad input is named at once and writes nothing; a
double-reviewed item needs a second, different reviewer; a sample's label is a log entry bound
to its row, a planted item's label is not logged at all."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from rest_framework.test import APIClient

from appeals import services
from appeals.audit import set_audit_plan
from appeals.bindings import check_audit_labels
from appeals.labels import label_item, plant_known_answer
from appeals.models import ItemKind, ItemState, Review, Reviewer, ReviewItem
from appeals.payloads import reviewer_pseudonym
from appeals.services import ReviewRefused, claim_next_review
from ledger.audit import audit_log
from ledger.models import EntryType, LogEntry
from moderation import services as moderation
from moderation.models import AuditEvent, Decision, ModelVersion, Platform
from tests.concurrency import at_once, failures
from tests.factories import (
    as_input,
    decision_payload,
    human_payload,
    make_reviewer,
    register_model,
)

pytestmark = pytest.mark.django_db

REASON = "A chess lesson: 'white attacks black' is about the pieces, not about people."
CLAUSE = "none: no clause of the hateful conduct policy covers a game's commentary"
CLAIM = "/api/v1/review/claim"

# A model whose name, version, score and threshold are distinctive enough to search for.
MODEL, VERSION, SCORE, THRESHOLD = "chessbot-xq", "2026.11-rc7", 0.8731, 0.6123


# --- helpers (also used by test_blind and test_known_answers) -----------------------------


def register_chessbot(platform: Platform) -> ModelVersion:
    return register_model(platform, name=MODEL, version=VERSION, threshold=THRESHOLD)


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = moderation.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def automated(platform: Platform, **overrides: Any) -> Decision:
    """An automated shadowban by the chessbot model, as a platform records it."""
    return record(
        platform,
        decision_payload(model=MODEL, model_version=VERSION, score=SCORE, **overrides),
    )


def sample_everything(platform: Platform, double_review: float = 0.0) -> None:
    """An audit plan that samples every automated decision from now on."""
    set_audit_plan(
        platform=platform, strata=[{"rate": 1}], double_review=double_review, actor="tests"
    )


def sample_of(decision: Decision) -> ReviewItem:
    return ReviewItem.objects.get(decision=decision, kind=ItemKind.AUDIT, plan__isnull=False)


def url(item_id: int, action: str = "decide") -> str:
    return f"/api/v1/review/items/{item_id}/{action}"


def post(client: APIClient, path: str, body: Any = None) -> Any:
    if body is None:
        return client.post(path)
    return client.post(path, data=json.dumps(body), content_type="application/json")


def claimed(client: APIClient, **body: Any) -> dict[str, Any]:
    response = post(client, CLAIM, body)
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


def written() -> tuple[int, int, list[tuple[Any, ...]]]:
    items = list(ReviewItem.objects.values_list("id", "state", "version", "claimed_by_id"))
    return LogEntry.objects.count(), Review.objects.count(), items


@pytest.fixture
def chessbot(platform: Platform) -> ModelVersion:
    return register_chessbot(platform)


@pytest.fixture
def reviewer_client(platform: Platform) -> Callable[..., APIClient]:
    """A client with the token of a new reviewer of the platform (made as the command does)."""

    def make(username: str, **kwargs: Any) -> APIClient:
        _, token = services.create_reviewer(
            username=username, platform=platform, actor="tests", **kwargs
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def sampled(platform: Platform, chessbot: ModelVersion) -> Decision:
    sample_everything(platform)
    return automated(platform)


@pytest.fixture
def rita(platform: Platform) -> Reviewer:
    return make_reviewer(platform, "rita")


def refused(code: str, **kwargs: Any) -> ReviewRefused:
    before = written()
    with pytest.raises(ReviewRefused) as caught:
        label_item(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert written() == before
    return caught.value


# --- the service ----------------------------------------------------------------------------


def test_a_sample_labelled_correct_is_done_and_logged_with_digests_only(platform, sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None and item.kind == ItemKind.AUDIT and item.decision == sampled
    at = timezone.now()

    review = label_item(
        reviewer=rita, item=item, version=item.version, outcome="correct", reason=REASON, now=at
    )

    assert (review.outcome, review.reason, review.clause, review.appeal) == (
        "correct",
        REASON,
        "",
        None,
    )
    item.refresh_from_db()
    assert (item.state, item.closed_at, item.claimed_by) == (ItemState.DONE, at, None)
    entry = LogEntry.objects.get(index=review.log_entry_id)
    assert entry.entry_type == EntryType.AUDIT_LABELLED
    assert json.loads(entry.payload) == {
        "type": "audit_labelled",
        "decision": str(sampled.public_id),
        "platform": "vidshare",
        "plan": item.plan.log_entry_id,
        "reviewer": reviewer_pseudonym(platform="vidshare", reviewer_id=rita.pk),
        "outcome": "correct",
        "reason_sha256": hashlib.sha256(REASON.encode()).hexdigest(),
        "clause_sha256": None,
        "labelled_at": at.astimezone(UTC).isoformat(),
    }
    assert REASON not in entry.payload
    event = AuditEvent.objects.get(action="audit.labelled")
    assert (event.actor_user, event.object_id) == (rita.user, str(item.pk))
    assert audit_log().ok


def test_an_incorrect_label_names_the_clause_and_logs_its_digest(sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None

    review = label_item(
        reviewer=rita,
        item=item.pk,
        version=item.version,
        outcome="incorrect",
        reason=REASON,
        clause=CLAUSE,
    )

    assert review.clause == CLAUSE
    payload = json.loads(LogEntry.objects.get(index=review.log_entry_id).payload)
    assert payload["outcome"] == "incorrect"
    assert payload["clause_sha256"] == hashlib.sha256(CLAUSE.encode()).hexdigest()
    assert CLAUSE not in json.dumps(payload)
    assert audit_log().ok


def test_every_problem_of_a_label_is_named_at_once(sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None

    error = refused(
        "invalid", reviewer=rita, item=item, version=0, outcome="upheld", reason=" ", clause=5
    )

    assert set(error.errors) == {"outcome", "reason", "version", "clause"}


@pytest.mark.parametrize(
    ("outcome", "clause", "problem"),
    [
        ("incorrect", "", "names the policy clause"),
        ("incorrect", "  \n", "names the policy clause"),
        ("incorrect", "x" * 501, "At most 500"),
        ("incorrect", "4.2\x00", "NUL"),
        ("correct", CLAUSE, "Only an 'incorrect' label"),
    ],
)
def test_the_clause_goes_with_an_incorrect_label_only(sampled, rita, outcome, clause, problem):
    item = claim_next_review(reviewer=rita)
    assert item is not None

    error = refused(
        "invalid",
        reviewer=rita,
        item=item,
        version=item.version,
        outcome=outcome,
        reason=REASON,
        clause=clause,
    )

    assert list(error.errors) == ["clause"]
    assert problem in error.errors["clause"][0]


def test_a_label_needs_the_lease_and_the_version_read(sampled, rita, platform):
    item = claim_next_review(reviewer=rita)
    assert item is not None
    label = {"outcome": "correct", "reason": REASON}

    refused("stale_version", reviewer=rita, item=item, version=item.version - 1, **label)
    omar = make_reviewer(platform, "omar")
    refused("not_held", reviewer=omar, item=item, version=item.version, **label)
    later = timezone.now() + timedelta(hours=1)
    refused("lease_expired", reviewer=rita, item=item, version=item.version, now=later, **label)


def test_an_appeal_item_is_not_labelled(sampled, rita, platform):
    services.file_appeal(decision=sampled, appellant="subject", statement="It was chess.")
    appeal_item = ReviewItem.objects.get(kind=ItemKind.APPEAL)
    ReviewItem.objects.filter(kind=ItemKind.AUDIT).update(state=ItemState.DONE)
    claimed_item = claim_next_review(reviewer=rita)
    assert claimed_item == appeal_item

    error = refused(
        "invalid",
        reviewer=rita,
        item=appeal_item,
        version=claimed_item.version,
        outcome="correct",
        reason=REASON,
    )
    assert list(error.errors) == ["outcome"]


def test_a_double_reviewed_item_goes_back_for_a_second_different_reviewer(platform, chessbot, rita):
    sample_everything(platform, double_review=1.0)
    decision = automated(platform)
    item = sample_of(decision)
    assert item.labels_needed == 2
    omar = make_reviewer(platform, "omar")

    first = claim_next_review(reviewer=rita)
    assert first == item
    label_item(
        reviewer=rita,
        item=first,
        version=first.version,
        outcome="incorrect",
        reason=REASON,
        clause=CLAUSE,
    )
    item.refresh_from_db()
    assert (item.state, item.claimed_by, item.closed_at) == (ItemState.OPEN, None, None)
    assert item.version == first.version + 1
    # The first reviewer never gets it again, and cannot label it twice.
    assert claim_next_review(reviewer=rita) is None

    second = claim_next_review(reviewer=omar)
    assert second == item
    label_item(
        reviewer=omar, item=second, version=second.version, outcome="correct", reason="Fine."
    )
    item.refresh_from_db()
    assert item.state == ItemState.DONE
    labels = list(item.reviews.order_by("id").values_list("reviewer__user__username", "outcome"))
    assert labels == [("rita", "incorrect"), ("omar", "correct")]
    assert LogEntry.objects.filter(entry_type=EntryType.AUDIT_LABELLED).count() == 2
    assert audit_log().ok


def test_the_database_refuses_the_same_reviewer_holding_an_item_they_labelled(
    platform, chessbot, rita
):
    sample_everything(platform, double_review=1.0)
    item = sample_of(automated(platform))
    first = claim_next_review(reviewer=rita)
    assert first is not None
    label_item(reviewer=rita, item=first, version=first.version, outcome="correct", reason=REASON)
    item.refresh_from_db()
    # A claim made behind the claim rules' back (the admin, a script) meets the guard trigger.
    now = timezone.now()
    item.state, item.claimed_by, item.claimed_at = ItemState.CLAIMED, rita, now
    item.lease_expires_at = now + timedelta(minutes=5)

    with pytest.raises(IntegrityError), transaction.atomic():
        item.save()
    assert Review.objects.filter(item=item).count() == 1


def test_a_planted_items_label_is_not_logged(platform, chessbot, rita):
    decision = automated(platform)
    planted = plant_known_answer(decision=decision, answer="incorrect", actor="tests")
    entries = LogEntry.objects.count()
    item = claim_next_review(reviewer=rita)
    assert item == planted

    review = label_item(
        reviewer=rita,
        item=item,
        version=item.version,
        outcome="incorrect",
        reason=REASON,
        clause=CLAUSE,
    )

    assert review.log_entry_id is None
    assert LogEntry.objects.count() == entries
    planted.refresh_from_db()
    assert planted.state == ItemState.DONE
    assert AuditEvent.objects.filter(action="audit.labelled", actor_user=rita.user).exists()
    assert audit_log().ok


def test_a_label_past_the_items_deadline_counts_as_a_breach(sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None
    late = item.due_at + timedelta(minutes=1)
    ReviewItem.objects.filter(pk=item.pk).update(lease_expires_at=late + timedelta(minutes=5))

    label_item(
        reviewer=rita, item=item, version=item.version, outcome="correct", reason=REASON, now=late
    )

    item.refresh_from_db()
    assert (item.state, item.breached_at, item.closed_at) == (ItemState.DONE, late, late)


def test_the_binding_finds_a_label_that_differs_from_its_entry(sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None
    review = label_item(
        reviewer=rita, item=item, version=item.version, outcome="correct", reason=REASON
    )
    index = review.log_entry_id
    published = LogEntry.objects.get(index=index).payload

    assert list(check_audit_labels({index: published}, index, index)) == []
    forged = published.replace('"correct"', '"incorrect"')
    problems = list(check_audit_labels({index: forged}, index, index))
    assert len(problems) == 1 and "outcome" in problems[0][1]
    # An entry with no label row behind it is named too.
    assert list(check_audit_labels({index + 1: published}, index, index + 1)) != []


# --- the reviewer API -------------------------------------------------------------------------


def test_a_reviewer_claims_an_audit_item_and_labels_it_over_the_api(sampled, reviewer_client):
    rita = reviewer_client("rita")
    item = claimed(rita)
    assert item["kind"] == "audit"
    assert item["outcomes"] == ["correct", "incorrect"]

    response = post(
        rita,
        url(item["id"]),
        {"outcome": "incorrect", "reason": REASON, "clause": CLAUSE, "version": item["version"]},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"]["outcome"] == "incorrect"
    assert body["review"]["clause"] == CLAUSE
    assert body["review"]["reversal"] is None
    assert body["item"]["kind"] == "audit"
    assert body["item"]["state"] == "done"
    review = Review.objects.get()
    assert (review.reviewer.user.username, review.clause) == ("rita", CLAUSE)
    assert LogEntry.objects.get(index=review.log_entry_id).entry_type == "audit_labelled"


def test_a_correct_label_over_the_api_shows_no_clause(sampled, reviewer_client):
    rita = reviewer_client("rita")
    item = claimed(rita)

    response = post(
        rita, url(item["id"]), {"outcome": "correct", "reason": REASON, "version": item["version"]}
    )

    assert response.status_code == 200, response.content
    assert response.json()["review"]["clause"] is None


def api_refused(client: APIClient, path: str, body: Any, status: int) -> dict[str, Any]:
    before = written()
    response = post(client, path, body)
    assert response.status_code == status, response.content
    assert written() == before
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"outcome": "upheld", "reason": "", "version": "2", "clause": 5, "extra": 1},
            {"outcome", "reason", "version", "clause", "extra"},
        ),
        ({"outcome": "incorrect", "reason": REASON, "version": 2}, {"clause"}),
        ({"outcome": "incorrect", "reason": REASON, "version": 2, "clause": " "}, {"clause"}),
        ({"outcome": "correct", "reason": REASON, "version": 2, "clause": CLAUSE}, {"clause"}),
        (
            {"outcome": "incorrect", "reason": REASON, "version": 2, "clause": "x" * 501},
            {"clause"},
        ),
        (
            {"outcome": "incorrect", "reason": "a\x00b", "version": 2, "clause": "4.2\x00"},
            {"reason", "clause"},
        ),
        ({"outcome": "correct", "reason": REASON, "version": True}, {"version"}),
        ({"outcome": "approved", "reason": REASON, "version": 2}, {"outcome"}),
        ({"outcome": None, "reason": None, "version": None}, {"outcome", "reason", "version"}),
        ([], {"non_field_errors"}),
    ],
)
def test_every_bad_input_of_a_label_is_named_at_once(sampled, reviewer_client, body, fields):
    rita = reviewer_client("rita")
    item = claimed(rita)

    data = api_refused(rita, url(item["id"]), body, 400)

    assert set(data["errors"]) == fields


def test_labelling_needs_the_items_version_and_lease_over_the_api(sampled, reviewer_client):
    rita = reviewer_client("rita")
    item = claimed(rita)
    body = {"outcome": "correct", "reason": REASON, "version": item["version"] - 1}

    assert api_refused(rita, url(item["id"]), body, 409)["code"] == "stale_version"
    omar = reviewer_client("omar")
    body["version"] = item["version"]
    assert api_refused(omar, url(item["id"]), body, 409)["code"] == "not_held"


def test_a_double_reviewed_item_over_the_api_needs_another_reviewer(
    platform, chessbot, reviewer_client
):
    sample_everything(platform, double_review=1.0)
    automated(platform)
    rita, omar = reviewer_client("rita"), reviewer_client("omar")
    first = claimed(rita)
    done = post(
        rita,
        url(first["id"]),
        {"outcome": "correct", "reason": REASON, "version": first["version"]},
    )
    assert done.status_code == 200, done.content
    assert done.json()["item"]["state"] == "open"

    assert post(rita, CLAIM).status_code == 204
    second = claimed(omar)
    assert second["id"] == first["id"]
    assert second["version"] > first["version"]
    decided = post(
        omar,
        url(second["id"]),
        {"outcome": "correct", "reason": "Chess.", "version": second["version"]},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["item"]["state"] == "done"


def test_an_audit_item_is_not_escalated(sampled, reviewer_client):
    rita = reviewer_client("rita")
    item = claimed(rita)

    data = api_refused(
        rita, url(item["id"], "escalate"), {"reason": REASON, "version": item["version"]}, 400
    )

    assert list(data["errors"]) == ["item"]


def test_an_appeal_item_still_takes_an_appeals_outcomes(sampled, reviewer_client):
    services.file_appeal(decision=sampled, appellant="subject", statement="It was chess.")
    ReviewItem.objects.filter(kind=ItemKind.AUDIT).update(state=ItemState.DONE)
    rita = reviewer_client("rita")
    item = claimed(rita)
    assert item["kind"] == "appeal"
    assert item["outcomes"] == ["upheld", "overturned", "modified"]
    assert item["proposal"] is None

    data = api_refused(
        rita,
        url(item["id"]),
        {"outcome": "correct", "reason": REASON, "version": item["version"], "clause": "x"},
        400,
    )
    assert set(data["errors"]) == {"outcome", "clause"}


def test_a_proposal_waiting_for_approval_shows_its_outcome_and_reason_not_its_proposer(
    platform, reviewer_client
):
    termination = human_payload(
        decision_visibility=None, decision_account="DECISION_ACCOUNT_TERMINATED"
    )
    services.file_appeal(
        decision=record(platform, termination), appellant="subject", statement="I did nothing."
    )
    pia, abe = reviewer_client("pia"), reviewer_client("abe")
    first = claimed(pia)
    assert first["proposal"] is None
    proposed = post(
        pia,
        url(first["id"]),
        {"outcome": "upheld", "reason": "Repeated threats.", "version": first["version"]},
    )
    assert proposed.status_code == 200, proposed.content

    response = post(abe, CLAIM)

    assert response.status_code == 200
    item = response.json()
    assert item["outcomes"] == ["approved", "rejected"]
    assert item["proposal"]["outcome"] == "upheld"
    assert item["proposal"]["reason"] == "Repeated threats."
    assert item["proposal"]["proposed_at"] == proposed.json()["review"]["decided_at"]
    assert set(item["proposal"]) == {"outcome", "reason", "proposed_at"}


def test_the_decide_schema_documents_labels_and_approvals():
    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    decide = schema["paths"]["/api/v1/review/items/{item_id}/decide"]["post"]
    request = decide["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][request["$ref"].rsplit("/", 1)[1]]
    shapes = {ref["$ref"].rsplit("/", 1)[1] for ref in component["oneOf"]}
    assert shapes == {"DecideIn", "ApprovalIn", "LabelIn"}
    label = schema["components"]["schemas"]["LabelIn"]
    assert set(label["properties"]) == {"outcome", "reason", "version", "clause"}
    claim = schema["paths"]["/api/v1/review/claim"]["post"]["responses"]["200"]
    item = claim["content"]["application/json"]["schema"]
    kinds = schema["components"]["schemas"][item["$ref"].rsplit("/", 1)[1]]
    assert kinds["discriminator"]["propertyName"] == "kind"
    assert set(kinds["discriminator"]["mapping"]) == {"appeal", "audit"}


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_label_and_its_entry_are_kept_as_written_on_postgresql(sampled, rita):
    item = claim_next_review(reviewer=rita)
    assert item is not None
    review = label_item(
        reviewer=rita,
        item=item,
        version=item.version,
        outcome="incorrect",
        reason=REASON,
        clause=CLAUSE,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.outcome, r.clause, e.entry_type, e.payload FROM appeals_review r "
            "JOIN ledger_logentry e ON e.index = r.log_index WHERE r.id = %s",
            [review.pk],
        )
        outcome, clause, entry_type, payload = cursor.fetchone()
    assert (outcome, clause, entry_type) == ("incorrect", CLAUSE, "audit_labelled")
    assert json.loads(payload)["clause_sha256"] == hashlib.sha256(CLAUSE.encode()).hexdigest()
    for statement in (
        "UPDATE appeals_review SET outcome = 'correct' WHERE id = %s",
        "DELETE FROM appeals_review WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [review.pk])
    assert Review.objects.get(pk=review.pk).outcome == "incorrect"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_labels_plans_and_recording_at_once_neither_deadlock_nor_lose_anything(platform, chessbot):
    sample_everything(platform)
    decisions = [automated(platform) for _ in range(4)]
    reviewers = [make_reviewer(platform, f"r{n}") for n in range(4)]
    held = [claim_next_review(reviewer=reviewer) for reviewer in reviewers]
    assert {item.decision_id for item in held if item} == {d.pk for d in decisions}

    def labelling(reviewer: Reviewer, item: ReviewItem) -> Callable[[], Review]:
        return lambda: label_item(
            reviewer=reviewer, item=item.pk, version=item.version, outcome="correct", reason=REASON
        )

    outcomes = at_once(
        [
            *(labelling(r, i) for r, i in zip(reviewers, held, strict=True) if i is not None),
            # The plan takes the platform's write lock, as recording does; labels take KEY SHARE
            # on it before the log's head, so neither waits on the other in the wrong order.
            lambda: set_audit_plan(
                platform=platform, strata=[{"rate": 0.5}], double_review=0.2, actor="tests"
            ),
            lambda: automated(platform),
        ]
    )

    assert failures(outcomes) == []
    assert Review.objects.filter(outcome="correct").count() == 4
    assert LogEntry.objects.filter(entry_type=EntryType.AUDIT_LABELLED).count() == 4
    assert audit_log().ok


def test_the_escalation_service_refuses_an_audit_item_and_writes_nothing(
    sampled: Decision, rita: Reviewer
) -> None:
    """The admin and any other caller of the service, not only the reviewer API."""
    item = claim_next_review(reviewer=rita)
    assert item is not None and item.kind == ItemKind.AUDIT
    before = written()
    with pytest.raises(ReviewRefused) as refused:
        services.escalate_review(reviewer=rita, item=item, version=item.version, reason=REASON)
    assert refused.value.code == "invalid"
    assert list(refused.value.errors) == ["item"]
    assert written() == before
