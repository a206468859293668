"""Celery entry points of the public side."""

from __future__ import annotations

from celery import shared_task

from ledger.public import rollups


@shared_task(ignore_result=True)
def catch_up_rollups() -> int:
    """Beat: count what the log gained since the last run. Two at once count it once."""
    return rollups.catch_up()
