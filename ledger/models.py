"""The append-only log (floor 2): entries, stored subtree hashes, and signed checkpoints.

Every recorded fact (a decision, a policy version, a model version, later appeal events) is a
`LogEntry` with a gapless index and the exact canonical JSON whose SHA-256 leaf hash enters the
RFC 9162 Merkle tree. `LogNode` keeps every completed perfect subtree hash above the leaves, so
any root, inclusion proof, consistency proof or tlog tile is a handful of indexed reads
(ledger.log). All three tables are append-only at the database.
"""

from __future__ import annotations

from django.db import models


class LogHead(models.Model):
    """The one row that orders all appends: locked FOR UPDATE by every writer, it makes indices
    gapless and in commit order. `frontier` is the compact range of the current tree (the
    perfect subtree roots left to right, [level, hex]) so that appending needs no reads."""

    size = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "log head"

    def __str__(self) -> str:
        return f"log of {self.size} entries"


class EntryType(models.TextChoices):
    DECISION = "decision", "Decision"
    POLICY = "policy", "Policy version"
    MODEL_VERSION = "model_version", "Model version"
    APPEAL_FILED = "appeal_filed", "Appeal filed"
    APPEAL_CLAIMED = "appeal_claimed", "Appeal claimed"
    APPEAL_DECIDED = "appeal_decided", "Appeal decided"
    APPEAL_ESCALATED = "appeal_escalated", "Appeal escalated"
    # A high-impact appeal outcome proposed by one reviewer, waiting for a second's approval;
    # the approval is the APPEAL_DECIDED entry, a rejection APPEAL_PROPOSAL_REJECTED.
    APPEAL_PROPOSED = "appeal_proposed", "Appeal outcome proposed"
    APPEAL_PROPOSAL_REJECTED = "appeal_proposal_rejected", "Proposed appeal outcome rejected"
    AUDIT_PLAN = "audit_plan", "Audit plan"
    AUDIT_LABELLED = "audit_labelled", "Audit sample labelled"
    DISPUTE_REFERRED = "dispute_referred", "Out-of-court dispute referred"
    DISPUTE_DECIDED = "dispute_decided", "Out-of-court dispute decided"
    DISPUTE_IMPLEMENTED = "dispute_implemented", "Out-of-court outcome implemented or not"


class LogEntry(models.Model):
    append_only = True

    index = models.BigIntegerField(primary_key=True)
    entry_type = models.CharField(max_length=32, choices=EntryType.choices)
    # The exact string whose UTF-8 bytes were hashed: canonical JSON of public fields only.
    payload = models.TextField()
    leaf_hash = models.BinaryField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "log entries"
        ordering = ["index"]
        constraints = [
            models.CheckConstraint(condition=models.Q(index__gte=0), name="log_index_natural")
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.entry_type}"


class LogNode(models.Model):
    """A completed perfect subtree above the leaves: MTH(D[index * 2^level : (index + 1) *
    2^level]). Level 0, the leaf hashes, lives in `LogEntry`."""

    append_only = True

    pk = models.CompositePrimaryKey("level", "index")
    level = models.SmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1), name="log_node_above_leaves")
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class Checkpoint(models.Model):
    """A signed tree head: a C2SP tlog-checkpoint note, Ed25519-signed by the log's key."""

    append_only = True

    size = models.BigIntegerField(unique=True)
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"checkpoint at {self.size}"
