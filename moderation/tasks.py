"""Celery entry points: take ids, call one service, and are safe to run again."""

from __future__ import annotations

from celery import shared_task

from moderation import forwarding
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
