"""Two beat processes started by mistake: every periodic task fired twice at the same moment,
each run on its own connection as two workers would take the two messages, does its work
exactly once (a checkpoint per tree size, a statement to the EU and a webhook message once
each, each lease expired, escalation and breach counted once).

The beat entries that fan out per platform (`forward_dsa_statements`, `deliver_webhooks`)
have their `.delay` run in line, in the same thread: a worker taking the queued message."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from appeals import tasks as appeal_tasks
from appeals.models import Appeal, ItemState, Outcome, Review, ReviewItem
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger import log
from ledger import tasks as ledger_tasks
from ledger.models import Checkpoint, EntryType, LogEntry
from ledger.public import rollups
from ledger.public import tasks as public_tasks
from ledger.public.models import DecisionCount
from moderation import forwarding, services, webhooks
from moderation import tasks as moderation_tasks
from moderation.models import AuditEvent, Decision, DsaSubmission, Platform, WebhookMessage
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, make_reviewer
from tests.fake_eu import FakeEu
from tests.moderation.test_webhooks import Receiver

# Every task beat schedules, and the test that fires it twice at once ("module:test"; the
# daily dumps' is beside the dumps' other tests).
HERE = __name__
COVERED = {
    "ledger.tasks.seal_checkpoint": f"{HERE}:test_two_beats_seal_one_checkpoint_per_tree_size",
    "moderation.tasks.forward_dsa_statements": f"{HERE}:test_two_beats_forward_each_statement_once",
    "moderation.tasks.deliver_webhooks": f"{HERE}:test_two_beats_deliver_each_webhook_once",
    "appeals.tasks.watch_review_queues": f"{HERE}:test_two_beats_expire_escalate_and_breach_once",
    "ledger.public.tasks.catch_up_rollups": (
        f"{HERE}:test_two_beats_count_each_entry_in_the_rollups_once"
    ),
    "ledger.public.tasks.export_daily_dumps": (
        "tests.ledger.test_dumps:test_two_beats_cut_each_day_once"
    ),
}


def test_every_scheduled_task_has_a_two_beats_test() -> None:
    scheduled = {str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled == set(COVERED), (
        "a periodic task without a test that runs it from two beats at once: "
        f"{sorted(scheduled - set(COVERED))}"
    )
    for covered in COVERED.values():
        module, name = covered.split(":")
        test = getattr(importlib.import_module(module), name, None)
        assert test is not None, f"{covered} does not exist"
        marks = {mark.name for mark in getattr(test, "pytestmark", [])}
        assert "postgres" in marks, f"{covered} does not run on PostgreSQL"


def twice(task: Callable[[], Any]) -> list[Any]:
    """The task run by two threads released together; both must finish without error."""
    outcomes = at_once([task, task])
    assert failures(outcomes) == []
    return outcomes


class Inline:
    """Stands in for a fanned-out task: `.delay` runs it at once in the calling thread."""

    def __init__(self, task: Callable[..., Any]) -> None:
        self.task = task

    def delay(self, *args: Any) -> None:
        self.task(*args)


def record(platform: Platform, count: int) -> list[str]:
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(count)]
    )
    return [Decision.objects.get(public_id=r.public_id).puid for r in recorded]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_seal_one_checkpoint_per_tree_size(
    flushable_append_only_tables: None, platform: Platform, model_v1: Any
) -> None:
    sizes = []
    for batch in (3, 1, 20, 7):
        record(platform, batch)
        size = log.size()

        outcomes = twice(ledger_tasks.seal_checkpoint)

        # One beat signed the grown tree; the other found it signed and did nothing.
        assert set(outcomes) == {None, size}
        sizes.append(size)
    assert list(Checkpoint.objects.order_by("size").values_list("size", flat=True)) == sizes
    assert twice(ledger_tasks.seal_checkpoint) == [None, None]


@pytest.fixture
def eu(settings: Any) -> Iterator[FakeEu]:
    settings.LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS = True  # the fake listens on 127.0.0.1
    with FakeEu(token="eu-secret-token") as fake:
        yield fake


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_forward_each_statement_once(
    flushable_append_only_tables: None,
    platform: Platform,
    model_v1: Any,
    eu: FakeEu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forwarding.configure_eu_forwarding(
        platform=platform, api_token="eu-secret-token", endpoint=eu.endpoint
    )
    puids = record(platform, 230)
    monkeypatch.setattr(
        moderation_tasks,
        "forward_platform_statements",
        Inline(moderation_tasks.forward_platform_statements),
    )

    twice(moderation_tasks.forward_dsa_statements)
    twice(moderation_tasks.forward_dsa_statements)  # and the next tick finds nothing due

    assert sorted(eu.sent_puids()) == sorted(puids)  # each statement reached the EU once
    assert len(eu.stored) == 230
    states = DsaSubmission.objects.values("state").annotate(n=Count("id"))
    assert {row["state"]: row["n"] for row in states} == {DsaSubmission.State.SUBMITTED: 230}
    for row in DsaSubmission.objects.select_related("decision"):
        assert str(row.eu_uuid) == eu.stored[row.decision.puid]
        assert row.attempts == 1


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = True  # it listens on 127.0.0.1
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_deliver_each_webhook_once(
    flushable_append_only_tables: None,
    platform: Platform,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = webhooks.set_endpoint(platform=platform, url=receiver.url, actor="tests").secret
    assert secret is not None
    with transaction.atomic():
        messages = [
            webhooks.enqueue(platform=platform, event_type="appeal.decided", data={"n": n})
            for n in range(45)
        ]
    monkeypatch.setattr(
        moderation_tasks,
        "deliver_platform_webhooks",
        Inline(moderation_tasks.deliver_platform_webhooks),
    )

    twice(moderation_tasks.deliver_webhooks)
    twice(moderation_tasks.deliver_webhooks)

    assert sorted(receiver.ids()) == sorted(m.msg_id for m in messages)  # each exactly once
    assert len(receiver.verified(secret)) == 45
    assert not WebhookMessage.objects.filter(delivered_at__isnull=True).exists()
    assert set(WebhookMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_expire_escalate_and_breach_once(
    flushable_append_only_tables: None, platform: Platform, model_v1: Any
) -> None:
    now = timezone.now()
    deadline = dt.timedelta(hours=settings.LEDGER_APPEAL_DECISION_DAYS * 24)

    def appeal(filed_at: dt.datetime) -> Appeal:
        (decision,) = services.record_decisions(
            platform=platform, decisions=[as_input(decision_payload())]
        )
        return file_appeal(
            decision=Decision.objects.get(public_id=decision.public_id),
            appellant="subject",
            statement="The post quotes a chess book.",
            now=filed_at,
        )

    # Claimed an hour ago by reviewers who went away: their five-minute leases ran out.
    held = [appeal(now - dt.timedelta(hours=2)) for _ in range(4)]
    for n in range(len(held)):
        item = claim_next_review(
            reviewer=make_reviewer(platform, f"away-{n}"), now=now - dt.timedelta(hours=1)
        )
        assert item is not None
    # Within a day of the deadline (escalated), and past it (escalated and breached).
    near = [appeal(now - deadline + dt.timedelta(hours=1)) for _ in range(5)]
    late = [appeal(now - deadline - dt.timedelta(hours=1)) for _ in range(6)]
    entries_before = LogEntry.objects.count()

    first = twice(appeal_tasks.watch_review_queues)
    # The next tick: whatever one run skipped because the other held it is done by now.
    second = twice(appeal_tasks.watch_review_queues)

    done = {key: sum(run[key] for run in first + second) for key in first[0]}
    assert done == {"expired": len(held), "escalated": len(near) + len(late), "breached": 6}
    assert all(run == {"expired": 0, "escalated": 0, "breached": 0} for run in second)
    items = ReviewItem.objects.select_related("appeal")
    expired = {i.appeal_id for i in items if i.state == ItemState.OPEN and not i.senior_only}
    assert expired == {a.pk for a in held}
    escalations = Review.objects.filter(outcome=Outcome.ESCALATED).values("item__appeal")
    assert sorted(row["item__appeal"] for row in escalations) == sorted(a.pk for a in near + late)
    assert LogEntry.objects.count() - entries_before == len(near) + len(late)
    assert LogEntry.objects.filter(entry_type=EntryType.APPEAL_ESCALATED).count() == 11
    assert {i.appeal_id for i in items if i.breached_at is not None} == {a.pk for a in late}
    trail = AuditEvent.objects.filter(actor_label="system", action__startswith="review.")
    counted = trail.values("action").annotate(n=Count("id"))
    assert {row["action"]: row["n"] for row in counted} == {
        "review.lease_expired": 4,
        "review.escalated": 11,
        "review.deadline_breached": 6,
    }


def rollup_rows() -> dict[str, list[str]]:
    """Every roll-up table's rows, ids left out, in a stable order."""
    return {
        model.__name__: sorted(
            repr(sorted((k, v) for k, v in row.items() if k != "id"))
            for row in model._default_manager.values()
        )
        for model in rollups.ROLLUP_MODELS
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_count_each_entry_in_the_rollups_once(
    flushable_append_only_tables: None, platform: Platform, model_v1: Any
) -> None:
    reviewer = make_reviewer(platform, "rita")
    # The first round also races to create the roll-ups' mark row.
    for batch in (25, 10):
        puids = record(platform, batch)
        file_appeal(
            decision=Decision.objects.get(platform=platform, puid=puids[0]),
            appellant="subject",
            statement="The post quotes a chess book.",
        )
        item = claim_next_review(reviewer=reviewer)
        assert item is not None
        resolve_appeal(
            reviewer=reviewer,
            item=item,
            version=item.version,
            outcome="upheld",
            reason="The post insults a person; chess has nothing to do with it.",
        )
        log.seal_checkpoint()
        new = log.size() - rollups.counted_upto()

        outcomes = twice(public_tasks.catch_up_rollups)

        assert set(outcomes) == {new, 0}
    counted = rollup_rows()
    assert sum(DecisionCount.objects.values_list("decisions", flat=True)) == 35
    assert rollups.rebuild() == log.size()
    assert rollup_rows() == counted  # counting the whole log once gives the same tables
