"""The person who reported content gets a notice link of their own, which the platform asks for
by naming them (`notifier`) on a decision taken on a notice."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec
import pytest
from django.db import connection
from rest_framework.test import APIClient

from ledger.models import LogEntry
from moderation import services
from moderation.models import Decision
from moderation.pseudonyms import pseudonym
from moderation.schemas import NOTIFIED_SOURCES
from tests.factories import as_input, decision_payload, human_payload, statement_payload

pytestmark = pytest.mark.django_db


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json")


def decision_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


def test_a_notice_decision_naming_its_notifier_returns_their_own_notice_link(api):
    body = human_payload(puid="n-1", notifier="reporter-42")

    first = post(api, "/api/v1/decisions", body)
    again = post(api, "/api/v1/decisions", body)

    assert first.status_code == 201, first.json()
    assert again.status_code == 200
    url = first.json()["notifier_notice_url"]
    decision = Decision.objects.get(puid="n-1")
    assert url == f"http://testserver/notice/{decision.notifier_token}"
    assert len(decision.notifier_token) >= 32
    assert url != first.json()["notice_url"]
    # A resend, and the platform's own read, give the same link.
    assert again.json()["notifier_notice_url"] == url
    read = api.get(f"/api/v1/decisions/{decision.public_id}")
    assert read.json()["notifier_notice_url"] == url


def test_a_decision_without_a_notifier_has_no_notifier_link(api):
    response = post(api, "/api/v1/decisions", human_payload())

    assert response.status_code == 201
    assert response.json()["notifier_notice_url"] is None
    assert Decision.objects.get().notifier_token == ""


def test_each_notice_source_takes_a_notifier(api):
    for index, source in enumerate(sorted(NOTIFIED_SOURCES)):
        body = human_payload(puid=f"src-{index}", source_type=source, notifier=f"who-{index}")
        response = post(api, "/api/v1/decisions", body)
        assert response.status_code == 201, (source, response.json())
        assert response.json()["notifier_notice_url"]


def test_a_batch_gives_a_notifier_link_where_one_was_named_and_the_same_on_resend(api):
    body = {
        "decisions": [
            human_payload(puid="b-1", notifier="reporter-1"),
            human_payload(puid="b-2"),
            human_payload(puid="b-3", notifier="reporter-3"),
        ]
    }

    first = post(api, "/api/v1/decisions/batch", body)
    again = post(api, "/api/v1/decisions/batch", body)

    assert first.status_code == 201, first.json()
    assert again.status_code == 200
    links = [r["notifier_notice_url"] for r in first.json()["decisions"]]
    assert links[1] is None
    tokens = dict(Decision.objects.values_list("puid", "notifier_token"))
    assert links[0] == f"http://testserver/notice/{tokens['b-1']}"
    assert links[2] == f"http://testserver/notice/{tokens['b-3']}"
    assert [r["notifier_notice_url"] for r in again.json()["decisions"]] == links


def test_a_notifier_on_a_decision_not_taken_on_a_notice_is_refused_naming_the_field(api):
    body = decision_payload(notifier="reporter-1", policy="unknown-policy")

    response = post(api, "/api/v1/decisions", body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    # Every problem at once: the notifier and the unregistered policy.
    assert set(errors) == {"notifier", "policy"}
    assert "SOURCE_VOLUNTARY" in errors["notifier"][0]
    assert "SOURCE_ARTICLE_16" in errors["notifier"][0]
    assert decision_count() == 0


def test_a_batch_with_a_misplaced_notifier_is_refused_whole_naming_the_item(api):
    body = {
        "decisions": [
            human_payload(puid="ok", notifier="reporter-1"),
            human_payload(puid="bad", source_type="SOURCE_LEGAL_ORDER", notifier="reporter-2"),
        ]
    }

    response = post(api, "/api/v1/decisions/batch", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["1"]
    assert list(response.json()["errors"]["1"]) == ["notifier"]
    assert decision_count() == 0


@pytest.mark.parametrize("value", ["", "x" * 501])
def test_an_empty_or_overlong_notifier_is_refused(api, value):
    response = post(api, "/api/v1/decisions", human_payload(notifier=value))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["notifier"]
    assert decision_count() == 0


def test_the_notifier_is_stored_as_a_keyed_pseudonym_never_published(api, platform):
    response = post(api, "/api/v1/decisions", human_payload(puid="p-1", notifier="reporter-42"))

    with connection.cursor() as cursor:
        cursor.execute("SELECT notifier_ref, notifier_token FROM moderation_decision")
        ref, token = cursor.fetchone()
    assert ref == pseudonym(platform_slug="vidshare", kind="notifier", platform_id="reporter-42")
    assert ref != pseudonym(platform_slug="vidshare", kind="moderator", platform_id="reporter-42")
    assert "reporter-42" not in ref
    payload = LogEntry.objects.get(index=response.json()["log_index"]).payload
    for secret in ("reporter-42", ref, token):
        assert secret not in payload
    assert "notifier" not in json.loads(payload)
    # Nor does the platform's read of the decision show the id or its pseudonym.
    shown = json.dumps(api.get(f"/api/v1/decisions/{response.json()['id']}").json())
    assert "reporter-42" not in shown and ref not in shown


def test_another_notifier_under_the_same_puid_is_a_conflict(api):
    post(api, "/api/v1/decisions", human_payload(puid="c-1", notifier="reporter-1"))

    response = post(api, "/api/v1/decisions", human_payload(puid="c-1", notifier="reporter-2"))

    assert response.status_code == 409
    assert decision_count() == 1


def test_a_reversal_carries_nothing_of_the_notifier(platform):
    recorded = services.record_decision(
        platform=platform, decision=as_input(human_payload(notifier="reporter-1"))
    )
    original = Decision.objects.get(public_id=recorded.public_id)

    reversal = services.reverse_decision(decision=original, reason="Not illegal after all.")

    row = Decision.objects.get(public_id=reversal.public_id)
    assert (row.notifier_ref, row.notifier_token) == ("", "")
    assert reversal.notifier_token == ""
    assert original.notifier_token and original.notifier_ref


def test_without_a_notifier_the_submission_digest_is_what_it_was_before_the_field(
    platform, model_v1
):
    """A decision recorded before `notifier` existed stays the same decision on resend."""
    body = decision_payload(puid="old")
    item = as_input(body)
    before = msgspec.structs.asdict(item)
    del before["notifier"]
    expected = hashlib.sha256(msgspec.json.encode(before, order="sorted")).hexdigest()

    services.record_decision(platform=platform, decision=item)

    assert Decision.objects.get(puid="old").submission_digest == expected


def test_the_eu_compatible_api_takes_no_notifier(api):
    response = post(api, "/api/v1/statement", statement_payload(notifier="reporter-1"))

    # The EU's contract has no such field: dropped, as the EU drops what it does not know.
    assert response.status_code == 201
    assert "notifier_notice_url" not in response.json()
    assert Decision.objects.get().notifier_ref == ""
