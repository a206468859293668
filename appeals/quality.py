"""How often model versions and reviewers are right: precision from blind audit samples, with
Wilson intervals; agreement between double labels (Cohen's kappa); reviewers' accuracy on
planted known-answer items.

The pure functions (`wilson`, `cohen_kappa`) come first; the selectors below read the audit
items and their labels. Rules every selector keeps:

- A sampled item counts once, by its FIRST label (the earliest `decided_at`, then id): a
  second, independent label of a double-reviewed item measures the reviewers' agreement, not
  the model a second time.
- Planted known-answer items never count in a precision: they were chosen by a moderator, not
  sampled, so they say nothing about how often a model is right. They measure reviewers.
- Everything is counted live from the tables; issue 10's roll-ups replace that at scale.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from appeals.models import ItemKind, Label, Outcome, Review, ReviewItem
from appeals.selectors import overturned_at_senior_level
from moderation.models import ModelVersion

# The normal quantile for a two-sided 95% interval, to the precision of a double.
Z_95 = 1.959963984540054
LABELS = (Label.CORRECT.value, Label.INCORRECT.value)
APPEAL_OUTCOMES = (Outcome.UPHELD.value, Outcome.OVERTURNED.value, Outcome.MODIFIED.value)


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (Wilson 1927; Agresti and Coull 1998): unlike
    p +- z*sqrt(p(1-p)/n) it stays inside [0, 1] and does not collapse to a point at 0 or n
    successes, which matters for the small samples audits have. None when n is 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; rounding must not leave 1e-17 or 0.99..9.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> float | None:
    """Cohen's kappa of paired labels (first rater, second rater): (po - pe) / (1 - pe), po the
    observed agreement, pe the agreement expected from each rater's own label frequencies.

    None when it is undefined: no pairs, or pe = 1 (both raters always gave the same single
    label, so there is no disagreement chance could have produced).
    """
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    observed = sum(1 for a, b in pairs if a == b) / n
    expected = sum(first[label] * second[label] for label in first) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True, slots=True)
class Precision:
    """Correct over reviewed for one group of sampled decisions.

    `precision`, `low` and `high` (the 95% Wilson interval) are None when nothing was
    reviewed, or, for the breakdowns by policy, language and territory, below the minimum
    number of samples (`enough` false). `flagged`: the interval's upper bound is below
    LEDGER_MIN_PRECISION, so even the most favourable reading of the sample says the group's
    decisions are wrong more often than the ledger tolerates.
    """

    key: tuple[Any, ...]
    reviewed: int
    correct: int
    precision: float | None
    low: float | None
    high: float | None
    enough: bool
    flagged: bool

    @property
    def incorrect(self) -> int:
        return self.reviewed - self.correct


def precision_of(
    key: tuple[Any, ...], reviewed: int, correct: int, *, min_samples: int = 1
) -> Precision:
    enough = reviewed >= max(1, min_samples)
    bounds = wilson(correct, reviewed) if enough else None
    if bounds is None:
        return Precision(key, reviewed, correct, None, None, None, enough, False)
    low, high = bounds
    return Precision(
        key,
        reviewed,
        correct,
        correct / reviewed,
        low,
        high,
        enough,
        high < settings.LEDGER_MIN_PRECISION,
    )


def _first_label() -> Subquery:
    # Served by review_one_per_item_and_reviewer's index, which leads with item_id.
    return Subquery(
        Review.objects.filter(item=OuterRef("pk"), outcome__in=LABELS)
        .order_by("decided_at", "id")
        .values("outcome")[:1]
    )


def labelled_samples(platform_ids: Iterable[int] | None = None) -> QuerySet[Any]:
    """Sampled audit items (never planted ones) that have a label, each annotated with its
    first label as `first`."""
    items = ReviewItem.objects.filter(kind=ItemKind.AUDIT, plan__isnull=False)
    if platform_ids is not None:
        items = items.filter(queue__platform_id__in=list(platform_ids))
    return items.annotate(first=_first_label()).filter(first__isnull=False)


def audit_counts(model_version_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """model_version_id -> (reviewed, correct), in one grouped query (the statistics API's)."""
    ids = list(model_version_ids)
    if not ids:
        return {}
    rows = (
        labelled_samples()
        .filter(decision__model_version_id__in=ids)
        .values("decision__model_version_id")
        .annotate(reviewed=Count("id"), correct=Count("id", filter=Q(first=Label.CORRECT)))
        .order_by()
    )
    return {row["decision__model_version_id"]: (row["reviewed"], row["correct"]) for row in rows}


@dataclass(frozen=True, slots=True)
class ModelVersionPrecision:
    platform: str
    model: str
    version: str
    model_version_id: int
    audit: Precision

    @property
    def flagged(self) -> bool:
        return self.audit.flagged


def precision_by_model_version(
    platform_ids: Iterable[int] | None = None,
) -> list[ModelVersionPrecision]:
    """Every model version of the platforms (those never audited too, with nothing reviewed),
    by platform, model and version, with its precision over its labelled samples."""
    versions = ModelVersion.objects.order_by(
        "model__platform__slug", "model__name", "version", "id"
    ).values("id", "version", "model__name", "model__platform__slug")
    if platform_ids is not None:
        versions = versions.filter(model__platform_id__in=list(platform_ids))
    page = list(versions)
    counts = audit_counts(row["id"] for row in page)
    result = []
    for row in page:
        key = (row["model__platform__slug"], row["model__name"], row["version"])
        reviewed, correct = counts.get(row["id"], (0, 0))
        result.append(
            ModelVersionPrecision(
                platform=row["model__platform__slug"],
                model=row["model__name"],
                version=row["version"],
                model_version_id=row["id"],
                audit=precision_of(key, reviewed, correct),
            )
        )
    return result


def _min_samples(min_samples: int | None) -> int:
    return settings.LEDGER_MIN_CELL if min_samples is None else min_samples


def _tally(
    rows: Iterable[dict[str, Any]], keys: Callable[[dict[str, Any]], Iterable[Hashable]]
) -> dict[Any, list[int]]:
    counts: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        for key in keys(row):
            counts[key][0] += 1
            counts[key][1] += row["first"] == Label.CORRECT
    return counts


def _grouped(
    counts: dict[Any, list[int]], min_samples: int | None, order: Callable[[Any], Any]
) -> list[Precision]:
    threshold = _min_samples(min_samples)
    return [
        precision_of(key, reviewed, correct, min_samples=threshold)
        for key, (reviewed, correct) in sorted(counts.items(), key=lambda kv: order(kv[0]))
    ]


def _none_last(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, "" if value is None else value) for value in key)


def precision_by_policy(
    platform_ids: Iterable[int] | None = None, *, min_samples: int | None = None
) -> list[Precision]:
    """Per policy version: key (platform slug, policy key, policy version, title); decisions
    that named no policy share the key (slug, None, None, None). Precision only from
    `min_samples` reviewed (LEDGER_MIN_CELL by default): fewer say little and may point at
    the few decisions behind them."""
    rows = labelled_samples(platform_ids).values(
        "first",
        "decision__platform__slug",
        "decision__policy__key",
        "decision__policy__version",
        "decision__policy__title",
    )
    counts = _tally(
        rows,
        lambda r: [
            (
                r["decision__platform__slug"],
                r["decision__policy__key"],
                r["decision__policy__version"],
                r["decision__policy__title"],
            )
        ],
    )
    return _grouped(counts, min_samples, _none_last)


def precision_by_language(
    platform_ids: Iterable[int] | None = None, *, min_samples: int | None = None
) -> list[Precision]:
    """Per content language: key (platform slug, ISO 639-1 code, "" when none was given)."""
    rows = labelled_samples(platform_ids).values(
        "first", "decision__platform__slug", "decision__content_language"
    )
    counts = _tally(
        rows, lambda r: [(r["decision__platform__slug"], r["decision__content_language"])]
    )
    return _grouped(counts, min_samples, _none_last)


def precision_by_territory(
    platform_ids: Iterable[int] | None = None, *, min_samples: int | None = None
) -> list[Precision]:
    """Per territory: key (platform slug, territory code). A decision applies in a list of
    territories and counts once in each, so the rows do not add up to the total reviewed."""
    rows = labelled_samples(platform_ids).values(
        "first", "decision__platform__slug", "decision__territorial_scope"
    )
    counts = _tally(
        rows,
        lambda r: [
            (r["decision__platform__slug"], territory)
            for territory in dict.fromkeys(r["decision__territorial_scope"] or [])
        ],
    )
    return _grouped(counts, min_samples, _none_last)


@dataclass(frozen=True, slots=True)
class Agreement:
    """Cohen's kappa over the first two labels of a group's double-labelled items."""

    key: tuple[Any, ...]
    pairs: int
    agreed: int
    kappa: float | None


def _label_pairs(platform_ids: Iterable[int] | None) -> list[tuple[dict[str, Any], str, str]]:
    """(item row, first label, second label) of every audit item with two labels or more.

    Planted items count here as well as samples: two reviewers labelling the same item
    independently is agreement, whoever chose the item. One query over the labels, in
    (item, decided_at, id) order.
    """
    labels = Review.objects.filter(item__kind=ItemKind.AUDIT, outcome__in=LABELS)
    if platform_ids is not None:
        labels = labels.filter(item__queue__platform_id__in=list(platform_ids))
    rows = labels.order_by("item_id", "decided_at", "id").values(
        "item_id",
        "outcome",
        "item__queue__platform__slug",
        "item__queue__slug",
        "item__queue__name",
        "item__decision__policy__key",
        "item__decision__policy__version",
        "item__decision__policy__title",
    )
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if len(by_item[row["item_id"]]) < 2:
            by_item[row["item_id"]].append(dict(row))
    return [
        (first, first["outcome"], second["outcome"])
        for first, second in (pair for pair in by_item.values() if len(pair) == 2)
    ]


def _agreements(
    pairs: list[tuple[dict[str, Any], str, str]], key: Callable[[dict[str, Any]], tuple[Any, ...]]
) -> list[Agreement]:
    groups: dict[tuple[Any, ...], list[tuple[str, str]]] = defaultdict(list)
    for row, a, b in pairs:
        groups[key(row)].append((a, b))
    return [
        Agreement(k, len(v), sum(1 for a, b in v if a == b), cohen_kappa(v))
        for k, v in sorted(groups.items(), key=lambda kv: _none_last(kv[0]))
    ]


def kappa_by_queue(platform_ids: Iterable[int] | None = None) -> list[Agreement]:
    """Per queue: key (platform slug, queue slug, queue name)."""
    return _agreements(
        _label_pairs(platform_ids),
        lambda r: (
            r["item__queue__platform__slug"],
            r["item__queue__slug"],
            r["item__queue__name"],
        ),
    )


def kappa_by_policy(platform_ids: Iterable[int] | None = None) -> list[Agreement]:
    """Per policy version: key (platform slug, policy key, version, title), None for
    decisions that named no policy."""
    return _agreements(
        _label_pairs(platform_ids),
        lambda r: (
            r["item__queue__platform__slug"],
            r["item__decision__policy__key"],
            r["item__decision__policy__version"],
            r["item__decision__policy__title"],
        ),
    )


@dataclass(frozen=True, slots=True)
class ReviewerQuality:
    """One reviewer's record: accuracy on planted known-answer items (with its 95% Wilson
    interval), how much audit and appeal work they did, and how many of their appeal decisions
    were overturned at the senior level (appeals.selectors.overturned_at_senior_level: their
    high-impact proposals that a second reviewer rejected and a senior then decided
    otherwise)."""

    reviewer_id: int
    username: str
    known_answers: int
    right: int
    accuracy: float | None
    low: float | None
    high: float | None
    audit_labels: int
    appeal_decisions: int
    proposals: int
    proposals_rejected: int
    overturned_at_senior: int


def reviewer_quality(platform_ids: Iterable[int] | None = None) -> list[ReviewerQuality]:
    """Every reviewer who reviewed an item of the platforms, by username, in two grouped
    queries.

    Known answers: their labels of planted items, right when the label is the planted answer.
    Audit labels: their labels of sampled items. Appeal decisions: appeals they upheld,
    overturned or modified (proposals awaiting or refused approval included: the reviewer did
    decide them).
    """
    if platform_ids is not None:
        platform_ids = list(platform_ids)
    reviews = Review.objects.filter(reviewer__isnull=False)
    if platform_ids is not None:
        reviews = reviews.filter(item__queue__platform_id__in=platform_ids)
    planted = Q(item__kind=ItemKind.AUDIT, outcome__in=LABELS) & ~Q(item__known_answer="")
    rows = (
        reviews.values("reviewer_id", "reviewer__user__username")
        .annotate(
            known=Count("id", filter=planted),
            right=Count("id", filter=planted & Q(outcome=F("item__known_answer"))),
            audit_labels=Count(
                "id",
                filter=Q(item__kind=ItemKind.AUDIT, item__plan__isnull=False, outcome__in=LABELS),
            ),
            appeal_decisions=Count(
                "id", filter=Q(item__kind=ItemKind.APPEAL, outcome__in=APPEAL_OUTCOMES)
            ),
        )
        .order_by("reviewer__user__username", "reviewer_id")
    )
    seniors = overturned_at_senior_level(platform_ids)
    result = []
    for row in rows:
        bounds = wilson(row["right"], row["known"])
        senior = seniors.get(row["reviewer_id"])
        result.append(
            ReviewerQuality(
                reviewer_id=row["reviewer_id"],
                username=row["reviewer__user__username"],
                known_answers=row["known"],
                right=row["right"],
                accuracy=row["right"] / row["known"] if row["known"] else None,
                low=bounds[0] if bounds else None,
                high=bounds[1] if bounds else None,
                audit_labels=row["audit_labels"],
                appeal_decisions=row["appeal_decisions"],
                proposals=senior.proposals if senior else 0,
                proposals_rejected=senior.rejected if senior else 0,
                overturned_at_senior=senior.overturned if senior else 0,
            )
        )
    return result
