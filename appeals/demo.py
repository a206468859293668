"""The demo's appeals and audits: VidShare's review queues, three reviewers, a month of
appeals through `appeals.services`, and blind audits of its classifiers, as its creators,
reviewers and moderators would have made them.

Creators appeal recent restrictions that still stand; most appeals against hate-speech v1's
chess catches are overturned (the story of `moderation.demo`), the rest mostly upheld; the
last few days' appeals still wait in their queues, for whoever opens the admin as a reviewer.
Upholding an account termination waits for a second reviewer's approval (appeals.services):
the older ones are approved, the newest still waits.

The audit plan, set before the window's decisions are recorded, samples hate-speech v1 (the
version that reads chess as hate speech) at a high rate, v2 less, everything else rarely, and
has a share of the samples labelled twice. The reviewers label most samples blind: about four
chess catches in five "incorrect" (the rest they let pass, as some appeals are upheld), the
genuine catches mostly "correct"; a few known-answer items planted among them measure the
reviewers. Two creators whose appeals were upheld took their case to an out-of-court body.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction

from appeals import audit, disputes, labels, services
from appeals.models import (
    Appeal,
    AppealStatus,
    Appellant,
    AuditPlan,
    DisputeOutcome,
    ItemKind,
    Label,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from moderation import services as moderation_services
from moderation.demo import ACTOR, CHESS_PHRASES, HATE_MODEL, Timeline, chess_talk, model_specs
from moderation.models import Decision, Platform
from moderation.vocabulary import CHANGING_TYPES, Action, DecisionType

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
_APPROVE = (
    "I agree: the account kept breaking the rules after two suspensions, and the termination "
    "stands."
)


@dataclass(frozen=True, slots=True)
class SeededAppeals:
    filed: int
    decided: int
    overturned: int
    waiting: int
    # High-impact outcomes proposed and still waiting for a second reviewer's approval.
    awaiting_approval: int = 0


REVIEWERS = (("reviewer-ana", False), ("reviewer-ben", False), ("reviewer-chloe", True))


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
    reviewers = [_reviewer(platform, name, senior=senior) for name, senior in REVIEWERS]

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
        review = services.resolve_appeal(
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
        if review.needs_approval:
            # High impact: it waits for a second reviewer (counted below, once answered).
            continue
        decided += 1
        overturned += overturn
    # Something always waits for whoever opens the admin: with few decisions the draw above
    # can leave the last days without an appeal (it depends on the time of day `end` falls).
    if not Appeal.objects.filter(decision__platform=platform, reviews__isnull=True).exists():
        recent = [
            d
            for d in candidates
            if d.decided_at >= end - dt.timedelta(days=WAITING_DAYS) and not d.appeals.exists()
        ]
        for decision in recent[-3:]:
            services.file_appeal(
                decision=decision,
                appellant="subject",
                statement=rng.choice(_STATEMENTS),
                now=decision.decided_at + (end - decision.decided_at) / 2,
            )
            filed += 1
    decided += _approve_proposals(platform=platform, reviewers=reviewers, rng=rng)
    appeals = Appeal.objects.filter(decision__platform=platform)
    waiting = appeals.filter(reviews__isnull=True).count()
    awaiting = appeals.filter(status=AppealStatus.AWAITING_APPROVAL).count()
    return SeededAppeals(filed, decided, overturned, waiting, awaiting)


def _approve_proposals(*, platform: Platform, reviewers: list[Reviewer], rng: random.Random) -> int:
    """A second reviewer approves every proposed termination but the newest, which waits for
    whoever opens the admin. Overturns of legal orders stay proposed: they wait for a second
    look too. Returns how many appeals the approvals decided."""
    proposals = list(
        Review.objects.filter(
            needs_approval=True,
            answer__isnull=True,
            outcome=Outcome.UPHELD,
            item__queue__platform=platform,
        )
        .select_related("item__queue")
        .order_by("decided_at", "id")
    )
    approved = 0
    for proposal in proposals[:-1]:
        at = proposal.decided_at + dt.timedelta(hours=rng.uniform(1, 20))
        for reviewer in reviewers:
            if reviewer.pk == proposal.reviewer_id:
                continue
            item = services.claim_next_review(reviewer=reviewer, queue=proposal.item.queue, now=at)
            if item is not None and item.pk != proposal.item_id:
                services.release_review(reviewer=reviewer, item=item, now=at)
                item = None
            if item is None:
                continue
            services.answer_proposal(
                reviewer=reviewer,
                item=item,
                version=item.version,
                approve=True,
                reason=_APPROVE,
                now=at + dt.timedelta(seconds=rng.uniform(60, 240)),
            )
            approved += 1
            break
    return approved


# --- blind audits ---------------------------------------------------------------------------

# The plan: hate-speech v1 (which reads chess as hate speech) sampled at a high rate, v2 less,
# any other automated decision rarely, as a platform sets rates for the samples it can label:
# about this many samples per stratum whatever the demo's size, from the share of the demo's
# decisions each stratum takes (moderation.demo, roughly). 15% labelled twice, independently.
AUDIT_TARGETS: tuple[tuple[dict[str, str], int, float], ...] = (
    ({"model": HATE_MODEL, "version": "v1"}, 120, 0.085),
    ({"model": HATE_MODEL, "version": "v2"}, 80, 0.09),
    ({}, 20, 0.35),
)
AUDIT_DOUBLE_REVIEW = 0.15
# The reviewers label this share of the audit queue (oldest first, as claims go), at most
# MAX_LABELS labels; the rest waits.
LABELLED_SHARE = 0.8
MAX_LABELS = 300
# How often a reviewer sees through a chess catch (the experiment's "four in five"), and how
# often they find a genuine catch wrong or miss a known answer.
CHESS_CAUGHT = 0.8
GENUINE_WRONG = 0.07
KNOWN_MISSED = 0.2
KNOWN_ANSWERS = 4  # of each answer
DISPUTE_BODY = "Content Disputes Board (certified under DSA Article 21)"

_CORRECT = (
    "The content does what the policy it names forbids; the decision was right.",
    "Dehumanising language aimed at a protected group, as the policy describes it.",
)
_INCORRECT_CHESS = (
    '"{phrase}" describes a move in a chess game, not people: nothing in it is hateful.'
)
_CLAUSE_CHESS = "None applies: chess commentary breaks no rule."
_INCORRECT = "On a close look the content does not do what the policy forbids."
_CLAUSE = "None applies: the content criticises an idea, not a group of people."


@dataclass(frozen=True, slots=True)
class SeededAudits:
    sampled: int
    labels: int
    double_labelled: int
    known_answers: int
    disputes: int


def audit_strata(decisions: int) -> list[dict[str, object]]:
    """The plan's strata for a demo of `decisions` decisions: rates to two significant
    figures, at most 1."""
    strata: list[dict[str, object]] = []
    for stratum, target, share in AUDIT_TARGETS:
        rate = min(1.0, target / max(1.0, share * decisions))
        strata.append({**stratum, "rate": float(f"{rate:.2g}")})
    return strata


def plan_audits(*, slug: str, name: str, decisions: int, days: int, end: dt.datetime) -> AuditPlan:
    """Set the demo platform's audit plan at the start of the window, before its decisions
    are recorded (recording samples them under it: appeals.audit.sample_recorded).

    A plan names registered model versions, so the demo's models are registered first, exactly
    as `moderation.demo.seed_demo` registers them (it then finds them registered).
    """
    platform = Platform.objects.filter(slug=slug).first() or moderation_services.create_platform(
        slug=slug, name=name, actor=ACTOR
    )
    timeline = Timeline.ending(end, days=days)
    for m in model_specs(days):
        moderation_services.register_model_version(
            platform=platform,
            name=m.name,
            version=m.version,
            released_at=timeline.day(m.released_day),
            threshold=m.threshold,
            card_url=m.card_url,
            actor=ACTOR,
        )
    return audit.set_audit_plan(
        platform=platform,
        strata=audit_strata(decisions),
        double_review=AUDIT_DOUBLE_REVIEW,
        actor=ACTOR,
        now=timeline.start,
    )


def _label(item: ReviewItem, rng: random.Random) -> tuple[str, str, str]:
    """(outcome, reason, clause) as a careful but fallible reviewer labels the item."""
    chess = chess_talk(_texts(item.decision))
    if item.known_answer:
        wrong = (item.known_answer == Label.INCORRECT) != (rng.random() < KNOWN_MISSED)
    else:
        wrong = rng.random() < (CHESS_CAUGHT if chess else GENUINE_WRONG)
    if not wrong:
        return Label.CORRECT, rng.choice(_CORRECT), ""
    if chess:
        phrase = _phrase(item.decision)
        return Label.INCORRECT, _INCORRECT_CHESS.format(phrase=phrase), _CLAUSE_CHESS
    return Label.INCORRECT, _INCORRECT, _CLAUSE


def _plant(platform: Platform, queue: ReviewQueue, at: dt.datetime) -> int:
    """Plant known answers among the samples: chess catches (answer "incorrect") and genuine
    hate-speech catches ("correct") that were not sampled."""
    candidates = (
        Decision.objects.filter(platform=platform, model_version__model__name=HATE_MODEL)
        .exclude(decision_type__in=CHANGING_TYPES)
        .exclude(pk__in=ReviewItem.objects.filter(kind=ItemKind.AUDIT).values("decision_id"))
        .order_by("decided_at", "id")
    )
    chess: list[Decision] = []
    genuine: list[Decision] = []
    for decision in candidates.iterator():
        group = chess if chess_talk(_texts(decision)) else genuine
        if len(group) < KNOWN_ANSWERS:
            group.append(decision)
        if len(chess) == len(genuine) == KNOWN_ANSWERS:
            break
    planted = [(d, Label.INCORRECT) for d in chess] + [(d, Label.CORRECT) for d in genuine]
    for decision, answer in planted:
        labels.plant_known_answer(
            decision=decision, answer=answer, queue=queue, actor=ACTOR, now=at
        )
    return len(planted)


def _refer_disputes(platform: Platform, end: dt.datetime, rng: random.Random) -> int:
    """Two creators take their case to a certified out-of-court body: one whose appeal against
    a genuine catch was upheld, which the body upholds too; and a chess streamer whose
    restriction still stands, which the body overturns and the platform has yet to act on.
    Returns how many were referred."""
    # Referred 2 to 6 days after the platform's last word, ruled on 10 to 30 days later: only
    # cases at least this old have had their ruling by `end`.
    old_enough = end - dt.timedelta(days=6 + 30)
    upheld = (
        Review.objects.filter(
            appeal__decision__platform=platform,
            appeal__status=AppealStatus.UPHELD,
            outcome=Outcome.UPHELD,
            decided_at__lt=old_enough,
        )
        .exclude(appeal__decision__action=Action.ACCOUNT_TERMINATION)
        .select_related("appeal__decision")
        .order_by("decided_at", "id")
    )
    cases: list[tuple[Decision, str, dt.datetime]] = []
    genuine = next(
        (r for r in upheld if r.appeal and not chess_talk(_texts(r.appeal.decision))), None
    )
    if genuine is not None and genuine.appeal is not None:
        cases.append((genuine.appeal.decision, DisputeOutcome.UPHELD, genuine.decided_at))
    # A creator may go to the body without appealing first (DSA Article 21(1)).
    standing = (
        Decision.objects.filter(
            platform=platform,
            model_version__model__name=HATE_MODEL,
            decision_type=DecisionType.RESTRICTION,
            superseded_by__isnull=True,
            decided_at__lt=old_enough,
        )
        .exclude(disputes__isnull=False)
        .order_by("decided_at", "id")
    )
    chess = next((d for d in standing.iterator() if chess_talk(_texts(d))), None)
    if chess is not None:
        cases.append((chess, DisputeOutcome.OVERTURNED, chess.decided_at))
    for decision, outcome, after in cases:
        referred_at = after + dt.timedelta(days=rng.uniform(2, 6))
        ruled_at = referred_at + dt.timedelta(days=rng.uniform(10, 30))
        dispute = disputes.refer_dispute(
            decision=decision,
            complainant=Appellant.SUBJECT,
            body=DISPUTE_BODY,
            referred_at=referred_at,
            actor=ACTOR,
        )
        disputes.record_ruling(dispute=dispute, outcome=outcome, decided_at=ruled_at, actor=ACTOR)
    return len(cases)


@transaction.atomic
def seed_audits(*, platform: Platform, end: dt.datetime, seed: int) -> SeededAudits:
    """Plant known answers, have the reviewers label most of the audit queue blind, and refer
    two upheld appeals to an out-of-court body. Needs the plan (`plan_audits`) and the
    reviewers (`seed_appeals`)."""
    rng = random.Random(seed)
    queue = audit.ensure_audit_queue(platform)
    reviewers = list(
        Reviewer.objects.filter(user__username__in=[name for name, _ in REVIEWERS]).order_by(
            "user__username"
        )
    )
    # Planted at the window's end, before the samples the recording made: first in the queue.
    known = _plant(platform, queue, end)
    items = ReviewItem.objects.filter(queue=queue, kind=ItemKind.AUDIT)
    budget = min(MAX_LABELS, int(items.count() * LABELLED_SHARE))
    done = misses = turn = 0
    while done < budget and misses < len(reviewers):
        reviewer = reviewers[turn % len(reviewers)]
        turn += 1
        item = services.claim_next_review(reviewer=reviewer, queue=queue)
        if item is None:
            # Nothing this reviewer may take (they labelled what is left, say): the next one.
            misses += 1
            continue
        misses = 0
        outcome, reason, clause = _label(item, rng)
        labels.label_item(
            reviewer=reviewer,
            item=item,
            version=item.version,
            outcome=outcome,
            reason=reason,
            clause=clause,
        )
        done += 1
    double = items.filter(labels_needed=2).count()
    referred = _refer_disputes(platform, end, rng)
    sampled = items.filter(plan__isnull=False).count()
    return SeededAudits(sampled, done, double, known, referred)
