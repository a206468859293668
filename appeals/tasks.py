"""Celery entry points of the review queues: thin, and safe to re-run."""

from __future__ import annotations

from celery import shared_task

from appeals import services


@shared_task(ignore_result=True)
def watch_review_queues() -> dict[str, int]:
    """Beat: expired leases back to their queues, items near their deadline escalated to
    senior reviewers, items past it counted as breaches. A re-run finds nothing left to do."""
    return {
        "expired": services.expire_leases(),
        "escalated": services.escalate_near_deadline(),
        "breached": services.count_breaches(),
    }
