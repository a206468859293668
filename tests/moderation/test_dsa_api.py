"""The EU DSA Transparency Database's API on the ledger: the EU's bodies, codes and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from moderation import services
from moderation.dsa_api import PerSecondThrottle
from tests.factories import decision_payload, statement_payload

pytestmark = pytest.mark.django_db


def post(client: APIClient, url: str, body: Any):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


SERVER_FIELDS = {
    "uuid",
    "created_at",
    "platform_name",
    "permalink",
    "self",
    "notice_url",
    "log_index",
    "leaf_hash",
    "receipt_url",
}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"]},
        {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"]},
        {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"]},
        {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"]},
        {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_LABELLED"]},
        {
            "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
            "decision_visibility_other": "Excluded from the For You feed",
            "end_date_visibility_restriction": "2026-12-01",
        },
        {
            "decision_visibility": None,
            "decision_monetary": "DECISION_MONETARY_SUSPENSION",
            "end_date_monetary_restriction": "2027-01-01",
        },
        {
            "decision_visibility": None,
            "decision_monetary": "DECISION_MONETARY_OTHER",
            "decision_monetary_other": "Ads revenue share reduced",
        },
        {"decision_visibility": None, "decision_monetary": "DECISION_MONETARY_TERMINATION"},
        {
            "decision_visibility": None,
            "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION",
        },
        {"decision_visibility": None, "decision_provision": "DECISION_PROVISION_TOTAL_TERMINATION"},
        {
            "decision_visibility": None,
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "end_date_account_restriction": "2026-11-15",
            "account_type": "ACCOUNT_TYPE_PRIVATE",
        },
        {
            "decision_account": "DECISION_ACCOUNT_TERMINATED",
            "account_type": "ACCOUNT_TYPE_BUSINESS",
        },
        {
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": "Section 130 StGB",
            "illegal_content_explanation": "Incitement to hatred against a group.",
            "incompatible_content_ground": None,
            "incompatible_content_explanation": None,
            "incompatible_content_illegal": None,
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "category_addition": ["STATEMENT_CATEGORY_VIOLENCE"],
        },
        {
            "source_type": "SOURCE_TRUSTED_FLAGGER",
            "source_identity": "Trusted flagger 12",
            "content_type": ["CONTENT_TYPE_OTHER", "CONTENT_TYPE_IMAGE"],
            "content_type_other": "Livestream thumbnail",
        },
        {"source_type": "SOURCE_VOLUNTARY", "source_identity": None},
        {"content_type": ["CONTENT_TYPE_PRODUCT"], "content_id": {"EAN-13": "4006381333931"}},
        {
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_FULLY",
            "model": "hate-speech",
            "model_version": "v1",
            "score": 0.88,
        },
        {"automated_detection": "Yes", "automated_decision": "AUTOMATED_DECISION_PARTIALLY"},
        {"territorial_scope": None, "content_language": None, "category_specification": None},
    ],
)
def test_every_kind_of_statement_is_stored_and_read_back_as_sent(api, overrides):
    body = statement_payload(**overrides)
    body.pop("category_specification_other") if "category_specification" not in body else None

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 201, response.json()
    stored = response.json()
    assert set(stored) >= SERVER_FIELDS | {"id"}
    assert stored["self"].endswith(f"/api/v1/statement/{stored['uuid']}")
    echoed = {
        k: v for k, v in stored.items() if k not in SERVER_FIELDS | {"id"} and v not in (None, [])
    }
    expected = {k: v for k, v in body.items() if k not in {"model", "model_version", "score"}}
    if expected.get("territorial_scope"):
        expected["territorial_scope"] = sorted(expected["territorial_scope"])
    if "content_type" in expected:
        expected["content_type"] = sorted(expected["content_type"])
    assert echoed == expected
    read = api.get(f"/api/v1/statement/{stored['uuid']}").json()
    assert read == {k: v for k, v in stored.items() if k not in {"id", "puid"}}


def test_the_model_extras_are_recorded_on_the_decision(api):
    body = statement_payload(
        automated_detection="Yes",
        automated_decision="AUTOMATED_DECISION_FULLY",
        model="hate-speech",
        model_version="v1",
        score=0.91,
        subject="video-77",
    )

    stored = post(api, "/api/v1/statement", body).json()

    decision = api.get(f"/api/v1/decisions/{stored['uuid']}").json()
    assert (decision["model"], decision["model_version"], decision["score"]) == (
        "hate-speech",
        "v1",
        0.91,
    )
    assert decision["subject"]["content"] and "video-77" not in decision["subject"]["content"]


def test_a_bare_subject_on_an_account_suspension_names_the_account(api):
    body = statement_payload(
        decision_visibility=None, decision_account="DECISION_ACCOUNT_SUSPENDED", subject="user-9"
    )

    stored = post(api, "/api/v1/statement", body).json()

    subject = api.get(f"/api/v1/decisions/{stored['uuid']}").json()["subject"]
    assert subject["account"] and subject["content"] is None


def test_fields_the_eu_excludes_are_dropped_silently(api):
    body = statement_payload(
        decision_visibility_other="no OTHER in the visibility list",
        illegal_content_legal_ground="not illegal content",
        source_type="SOURCE_VOLUNTARY",
        source_identity="dropped for voluntary",
        some_future_field="ignored",
    )

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 201
    stored = response.json()
    assert stored["decision_visibility_other"] is None
    assert stored["illegal_content_legal_ground"] is None
    assert stored["source_identity"] is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"puid": None}, "puid", "The puid field is required."),
        ({"puid": "has space"}, "puid", "The puid format is invalid."),
        ({"puid": "p" * 501}, "puid", "must not be greater than 500 characters"),
        ({"decision_visibility": None}, "decision_monetary", "required when none of"),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_SEARCH_EXCLUDED"]},
            "decision_visibility",
            "The selected decision visibility is invalid.",
        ),
        (
            {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
            "decision_visibility_other",
            "The decision visibility other field is required.",
        ),
        (
            {"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"},
            "decision_visibility",
            "must be an array",
        ),
        (
            {"decision_monetary": "DECISION_MONETARY_OTHER"},
            "decision_monetary_other",
            "required when decision monetary is other",
        ),
        ({"decision_provision": "DECISION_PROVISION_SOME"}, "decision_provision", "invalid"),
        ({"decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account", "invalid"),
        ({"account_type": "ACCOUNT_TYPE_BOT"}, "account_type", "invalid"),
        ({"decision_ground": None}, "decision_ground", "The decision ground field is required."),
        ({"decision_ground": "DECISION_GROUND_RUDE"}, "decision_ground", "invalid"),
        (
            {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
            "illegal_content_legal_ground",
            "required when decision ground is illegal content",
        ),
        (
            {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
            "illegal_content_explanation",
            "required when decision ground is illegal content",
        ),
        (
            {"incompatible_content_ground": None},
            "incompatible_content_ground",
            "required when decision ground is incompatible content",
        ),
        (
            {"incompatible_content_explanation": None},
            "incompatible_content_explanation",
            "required when decision ground is incompatible content",
        ),
        (
            {"incompatible_content_explanation": "x" * 2001},
            "incompatible_content_explanation",
            "2000 characters",
        ),
        ({"incompatible_content_illegal": "Maybe"}, "incompatible_content_illegal", "invalid"),
        ({"category": None}, "category", "The category field is required."),
        ({"category": "STATEMENT_CATEGORY_CHESS"}, "category", "invalid"),
        ({"category_addition": ["NOPE"]}, "category_addition", "invalid"),
        ({"category_specification": ["KEYWORD_DANGEROUS_TOYS"]}, "category_specification", ""),
        ({"content_type": None}, "content_type", "The content type field is required."),
        ({"content_type": []}, "content_type", "required"),
        (
            {"content_type": ["CONTENT_TYPE_OTHER"]},
            "content_type_other",
            "The content type other field is required.",
        ),
        ({"content_language": "XX"}, "content_language", "invalid"),
        ({"content_language": "de"}, "content_language", "invalid"),
        ({"content_date": None}, "content_date", "The content date field is required."),
        ({"content_date": "1999-12-31"}, "content_date", "after or equal to 2000-01-01"),
        (
            {"content_date": "30/10/2026"},
            "content_date",
            "The content date does not match the format YYYY-MM-DD.",
        ),
        ({"application_date": "2019-12-31"}, "application_date", "after or equal to 2020-01-01"),
        ({"application_date": "2038-01-02"}, "application_date", "before or equal to 2038-01-01"),
        (
            {"end_date_visibility_restriction": "2040-01-01"},
            "end_date_visibility_restriction",
            "before or equal",
        ),
        ({"territorial_scope": ["DE", "US"]}, "territorial_scope", "invalid"),
        ({"territorial_scope": ["EL"]}, "territorial_scope", "invalid"),
        ({"content_id": {"EAN-13": "123"}}, "content_id.EAN-13", "format is invalid"),
        ({"content_id": {"ISBN": "123"}}, "content_id", "EAN-13"),
        ({"decision_facts": None}, "decision_facts", "The decision facts field is required."),
        ({"decision_facts": "x" * 5001}, "decision_facts", "5000 characters"),
        ({"source_type": "SOURCE_LEGAL_ORDER"}, "source_type", "invalid"),
        ({"source_type": None}, "source_type", "required"),
        ({"automated_detection": "yes"}, "automated_detection", "invalid"),
        ({"automated_detection": True}, "automated_detection", "invalid"),
        ({"automated_decision": "No"}, "automated_decision", "invalid"),
        ({"score": 2}, "score", "between 0 and 1"),
        ({"subject": 12}, "subject", "must be an id"),
    ],
)
def test_each_invalid_statement_gets_the_eus_422(api, overrides, field, message):
    response = post(api, "/api/v1/statement", statement_payload(**overrides))

    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert field in body["errors"], body
    assert message in " ".join(body["errors"][field])
    assert rows() == 0


def test_the_422_message_counts_the_other_errors_as_laravel_does(api):
    response = post(api, "/api/v1/statement", {"puid": "only-a-puid"})

    body = response.json()
    total = sum(len(v) for v in body["errors"].values())
    assert body["message"].endswith(f"(and {total - 1} more errors)")


def test_an_unregistered_model_version_is_refused_with_a_422(api):
    body = statement_payload(model="hate-speech", model_version="v7", score=0.9)

    response = post(api, "/api/v1/statement", body)

    assert response.status_code == 422
    assert "not registered" in response.json()["errors"]["model_version"][0]


def test_a_recorded_puid_is_refused_as_the_eu_does_naming_it(api):
    body = statement_payload(puid="once")
    assert post(api, "/api/v1/statement", body).status_code == 201

    again = post(api, "/api/v1/statement", body)

    assert again.status_code == 422
    assert again.json() == {
        "message": "The identifier given is not unique within this platform.",
        "errors": {"puid": ["The identifier given is not unique within this platform."]},
        "existing": {"puid": "once"},
    }
    assert rows() == 1


def test_a_batch_of_statements_is_recorded_all_together(api):
    statements = [statement_payload() for _ in range(100)]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 201
    stored = response.json()["statements"]
    assert [s["puid"] for s in stored] == [s["puid"] for s in statements]
    assert rows() == 100


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_outside_one_to_a_hundred_is_refused(api, count):
    response = post(
        api, "/api/v1/statements", {"statements": [statement_payload() for _ in range(count)]}
    )

    assert response.status_code == 422
    assert "statements" in response.json()["errors"]
    assert rows() == 0


def test_a_ledger_may_allow_larger_batches(api, settings):
    settings.LEDGER_DSA_MAX_BATCH = 300

    response = post(
        api, "/api/v1/statements", {"statements": [statement_payload() for _ in range(250)]}
    )

    assert response.status_code == 201
    assert rows() == 250


def test_a_batch_with_invalid_statements_records_none_and_keys_errors_by_position(api):
    statements = [statement_payload() for _ in range(5)]
    statements[1]["category"] = "WRONG"
    statements[4].pop("decision_facts")

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"statement_1", "statement_4"}
    assert "category" in errors["statement_1"]
    assert "decision_facts" in errors["statement_4"]
    assert rows() == 0


def test_a_batch_repeating_a_puid_is_refused_listing_it(api):
    statements = [statement_payload(puid="dup"), statement_payload(), statement_payload(puid="dup")]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "puid": ["The platform identifier(s) are not all unique within this call."],
        "existing_puids": ["dup"],
    }
    assert rows() == 0


def test_a_batch_with_already_recorded_puids_is_refused_listing_them(api):
    post(api, "/api/v1/statement", statement_payload(puid="old-1"))
    post(api, "/api/v1/statement", statement_payload(puid="old-2"))
    statements = [
        statement_payload(puid="old-2"),
        statement_payload(),
        statement_payload(puid="old-1"),
    ]

    response = post(api, "/api/v1/statements", {"statements": statements})

    assert response.status_code == 422
    assert response.json()["errors"]["existing_puids"] == ["old-1", "old-2"]
    assert rows() == 2


def test_existing_puid_answers_302_when_found_and_404_when_not(api):
    post(api, "/api/v1/statement", statement_payload(puid="probe"))

    found = api.get("/api/v1/statement/existing-puid/probe")
    missing = api.get("/api/v1/statement/existing-puid/nope")

    assert (found.status_code, found.json()) == (
        302,
        {"message": "statement of reason found", "puid": "probe"},
    )
    assert (missing.status_code, missing.json()["message"]) == (
        404,
        "statement of reason not found",
    )


def test_another_platforms_statement_and_puid_are_not_found(api, make_client):
    stored = post(api, "/api/v1/statement", statement_payload(puid="mine")).json()
    rival = services.create_platform(slug="rival")
    rival_client = make_client(services.issue_api_key(platform=rival)[1])

    assert rival_client.get(f"/api/v1/statement/{stored['uuid']}").status_code == 404
    assert rival_client.get("/api/v1/statement/existing-puid/mine").status_code == 404


def test_a_bad_token_gets_the_eus_401(client, platform):
    response = post(client, "/api/v1/statement", statement_payload())
    wrong = client.post(
        "/api/v1/statements",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer wrong",
    )

    assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "Unauthenticated."})


def test_past_the_rate_limit_the_eus_plain_text_429_comes_back(api, monkeypatch):
    cache.clear()
    monkeypatch.setattr(PerSecondThrottle, "THROTTLE_RATES", {"dsa_second": "3/s"})

    statuses = [api.get("/api/v1/statement/existing-puid/x").status_code for _ in range(4)]
    limited = api.get("/api/v1/statement/existing-puid/x")
    cache.clear()

    assert statuses == [404, 404, 404, 429]
    assert limited.status_code == 429
    assert limited.content == b"Limit Reached. Please do not overload the API"
    assert int(limited["Retry-After"]) >= 1


def test_a_native_decision_exports_as_a_statement_with_our_keys_mapped(api):
    body = decision_payload(
        decision_visibility=[
            "DECISION_VISIBILITY_SEARCH_EXCLUDED",
            "DECISION_VISIBILITY_CONTENT_LABELLED",
        ],
        source_type="SOURCE_LEGAL_ORDER",
        source_identity="Court order 7 O 123/26",
    )
    created = post(api, "/api/v1/decisions", body).json()

    statement = api.get(f"/api/v1/decisions/{created['id']}/dsa").json()

    assert statement["decision_visibility"] == [
        "DECISION_VISIBILITY_CONTENT_LABELLED",
        "DECISION_VISIBILITY_OTHER",
    ]
    assert statement["decision_visibility_other"] == "Excluded from search"
    assert statement["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert statement["source_identity"] == "Legal order: Court order 7 O 123/26"
    assert statement["uuid"] == created["id"] and statement["puid"] == created["puid"]
    # The exported statement is one the EU's API takes: it validates here too.
    resent = {k: v for k, v in statement.items() if k not in SERVER_FIELDS and v is not None}
    assert post(api, "/api/v1/statement", {**resent, "puid": "re-sent"}).status_code == 201


def test_a_flag_has_no_statement_to_export(api):
    body = decision_payload(decision_type="DECISION_TYPE_FLAG", decision_visibility=[])
    created = post(api, "/api/v1/decisions", body).json()

    response = api.get(f"/api/v1/decisions/{created['id']}/dsa")

    assert response.status_code == 409
    assert "no statement of reasons" in response.json()["detail"]
