"""`manage.py export_dumps [--date YYYY-MM-DD]`: cut one day's public dump at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ledger.public import dumps


class Command(BaseCommand):
    help = (
        "Cut one UTC day's public dump (decisions received and appeal outcomes decided that "
        "day, as gzipped CSV and Parquet, with SHA256SUMS and the signed checkpoint) into "
        "LEDGER_DUMP_DIR. Default: today, i.e. everything recorded so far. Cutting a day again "
        "writes the same bytes unless it has gained records."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", metavar="YYYY-MM-DD", help="the UTC day to cut (default: today)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        today = now.astimezone(dt.UTC).date()
        day = today
        if options["date"] is not None:
            try:
                day = dumps.parse_day(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: {exc}") from exc
            if day > today:
                raise CommandError(f"--date: {day.isoformat()} is in the future (today is {today})")
        # Waits for a beat export in progress rather than writing the same files beside it.
        with dumps.exporter_lock(wait=True):
            done = dumps.cut(day, now=now)
        if done is None:
            self.stdout.write(f"No records on {day.isoformat()} (UTC): nothing written.")
            return
        state = "complete" if done.complete else "partial (everything recorded so far)"
        counts = ", ".join(f"{w.records} {w.kind}" for w in done.written)
        self.stdout.write(
            f"Cut {day.isoformat()}: {counts}, at checkpoint {done.checkpoint_size}, {state}."
        )
        for path in done.files:
            self.stdout.write(f"  {path} ({path.stat().st_size} bytes)")
