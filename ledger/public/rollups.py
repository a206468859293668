"""Keeping the roll-up tables (ledger.public.models) current, and rebuilding them.

`catch_up` counts the log entries recorded since the last run: the decisions, appeal filings
and outcomes, first audit labels and dispute steps whose entries lie in [mark, head), adds them
to the roll-ups and moves the mark, all in one transaction under the mark's row lock. So a run
is idempotent (a second run finds nothing new), two runs at once count each entry once (the
second waits for the first, then finds the mark moved), and a crash counts nothing twice. Beat
runs it every LEDGER_ROLLUP_EVERY_SECONDS (ledger.public.tasks).

Why from the log rather than from each table's new ids: log indices are gapless and in commit
order (every writer holds the log head's row lock until it commits), so "every entry below the
head" is exactly what has committed; auto-increment ids commit out of order, and a mark on them
would skip a row whose transaction committed late.

`rebuild` empties the tables and counts the whole log again with the same code, in one
transaction; a test checks it equals what the live catch-ups built.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appeals.models import Appeal, Dispute, DisputeImplementation, DisputeRuling, ItemKind, Review
from appeals.models import Outcome as ReviewOutcome
from ledger.log import seal_checkpoint
from ledger.models import Checkpoint, EntryType
from ledger.public.models import (
    APPEAL_KEY,
    DECISION_KEY,
    NO_VERSION,
    AppealCount,
    AppealEvent,
    AuditCount,
    DecisionCount,
    DecisionFacetCount,
    DisputeCount,
    DisputeEvent,
    Facet,
    FacetDayCount,
    RollupMark,
)
from moderation.models import Decision

# Entries counted per transaction: bounded so that catching up after a long pause (or a
# rebuild) never holds one huge transaction's worth of rows in memory.
CHUNK = 20_000
DECISION_DIMS = (
    "platform_id",
    "action",
    "category",
    "decision_ground",
    "source_type",
    "automated_detection",
    "automated_decision",
    "model_version_id",
)
FACET_FIELDS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "territorial_scope",
    "content_language",
    "content_type",
)
APPEAL_OUTCOMES = {
    ReviewOutcome.UPHELD.value: AppealEvent.UPHELD,
    ReviewOutcome.OVERTURNED.value: AppealEvent.OVERTURNED,
    ReviewOutcome.MODIFIED.value: AppealEvent.MODIFIED,
}
LABELS = (ReviewOutcome.CORRECT.value, ReviewOutcome.INCORRECT.value)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def _facets(row: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(facet, value) of each value a decision has, empty values left out."""
    for kind in row["decision_visibility"] or ():
        yield Facet.VISIBILITY.value, str(kind)
    for facet, field in (
        (Facet.MONETARY, "decision_monetary"),
        (Facet.PROVISION, "decision_provision"),
        (Facet.ACCOUNT, "decision_account"),
        (Facet.LANGUAGE, "content_language"),
    ):
        if row[field]:
            yield facet.value, row[field]
    for country in row["territorial_scope"] or ():
        yield Facet.TERRITORY.value, str(country)
    for kind in row["content_type"] or ():
        yield Facet.CONTENT_TYPE.value, str(kind)


Counts = Counter[tuple[Any, ...]]


def _count_decisions(low: int, high: int) -> tuple[Counts, Counts]:
    decisions: Counter[tuple[Any, ...]] = Counter()
    facets: Counter[tuple[Any, ...]] = Counter()
    rows = Decision.objects.filter(log_entry_id__gte=low, log_entry_id__lt=high).values(
        "created_at", *DECISION_DIMS, *FACET_FIELDS
    )
    for row in rows.iterator(chunk_size=5000):
        key = (_day(row["created_at"]), *(row[name] for name in DECISION_DIMS))
        decisions[key] += 1
        for facet, value in _facets(row):
            facets[(*key, facet, value)] += 1
    return decisions, facets


_APPEALED = (
    "decision__platform_id",
    "decision__action",
    "decision__category",
    "decision__source_type",
    "decision__automated_detection",
    "decision__model_version_id",
)


def _count_appeals(low: int, high: int) -> Counter[tuple[Any, ...]]:
    """(day, platform, action, category, source, automated detection, model version, event,
    hours) -> appeals."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in Appeal.objects.filter(log_entry_id__gte=low, log_entry_id__lt=high).values(
        "filed_at", *_APPEALED
    ):
        key = (_day(row["filed_at"]), *(row[name] for name in _APPEALED))
        counts[(*key, AppealEvent.FILED.value, None)] += 1
    decided = Review.objects.filter(
        log_entry_id__gte=low,
        log_entry_id__lt=high,
        log_entry__entry_type=EntryType.APPEAL_DECIDED,
        appeal__isnull=False,
    ).values(
        "decided_at",
        "outcome",
        "approves__outcome",
        "appeal__filed_at",
        *(f"appeal__{name}" for name in _APPEALED),
    )
    for row in decided:
        outcome = row["approves__outcome"] if row["outcome"] == "approved" else row["outcome"]
        event = APPEAL_OUTCOMES[outcome]
        hours = max(0, int((row["decided_at"] - row["appeal__filed_at"]).total_seconds() // 3600))
        key = (_day(row["decided_at"]), *(row[f"appeal__{name}"] for name in _APPEALED))
        counts[(*key, event.value, hours)] += 1
    return counts


def _count_audits(low: int, high: int) -> Counter[tuple[Any, ...]]:
    """(day, platform, category, model version) -> [reviewed, correct] of sampled items whose
    first label (by decided_at, id, as appeals.quality orders them) lies in the range."""
    earlier = Review.objects.filter(item_id=OuterRef("item_id"), outcome__in=LABELS).filter(
        Q(decided_at__lt=OuterRef("decided_at"))
        | Q(decided_at=OuterRef("decided_at"), id__lt=OuterRef("id"))
    )
    labels = (
        Review.objects.filter(
            log_entry_id__gte=low,
            log_entry_id__lt=high,
            outcome__in=LABELS,
            item__kind=ItemKind.AUDIT,
            item__plan__isnull=False,
        )
        .exclude(Exists(earlier))
        .values(
            "decided_at",
            "outcome",
            "item__decision__platform_id",
            "item__decision__category",
            "item__decision__model_version_id",
        )
    )
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in labels:
        key = (
            _day(row["decided_at"]),
            row["item__decision__platform_id"],
            row["item__decision__category"],
            row["item__decision__model_version_id"],
        )
        counts[(*key, "reviewed")] += 1
        if row["outcome"] == ReviewOutcome.CORRECT.value:
            counts[(*key, "correct")] += 1
    return counts


def _count_disputes(low: int, high: int) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    span = {"log_entry_id__gte": low, "log_entry_id__lt": high}
    for row in Dispute.objects.filter(**span).values("referred_at", "platform_id"):
        counts[(_day(row["referred_at"]), row["platform_id"], DisputeEvent.REFERRED.value)] += 1
    for ruling in DisputeRuling.objects.filter(**span).values(
        "decided_at", "outcome", "dispute__platform_id"
    ):
        day = _day(ruling["decided_at"])
        counts[(day, ruling["dispute__platform_id"], ruling["outcome"])] += 1
    for done in DisputeImplementation.objects.filter(**span).values(
        "created_at", "implemented", "dispute__platform_id"
    ):
        event = DisputeEvent.IMPLEMENTED if done["implemented"] else DisputeEvent.NOT_IMPLEMENTED
        counts[(_day(done["created_at"]), done["dispute__platform_id"], event.value)] += 1
    return counts


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return str(field.column)


def _add(
    model: type[models.Model],
    dims: tuple[str, ...],
    deltas: dict[tuple[Any, ...], dict[str, int]],
    *,
    nullable: dict[str, int] | None = None,
) -> None:
    """Add `deltas` ({dims values: {count field: n}}) to `model`'s rows in one statement:
    INSERT ... ON CONFLICT on the table's key (models.one_row_per, whose expressions the
    conflict target repeats exactly) DO UPDATE adding the counts.

    Raw SQL because the ORM has no "add to the row, or create it" in one statement (its
    update_or_create is a read and a write per row); PostgreSQL and SQLite (3.24+) share this
    syntax.
    """
    if not deltas:
        return
    sentinels = nullable or {}
    meta = model._meta
    key_columns = [_column(model, name) for name in dims]
    counts = sorted({name for values in deltas.values() for name in values})
    target = ", ".join(
        f"COALESCE({connection.ops.quote_name(column)}, {sentinels[name]})"
        if name in sentinels
        else connection.ops.quote_name(column)
        for name, column in zip(dims, key_columns, strict=True)
    )
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in [*key_columns, *counts])
    marks = ", ".join(["%s"] * (len(key_columns) + len(counts)))
    added = ", ".join(
        f"{connection.ops.quote_name(c)} = {table}.{connection.ops.quote_name(c)} + "
        f"EXCLUDED.{connection.ops.quote_name(c)}"
        for c in counts
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({target}) DO UPDATE SET {added}"
    )
    rows = [[*key, *(values.get(name, 0) for name in counts)] for key, values in deltas.items()]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def count_range(low: int, high: int) -> None:
    """Add the log entries in [low, high) to the roll-ups (caller holds the mark's lock)."""
    decisions, facets = _count_decisions(low, high)
    _add(
        DecisionCount,
        DECISION_KEY,
        {k: {"decisions": n} for k, n in decisions.items()},
        nullable=NO_VERSION,
    )
    _add(
        DecisionFacetCount,
        (*DECISION_KEY, "facet", "value"),
        {k: {"decisions": n} for k, n in facets.items()},
        nullable=NO_VERSION,
    )
    narrow: Counts = Counter()
    for wide, n in facets.items():
        narrow[(wide[1], wide[-2], wide[0], wide[-1])] += n  # platform, facet, day, value
    _add(
        FacetDayCount,
        ("platform", "facet", "day", "value"),
        {k: {"decisions": n} for k, n in narrow.items()},
    )
    _add(
        AppealCount,
        APPEAL_KEY,
        {k: {"appeals": n} for k, n in _count_appeals(low, high).items()},
        nullable={"model_version": 0, "hours": -1},
    )
    audits: dict[tuple[Any, ...], dict[str, int]] = {}
    for (*key, field), n in _count_audits(low, high).items():
        audits.setdefault(tuple(key), {"reviewed": 0, "correct": 0})[field] += n
    _add(AuditCount, ("day", "platform", "category", "model_version"), audits, nullable=NO_VERSION)
    _add(
        DisputeCount,
        ("day", "platform", "event"),
        {k: {"disputes": n} for k, n in _count_disputes(low, high).items()},
    )


def _locked_mark() -> RollupMark:
    try:
        return RollupMark.objects.select_for_update().get(pk=1)
    except RollupMark.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            RollupMark.objects.create(pk=1, upto=0)
    except IntegrityError:
        pass  # another catch-up created it first; its lock is taken below
    return RollupMark.objects.select_for_update().get(pk=1)


def signed_size() -> int:
    """The size of the latest signed checkpoint: what the roll-ups may count up to."""
    size = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
    return int(size or 0)


def catch_up(*, chunk: int = CHUNK) -> int:
    """Count every log entry up to the latest signed checkpoint that is not counted yet, in one
    transaction; the number of entries counted.

    Up to a checkpoint, never past it: every public number is then "the log at this signed
    checkpoint" (`counted_upto` is always a checkpoint's size), which an auditor can check
    against a dump or the log itself. Beat seals every few seconds, so this costs little
    freshness.
    """
    with transaction.atomic():
        mark = _locked_mark()
        high = signed_size()
        low = mark.upto
        if high <= low:
            return 0
        for start in range(low, high, chunk):
            count_range(start, min(high, start + chunk))
        mark.upto = high
        mark.updated_at = timezone.now()
        mark.save(update_fields=["upto", "updated_at"])
        return high - low


def refresh() -> int:
    """Seal a checkpoint over whatever the log holds, then count up to it (the demo's and the
    tests' way to make everything recorded so far public at once)."""
    seal_checkpoint()
    return catch_up()


ROLLUP_MODELS: tuple[type[models.Model], ...] = (
    DecisionCount,
    DecisionFacetCount,
    FacetDayCount,
    AppealCount,
    AuditCount,
    DisputeCount,
)


def rebuild(*, chunk: int = CHUNK) -> int:
    """Empty the roll-ups and count the log again up to the mark's checkpoint, in one
    transaction (readers see the old numbers until it commits); the entries counted."""
    with transaction.atomic():
        mark = _locked_mark()
        for model in ROLLUP_MODELS:
            model._default_manager.all().delete()
        high = mark.upto
        for low in range(0, high, chunk):
            count_range(low, min(high, low + chunk))
        mark.updated_at = timezone.now()
        mark.save(update_fields=["updated_at"])
        return high


def generation() -> tuple[int, str]:
    """What the roll-ups' content depends on: the log size counted and when they last changed
    (a rebuild keeps the size but may change the rows). Answers cached under it stay true."""
    row = RollupMark.objects.values_list("upto", "updated_at").first()
    if row is None:
        return 0, ""
    upto, updated = row
    return int(upto), "" if updated is None else updated.isoformat()


def counted_upto() -> int:
    """How many log entries the roll-ups count: the size of a signed checkpoint, or 0."""
    upto = RollupMark.objects.values_list("upto", flat=True).first()
    return int(upto or 0)
