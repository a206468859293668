"""Overturning or modifying a decision: a new decision about the same subject, never another."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from ledger import log
from moderation import services
from moderation.models import Decision, Platform
from moderation.vocabulary import DecisionType, Visibility
from tests.factories import as_input, decision_payload, human_payload

DECIDED = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def decision_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        (count,) = cursor.fetchone()
    return int(count)


def record(platform: Platform, **overrides: Any) -> Decision:
    defaults: dict[str, Any] = {
        "subject": {"account": "author", "content": "chess-video"},
        "content_language": "EN",
        "territorial_scope": ["DE", "FR"],
        "decided_at": "2026-11-19T10:00:00Z",
    }
    body = human_payload(**(defaults | overrides))
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json")


def change_body(original_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "puid": "change",
        "decision_type": "DECISION_TYPE_REVERSAL",
        "decision_visibility": [],
        "supersedes": original_id,
    }
    return human_payload(**(body | overrides))


COPIED = (
    "subject_account",
    "subject_content",
    "decision_ground",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "category",
    "category_specification",
    "content_type",
    "content_language",
    "territorial_scope",
    "source_type",
    "content_date",
)


# --- the service ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reversal_copies_the_subject_ground_and_category_and_points_at_the_original(
    platform, model_v1, capsys
):
    original = record(platform)

    recorded = services.reverse_decision(
        decision=original, reason="A human looked again: it is chess.", decided_at=DECIDED
    )

    reversal = Decision.objects.get(public_id=recorded.public_id)
    assert recorded.created
    assert reversal.decision_type == DecisionType.REVERSAL
    assert reversal.supersedes_id == original.pk
    assert reversal.puid == f"{original.puid}-reversal"
    assert reversal.decision_facts == "A human looked again: it is chess."
    for field in COPIED:
        assert getattr(reversal, field) == getattr(original, field), field
    assert reversal.subject_account and reversal.subject_content
    assert reversal.automated_decision == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert reversal.decision_visibility == []

    log.seal_checkpoint()
    call_command("verify_log")
    assert "OK" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_modification_records_the_lighter_restriction_over_the_original(platform, model_v1):
    original = record(platform)

    recorded = services.reverse_decision(
        decision=original,
        reason="Demoted instead of removed.",
        measure=services.Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,)),
        decided_at=DECIDED,
    )

    modified = Decision.objects.get(public_id=recorded.public_id)
    assert modified.decision_type == DecisionType.RESTRICTION
    assert modified.decision_visibility == [Visibility.CONTENT_DEMOTED]
    assert modified.supersedes_id == original.pk
    assert (modified.subject_account, modified.subject_content) == (
        original.subject_account,
        original.subject_content,
    )


@pytest.mark.django_db
def test_a_modification_to_a_heavier_measure_is_refused(platform, model_v1):
    original = record(platform)

    with pytest.raises(services.ReversalRefused, match="not lighter"):
        services.reverse_decision(
            decision=original,
            reason="Suspended instead.",
            measure=services.Measure(decision_account="DECISION_ACCOUNT_SUSPENDED"),  # type: ignore[arg-type]
        )
    assert decision_count() == 1


@pytest.mark.django_db
def test_sending_the_same_reversal_again_returns_the_recorded_one(platform, model_v1):
    original = record(platform)
    first = services.reverse_decision(decision=original, reason="Overturned.")

    again = services.reverse_decision(decision=original, reason="Overturned.")

    assert not again.created
    assert again.public_id == first.public_id
    assert decision_count() == 2


@pytest.mark.django_db
def test_another_reason_under_the_same_reversal_is_a_conflict(platform, model_v1):
    original = record(platform)
    services.reverse_decision(decision=original, reason="Overturned.")

    with pytest.raises(services.PuidConflict):
        services.reverse_decision(decision=original, reason="Something else.")
    assert decision_count() == 2


@pytest.mark.django_db
def test_a_reversal_cannot_be_reversed(platform, model_v1):
    original = record(platform)
    recorded = services.reverse_decision(decision=original, reason="Overturned.")
    reversal = Decision.objects.get(public_id=recorded.public_id)

    with pytest.raises(services.ReversalRefused, match="reversal"):
        services.reverse_decision(decision=reversal, reason="Undo the undo.")
    assert decision_count() == 2


@pytest.mark.django_db
def test_a_decision_already_reversed_is_not_reversed_or_modified_again(platform, model_v1):
    original = record(platform)
    # Reversed over the API, by a decision that is about the same content.
    body = change_body(str(original.public_id), subject={"content": "chess-video"})
    services.record_decision(platform=platform, decision=as_input(body))

    with pytest.raises(services.ReversalRefused, match="already reversed"):
        services.reverse_decision(decision=original, reason="Overturned.")
    with pytest.raises(services.ReversalRefused, match="already reversed"):
        services.reverse_decision(
            decision=original,
            reason="Demoted.",
            measure=services.Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,)),
        )
    assert decision_count() == 2


@pytest.mark.django_db
def test_the_service_cannot_be_made_to_supersede_a_decision_about_another_subject(
    platform, model_v1
):
    record(platform)
    other = record(platform, subject={"account": "someone-else", "content": "other-video"})
    # A platform decision naming another subject cannot supersede it through the write path.
    body = change_body(str(other.public_id), subject={"content": "chess-video"})

    with pytest.raises(services.DecisionsRejected) as refused:
        services.record_decision(platform=platform, decision=as_input(body))
    assert "another subject" in refused.value.errors[0]["supersedes"][0]
    assert decision_count() == 2


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param({"account": "author", "content": "another-video"}, id="other-content"),
        pytest.param({"account": "someone-else"}, id="other-account-only"),
        pytest.param({"content": "another-video"}, id="other-content-only"),
    ],
)
def test_the_api_refuses_supersedes_naming_a_decision_about_another_subject(api, subject):
    original = post(
        api, "/api/v1/decisions", decision_payload(subject={"account": "author", "content": "v1"})
    ).json()

    response = post(api, "/api/v1/decisions", change_body(original["id"], subject=subject))

    assert response.status_code == 400, response.json()
    assert "another subject" in response.json()["errors"]["supersedes"][0]
    assert decision_count() == 1


def test_the_api_refuses_a_change_naming_a_kind_of_subject_the_original_did_not(api):
    # The original was about a piece of content alone: naming an account brings in a subject
    # nobody decided about.
    original = post(api, "/api/v1/decisions", decision_payload(subject={"content": "v1"})).json()

    response = post(
        api,
        "/api/v1/decisions",
        change_body(original["id"], subject={"account": "author", "content": "v1"}),
    )

    assert response.status_code == 400
    assert "supersedes" in response.json()["errors"]
    assert decision_count() == 1


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param({"account": "author", "content": "v1"}, id="both"),
        pytest.param({"content": "v1"}, id="content-only"),
        pytest.param({"account": "author"}, id="account-only"),
    ],
)
def test_the_api_accepts_a_change_about_the_same_subject(api, subject):
    original = post(
        api, "/api/v1/decisions", decision_payload(subject={"account": "author", "content": "v1"})
    ).json()

    response = post(api, "/api/v1/decisions", change_body(original["id"], subject=subject))

    assert response.status_code == 201, response.json()
    assert response.json()["supersedes"] == original["id"]


def test_the_api_refuses_supersedes_puid_naming_a_decision_about_another_subject(api):
    post(api, "/api/v1/decisions", decision_payload(puid="orig", subject={"content": "v1"}))
    body = change_body("unused", subject={"content": "v2"}, supersedes=None)
    body["supersedes_puid"] = "orig"

    response = post(api, "/api/v1/decisions", body)

    assert response.status_code == 400
    assert "another subject" in response.json()["errors"]["supersedes_puid"][0]
    assert decision_count() == 1


def test_a_batch_with_a_change_about_another_subject_writes_nothing(api):
    original = post(api, "/api/v1/decisions", decision_payload(subject={"content": "v1"})).json()
    decisions = [
        decision_payload(subject={"content": "fresh"}),
        change_body(original["id"], puid="good-change", subject={"content": "v1"}),
        change_body(original["id"], puid="bad-change", subject={"content": "v2"}),
    ]

    response = post(api, "/api/v1/decisions/batch", {"decisions": decisions})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"2"}
    assert "another subject" in errors["2"]["supersedes"][0]
    assert decision_count() == 1


# --- the admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_reversal_page_shows_what_it_reverses_and_records_through_the_service(
    admin_client, platform, model_v1
):
    original = record(platform, decision_facts="Removed after a notice.")
    change_page = admin_client.get(f"/admin/moderation/decision/{original.pk}/change/")
    url = f"/admin/moderation/decision/{original.pk}/reverse/"
    assert url in change_page.content.decode()

    page = admin_client.get(url).content.decode()
    assert str(original.public_id) in page
    assert "Removed after a notice." in page

    response = admin_client.post(url, {"reason": "Overturned on appeal."})

    assert response.status_code == 302
    reversal = Decision.objects.get(supersedes=original)
    assert reversal.decision_type == DecisionType.REVERSAL
    assert reversal.puid == f"{original.puid}-reversal"
    assert reversal.moderator is not None and reversal.moderator.is_superuser
    assert (reversal.subject_account, reversal.subject_content) == (
        original.subject_account,
        original.subject_content,
    )


@pytest.mark.django_db
def test_the_admin_refuses_to_reverse_a_reversal_and_says_why(admin_client, platform, model_v1):
    original = record(platform)
    recorded = services.reverse_decision(decision=original, reason="Overturned.")
    reversal = Decision.objects.get(public_id=recorded.public_id)

    response = admin_client.post(
        f"/admin/moderation/decision/{reversal.pk}/reverse/", {"reason": "Undo."}
    )

    assert response.status_code == 200
    assert "is a reversal" in response.content.decode()
    assert decision_count() == 2


@pytest.mark.django_db
def test_a_reversal_dated_before_the_original_is_refused(platform, model_v1):
    original = record(platform, decided_at="2026-11-20T10:00:00Z")

    with pytest.raises(services.ReversalRefused, match="after the decision it changes"):
        services.reverse_decision(
            decision=original, reason="Overturned.", decided_at=DECIDED - dt.timedelta(days=1)
        )
    assert decision_count() == 1
