"""Who acted is recorded for every change, in the change's transaction, in a trail the database
keeps append-only; and each decision names the API key that recorded it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from moderation import forwarding, services, trail
from moderation.models import ApiKey, AuditEvent, Decision, EuForwarding, Platform
from moderation.services import Measure
from moderation.vocabulary import Visibility
from tests.factories import as_input, decision_payload, human_payload, statement_payload

pytestmark = pytest.mark.django_db


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json")


def put(api: APIClient, url: str, body: Any) -> Any:
    return api.put(url, data=json.dumps(body), content_type="application/json")


def audit_rows(action: str) -> list[dict[str, Any]]:
    """The trail's rows of one action, read with SQL, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT actor_user_id, actor_key_id, actor_label, platform_id, object_type, "
            "object_id, details FROM moderation_auditevent WHERE action = %s ORDER BY id",
            [action],
        )
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return rows


def audit_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_auditevent")
        return int(cursor.fetchone()[0])


def key_of(plaintext: str) -> ApiKey:
    return ApiKey.objects.get(prefix=plaintext.split("_")[1])


def staff(username: str = "moderator") -> User:
    return User.objects.create_user(username, is_staff=True)


# --- which key recorded each decision -------------------------------------------------------


def test_the_native_api_records_its_key_on_each_decision_and_one_audit_row_a_batch(
    api, api_key, platform
):
    key = key_of(api_key)
    body = {"decisions": [decision_payload(puid=f"k-{i}") for i in range(3)]}

    response = post(api, "/api/v1/decisions/batch", body)

    ids = [r["id"] for r in response.json()["decisions"]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT api_key_id FROM moderation_decision")
        assert cursor.fetchall() == [(key.pk,)]
    (row,) = audit_rows("decisions.recorded")
    assert (row["actor_key_id"], row["actor_user_id"]) == (key.pk, None)
    assert row["actor_label"] == f"api key {key.prefix}"
    assert row["platform_id"] == platform.pk
    assert row["object_type"] == "decision" and row["object_id"] == ids[0]
    assert row["details"] == {"count": 3, "first": ids[0], "last": ids[2]}


def test_a_single_decision_by_api_names_its_key_and_a_resend_adds_no_audit_row(api, api_key):
    body = decision_payload(puid="single")

    post(api, "/api/v1/decisions", body)
    post(api, "/api/v1/decisions", body)

    assert Decision.objects.get(puid="single").api_key_id == key_of(api_key).pk
    assert len(audit_rows("decisions.recorded")) == 1


def test_the_dsa_api_records_its_key_too(api, api_key):
    post(api, "/api/v1/statement", statement_payload(puid="eu-1"))
    post(
        api,
        "/api/v1/statements",
        {"statements": [statement_payload(puid="eu-2"), statement_payload(puid="eu-3")]},
    )

    key = key_of(api_key)
    assert set(Decision.objects.values_list("puid", "api_key_id")) == {
        ("eu-1", key.pk),
        ("eu-2", key.pk),
        ("eu-3", key.pk),
    }
    rows = audit_rows("decisions.recorded")
    assert [(r["actor_key_id"], r["details"]["count"]) for r in rows] == [(key.pk, 1), (key.pk, 2)]


def test_a_second_key_of_the_platform_is_told_apart(api, platform, make_client, model_v1):
    other, plaintext = services.issue_api_key(platform=platform, name="second")

    post(api, "/api/v1/decisions", decision_payload(puid="by-first"))
    post(make_client(plaintext), "/api/v1/decisions", decision_payload(puid="by-second"))

    assert Decision.objects.get(puid="by-second").api_key_id == other.pk
    assert Decision.objects.get(puid="by-first").api_key_id not in (None, other.pk)
    assert [r["actor_key_id"] for r in audit_rows("decisions.recorded")][-1] == other.pk


def test_a_refused_batch_writes_no_audit_row(api):
    body = {"decisions": [decision_payload(), decision_payload(policy="nope")]}

    assert post(api, "/api/v1/decisions/batch", body).status_code == 400
    assert audit_rows("decisions.recorded") == []


def test_the_audit_row_commits_with_the_decisions_or_neither_does(platform, model_v1, monkeypatch):
    def fail(**_: Any) -> None:
        raise RuntimeError("the trail is unavailable")

    monkeypatch.setattr(trail, "record", fail)

    with pytest.raises(RuntimeError):
        services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])

    assert Decision.objects.count() == 0


def test_recording_a_batch_costs_the_same_queries_whatever_its_size(api):
    """The trail adds one row a batch: no query per decision (bench/ingest.py's hot path)."""

    def queries(count: int) -> int:
        body = {"decisions": [decision_payload() for _ in range(count)]}
        with CaptureQueriesContext(connection) as captured:
            assert post(api, "/api/v1/decisions/batch", body).status_code == 201
        return len(captured.captured_queries)

    queries(1)  # warm: the first batch creates the log's head
    assert queries(2) == queries(50)


def test_decisions_recorded_by_the_seeder_or_a_script_name_no_key_and_the_system(
    platform, model_v1
):
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])

    assert Decision.objects.get().api_key_id is None
    (row,) = audit_rows("decisions.recorded")
    assert (row["actor_label"], row["actor_key_id"], row["actor_user_id"]) == (
        trail.SYSTEM,
        None,
        None,
    )


# --- the admin and reversals ----------------------------------------------------------------


def test_a_decision_recorded_in_the_admin_names_the_staff_user(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    from tests.moderation.test_admin import manual_form

    response = admin_client.post("/admin/moderation/decision/add/", manual_form(platform))

    assert response.status_code == 302
    decision = Decision.objects.get(puid="staff-removal-1")
    assert decision.api_key_id is None
    (row,) = audit_rows("decisions.recorded")
    assert (row["actor_user_id"], row["actor_key_id"]) == (admin_user.pk, None)
    assert row["actor_label"] == admin_user.username
    assert row["details"]["first"] == str(decision.public_id)


def test_a_reversal_in_the_admin_names_the_staff_user_and_what_it_reverses(
    admin_client: Client, admin_user: User, platform: Platform, model_v1: Any
) -> None:
    recorded = services.record_decision(platform=platform, decision=as_input(human_payload()))
    original = Decision.objects.get(public_id=recorded.public_id)

    response = admin_client.post(
        f"/admin/moderation/decision/{original.pk}/reverse/", {"reason": "Overturned."}
    )

    assert response.status_code == 302
    reversal = Decision.objects.get(supersedes=original)
    assert reversal.api_key_id is None
    (row,) = audit_rows("decision.reversed")
    assert row["actor_user_id"] == admin_user.pk
    assert row["object_id"] == str(original.public_id)
    assert row["details"] == {"by": str(reversal.public_id)}
    # One row for the reversal, not a second "decisions.recorded" for the same change.
    assert len(audit_rows("decisions.recorded")) == 1


def test_reverse_decision_records_its_actor_and_a_resend_records_nothing_more(platform, model_v1):
    reviewer = staff("reviewer")
    recorded = services.record_decision(platform=platform, decision=as_input(human_payload()))
    original = Decision.objects.get(public_id=recorded.public_id)
    when = timezone.now()

    for _ in range(2):
        services.reverse_decision(
            decision=original, reason="Overturned on appeal.", actor=reviewer, decided_at=when
        )

    (row,) = audit_rows("decision.reversed")
    assert (row["actor_user_id"], row["actor_label"]) == (reviewer.pk, "reviewer")


def test_a_modification_is_recorded_as_one(platform, model_v1):
    recorded = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"])
        ),
    )
    original = Decision.objects.get(public_id=recorded.public_id)

    modification = services.reverse_decision(
        decision=original,
        reason="Demoted instead.",
        measure=Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,)),
    )

    (row,) = audit_rows("decision.modified")
    assert row["actor_label"] == trail.SYSTEM  # no actor given: a script
    assert row["details"] == {"by": str(modification.public_id)}


# --- keys, policies, models ------------------------------------------------------------------


def test_a_key_issued_and_revoked_in_the_admin_names_the_staff_user(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    admin_client.post("/admin/moderation/apikey/add/", {"platform": platform.pk, "name": "x"})
    key = ApiKey.objects.get(name="x")

    admin_client.post(
        "/admin/moderation/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]}
    )
    services.revoke_api_key(api_key=key, actor=admin_user)  # already revoked: nothing

    (issued,) = audit_rows("api_key.issued")
    (revoked,) = audit_rows("api_key.revoked")
    for row in (issued, revoked):
        assert (row["actor_user_id"], row["object_type"], row["object_id"]) == (
            admin_user.pk,
            "api_key",
            key.prefix,
        )
        assert row["platform_id"] == platform.pk


def test_issue_api_key_records_the_command_as_the_actor(capsys, db):
    call_command("issue_api_key", "clipz", "--create")

    (created,) = audit_rows("platform.created")
    (issued,) = audit_rows("api_key.issued")
    assert created["actor_label"] == issued["actor_label"] == "manage.py issue_api_key"
    assert issued["object_id"] == capsys.readouterr().out.strip().split("_")[1]


def test_policies_and_model_versions_registered_by_api_name_the_key(api, api_key):
    key = key_of(api_key)
    policy = {
        "key": "spam",
        "title": "Spam",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "clause": "7.1",
    }
    model = {"name": "spam-filter", "version": "v3", "released_at": "2026-10-01", "threshold": 0.7}

    for _ in range(2):  # the second time finds them registered: no new rows
        assert post(api, "/api/v1/policies", {**policy, "version": 1}).status_code in (200, 201)
        assert post(api, "/api/v1/models", model).status_code in (200, 201)

    (p,) = audit_rows("policy.registered")
    assert p["actor_key_id"] == key.pk and p["details"] == {"key": "spam", "version": 1}
    registered = [r for r in audit_rows("model_version.registered") if r["actor_key_id"]]
    assert [r["details"] for r in registered] == [{"model": "spam-filter", "version": "v3"}]


def test_policies_and_model_versions_registered_in_the_admin_name_the_staff_user(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    admin_client.post(
        "/admin/moderation/policy/add/",
        {
            "platform": platform.pk,
            "key": "hate",
            "title": "Hateful conduct",
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "clause": "4.2",
        },
    )
    admin_client.post(
        "/admin/moderation/modelversion/add/",
        {
            "platform": platform.pk,
            "name": "nudity",
            "version": "2026-11",
            "released_at": "2026-11-01",
            "threshold": "0.85",
        },
    )

    assert [r["actor_user_id"] for r in audit_rows("policy.registered")] == [admin_user.pk]
    assert [r["actor_user_id"] for r in audit_rows("model_version.registered")] == [admin_user.pk]


# --- EU forwarding ------------------------------------------------------------------------------


def test_eu_forwarding_set_and_changed_by_api_name_the_key_never_the_token(api, api_key, platform):
    put(api, "/api/v1/forwarding/eu", {"api_token": "first-secret-token"})
    put(api, "/api/v1/forwarding/eu", {"api_token": "second-secret-token", "enabled": False})

    key = key_of(api_key)
    (set_,) = audit_rows("eu_forwarding.set")
    (changed,) = audit_rows("eu_forwarding.changed")
    assert set_["actor_key_id"] == changed["actor_key_id"] == key.pk
    assert set_["details"] == {"endpoint": "", "enabled": True}
    assert changed["details"]["enabled"] is False
    assert changed["details"]["before"]["enabled"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM moderation_auditevent")
        everything = " ".join(str(row[0]) for row in cursor.fetchall())
    assert "secret-token" not in everything


def test_eu_forwarding_given_in_the_admin_names_the_staff_user(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    admin_client.post(
        "/admin/moderation/euforwarding/add/",
        {"platform": platform.pk, "api_token": "eu-token-from-admin", "enabled": "on"},
    )

    (row,) = audit_rows("eu_forwarding.set")
    assert row["actor_user_id"] == admin_user.pk


def test_forwarding_paused_by_the_forwarder_is_recorded_as_the_systems_act(platform):
    forwarding.configure_eu_forwarding(platform=platform, api_token="t", actor="test")
    # A token that no longer decrypts (SECRET_KEY changed): the forwarder pauses by itself.
    EuForwarding.objects.filter(platform=platform).update(encrypted_token="garbage")

    assert forwarding.forward_due_statements(platform=platform).outcome == "paused"
    assert forwarding.forward_due_statements(platform=platform).outcome == "disabled"

    (row,) = audit_rows("eu_forwarding.paused")
    assert row["actor_label"] == trail.SYSTEM
    assert "decrypted" in row["details"]["reason"]


# --- the trail itself -----------------------------------------------------------------------


def raw(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE moderation_auditevent SET actor_label = 'someone else'",
        "UPDATE moderation_auditevent SET action = 'nothing'",
        "DELETE FROM moderation_auditevent",
    ],
)
def test_raw_sql_cannot_change_or_delete_an_audit_row(platform, statement):
    services.issue_api_key(platform=platform, actor="test")
    before = raw("SELECT * FROM moderation_auditevent")
    assert before

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(statement)

    assert raw("SELECT * FROM moderation_auditevent") == before


def test_an_audit_row_names_its_actor():
    with pytest.raises(ValueError, match="actor"):
        trail.record(actor=None, action="x", object_type="x", object_id=1)


def test_the_admin_lists_the_trail_read_only(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    services.issue_api_key(platform=platform, name="k", actor=admin_user)
    event = AuditEvent.objects.get(action="api_key.issued")
    url = "/admin/moderation/auditevent/"

    page = admin_client.get(url)
    assert page.status_code == 200
    assert "api_key.issued" in page.content.decode()
    assert admin_client.get(url, {"actor_kind": "user"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"actor_kind": "key"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"q": event.object_id}).context["cl"].result_count == 1
    change = f"{url}{event.pk}/change/"
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(f"{url}add/").status_code == 403
    assert admin_client.post(change, {"action": "edited"}).status_code == 403
    assert admin_client.post(f"{url}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "api_key.issued"
