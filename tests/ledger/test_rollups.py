"""The roll-up tables: counted from the log up to its latest signed checkpoint, a piece at a
time as beat does, they equal a rebuild from scratch and a count straight from the tables; two
catch-ups at once count everything once."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from appeals import disputes
from appeals.models import Appeal, Dispute, DisputeRuling, ItemKind, Review
from ledger import log
from ledger.public import rollups
from ledger.public.models import (
    AppealCount,
    AuditCount,
    DecisionCount,
    DecisionFacetCount,
    DisputeCount,
    RollupMark,
)
from moderation import services
from moderation.models import Decision, Platform
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up row without its id, sorted: what two ways of counting must agree on."""
    tables = {}
    for model in rollups.ROLLUP_MODELS:
        rows = [
            tuple(sorted((k, v) for k, v in row.items() if k != "id"))
            for row in model._default_manager.values()
        ]
        tables[model.__name__] = sorted(rows, key=repr)
    return tables


@pytest.fixture
def demo() -> None:
    """The demo platform, small: decisions, appeals decided and waiting, a proposal approved,
    audit samples labelled once and twice, planted known answers, disputes and rulings."""
    call_command("seed_demo", decisions=400, days=60, seed=3, stdout=io.StringIO())
    assert Review.objects.filter(item__kind=ItemKind.AUDIT).exists()
    rulings = list(DisputeRuling.objects.select_related("dispute"))
    assert rulings
    for ruling in rulings[:1]:
        disputes.record_implementation(
            dispute=ruling.dispute,
            implemented=True,
            implemented_at=ruling.decided_at + dt.timedelta(days=1),
            actor="test",
            now=ruling.decided_at + dt.timedelta(days=2),
        )


def count_in_steps(step: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Catch up as beat would if a checkpoint had been signed every `step` entries: the
    pieces end anywhere, e.g. between an appeal's filing and its decision."""
    signed = rollups.signed_size
    size = log.size()
    runs = 0
    for checkpoint in [*range(step, size, step), size]:
        monkeypatch.setattr(rollups, "signed_size", lambda checkpoint=checkpoint: checkpoint)
        rollups.catch_up(chunk=7)
        runs += 1
    monkeypatch.setattr(rollups, "signed_size", signed)
    return runs


def test_counted_in_pieces_equals_the_rebuild_and_the_tables(demo, monkeypatch):
    assert count_in_steps(23, monkeypatch) > 10
    live = snapshot()
    assert RollupMark.objects.get().upto == log.size()

    assert rollups.rebuild() == log.size()
    assert snapshot() == live

    # And both equal a count straight from the tables.
    decisions = Decision.objects.all()
    assert DecisionCount.objects.aggregate(n=Sum("decisions"))["n"] == decisions.count()
    by_action = Counter(decisions.values_list("action", flat=True))
    counted = {
        row["action"]: row["n"]
        for row in DecisionCount.objects.values("action").annotate(n=Sum("decisions"))
    }
    assert counted == dict(by_action)
    visibility = Counter(
        k for kinds in decisions.values_list("decision_visibility", flat=True) for k in kinds
    )
    counted = {
        row["value"]: row["n"]
        for row in DecisionFacetCount.objects.filter(facet="visibility")
        .values("value")
        .annotate(n=Sum("decisions"))
    }
    assert counted == dict(visibility) and counted
    appeals = AppealCount.objects.values("event").annotate(n=Sum("appeals"))
    events = {row["event"]: row["n"] for row in appeals}
    assert events.pop("filed") == Appeal.objects.count()
    decided = Appeal.objects.filter(status__in=["upheld", "overturned", "modified"])
    assert events == dict(Counter(decided.values_list("status", flat=True)))
    sampled = Review.objects.filter(
        item__kind=ItemKind.AUDIT, item__plan__isnull=False, outcome__in=["correct", "incorrect"]
    )
    # Items labelled twice count once.
    first = AuditCount.objects.aggregate(n=Sum("reviewed"))["n"]
    assert first == sampled.values("item").distinct().count() < sampled.count()
    steps = dict(DisputeCount.objects.values_list("event").annotate(n=Sum("disputes")))
    assert steps.pop("referred") == Dispute.objects.count()
    assert steps.pop("implemented") == 1
    assert steps == dict(Counter(DisputeRuling.objects.values_list("outcome", flat=True)))


def test_a_second_run_counts_nothing_and_changes_nothing(demo):
    counted = rollups.counted_upto()  # seed_demo counts what it recorded
    assert rollups.refresh() == log.size() - counted
    before = snapshot()
    assert rollups.catch_up() == 0
    assert rollups.refresh() == 0
    assert snapshot() == before


def test_only_what_a_signed_checkpoint_covers_is_counted(demo):
    counted = rollups.counted_upto()
    sealed = log.seal_checkpoint()
    assert sealed is not None
    assert rollups.catch_up() == sealed.size - counted > 0
    vidshare = Platform.objects.get(slug="vidshare")
    services.record_decisions(
        platform=vidshare, decisions=[as_input(decision_payload()) for _ in range(3)]
    )
    assert log.size() > sealed.size
    assert rollups.catch_up() == 0
    assert rollups.counted_upto() == sealed.size
    assert rollups.refresh() == log.size() - sealed.size


def test_the_command_rebuilds_and_says_how_much(demo):
    rollups.refresh()
    live = snapshot()
    DecisionCount.objects.update(decisions=0)
    out = io.StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert f"Counted {log.size()} log entries" in out.getvalue()
    assert snapshot() == live


@pytest.mark.postgres
def test_two_catch_ups_at_once_count_everything_once(demo):
    """Two beats by mistake: the second waits for the first's lock, then finds nothing new."""
    RollupMark.objects.update(upto=0)
    rollups.rebuild()  # empty: counted up to 0
    log.seal_checkpoint()
    outcomes = at_once([rollups.catch_up, rollups.catch_up])
    assert not failures(outcomes)
    assert sorted(outcomes) == [0, log.size()]  # type: ignore[type-var]
    live = snapshot()
    rollups.rebuild()
    assert snapshot() == live


@pytest.mark.postgres
def test_the_first_catch_up_on_an_empty_mark_table_is_safe_at_once(demo):
    RollupMark.objects.update(upto=0)
    rollups.rebuild()
    RollupMark.objects.all().delete()
    log.seal_checkpoint()
    outcomes = at_once([rollups.catch_up, rollups.catch_up, rollups.catch_up])
    assert not failures(outcomes)
    assert sorted(outcomes) == [0, 0, log.size()]  # type: ignore[type-var]
    assert RollupMark.objects.count() == 1
