"""Bind appeal rows to their APPEAL_FILED log entries, for `verify_log`.

Registered by `AppealsConfig.ready`. The checker reads the appeals of one index range, rebuilds
each one's payload with the builder the write path used and compares the bytes, so an appeal
row edited behind the service's back (its decision, appellant or times) shows as a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from appeals.models import Appeal, Review
from appeals.payloads import appeal_filed_payload, appeal_reviewed_payload
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
)


def _check_reviews(kind: str, escalations: bool) -> BindingChecker:
    def check(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
        reviews = (
            Review.objects.filter(outcome="escalated")
            if escalations
            else (Review.objects.exclude(outcome="escalated"))
        )

        def rebuilt() -> Iterator[tuple[int, str, bytes]]:
            rows = _in_range(reviews, first, last).values_list(*_REVIEW_VALUES)
            for index, appeal, decision, platform, outcome, reviewer, at, digest, reversal in rows:
                _, payload = appeal_reviewed_payload(
                    appeal=appeal,
                    decision=decision,
                    platform=platform,
                    outcome=outcome,
                    reviewer_id=reviewer,
                    decided_at=at,
                    reason_sha256=digest,
                    reversal=reversal,
                )
                yield index, f"{kind} of appeal {appeal}", payload

        return _check(kind, entries, last, rebuilt())

    return check


def register() -> None:
    register_binding(EntryType.APPEAL_FILED, check_appeals_filed)
    register_binding(EntryType.APPEAL_DECIDED, _check_reviews("appeal_decided", False))
    register_binding(EntryType.APPEAL_ESCALATED, _check_reviews("appeal_escalated", True))
