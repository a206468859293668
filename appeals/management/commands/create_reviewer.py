from __future__ import annotations

import argparse
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Field

from appeals import services
from moderation.models import Platform

# Who the audit trail says acted: whoever ran the command on the server.
ACTOR = "manage.py create_reviewer"
# As the API takes a decision's `moderator` (moderation.schemas.DecisionIn).
MAX_MODERATOR_ID = 500


class Command(BaseCommand):
    help = (
        "Create a reviewer (a staff user), or update one, and issue a fresh API token for the "
        "reviewer API; the token is printed alone on the last line (an earlier one stops working)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--platform", help="the platform they review for (its slug)")
        parser.add_argument(
            "--senior",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="may take escalated items (--no-senior: may not; default: unchanged, or not)",
        )
        parser.add_argument(
            "--moderator-id",
            help="the platform's own id for them, as its decisions send it in `moderator`: "
            "they will never review those decisions",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        slug: str | None = options["platform"]
        moderator_id: str | None = options["moderator_id"]
        problems = []
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        assert isinstance(field, Field)
        try:
            field.clean(username, None)
        except ValidationError as exc:
            problems.append(f"username {username!r}: {' '.join(exc.messages)}")
        platform = None
        if slug is not None:
            platform = Platform.objects.filter(slug=slug).first()
            if platform is None:
                problems.append(f"No platform {slug!r}.")
        if moderator_id is not None:
            if slug is None:
                problems.append("--moderator-id is the platform's own id: give --platform too.")
            if not moderator_id or len(moderator_id) > MAX_MODERATOR_ID or "\x00" in moderator_id:
                problems.append(
                    f"--moderator-id must have 1 to {MAX_MODERATOR_ID} characters and no NUL."
                )
        if problems:
            raise CommandError(" ".join(problems))
        reviewer, token = services.create_reviewer(
            username=username,
            platform=platform,
            senior=options["senior"],
            moderator_id=moderator_id,
            actor=ACTOR,
        )
        where = f" for {platform.slug}" if platform is not None else ""
        self.stderr.write(
            f"Reviewer {username}{where}{' (senior)' if reviewer.senior else ''}: issued token "
            f"{reviewer.token_prefix}. It is shown once; store it now."
        )
        self.stdout.write(token)
