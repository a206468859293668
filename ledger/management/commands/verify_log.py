from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.audit import audit_log


class Command(BaseCommand):
    help = (
        "Recompute every log leaf from its stored payload, every stored subtree hash and the "
        "root of every checkpoint; rebuild every decision's, policy's and model version's "
        "payload from its row and compare it with its entry; name the first bad index. "
        "Exits 1 when anything is wrong."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_log()
        for problem in report.problems[:20]:
            self.stderr.write(f"FAIL {problem}")
        if report.ok:
            self.stdout.write(
                f"OK {report.entries} entries and {report.checkpoints} checkpoints verified."
            )
            return
        more = len(report.problems) - 20
        if more > 0:
            self.stderr.write(f"... and {more} more problems")
        if report.first_bad_index is None:
            raise CommandError(
                "every entry is intact; a checkpoint or the head is not", returncode=1
            )
        raise CommandError(f"first bad index: {report.first_bad_index}", returncode=1)
