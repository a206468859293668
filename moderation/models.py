"""What was decided: platforms, their API keys, policies, detection models, decisions.

Decisions, policy versions and model versions are append-only (`append_only = True`): the
database rejects UPDATE and DELETE on them (see ledger.db). A change to a decision is a new
decision that points at the one it changes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from moderation.vocabulary import (
    AccountAction,
    AccountType,
    Action,
    AutomatedDecision,
    Category,
    DecisionType,
    Ground,
    Monetary,
    Provision,
    Source,
)


class Platform(models.Model):
    # Every published payload names the platform by its slug, and the slug keys every subject
    # pseudonym: the database refuses to change it (ledger.db).
    immutable_fields = ("slug",)

    slug = models.SlugField(max_length=64, unique=True)
    # The display name stays editable (the admin renames platforms): no log payload carries it,
    # and the DSA exports' `platform_name` is, as in the EU's own database (which renders it
    # from its platforms table), the platform's current name rather than part of a record.
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A platform's credential. Only a SHA-256 of the key is stored.

    Keys are 256-bit random strings, so a fast hash is enough: there is nothing to brute-force.
    The short `prefix` is stored in clear to find the row without scanning.
    """

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["platform", "-created_at"]

    def __str__(self) -> str:
        return f"{self.platform.slug} {self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Policy(models.Model):
    """One version of one platform rule. A new wording is a new version, never an edit."""

    append_only = True

    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="policies")
    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=80, choices=Category.choices)
    ground = models.CharField(max_length=40, choices=Ground.choices)
    # The terms-of-service clause or the law relied upon.
    clause = models.CharField(max_length=500)
    url = models.URLField(max_length=500, blank=True)
    summary = models.TextField(max_length=5000, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["platform", "key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "key", "version"], name="policy_unique_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="policy_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class DetectionModel(models.Model):
    """A classifier a platform runs. Its versions are what decisions name."""

    # Published model-version and decision payloads show the model's name: renaming it, or
    # moving it to another platform, would rewrite what every past decision shows.
    immutable_fields = ("name", "platform")

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="models")
    name = models.SlugField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "name"], name="detection_model_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    append_only = True

    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="+",
    )
    model = models.ForeignKey(DetectionModel, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=64)
    released_at = models.DateField()
    threshold = models.FloatField()
    card_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["model", "-released_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="model_version_unique"),
            models.CheckConstraint(
                condition=Q(threshold__gte=0) & Q(threshold__lte=1),
                name="model_version_threshold_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} {self.version}"


class Decision(models.Model):
    """One moderation decision, with every field of a DSA statement of reasons and more.

    Written only by `moderation.services.record_decisions`, which inserts rows in bulk (COPY on
    PostgreSQL): there is no per-object `save()` path. The columns it writes, and what its log
    payload shows of each, are registered in `moderation.payloads.DECISION_FIELDS`.
    """

    append_only = True

    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # No index of its own: (platform, puid) and (platform, decided_at) lead with it. Every
    # index is paid for on every insert.
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="decisions", db_index=False
    )
    puid = models.CharField("platform's decision id", max_length=500)
    # SHA-256 of the decision as submitted, to tell a harmless resend from a conflicting one.
    submission_digest = models.CharField(max_length=64)
    # The unguessable part of the creator's notice link (unique by a constraint below, which,
    # unlike unique=True, adds no second LIKE index on PostgreSQL).
    notice_token = models.CharField(max_length=64)
    # The decision's entry in the transparency log, appended in the same transaction.
    log_entry = models.OneToOneField(
        "ledger.LogEntry",
        to_field="index",
        db_column="log_index",
        on_delete=models.PROTECT,
        related_name="decision",
    )

    decision_type = models.CharField(max_length=40, choices=DecisionType.choices)
    action = models.CharField(max_length=40, choices=Action.choices)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    decision_visibility = models.JSONField(default=list, blank=True)
    decision_visibility_other = models.CharField(max_length=500, blank=True)
    end_date_visibility_restriction = models.DateField(null=True, blank=True)
    decision_monetary = models.CharField(max_length=40, choices=Monetary.choices, blank=True)
    decision_monetary_other = models.CharField(max_length=500, blank=True)
    end_date_monetary_restriction = models.DateField(null=True, blank=True)
    decision_provision = models.CharField(max_length=50, choices=Provision.choices, blank=True)
    end_date_service_restriction = models.DateField(null=True, blank=True)
    decision_account = models.CharField(max_length=40, choices=AccountAction.choices, blank=True)
    end_date_account_restriction = models.DateField(null=True, blank=True)
    account_type = models.CharField(max_length=30, choices=AccountType.choices, blank=True)

    decision_ground = models.CharField(max_length=40, choices=Ground.choices)
    decision_ground_reference_url = models.URLField(max_length=500, blank=True)
    illegal_content_legal_ground = models.CharField(max_length=500, blank=True)
    illegal_content_explanation = models.TextField(max_length=2000, blank=True)
    incompatible_content_ground = models.CharField(max_length=500, blank=True)
    incompatible_content_explanation = models.TextField(max_length=2000, blank=True)
    incompatible_content_illegal = models.BooleanField(null=True, blank=True)
    category = models.CharField(max_length=80, choices=Category.choices)
    category_addition = models.JSONField(default=list, blank=True)
    category_specification = models.JSONField(default=list, blank=True)
    category_specification_other = models.CharField(max_length=500, blank=True)
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    # The public statement of facts and circumstances (DSA `decision_facts`).
    decision_facts = models.TextField(max_length=5000)
    # Moderators' notes: never shown on public pages or in public payloads.
    internal_notes = models.TextField(max_length=5000, blank=True)

    source_type = models.CharField(max_length=40, choices=Source.choices)
    source_identity = models.CharField(max_length=500, blank=True)
    automated_detection = models.BooleanField()
    automated_decision = models.CharField(max_length=40, choices=AutomatedDecision.choices)
    # Indexed by (model_version, action) below.
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        db_index=False,
    )
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    # A pseudonym of the platform's own moderator id, for human decisions sent over the API.
    moderator_ref = models.CharField(max_length=64, blank=True)
    # The API key that recorded the decision (None: the admin, the demo seeder, a reversal
    # service acting for a reviewer). Internal: no payload shows it. No index of its own: the
    # audit question "what did this key record" is rare and may scan.
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The person or body whose notice led to the decision: a pseudonym of the platform's id for
    # them, and the unguessable part of their own notice link (empty when none was sent).
    notifier_ref = models.CharField(max_length=64, blank=True)
    notifier_token = models.CharField(max_length=64, blank=True)

    # HMAC pseudonyms of the platform's account and content ids (moderation.pseudonyms). The
    # native API requires one; a DSA statement (moderation.dsa) may name neither.
    subject_account = models.CharField(max_length=64, blank=True)
    subject_content = models.CharField(max_length=64, blank=True)
    content_type = models.JSONField(default=list)
    content_type_other = models.CharField(max_length=500, blank=True)
    content_language = models.CharField(max_length=2, blank=True)
    content_id_ean = models.CharField(max_length=13, blank=True)
    territorial_scope = models.JSONField(default=list, blank=True)

    content_date = models.DateField()
    decided_at = models.DateTimeField()
    application_date = models.DateField()
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            # Idempotency: a platform's own id names one decision forever.
            models.UniqueConstraint(fields=["platform", "puid"], name="decision_unique_puid"),
            models.UniqueConstraint(fields=["notice_token"], name="decision_unique_notice_token"),
            # The notifier's notice link; partial, so the many decisions without one cost nothing.
            models.UniqueConstraint(
                fields=["notifier_token"],
                condition=~Q(notifier_token=""),
                name="decision_unique_notifier_token",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)),
                name="decision_score_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(model_version__isnull=False),
                name="decision_score_needs_model",
            ),
            models.CheckConstraint(
                condition=~Q(decision_type__in=["DECISION_TYPE_REVERSAL", "DECISION_TYPE_EXPIRY"])
                | Q(supersedes__isnull=False),
                name="decision_change_points_at_original",
            ),
        ]
        indexes = [
            # The platform's own listing and the admin's default order.
            models.Index(fields=["platform", "-decided_at"], name="decision_platform_time"),
            # A creator's view: every decision about an account or a piece of content.
            models.Index(fields=["subject_account"], name="decision_subject_account"),
            models.Index(fields=["subject_content"], name="decision_subject_content"),
            # Per-model-version error statistics.
            models.Index(fields=["model_version", "action"], name="decision_model_action"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.public_id}"

    @property
    def restriction_end(self) -> object:
        ends = [
            d
            for d in (
                self.end_date_visibility_restriction,
                self.end_date_monetary_restriction,
                self.end_date_service_restriction,
                self.end_date_account_restriction,
            )
            if d is not None
        ]
        return max(ends) if ends else None


class EuForwarding(models.Model):
    """A platform's link to the EU DSA Transparency Database: its token and where to send.

    The token is stored encrypted (moderation.secrets) and never shown again.
    """

    platform = models.OneToOneField(
        Platform, on_delete=models.PROTECT, related_name="eu_forwarding"
    )
    encrypted_token = models.TextField()
    # Empty: settings.LEDGER_EU_API_URL (the EU's production API).
    endpoint = models.URLField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    # Why forwarding stopped by itself (e.g. the EU refused the token); cleared on re-enable.
    paused_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "EU forwarding"

    def __str__(self) -> str:
        return f"EU forwarding for {self.platform.slug}"


class DsaSubmission(models.Model):
    """The outbox of statements to forward to the EU: one row per decision, written in the
    same transaction as the decision, so a statement is never lost when the worker or the EU is
    down, and never submitted twice (the row is the only thing that sends it)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUBMITTED = "submitted", "Submitted"
        # The EU rejected the statement itself (a 422 naming it): retrying cannot help.
        REJECTED = "rejected", "Rejected by the EU"

    decision = models.OneToOneField(
        Decision,
        to_field="public_id",
        db_column="decision_public_id",
        on_delete=models.PROTECT,
        related_name="dsa_submission",
    )
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # True after an attempt whose outcome is unknown (timeout, dropped connection, 5xx): the
    # EU may hold the statement, so the next attempt asks it first instead of resending.
    outcome_unknown = models.BooleanField(default=False)
    eu_uuid = models.UUIDField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The forwarder's query: a platform's due pending rows, oldest first.
            models.Index(
                fields=["platform", "next_attempt_at"],
                condition=Q(state="pending"),
                name="dsa_submission_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision_id} {self.state}"


class PlatformMember(models.Model):
    """A staff user or reviewer who belongs to a platform: they see only their platforms'
    records (superusers see all).

    `moderator_ref` is the pseudonym of the platform's own id for this person (the same HMAC as
    a decision's `moderator_ref`), so that a decision they made over the API is known as theirs
    and they can never review it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_memberships"
    )
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="members")
    moderator_ref = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index of "this user's platforms", the scoping query of every admin page.
            models.UniqueConstraint(fields=["user", "platform"], name="member_unique_per_platform"),
        ]
        indexes = [
            # The no-self-review check: "is this decision's moderator_ref this user's?"
            models.Index(fields=["platform", "moderator_ref"], name="member_moderator_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.platform.slug}"


class WebhookEndpoint(models.Model):
    """Where a platform learns of outcomes (appeal decisions), signed per Standard Webhooks.

    The signing secret (`whsec_...`) is stored encrypted (moderation.secrets) and shown once,
    when it is made.
    """

    platform = models.OneToOneField(Platform, on_delete=models.PROTECT, related_name="webhook")
    url = models.URLField(max_length=500)
    encrypted_secret = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook of {self.platform.slug}"


class WebhookMessage(models.Model):
    """The webhook outbox: one row per event, written in the transaction of the change it
    reports and delivered (with retries and backoff) by a Celery task, so none is lost."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    # The Standard Webhooks `webhook-id`: the same on every retry, so receivers deduplicate.
    msg_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set when retries are exhausted; an operator may re-arm the row.
    failed_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The sender's query: due undelivered messages, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="webhook_message_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class AuditEvent(models.Model):
    """Who did what, for every change: an append-only trail written in the change's own
    transaction (moderation.trail.record). The actor is a user (staff or reviewer), an API
    key, or the system (a scheduled task), named in `actor_label` as well so the row reads
    alone after the user is renamed."""

    append_only = True

    at = models.DateTimeField()
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=200)
    platform = models.ForeignKey(
        Platform, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Dotted verbs, e.g. "decisions.recorded", "api_key.revoked", "appeal.decided".
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=100)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor_user", "-at"], name="audit_actor_user"),
            models.Index(fields=["actor_key", "-at"], name="audit_actor_key"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(actor_label=""), name="audit_event_names_its_actor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_id}"
