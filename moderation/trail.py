"""The audit trail: who did what, written in the transaction of the change it records.

Every service that changes something calls `record` with the acting user, API key or a system
label (a scheduled task), as Zulip's `do_*` functions take `acting_user`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from moderation.models import ApiKey, AuditEvent, Platform

# The actor of what a scheduled task does by itself (lease expiry, deadline escalation), and of
# a service called without one (the demo seeder, a script).
SYSTEM = "system"


def actor_fields(actor: Any) -> dict[str, Any]:
    """The actor columns of an audit row: a user, an API key, or a label such as SYSTEM."""
    if isinstance(actor, ApiKey):
        return {"actor_key": actor, "actor_label": f"api key {actor.prefix}"}
    if isinstance(actor, str) and actor:
        return {"actor_label": actor}
    if actor is not None and getattr(actor, "is_authenticated", False):
        return {"actor_user": actor, "actor_label": actor.get_username()}
    raise ValueError(f"an audit row needs an actor, got {actor!r}")


def record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: object,
    platform: Platform | int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit row. Call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        platform_id=platform.pk if isinstance(platform, Platform) else platform,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        **actor_fields(actor),
    )
