"""A platform's own id (puid) names one decision forever; resending never duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from moderation import services
from moderation.models import Decision
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload


def post(api: APIClient, url: str, body: object):
    return api.post(url, data=json.dumps(body), content_type="application/json")


def count(puid: str | None = None) -> int:
    with connection.cursor() as cursor:
        if puid is None:
            cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        else:
            cursor.execute("SELECT COUNT(*) FROM moderation_decision WHERE puid = %s", [puid])
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_same_decision_sent_again_returns_the_existing_record(api):
    body = decision_payload(puid="again")
    first = post(api, "/api/v1/decisions", body)

    second = post(api, "/api/v1/decisions", body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert count("again") == 1


@pytest.mark.django_db
def test_the_same_decision_with_its_lists_in_another_order_is_the_same_decision(api):
    body = decision_payload(
        puid="order",
        territorial_scope=["FR", "DE", "IT"],
        content_type=["CONTENT_TYPE_VIDEO", "CONTENT_TYPE_TEXT"],
    )
    first = post(api, "/api/v1/decisions", body)

    reordered = {
        **body,
        "territorial_scope": ["IT", "DE", "FR"],
        "content_type": ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO"],
    }
    second = post(api, "/api/v1/decisions", reordered)

    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


@pytest.mark.django_db
def test_different_content_under_a_recorded_puid_is_refused_naming_the_existing_record(api):
    first = post(api, "/api/v1/decisions", decision_payload(puid="taken")).json()

    response = post(api, "/api/v1/decisions", decision_payload(puid="taken", score=0.99))

    assert response.status_code == 409
    assert response.json()["existing"] == {"id": first["id"], "puid": "taken"}
    assert first["id"] in response.json()["errors"]["puid"][0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT score FROM moderation_decision WHERE puid = 'taken'")
        assert cursor.fetchall() == [(0.93,)]


@pytest.mark.django_db
def test_resending_a_whole_batch_duplicates_nothing(api):
    body = {"decisions": [decision_payload(puid=f"r-{i}") for i in range(20)]}
    first = post(api, "/api/v1/decisions/batch", body)

    again = post(api, "/api/v1/decisions/batch", body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert {r["status"] for r in again.json()["decisions"]} == {"existing"}
    assert [r["id"] for r in again.json()["decisions"]] == [
        r["id"] for r in first.json()["decisions"]
    ]
    assert count() == 20


@pytest.mark.django_db
def test_a_batch_mixing_new_and_recorded_decisions_records_only_the_new(api):
    old = [decision_payload(puid=f"m-{i}") for i in range(3)]
    post(api, "/api/v1/decisions/batch", {"decisions": old})

    response = post(
        api, "/api/v1/decisions/batch", {"decisions": [*old, decision_payload(puid="m-new")]}
    )

    assert response.status_code == 201
    assert [r["status"] for r in response.json()["decisions"]] == [
        "existing",
        "existing",
        "existing",
        "created",
    ]
    assert count() == 4


@pytest.mark.django_db
def test_a_batch_with_one_conflicting_puid_records_nothing(api):
    post(api, "/api/v1/decisions", decision_payload(puid="c-0"))
    batch = [decision_payload(puid="c-new"), decision_payload(puid="c-0", score=0.5)]

    response = post(api, "/api/v1/decisions/batch", {"decisions": batch})

    assert response.status_code == 409
    assert set(response.json()["errors"]) == {"1"}
    assert response.json()["existing"][0]["puid"] == "c-0"
    assert count() == 1


@pytest.mark.django_db
def test_the_same_puid_on_two_platforms_names_two_decisions(api, make_client):
    other = services.create_platform(slug="other")
    _, other_key = services.issue_api_key(platform=other)
    body = decision_payload(puid="shared", model=None, model_version=None, score=None)
    body["automated_detection"] = "No"
    body["automated_decision"] = "AUTOMATED_DECISION_NOT_AUTOMATED"

    assert post(api, "/api/v1/decisions", body).status_code == 201
    assert post(make_client(other_key), "/api/v1/decisions", body).status_code == 201
    assert count("shared") == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_exactly_one_record(platform, model_v1):
    """Eight threads send the same batch at once, each on its own connection."""
    bodies = [decision_payload(puid=f"race-{i}") for i in range(50)]
    items = [as_input(b) for b in bodies]

    def send() -> list[bool]:
        recorded = services.record_decisions(platform=platform, decisions=items)
        return [r.created for r in recorded]

    outcomes = at_once([send] * 8)

    assert failures(outcomes) == []
    # Exactly one thread created each decision; the other seven got it back as existing.
    assert sum(sum(o) for o in outcomes if isinstance(o, list)) == 50
    assert count() == 50
    assert Decision.objects.values("puid").distinct().count() == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_conflicting_sends_record_one_and_refuse_the_rest(platform, model_v1):
    def sender(score: float) -> Callable[[], object]:
        item = as_input(decision_payload(puid="contested", score=score))
        return lambda: services.record_decision(platform=platform, decision=item)

    outcomes = at_once([sender(0.9 + i / 100) for i in range(6)])

    results = [type(o).__name__ for o in outcomes]
    assert sorted(results) == ["PuidConflict"] * 5 + ["Recorded"]
    assert count("contested") == 1
