"""Known-answer items: planted by a moderator or over the platform's API on one of its
decisions, into the audit queue or any queue of the platform, as audit items with no plan and
no log entry; every bad input named at once, nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from appeals.labels import PlantRefused, label_item, plant_known_answer
from appeals.models import ItemKind, ItemState, ReviewItem, ReviewQueue
from appeals.services import claim_next_review, create_reviewer
from ledger.models import LogEntry
from moderation import services as moderation
from moderation.models import ApiKey, AuditEvent, Decision, Platform
from moderation.services import reverse_decision
from tests.appeals.test_labels import (
    CLAIM,
    automated,
    claimed,
    post,
    record,
    reviewer_client,  # noqa: F401 (a fixture)
    sample_everything,
)
from tests.appeals.test_labels import chessbot as chessbot
from tests.factories import human_payload, make_reviewer

pytestmark = pytest.mark.django_db

PLANT = "/api/v1/audit/known-answers"


def written() -> tuple[int, int, int]:
    return LogEntry.objects.count(), ReviewItem.objects.count(), ReviewQueue.objects.count()


@pytest.fixture
def decision(platform: Platform, chessbot: Any) -> Decision:
    return automated(platform)


@pytest.fixture
def moderator(platform: Platform) -> Any:
    return make_reviewer(platform, "mia").user


def reversal_of(decision: Decision) -> Decision:
    recorded = reverse_decision(decision=decision, reason="It was chess.", moderator=None)
    return Decision.objects.get(public_id=recorded.public_id)


# --- the service ----------------------------------------------------------------------------


def test_a_planted_item_waits_in_the_audit_queue_with_its_answer_and_no_log_entry(
    platform, decision, moderator, settings
):
    entries = LogEntry.objects.count()
    at = timezone.now()

    item = plant_known_answer(decision=decision, answer="incorrect", actor=moderator, now=at)

    assert item.kind == ItemKind.AUDIT
    assert (item.plan, item.known_answer, item.planted_by) == (None, "incorrect", moderator)
    assert item.queue.audit and item.queue.slug == "audit"
    assert (item.state, item.priority, item.labels_needed) == (ItemState.OPEN, 1, 1)
    assert item.created_at == at
    assert item.due_at == at + timedelta(hours=settings.LEDGER_AUDIT_DEADLINE_HOURS)
    assert LogEntry.objects.count() == entries
    event = AuditEvent.objects.get(action="audit.planted")
    assert event.actor_user == moderator
    assert event.details == {
        "decision": str(decision.public_id),
        "queue": "audit",
        "answer": "incorrect",
    }


def test_an_item_is_planted_in_any_queue_of_the_platform(platform, decision, moderator):
    queue = ReviewQueue.objects.create(
        platform=platform, slug="hate", name="Hate speech", deadline_hours=24
    )
    at = timezone.now()

    item = plant_known_answer(
        decision=decision, answer="correct", queue=queue, actor=moderator, now=at
    )

    assert item.queue == queue
    assert item.due_at == at + timedelta(hours=24)


def test_a_planted_human_decision_is_claimed_and_labelled_like_any_audit_item(platform, moderator):
    removal = record(platform, human_payload())
    item = plant_known_answer(decision=removal, answer="correct", actor=moderator)
    rita = make_reviewer(platform, "rita")

    held = claim_next_review(reviewer=rita)

    assert held == item
    review = label_item(
        reviewer=rita,
        item=held,
        version=held.version,
        outcome="incorrect",
        reason="No.",
        clause="4",
    )
    assert review.log_entry_id is None


def test_planting_names_every_problem_at_once(platform, decision, moderator):
    other = moderation.create_platform(slug="chessclub")
    elsewhere = ReviewQueue.objects.create(
        platform=other, slug="audit", name="Theirs", deadline_hours=24
    )
    reversal = reversal_of(decision)
    before = written()

    with pytest.raises(PlantRefused) as caught:
        plant_known_answer(decision=reversal, answer="maybe", queue=elsewhere, actor=moderator)

    assert set(caught.value.errors) == {"decision", "answer", "queue"}
    assert "lifts an earlier decision" in caught.value.errors["decision"][0]
    assert written() == before


def test_another_platforms_key_cannot_plant_on_a_decision(platform, decision):
    other = moderation.create_platform(slug="chessclub")
    key, _ = moderation.issue_api_key(platform=other, name="theirs")

    with pytest.raises(PlantRefused) as caught:
        plant_known_answer(decision=decision, answer="correct", actor=key)

    assert caught.value.errors == {"decision": ["No such decision of your platform."]}


# --- the API --------------------------------------------------------------------------------


def plant(client: APIClient, body: Any) -> Any:
    return client.post(PLANT, data=json.dumps(body), content_type="application/json")


def test_a_platform_plants_a_known_answer_over_the_api(api, platform, decision):
    entries = LogEntry.objects.count()

    response = plant(api, {"decision": str(decision.public_id), "answer": "incorrect"})

    assert response.status_code == 201, response.content
    body = response.json()
    item = ReviewItem.objects.get(pk=body["id"])
    assert body == {
        "id": item.pk,
        "queue": "audit",
        "answer": "incorrect",
        "created_at": item.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert (item.kind, item.known_answer, item.planted_by, item.plan) == (
        "audit",
        "incorrect",
        None,
        None,
    )
    assert LogEntry.objects.count() == entries
    event = AuditEvent.objects.get(action="audit.planted")
    assert event.actor_key == ApiKey.objects.get(platform=platform)


def test_the_api_plants_into_a_named_queue(api, platform, decision):
    ReviewQueue.objects.create(platform=platform, slug="hate", name="Hate", deadline_hours=24)

    response = plant(
        api, {"decision": str(decision.public_id), "answer": "correct", "queue": "hate"}
    )

    assert response.status_code == 201, response.content
    assert response.json()["queue"] == "hate"


def refused(client: APIClient, body: Any) -> dict[str, Any]:
    before = written()
    response = plant(client, body)
    assert response.status_code == 400, response.content
    assert written() == before
    errors: dict[str, Any] = response.json()["errors"]
    return errors


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"decision": "not-a-uuid", "answer": "maybe", "queue": 5, "extra": 1},
            {"decision", "answer", "queue", "extra"},
        ),
        ({"decision": 5, "answer": True}, {"decision", "answer"}),
        ({}, {"decision", "answer"}),
        ({"decision": "\x00", "answer": "correct\x00"}, {"decision", "answer"}),
        ({"decision": "a" * 10_000, "answer": "correct"}, {"decision"}),
        ([], {"non_field_errors"}),
    ],
)
def test_bad_bodies_are_refused_by_field(api, decision, body, fields):
    assert set(refused(api, body)) == fields


def test_an_unknown_decision_and_queue_are_named_with_the_bodys_problems(api, decision):
    errors = refused(
        api,
        {
            "decision": "6f1c1f0e-0000-4000-8000-000000000000",
            "answer": "maybe",
            "queue": "nosuch",
        },
    )

    assert set(errors) == {"decision", "answer", "queue"}
    assert errors["decision"] == ["No such decision of your platform."]


def test_a_reversal_is_refused_with_the_bodys_other_problems(api, decision):
    reversal = reversal_of(decision)

    errors = refused(api, {"decision": str(reversal.public_id), "answer": "maybe"})

    assert set(errors) == {"decision", "answer"}
    assert "lifts an earlier decision" in errors["decision"][0]


def test_another_platforms_decision_and_queue_do_not_exist_for_the_key(api, chessbot):
    other = moderation.create_platform(slug="chessclub")
    theirs = record(other, human_payload())
    ReviewQueue.objects.create(platform=other, slug="theirs", name="Theirs", deadline_hours=24)

    errors = refused(
        api, {"decision": str(theirs.public_id), "answer": "correct", "queue": "theirs"}
    )

    assert errors == {
        "decision": ["No such decision of your platform."],
        "queue": ["None of your queues is 'theirs'."],
    }


@pytest.mark.parametrize("raw", [b"{", b"\xff", b'{"decision": 1e400}'])
def test_malformed_json_is_400(api, decision, raw):
    before = written()

    response = api.post(PLANT, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert written() == before


def test_planting_needs_a_platform_key(decision, reviewer_client):  # noqa: F811
    body = {"decision": str(decision.public_id), "answer": "correct"}

    assert plant(APIClient(), body).status_code == 401
    # A reviewer's token is not a platform key.
    assert plant(reviewer_client("rita"), body).status_code == 401
    assert ReviewItem.objects.count() == 0


def test_a_planted_item_is_claimed_blind_over_the_reviewer_api(api, decision, reviewer_client):  # noqa: F811
    planted = plant(api, {"decision": str(decision.public_id), "answer": "incorrect"}).json()
    rita = reviewer_client("rita")

    item = claimed(rita)

    assert item["id"] == planted["id"]
    assert item["kind"] == "audit"
    assert "known_answer" not in item and "answer" not in item
    assert str(decision.public_id) not in json.dumps(item)
    assert post(rita, CLAIM).status_code == 204


def test_the_schema_documents_planting():
    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"][PLANT]["post"]
    assert {"201", "400", "401"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"decision", "answer", "queue"}
    assert set(component["required"]) == {"decision", "answer"}


def test_a_moderator_user_is_recorded_as_the_planter(platform, decision):
    user = get_user_model().objects.create_user(username="mo", password="pw", is_staff=True)

    item = plant_known_answer(decision=decision, answer="correct", actor=user)

    assert item.planted_by == user
    assert AuditEvent.objects.get(action="audit.planted").actor_user == user


# --- fuzzing from the schema ----------------------------------------------------------------

# A bounded fuzz of planting and of the reviewer operations on audit items, as CI fuzzes the
# whole API: no 5xx, every answer documented and matching its schema (the blind item view
# against the "audit" branch of ClaimedItem).
fuzzed = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application()).include(
    path_regex="^/api/v1/(review/|audit/known-answers)"
)


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Requests go through the WSGI handler, which closes the database connection around each
    one; the test's transaction lives on it, so keep it, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(platform: Platform, chessbot: Any, api_key: str) -> dict[str, str]:
    """Audit items only (samples and planted ones) to claim; a token for the reviewer API,
    the platform's key for planting."""
    sample_everything(platform, double_review=0.5)
    for _ in range(3):
        automated(platform)
    plant_known_answer(decision=automated(platform), answer="correct", actor="tests")
    _, token = create_reviewer(username="fuzz", platform=platform, actor="tests")
    return {"reviewer": f"Bearer {token}", "platform": f"Bearer {api_key}"}


@fuzzed.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_planting_and_labelling_conform_to_the_schema(case, fuzz_headers, keep_the_test_connection):
    key = "platform" if case.path.startswith("/api/v1/audit/") else "reviewer"
    case.call_and_validate(
        headers={"Authorization": fuzz_headers[key]},
        # A schema cannot say which decisions, queues and items exist or which version an item
        # is at: a schema-valid body naming none of them is rightly refused (400, 404, 409).
        excluded_checks=[positive_data_acceptance],
    )
