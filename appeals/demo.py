"""The demo's appeals: VidShare's review queues, three reviewers, and a month of appeals
through `appeals.services`, as its creators and reviewers would have made them.

Creators appeal recent restrictions that still stand; most appeals against hate-speech v1's
chess catches are overturned (the story of `moderation.demo`), the rest mostly upheld; the
last few days' appeals still wait in their queues, for whoever opens the admin as a reviewer.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction

from appeals import services
from appeals.models import Appeal, Outcome, Reviewer, ReviewQueue
from moderation.demo import ACTOR, CHESS_PHRASES, chess_talk
from moderation.models import Decision, Platform
from moderation.vocabulary import CHANGING_TYPES, Action

# How far back creators appeal (the demo's whole window), how recent an appeal must be to still
# wait undecided, and how many there are at most.
WINDOW_DAYS = 90
WAITING_DAYS = 3
MAX_APPEALS = 200
# Chess streamers wrongly restricted appeal far more often than the rest.
APPEAL_RATE_CHESS = 0.5
APPEAL_RATE = 0.02

_STATEMENTS_CHESS = (
    "This is a chess stream. 'White knight takes black queen' is a move on the board.",
    "My video analyses a chess game; nothing in it is about people's skin colour.",
    "It is chess commentary: 'black is attacking white's king' describes the pieces.",
)
_STATEMENTS = (
    "I think this was a mistake: my video follows the community guidelines.",
    "The clip is satire and says so in its first seconds.",
    "I own the rights to this music; the licence is in the description.",
    "Please have a person look at this: nothing in it breaks your rules.",
)
_UPHOLD = (
    "We looked at the video again: it breaks section {clause} of the guidelines, so the "
    "decision stands.",
    "A second reviewer agrees with the original decision; the restriction stays in place.",
)
_OVERTURN_CHESS = (
    'You are right: "{phrase}" describes a move in a chess game, not people, and the '
    "classifier misread it. The restriction is lifted."
)
_OVERTURN = "On a second look the content does not break our rules. The restriction is lifted."


@dataclass(frozen=True, slots=True)
class SeededAppeals:
    filed: int
    decided: int
    overturned: int
    waiting: int


def _reviewer(platform: Platform, username: str, *, senior: bool) -> Reviewer:
    reviewer, _token = services.create_reviewer(
        username=username, platform=platform, senior=senior, actor=ACTOR
    )
    return reviewer


def _texts(decision: Decision) -> str:
    return f"{decision.decision_facts} {decision.incompatible_content_explanation}"


def _phrase(decision: Decision) -> str:
    return next(p for p in CHESS_PHRASES if p in _texts(decision))


@transaction.atomic
def seed_appeals(*, platform: Platform, end: dt.datetime, seed: int) -> SeededAppeals:
    """File and decide the demo's appeals for `platform`'s decisions before `end`."""
    rng = random.Random(seed)
    ReviewQueue.objects.get_or_create(
        platform=platform,
        slug="accounts",
        defaults={
            "name": "Account suspensions and bans",
            "actions": [Action.ACCOUNT_SUSPENSION, Action.ACCOUNT_TERMINATION],
            "deadline_hours": 72,
            "escalate_before_hours": 12,
            "position": 1,
        },
    )
    ReviewQueue.objects.get_or_create(
        platform=platform,
        slug="speech",
        defaults={
            "name": "Hate speech and harassment",
            "categories": ["STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"],
            "deadline_hours": 7 * 24,
            "position": 2,
        },
    )
    services.ensure_default_queue(platform=platform)
    reviewers = [
        _reviewer(platform, "reviewer-ana", senior=False),
        _reviewer(platform, "reviewer-ben", senior=False),
        _reviewer(platform, "reviewer-chloe", senior=True),
    ]

    # Restrictions of the last month that still stand (nothing supersedes them), oldest first.
    candidates = list(
        Decision.objects.filter(
            platform=platform,
            decided_at__gte=end - dt.timedelta(days=WINDOW_DAYS),
            superseded_by__isnull=True,
            appeals__isnull=True,
        )
        .exclude(decision_type__in=CHANGING_TYPES)
        .exclude(action__in=[Action.FLAG, Action.NO_ACTION])
        .select_related("model_version__model", "policy", "platform")
        .order_by("decided_at", "id")
    )
    chess = {d.pk for d in candidates if chess_talk(_texts(d))}
    chosen = [
        d
        for d in candidates
        if rng.random() < (APPEAL_RATE_CHESS if d.pk in chess else APPEAL_RATE)
    ]
    if len(chosen) > MAX_APPEALS:
        chosen = sorted(rng.sample(chosen, MAX_APPEALS), key=lambda d: (d.decided_at, d.pk))
    filed = decided = overturned = 0
    for decision in chosen:
        is_chess = decision.pk in chess
        filed_at = decision.decided_at + dt.timedelta(hours=rng.uniform(1, 72))
        if filed_at >= end:
            continue
        appeal = services.file_appeal(
            decision=decision,
            appellant="subject",
            statement=rng.choice(_STATEMENTS_CHESS if is_chess else _STATEMENTS),
            now=filed_at,
        )
        filed += 1
        decide_at = filed_at + dt.timedelta(hours=rng.uniform(2, 96))
        if decide_at >= end - dt.timedelta(days=WAITING_DAYS):
            continue
        reviewer = rng.choice(reviewers)
        item = services.claim_next_review(
            reviewer=reviewer, queue=appeal.review_item.queue, now=decide_at
        )
        while item is not None and item.appeal_id != appeal.pk:
            # Another waiting appeal came first in this queue: leave it for later.
            services.release_review(reviewer=reviewer, item=item, now=decide_at)
            item = None
        if item is None:
            continue
        overturn = (is_chess and rng.random() < 0.85) or (not is_chess and rng.random() < 0.2)
        clause = decision.policy.clause if decision.policy else "4"
        services.resolve_appeal(
            reviewer=reviewer,
            item=item,
            version=item.version,
            outcome=Outcome.OVERTURNED if overturn else Outcome.UPHELD,
            reason=(
                (_OVERTURN_CHESS.format(phrase=_phrase(decision)) if is_chess else _OVERTURN)
                if overturn
                else rng.choice(_UPHOLD).format(clause=clause)
            ),
            now=decide_at + dt.timedelta(seconds=rng.uniform(60, 240)),
        )
        decided += 1
        overturned += overturn
    waiting = Appeal.objects.filter(decision__platform=platform, reviews__isnull=True).count()
    return SeededAppeals(filed, decided, overturned, waiting)
