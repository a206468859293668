"""The public appeals API for platforms that embed appeals in their apps: the notice link's token
is the only credential; bad input gets a 4xx naming every problem and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from rest_framework.test import APIClient

from appeals.models import MAX_STATEMENT_LENGTH, Appeal, Appellant
from appeals.services import claim_next_review, resolve_appeal
from ledger.models import LogEntry
from moderation import services
from moderation.models import Decision, Platform
from tests.factories import as_input, decision_payload, human_payload, make_reviewer

pytestmark = pytest.mark.django_db

STATEMENT = "My video teaches chess openings; nobody is attacked but a king."


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(platform, decision_payload(decided_at="2026-11-02T08:30:00+00:00"))


@pytest.fixture
def reported(platform: Platform) -> Decision:
    return record(
        platform,
        human_payload(notifier="reporter-42", decided_at="2026-11-02T08:30:00+00:00"),
    )


def post(client: APIClient, body: Any) -> Any:
    return client.post(
        "/api/v1/appeals",
        data=body if isinstance(body, str | bytes) else json.dumps(body),
        content_type="application/json",
    )


def counts() -> tuple[int, int]:
    return Appeal.objects.count(), LogEntry.objects.count()


def refused(client: APIClient, body: Any, status: int) -> dict[str, Any]:
    before = counts()
    response = post(client, body)
    assert response.status_code == status, response.content
    assert counts() == before
    return response.json()


def test_filing_with_the_token_alone_returns_the_appeal_and_its_deadline(anonymous, shadowban):
    response = post(anonymous, {"token": shadowban.notice_token, "statement": STATEMENT})

    assert response.status_code == 201, response.json()
    body = response.json()
    appeal = Appeal.objects.get()
    assert body["id"] == str(appeal.public_id)
    assert body["status"] == "filed"
    assert body["deadline"].startswith(appeal.deadline_at.strftime("%Y-%m-%dT%H:%M"))
    assert body["appellant"] == "subject"
    assert body["decision"] == str(shadowban.public_id)
    assert body["outcome"] is None and body["reason"] is None
    assert body["notice_url"] == f"http://testserver/notice/{shadowban.notice_token}"
    assert "statement" not in body
    assert appeal.statement == STATEMENT


def test_reading_an_appeal_shows_its_outcome_reason_and_reversal_once_decided(anonymous, shadowban):
    filed = post(anonymous, {"token": shadowban.notice_token, "statement": STATEMENT}).json()
    url = f"/api/v1/appeals/{filed['id']}?token={shadowban.notice_token}"

    waiting = anonymous.get(url)
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "filed" and waiting.json()["outcome"] is None

    reviewer = make_reviewer(shadowban.platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    assert anonymous.get(url).json()["status"] == "in_review"
    review = resolve_appeal(
        reviewer=reviewer,
        item=item,
        version=item.version,
        outcome="overturned",
        reason="A chess lesson: nothing hateful.",
    )

    decided = anonymous.get(url).json()
    assert decided["status"] == "overturned"
    assert decided["outcome"] == "overturned"
    assert decided["reason"] == "A chess lesson: nothing hateful."
    assert decided["decided_at"] is not None
    assert decided["reversal"] == {
        "id": str(review.reversal.public_id),
        "notice_url": f"http://testserver/notice/{review.reversal.notice_token}",
    }


def test_the_notifier_token_files_the_notifiers_appeal(anonymous, reported):
    response = post(anonymous, {"token": reported.notifier_token, "statement": STATEMENT})

    assert response.status_code == 201
    assert response.json()["appellant"] == "notifier"
    assert Appeal.objects.get().appellant == Appellant.NOTIFIER
    assert reported.notice_token not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"token", "statement"}),
        ({"token": 5, "statement": ["x"]}, {"token", "statement"}),
        ({"token": "abc", "statement": "x", "appellant": "subject"}, {"appellant"}),
        ([], {"non_field_errors"}),
        ("null", {"non_field_errors"}),
    ],
)
def test_a_malformed_body_is_a_400_naming_every_field(anonymous, shadowban, body, fields):
    errors = refused(anonymous, body, 400)["errors"]

    assert set(errors) >= fields


def test_unparsable_json_is_a_400(anonymous):
    assert "detail" in refused(anonymous, b'{"token": ', 400)
    assert refused(anonymous, b"\xff\xfe", 400)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("", "The statement is empty"),
        ("   \n ", "The statement is empty"),
        ("x" * (MAX_STATEMENT_LENGTH + 1), f"at most {MAX_STATEMENT_LENGTH} are allowed"),
        ("nul \x00 here", "nul"),
    ],
)
def test_a_bad_statement_is_a_400_and_writes_nothing(anonymous, shadowban, statement, message):
    body = refused(anonymous, {"token": shadowban.notice_token, "statement": statement}, 400)

    assert message.lower() in " ".join(body["errors"]["statement"]).lower()


def test_a_forged_token_is_a_404_that_still_names_the_statements_problems(anonymous, shadowban):
    body = refused(anonymous, {"token": "forged-token-123", "statement": ""}, 404)

    assert set(body["errors"]) == {"token", "statement"}
    assert refused(anonymous, {"token": "", "statement": STATEMENT}, 400)["errors"]["token"]
    assert refused(anonymous, {"token": "a" * 65, "statement": STATEMENT}, 400)["errors"]["token"]


def test_a_second_appeal_with_the_same_token_is_a_409(anonymous, shadowban):
    post(anonymous, {"token": shadowban.notice_token, "statement": STATEMENT})

    body = refused(anonymous, {"token": shadowban.notice_token, "statement": "Again."}, 409)

    assert "already been appealed" in " ".join(body["errors"]["appellant"])


def test_an_appeal_after_the_window_is_refused(anonymous, platform, model_v1):
    old = record(platform, decision_payload(decided_at="2025-01-10T12:00:00+00:00"))

    body = refused(anonymous, {"token": old.notice_token, "statement": STATEMENT}, 400)

    assert "The time to appeal ended" in " ".join(body["errors"]["decision"])


def test_a_reversal_is_refused_naming_the_decision(anonymous, shadowban):
    recorded = services.reverse_decision(
        decision=shadowban,
        reason="A chess lesson after all.",
        decided_at=shadowban.decided_at + timedelta(hours=1),
    )
    reversal = Decision.objects.get(public_id=recorded.public_id)

    body = refused(anonymous, {"token": reversal.notice_token, "statement": STATEMENT}, 400)

    assert body["errors"]["decision"]


def test_reading_needs_the_token_of_that_very_appeal(anonymous, platform, shadowban, reported):
    filed = post(anonymous, {"token": shadowban.notice_token, "statement": STATEMENT}).json()
    other = record(platform, decision_payload())
    url = f"/api/v1/appeals/{filed['id']}"

    missing = anonymous.get(url)
    assert missing.status_code == 400 and missing.json()["errors"]["token"]
    for token in ("forged", other.notice_token, reported.notice_token, "x\x00y", "é" * 70):
        response = anonymous.get(url, {"token": token})
        assert response.status_code == 404, token
        assert response.json() == {"detail": "No such appeal for this token.", "errors": {}}
    assert anonymous.get("/api/v1/appeals/not-a-uuid?token=x").status_code == 404


def test_another_appellants_token_for_the_same_decision_does_not_reveal_the_appeal(
    anonymous, reported
):
    subjects = post(anonymous, {"token": reported.notice_token, "statement": STATEMENT}).json()

    response = anonymous.get(
        f"/api/v1/appeals/{subjects['id']}", {"token": reported.notifier_token}
    )

    assert response.status_code == 404
    assert STATEMENT not in response.content.decode()


def test_a_platform_key_is_neither_needed_nor_used(api, shadowban):
    response = post(api, {"token": shadowban.notice_token, "statement": STATEMENT})

    assert response.status_code == 201


def test_the_schema_documents_both_operations(anonymous):
    schema = anonymous.get("/api/v1/schema", HTTP_ACCEPT="application/json").content.decode()

    assert '"/api/v1/appeals"' in schema or "/api/v1/appeals:" in schema
    assert "/api/v1/appeals/{public_id}" in schema


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Requests go through the WSGI handler, which closes the database connection around each
    one; the test's transaction lives on it, so keep it, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_filed_and_decided_appeals_match_the_documented_schema(shadowban, keep_the_test_connection):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application())
    create = schema["/api/v1/appeals"]["POST"]
    filed = create.Case(
        body={"token": shadowban.notice_token, "statement": STATEMENT},
        media_type="application/json",
    ).call_and_validate()
    assert filed.status_code == 201

    read = schema["/api/v1/appeals/{public_id}"]["GET"]
    case = read.Case(
        path_parameters={"public_id": filed.json()["id"]},
        query={"token": shadowban.notice_token},
    )
    assert case.call_and_validate().json()["outcome"] is None
    reviewer = make_reviewer(shadowban.platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome="overturned", reason="Chess."
    )
    decided = case.call_and_validate().json()
    assert decided["outcome"] == "overturned" and decided["reversal"]["notice_url"]
