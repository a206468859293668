"""Reads for the holder of a notice link: the person a decision is about (its notice token) or
the person who reported the content (its notifier token).

The token is the only credential, so every read here is scoped by it: a holder sees their own
appeal of their own decision and nothing else; another appellant's appeal of the same decision
(and its private statement) does not exist for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.http import Http404

from appeals.models import Appeal, Appellant, Outcome, Review
from moderation.models import Decision
from moderation.selectors import get_decision_by_notice_token, get_decision_by_notifier_token


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a token speaks for: the decision it names and the appellant its holder would be."""

    decision: Decision
    appellant: str
    token: str

    @property
    def is_notifier(self) -> bool:
        return self.appellant == Appellant.NOTIFIER


def holder_of(token: str) -> Holder:
    """The decision and role a token names, or Http404 (malformed, unknown or forged tokens
    alike). Both kinds are 192-bit random strings, so one cannot be mistaken for the other."""
    try:
        decision = get_decision_by_notice_token(token)
        return Holder(decision=decision, appellant=Appellant.SUBJECT, token=token)
    except Http404:
        decision = get_decision_by_notifier_token(token)
        return Holder(decision=decision, appellant=Appellant.NOTIFIER, token=token)


def own_appeal(holder: Holder) -> Appeal | None:
    """The holder's appeal of their decision (at most one: the unique constraint)."""
    return Appeal.objects.filter(decision=holder.decision, appellant=holder.appellant).first()


def own_appeal_by_id(holder: Holder, public_id: uuid.UUID | str) -> Appeal:
    """The appeal `public_id` if it is the holder's own, else Http404: the same answer as for
    an appeal that does not exist, so a token never reveals another appeal."""
    try:
        return Appeal.objects.get(
            public_id=public_id, decision=holder.decision, appellant=holder.appellant
        )
    except (Appeal.DoesNotExist, ValueError) as exc:
        raise Http404("No such appeal.") from exc


@dataclass(frozen=True, slots=True)
class Answer:
    """What the appellant is told once their appeal is decided."""

    outcome: str  # upheld, overturned or modified
    reason: str
    decided_at: datetime
    # The decision an overturn or modification recorded (the affected person's appeals).
    reversal: Decision | None


# The reviews that decide an appeal: a decision that took effect at once, or the approval of a
# proposed one. Escalations, proposals still waiting and rejected ones decide nothing.
_DECIDING = Q(
    outcome__in=[Outcome.UPHELD, Outcome.OVERTURNED, Outcome.MODIFIED], needs_approval=False
) | Q(outcome=Outcome.APPROVED)


def appeal_answer(appeal: Appeal) -> Answer | None:
    """The appeal's answer, if it is decided. An approved proposal answers with the proposal's
    outcome and reason (the reason the reversal also states), decided when it was approved."""
    review = (
        Review.objects.filter(_DECIDING, appeal=appeal)
        .select_related("reversal", "approves")
        .order_by("-decided_at", "-id")
        .first()
    )
    if review is None:
        return None
    decided = review if review.approves is None else review.approves
    return Answer(
        outcome=decided.outcome,
        reason=decided.reason,
        decided_at=review.decided_at,
        reversal=review.reversal,
    )


def was_escalated(appeal: Appeal) -> bool:
    """Passed to a senior reviewer: escalated, or a proposed outcome a second reviewer
    rejected (a senior then decides anew)."""
    return Review.objects.filter(
        appeal=appeal, outcome__in=[Outcome.ESCALATED, Outcome.REJECTED]
    ).exists()
