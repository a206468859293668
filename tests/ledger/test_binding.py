"""Every row the public sees is bound to the log: verify_log rebuilds each decision's, policy's
and model version's payload from its row and the rows it names, and compares the bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ledger import log
from ledger.db import install_append_only_triggers
from ledger.models import LogEntry
from moderation import services
from moderation.models import Decision, ModelVersion, Platform, Policy
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db


@contextmanager
def guards_off() -> Iterator[None]:
    """Write as an attacker with the database's keys would: with every trigger out of the way
    (on PostgreSQL, as a replication session does; on SQLite, by dropping them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
        install_append_only_triggers()


def sql(statement: str, params: list[object] | None = None) -> None:
    with guards_off(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@contextmanager
def put_back_afterwards(*tables: str) -> Iterator[None]:
    """Restore rows a test deletes, so that the foreign keys hold again when the test ends."""
    for table in tables:
        sql(f"CREATE TEMP TABLE saved_{table} AS SELECT * FROM {table}")
    try:
        yield
    finally:
        for table in tables:
            sql(f"DELETE FROM {table}")
            sql(f"INSERT INTO {table} SELECT * FROM saved_{table}")
            sql(f"DROP TABLE saved_{table}")


def verify_fails(capsys: pytest.CaptureFixture[str], first_bad_index: int) -> str:
    with pytest.raises(CommandError, match=f"first bad index: {first_bad_index}$"):
        call_command("verify_log")
    return capsys.readouterr().err


def verify_passes(capsys: pytest.CaptureFixture[str]) -> str:
    call_command("verify_log")
    return capsys.readouterr().out


@pytest.fixture
def ledger_of_every_kind(platform: Platform, model_v1: ModelVersion) -> dict[str, int]:
    """Decisions of every kind, with the policies and model versions they name; their indices."""
    register_model(platform, name="nudity", version="2026-03", threshold=1)
    policy, _ = services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="4.2",
        url="https://vidshare.example/terms#4-2",
        summary="No attacks on people for who they are.",
    )
    services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="4.3",
    )
    bodies = {
        "shadowban": decision_payload(
            puid="shadowban",
            subject={"account": "user-shadow", "content": "post-shadow"},
            policy="hate",
            policy_version=1,
            decided_at="2026-11-02T08:30:00.123456+01:00",
            notified_at="2026-11-02T09:00:00-05:00",
        ),
        "latest-policy": decision_payload(puid="latest-policy", policy="hate"),
        "own-threshold": decision_payload(
            puid="own-threshold", model="nudity", model_version="2026-03", score=1, threshold=0.5
        ),
        "removal": human_payload(
            puid="removal",
            subject={"account": "user-removal", "content": "post-removal"},
            content_id={"EAN-13": "4006381333931"},
            content_language="DE",
            account_type="ACCOUNT_TYPE_BUSINESS",
        ),
        "account": human_payload(
            puid="account",
            decision_visibility=[],
            decision_account="DECISION_ACCOUNT_SUSPENDED",
            end_date_account_restriction="2026-12-31",
            decision_monetary="DECISION_MONETARY_OTHER",
            decision_monetary_other="Ads paused",
            decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
            illegal_content_legal_ground=None,
            illegal_content_explanation=None,
            incompatible_content_ground="Terms 9",
            incompatible_content_explanation="Spam ring.",
            incompatible_content_illegal="Yes",
            category_addition=["STATEMENT_CATEGORY_SCAMS_AND_FRAUD"],
            subject={"account": "user-spam"},
        ),
        "flag": decision_payload(
            puid="flag", decision_type="DECISION_TYPE_FLAG", decision_visibility=[]
        ),
        "no-action": human_payload(
            puid="no-action",
            decision_type="DECISION_TYPE_NO_ACTION",
            decision_visibility=[],
            internal_notes="The notice was unfounded.",
        ),
    }
    recorded = {
        name: services.record_decision(platform=platform, decision=as_input(body))
        for name, body in bodies.items()
    }
    reversal = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(
                puid="reversal",
                subject={"content": "post-shadow"},
                decision_type="DECISION_TYPE_REVERSAL",
                decision_visibility=[],
                supersedes=str(recorded["shadowban"].public_id),
            )
        ),
    )
    by_puid = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(
                puid="expiry",
                subject={"account": "user-removal", "content": "post-removal"},
                decision_type="DECISION_TYPE_EXPIRY",
                decision_visibility=[],
                supersedes_puid="removal",
            )
        ),
    )
    log.seal_checkpoint()
    indices = {name: r.log_index for name, r in recorded.items()}
    indices |= {"reversal": reversal.log_index, "expiry": by_puid.log_index}
    indices["policy"] = policy.log_entry_id
    indices["nudity"] = ModelVersion.objects.get(model__name="nudity").log_entry_id
    return indices


def test_verify_log_passes_on_decisions_of_every_kind(ledger_of_every_kind, capsys):
    assert "OK 13 entries and 1 checkpoints verified." in verify_passes(capsys)


def test_times_are_published_in_utc_as_the_database_returns_them(ledger_of_every_kind):
    payload = json.loads(LogEntry.objects.get(index=ledger_of_every_kind["shadowban"]).payload)

    assert payload["decided_at"] == "2026-11-02T07:30:00.123456Z"
    assert payload["notified_at"] == "2026-11-02T14:00:00Z"


def test_a_threshold_or_score_sent_as_an_integer_is_published_as_the_float_stored(
    ledger_of_every_kind,
):
    model = json.loads(LogEntry.objects.get(index=ledger_of_every_kind["nudity"]).payload)
    decision = json.loads(LogEntry.objects.get(index=ledger_of_every_kind["own-threshold"]).payload)

    assert model["threshold"] == 1.0 and isinstance(model["threshold"], float)
    assert decision["score"] == 1.0 and isinstance(decision["score"], float)


@pytest.mark.parametrize(
    ("statement", "field"),
    [
        ("UPDATE moderation_decision SET decision_facts = 'edited' WHERE log_index = %s", "facts"),
        ("UPDATE moderation_decision SET action = 'FLAG' WHERE log_index = %s", "action"),
        ("UPDATE moderation_decision SET score = 0.1 WHERE log_index = %s", "score"),
        (
            "UPDATE moderation_decision SET decided_at = decided_at - interval '1 day' "
            "WHERE log_index = %s",
            "decided_at",
        ),
        ("UPDATE moderation_decision SET content_language = '' WHERE log_index = %s", "language"),
        (
            "UPDATE moderation_decision SET territorial_scope = '[\"FR\"]' WHERE log_index = %s",
            "territorial_scope",
        ),
        ("UPDATE moderation_decision SET subject_account = 'x' WHERE log_index = %s", "subject"),
        (
            "UPDATE moderation_decision SET automated_detection = NOT automated_detection "
            "WHERE log_index = %s",
            "automated_detection",
        ),
    ],
)
def test_verify_log_names_a_decision_row_changed_behind_the_triggers(
    ledger_of_every_kind, capsys, statement, field
):
    # The automated one for the score (a score needs a model: a check constraint).
    index = ledger_of_every_kind["shadowban" if field == "score" else "removal"]
    if connection.vendor == "sqlite":
        statement = statement.replace("decided_at - interval '1 day'", "'2020-01-01 00:00:00'")
    sql(statement, [index])

    err = verify_fails(capsys, index)

    assert f"entry {index}: decision " in err and "differs from its log entry in" in err
    assert field in err.split(f"entry {index}: decision ")[1].splitlines()[0]


def test_verify_log_names_a_changed_policy_reference_and_a_reworded_policy(
    ledger_of_every_kind, capsys
):
    latest = Policy.objects.get(key="hate", version=2)
    sql(
        "UPDATE moderation_decision SET policy_id = %s WHERE log_index = %s",
        [latest.pk, ledger_of_every_kind["shadowban"]],
    )
    sql("UPDATE moderation_policy SET clause = '9.9' WHERE id = %s", [latest.pk])

    err = verify_fails(capsys, latest.log_entry_id)

    assert f"entry {latest.log_entry_id}: policy hate v2 differs" in err and "clause" in err
    assert f"entry {ledger_of_every_kind['shadowban']}: decision" in err and "policy" in err


def test_renaming_a_model_behind_the_triggers_shows_in_every_entry_that_names_it(
    ledger_of_every_kind, capsys
):
    sql("UPDATE moderation_detectionmodel SET name = 'renamed' WHERE name = 'hate-speech'")

    err = verify_fails(capsys, 0)  # the model version's own registration

    assert "entry 0: model version renamed v1 differs from its log entry in model" in err
    assert f"entry {ledger_of_every_kind['shadowban']}: decision" in err


def test_renaming_the_platform_behind_the_triggers_shows_in_every_entry(
    ledger_of_every_kind, capsys
):
    sql("UPDATE moderation_platform SET slug = 'other'")

    err = verify_fails(capsys, 0)

    assert "entry 0: model version hate-speech v1 differs from its log entry in platform" in err


def test_a_reversal_pointed_at_another_decision_is_caught(ledger_of_every_kind, capsys):
    other = Decision.objects.get(puid="flag")
    sql(
        "UPDATE moderation_decision SET supersedes_id = %s WHERE log_index = %s",
        [other.pk, ledger_of_every_kind["reversal"]],
    )

    err = verify_fails(capsys, ledger_of_every_kind["reversal"])

    assert "differs from its log entry in supersedes" in err


def test_a_decision_row_deleted_or_pointed_at_another_entry_is_caught(ledger_of_every_kind, capsys):
    flag, policy = ledger_of_every_kind["flag"], ledger_of_every_kind["policy"]
    sql("UPDATE moderation_decision SET log_index = %s WHERE log_index = %s", [policy, flag])

    err = verify_fails(capsys, policy)

    assert f"entry {policy}: decision " in err and "it is not a decision entry" in err
    assert f"entry {flag}: decision entry has no decision row" in err


def test_entries_cut_off_the_end_with_the_head_rewound_are_caught(ledger_of_every_kind, capsys):
    last = max(ledger_of_every_kind.values())
    with put_back_afterwards("ledger_logentry"):
        sql('DELETE FROM ledger_logentry WHERE "index" >= %s', [last - 1])
        sql("UPDATE ledger_loghead SET size = %s", [last - 1])

        with pytest.raises(CommandError):
            call_command("verify_log")
    err = capsys.readouterr().err

    assert f"checkpoint at size {last + 1} is beyond the {last - 1} stored entries" in err
    assert f"entry {last}: decision " in err and "beyond the end of the log" in err


def test_an_emptied_log_with_its_decisions_left_is_caught(ledger_of_every_kind, capsys):
    with put_back_afterwards("ledger_logentry"):
        sql("DELETE FROM ledger_lognode")
        sql("DELETE FROM ledger_logentry")
        sql("DELETE FROM ledger_checkpoint")
        sql("UPDATE ledger_loghead SET size = 0, frontier = '[]'")

        err = verify_fails(capsys, 0)

    assert "entry 0: model version hate-speech v1 points at it" in err


def test_a_head_that_lost_its_frontier_is_caught(ledger_of_every_kind, capsys):
    sql("UPDATE ledger_loghead SET frontier = '[]'")

    with pytest.raises(CommandError, match="a checkpoint or the head is not"):
        call_command("verify_log")
    assert "the log head's frontier does not match" in capsys.readouterr().err


def test_a_deleted_log_head_is_caught(ledger_of_every_kind, capsys):
    sql("DELETE FROM ledger_loghead")

    with pytest.raises(CommandError, match="a checkpoint or the head is not"):
        call_command("verify_log")
    assert "the log head is missing; 13 entries are stored" in capsys.readouterr().err


@pytest.mark.postgres
def test_with_triggers_disabled_on_postgresql_an_edited_decision_is_named(
    ledger_of_every_kind, capsys
):
    index = ledger_of_every_kind["account"]
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no deferred foreign-key check of this test's own inserts.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE moderation_decision DISABLE TRIGGER ALL")
        cursor.execute(
            "UPDATE moderation_decision SET decision_facts = 'edited', action = 'FLAG' "
            "WHERE log_index = %s",
            [index],
        )
        cursor.execute("ALTER TABLE moderation_decision ENABLE TRIGGER ALL")

    err = verify_fails(capsys, index)

    assert f"entry {index}: decision " in err
    assert "differs from its log entry in action, decision_facts" in err
