"""Appeals against moderation decisions (DSA Article 20's internal complaint handling).

An appeal's filing is a log entry (APPEAL_FILED) whose payload is rebuilt from the row by
`appeals.payloads.appeal_filed_payload`, both when it is written and by `verify_log`. The row
itself is not append-only: its `status` moves as the appeal is reviewed (later), and each of
those moves will be a log entry of its own.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual

# The statement is the creator's own words: enough for a full explanation, bounded so that a
# reviewer can read it and a form post stays small.
MAX_STATEMENT_LENGTH = 5000


class Appellant(models.TextChoices):
    # The person the decision is about (the creator or account holder).
    SUBJECT = "subject", "Affected person"
    # The person or body whose notice led to the decision.
    NOTIFIER = "notifier", "Notifier"


class AppealStatus(models.TextChoices):
    """Stored values are never reused for another meaning: published history names them."""

    FILED = "filed", "Filed"
    IN_REVIEW = "in_review", "In review"
    UPHELD = "upheld", "Upheld"
    OVERTURNED = "overturned", "Overturned"
    MODIFIED = "modified", "Modified"


class Appeal(models.Model):
    # The id the appellant and the log know the appeal by; the integer pk stays internal.
    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (decision, appellant) unique constraint leads with it and serves
    # "the appeals of this decision".
    decision = models.ForeignKey(
        "moderation.Decision", on_delete=models.PROTECT, related_name="appeals", db_index=False
    )
    appellant = models.CharField(max_length=16, choices=Appellant.choices)
    # PRIVATE: never in the log, in a public payload or on a public page; shown to reviewers.
    statement = models.TextField(max_length=MAX_STATEMENT_LENGTH)
    status = models.CharField(
        max_length=16, choices=AppealStatus.choices, default=AppealStatus.FILED
    )
    filed_at = models.DateTimeField()
    deadline_at = models.DateTimeField()
    # The APPEAL_FILED entry, appended in the same transaction as this row.
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-filed_at", "-id"]
        constraints = [
            # One appeal per decision and appellant; also the index of "appeals of a decision".
            models.UniqueConstraint(
                fields=["decision", "appellant"], name="appeal_one_per_decision_and_appellant"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("statement"), 0)
                & LessThanOrEqual(Length("statement"), MAX_STATEMENT_LENGTH),
                name="appeal_statement_length",
            ),
            models.CheckConstraint(
                condition=Q(appellant__in=Appellant.values), name="appeal_appellant_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppealStatus.values), name="appeal_status_known"
            ),
            models.CheckConstraint(
                condition=Q(deadline_at__gte=models.F("filed_at")),
                name="appeal_deadline_after_filing",
            ),
        ]

    def __str__(self) -> str:
        return f"appeal {self.public_id} ({self.get_appellant_display()})"
