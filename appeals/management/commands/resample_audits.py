from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from appeals.audit import resample
from appeals.models import AuditPlan
from moderation.models import Platform

# Who the audit trail says acted: whoever ran the command on the server.
ACTOR = "manage.py resample_audits"


class Command(BaseCommand):
    help = (
        "Make the blind audit items the sampling rule calls for and that are missing (decisions "
        "recorded before sampling existed); safe to re-run: it prints how many it made."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", help="only this platform (its slug); default: every one")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str | None = options["platform"]
        platforms = Platform.objects.filter(
            pk__in=AuditPlan.objects.values("platform_id")
        ).order_by("slug")
        if slug is not None:
            if not Platform.objects.filter(slug=slug).exists():
                raise CommandError(f"No platform {slug!r}.")
            platforms = platforms.filter(slug=slug)
        for platform in platforms:
            made = resample(platform, actor=ACTOR)
            self.stdout.write(f"{platform.slug}: {made} audit item(s) made")
