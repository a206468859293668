"""Celery entry points of the public side."""

from __future__ import annotations

from celery import shared_task

from ledger.public import caching, rollups


@shared_task(ignore_result=True)
def catch_up_rollups() -> int:
    """Beat: count what the log gained since the last run (two at once count it once), then
    compute the summaries the pages open with, so their first reader does not wait."""
    counted = rollups.catch_up()
    if counted:
        caching.warm()
    return counted


@shared_task(ignore_result=True)
def export_daily_dumps() -> list[str]:
    """Beat, after midnight UTC: cut yesterday's dump and any complete day not cut yet. Two at
    once cut each day once: the second finds the exporter lock taken and returns."""
    from ledger.public import dumps

    return [done.day.isoformat() for done in dumps.export_due()]
