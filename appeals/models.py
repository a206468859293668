"""Appeals against moderation decisions (DSA Article 20's internal complaint handling).

An appeal's filing is a log entry (APPEAL_FILED) whose payload is rebuilt from the row by
`appeals.payloads.appeal_filed_payload`, both when it is written and by `verify_log`. The row
itself is not append-only: its `status` moves as the appeal is reviewed (later), and each of
those moves will be a log entry of its own.
"""

from __future__ import annotations

import uuid

from django.conf import settings
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
    # A high-impact outcome a reviewer proposed, waiting for a second reviewer's approval
    # before it takes effect (appeals.services.resolve_appeal).
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting a second approval"


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
        max_length=24, choices=AppealStatus.choices, default=AppealStatus.FILED
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


class Reviewer(models.Model):
    """A person who decides appeals. Belongs to platforms through `moderation.PlatformMember`
    (which also carries the platform's own id for them); `senior` reviewers take escalations.

    Their API token (for platforms' own review tools) is stored as a SHA-256, like API keys.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviewer"
    )
    senior = models.BooleanField(default=False)
    token_prefix = models.CharField(max_length=16, unique=True, null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()}{' (senior)' if self.senior else ''}"


class ReviewQueue(models.Model):
    """A platform's queue of review items, with the rules that route appeals into it.

    An appeal goes to the first queue, by `position`, whose every non-empty rule matches its
    decision (action, category, content language, any territory); the platform's default
    queue (one per platform, made on first need) takes the rest, so every appeal lands in
    exactly one queue.
    """

    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="review_queues"
    )
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=100)
    # Routing rules: lists of vocabulary values; an empty list matches anything.
    actions = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    territories = models.JSONField(default=list, blank=True)
    # The time an item has from entering the queue to its decision.
    deadline_hours = models.PositiveIntegerField()
    # Items this close to their deadline escalate to a senior reviewer by themselves.
    escalate_before_hours = models.PositiveIntegerField(default=24)
    # The group of reviewers who work the queue (empty: every reviewer of the platform).
    reviewers = models.ManyToManyField(Reviewer, blank=True, related_name="queues")
    # The platform's audit queue (one at most, made on first need): blind audit samples go
    # here, and appeals are never routed to it.
    audit = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "position", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "slug"], name="queue_unique_slug"),
            models.UniqueConstraint(
                fields=["platform"], condition=Q(is_default=True), name="queue_one_default"
            ),
            models.UniqueConstraint(
                fields=["platform"], condition=Q(audit=True), name="queue_one_audit"
            ),
            models.CheckConstraint(
                condition=~Q(audit=True, is_default=True), name="queue_audit_not_default"
            ),
            models.CheckConstraint(
                condition=Q(deadline_hours__gt=0), name="queue_deadline_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform.slug}/{self.slug}"


class AuditPlan(models.Model):
    """A platform's sampling plan for blind audits: a rate per stratum, and a random salt.

    Append-only; each plan is a log entry (AUDIT_PLAN) carrying its strata and salt, so anyone
    can recompute which decisions were sampled. The plan in force for a decision is the
    platform's latest plan before the decision's own log entry. A decision is sampled when
    int.from_bytes(HMAC-SHA256(salt, str(public_id))[:8], "big") / 2**64 < rate, the rate of
    the most specific stratum that matches (model version, then category, then the default;
    no match: not sampled). A sampled item is labelled twice when the same draw over
    "double:" + str(public_id) falls below `double_review`.
    """

    append_only = True

    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="audit_plans"
    )
    # Normalised, in the order given: [{"model": name, "version": v, "rate": r} |
    # {"category": c, "rate": r} | {"rate": r}], each rate in [0, 1].
    strata = models.JSONField()
    # The share of sampled items labelled by two reviewers independently (for Cohen's kappa).
    double_review = models.FloatField(default=0.0)
    # 32 random bytes, hex: published in the plan's log entry.
    salt = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["platform", "-log_entry"]
        constraints = [
            models.CheckConstraint(
                condition=Q(double_review__gte=0) & Q(double_review__lte=1),
                name="audit_plan_double_review_share",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("salt"), 31), name="audit_plan_salt_given"
            ),
        ]

    def __str__(self) -> str:
        return f"audit plan #{self.log_entry_id} of {self.platform_id}"


class Label(models.TextChoices):
    """An audit label: was the decision right under the policy?"""

    CORRECT = "correct", "Correct"
    INCORRECT = "incorrect", "Incorrect"


class ItemKind(models.TextChoices):
    APPEAL = "appeal", "Appeal"
    # A decision to label correct or incorrect: a blind audit sample (`plan` set) or a
    # planted known-answer item (`known_answer` set), which reviewers cannot tell apart.
    AUDIT = "audit", "Audit"


class ItemState(models.TextChoices):
    OPEN = "open", "Waiting"
    CLAIMED = "claimed", "Claimed"
    DONE = "done", "Decided"


class ReviewItem(models.Model):
    """One piece of review work in a queue (for now: an appeal to decide).

    Claimed as a lease: `claimed_by` holds it until `lease_expires_at`, which a heartbeat
    extends; every change bumps `version`, and a decision commits only with the lease and the
    version the reviewer read (appeals.services).
    """

    kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.APPEAL)
    appeal = models.OneToOneField(
        Appeal, null=True, blank=True, on_delete=models.PROTECT, related_name="review_item"
    )
    # The decision under review, denormalised from the appeal for the no-self-review guard.
    decision = models.ForeignKey(
        "moderation.Decision", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    queue = models.ForeignKey(ReviewQueue, on_delete=models.PROTECT, related_name="items")
    # 0 first: account terminations and suspensions, then everything else; then oldest first.
    priority = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=16, choices=ItemState.choices, default=ItemState.OPEN)
    version = models.PositiveIntegerField(default=1)
    claimed_by = models.ForeignKey(
        Reviewer, null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Only a senior reviewer may take it (after an escalation).
    senior_only = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    # When the deadline passed undecided (counted once, by the beat task).
    breached_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Audit samples: the plan that sampled the decision.
    plan = models.ForeignKey(
        AuditPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    # Labels the item needs before it is done: 2 for a double-reviewed audit item.
    labels_needed = models.PositiveSmallIntegerField(default=1)
    # Known-answer items: the right label, planted by a moderator; never shown to reviewers.
    known_answer = models.CharField(max_length=16, choices=Label.choices, blank=True)
    planted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An appeal outcome proposed by a first reviewer that waits for a second, different
    # reviewer's approval (high-impact outcomes); None otherwise.
    proposal = models.OneToOneField(
        "Review", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["priority", "created_at", "id"]
        indexes = [
            # The claim query: a queue's waiting items in priority, then age, order.
            models.Index(
                fields=["queue", "priority", "created_at"],
                condition=~Q(state="done"),
                name="review_item_claimable",
            ),
            # The beat tasks: leases to expire and deadlines to watch.
            models.Index(
                fields=["due_at"], condition=~Q(state="done"), name="review_item_open_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ItemState.values), name="review_item_state_known"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ItemKind.values), name="review_item_kind_known"
            ),
            # A claim is whole: holder, claim time and lease together, and only while claimed.
            models.CheckConstraint(
                condition=(
                    Q(
                        state="claimed",
                        claimed_by__isnull=False,
                        claimed_at__isnull=False,
                        lease_expires_at__isnull=False,
                    )
                    | (
                        ~Q(state="claimed")
                        & Q(
                            claimed_by__isnull=True,
                            claimed_at__isnull=True,
                            lease_expires_at__isnull=True,
                        )
                    )
                ),
                name="review_item_claim_whole",
            ),
            models.CheckConstraint(
                condition=Q(kind="appeal", appeal__isnull=False) | ~Q(kind="appeal"),
                name="review_item_appeal_has_appeal",
            ),
            # An audit item is a sample of a plan or a planted known answer, never both, and
            # is about no appeal; only audit items have either.
            models.CheckConstraint(
                condition=(
                    Q(kind="audit", appeal__isnull=True)
                    & (
                        (Q(plan__isnull=False) & Q(known_answer=""))
                        | (Q(plan__isnull=True) & ~Q(known_answer=""))
                    )
                )
                | Q(~Q(kind="audit"), plan__isnull=True, known_answer=""),
                name="review_item_audit_source",
            ),
            models.CheckConstraint(
                condition=Q(known_answer__in=["", *Label.values]),
                name="review_item_known_answer_known",
            ),
            models.CheckConstraint(
                condition=Q(labels_needed__in=[1, 2]), name="review_item_labels_needed"
            ),
            # A decision is sampled once, however often sampling runs over it.
            models.UniqueConstraint(
                fields=["decision"],
                condition=Q(kind="audit", plan__isnull=False),
                name="review_item_one_sample_per_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} item {self.pk} ({self.state})"


class Outcome(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    OVERTURNED = "overturned", "Overturned"
    MODIFIED = "modified", "Modified to a lighter measure"
    # Not an outcome of the appeal: sent on to a senior reviewer.
    ESCALATED = "escalated", "Escalated"
    # Audit labels (items of kind "audit").
    CORRECT = "correct", "Correct"
    INCORRECT = "incorrect", "Incorrect"
    # A second reviewer's answer to a proposed high-impact outcome (`Review.approves`).
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Review(models.Model):
    """What a reviewer did with an item: decided it (upheld, overturned, modified) or
    escalated it. Append-only; each is a log entry (APPEAL_DECIDED or APPEAL_ESCALATED)
    carrying the reviewer's pseudonym and the SHA-256 of the reason, never the reason itself.

    One per item and reviewer, which is also "nobody reviews an appeal they already decided or
    escalated"; the database refuses a review of a decision the reviewer made (appeals
    migration 0002's triggers).
    """

    append_only = True

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="reviews")
    appeal = models.ForeignKey(
        Appeal, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    # None only for an escalation made by the deadline watch rather than a person.
    reviewer = models.ForeignKey(
        Reviewer, null=True, blank=True, on_delete=models.PROTECT, related_name="reviews"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Shown to the appellant (not public, not in the log: the log has its SHA-256).
    reason = models.TextField(max_length=5000)
    reason_sha256 = models.CharField(max_length=64)
    decided_at = models.DateTimeField()
    # The decision an overturn or modification recorded in `moderation`.
    reversal = models.OneToOneField(
        "moderation.Decision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review",
    )
    # Audit labels of "incorrect": the policy clause that applies instead (or why none does).
    clause = models.CharField(max_length=500, blank=True)
    # An appeal outcome that waits for a second reviewer's approval before it takes effect.
    needs_approval = models.BooleanField(default=False)
    # A proposed modification's lighter measure (moderation.services.Measure's fields), kept
    # until the approval records it.
    measure = models.JSONField(null=True, blank=True)
    # An approval or rejection: the proposal it answers.
    approves = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="answer"
    )
    # The log entry, None only for labels of planted known-answer items (kept off the public
    # log, so that the log never tells which items were tests).
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        null=True,
        blank=True,
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reviewer"], name="review_one_per_item_and_reviewer"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="review_outcome_known"
            ),
            models.CheckConstraint(
                condition=Q(reviewer__isnull=False) | Q(outcome="escalated"),
                name="review_decided_by_a_person",
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("reason"), 0), name="review_reason_given"
            ),
            models.CheckConstraint(
                condition=Q(approves__isnull=True) | Q(outcome__in=["approved", "rejected"]),
                name="review_answer_is_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} review of item {self.item_id}"


class DisputeOutcome(models.TextChoices):
    """What a certified out-of-court dispute settlement body (DSA Article 21) decided."""

    # The body agreed with the platform's decision.
    UPHELD = "upheld", "Decision upheld"
    # The body found for the complainant: the decision should be reversed.
    OVERTURNED = "overturned", "Decision overturned"
    SETTLED = "settled", "Settled between the parties"
    WITHDRAWN = "withdrawn", "Withdrawn or discontinued"


class Dispute(models.Model):
    """A case referred to a certified out-of-court dispute settlement body (DSA Article 21),
    against a decision.

    Recorded in up to three steps, each an append-only row and a log entry: the referral (this
    row, DISPUTE_REFERRED), the body's outcome (`DisputeRuling`, DISPUTE_DECIDED), and whether
    and when the platform implemented it (`DisputeImplementation`, DISPUTE_IMPLEMENTED).
    """

    append_only = True

    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(
        "moderation.Decision", on_delete=models.PROTECT, related_name="disputes"
    )
    platform = models.ForeignKey(
        "moderation.Platform", on_delete=models.PROTECT, related_name="disputes"
    )
    # Who took the case to the body: the affected person or the notifier.
    complainant = models.CharField(max_length=16, choices=Appellant.choices)
    # The certified body's name (public: it is in the log).
    body = models.CharField(max_length=200)
    referred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-referred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(complainant__in=Appellant.values), name="dispute_complainant_known"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("body"), 0), name="dispute_body_named"
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.public_id} ({self.body})"


class DisputeRuling(models.Model):
    """The body's outcome of a dispute; one per dispute, append-only, a log entry."""

    append_only = True

    dispute = models.OneToOneField(Dispute, on_delete=models.PROTECT, related_name="ruling")
    outcome = models.CharField(max_length=16, choices=DisputeOutcome.choices)
    decided_at = models.DateTimeField()
    created_at = models.DateTimeField()
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=DisputeOutcome.values), name="dispute_outcome_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} ruling of dispute {self.dispute_id}"


class DisputeImplementation(models.Model):
    """Whether, and when, the platform implemented the body's outcome; one per dispute, after
    its ruling (the service checks), append-only, a log entry."""

    append_only = True

    dispute = models.OneToOneField(Dispute, on_delete=models.PROTECT, related_name="implementation")
    implemented = models.BooleanField()
    # When it was implemented; None exactly when it was not.
    implemented_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(implemented=True, implemented_at__isnull=False)
                | Q(implemented=False, implemented_at__isnull=True),
                name="dispute_implemented_at_iff_implemented",
            ),
        ]

    def __str__(self) -> str:
        return f"implementation of dispute {self.dispute_id}"
