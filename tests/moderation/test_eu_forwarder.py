"""Forwarding to the EU: an outbox row per statement, drained in batches of 100 against a
local fake of the EU's API, through its failures, never sending a statement twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.utils import timezone

from moderation import eu_client, forwarding, services
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


# --- claim, send outside any transaction, record ------------------------------------------


def test_a_worker_that_dies_mid_send_leaves_its_rows_leased_then_they_are_asked_about(
    linked, platform, eu
):
    puids = record(linked, 3)

    def send_then_die(endpoint, token, statements):
        eu_client.submit_statements(endpoint, token, statements, allow_private=True)
        raise SystemExit("the worker was killed after the batch left")

    with pytest.raises(SystemExit):
        forwarding.forward_due_statements(platform=platform, submit=send_then_die)

    # Released at once (the process lived to record), as sent-but-unknown: asked, not resent.
    assert DsaSubmission.objects.filter(outcome_unknown=True, state="pending").count() == 3
    result = forward(platform)
    assert (result.already_there, result.sent) == (3, 0)
    assert sorted(eu.sent_puids()) == sorted(puids)


def test_rows_claimed_by_a_run_that_vanished_come_back_when_the_lease_ends(linked, platform, eu):
    puids = record(linked, 2)
    rows, _ = forwarding._claim(platform, timezone.now())  # a claim whose process then died
    assert len(rows) == 2

    assert forward(platform).sent == 0  # still leased
    assert forward(platform, minutes=forwarding.LEASE.total_seconds() / 60 - 1).sent == 0
    result = forward(platform, minutes=forwarding.LEASE.total_seconds() / 60 + 1)

    # The dead run may have sent them: they are asked about first, then sent once.
    assert sorted(eu.probes) == sorted(puids)
    assert result.outcome == "submitted" and result.sent == 2
    assert states() == {"submitted": 2}


def test_a_late_answer_does_not_overwrite_rows_a_newer_claim_holds(linked, platform, eu):
    record(linked, 1)
    later = timezone.now() + forwarding.LEASE + dt.timedelta(minutes=1)

    def slow_then_answer(endpoint, token, statements):
        # Meanwhile the lease ran out and another worker claimed and sent the row.
        assert forwarding.forward_due_statements(platform=platform, now=later).submitted == 1
        return eu_client.EuAnswer(status=500, body={"message": "Server Error"})

    result = forwarding.forward_due_statements(platform=platform, submit=slow_then_answer)

    assert result.outcome == "failed"
    row = DsaSubmission.objects.get()
    assert row.state == "submitted" and row.attempts == 1  # the newer claim's outcome stands


def test_a_refused_old_token_does_not_pause_a_token_given_during_the_send(linked, platform, eu):
    record(linked, 1)

    def refused_after_a_new_token(endpoint, token, statements):
        forwarding.configure_eu_forwarding(
            platform=platform, api_token="new-token", endpoint=eu.endpoint
        )
        return eu_client.EuAnswer(status=401, body={"message": "Unauthenticated."})

    result = forwarding.forward_due_statements(platform=platform, submit=refused_after_a_new_token)

    assert result.outcome == "paused"
    assert EuForwarding.objects.get().enabled  # the new token was never tried
    assert states() == {"pending": 1}


def run_in_thread(target, results: dict, key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = target()
        except BaseException as exc:
            results[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_token_change_during_a_slow_send_does_not_wait_for_it(
    flushable_append_only_tables, linked, platform, eu
):
    record(linked, 2)
    sending = threading.Event()
    token_changed = threading.Event()
    seen: dict[str, object] = {}

    def slow_submit(endpoint, token, statements):
        seen["in_transaction"] = connection.in_atomic_block
        sending.set()
        # The EU takes its time; the answer comes only after the token change went through
        # (or after 5 s, when the change is stuck behind a lock this send holds).
        seen["changed_during_send"] = token_changed.wait(timeout=5)
        return eu_client.submit_statements(endpoint, token, statements, allow_private=True)

    results: dict[str, object] = {}
    worker = run_in_thread(
        lambda: forwarding.forward_due_statements(platform=platform, submit=slow_submit),
        results,
        "forward",
    )
    assert sending.wait(timeout=10)
    # While the batch is on its way: a status read, a second forwarder and a token change.
    status = linked.get("/api/v1/forwarding/eu").json()
    second = forwarding.forward_due_statements(platform=platform)
    started = time.monotonic()
    response = linked.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"api_token": "eu-secret-token", "endpoint": eu.endpoint}),
        content_type="application/json",
    )
    waited = time.monotonic() - started
    token_changed.set()
    worker.join(timeout=30)

    assert response.status_code == 200 and waited < 2
    assert seen["changed_during_send"] is True
    assert seen["in_transaction"] is False  # no network call inside a transaction
    assert status["enabled"] is True
    assert second.outcome == "idle" and second.sent == 0  # not "disabled", and nothing twice
    assert results["forward"].outcome == "submitted"
    assert states() == {"submitted": 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_statement(
    flushable_append_only_tables, linked, platform, eu
):
    puids = record(linked, 150)
    barrier = threading.Barrier(4)
    results: dict[str, object] = {}

    def work() -> int:
        barrier.wait(timeout=10)
        sent = 0
        while (result := forwarding.forward_due_statements(platform=platform)).sent:
            sent += result.sent
        return sent

    threads = [run_in_thread(work, results, f"w{i}") for i in range(4)]
    for thread in threads:
        thread.join(timeout=60)

    assert sum(results.values()) == 150, results
    assert sorted(eu.sent_puids()) == sorted(puids)  # each exactly once
    assert states() == {"submitted": 150}
