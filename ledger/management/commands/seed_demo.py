from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from appeals import demo as appeals_demo
from ledger.management.commands.demo_key import store_demo_key
from ledger.public import rollups
from moderation import demo
from moderation.models import Decision, Platform
from moderation.services import RegistrationConflict
from moderation.vocabulary import Action


class Command(BaseCommand):
    help = (
        "Load the demo platform: a video platform over the last 90 days, with a hate-speech "
        "classifier whose v1 flags chess talk and whose v2 does not, its review queues, a "
        "month of appeals (most of v1's chess catches overturned), an audit plan with its "
        "samples mostly labelled blind (most of v1's chess catches labelled incorrect), known "
        "answers and out-of-court disputes. Does nothing if the platform already has "
        "decisions. The new API key is printed alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--decisions", type=int, default=30_000, help="how many (30000)")
        parser.add_argument("--days", type=int, default=90, help="over how many days (90)")
        parser.add_argument("--seed", type=int, default=1, help="the random seed (1)")
        parser.add_argument("--platform", default="vidshare", help="the platform's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        count, days, slug = options["decisions"], options["days"], options["platform"]
        if count < 1 or days < 1:
            raise CommandError("--decisions and --days must be at least 1.")
        platform = Platform.objects.filter(slug=slug).first()
        if platform is not None:
            existing = Decision.objects.filter(platform=platform).count()
            if existing:
                self.stderr.write(
                    f"{platform.name} already has {existing:,} decisions; nothing seeded."
                )
                return

        started = time.perf_counter()

        def progress(done: int) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(f"  {done:,}/{count:,} decisions recorded")

        name = "VidShare" if slug == "vidshare" else slug
        end = timezone.now()
        # One transaction: a failure half-way leaves nothing behind, so the next run starts
        # afresh. The audit plan comes first: recording samples the decisions under it.
        with transaction.atomic():
            try:
                plan = appeals_demo.plan_audits(
                    slug=slug, name=name, decisions=count, days=days, end=end
                )
                seeded = demo.seed_demo(
                    slug=slug,
                    name=name,
                    decisions=count,
                    days=days,
                    seed=options["seed"],
                    end=end,
                    progress=progress,
                )
            except RegistrationConflict as exc:
                raise CommandError(f"{slug} already has other policies or models: {exc}") from exc
            appeals = appeals_demo.seed_appeals(
                platform=seeded.platform, end=end, seed=options["seed"]
            )
            audits = appeals_demo.seed_audits(
                platform=seeded.platform, end=end, seed=options["seed"]
            )
        # Signed and counted at once, so that /stats/ shows the demo before beat's first run.
        rollups.refresh()
        elapsed = time.perf_counter() - started

        by_action = dict(
            Decision.objects.filter(platform=seeded.platform)
            .order_by()
            .values("action")
            .annotate(n=Count("id"))
            .values_list("action", "n")
        )
        self.stdout.write(
            f"Seeded {seeded.platform.name} ({seeded.platform.slug}) with {seeded.decisions:,} "
            f"decisions over {days} days in {elapsed:.1f} s:"
        )
        for action in Action:
            self.stdout.write(f"  {action.label:<36} {by_action.get(action.value, 0):>7,}")
        self.stdout.write(
            f"Appeals: {appeals.filed:,} filed, {appeals.decided:,} decided "
            f"({appeals.overturned:,} overturned), {appeals.awaiting_approval:,} awaiting a "
            f"second approval, {appeals.waiting:,} waiting in the review queues; reviewers "
            "reviewer-ana, reviewer-ben and reviewer-chloe (senior). To work the queues "
            f"yourself: manage.py create_reviewer <your user> --platform {seeded.platform.slug}"
        )
        self.stdout.write(
            f"Audits: plan #{plan.log_entry_id}, {audits.sampled:,} decisions sampled "
            f"({audits.double_labelled:,} for two labels), {audits.known_answers:,} known "
            f"answers planted, {audits.labels:,} labels given; {audits.disputes:,} out-of-court "
            "disputes. The numbers: /stats/, /admin/appeals/reviewitem/quality/ and "
            "/api/v1/stats/models"
        )
        self.stderr.write(
            f"Issued API key {seeded.api_key_prefix} for {seeded.platform.slug}. "
            "It is shown once; store it now."
        )
        self.stdout.write(seeded.api_key)
        store_demo_key(seeded.platform, seeded.api_key)
