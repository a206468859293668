"""API keys: hashed, several per platform, revocable, and each records only for its platform."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from moderation import services
from moderation.models import ApiKey, Platform
from tests.factories import decision_payload

pytestmark = pytest.mark.django_db


def post_decision(client, **overrides):
    return client.post(
        "/api/v1/decisions",
        data=json.dumps(decision_payload(**overrides)),
        content_type="application/json",
    )


def decision_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


def test_only_a_hash_of_the_key_is_stored(platform):
    api_key, plaintext = services.issue_api_key(platform=platform)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM moderation_apikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()
    assert plaintext not in [str(v) for v in row]
    assert plaintext.split("_", 2)[2] not in " ".join(str(v) for v in row)


def test_a_platform_can_hold_several_working_keys(platform, model_v1, make_client):
    keys = [services.issue_api_key(platform=platform)[1] for _ in range(3)]

    statuses = [post_decision(make_client(k)).status_code for k in keys]

    assert statuses == [201, 201, 201]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer", "Bearer <key>"),
        ("Token abc", "Bearer <key>"),
        ("Bearer not-a-key", "Invalid API key."),
        ("Bearer mlk_000000000000_forged", "Invalid API key."),
    ],
)
def test_a_missing_or_wrong_key_gets_a_401_and_writes_nothing(client, platform, header, message):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.post(
        "/api/v1/decisions",
        data=json.dumps(decision_payload()),
        content_type="application/json",
        **extra,
    )

    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert decision_rows() == 0


def test_a_key_with_a_right_prefix_but_wrong_secret_is_refused(platform, make_client):
    _, plaintext = services.issue_api_key(platform=platform)
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")

    response = post_decision(make_client(forged))

    assert response.status_code == 401


def test_a_revoked_key_is_refused_saying_so(platform, model_v1, make_client):
    api_key, plaintext = services.issue_api_key(platform=platform)
    client = make_client(plaintext)
    assert post_decision(client).status_code == 201

    services.revoke_api_key(api_key=api_key)
    response = post_decision(client)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert decision_rows() == 1


def test_a_key_never_reads_another_platforms_decisions(api, make_client):
    created = post_decision(api).json()
    other = services.create_platform(slug="rival")
    _, rival_key = services.issue_api_key(platform=other)
    rival = make_client(rival_key)

    assert rival.get(f"/api/v1/decisions/{created['id']}").status_code == 404
    assert rival.get("/api/v1/decisions", {"puid": created["puid"]}).json()["results"] == []


def test_a_key_cannot_supersede_another_platforms_decision(api, make_client):
    created = post_decision(api).json()
    other = services.create_platform(slug="rival")
    _, rival_key = services.issue_api_key(platform=other)
    body = decision_payload(
        decision_type="DECISION_TYPE_REVERSAL",
        decision_visibility=[],
        supersedes=created["id"],
        model=None,
        model_version=None,
        score=None,
        automated_detection="No",
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
    )

    response = make_client(rival_key).post(
        "/api/v1/decisions", data=json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert "No decision" in response.json()["errors"]["supersedes"][0]
    assert decision_rows() == 1


def test_issue_api_key_prints_a_working_key_alone_on_its_last_line(capsys, make_client):
    call_command("issue_api_key", "newplatform", "--create")

    out = capsys.readouterr().out.strip().splitlines()
    key = out[-1]
    assert key.startswith("mlk_") and " " not in key
    assert Platform.objects.filter(slug="newplatform").exists()
    assert make_client(key).get("/api/v1/decisions").status_code == 200


def test_issue_api_key_refuses_an_unknown_platform_without_create(capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--create"):
        call_command("issue_api_key", "ghost")
    assert not ApiKey.objects.exists()


def test_issue_api_key_adds_a_key_to_an_existing_platform(platform, capsys):
    call_command("issue_api_key", platform.slug)
    call_command("issue_api_key", platform.slug)

    assert ApiKey.objects.filter(platform=platform).count() == 2
