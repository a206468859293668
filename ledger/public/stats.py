"""Public statistics: how often each model version's decisions are appealed and overturned,
and how often its blind audit samples were labelled correct.

Read from the roll-ups (ledger.public.models), never from the decision and appeal tables: the
numbers are the log at the latest checkpoint the roll-ups have counted (beat counts every
LEDGER_ROLLUP_EVERY_SECONDS), and a page costs four small indexed queries whatever the number of
decisions. Small cells are suppressed here, not in the API, so that no caller can forget to:
the API only renders what `published` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from appeals import quality
from appeals.models import AppealStatus
from ledger.public.models import AppealCount, AppealEvent, AuditCount, DecisionCount
from moderation.models import ModelVersion
from moderation.vocabulary import Action

# Reversals and expiries (moderation.vocabulary.CHANGING_TYPES) are not decisions of a model:
# they change one. Their stored `action` is REVERSAL or EXPIRY exactly when their type is one
# of those (moderation.rules.summarize_action; a test ties the two), and the roll-ups keep the
# action, not the type.
CHANGING_ACTIONS = (Action.REVERSAL.value, Action.EXPIRY.value)
DECIDED = (AppealStatus.UPHELD.value, AppealStatus.OVERTURNED.value, AppealStatus.MODIFIED.value)
# "Overturned" in the statistics: the decision did not stand as it was.
CHANGED = (AppealStatus.OVERTURNED.value, AppealStatus.MODIFIED.value)

# A published count: the number, or "<N" when it is below LEDGER_MIN_CELL.
Cell = int | str


@dataclass(frozen=True, slots=True)
class ModelVersionCounts:
    """The exact counts of one model version; internal, never published as they are."""

    platform: str
    model: str
    version: str
    decisions: int
    appeals: int
    appeals_decided: int
    overturned: int
    # Sampled decisions labelled (each once, by its first label), and those labelled correct.
    audit_reviewed: int = 0
    audit_correct: int = 0


def model_versions(*, model: str | None = None, platform: str | None = None) -> QuerySet[Any]:
    """The model versions to report on, in the published order (platform, model, version).

    The order is total (a platform's model names and a model's versions are unique), so pages
    taken with an offset neither repeat nor skip a row between requests.
    """
    versions = ModelVersion.objects.all()
    if model is not None:
        versions = versions.filter(model__name=model)
    if platform is not None:
        versions = versions.filter(model__platform__slug=platform)
    return versions.order_by("model__platform__slug", "model__name", "version", "id").values(
        "id", "version", "model__name", "model__platform__slug"
    )


def _decisions(ids: list[int]) -> dict[int, int]:
    """model_version_id -> decisions that name it, reversals and expiries left out."""
    rows = (
        DecisionCount.objects.filter(model_version_id__in=ids)
        .exclude(action__in=CHANGING_ACTIONS)
        .values("model_version_id")
        .annotate(n=Sum("decisions"))
        .values_list("model_version_id", "n")
    )
    return {version: int(n) for version, n in rows}


def _appeals(ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """model_version_id -> (appeals filed, decided, overturned or modified) against its
    decisions, in one grouped query."""
    rows = (
        AppealCount.objects.filter(model_version_id__in=ids)
        .exclude(action__in=CHANGING_ACTIONS)
        .values("model_version_id")
        .annotate(
            filed=Sum("appeals", filter=Q(event=AppealEvent.FILED), default=0),
            decided=Sum("appeals", filter=Q(event__in=DECIDED), default=0),
            changed=Sum("appeals", filter=Q(event__in=CHANGED), default=0),
        )
    )
    return {
        row["model_version_id"]: (int(row["filed"]), int(row["decided"]), int(row["changed"]))
        for row in rows
    }


def _audits(ids: list[int]) -> dict[int, tuple[int, int]]:
    """model_version_id -> (sampled items labelled, labelled correct by their first label)."""
    rows = (
        AuditCount.objects.filter(model_version_id__in=ids)
        .values("model_version_id")
        .annotate(reviewed=Sum("reviewed"), correct=Sum("correct"))
    )
    return {row["model_version_id"]: (int(row["reviewed"]), int(row["correct"])) for row in rows}


def model_version_counts(
    *, model: str | None = None, platform: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[ModelVersionCounts], bool]:
    """One page of model versions with their counts, and whether another page follows.

    Four queries: the page of versions, then one grouped SUM over each roll-up (decisions,
    appeal events, audit labels) restricted to the page's versions by their indexes.
    """
    page = list(model_versions(model=model, platform=platform)[offset : offset + limit + 1])
    more = len(page) > limit
    page = page[:limit]
    ids = [row["id"] for row in page]

    decisions = _decisions(ids)
    appeals = _appeals(ids)
    audits = _audits(ids)
    rows = []
    for row in page:
        filed, decided, changed = appeals.get(row["id"], (0, 0, 0))
        rows.append(
            ModelVersionCounts(
                platform=row["model__platform__slug"],
                model=row["model__name"],
                version=row["version"],
                decisions=decisions.get(row["id"], 0),
                appeals=filed,
                appeals_decided=decided,
                overturned=changed,
                audit_reviewed=audits.get(row["id"], (0, 0))[0],
                audit_correct=audits.get(row["id"], (0, 0))[1],
            )
        )
    return rows, more


def suppressed(count: int, min_cell: int) -> Cell:
    return count if count >= min_cell else f"<{min_cell}"


def published(counts: ModelVersionCounts, *, min_cell: int | None = None) -> dict[str, Any]:
    """What the public sees of one model version: small counts as "<N", and no rate computed
    from a suppressed count."""
    threshold = settings.LEDGER_MIN_CELL if min_cell is None else min_cell
    # Null unless both of the rate's counts are shown: a rate over a shown denominator gives a
    # suppressed numerator back (rate x appeals_decided), which would undo the suppression.
    # "Rarely overturned" then reads as "<10" of a shown number decided.
    rate = None
    if counts.appeals_decided >= threshold and counts.overturned >= threshold:
        rate = counts.overturned / counts.appeals_decided
    return {
        "model": counts.model,
        "version": counts.version,
        "platform": counts.platform,
        "decisions": suppressed(counts.decisions, threshold),
        "appeals": suppressed(counts.appeals, threshold),
        "appeals_decided": suppressed(counts.appeals_decided, threshold),
        "overturned": suppressed(counts.overturned, threshold),
        "overturn_rate": rate,
        "audit": published_audit(counts, threshold),
    }


def published_audit(counts: ModelVersionCounts, threshold: int) -> dict[str, Any]:
    """Precision over the version's audit samples with its 95% Wilson interval, from
    `threshold` reviewed samples (the issue's rule: "null below LEDGER_MIN_CELL reviewed").

    Unlike the overturn rate, the precision does not wait for `correct` to be shown too: a
    version wrong on 9 samples in 10 would otherwise publish nothing, and that is exactly the
    finding the audit exists to publish. reviewed x precision then gives back a small
    `correct`, which reveals nothing new: each label of a sample is its own public log entry
    (AUDIT_LABELLED, with the decision's public id and the outcome), and the plan's salt lets
    anyone recompute which decisions were sampled. The counts are still shown as cells, the
    same way as every count here.
    """
    precision = low = high = None
    if counts.audit_reviewed >= threshold:
        row = quality.precision_of((), counts.audit_reviewed, counts.audit_correct)
        precision, low, high = row.precision, row.low, row.high
    return {
        "reviewed": suppressed(counts.audit_reviewed, threshold),
        "correct": suppressed(counts.audit_correct, threshold),
        "precision": precision,
        "low": low,
        "high": high,
    }
