"""Reading appeals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet

from appeals.models import (
    Appeal,
    AppealStatus,
    ItemState,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from moderation.models import Decision, PlatformMember


def appeals_of(decision: Decision) -> QuerySet[Appeal]:
    """A decision's appeals (at most one per appellant), served by the unique constraint."""
    return Appeal.objects.filter(decision=decision).order_by("filed_at")


def reviewer_platform_ids(reviewer: Reviewer) -> set[int]:
    """The platforms a reviewer works for (their memberships)."""
    return set(
        PlatformMember.objects.filter(user_id=reviewer.user_id).values_list(
            "platform_id", flat=True
        )
    )


def reviewer_queue_ids(reviewer: Reviewer, platform_ids: set[int]) -> list[int]:
    """The queues the reviewer works: their platforms' queues whose group is empty (everyone)
    or names them."""
    return list(
        ReviewQueue.objects.filter(platform_id__in=platform_ids)
        .annotate(group=Count("reviewers"))
        .filter(Q(group=0) | Q(reviewers=reviewer))
        .values_list("id", flat=True)
        .distinct()
    )


def items_of(reviewer: Reviewer) -> QuerySet[ReviewItem]:
    """Every item of the reviewer's platforms: the scope of every lookup by id."""
    return ReviewItem.objects.filter(queue__platform_id__in=reviewer_platform_ids(reviewer))


def review_item_for(*, reviewer: Reviewer, item_id: int) -> ReviewItem:
    """The item, if it belongs to one of the reviewer's platforms; else ReviewRefused
    ("not_found"), the same answer as for an item that does not exist."""
    from appeals.services import ReviewRefused

    item = (
        items_of(reviewer)
        .select_related("queue", "appeal", "decision", "decision__platform", "claimed_by__user")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise ReviewRefused("not_found", "No such review item.")
    return item


def claimable_items(
    *, reviewer: Reviewer, queue: ReviewQueue | None, now: datetime
) -> QuerySet[ReviewItem]:
    """What the reviewer may claim now, in claim order (priority, then age).

    Waiting items, or claimed ones whose lease ran out, in the reviewer's queues; never one
    whose decision they made (as its moderator, or under the platform's id for them), one they
    already reviewed or escalated, or (unless senior) one escalated to seniors. The
    `review_item_claimable` partial index serves the queue/priority/age scan.
    """
    platform_ids = reviewer_platform_ids(reviewer)
    queue_ids = reviewer_queue_ids(reviewer, platform_ids)
    if queue is not None:
        queue_ids = [q for q in queue_ids if q == queue.pk]
    items = ReviewItem.objects.filter(queue_id__in=queue_ids).filter(
        Q(state=ItemState.OPEN) | Q(state=ItemState.CLAIMED, lease_expires_at__lte=now)
    )
    if not reviewer.senior:
        items = items.filter(senior_only=False)
    items = items.exclude(decision__moderator_id=reviewer.user_id)
    refs = PlatformMember.objects.filter(user_id=reviewer.user_id).exclude(moderator_ref="")
    for platform_id, ref in refs.values_list("platform_id", "moderator_ref"):
        items = items.exclude(decision__platform_id=platform_id, decision__moderator_ref=ref)
    items = items.exclude(Exists(Review.objects.filter(item=OuterRef("pk"), reviewer=reviewer)))
    return items.order_by("priority", "created_at", "id")


def queue_stats(*, platform_ids: set[int] | None, now: datetime) -> list[dict[str, Any]]:
    """Per queue: waiting and claimed items, the oldest undecided one, items past their
    deadline, breaches ever counted, and decisions in the last 30 days."""
    queues = ReviewQueue.objects.select_related("platform").order_by("platform__slug", "position")
    if platform_ids is not None:
        queues = queues.filter(platform_id__in=platform_ids)
    undecided = ~Q(items__state=ItemState.DONE)
    rows = queues.annotate(
        size=Count("items", filter=undecided),
        claimed=Count("items", filter=Q(items__state=ItemState.CLAIMED)),
        oldest=Min("items__created_at", filter=undecided),
        past_deadline=Count("items", filter=undecided & Q(items__due_at__lt=now)),
        breaches=Count("items", filter=Q(items__breached_at__isnull=False)),
    )
    return [
        {
            "queue": q,
            "size": q.size,
            "claimed": q.claimed,
            "oldest": q.oldest,
            "past_deadline": q.past_deadline,
            "breaches": q.breaches,
        }
        for q in rows
    ]


def decisions_per_reviewer(
    *, platform_ids: set[int] | None, since: datetime
) -> list[dict[str, Any]]:
    """Reviews per reviewer and outcome since `since` (escalations included)."""
    reviews = Review.objects.filter(decided_at__gte=since, reviewer__isnull=False)
    if platform_ids is not None:
        reviews = reviews.filter(item__queue__platform_id__in=platform_ids)
    return list(
        reviews.values("reviewer__user__username", "outcome")
        .annotate(n=Count("id"))
        .order_by("reviewer__user__username", "outcome")
    )


@dataclass(frozen=True, slots=True)
class SeniorOverturns:
    """One reviewer's proposed high-impact outcomes and how the senior level answered them."""

    reviewer_id: int
    # Outcomes they proposed for a second approval.
    proposals: int
    # Of those, rejected by the second reviewer (the appeal then goes to a senior).
    rejected: int
    # Of the rejected ones, appeals a senior has since decided with another outcome.
    overturned: int


def overturned_at_senior_level(
    platform_ids: Iterable[int] | None = None,
) -> dict[int, SeniorOverturns]:
    """Per reviewer (by id), their appeal decisions later overturned at the senior level, in
    one grouped query.

    Only proposals can be: an appeal decided at once is done and never decided again, while a
    proposed high-impact outcome that the second reviewer rejects goes to a senior, who decides
    anew (appeals.services.answer_proposal). A proposal counts as overturned once that appeal
    is decided with an outcome other than the one proposed; rejected proposals whose appeal is
    still undecided, or decided the same way, count as rejected only.
    """
    proposals = Review.objects.filter(needs_approval=True, reviewer__isnull=False)
    if platform_ids is not None:
        proposals = proposals.filter(item__queue__platform_id__in=list(platform_ids))
    rejected = Q(answer__outcome=Outcome.REJECTED)
    decided = [AppealStatus.UPHELD, AppealStatus.OVERTURNED, AppealStatus.MODIFIED]
    rows = (
        proposals.values("reviewer_id")
        .annotate(
            proposals=Count("id"),
            rejected=Count("id", filter=rejected),
            # An appeal's decided statuses are the outcomes' own values.
            overturned=Count(
                "id",
                filter=rejected & Q(appeal__status__in=decided) & ~Q(appeal__status=F("outcome")),
            ),
        )
        .order_by("reviewer_id")
    )
    return {
        row["reviewer_id"]: SeniorOverturns(
            reviewer_id=row["reviewer_id"],
            proposals=row["proposals"],
            rejected=row["rejected"],
            overturned=row["overturned"],
        )
        for row in rows
    }
