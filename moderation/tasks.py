"""Celery entry points: take ids, call one service, and are safe to run again."""

from __future__ import annotations

from celery import shared_task

from moderation import forwarding, webhooks
from moderation.models import EuForwarding, Platform

# One run sends at most this many batches per platform, so one busy platform cannot hold a
# worker; the next beat tick continues.
MAX_BATCHES_PER_RUN = 50


@shared_task(ignore_result=True)
def forward_dsa_statements() -> None:
    """Beat: forward every platform's due statements to the EU."""
    for platform_id in EuForwarding.objects.filter(enabled=True).values_list(
        "platform_id", flat=True
    ):
        forward_platform_statements.delay(platform_id)


@shared_task(ignore_result=True)
def forward_platform_statements(platform_id: int) -> str:
    platform = Platform.objects.get(pk=platform_id)
    outcome = "idle"
    for _ in range(MAX_BATCHES_PER_RUN):
        result = forwarding.forward_due_statements(platform=platform)
        outcome = result.outcome
        if outcome not in ("submitted", "refused", "probed"):
            break
    return outcome


@shared_task(ignore_result=True)
def deliver_webhooks() -> None:
    """Beat: send every platform's due webhook messages (retries, and any a lost kick left)."""
    for platform_id in webhooks.platforms_with_due_messages():
        deliver_platform_webhooks.delay(platform_id)


@shared_task(ignore_result=True)
def deliver_platform_webhooks(platform_id: int) -> str:
    """Send one platform's due webhook messages; also asked for after each enqueue commits."""
    platform = Platform.objects.filter(pk=platform_id).first()
    if platform is None:
        return "no_platform"  # a request queued by another database (a test run's)
    outcome = "idle"
    for _ in range(MAX_BATCHES_PER_RUN):
        result = webhooks.deliver_due_messages(platform=platform)
        if result.outcome != "sent":
            break
        outcome = "sent"
        # A batch with nothing delivered means the server is failing: wait for the retries.
        if not result.delivered:
            break
    return outcome
