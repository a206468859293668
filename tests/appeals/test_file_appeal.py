"""Filing an appeal: by the affected person or the notifier, once each, within the window, with
a private statement, recorded in the log without free text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from appeals.models import Appeal, AppealStatus
from appeals.services import AppealRejected, appeal_window_closes, file_appeal
from ledger.models import EntryType, LogEntry
from moderation import services
from moderation.models import Decision, Platform
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = {"account": "chess-teacher", "content": "video-1"}
STATEMENT = "My video teaches chess openings; the 'attack' is on the king, not on anyone."


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(
        platform,
        decision_payload(decided_at="2026-11-02T08:30:00+00:00", subject=SUBJECT),
    )


@pytest.fixture
def removal_on_notice(platform: Platform) -> Decision:
    return record(platform, human_payload(decided_at="2026-11-02T08:30:00+00:00"))


def entries() -> int:
    return LogEntry.objects.count()


def refused(**kwargs: Any) -> dict[str, list[str]]:
    before = (entries(), Appeal.objects.count())
    with pytest.raises(AppealRejected) as caught:
        file_appeal(**kwargs)
    assert (entries(), Appeal.objects.count()) == before
    return caught.value.errors


def test_filing_records_the_appeal_and_one_log_entry_without_the_statement(shadowban):
    before = entries()
    now = shadowban.decided_at + timedelta(days=3)

    appeal = file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT, now=now)

    assert entries() == before + 1
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.FILED
    assert appeal.statement == STATEMENT
    assert appeal.filed_at == now
    assert appeal.deadline_at == now + timedelta(days=settings.LEDGER_APPEAL_DECISION_DAYS)
    entry = LogEntry.objects.get(index=appeal.log_entry_id)
    assert entry.entry_type == EntryType.APPEAL_FILED
    assert json.loads(entry.payload) == {
        "type": "appeal_filed",
        "id": str(appeal.public_id),
        "decision": str(shadowban.public_id),
        "platform": "vidshare",
        "appellant": "subject",
        "filed_at": now.isoformat(),
        "deadline_at": appeal.deadline_at.isoformat(),
    }
    assert "chess" not in entry.payload
    assert "statement" not in entry.payload


def test_the_notifier_may_appeal_a_decision_taken_on_their_notice(removal_on_notice):
    subject = file_appeal(decision=removal_on_notice, appellant="subject", statement=STATEMENT)
    notifier = file_appeal(decision=removal_on_notice, appellant="notifier", statement="Too mild.")

    assert {subject.appellant, notifier.appellant} == {"subject", "notifier"}


def test_there_is_no_notifier_to_appeal_an_own_initiative_decision(shadowban):
    errors = refused(decision=shadowban, appellant="notifier", statement=STATEMENT)

    assert list(errors) == ["decision"]


def test_a_second_appeal_by_the_same_appellant_is_refused(shadowban):
    file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT)

    errors = refused(decision=shadowban, appellant="subject", statement="Again.")

    assert list(errors) == ["appellant"]
    assert Appeal.objects.count() == 1


def test_the_last_instant_of_the_window_is_accepted_and_the_next_refused(shadowban):
    closes = appeal_window_closes(shadowban)
    assert closes == shadowban.decided_at + timedelta(days=184)

    errors = refused(
        decision=shadowban,
        appellant="subject",
        statement=STATEMENT,
        now=closes + timedelta(microseconds=1),
    )
    assert "decision" in errors
    appeal = file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT, now=closes)
    assert appeal.filed_at == closes


def test_the_window_runs_from_a_later_notification(platform, model_v1):
    decision = record(
        platform,
        decision_payload(
            decided_at="2026-11-02T08:30:00+00:00", notified_at="2026-11-20T08:30:00+00:00"
        ),
    )

    assert appeal_window_closes(decision) == decision.notified_at + timedelta(days=184)


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 5001, "5001 characters"),
        ("wrong\x00", "NUL"),
    ],
)
def test_a_bad_statement_is_refused_and_nothing_is_written(shadowban, statement, problem):
    errors = refused(decision=shadowban, appellant="subject", statement=statement)

    assert list(errors) == ["statement"]
    assert problem in " ".join(errors["statement"])


def test_a_statement_of_exactly_the_limit_is_accepted(shadowban):
    appeal = file_appeal(decision=shadowban, appellant="subject", statement="x" * 5000)

    assert len(appeal.statement) == 5000


def test_every_problem_is_named_at_once(shadowban):
    errors = refused(
        decision=shadowban,
        appellant="someone",
        statement="",
        now=appeal_window_closes(shadowban) + timedelta(days=1),
    )

    assert set(errors) == {"appellant", "statement", "decision"}


@pytest.mark.parametrize("kind", ["DECISION_TYPE_REVERSAL", "DECISION_TYPE_EXPIRY"])
def test_reversals_and_expiries_cannot_be_appealed(platform, shadowban, kind):
    change = record(
        platform,
        human_payload(
            decision_type=kind,
            decision_visibility=[],
            supersedes=str(shadowban.public_id),
            subject=SUBJECT,
        ),
    )

    errors = refused(decision=change, appellant="subject", statement=STATEMENT)

    assert list(errors) == ["decision"]


def test_verify_log_passes_with_appeals_and_catches_an_edited_appeal_row(shadowban, capsys):
    appeal = file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT)
    call_command("verify_log")
    capsys.readouterr()

    # The statement is not in the log, so editing it is not the log's business...
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appeals_appeal SET statement = %s WHERE id = %s", ["Edited.", appeal.pk]
        )
    call_command("verify_log")
    capsys.readouterr()
    # ...but the deadline is.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appeals_appeal SET deadline_at = %s WHERE id = %s",
            [appeal.deadline_at + timedelta(days=30), appeal.pk],
        )
    with pytest.raises(CommandError, match=f"first bad index: {appeal.log_entry_id}$"):
        call_command("verify_log")
    assert "differs from its log entry in deadline_at" in capsys.readouterr().err


def test_the_database_refuses_a_second_appeal_and_an_over_long_statement(shadowban):
    from django.db import IntegrityError, transaction

    appeal = file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.create(
            decision=shadowban,
            appellant="subject",
            statement="Again.",
            filed_at=appeal.filed_at,
            deadline_at=appeal.deadline_at,
            log_entry_id=LogEntry.objects.exclude(index=appeal.log_entry_id).first().index,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.filter(pk=appeal.pk).update(statement="x" * 5001)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_filings_make_exactly_one_appeal(shadowban):
    def send() -> str:
        try:
            file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT)
        except AppealRejected as exc:
            return ",".join(exc.errors)
        return "filed"

    outcomes = at_once([send] * 8)

    assert failures(outcomes) == []
    assert sorted(outcomes) == ["appellant"] * 7 + ["filed"]  # type: ignore[type-var]
    assert Appeal.objects.count() == 1
    assert LogEntry.objects.filter(entry_type=EntryType.APPEAL_FILED).count() == 1


def import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import ledger.settings as s; print(s.LEDGER_APPEAL_WINDOW_DAYS)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.django_db(False)
def test_an_appeal_window_below_183_days_is_refused_at_start_up():
    assert import_settings(LEDGER_APPEAL_WINDOW_DAYS="183").stdout.strip() == "183"
    refused_start = import_settings(LEDGER_APPEAL_WINDOW_DAYS="182")

    assert refused_start.returncode != 0
    assert "LEDGER_APPEAL_WINDOW_DAYS must be at least 183" in refused_start.stderr


def test_a_naive_time_is_a_programming_error(shadowban):
    with pytest.raises(ValueError, match="aware"):
        file_appeal(
            decision=shadowban,
            appellant="subject",
            statement=STATEMENT,
            now=shadowban.decided_at.replace(tzinfo=None),
        )


def test_a_time_in_another_zone_is_published_in_utc_and_still_verifies(shadowban, capsys):
    from datetime import timezone as tz

    berlin = shadowban.decided_at.astimezone(tz(timedelta(hours=1))) + timedelta(days=1)
    appeal = file_appeal(decision=shadowban, appellant="subject", statement=STATEMENT, now=berlin)

    payload = json.loads(LogEntry.objects.get(index=appeal.log_entry_id).payload)
    assert payload["filed_at"].endswith("+00:00")
    call_command("verify_log")
