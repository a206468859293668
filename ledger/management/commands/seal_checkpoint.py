from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ledger import log


class Command(BaseCommand):
    help = "Sign a checkpoint of the log now, if it grew since the last one."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = log.seal_checkpoint()
        if checkpoint is None:
            latest = log.latest_checkpoint()
            size = latest.size if latest else 0
            self.stdout.write(f"No new entries since the checkpoint at size {size}.")
            return
        self.stdout.write(checkpoint.note, ending="")
