"""What an appeal publishes in the log, built from its row.

Called by `appeals.services` on the row it is about to insert and by `verify_log`
(appeals.bindings) on the row read back, so the entry is a function of the row. No free text:
the statement stays private, and ids, kinds and times are all a payload carries.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ledger.log import canonical_json
from ledger.models import EntryType
from moderation.pseudonyms import pseudonym


def appeal_filed_payload(
    *,
    public_id: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    appellant: str,
    filed_at: datetime,
    deadline_at: datetime,
) -> bytes:
    return canonical_json(
        {
            "type": EntryType.APPEAL_FILED.value,
            "id": str(public_id),
            "decision": str(decision),
            "platform": platform,
            "appellant": appellant,
            # In UTC, as the database gives datetimes back, so both builds agree byte for byte.
            "filed_at": filed_at.astimezone(UTC).isoformat(),
            "deadline_at": deadline_at.astimezone(UTC).isoformat(),
        }
    )


def reviewer_pseudonym(*, platform: str, reviewer_id: int | None) -> str | None:
    """The name a reviewer goes by in the log: an HMAC of their id, scoped to the platform as
    subjects' pseudonyms are, so that one person's reviews can be counted but not named."""
    if reviewer_id is None:
        return None
    return pseudonym(platform_slug=platform, kind="reviewer", platform_id=str(reviewer_id))


def appeal_reviewed_payload(
    *,
    appeal: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    outcome: str,
    reviewer_id: int | None,
    decided_at: datetime,
    reason_sha256: str,
    reversal: uuid.UUID | None,
    proposal: int | None = None,
    approval_reason_sha256: str | None = None,
) -> tuple[EntryType, bytes]:
    """An APPEAL_DECIDED entry, or APPEAL_ESCALATED for outcome "escalated".

    The reason itself stays off the log: its SHA-256 lets the appellant, who was shown the
    reason, prove what they were told.

    An approved proposal (second approval) is decided by the approver (`reviewer_id`) with the
    proposal's outcome and reason (`reason_sha256`, what the appellant reads); `proposal` is
    the APPEAL_PROPOSED entry's index and `approval_reason_sha256` the digest of the
    approver's own reason. Both keys appear only then, so earlier entries rebuild unchanged.
    """
    escalated = outcome == "escalated"
    entry_type = EntryType.APPEAL_ESCALATED if escalated else EntryType.APPEAL_DECIDED
    body: dict[str, object] = {
        "type": entry_type.value,
        "appeal": str(appeal),
        "decision": str(decision),
        "platform": platform,
        "reviewer": reviewer_pseudonym(platform=platform, reviewer_id=reviewer_id),
        "reason_sha256": reason_sha256,
        ("escalated_at" if escalated else "decided_at"): decided_at.astimezone(UTC).isoformat(),
    }
    if not escalated:
        body["outcome"] = outcome
        body["reversal"] = None if reversal is None else str(reversal)
    if proposal is not None:
        body["proposal"] = proposal
        body["approval_reason_sha256"] = approval_reason_sha256
    return entry_type, canonical_json(body)


def appeal_proposed_payload(
    *,
    appeal: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    outcome: str,
    reviewer_id: int,
    proposed_at: datetime,
    reason_sha256: str,
) -> bytes:
    """An APPEAL_PROPOSED entry: a high-impact outcome one reviewer proposed, which takes
    effect only when a second, different reviewer approves it (an APPEAL_DECIDED entry naming
    this one's index) and never if one rejects it (APPEAL_PROPOSAL_REJECTED)."""
    return canonical_json(
        {
            "type": EntryType.APPEAL_PROPOSED.value,
            "appeal": str(appeal),
            "decision": str(decision),
            "platform": platform,
            "reviewer": reviewer_pseudonym(platform=platform, reviewer_id=reviewer_id),
            "outcome": outcome,
            "reason_sha256": reason_sha256,
            "proposed_at": proposed_at.astimezone(UTC).isoformat(),
        }
    )


def appeal_proposal_rejected_payload(
    *,
    appeal: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    reviewer_id: int,
    rejected_at: datetime,
    reason_sha256: str,
    proposal: int,
) -> bytes:
    """An APPEAL_PROPOSAL_REJECTED entry: the second reviewer refused the proposal at log index
    `proposal`; the appeal goes to a senior reviewer, who decides it anew."""
    return canonical_json(
        {
            "type": EntryType.APPEAL_PROPOSAL_REJECTED.value,
            "appeal": str(appeal),
            "decision": str(decision),
            "platform": platform,
            "reviewer": reviewer_pseudonym(platform=platform, reviewer_id=reviewer_id),
            "reason_sha256": reason_sha256,
            "rejected_at": rejected_at.astimezone(UTC).isoformat(),
            "proposal": proposal,
        }
    )
