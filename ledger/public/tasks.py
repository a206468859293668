"""Celery entry points of the public side."""

from __future__ import annotations

from celery import shared_task

from ledger.public import rollups


@shared_task(ignore_result=True)
def catch_up_rollups() -> int:
    """Beat: count what the log gained since the last run. Two at once count it once."""
    return rollups.catch_up()


@shared_task(ignore_result=True)
def export_daily_dumps() -> list[str]:
    """Beat, after midnight UTC: cut yesterday's dump and any complete day not cut yet. Two at
    once cut each day once: the second finds the exporter lock taken and returns."""
    from ledger.public import dumps

    return [done.day.isoformat() for done in dumps.export_due()]
