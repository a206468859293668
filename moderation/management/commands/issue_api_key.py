from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from moderation import services
from moderation.models import ApiKey, Platform

# Who acted, in the audit trail: the operator at the server's shell.
ACTOR = "manage.py issue_api_key"


class Command(BaseCommand):
    help = (
        "Issue a new API key for a platform; the key is printed alone on the last line. "
        'Name it with --name ("CI pipeline", "moderation tool") to tell keys apart in the '
        "admin and the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("platform_slug", help="the platform's slug, e.g. my-platform")
        parser.add_argument(
            "--create", action="store_true", help="create the platform if it does not exist"
        )
        parser.add_argument(
            "--name",
            default="",
            help=f"what the key is for, at most {_NAME_LENGTH} characters (shown in the admin "
            "and the audit trail)",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["platform_slug"]
        name = _key_name(options["name"])
        platform = Platform.objects.filter(slug=slug).first()
        if platform is None:
            if not options["create"]:
                raise CommandError(f"No platform {slug!r}; pass --create to create it.")
            _check_slug(slug)
            platform = services.create_platform(slug=slug, actor=ACTOR)
            self.stderr.write(f"Created platform {slug}.")
        api_key, plaintext = services.issue_api_key(platform=platform, name=name, actor=ACTOR)
        named = f" ({name!r})" if name else ""
        self.stderr.write(
            f"Issued key {api_key.prefix}{named} for {platform.slug}. It is shown once; store "
            "it now."
        )
        self.stdout.write(plaintext)


_NAME_LENGTH = ApiKey._meta.get_field("name").max_length or 100


def _key_name(raw: str) -> str:
    """The key's name as given, refused (before anything is written) where the column could
    not hold it: PostgreSQL refuses a longer one, and NUL characters, mid-transaction."""
    name = raw.strip()
    if len(name) > _NAME_LENGTH:
        raise CommandError(f"--name is {len(name)} characters long; at most {_NAME_LENGTH}.")
    if "\x00" in name:
        raise CommandError("--name must not contain NUL characters.")
    return name


def _check_slug(slug: str) -> None:
    """A new platform's slug: it names the platform in every published record and keys its
    subjects' pseudonyms, and can never change (ledger.db)."""
    field = Platform._meta.get_field("slug")
    try:
        field.clean(slug, None)
    except ValidationError as exc:
        raise CommandError(f"{slug!r} cannot be a platform slug: {' '.join(exc.messages)}") from exc
