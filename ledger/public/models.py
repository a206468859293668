"""Roll-up tables: the counts that public statistics, reports and pages read, so that no public
request scans the decision tables (DESIGN.md: p95 at most 50 ms at ten million decisions).

They are derived data, not records: `ledger.public.rollups` adds to them as the log grows and
can rebuild them from scratch, so unlike the tables they count they are updated in place. Every
count is keyed by its UTC day (a decision by the day it was received, an appeal event, label or
dispute step by the day it happened) and by the dimensions the public filters on. Counting
follows the log: `RollupMark.upto` is the first log index not yet counted, and indices are
gapless and in commit order (ledger.log), so a count is always "the log up to index N".
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce


def one_row_per(
    name: str, *dims: str, nullable: dict[str, int] | None = None
) -> models.UniqueConstraint:
    """The roll-up's key: one row per value of its dimensions, a NULL dimension (no model
    version, no hours) standing as its sentinel so that NULLs collide too. The catch-up adds to
    rows with INSERT ... ON CONFLICT on exactly these expressions (ledger.public.rollups)."""
    sentinels = nullable or {}
    expressions = [
        Coalesce(F(name), Value(sentinels[name])) if name in sentinels else F(name) for name in dims
    ]
    return models.UniqueConstraint(*expressions, name=name)


# The dimensions of a decision's count (its key), and of an appeal event's.
DECISION_KEY = (
    "day",
    "platform",
    "action",
    "category",
    "ground",
    "source",
    "automated_detection",
    "automated_decision",
    "model_version",
)
APPEAL_KEY = (
    "day",
    "platform",
    "action",
    "category",
    "source",
    "automated_detection",
    "model_version",
    "event",
    "hours",
)
# No model version counts as version 0 in a key (ids start at 1).
NO_VERSION = {"model_version": 0}


class RollupMark(models.Model):
    """The one row saying how far the log has been counted; locked by whoever adds to the
    roll-ups, so two catch-ups (two beats) never count an entry twice."""

    upto = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"roll-ups count log entries below {self.upto}"


class DecisionDims(models.Model):
    """What a decision is counted by."""

    day = models.DateField()
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    action = models.CharField(max_length=40)
    category = models.CharField(max_length=80)
    ground = models.CharField(max_length=40)
    source = models.CharField(max_length=40)
    automated_detection = models.BooleanField()
    automated_decision = models.CharField(max_length=40)
    model_version = models.ForeignKey(
        "moderation.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        abstract = True


class DecisionCount(DecisionDims):
    """Decisions received per day and dimensions."""

    decisions = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["platform", "day"], name="rollup_decision_platform_day"),
            models.Index(fields=["day"], name="rollup_decision_day"),
            models.Index(fields=["model_version"], name="rollup_decision_version"),
        ]
        constraints = [one_row_per("rollup_decision_key", *DECISION_KEY, nullable=NO_VERSION)]

    def __str__(self) -> str:
        return f"{self.decisions} {self.action} on {self.day}"


class Facet(models.TextChoices):
    """The many-valued sides of a decision: a decision counts once under each of its values."""

    VISIBILITY = "visibility", "Visibility restriction"
    MONETARY = "monetary", "Monetary restriction"
    PROVISION = "provision", "Service restriction"
    ACCOUNT = "account", "Account restriction"
    TERRITORY = "territory", "Territorial scope"
    LANGUAGE = "language", "Content language"
    CONTENT_TYPE = "content_type", "Content type"


class DecisionFacetCount(DecisionDims):
    """Decisions per day, dimensions and one value of a facet (e.g. visibility "search
    excluded", territory "DE"); a decision with two visibility kinds counts under each."""

    facet = models.CharField(max_length=16, choices=Facet.choices)
    value = models.CharField(max_length=64)
    decisions = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["facet", "platform", "day"], name="rollup_facet_platform_day"),
            models.Index(fields=["facet", "day"], name="rollup_facet_day"),
        ]
        constraints = [
            one_row_per("rollup_facet_key", *DECISION_KEY, "facet", "value", nullable=NO_VERSION)
        ]

    def __str__(self) -> str:
        return f"{self.decisions} with {self.facet} {self.value} on {self.day}"


class FacetDayCount(models.Model):
    """Decisions per day, platform and facet value, without the other dimensions: what the
    views filtered by period and platform only (every view /stats/ offers) read, instead of
    the wide table, whose rows the other dimensions multiply (bench/public.py: 3.4 million
    facet rows for ten million decisions, 77 thousand here)."""

    day = models.DateField()
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    facet = models.CharField(max_length=16, choices=Facet.choices)
    value = models.CharField(max_length=64)
    decisions = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["facet", "day"], name="rollup_facetday_day")]
        constraints = [
            one_row_per("rollup_facetday_key", "platform", "facet", "day", "value"),
        ]

    def __str__(self) -> str:
        return f"{self.decisions} with {self.facet} {self.value} on {self.day}"


class AppealEvent(models.TextChoices):
    FILED = "filed", "Filed"
    UPHELD = "upheld", "Upheld"
    OVERTURNED = "overturned", "Overturned"
    MODIFIED = "modified", "Modified"


class AppealCount(models.Model):
    """Appeal events per day (the day filed or decided) and the appealed decision's dimensions.
    A decided event also carries the whole hours from filing to decision, so medians need no
    scan: the hours are a histogram."""

    day = models.DateField()
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    action = models.CharField(max_length=40)
    category = models.CharField(max_length=80)
    source = models.CharField(max_length=40)
    automated_detection = models.BooleanField()
    model_version = models.ForeignKey(
        "moderation.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    event = models.CharField(max_length=16, choices=AppealEvent.choices)
    # Whole hours from filing to decision; None for "filed".
    hours = models.IntegerField(null=True, blank=True)
    appeals = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["platform", "day"], name="rollup_appeal_platform_day"),
            models.Index(fields=["day"], name="rollup_appeal_day"),
            models.Index(fields=["model_version"], name="rollup_appeal_version"),
        ]
        constraints = [
            one_row_per(
                "rollup_appeal_key",
                *APPEAL_KEY,
                nullable={"model_version": 0, "hours": -1},
            )
        ]

    def __str__(self) -> str:
        return f"{self.appeals} {self.event} on {self.day}"


class AuditCount(models.Model):
    """Sampled audit items labelled per day, each counted once by its first label (as
    appeals.quality counts them); planted known-answer items never count."""

    day = models.DateField()
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    category = models.CharField(max_length=80)
    model_version = models.ForeignKey(
        "moderation.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    reviewed = models.BigIntegerField(default=0)
    correct = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["platform", "day"], name="rollup_audit_platform_day"),
            models.Index(fields=["model_version"], name="rollup_audit_version"),
        ]
        constraints = [
            one_row_per(
                "rollup_audit_key",
                "day",
                "platform",
                "category",
                "model_version",
                nullable=NO_VERSION,
            )
        ]

    def __str__(self) -> str:
        return f"{self.correct} of {self.reviewed} correct on {self.day}"


class DisputeEvent(models.TextChoices):
    REFERRED = "referred", "Referred"
    UPHELD = "upheld", "Decision upheld"
    OVERTURNED = "overturned", "Decision overturned"
    SETTLED = "settled", "Settled"
    WITHDRAWN = "withdrawn", "Withdrawn"
    IMPLEMENTED = "implemented", "Outcome implemented"
    NOT_IMPLEMENTED = "not_implemented", "Outcome not implemented"


class DisputeCount(models.Model):
    """Out-of-court dispute steps per day (DSA Article 21)."""

    day = models.DateField()
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event = models.CharField(max_length=16, choices=DisputeEvent.choices)
    disputes = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["platform", "day"], name="rollup_dispute_platform_day")]
        constraints = [one_row_per("rollup_dispute_key", "day", "platform", "event")]

    def __str__(self) -> str:
        return f"{self.disputes} {self.event} on {self.day}"
