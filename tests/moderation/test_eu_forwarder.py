"""Forwarding to the EU: an outbox row per statement, drained in batches of 100 against a
local fake of the EU's API, through its failures, never sending a statement twice."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone

from moderation import forwarding, services
from moderation.models import DsaSubmission, EuForwarding
from moderation.tasks import forward_platform_statements
from tests.factories import decision_payload, statement_payload
from tests.fake_eu import FakeEu

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_endpoints_allowed(settings) -> None:
    """The fake EU listens on 127.0.0.1, which production refuses (see test_eu_endpoints)."""
    settings.LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS = True


@pytest.fixture
def eu() -> Iterator[FakeEu]:
    with FakeEu(token="eu-secret-token") as fake:
        yield fake


@pytest.fixture
def linked(api, eu):
    response = api.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"api_token": "eu-secret-token", "endpoint": eu.endpoint}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    return api


def record(api, count: int, **overrides) -> list[str]:
    body = {"decisions": [decision_payload(**overrides) for _ in range(count)]}
    response = api.post(
        "/api/v1/decisions/batch", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    return [r["puid"] for r in response.json()["decisions"]]


def states() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, COUNT(*) FROM moderation_dsasubmission GROUP BY state")
        return dict(cursor.fetchall())


def forward(platform, minutes: float = 0) -> forwarding.ForwardResult:
    return forwarding.forward_due_statements(
        platform=platform, now=timezone.now() + dt.timedelta(minutes=minutes)
    )


def test_the_token_is_stored_encrypted_and_never_shown(linked, platform):
    status = linked.get("/api/v1/forwarding/eu").json()

    assert status["configured"] and status["enabled"]
    assert "eu-secret-token" not in json.dumps(status)
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_token FROM moderation_euforwarding")
        (stored,) = cursor.fetchone()
    assert "eu-secret-token" not in stored


def test_each_recorded_restriction_gets_an_outbox_row_in_the_same_transaction(linked):
    record(linked, 3)
    record(linked, 2, decision_type="DECISION_TYPE_FLAG", decision_visibility=[])

    assert states() == {"pending": 3}  # flags are not statements of reasons


def test_without_eu_forwarding_no_outbox_row_is_written(api):
    record(api, 3)

    assert states() == {}


def test_a_refused_batch_leaves_no_outbox_row(linked):
    record(linked, 1, puid="taken")
    body = {"decisions": [decision_payload(), decision_payload(puid="taken", score=0.1)]}

    response = linked.post(
        "/api/v1/decisions/batch", data=json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 409
    assert states() == {"pending": 1}


def test_statements_reach_the_eu_in_batches_of_a_hundred_with_their_eu_uuids(linked, platform, eu):
    puids = record(linked, 250)

    assert forward_platform_statements(platform.pk) == "idle"

    assert [len(batch) for batch in eu.received] == [100, 100, 50]
    assert sorted(eu.sent_puids()) == sorted(puids)
    assert states() == {"submitted": 250}
    for row in DsaSubmission.objects.select_related("decision"):
        assert str(row.eu_uuid) == eu.stored[row.decision.puid]


def test_what_the_eu_receives_is_the_statement_of_reasons(linked, platform, eu):
    record(linked, 1, decision_visibility=["DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS"])
    received: list[dict] = []

    def capture(endpoint, token, statements):
        received.extend(statements)
        from moderation.eu_client import submit_statements

        return submit_statements(endpoint, token, statements, allow_private=True)

    forwarding.forward_due_statements(platform=platform, submit=capture)

    (statement,) = received
    assert statement["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
    assert statement["decision_visibility_other"] == "Hidden from non-followers"
    assert "uuid" not in statement and "created_at" not in statement
    assert statement["automated_detection"] == "Yes"


def test_a_429_makes_every_statement_wait_for_retry_after(linked, platform, eu):
    record(linked, 5)
    eu.fail_next(429, "Limit Reached. Please do not overload the API", {"Retry-After": "120"})

    result = forward(platform)

    assert result.outcome == "rate_limited"
    assert states() == {"pending": 5}
    assert forward(platform, minutes=1).sent == 0  # still waiting
    assert forward(platform, minutes=2.5).outcome == "submitted"
    assert states() == {"submitted": 5}
    assert len(eu.stored) == 5


def test_when_the_eu_is_down_nothing_is_lost_and_retries_back_off(linked, platform, eu):
    record(linked, 4)
    eu.fail_next(500, {"message": "Server Error"})
    eu.fail_next(503, {"message": "Unavailable"})

    assert forward(platform).outcome == "failed"
    assert forward(platform, minutes=0.05).sent == 0  # backoff: 5 s after the first failure
    assert forward(platform, minutes=0.1).outcome == "failed"  # second failure: 10 s more
    assert forward(platform, minutes=0.2).sent == 0
    result = forward(platform, minutes=0.5)

    assert result.submitted + result.already_there == 4
    assert states() == {"submitted": 4}
    assert DsaSubmission.objects.filter(attempts=3).count() == 4


def test_a_lost_answer_is_settled_by_asking_the_eu_not_by_sending_again(linked, platform, eu):
    puids = record(linked, 6)
    eu.drop_next()  # the EU stores the batch, but its answer never arrives

    assert forward(platform).outcome == "failed"
    assert states() == {"pending": 6}
    result = forward(platform, minutes=1)

    assert result.already_there == 6 and result.sent == 0
    assert states() == {"submitted": 6}
    assert sorted(eu.sent_puids()) == sorted(puids)  # each puid was sent exactly once
    assert sorted(eu.probes) == sorted(puids)


def test_an_unreachable_eu_keeps_the_statements_pending(linked, platform):
    EuForwarding.objects.filter(platform=platform).update(endpoint="http://127.0.0.1:9/api/v1")
    record(linked, 2)

    assert forward(platform).outcome == "failed"

    assert states() == {"pending": 2}
    assert DsaSubmission.objects.filter(outcome_unknown=False).count() == 2  # refused: not sent


def test_statements_the_eu_already_holds_are_marked_submitted_and_the_rest_sent(
    linked, platform, eu
):
    puids = record(linked, 3)
    eu.stored[puids[1]] = "held-by-the-eu"

    first = forward(platform)
    second = forward(platform)

    assert (first.outcome, first.already_there) == ("refused", 1)
    assert second.outcome == "submitted" and second.sent == 2
    assert states() == {"submitted": 3}


def test_a_statement_the_eu_rejects_is_set_aside_and_the_others_go(linked, platform, eu):
    record(linked, 3)
    eu.fail_next(422, {"message": "invalid", "errors": {"statement_1": {"category": ["bad"]}}})

    assert forward(platform).rejected == 1
    assert forward(platform).submitted == 2

    assert states() == {"rejected": 1, "submitted": 2}
    assert "category" in DsaSubmission.objects.get(state="rejected").last_error


def test_a_refused_token_pauses_forwarding_until_a_new_one_is_given(linked, platform, eu):
    record(linked, 2)
    eu.token = "rotated"

    assert forward(platform).outcome == "paused"
    status = linked.get("/api/v1/forwarding/eu").json()
    assert status["enabled"] is False and "401" in status["paused_reason"]
    record(linked, 1)  # recording goes on while paused; nothing is lost
    assert forward(platform).outcome == "disabled"

    linked.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"api_token": "rotated", "endpoint": eu.endpoint}),
        content_type="application/json",
    )
    assert forward(platform).submitted == 3
    assert states() == {"submitted": 3}


def test_statements_sent_through_the_dsa_api_are_forwarded_too(linked, platform, eu):
    linked.post(
        "/api/v1/statement",
        data=json.dumps(statement_payload(puid="via-dsa")),
        content_type="application/json",
    )

    forward(platform)

    assert eu.sent_puids() == ["via-dsa"]


def test_the_forwarding_settings_are_validated(api):
    response = api.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"endpoint": "not a url"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert {"api_token", "endpoint"} <= set(response.json()["errors"])
    assert not EuForwarding.objects.exists()


def test_the_beat_task_runs_every_enabled_platform(linked, platform, eu, monkeypatch):
    from moderation import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.forward_platform_statements, "delay", queued.append)
    services.create_platform(slug="no-forwarding")

    tasks.forward_dsa_statements()

    assert queued == [platform.pk]
