"""The intake API as a platform's client uses it: record, read, and be refused clearly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from moderation import services
from moderation.models import Decision
from tests.factories import decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json")


def decision_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


def test_an_automated_shadowban_is_recorded_with_its_model_version_and_score(api):
    response = post(api, "/api/v1/decisions", decision_payload(puid="sb-1", score=0.97))

    assert response.status_code == 201
    data = response.json()
    assert data["puid"] == "sb-1"
    assert data["action"] == "VISIBILITY_RESTRICTION"
    assert data["decision_visibility"] == ["DECISION_VISIBILITY_SEARCH_EXCLUDED"]
    assert (data["model"], data["model_version"], data["score"]) == ("hate-speech", "v1", 0.97)
    assert data["threshold"] == 0.8  # the registered version's threshold, in force at the time
    assert data["notice_url"].startswith("http://testserver/notice/")
    assert len(data["notice_url"].rsplit("/", 1)[1]) >= 32
    decision = Decision.objects.get(public_id=data["id"])
    assert decision.model_version.version == "v1"
    assert decision.automated_detection is True


def test_the_subject_is_stored_only_as_a_keyed_pseudonym(api):
    response = post(api, "/api/v1/decisions", decision_payload(subject={"account": "alice"}))

    subject = response.json()["subject"]
    assert subject["content"] is None
    assert len(subject["account"]) == 64 and "alice" not in subject["account"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject_account, subject_content FROM moderation_decision")
        assert cursor.fetchone() == (subject["account"], "")


def test_a_human_removal_under_a_versioned_policy_is_recorded(api, platform):
    services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_ILLEGAL_CONTENT",
        clause="Section 4.2",
    )
    services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct (2026)",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_ILLEGAL_CONTENT",
        clause="Section 4.2, as amended",
    )

    response = post(api, "/api/v1/decisions", human_payload(policy="hate", internal_notes="x"))

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["action"] == "REMOVAL"
    assert (data["policy"], data["policy_version"]) == ("hate", 2)  # latest when unversioned
    assert data["model"] is None and data["automated_detection"] == "No"
    assert data["moderator"] and "mod-7" not in data["moderator"]


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"decision_type": "DECISION_TYPE_FLAG", "decision_visibility": []}, "FLAG"),
        ({"decision_type": "DECISION_TYPE_NO_ACTION", "decision_visibility": []}, "NO_ACTION"),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"]},
            "VISIBILITY_RESTRICTION",
        ),
        ({"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]}, "REMOVAL"),
        (
            {"decision_visibility": [], "decision_monetary": "DECISION_MONETARY_SUSPENSION"},
            "MONETARY_RESTRICTION",
        ),
        (
            {
                "decision_visibility": [],
                "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION",
            },
            "SERVICE_RESTRICTION",
        ),
        (
            {
                "decision_account": "DECISION_ACCOUNT_SUSPENDED",
                "end_date_account_restriction": "2026-12-02",
            },
            "ACCOUNT_SUSPENSION",
        ),
        (
            {"decision_visibility": [], "decision_account": "DECISION_ACCOUNT_TERMINATED"},
            "ACCOUNT_TERMINATION",
        ),
    ],
)
def test_every_kind_of_action_is_recorded_and_summarised(api, overrides, action):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    assert response.status_code == 201, response.json()
    assert response.json()["action"] == action


def test_a_reversal_points_at_the_decision_it_changes(api):
    original = post(
        api,
        "/api/v1/decisions",
        decision_payload(puid="orig", subject={"account": "author", "content": "post-of-orig"}),
    ).json()

    reversal = post(
        api,
        "/api/v1/decisions",
        human_payload(
            puid="orig-reversed",
            subject={"content": "post-of-orig"},
            decision_type="DECISION_TYPE_REVERSAL",
            decision_visibility=[],
            supersedes=original["id"],
        ),
    )

    assert reversal.status_code == 201, reversal.json()
    assert reversal.json()["supersedes"] == original["id"]
    assert reversal.json()["action"] == "REVERSAL"
    # The original is untouched: a change is a new record.
    assert api.get(f"/api/v1/decisions/{original['id']}").json() == original


def test_a_batch_is_recorded_and_answers_a_receipt_per_decision(api):
    body = {"decisions": [decision_payload(puid=f"b-{i}") for i in range(50)]}

    response = post(api, "/api/v1/decisions/batch", body)

    assert response.status_code == 201
    receipts = response.json()["decisions"]
    assert [r["puid"] for r in receipts] == [f"b-{i}" for i in range(50)]
    assert {r["status"] for r in receipts} == {"created"}
    assert all(r["notice_url"].startswith("http://testserver/notice/") for r in receipts)
    assert decision_count() == 50


def test_a_decision_can_be_read_back_by_id_and_found_by_puid(api):
    created = post(api, "/api/v1/decisions", decision_payload(puid="find-me")).json()
    post(api, "/api/v1/decisions", decision_payload(puid="other"))

    by_id = api.get(f"/api/v1/decisions/{created['id']}")
    by_puid = api.get("/api/v1/decisions", {"puid": "find-me"})

    assert by_id.status_code == 200 and by_id.json() == created
    assert [d["id"] for d in by_puid.json()["results"]] == [created["id"]]


def test_a_model_version_is_registered_and_listed(api):
    response = post(
        api,
        "/api/v1/models",
        {"name": "nudity", "version": "2.1", "released_at": "2026-03-01", "threshold": 0.7},
    )

    assert response.status_code == 201
    assert ("nudity", "2.1") in {
        (m["name"], m["version"]) for m in api.get("/api/v1/models").json()
    }


def test_registering_the_same_model_version_again_is_harmless_but_changing_it_is_refused(api):
    body = {"name": "spam", "version": "3", "released_at": "2026-03-01", "threshold": 0.5}
    assert post(api, "/api/v1/models", body).status_code == 201
    assert post(api, "/api/v1/models", body).status_code == 200

    changed = post(api, "/api/v1/models", {**body, "threshold": 0.6})

    assert changed.status_code == 409
    assert "never changed" in changed.json()["detail"]


def test_a_policy_version_is_registered_with_the_next_version_number(api):
    body = {
        "key": "spam",
        "title": "Spam",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "clause": "Terms 7.1",
    }
    first = post(api, "/api/v1/policies", body)
    second = post(api, "/api/v1/policies", {**body, "clause": "Terms 7.1 (revised)"})

    assert (first.status_code, first.json()["version"]) == (201, 1)
    assert (second.status_code, second.json()["version"]) == (201, 2)


# --- refusals: a clear 4xx that names the problem, and nothing written ---------------------


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"puid": 42}, "puid", "Expected `str`"),
        ({"puid": "has spaces"}, "puid", "matching regex"),
        ({"category": "STATEMENT_CATEGORY_CHESS"}, "category", "Invalid enum value"),
        ({"decision_visibility": ["DECISION_VISIBILITY_SHADOW"]}, "decision_visibility[0]", "enum"),
        ({"score": 1.5}, "score", "<= 1.0"),
        ({"content_type": []}, "content_type", "length >= 1"),
        ({"content_date": "yesterday"}, "content_date", "Invalid"),
        ({"decision_facts": None}, "decision_facts", "required"),
        ({"colour": "red"}, "colour", "Unknown field"),
        ({"decided_at": "2026-11-01T10:00:00"}, "decided_at", "timezone"),
    ],
)
def test_a_decision_of_the_wrong_shape_is_refused_naming_the_field(api, overrides, field, fragment):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors, errors
    assert fragment.lower() in " ".join(errors[field]).lower()
    assert decision_count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"decision_visibility": []}, "decision_visibility"),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
            "decision_visibility_other",
        ),
        ({"decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other"),
        ({"incompatible_content_ground": None}, "incompatible_content_ground"),
        (
            {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
            "illegal_content_legal_ground",
        ),
        ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
        ({"content_date": "1999-12-31"}, "content_date"),
        ({"application_date": "2039-01-01"}, "application_date"),
        ({"end_date_visibility_restriction": "2026-10-01"}, "end_date_visibility_restriction"),
        ({"end_date_account_restriction": "2026-12-01"}, "end_date_account_restriction"),
        ({"decision_type": "DECISION_TYPE_FLAG"}, "decision_type"),
        (
            {"decision_type": "DECISION_TYPE_REVERSAL", "decision_visibility": []},
            "supersedes",
        ),
        ({"model": None, "model_version": None, "score": None}, "model"),
        ({"model_version": None}, "model_version"),
        ({"subject": {}}, "subject"),
        ({"decided_at": "2099-01-01T00:00:00Z"}, "decided_at"),
    ],
)
def test_a_decision_breaking_a_conditional_rule_is_refused(api, overrides, field):
    response = post(api, "/api/v1/decisions", decision_payload(**overrides))

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert decision_count() == 0


def test_a_decision_naming_an_unregistered_model_version_is_refused_saying_so(api):
    response = post(api, "/api/v1/decisions", decision_payload(model_version="v9"))

    assert response.status_code == 400
    message = response.json()["errors"]["model_version"][0]
    assert "hate-speech version v9 is not registered" in message
    assert decision_count() == 0


def test_another_platforms_model_version_counts_as_unregistered(api):
    other = services.create_platform(slug="other")
    register_model(other, name="secret-model", version="1")

    response = post(
        api, "/api/v1/decisions", decision_payload(model="secret-model", model_version="1")
    )

    assert response.status_code == 400
    assert "not registered" in response.json()["errors"]["model_version"][0]


def test_malformed_json_is_refused(api):
    response = api.post("/api/v1/decisions", data=b'{"puid": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON")


def test_a_body_that_is_not_json_is_refused(api):
    response = api.post("/api/v1/decisions", data="puid=1", content_type="text/plain")

    assert response.status_code == 400
    assert "Content-Type must be application/json" in response.json()["detail"]


def test_a_batch_with_one_bad_decision_writes_nothing_and_names_its_index(api):
    decisions = [decision_payload() for _ in range(5)]
    decisions[3]["score"] = "high"
    decisions[4]["decision_visibility"] = []

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    assert response.status_code == 400
    errors = response.json()["errors"]
    # Every item's problems at once (issue 11): item 3's shape error and item 4's rule error.
    assert set(errors) == {"3", "4"}
    assert "score" in errors["3"]
    assert set(errors["4"]) == {"decision_visibility"}
    assert decision_count() == 0


def test_a_batch_breaking_rules_names_every_bad_index(api):
    decisions = [decision_payload() for _ in range(5)]
    decisions[1]["decision_visibility"] = []
    decisions[4]["model_version"] = "v404"

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"1", "4"}
    assert decision_count() == 0


def test_an_oversized_batch_is_refused_naming_the_limit(api, settings):
    settings.LEDGER_MAX_BATCH = 10

    response = post(
        api, "/api/v1/decisions/batch", {"decisions": [decision_payload() for _ in range(11)]}
    )

    assert response.status_code == 400
    assert "limit is 10" in response.json()["detail"]
    assert decision_count() == 0


def test_the_real_batch_limit_is_a_thousand(api):
    body = {"decisions": [decision_payload() for _ in range(1001)]}

    response = post(api, "/api/v1/decisions/batch", body)

    assert response.status_code == 400
    assert "limit is 1000" in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"decisions": []}, {"decisions": {}}, [], {"statements": []}])
def test_a_batch_without_a_list_of_decisions_is_refused(api, body):
    response = post(api, "/api/v1/decisions/batch", body)

    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_batch_reusing_a_puid_for_different_decisions_is_refused(api):
    decisions = [decision_payload(puid="twice"), decision_payload(puid="twice", score=0.99)]

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    assert response.status_code == 400
    assert "index 0" in response.json()["errors"]["1"]["puid"][0]
    assert decision_count() == 0


def test_the_openapi_schema_documents_the_decision_fields(client):
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/v1/decisions/batch" in schema["paths"]
    decision = schema["components"]["schemas"]["DecisionIn"]
    assert "DECISION_VISIBILITY_SEARCH_EXCLUDED" in json.dumps(decision)
    assert "puid" in decision["required"]


def test_the_interactive_api_page_is_served_without_a_key(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
