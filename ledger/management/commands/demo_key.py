"""Print the demo platform's API key again, for `make run` and `make demo-key`.

An API key is stored only as its hash, and shown once. For the demo, on a development server,
that once is easily lost among the install's output, so the demo's key is also kept in a file
under var/ (readable by its owner only) and printed at every start. Never with DEBUG off: a
production server keeps no key in the clear.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation import services
from moderation.models import ApiKey, Platform

ACTOR = "manage.py demo_key"


def key_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-api-key.json"


def store_demo_key(platform: Platform, plaintext: str) -> None:
    """Keep the demo platform's key for `demo_key` (development servers only)."""
    if not settings.DEBUG:
        return
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created owner-only, before anything is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"platform": platform.slug, "key": plaintext}, out)


def _stored(platform: Platform) -> str | None:
    """The stored key, if it is this platform's and still valid (not revoked, not replaced)."""
    try:
        stored = json.loads(key_file().read_text())
        plaintext = stored["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if stored.get("platform") != platform.slug or not isinstance(plaintext, str):
        return None
    valid = ApiKey.objects.filter(
        platform=platform, key_hash=services.hash_api_key(plaintext), revoked_at__isnull=True
    ).exists()
    return plaintext if valid else None


class Command(BaseCommand):
    help = (
        "Development only (DEBUG on): print the demo platform's API key, issuing and keeping a "
        "new one under var/ if none is kept or it was revoked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", default="vidshare", help="the demo platform's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_key runs only with DEBUG on: a production server keeps no API key in "
                "the clear. Issue one with manage.py issue_api_key."
            )
        slug = options["platform"]
        platform = Platform.objects.filter(slug=slug).first()
        if platform is None:
            raise CommandError(f"No platform {slug!r}: load the demo with manage.py seed_demo.")
        plaintext = _stored(platform)
        if plaintext is None:
            _, plaintext = services.issue_api_key(platform=platform, name="demo", actor=ACTOR)
            store_demo_key(platform, plaintext)
        self.stdout.write(f"Demo platform {slug}, API key (send as 'Authorization: Bearer'):")
        self.stdout.write(f"  {plaintext}")
