from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from moderation import services
from moderation.models import Platform

# Who acted, in the audit trail: the operator at the server's shell.
ACTOR = "manage.py issue_api_key"


class Command(BaseCommand):
    help = "Issue a new API key for a platform; the key is printed alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("platform_slug")
        parser.add_argument(
            "--create", action="store_true", help="create the platform if it does not exist"
        )
        parser.add_argument("--name", default="", help="a label for the key")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["platform_slug"]
        platform = Platform.objects.filter(slug=slug).first()
        if platform is None:
            if not options["create"]:
                raise CommandError(f"No platform {slug!r}; pass --create to create it.")
            platform = services.create_platform(slug=slug, actor=ACTOR)
            self.stderr.write(f"Created platform {slug}.")
        api_key, plaintext = services.issue_api_key(
            platform=platform, name=options["name"], actor=ACTOR
        )
        self.stderr.write(
            f"Issued key {api_key.prefix} for {platform.slug}. It is shown once; store it now."
        )
        self.stdout.write(plaintext)
