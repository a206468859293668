"""`manage.py rebuild_rollups`: empty the roll-up tables and count the whole log again."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from ledger.public import rollups


class Command(BaseCommand):
    help = (
        "Rebuild the statistics roll-ups from the log, in one transaction (public pages keep "
        "showing the old numbers until it commits). Safe to run at any time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        counted = rollups.rebuild()
        self.stdout.write(
            f"Counted {counted} log entries into the roll-ups in "
            f"{time.monotonic() - started:.1f} s."
        )
