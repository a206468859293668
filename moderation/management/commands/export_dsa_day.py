from __future__ import annotations

import csv
import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation import dsa
from moderation.models import Decision
from moderation.vocabulary import DecisionType


class Command(BaseCommand):
    help = (
        "Write one day's decisions (by the day they were received, UTC) as the EU DSA "
        "Transparency Database's daily dump: its 'full' CSV columns, in its order."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("date", help="the day, YYYY-MM-DD")
        parser.add_argument("--platform", help="only this platform's decisions (its slug)")
        parser.add_argument("--output", "-o", help="a file to write; default: standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"])
        except ValueError as exc:
            raise CommandError(f"date must be YYYY-MM-DD, got {options['date']!r}") from exc
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        decisions = (
            Decision.objects.filter(
                created_at__gte=start,
                created_at__lt=start + dt.timedelta(days=1),
                # Flags, no-action decisions, reversals and expiries are not statements of reasons.
                decision_type=DecisionType.RESTRICTION,
            )
            .select_related("platform")
            .order_by("id")
        )
        if options["platform"]:
            decisions = decisions.filter(platform__slug=options["platform"])

        out = open(options["output"], "w", newline="") if options["output"] else sys.stdout  # noqa: SIM115
        try:
            writer = csv.writer(out)
            writer.writerow(dsa.CSV_COLUMNS)
            count = 0
            for decision in decisions.iterator(chunk_size=2000):
                writer.writerow(dsa.csv_row(decision))
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"Wrote {count} statement(s) received on {day}.")
