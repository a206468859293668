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
