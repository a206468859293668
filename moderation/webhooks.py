"""Webhooks to platforms, per the Standard Webhooks specification.

`enqueue` writes an outbox row (moderation.WebhookMessage) in the caller's transaction; the
sender task delivers it after commit and retries with backoff, so no event is lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from moderation.models import Platform, WebhookMessage


def enqueue(
    *, platform: Platform | int, event_type: str, data: dict[str, Any], now: datetime | None = None
) -> WebhookMessage:
    """Queue one event for the platform's webhook, in the caller's transaction.

    The message is kept even when the platform has no endpoint yet: it is delivered once one
    is set. `data` must be JSON (ids, kinds and times; free text only where the platform
    already holds it).
    """
    at = now or timezone.now()
    return WebhookMessage.objects.create(
        platform_id=platform.pk if isinstance(platform, Platform) else platform,
        msg_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        payload={"type": event_type, "timestamp": at.isoformat(), "data": data},
        created_at=at,
        next_attempt_at=at,
    )
