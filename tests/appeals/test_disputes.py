"""Out-of-court disputes (DSA Article 21): a referral, the body's ruling and whether the
platform implemented it, each an append-only row bound to its log entry; refused input names
every problem and writes nothing; the counts are checked against hand-computed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from appeals import disputes
from appeals.disputes import (
    DisputeRejected,
    dispute_counts,
    record_implementation,
    record_ruling,
    refer_dispute,
)
from appeals.models import Dispute, DisputeImplementation, DisputeRuling
from ledger.audit import audit_log
from ledger.db import append_only_models
from ledger.models import EntryType, LogEntry
from moderation import services
from moderation.models import ApiKey, AuditEvent, Decision, Platform
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload

pytestmark = pytest.mark.django_db

DECIDED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BODY = "Appeals Centre Europe"
ACTOR = "tests"


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(platform, decision_payload(decided_at=DECIDED.isoformat()))


@pytest.fixture
def removal_on_notice(platform: Platform) -> Decision:
    return record(platform, human_payload(decided_at=DECIDED.isoformat()))


def refer(decision: Decision, **overrides: Any) -> Dispute:
    kwargs: dict[str, Any] = {
        "decision": decision,
        "complainant": "subject",
        "body": BODY,
        "referred_at": DECIDED + timedelta(days=3),
        "actor": ACTOR,
        "now": NOW,
    }
    kwargs.update(overrides)
    return refer_dispute(**kwargs)


def writes() -> tuple[int, ...]:
    return (
        LogEntry.objects.count(),
        Dispute.objects.count(),
        DisputeRuling.objects.count(),
        DisputeImplementation.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(call: Any, **kwargs: Any) -> DisputeRejected:
    before = writes()
    with pytest.raises(DisputeRejected) as caught:
        call(**kwargs)
    assert writes() == before
    return caught.value


def payload(index: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(LogEntry.objects.get(index=index).payload)
    return loaded


# --- the referral ----------------------------------------------------------------------------


def test_a_referral_is_a_row_a_log_entry_and_an_audit_row(shadowban, platform):
    dispute = refer(shadowban, body="  Appeals Centre Europe ")

    assert dispute.body == "Appeals Centre Europe"  # surrounding spaces are not a new name
    assert payload(dispute.log_entry_id) == {
        "type": "dispute_referred",
        "id": str(dispute.public_id),
        "decision": str(shadowban.public_id),
        "platform": "vidshare",
        "complainant": "subject",
        "body": "Appeals Centre Europe",
        "referred_at": "2026-11-05T08:30:00+00:00",
    }
    assert LogEntry.objects.get(index=dispute.log_entry_id).entry_type == "dispute_referred"
    event = AuditEvent.objects.get(action="dispute.referred")
    assert (event.actor_label, event.object_id, event.platform_id) == (
        ACTOR,
        str(dispute.public_id),
        platform.pk,
    )


def test_a_referral_names_every_problem_at_once_and_writes_nothing(shadowban):
    error = refused(
        refer_dispute,
        decision=shadowban,
        complainant="lawyer",
        body="Appeals\x00Centre",
        referred_at=NOW + timedelta(seconds=1),
        actor=ACTOR,
        now=NOW,
    )

    assert error.code == "invalid"
    assert error.errors == {
        "complainant": ["Must be one of subject, notifier."],
        "body": ["Contains a control character (a line break, a tab, a NUL...)."],
        "referred_at": ["Must not be in the future (now is 2026-12-01T12:00:00+00:00)."],
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "Name the certified dispute settlement body."),
        ("   ", "Name the certified dispute settlement body."),
        ("x" * 201, "At most 200 characters, got 201."),
        ("Line\nbreak", "Contains a control character (a line break, a tab, a NUL...)."),
        (42, "Must be text: the certified body's name."),
    ],
)
def test_the_body_is_a_name(shadowban, body, problem):
    error = refused(refer, decision=shadowban, body=body)

    assert error.errors == {"body": [problem]}


def test_a_referral_before_the_decision_or_without_a_zone_is_refused(shadowban):
    early = refused(refer, decision=shadowban, referred_at=DECIDED - timedelta(minutes=1))
    naive = refused(refer, decision=shadowban, referred_at=datetime(2026, 11, 5, 10, 0))
    missing = refused(refer, decision=shadowban, referred_at=None)

    assert early.errors == {
        "referred_at": ["Must not be before the decision it disputes (2026-11-02T08:30:00+00:00)."]
    }
    assert naive.errors == {"referred_at": ["Give a time zone (Z or an offset such as +01:00)."]}
    assert missing.errors == {"referred_at": ["Required."]}


def test_the_decisions_own_time_and_now_are_both_allowed(shadowban):
    at_decision = refer(shadowban, referred_at=DECIDED)
    at_now = refer(shadowban, referred_at=NOW)

    assert (at_decision.referred_at, at_now.referred_at) == (DECIDED, NOW)


def test_only_a_decision_taken_on_a_notice_has_a_notifier_to_refer_it(shadowban, removal_on_notice):
    error = refused(refer, decision=shadowban, complainant="notifier")
    dispute = refer(removal_on_notice, complainant="notifier")

    assert error.errors == {
        "complainant": [
            "This decision was not taken on a notice, so there is no notifier to refer it."
        ]
    }
    assert dispute.complainant == "notifier"


def test_the_same_referral_twice_is_a_conflict_but_another_body_is_a_new_dispute(shadowban):
    first = refer(shadowban)
    error = refused(refer, decision=shadowban)
    other = refer(shadowban, body="User Rights GmbH")

    assert error.code == "conflict"
    assert error.errors == {
        "dispute": [f"This referral is already recorded as dispute {first.public_id}."]
    }
    assert other.pk != first.pk


def test_a_reversal_can_be_taken_to_a_body(platform, shadowban):
    # Reversals cannot be appealed internally, but out-of-court settlement stays open.
    reversal = services.reverse_decision(
        decision=shadowban, reason="A person looked again.", decided_at=DECIDED + timedelta(days=1)
    )
    decision = Decision.objects.get(public_id=reversal.public_id)

    assert refer(decision, referred_at=DECIDED + timedelta(days=2)).decision_id == decision.pk


# --- the ruling ------------------------------------------------------------------------------


def test_a_ruling_is_logged_once_and_a_second_is_a_conflict(shadowban):
    dispute = refer(shadowban)
    ruling = record_ruling(
        dispute=dispute,
        outcome="overturned",
        decided_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        actor=ACTOR,
        now=NOW,
    )

    assert payload(ruling.log_entry_id) == {
        "type": "dispute_decided",
        "dispute": str(dispute.public_id),
        "decision": str(shadowban.public_id),
        "platform": "vidshare",
        "outcome": "overturned",
        "decided_at": "2026-11-20T15:00:00+00:00",
    }
    again = refused(
        record_ruling, dispute=dispute, outcome="upheld", decided_at=NOW, actor=ACTOR, now=NOW
    )
    assert again.code == "conflict"
    assert again.errors == {"dispute": ["The body's ruling of this dispute is already recorded."]}
    assert AuditEvent.objects.filter(action="dispute.decided").count() == 1


def test_a_ruling_names_every_problem_at_once(shadowban):
    dispute = refer(shadowban)

    error = refused(
        record_ruling,
        dispute=dispute,
        outcome="partly",
        decided_at=dispute.referred_at - timedelta(seconds=1),
        actor=ACTOR,
        now=NOW,
    )

    assert error.errors == {
        "outcome": ["Must be one of upheld, overturned, settled, withdrawn."],
        "decided_at": ["Must not be before the referral (2026-11-05T08:30:00+00:00)."],
    }
    future = refused(
        record_ruling,
        dispute=dispute,
        outcome="upheld",
        decided_at=NOW + timedelta(days=1),
        actor=ACTOR,
        now=NOW,
    )
    assert future.errors == {
        "decided_at": ["Must not be in the future (now is 2026-12-01T12:00:00+00:00)."]
    }


# --- the implementation ----------------------------------------------------------------------


def test_implementation_comes_after_the_ruling_once(shadowban):
    dispute = refer(shadowban)
    ruled_at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

    early = refused(
        record_implementation,
        dispute=dispute,
        implemented=True,
        implemented_at=ruled_at,
        actor=ACTOR,
        now=NOW,
    )
    record_ruling(dispute=dispute, outcome="overturned", decided_at=ruled_at, actor=ACTOR, now=NOW)
    before_ruling = refused(
        record_implementation,
        dispute=dispute,
        implemented=True,
        implemented_at=ruled_at - timedelta(seconds=1),
        actor=ACTOR,
        now=NOW,
    )
    done = record_implementation(
        dispute=dispute, implemented=True, implemented_at=ruled_at, actor=ACTOR, now=NOW
    )
    twice = refused(
        record_implementation,
        dispute=dispute,
        implemented=False,
        implemented_at=None,
        actor=ACTOR,
        now=NOW,
    )

    assert (early.code, early.errors) == (
        "conflict",
        {"dispute": ["Record the body's ruling first: there is nothing to implement yet."]},
    )
    assert before_ruling.errors == {
        "implemented_at": ["Must not be before the ruling (2026-11-20T15:00:00+00:00)."]
    }
    assert payload(done.log_entry_id) == {
        "type": "dispute_implemented",
        "dispute": str(dispute.public_id),
        "decision": str(shadowban.public_id),
        "platform": "vidshare",
        "implemented": True,
        "implemented_at": "2026-11-20T15:00:00+00:00",
    }
    assert twice.code == "conflict"


@pytest.mark.parametrize(
    ("implemented", "implemented_at", "errors"),
    [
        (True, None, {"implemented_at": ["Say when the platform implemented the outcome."]}),
        (
            False,
            datetime(2026, 11, 21, tzinfo=UTC),
            {"implemented_at": ["Must be null when the outcome was not implemented."]},
        ),
        ("yes", None, {"implemented": ["Must be true or false."]}),
        (
            True,
            NOW + timedelta(hours=1),
            {"implemented_at": ["Must not be in the future (now is 2026-12-01T12:00:00+00:00)."]},
        ),
    ],
)
def test_implemented_at_is_given_exactly_when_implemented(
    shadowban, implemented, implemented_at, errors
):
    dispute = refer(shadowban)
    record_ruling(dispute=dispute, outcome="overturned", decided_at=NOW, actor=ACTOR, now=NOW)

    error = refused(
        record_implementation,
        dispute=dispute,
        implemented=implemented,
        implemented_at=implemented_at,
        actor=ACTOR,
        now=NOW,
    )

    assert (error.code, error.errors) == ("invalid", errors)


def test_not_implemented_is_recorded_with_no_time(shadowban):
    dispute = refer(shadowban)
    record_ruling(dispute=dispute, outcome="overturned", decided_at=NOW, actor=ACTOR, now=NOW)

    done = record_implementation(
        dispute=dispute, implemented=False, implemented_at=None, actor=ACTOR, now=NOW
    )

    assert (done.implemented, done.implemented_at) == (False, None)
    assert payload(done.log_entry_id)["implemented_at"] is None


def test_a_withdrawn_dispute_has_nothing_to_implement(shadowban):
    dispute = refer(shadowban)
    record_ruling(dispute=dispute, outcome="withdrawn", decided_at=NOW, actor=ACTOR, now=NOW)

    error = refused(
        record_implementation,
        dispute=dispute,
        implemented=False,
        implemented_at=None,
        actor=ACTOR,
        now=NOW,
    )

    assert error.errors == {
        "dispute": ["The dispute was withdrawn: there is no outcome to implement."]
    }


def test_services_need_an_aware_now(shadowban):
    with pytest.raises(ValueError, match="aware"):
        refer(shadowban, now=datetime(2026, 12, 1, 12, 0))


# --- bound to the log, append-only ---------------------------------------------------------


def full_dispute(decision: Decision) -> Dispute:
    dispute = refer(decision)
    record_ruling(dispute=dispute, outcome="overturned", decided_at=NOW, actor=ACTOR, now=NOW)
    record_implementation(
        dispute=dispute, implemented=True, implemented_at=NOW, actor=ACTOR, now=NOW
    )
    return dispute


def test_verify_log_rebuilds_every_dispute_entry(shadowban):
    full_dispute(shadowban)
    refer(shadowban, body="User Rights GmbH")

    report = audit_log()

    assert report.ok, report.problems
    types = list(
        LogEntry.objects.filter(entry_type__startswith="dispute").values_list(
            "entry_type", flat=True
        )
    )
    assert sorted(types) == sorted(
        [
            EntryType.DISPUTE_REFERRED,
            EntryType.DISPUTE_DECIDED,
            EntryType.DISPUTE_IMPLEMENTED,
            EntryType.DISPUTE_REFERRED,
        ]
    )


@pytest.mark.parametrize(
    ("table", "column", "value", "field"),
    [
        ("appeals_dispute", "body", "Another Body", "body"),
        ("appeals_disputeruling", "outcome", "upheld", "outcome"),
        (
            "appeals_disputeimplementation",
            "implemented_at",
            "2026-11-30 00:00:00+00",
            "implemented_at",
        ),
    ],
)
def test_verify_log_catches_a_row_edited_behind_the_triggers(
    shadowban, capsys, table, column, value, field
):
    from tests.ledger.test_binding import sql

    full_dispute(shadowban)
    call_command("verify_log")
    capsys.readouterr()

    sql(f"UPDATE {table} SET {column} = %s", [value])

    with pytest.raises(CommandError, match="first bad index"):
        call_command("verify_log")
    assert f"differs from its log entry in {field}" in capsys.readouterr().err


def test_the_three_tables_are_append_only():
    tables = {m._meta.db_table for m in append_only_models()}

    assert {
        "appeals_dispute",
        "appeals_disputeruling",
        "appeals_disputeimplementation",
    } <= tables


def raw(statement: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE appeals_dispute SET body = 'Another Body'",
        "UPDATE appeals_dispute SET referred_at = '2026-11-04 08:30:00+00'",
        "DELETE FROM appeals_dispute",
        "UPDATE appeals_disputeruling SET outcome = 'upheld'",
        "DELETE FROM appeals_disputeruling",
        "UPDATE appeals_disputeimplementation SET implemented = false, implemented_at = NULL",
        "DELETE FROM appeals_disputeimplementation",
    ],
)
def test_raw_sql_cannot_change_or_delete_a_dispute(shadowban, statement):
    full_dispute(shadowban)
    tables = ("appeals_dispute", "appeals_disputeruling", "appeals_disputeimplementation")
    before = [raw(f"SELECT * FROM {table}") for table in tables]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(statement)

    assert [raw(f"SELECT * FROM {table}") for table in tables] == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_rulings_at_once_record_exactly_one(flushable_append_only_tables, shadowban):
    dispute = refer(shadowban)

    def rule(outcome: str) -> Any:
        return lambda: record_ruling(
            dispute=Dispute.objects.get(pk=dispute.pk),
            outcome=outcome,
            decided_at=NOW,
            actor=ACTOR,
            now=NOW,
        )

    outcomes = at_once([rule("upheld"), rule("overturned"), rule("settled")])

    assert len(failures(outcomes)) == 2
    assert all(isinstance(f, DisputeRejected) and f.code == "conflict" for f in failures(outcomes))
    assert DisputeRuling.objects.count() == 1
    assert LogEntry.objects.filter(entry_type="dispute_decided").count() == 1
    assert audit_log().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_referral_sent_twice_at_once_is_recorded_once(
    flushable_append_only_tables, shadowban
):
    outcomes = at_once([lambda: refer(shadowban), lambda: refer(shadowban)])

    assert len(failures(outcomes)) == 1
    assert Dispute.objects.count() == 1
    assert LogEntry.objects.filter(entry_type="dispute_referred").count() == 1


# --- counts ----------------------------------------------------------------------------------


def test_counts_of_nothing():
    assert dispute_counts() == {
        "referred": 0,
        "decided": {"upheld": 0, "overturned": 0, "settled": 0, "withdrawn": 0},
        "decided_total": 0,
        "awaiting_ruling": 0,
        "implemented": 0,
        "not_implemented": 0,
        "awaiting_implementation": 0,
        "median_days_to_ruling": None,
    }


def test_counts_by_hand(platform, shadowban):
    other = services.create_platform(slug="clipshare", name="ClipShare")
    other_decision = record(
        other, human_payload(decided_at=DECIDED.isoformat(), model=None, model_version=None)
    )
    day = timedelta(days=1)
    start = datetime(2026, 11, 3, tzinfo=UTC)

    def dispute(
        decision: Decision,
        referred: datetime,
        outcome: str | None,
        ruled_after: float,
        done: bool | None,
    ) -> None:
        d = refer(decision, referred_at=referred, body=f"Body {referred:%d%H%M}")
        if outcome is None:
            return
        decided = referred + ruled_after * day
        record_ruling(dispute=d, outcome=outcome, decided_at=decided, actor=ACTOR, now=NOW)
        if done is not None:
            record_implementation(
                dispute=d,
                implemented=done,
                implemented_at=decided + day if done else None,
                actor=ACTOR,
                now=NOW,
            )

    # vidshare: six disputes referred on 3, 4, 5, 6, 7 and 8 November.
    dispute(shadowban, start, "overturned", 10, True)  # 10 days, implemented
    dispute(shadowban, start + day, "overturned", 4, False)  # 4 days, not implemented
    dispute(shadowban, start + 2 * day, "upheld", 2.5, None)  # 2.5 days, awaiting
    dispute(shadowban, start + 3 * day, "withdrawn", 1, None)  # 1 day, nothing to implement
    dispute(shadowban, start + 4 * day, "settled", 6, True)  # 6 days, implemented
    dispute(shadowban, start + 5 * day, None, 0, None)  # awaiting the ruling
    # clipshare: one, overturned in 20 days and implemented.
    dispute(other_decision, start, "overturned", 20, True)

    # vidshare: rulings took 10, 4, 2.5, 1 and 6 days: the median is 4.
    assert dispute_counts([platform.pk]) == {
        "referred": 6,
        "decided": {"upheld": 1, "overturned": 2, "settled": 1, "withdrawn": 1},
        "decided_total": 5,
        "awaiting_ruling": 1,
        "implemented": 2,
        "not_implemented": 1,
        "awaiting_implementation": 1,
        "median_days_to_ruling": 4.0,
    }
    # Both platforms: 10, 4, 2.5, 1, 6 and 20 days: the median is (4 + 6) / 2 = 5.
    both = dispute_counts()
    assert (both["referred"], both["implemented"], both["median_days_to_ruling"]) == (7, 3, 5.0)
    # Referred from 5 November (included) to 7 November (excluded): the upheld and the
    # withdrawn ones, ruled after 2.5 and 1 days.
    window = dispute_counts([platform.pk], since=start + 2 * day, until=start + 4 * day)
    assert window["referred"] == 2
    assert window["decided"] == {"upheld": 1, "overturned": 0, "settled": 0, "withdrawn": 1}
    assert window["median_days_to_ruling"] == 1.75
    assert (
        window["implemented"],
        window["not_implemented"],
        window["awaiting_implementation"],
    ) == (0, 0, 1)


def test_counts_take_one_query(platform, shadowban, django_assert_num_queries):
    full_dispute(shadowban)

    with django_assert_num_queries(1):
        dispute_counts([platform.pk])


# --- the notice page's reading -------------------------------------------------------------


def test_the_notice_view_says_who_referred_it(removal_on_notice):
    full_dispute(removal_on_notice)
    refer(removal_on_notice, complainant="notifier", body="User Rights GmbH")

    for_subject = disputes.disputes_for_notice(removal_on_notice, "subject")
    for_notifier = disputes.disputes_for_notice(removal_on_notice, "notifier")

    assert [v.by_holder for v in for_subject] == [True, False]
    assert [v.by_holder for v in for_notifier] == [False, True]
    first = for_subject[0]
    assert first.outcome == "The body found the decision wrong: it should be reversed."
    assert (first.implemented, first.implemented_at) == (True, NOW)
    assert for_subject[1].outcome is None


def test_an_api_key_can_be_the_actor(platform, shadowban):
    _, key = services.issue_api_key(platform=platform, name="disputes")
    api_key = ApiKey.objects.get(prefix=key.split("_")[1])

    refer(shadowban, actor=api_key)

    event = AuditEvent.objects.get(action="dispute.referred")
    assert (event.actor_key_id, event.actor_label) == (api_key.pk, f"api key {api_key.prefix}")


# --- the API -------------------------------------------------------------------------------

REFERRAL = {"complainant": "subject", "body": BODY, "referred_at": "2026-11-05T09:30:00+01:00"}


def post_referral(api: Any, decision: Decision, **overrides: Any) -> Any:
    body = {"decision": str(decision.public_id), **REFERRAL, **overrides}
    return api.post("/api/v1/disputes", body, format="json")


def test_the_api_records_a_referral_with_its_log_entry(api, shadowban):
    response = post_referral(api, shadowban)

    assert response.status_code == 201, response.json()
    data = response.json()
    dispute = Dispute.objects.get()
    entry = LogEntry.objects.get(index=dispute.log_entry_id)
    assert data == {
        "id": str(dispute.public_id),
        "decision": str(shadowban.public_id),
        "platform": "vidshare",
        "complainant": "subject",
        "body": BODY,
        "referred_at": "2026-11-05T08:30:00Z",
        "created_at": data["created_at"],
        "log_index": entry.index,
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "status": "referred",
        "ruling": None,
        "implementation": None,
    }
    event = AuditEvent.objects.get(action="dispute.referred")
    assert event.actor_key is not None and event.actor_key.platform_id == shadowban.platform_id


def test_sending_the_same_referral_again_answers_the_one_recorded(api, shadowban):
    first = post_referral(api, shadowban)
    again = post_referral(api, shadowban, referred_at="2026-11-05T08:30:00Z")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Dispute.objects.count() == 1


def test_the_api_names_every_problem_of_a_referral_at_once(api, shadowban):
    before = writes()

    response = api.post(
        "/api/v1/disputes",
        {
            "decision": 17,
            "complainant": "lawyer",
            "body": "Appeals\x00Centre",
            "referred_at": "2026-11-05T09:30:00",
            "urgent": True,
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"decision", "complainant", "body", "referred_at", "urgent"}
    assert errors["referred_at"] == ["Give a time zone (Z or an offset such as +01:00)."]
    assert errors["urgent"] == ["Unknown field."]
    assert writes() == before


def test_the_api_names_the_rules_between_fields_with_the_type_errors(api, shadowban):
    before = writes()

    response = post_referral(
        api, shadowban, complainant="notifier", referred_at="2026-11-01T00:00:00Z", body=5
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["complainant"] == [
        "This decision was not taken on a notice, so there is no notifier to refer it."
    ]
    assert errors["referred_at"] == [
        "Must not be before the decision it disputes (2026-11-02T08:30:00+00:00)."
    ]
    assert list(errors["body"]) == ["Not a valid string."]
    assert writes() == before


@pytest.mark.parametrize(
    "referred_at",
    ["2999-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "yesterday", 20261105, None],
)
def test_out_of_range_and_malformed_times_are_a_400(api, shadowban, referred_at):
    response = post_referral(api, shadowban, referred_at=referred_at)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["referred_at"]


def test_another_platforms_decision_is_unknown(api, make_client, shadowban):
    other = services.create_platform(slug="clipshare", name="ClipShare")
    _, key = services.issue_api_key(platform=other, name="theirs")

    response = post_referral(make_client(key), shadowban)

    assert response.status_code == 400
    assert response.json()["errors"] == {"decision": ["None of your decisions has this id."]}


def test_the_api_needs_a_platform_key(shadowban):
    from rest_framework.test import APIClient

    anonymous = APIClient()

    assert anonymous.get("/api/v1/disputes").status_code == 401
    assert post_referral(anonymous, shadowban).status_code == 401


def test_a_ruling_and_an_implementation_through_the_api(api, shadowban):
    dispute_id = post_referral(api, shadowban).json()["id"]
    base = f"/api/v1/disputes/{dispute_id}"

    early = api.post(
        f"{base}/implementation",
        {"implemented": True, "implemented_at": "2026-11-21T09:00:00Z"},
        format="json",
    )
    bad = api.post(
        f"{base}/ruling",
        {"outcome": "partly", "decided_at": "2026-11-04T00:00:00Z"},
        format="json",
    )
    ruled = api.post(
        f"{base}/ruling",
        {"outcome": "overturned", "decided_at": "2026-11-20T15:30:00Z"},
        format="json",
    )
    same = api.post(
        f"{base}/ruling",
        {"outcome": "overturned", "decided_at": "2026-11-20T16:30:00+01:00"},
        format="json",
    )
    other = api.post(
        f"{base}/ruling", {"outcome": "upheld", "decided_at": "2026-11-20T15:30:00Z"}, format="json"
    )
    missing_time = api.post(f"{base}/implementation", {"implemented": True}, format="json")
    done = api.post(
        f"{base}/implementation",
        {"implemented": True, "implemented_at": "2026-11-21T09:00:00Z"},
        format="json",
    )

    assert (early.status_code, early.json()["code"]) == (409, "conflict")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {
        "outcome": ["Must be one of upheld, overturned, settled, withdrawn."],
        "decided_at": ["Must not be before the referral (2026-11-05T08:30:00+00:00)."],
    }
    assert (ruled.status_code, same.status_code, other.status_code) == (201, 200, 409)
    assert ruled.json()["status"] == "decided"
    assert ruled.json()["ruling"]["outcome"] == "overturned"
    assert ruled.json()["ruling"]["decided_at"] == "2026-11-20T15:30:00Z"
    assert missing_time.status_code == 400
    assert missing_time.json()["errors"] == {
        "implemented_at": ["Say when the platform implemented the outcome."]
    }
    assert done.status_code == 201
    data = done.json()
    assert data["status"] == "implemented"
    implementation = DisputeImplementation.objects.get()
    assert data["implementation"] == {
        "implemented": True,
        "implemented_at": "2026-11-21T09:00:00Z",
        "log_index": implementation.log_entry_id,
        "leaf_hash": bytes(implementation.log_entry.leaf_hash).hex(),
    }
    assert api.get(base).json() == data
    assert audit_log().ok


def test_not_implemented_needs_no_time(api, shadowban):
    dispute_id = post_referral(api, shadowban).json()["id"]
    base = f"/api/v1/disputes/{dispute_id}"
    api.post(
        f"{base}/ruling",
        {"outcome": "overturned", "decided_at": "2026-11-20T15:30:00Z"},
        format="json",
    )

    response = api.post(f"{base}/implementation", {"implemented": False}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "not_implemented"
    assert response.json()["implementation"]["implemented_at"] is None


def test_the_list_is_the_platforms_own_and_filters_by_decision(
    api, make_client, shadowban, removal_on_notice
):
    first = post_referral(api, shadowban).json()["id"]
    second = post_referral(api, removal_on_notice, complainant="notifier").json()["id"]
    other = services.create_platform(slug="clipshare", name="ClipShare")
    _, key = services.issue_api_key(platform=other, name="theirs")
    theirs = make_client(key)

    everything = api.get("/api/v1/disputes").json()["results"]
    one = api.get(f"/api/v1/disputes?decision={shadowban.public_id}").json()["results"]
    bad = api.get("/api/v1/disputes?decision=not-a-uuid")

    assert [d["id"] for d in everything] == [second, first]  # newest first
    assert [d["id"] for d in one] == [first]
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["decision"]
    assert theirs.get("/api/v1/disputes").json()["results"] == []
    assert theirs.get(f"/api/v1/disputes/{first}").status_code == 404
    ruling = theirs.post(
        f"/api/v1/disputes/{first}/ruling",
        {"outcome": "upheld", "decided_at": "2026-11-20T15:30:00Z"},
        format="json",
    )
    assert ruling.status_code == 404
    assert DisputeRuling.objects.count() == 0


@pytest.mark.parametrize(
    "dispute_id", ["nope", "1", "00000000-0000-0000-0000-000000000000", "x" * 300]
)
def test_unknown_or_malformed_ids_are_a_json_404(api, dispute_id):
    response = api.get(f"/api/v1/disputes/{dispute_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_schema_documents_the_dispute_operations(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    paths = schema["paths"]
    assert set(paths["/api/v1/disputes"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/disputes/{dispute_id}"]
    assert "post" in paths["/api/v1/disputes/{dispute_id}/ruling"]
    assert "post" in paths["/api/v1/disputes/{dispute_id}/implementation"]
    components = schema["components"]["schemas"]
    out = components["DisputeOut"]["properties"]
    status = components[out["status"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert status["enum"] == ["referred", "decided", "implemented", "not_implemented", "withdrawn"]
    ruling = components["RulingOut"]["properties"]["outcome"]["$ref"]
    assert ruling == "#/components/schemas/DisputeOutcomeEnum"
    assert components["DisputeOutcomeEnum"]["enum"] == [
        "upheld",
        "overturned",
        "settled",
        "withdrawn",
    ]


# --- the admin -----------------------------------------------------------------------------


@pytest.fixture
def moderator(platform: Platform) -> Any:
    """A staff member of vidshare who may view and add disputes."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    from moderation.models import PlatformMember

    user = User.objects.create_user("mona", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_dispute", "add_dispute", "view_decision"])
    )
    PlatformMember.objects.create(user=user, platform=platform)
    client = Client()
    client.force_login(user)
    return client


def test_a_moderator_records_a_referral_ruling_and_implementation_in_the_admin(
    moderator, shadowban
):
    from django.urls import reverse

    add = moderator.post(
        reverse("admin:appeals_dispute_add"),
        {
            "decision": str(shadowban.public_id),
            "complainant": "subject",
            "body": BODY,
            "referred_at": "2026-11-05T08:30",
        },
    )
    dispute = Dispute.objects.get()
    assert add.status_code == 302
    assert add["Location"] == reverse("admin:appeals_dispute_change", args=[dispute.pk])
    assert dispute.referred_at == datetime(2026, 11, 5, 8, 30, tzinfo=UTC)

    page = moderator.get(add["Location"]).content.decode()
    ruling_url = reverse("admin:appeals_dispute_ruling", args=[dispute.pk])
    assert ruling_url in page and BODY in page

    bad = moderator.post(ruling_url, {"outcome": "overturned", "decided_at": "2026-11-04T00:00"})
    assert bad.status_code == 400
    assert "Must not be before the referral" in bad.content.decode()
    ruled = moderator.post(ruling_url, {"outcome": "overturned", "decided_at": "2026-11-20T15:30"})
    assert ruled.status_code == 302
    again = moderator.post(ruling_url, {"outcome": "upheld", "decided_at": "2026-11-20T15:30"})
    assert again.status_code == 409
    assert "already recorded" in again.content.decode()

    implementation_url = reverse("admin:appeals_dispute_implementation", args=[dispute.pk])
    assert implementation_url in moderator.get(add["Location"]).content.decode()
    done = moderator.post(
        implementation_url, {"implemented": "yes", "implemented_at": "2026-11-21T09:00"}
    )
    assert done.status_code == 302
    assert DisputeImplementation.objects.get().implemented_at == datetime(
        2026, 11, 21, 9, 0, tzinfo=UTC
    )
    listing = moderator.get(reverse("admin:appeals_dispute_changelist")).content.decode()
    assert "Decision overturned" in listing and "yes, 2026-11-21 09:00 UTC" in listing
    actors = set(
        AuditEvent.objects.filter(action__startswith="dispute.").values_list(
            "actor_label", flat=True
        )
    )
    assert actors == {"mona"}
    assert audit_log().ok


def test_the_admin_refusal_is_on_the_form_and_writes_nothing(moderator, shadowban):
    from django.urls import reverse

    before = writes()
    response = moderator.post(
        reverse("admin:appeals_dispute_add"),
        {
            "decision": str(shadowban.public_id),
            "complainant": "notifier",
            "body": BODY,
            "referred_at": "2026-11-01T08:30",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "there is no notifier to refer it" in page
    assert "Must not be before the decision it disputes" in page
    assert writes() == before


def test_another_platforms_disputes_and_decisions_do_not_exist_for_a_moderator(moderator, model_v1):
    from django.urls import reverse

    other = services.create_platform(slug="clipshare", name="ClipShare")
    theirs = record(other, human_payload(decided_at=DECIDED.isoformat()))
    dispute = refer(theirs)

    assert (
        moderator.get(reverse("admin:appeals_dispute_change", args=[dispute.pk])).status_code == 404
    )
    assert (
        moderator.get(reverse("admin:appeals_dispute_ruling", args=[dispute.pk])).status_code == 404
    )
    listing = moderator.get(reverse("admin:appeals_dispute_changelist")).content.decode()
    assert str(theirs.public_id) not in listing
    before = writes()
    add = moderator.post(
        reverse("admin:appeals_dispute_add"),
        {
            "decision": str(theirs.public_id),
            "complainant": "subject",
            "body": BODY,
            "referred_at": "2026-11-05T08:30",
        },
    )
    assert "None of your platforms&#x27; decisions has this id." in add.content.decode()
    assert writes() == before


def test_disputes_cannot_be_changed_or_deleted_in_the_admin(admin_client, shadowban):
    from django.urls import reverse

    dispute = refer(shadowban)

    page = admin_client.get(reverse("admin:appeals_dispute_change", args=[dispute.pk]))
    delete = admin_client.post(
        reverse("admin:appeals_dispute_delete", args=[dispute.pk]), {"post": "yes"}
    )

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert delete.status_code == 403
    assert Dispute.objects.count() == 1


# --- the creator's notice page -------------------------------------------------------------


def notice_page(client: Any, token: str) -> str:
    response = client.get(f"/notice/{token}")
    assert response.status_code == 200
    page: str = response.content.decode()
    return page


def test_the_notice_page_has_no_dispute_section_without_a_dispute(client, shadowban):
    assert 'id="disputes"' not in notice_page(client, shadowban.notice_token)


def test_the_notice_page_follows_a_dispute_step_by_step(client, shadowban):
    dispute = refer(shadowban)
    waiting = notice_page(client, shadowban.notice_token)
    record_ruling(
        dispute=dispute,
        outcome="overturned",
        decided_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        actor=ACTOR,
        now=NOW,
    )
    ruled = notice_page(client, shadowban.notice_token)
    record_implementation(
        dispute=dispute,
        implemented=True,
        implemented_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        actor=ACTOR,
        now=NOW,
    )
    implemented = notice_page(client, shadowban.notice_token)

    assert "Out-of-court dispute</h2>" in waiting
    assert "You took this decision to" in waiting and BODY in waiting
    assert "5 November 2026, 08:30 UTC" in waiting
    assert "Waiting for the body's decision." in waiting
    assert "Did VidShare implement it?" not in waiting
    assert "The body found the decision wrong: it should be reversed." in ruled
    assert "20 November 2026, 15:30 UTC" in ruled
    assert "VidShare has not yet said whether it implemented the outcome." in ruled
    assert "Yes, on 21 November 2026, 09:00 UTC." in implemented


def test_an_upheld_ruling_not_implemented_and_the_notifiers_view(client, platform):
    # The notifier has a notice link of their own when the platform names them.
    removal_on_notice = record(
        platform, human_payload(decided_at=DECIDED.isoformat(), notifier="reporter-42")
    )
    by_notifier = refer(removal_on_notice, complainant="notifier")
    by_subject = refer(removal_on_notice, body="User Rights GmbH")
    record_ruling(dispute=by_notifier, outcome="upheld", decided_at=NOW, actor=ACTOR, now=NOW)
    record_ruling(dispute=by_subject, outcome="overturned", decided_at=NOW, actor=ACTOR, now=NOW)
    record_implementation(
        dispute=by_subject, implemented=False, implemented_at=None, actor=ACTOR, now=NOW
    )

    subject_page = notice_page(client, removal_on_notice.notice_token)
    notifier_page = notice_page(client, removal_on_notice.notifier_token)

    assert "Out-of-court disputes</h2>" in subject_page
    assert "The person who reported" in subject_page and "You took" in subject_page
    assert "The body agreed with the platform: the decision stands." in subject_page
    assert "No: VidShare did not implement the outcome." in subject_page
    # An upheld decision asks nothing of the platform: no "has not yet said".
    assert "has not yet said" not in subject_page
    assert "The person the decision is about took" in notifier_page
    assert notifier_page.count("You took") == 1


def test_the_admin_pages_render_for_a_superuser(admin_client, shadowban):
    from django.urls import reverse

    dispute = refer(shadowban)
    pages = [
        reverse("admin:appeals_dispute_changelist"),
        reverse("admin:appeals_dispute_changelist") + "?ruling__outcome=overturned",
        reverse("admin:appeals_dispute_add"),
        reverse("admin:appeals_dispute_change", args=[dispute.pk]),
        reverse("admin:appeals_dispute_ruling", args=[dispute.pk]),
        reverse("admin:appeals_dispute_implementation", args=[dispute.pk]),
    ]

    statuses = [admin_client.get(page).status_code for page in pages]

    assert statuses == [200] * len(pages)
    form = admin_client.get(pages[4]).content.decode()
    assert 'type="datetime-local"' in form and 'value="withdrawn"' in form
