"""Bind appeal rows to their APPEAL_FILED log entries, for `verify_log`.

Registered by `AppealsConfig.ready`. The checker reads the appeals of one index range, rebuilds
each one's payload with the builder the write path used and compares the bytes, so an appeal
row edited behind the service's back (its decision, appellant or times) shows as a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.db.models import Q

from appeals.labels import audit_label_payload
from appeals.models import Appeal, Label, Outcome, Review
from appeals.payloads import (
    appeal_filed_payload,
    appeal_proposal_rejected_payload,
    appeal_proposed_payload,
    appeal_reviewed_payload,
)
from ledger.audit import BindingChecker, register_binding
from ledger.models import EntryType
from moderation.bindings import Problems, _check, _in_range

_VALUES = (
    "log_entry_id",
    "public_id",
    "decision__public_id",
    "decision__platform__slug",
    "appellant",
    "filed_at",
    "deadline_at",
)


def check_appeals_filed(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(Appeal.objects.all(), first, last).values_list(*_VALUES)
        for index, public_id, decision, platform, appellant, filed_at, deadline_at in rows:
            payload = appeal_filed_payload(
                public_id=public_id,
                decision=decision,
                platform=platform,
                appellant=appellant,
                filed_at=filed_at,
                deadline_at=deadline_at,
            )
            yield index, f"appeal {public_id}", payload

    return _check("appeal_filed", entries, last, rebuilt())


_REVIEW_VALUES = (
    "log_entry_id",
    "appeal__public_id",
    "item__decision__public_id",
    "item__decision__platform__slug",
    "outcome",
    "reviewer_id",
    "decided_at",
    "reason_sha256",
    "reversal__public_id",
    # An approval decides with its proposal's outcome and reason digest, and names its entry.
    "approves__outcome",
    "approves__reason_sha256",
    "approves__log_entry_id",
)

# The reviews written with an APPEAL_DECIDED entry: decisions that took effect at once, and
# approvals of proposals. Everything else has an entry type of its own: escalations, audit
# labels (AUDIT_LABELLED, or none for planted items), proposals (APPEAL_PROPOSED) and
# rejections of proposals (APPEAL_PROPOSAL_REJECTED).
_DECIDED = Q(
    outcome__in=[Outcome.UPHELD, Outcome.OVERTURNED, Outcome.MODIFIED], needs_approval=False
) | Q(outcome=Outcome.APPROVED)


def _check_reviews(kind: str, escalations: bool) -> BindingChecker:
    def check(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
        reviews = Review.objects.filter(Q(outcome=Outcome.ESCALATED) if escalations else _DECIDED)

        def rebuilt() -> Iterator[tuple[int, str, bytes]]:
            rows = _in_range(reviews, first, last).values_list(*_REVIEW_VALUES)
            for (
                index,
                appeal,
                decision,
                platform,
                outcome,
                reviewer,
                at,
                digest,
                reversal,
                proposed,
                proposed_digest,
                proposal,
            ) in rows:
                approval = outcome == Outcome.APPROVED
                _, payload = appeal_reviewed_payload(
                    appeal=appeal,
                    decision=decision,
                    platform=platform,
                    outcome=proposed if approval else outcome,
                    reviewer_id=reviewer,
                    decided_at=at,
                    reason_sha256=proposed_digest if approval else digest,
                    reversal=reversal,
                    proposal=proposal if approval else None,
                    approval_reason_sha256=digest if approval else None,
                )
                yield index, f"{kind} of appeal {appeal}", payload

        return _check(kind, entries, last, rebuilt())

    return check


_LABEL_VALUES = (
    "log_entry_id",
    "item__decision__public_id",
    "item__decision__platform__slug",
    "item__plan__log_entry_id",
    "reviewer_id",
    "outcome",
    "reason_sha256",
    "clause",
    "decided_at",
)


def check_proposals(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        proposals = Review.objects.filter(needs_approval=True)
        rows = _in_range(proposals, first, last).values_list(
            "log_entry_id",
            "appeal__public_id",
            "item__decision__public_id",
            "item__decision__platform__slug",
            "outcome",
            "reviewer_id",
            "decided_at",
            "reason_sha256",
        )
        for index, appeal, decision, platform, outcome, reviewer, at, digest in rows:
            payload = appeal_proposed_payload(
                appeal=appeal,
                decision=decision,
                platform=platform,
                outcome=outcome,
                reviewer_id=reviewer,
                proposed_at=at,
                reason_sha256=digest,
            )
            yield index, f"proposed outcome of appeal {appeal}", payload

    return _check("appeal_proposed", entries, last, rebuilt())


def check_proposal_rejections(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rejections = Review.objects.filter(outcome=Outcome.REJECTED)
        rows = _in_range(rejections, first, last).values_list(
            "log_entry_id",
            "appeal__public_id",
            "item__decision__public_id",
            "item__decision__platform__slug",
            "reviewer_id",
            "decided_at",
            "reason_sha256",
            "approves__log_entry_id",
        )
        for index, appeal, decision, platform, reviewer, at, digest, proposal in rows:
            payload = appeal_proposal_rejected_payload(
                appeal=appeal,
                decision=decision,
                platform=platform,
                reviewer_id=reviewer,
                rejected_at=at,
                reason_sha256=digest,
                proposal=proposal,
            )
            yield index, f"rejection of a proposed outcome of appeal {appeal}", payload

    return _check("appeal_proposal_rejected", entries, last, rebuilt())


def check_audit_labels(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    """Labels of audit samples; a planted known-answer item's labels have no entry (and no
    log index), so the range never reads them."""

    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        labels = Review.objects.filter(outcome__in=Label.values)
        rows = _in_range(labels, first, last).values_list(*_LABEL_VALUES)
        for index, decision, platform, plan, reviewer, outcome, digest, clause, at in rows:
            payload = audit_label_payload(
                decision=decision,
                platform=platform,
                plan=plan,
                reviewer_id=reviewer,
                outcome=outcome,
                reason_sha256=digest,
                clause=clause,
                labelled_at=at,
            )
            yield index, f"audit label of decision {decision}", payload

    return _check("audit_labelled", entries, last, rebuilt())


def check_audit_plans(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    from appeals.audit import audit_plan_payload
    from appeals.models import AuditPlan

    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(AuditPlan.objects.all(), first, last).values_list(
            "log_entry_id", "platform__slug", "strata", "double_review", "salt", "created_at"
        )
        for index, platform, strata, double_review, salt, created_at in rows:
            payload = audit_plan_payload(
                platform=platform,
                strata=strata,
                double_review=double_review,
                salt=salt,
                created_at=created_at,
            )
            yield index, f"audit plan of {platform}", payload

    return _check("audit_plan", entries, last, rebuilt())


def register() -> None:
    # Out-of-court disputes: their checkers live beside their payload builders.
    from appeals.disputes import DISPUTE_BINDINGS

    for entry_type, checker in DISPUTE_BINDINGS.items():
        register_binding(entry_type, checker)
    register_binding(EntryType.APPEAL_FILED, check_appeals_filed)
    register_binding(EntryType.APPEAL_DECIDED, _check_reviews("appeal_decided", False))
    register_binding(EntryType.APPEAL_ESCALATED, _check_reviews("appeal_escalated", True))
    register_binding(EntryType.APPEAL_PROPOSED, check_proposals)
    register_binding(EntryType.APPEAL_PROPOSAL_REJECTED, check_proposal_rejections)
    register_binding(EntryType.AUDIT_LABELLED, check_audit_labels)
    register_binding(EntryType.AUDIT_PLAN, check_audit_plans)
