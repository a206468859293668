"""Filing appeals. Every write goes through here, in one transaction with its log entry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from appeals import selectors
from appeals.models import (
    MAX_STATEMENT_LENGTH,
    Appeal,
    AppealStatus,
    Appellant,
    ItemKind,
    ItemState,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from appeals.payloads import (
    appeal_filed_payload,
    appeal_proposal_rejected_payload,
    appeal_proposed_payload,
    appeal_reviewed_payload,
)
from ledger.log import append_entries
from ledger.models import EntryType
from moderation import trail, webhooks
from moderation.models import Decision, Platform, PlatformMember
from moderation.schemas import NOTIFIED_SOURCES
from moderation.services import DecisionsRejected, Measure, ReversalRefused, reverse_decision
from moderation.vocabulary import (
    CHANGING_TYPES,
    AccountAction,
    Action,
    Monetary,
    Provision,
    Source,
    Visibility,
)

MAX_REASON_LENGTH = 5000


class AppealRejected(Exception):
    """Nothing was written: `errors` maps a field to every problem with it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("appeal refused: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def appeal_window_opens(decision: Decision) -> datetime:
    """The window runs from when the person could know of the decision: its notification, if
    that came later than the decision itself."""
    if decision.notified_at is not None and decision.notified_at > decision.decided_at:
        return decision.notified_at
    return decision.decided_at


def appeal_window_closes(decision: Decision) -> datetime:
    return appeal_window_opens(decision) + timedelta(days=settings.LEDGER_APPEAL_WINDOW_DAYS)


def statement_errors(statement: str) -> list[str]:
    problems = []
    if not statement.strip():
        problems.append("The statement is empty: say why the decision is wrong.")
    if len(statement) > MAX_STATEMENT_LENGTH:
        problems.append(
            f"The statement has {len(statement)} characters; at most {MAX_STATEMENT_LENGTH} "
            "are allowed."
        )
    # PostgreSQL cannot store NUL in text, and no person types one.
    if "\x00" in statement:
        problems.append("The statement contains a NUL character.")
    return problems


def _decision_errors(decision: Decision, appellant: str) -> list[str]:
    # A reversal or expiry only lifts an earlier restriction: it takes nothing from the person
    # it is about, and a reversal is itself the outcome of a review (usually of an appeal), so
    # appealing it internally again would loop. What remains is out-of-court settlement and the
    # courts. A notifier who wants a reversal contested appeals it there too.
    if decision.decision_type in CHANGING_TYPES:
        return [
            f"A {decision.get_decision_type_display().lower()} cannot be appealed: it lifts an "
            "earlier decision rather than deciding anew."
        ]
    # Behind these sources there is a notifier, who may appeal (DSA Article 20(1)(a)).
    if appellant == Appellant.NOTIFIER and decision.source_type not in NOTIFIED_SOURCES:
        return ["This decision was not taken on a notice, so there is no notifier to appeal it."]
    return []


@transaction.atomic
def file_appeal(
    *, decision: Decision, appellant: Appellant | str, statement: str, now: datetime | None = None
) -> Appeal:
    """File an appeal against `decision`, with its APPEAL_FILED log entry.

    Refuses (AppealRejected, naming every problem by field, writing nothing) an empty, too long
    or NUL-containing statement, an unknown appellant, a decision that cannot be appealed, a
    second appeal by the same appellant, and an appeal after the window.
    """
    filed_at = now if now is not None else timezone.now()
    if timezone.is_naive(filed_at):
        # A naive time would be read in the server's zone and published shifted.
        raise ValueError("file_appeal needs an aware `now`")
    errors: dict[str, list[str]] = {}
    if appellant not in Appellant.values:
        errors["appellant"] = [f"Must be one of {', '.join(Appellant.values)}."]
    if problems := statement_errors(statement):
        errors["statement"] = problems
    if problems := _decision_errors(decision, str(appellant)):
        errors["decision"] = problems
    closes = appeal_window_closes(decision)
    if filed_at > closes:
        errors.setdefault("decision", []).append(
            f"The time to appeal ended on {closes.isoformat()} "
            f"({settings.LEDGER_APPEAL_WINDOW_DAYS} days)."
        )
    if errors:
        raise AppealRejected(errors)

    # Decisions are append-only, so their rows are never locked for update; the platform's row
    # serialises filings instead, so two concurrent filings cannot both pass the check below.
    platform = Platform.objects.select_for_update().only("slug").get(pk=decision.platform_id)
    if Appeal.objects.filter(decision=decision, appellant=appellant).exists():
        raise AppealRejected({"appellant": ["This decision has already been appealed by them."]})

    public_id = uuid.uuid4()
    queue = route(decision=decision, platform=platform)
    deadline_at = filed_at + timedelta(hours=queue.deadline_hours)
    payload = appeal_filed_payload(
        public_id=public_id,
        decision=decision.public_id,
        platform=platform.slug,
        appellant=str(appellant),
        filed_at=filed_at,
        deadline_at=deadline_at,
    )
    (appended,) = append_entries([(EntryType.APPEAL_FILED, payload)])
    appeal = Appeal.objects.create(
        public_id=public_id,
        decision=decision,
        appellant=str(appellant),
        statement=statement,
        filed_at=filed_at,
        deadline_at=deadline_at,
        log_entry_id=appended.index,
    )
    ReviewItem.objects.create(
        kind=ItemKind.APPEAL,
        appeal=appeal,
        decision=decision,
        queue=queue,
        priority=_priority(decision),
        created_at=filed_at,
        due_at=deadline_at,
    )
    webhooks.enqueue(
        platform=platform,
        event_type="appeal.filed",
        data={
            "appeal": str(public_id),
            "decision": str(decision.public_id),
            "puid": decision.puid,
            "appellant": str(appellant),
            "filed_at": filed_at.isoformat(),
            "deadline": deadline_at.isoformat(),
            "log_index": appended.index,
        },
        now=filed_at,
    )
    trail.record(
        actor=APPELLANT_ACTOR[str(appellant)],
        action="appeal.filed",
        object_type="appeal",
        object_id=public_id,
        platform=platform,
        details={"decision": str(decision.public_id), "queue": queue.slug},
        at=filed_at,
    )
    return appeal


# --- routing --------------------------------------------------------------------------------

# The appellants act through their notice link, without an account: the audit trail names them
# by their role.
APPELLANT_ACTOR = {
    Appellant.SUBJECT.value: "appellant (notice link)",
    Appellant.NOTIFIER.value: "notifier (notice link)",
}

# Account terminations and suspensions are reviewed first (they cut a person off entirely).
_URGENT_ACTIONS = frozenset({Action.ACCOUNT_TERMINATION, Action.ACCOUNT_SUSPENSION})


def _priority(decision: Decision) -> int:
    return 0 if decision.action in _URGENT_ACTIONS else 1


def ensure_default_queue(*, platform: Platform) -> ReviewQueue:
    """The platform's default queue, made on first need with the default deadline."""
    queue, _ = ReviewQueue.objects.get_or_create(
        platform=platform,
        is_default=True,
        defaults={
            "slug": "default",
            "name": "All appeals",
            "position": 2**31 - 1,
            "deadline_hours": settings.LEDGER_APPEAL_DECISION_DAYS * 24,
        },
    )
    return queue


def _matches(queue: ReviewQueue, decision: Decision) -> bool:
    territories = set(decision.territorial_scope or ())
    return (
        (not queue.actions or decision.action in queue.actions)
        and (not queue.categories or decision.category in queue.categories)
        and (not queue.languages or decision.content_language in queue.languages)
        and (not queue.territories or bool(territories & set(queue.territories)))
    )


def route(*, decision: Decision, platform: Platform) -> ReviewQueue:
    """The one queue an appeal against `decision` goes to: the first, by position, whose rules
    all match, else the platform's default queue. Never the audit queue: its empty rules would
    match everything, and it holds blind audit samples only."""
    for queue in ReviewQueue.objects.filter(
        platform=platform, is_default=False, audit=False
    ).order_by("position", "id"):
        if _matches(queue, decision):
            return queue
    return ensure_default_queue(platform=platform)


# --- claiming and deciding ------------------------------------------------------------------


class ReviewRefused(Exception):
    """Nothing was written. `code` says why (see the API's status for each), `errors` maps a
    field to every problem with it."""

    def __init__(self, code: str, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or {}


def _aware(now: datetime | None) -> datetime:
    at = now if now is not None else timezone.now()
    if timezone.is_naive(at):
        raise ValueError("review services need an aware `now`")
    return at


def _lease() -> timedelta:
    return timedelta(seconds=settings.LEDGER_REVIEW_LEASE_SECONDS)


# The columns a claim or its end changes.
_CLAIM_FIELDS = ["state", "claimed_by", "claimed_at", "lease_expires_at", "version"]


def _claim(item: ReviewItem, reviewer: Reviewer, now: datetime) -> None:
    item.state = ItemState.CLAIMED
    item.claimed_by = reviewer
    item.claimed_at = now
    item.lease_expires_at = now + _lease()
    item.version += 1
    item.save(update_fields=_CLAIM_FIELDS)


def _unclaim(item: ReviewItem, *, state: str = ItemState.OPEN) -> None:
    item.state = state
    item.claimed_by = None
    item.claimed_at = None
    item.lease_expires_at = None
    item.version += 1


def claim_next_review(
    *, reviewer: Reviewer, queue: ReviewQueue | None = None, now: datetime | None = None
) -> ReviewItem | None:
    """Lease the next item the reviewer may take (priority, then age), or None.

    On PostgreSQL the row is taken with FOR UPDATE SKIP LOCKED in a short transaction, so
    concurrent reviewers each get a different item without waiting on one another; the claim
    is also the database's no-self-review guard's moment (appeals migration 0003).
    """
    at = _aware(now)
    with transaction.atomic():
        candidates = selectors.claimable_items(reviewer=reviewer, queue=queue, now=at)
        # of=("self",): lock the item only, not the joined decision (which is append-only).
        item = (
            candidates.select_related("queue")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if item is None:
            return None
        _claim(item, reviewer, at)
        if item.appeal_id is not None:
            Appeal.objects.filter(pk=item.appeal_id, status=AppealStatus.FILED).update(
                status=AppealStatus.IN_REVIEW
            )
        trail.record(
            actor=reviewer.user,
            action="review.claimed",
            object_type="review_item",
            object_id=item.pk,
            platform=item.queue.platform_id,
            details={"version": item.version},
            at=at,
        )
    return item


def _claimed_by(reviewer: Reviewer, item: ReviewItem | int) -> ReviewItem:
    """Lock the item, scoped to the reviewer's platforms, and check they hold its claim."""
    item_id = item.pk if isinstance(item, ReviewItem) else item
    locked = (
        selectors.items_of(reviewer)
        .select_related("queue", "decision", "decision__platform", "appeal")
        .select_for_update(of=("self",))
        .filter(pk=item_id)
        .first()
    )
    if locked is None:
        raise ReviewRefused("not_found", "No such review item.")
    if locked.state != ItemState.CLAIMED or locked.claimed_by_id != reviewer.pk:
        raise ReviewRefused("not_held", "You do not hold this item: claim it first.")
    return locked


def _held(reviewer: Reviewer, item: ReviewItem | int, now: datetime) -> ReviewItem:
    """Lock the item and check the reviewer holds its unexpired lease."""
    locked = _claimed_by(reviewer, item)
    assert locked.lease_expires_at is not None  # a claimed item has a lease (a constraint)
    if locked.lease_expires_at <= now:
        raise ReviewRefused(
            "lease_expired", "Your claim on this item expired: claim it again to decide it."
        )
    return locked


def _lock_platform(platform_id: int, *, exclusive: bool) -> None:
    """Lock the platform's row before the log's head, the order every writer keeps.

    A reversal takes the platform's write lock (FOR UPDATE, as record_decisions does) and then
    the log's head. Everything else here only inserts rows that reference the platform (the
    audit trail, the webhook outbox), which takes FOR KEY SHARE on it: taken after the log's
    head, that waits on a reversal holding the platform, which waits on the head: a deadlock.
    So it is taken first, explicitly; KEY SHARE locks do not block one another, so upheld
    appeals and escalations still run side by side up to the log's own lock. (SQLite has one
    writer at a time and no row locks: nothing to do there.)
    """
    if exclusive:
        Platform.objects.select_for_update().filter(pk=platform_id).exists()
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {Platform._meta.db_table} WHERE id = %s FOR KEY SHARE",
                [platform_id],
            )


def _check_version(item: ReviewItem, version: int) -> None:
    if version != item.version:
        raise ReviewRefused(
            "stale_version",
            f"The item changed since you read it (version {version}, now {item.version}): "
            "reload it.",
        )


def _reason_errors(reason: object) -> list[str]:
    if not isinstance(reason, str):
        return ["Must be text."]
    problems = []
    if not reason.strip():
        problems.append("Give a reason: the appellant reads it.")
    if len(reason) > MAX_REASON_LENGTH:
        problems.append(f"At most {MAX_REASON_LENGTH} characters, got {len(reason)}.")
    if "\x00" in reason:
        problems.append("Contains a NUL character.")
    return problems


def _version_errors(version: object) -> list[str]:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return ["Must be the item's version, a positive integer."]
    return []


def made_decision(reviewer: Reviewer, decision: Decision) -> bool:
    """Whether the reviewer made `decision`: as its admin moderator, or as the platform's own
    moderator id (the pseudonym their membership carries)."""
    if decision.moderator_id is not None and decision.moderator_id == reviewer.user_id:
        return True
    return (
        bool(decision.moderator_ref)
        and PlatformMember.objects.filter(
            user_id=reviewer.user_id,
            platform_id=decision.platform_id,
            moderator_ref=decision.moderator_ref,
        ).exists()
    )


def _may_review(reviewer: Reviewer, item: ReviewItem) -> None:
    if made_decision(reviewer, item.decision):
        raise ReviewRefused("own_decision", "Nobody reviews a decision they made.")
    if Review.objects.filter(item=item, reviewer=reviewer).exists():
        raise ReviewRefused("already_reviewed", "You already reviewed this item.")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_review(
    *,
    item: ReviewItem,
    reviewer: Reviewer | None,
    outcome: str,
    reason: str,
    at: datetime,
    reversal: Decision | None = None,
    approves: Review | None = None,
) -> Review:
    """An APPEAL_DECIDED or APPEAL_ESCALATED review with its entry. With `approves`, the
    approval of that proposal (outcome "approved"): its entry decides the appeal with the
    proposal's outcome and reason digest, and names the proposal's entry."""
    appeal = item.appeal
    assert appeal is not None  # audit items are labelled by appeals.labels, not here
    reason_sha256 = _sha256(reason)
    entry_type, payload = appeal_reviewed_payload(
        appeal=appeal.public_id,
        decision=item.decision.public_id,
        platform=item.decision.platform.slug,
        outcome=outcome if approves is None else approves.outcome,
        reviewer_id=None if reviewer is None else reviewer.pk,
        decided_at=at,
        reason_sha256=reason_sha256 if approves is None else approves.reason_sha256,
        reversal=None if reversal is None else reversal.public_id,
        proposal=None if approves is None else approves.log_entry_id,
        approval_reason_sha256=None if approves is None else reason_sha256,
    )
    (appended,) = append_entries([(entry_type, payload)])
    return Review.objects.create(
        item=item,
        appeal=appeal,
        reviewer=reviewer,
        outcome=outcome,
        reason=reason,
        reason_sha256=reason_sha256,
        decided_at=at,
        reversal=reversal,
        approves=approves,
        log_entry_id=appended.index,
    )


DECIDING_OUTCOMES = (Outcome.UPHELD, Outcome.OVERTURNED, Outcome.MODIFIED)
# A second reviewer's answers to a proposed outcome (answer_proposal).
ANSWERS = (Outcome.APPROVED, Outcome.REJECTED)


def needs_second_approval(decision: Decision, outcome: str) -> bool:
    """Whether this appeal outcome is high-impact, and so takes effect only once a second,
    different reviewer approves it: upholding an account termination (the person stays cut
    off from the service), or overturning or modifying a decision taken on a legal order (a
    court's or an authority's order that one reviewer alone should not set aside)."""
    if outcome == Outcome.UPHELD:
        return decision.action == Action.ACCOUNT_TERMINATION
    if outcome in (Outcome.OVERTURNED, Outcome.MODIFIED):
        return decision.source_type == Source.LEGAL_ORDER
    return False


# --- a modification's measure, kept as JSON on its proposal until the approval ---------------

_MEASURE_CHOICES: dict[str, Any] = {
    "decision_monetary": Monetary,
    "decision_provision": Provision,
    "decision_account": AccountAction,
}


def measure_json(measure: Measure) -> dict[str, Any]:
    """`measure` as Review.measure stores it: every field by name, choices by their value,
    dates in ISO form (measure_from_json reads it back equal)."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return getattr(value, "value", value)

    return {f.name: plain(getattr(measure, f.name)) for f in dataclasses.fields(Measure)}


def measure_from_json(data: dict[str, Any]) -> Measure:
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(Measure):
        value = data.get(field.name)
        if value is None:
            continue
        if field.name == "decision_visibility":
            value = tuple(Visibility(v) for v in value)
        elif field.name in _MEASURE_CHOICES:
            value = _MEASURE_CHOICES[field.name](value)
        elif field.name.startswith("end_date_"):
            value = dt.date.fromisoformat(value)
        fields[field.name] = value
    return Measure(**fields)


# --- deciding -----------------------------------------------------------------------------


def _reverse(
    *,
    decision: Decision,
    reason: str,
    moderator: Any,
    measure: Measure | None,
    at: datetime,
    actor: Any = None,
) -> Decision:
    """Record the overturn (or, with `measure`, the modification) in `moderation`."""
    try:
        recorded = reverse_decision(
            decision=decision,
            reason=reason,
            moderator=moderator,
            measure=measure,
            decided_at=at,
            actor=actor,
        )
    except ReversalRefused as exc:
        raise ReviewRefused("invalid", exc.message, {"outcome": [exc.message]}) from exc
    except DecisionsRejected as exc:
        raise ReviewRefused(
            "invalid", "The measure is not valid.", {"measure": _flatten(exc)}
        ) from exc
    return Decision.objects.get(public_id=recorded.public_id)


class _Rehearsed(Exception):
    """Rolls a rehearsed reversal back (_rehearse_reversal)."""


def _rehearse_reversal(
    *, decision: Decision, reason: str, moderator: Any, measure: Measure | None, at: datetime
) -> None:
    """Record the reversal a proposal asks for, and roll it back at once.

    A proposal whose effect the approval could not record (a measure that is not lighter or
    not valid, a decision already reversed) is refused now, to the reviewer who can correct
    it, rather than later to the approver, who could only reject it. The rehearsal goes
    through `reverse_decision` itself, so the proposal is checked by exactly the rules its
    approval meets. The caller holds the platform's write lock (taken outside the savepoint,
    so rolling the savepoint back does not release it); the log's head and every row the
    rehearsal wrote are rolled back with the savepoint, and Django drops the on_commit
    callbacks it registered.
    """
    try:
        with transaction.atomic():
            _reverse(decision=decision, reason=reason, moderator=moderator, measure=measure, at=at)
            raise _Rehearsed
    except _Rehearsed:
        pass


def _decided(
    *,
    item: ReviewItem,
    reviewer: Reviewer,
    outcome: str,
    reason: str,
    at: datetime,
    reversal: Decision | None,
    proposal: Review | None = None,
) -> Review:
    """Write what deciding an appeal writes: the review and its APPEAL_DECIDED entry, the
    appeal's status, the item done, the appeal.decided webhook and the audit row.

    `outcome` is the appeal's outcome. Without `proposal`, `reason` is the deciding reviewer's
    and the appellant's answer. With it, the review written is the approval (its own `reason`
    stays with it), and the appellant is told the proposal's reason, which the reversal
    already carries as its statement.
    """
    appeal = item.appeal
    assert appeal is not None
    review = _write_review(
        item=item,
        reviewer=reviewer,
        outcome=outcome if proposal is None else Outcome.APPROVED,
        reason=reason,
        at=at,
        reversal=reversal,
        approves=proposal,
    )
    told, told_sha256 = (
        (reason, review.reason_sha256)
        if proposal is None
        else (proposal.reason, proposal.reason_sha256)
    )
    appeal.status = outcome
    appeal.save(update_fields=["status"])
    _unclaim(item, state=ItemState.DONE)
    item.closed_at = at
    item.proposal = None
    fields = [*_CLAIM_FIELDS, "closed_at", "proposal"]
    if item.breached_at is None and at > item.due_at:
        item.breached_at = at
        fields.append("breached_at")
    item.save(update_fields=fields)
    webhooks.enqueue(
        platform=item.decision.platform_id,
        event_type="appeal.decided",
        data={
            "appeal": str(appeal.public_id),
            "decision": str(item.decision.public_id),
            "puid": item.decision.puid,
            "appellant": appeal.appellant,
            "outcome": outcome,
            "reason": told,
            "reason_sha256": told_sha256,
            "decided_at": at.isoformat(),
            "reversal": None if reversal is None else str(reversal.public_id),
            "log_index": review.log_entry_id,
        },
        now=at,
    )
    details: dict[str, Any] = {"outcome": outcome, "item": item.pk, "review": review.pk}
    if proposal is not None:
        details["approves"] = proposal.pk
    trail.record(
        actor=reviewer.user,
        action="appeal.decided",
        object_type="appeal",
        object_id=appeal.public_id,
        platform=item.decision.platform_id,
        details=details,
        at=at,
    )
    return review


@transaction.atomic
def resolve_appeal(
    *,
    reviewer: Reviewer,
    item: ReviewItem | int,
    version: int,
    outcome: str,
    reason: str,
    measure: Measure | None = None,
    now: datetime | None = None,
) -> Review:
    """Decide the appeal the reviewer holds: uphold, overturn, or modify to a lighter measure.

    Commits only with the reviewer's unexpired lease and the `version` they read. An overturn
    or modification of the affected person's appeal records the change in `moderation`
    through `reverse_decision` (which takes subject, ground and category from the original);
    the reviewer's reason becomes that decision's public statement. A notifier's appeal that
    succeeds records nothing here: the platform, told by webhook, takes the new decision.

    A high-impact outcome (needs_second_approval) is only proposed: the returned review has
    `needs_approval` set and an APPEAL_PROPOSED entry, nothing is reversed yet, the appeal
    waits (awaiting_approval) and the item goes back to its queue for a second, different
    reviewer to approve or reject (answer_proposal).
    """
    at = _aware(now)
    errors: dict[str, list[str]] = {}
    if outcome not in DECIDING_OUTCOMES:
        errors["outcome"] = [f"Must be one of {', '.join(DECIDING_OUTCOMES)}."]
    if problems := _reason_errors(reason):
        errors["reason"] = problems
    if problems := _version_errors(version):
        errors["version"] = problems
    if outcome == Outcome.MODIFIED and measure is None:
        errors["measure"] = ["A modification needs the lighter measure that replaces it."]
    if outcome != Outcome.MODIFIED and measure is not None:
        errors["measure"] = ["Only a modification takes a measure."]
    if errors:
        raise ReviewRefused("invalid", "The decision is incomplete.", errors)

    locked = _held(reviewer, item, at)
    _check_version(locked, version)
    _may_review(reviewer, locked)
    appeal = locked.appeal
    if locked.kind != ItemKind.APPEAL or appeal is None:
        raise ReviewRefused(
            "invalid",
            "This item is not an appeal.",
            {"outcome": ["An audit item is labelled correct or incorrect, not decided."]},
        )
    if locked.proposal_id is not None:
        raise ReviewRefused(
            "invalid",
            "An outcome proposed for this appeal waits for a second reviewer's approval.",
            {"outcome": ["Approve or reject the proposed outcome (approved or rejected)."]},
        )
    if appeal.appellant == Appellant.NOTIFIER and outcome == Outcome.MODIFIED:
        raise ReviewRefused(
            "invalid",
            "A notifier's appeal is upheld or overturned.",
            {
                "outcome": [
                    "A notifier's appeal is upheld or overturned; the platform then takes "
                    "the new decision."
                ]
            },
        )
    reverses = outcome != Outcome.UPHELD and appeal.appellant == Appellant.SUBJECT
    # Exclusive when reverse_decision will take it anyway: a KEY SHARE first and an upgrade
    # later, in two transactions at once, would deadlock on each other.
    _lock_platform(locked.decision.platform_id, exclusive=reverses)
    if needs_second_approval(locked.decision, outcome):
        return _propose(
            item=locked,
            reviewer=reviewer,
            outcome=outcome,
            reason=reason,
            measure=measure,
            at=at,
            reverses=reverses,
        )

    reversal = None
    if reverses:
        reversal = _reverse(
            decision=locked.decision,
            reason=reason,
            moderator=reviewer.user,
            measure=measure if outcome == Outcome.MODIFIED else None,
            at=at,
        )
    return _decided(
        item=locked, reviewer=reviewer, outcome=outcome, reason=reason, at=at, reversal=reversal
    )


def _propose(
    *,
    item: ReviewItem,
    reviewer: Reviewer,
    outcome: str,
    reason: str,
    measure: Measure | None,
    at: datetime,
    reverses: bool,
) -> Review:
    """Record a high-impact outcome as a proposal (resolve_appeal, with the platform locked)."""
    appeal = item.appeal
    assert appeal is not None
    if reverses:
        _rehearse_reversal(
            decision=item.decision, reason=reason, moderator=reviewer.user, measure=measure, at=at
        )
    reason_sha256 = _sha256(reason)
    payload = appeal_proposed_payload(
        appeal=appeal.public_id,
        decision=item.decision.public_id,
        platform=item.decision.platform.slug,
        outcome=outcome,
        reviewer_id=reviewer.pk,
        proposed_at=at,
        reason_sha256=reason_sha256,
    )
    (appended,) = append_entries([(EntryType.APPEAL_PROPOSED, payload)])
    proposal = Review.objects.create(
        item=item,
        appeal=appeal,
        reviewer=reviewer,
        outcome=outcome,
        reason=reason,
        reason_sha256=reason_sha256,
        decided_at=at,
        needs_approval=True,
        measure=None if measure is None else measure_json(measure),
        log_entry_id=appended.index,
    )
    appeal.status = AppealStatus.AWAITING_APPROVAL
    appeal.save(update_fields=["status"])
    # Back to the queue for anyone else who may take it: the proposer cannot (one review per
    # reviewer), and an item escalated to seniors stays with them.
    _unclaim(item)
    item.proposal = proposal
    item.save(update_fields=[*_CLAIM_FIELDS, "proposal"])
    trail.record(
        actor=reviewer.user,
        action="appeal.proposed",
        object_type="appeal",
        object_id=appeal.public_id,
        platform=item.decision.platform_id,
        details={"outcome": outcome, "item": item.pk, "review": proposal.pk},
        at=at,
    )
    return proposal


@transaction.atomic
def answer_proposal(
    *,
    reviewer: Reviewer,
    item: ReviewItem | int,
    version: int,
    approve: bool,
    reason: str,
    now: datetime | None = None,
) -> Review:
    """Approve or reject the outcome proposed on the item the reviewer holds.

    Commits only with the reviewer's unexpired lease and the `version` they read, and never
    by the proposer (they already reviewed the item: "already_reviewed"; the claim refuses
    them too). An approval ("approved", `approves` the proposal) makes the proposal take
    effect exactly as resolve_appeal would have: the reversal or modification (with the
    proposal's reason as its statement and its kept measure), the appeal's outcome, the item
    done, the appeal.decided webhook; its APPEAL_DECIDED entry carries the proposal's outcome
    and entry index. A rejection ("rejected", APPEAL_PROPOSAL_REJECTED) puts the appeal back
    in review and the item back in its queue for seniors only, without the proposal: a senior
    who is neither of the two decides anew.
    """
    at = _aware(now)
    errors: dict[str, list[str]] = {}
    if not isinstance(approve, bool):
        errors["outcome"] = [f"Must be one of {', '.join(ANSWERS)}."]
    if problems := _reason_errors(reason):
        errors["reason"] = problems
    if problems := _version_errors(version):
        errors["version"] = problems
    if errors:
        raise ReviewRefused("invalid", "The answer is incomplete.", errors)

    locked = _held(reviewer, item, at)
    _check_version(locked, version)
    _may_review(reviewer, locked)
    appeal = locked.appeal
    if locked.proposal_id is None or appeal is None:
        raise ReviewRefused(
            "invalid",
            "No proposed outcome waits on this item.",
            {"outcome": ["Nothing to approve or reject here: decide the item instead."]},
        )
    proposal = Review.objects.select_related("reviewer__user").get(pk=locked.proposal_id)
    assert proposal.reviewer is not None and proposal.log_entry_id is not None
    if not approve:
        return _reject(item=locked, reviewer=reviewer, proposal=proposal, reason=reason, at=at)

    reverses = proposal.outcome != Outcome.UPHELD and appeal.appellant == Appellant.SUBJECT
    _lock_platform(locked.decision.platform_id, exclusive=reverses)
    reversal = None
    if reverses:
        reversal = _reverse(
            decision=locked.decision,
            reason=proposal.reason,
            # The proposer decided the change and wrote its statement; the approver let it
            # take effect, and the audit trail names them.
            moderator=proposal.reviewer.user,
            measure=None if proposal.measure is None else measure_from_json(proposal.measure),
            at=at,
            actor=reviewer.user,
        )
    return _decided(
        item=locked,
        reviewer=reviewer,
        outcome=proposal.outcome,
        reason=reason,
        at=at,
        reversal=reversal,
        proposal=proposal,
    )


def _reject(
    *, item: ReviewItem, reviewer: Reviewer, proposal: Review, reason: str, at: datetime
) -> Review:
    appeal = item.appeal
    assert appeal is not None and proposal.log_entry_id is not None
    _lock_platform(item.decision.platform_id, exclusive=False)
    reason_sha256 = _sha256(reason)
    payload = appeal_proposal_rejected_payload(
        appeal=appeal.public_id,
        decision=item.decision.public_id,
        platform=item.decision.platform.slug,
        reviewer_id=reviewer.pk,
        rejected_at=at,
        reason_sha256=reason_sha256,
        proposal=proposal.log_entry_id,
    )
    (appended,) = append_entries([(EntryType.APPEAL_PROPOSAL_REJECTED, payload)])
    review = Review.objects.create(
        item=item,
        appeal=appeal,
        reviewer=reviewer,
        outcome=Outcome.REJECTED,
        reason=reason,
        reason_sha256=reason_sha256,
        decided_at=at,
        approves=proposal,
        log_entry_id=appended.index,
    )
    appeal.status = AppealStatus.IN_REVIEW
    appeal.save(update_fields=["status"])
    _unclaim(item)
    item.proposal = None
    item.senior_only = True
    item.save(update_fields=[*_CLAIM_FIELDS, "proposal", "senior_only"])
    trail.record(
        actor=reviewer.user,
        action="appeal.proposal_rejected",
        object_type="appeal",
        object_id=appeal.public_id,
        platform=item.decision.platform_id,
        details={"item": item.pk, "review": review.pk, "proposal": proposal.pk},
        at=at,
    )
    return review


def _flatten(exc: DecisionsRejected) -> list[str]:
    return [
        f"{field}: {message}"
        for fields in exc.errors.values()
        for field, messages in fields.items()
        for message in messages
    ]


@transaction.atomic
def escalate_review(
    *,
    reviewer: Reviewer,
    item: ReviewItem | int,
    version: int,
    reason: str,
    now: datetime | None = None,
) -> Review:
    """Send the held item to a different, senior reviewer: it goes back to its queue for
    seniors only, and this reviewer can never take it again (one review per reviewer)."""
    at = _aware(now)
    errors: dict[str, list[str]] = {}
    if problems := _reason_errors(reason):
        errors["reason"] = problems
    if problems := _version_errors(version):
        errors["version"] = problems
    if errors:
        raise ReviewRefused("invalid", "The escalation is incomplete.", errors)
    locked = _held(reviewer, item, at)
    if locked.kind != ItemKind.APPEAL:
        # An audit label is not an appellant's answer: there is nothing to escalate.
        raise ReviewRefused(
            "invalid",
            "Only appeals are escalated: label an audit item correct or incorrect.",
            {"item": ["An audit item is labelled, not escalated."]},
        )
    _check_version(locked, version)
    _may_review(reviewer, locked)
    _lock_platform(locked.decision.platform_id, exclusive=False)
    review = _write_review(
        item=locked, reviewer=reviewer, outcome=Outcome.ESCALATED, reason=reason, at=at
    )
    _unclaim(locked)
    locked.senior_only = True
    locked.save(update_fields=[*_CLAIM_FIELDS, "senior_only"])
    trail.record(
        actor=reviewer.user,
        action="review.escalated",
        object_type="review_item",
        object_id=locked.pk,
        platform=locked.decision.platform_id,
        details={"review": review.pk},
        at=at,
    )
    return review


@transaction.atomic
def heartbeat_review(
    *, reviewer: Reviewer, item: ReviewItem | int, now: datetime | None = None
) -> ReviewItem:
    """Extend the reviewer's unexpired lease; the version stays, so their read stays valid."""
    at = _aware(now)
    locked = _held(reviewer, item, at)
    locked.lease_expires_at = at + _lease()
    locked.save(update_fields=["lease_expires_at"])
    return locked


@transaction.atomic
def release_review(
    *, reviewer: Reviewer, item: ReviewItem | int, now: datetime | None = None
) -> ReviewItem:
    """Give the item back to its queue (also after the lease expired, if nobody took it)."""
    at = _aware(now)
    locked = _claimed_by(reviewer, item)
    _unclaim(locked)
    locked.save(update_fields=_CLAIM_FIELDS)
    trail.record(
        actor=reviewer.user,
        action="review.released",
        object_type="review_item",
        object_id=locked.pk,
        platform=locked.queue.platform_id,
        at=at,
    )
    return locked


# --- what the clock does (Celery beat; every one is safe to re-run) --------------------------

DEADLINE_ESCALATION_REASON = (
    "The deadline is near and the appeal is undecided: sent to a senior reviewer."
)


def expire_leases(*, now: datetime | None = None) -> int:
    """Put items whose lease ran out back in their queue; returns how many."""
    at = _aware(now)
    expired = 0
    with transaction.atomic():
        items = list(
            ReviewItem.objects.filter(state=ItemState.CLAIMED, lease_expires_at__lte=at)
            .select_related("queue")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")[:1000]
        )
        for item in items:
            holder = item.claimed_by_id
            _unclaim(item)
            item.save(update_fields=_CLAIM_FIELDS)
            trail.record(
                actor=trail.SYSTEM,
                action="review.lease_expired",
                object_type="review_item",
                object_id=item.pk,
                platform=item.queue.platform_id,
                details={"reviewer": holder},
                at=at,
            )
            expired += 1
    return expired


def escalate_near_deadline(*, now: datetime | None = None) -> int:
    """Escalate undecided appeals within their queue's escalation window of the deadline to
    senior reviewers (an APPEAL_ESCALATED entry with no reviewer); returns how many. Audit
    items are not escalated: a label is not an appellant's answer, and a late one is only
    counted as a breach."""
    at = _aware(now)
    escalated = 0
    for queue in ReviewQueue.objects.all().only("id", "escalate_before_hours", "platform_id"):
        with transaction.atomic():
            items = list(
                ReviewItem.objects.filter(
                    queue=queue,
                    kind=ItemKind.APPEAL,
                    senior_only=False,
                    due_at__lte=at + timedelta(hours=queue.escalate_before_hours),
                )
                .exclude(state=ItemState.DONE)
                .select_related("decision", "decision__platform", "appeal", "claimed_by")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("due_at", "id")[:1000]
            )
            if items:
                _lock_platform(queue.platform_id, exclusive=False)
            for item in items:
                _write_review(
                    item=item,
                    reviewer=None,
                    outcome=Outcome.ESCALATED,
                    reason=DEADLINE_ESCALATION_REASON,
                    at=at,
                )
                fields = ["senior_only"]
                if item.claimed_by is not None and not item.claimed_by.senior:
                    # A junior holder's claim ends: only seniors may now take it.
                    _unclaim(item)
                    fields += _CLAIM_FIELDS
                item.senior_only = True
                item.save(update_fields=fields)
                trail.record(
                    actor=trail.SYSTEM,
                    action="review.escalated",
                    object_type="review_item",
                    object_id=item.pk,
                    platform=queue.platform_id,
                    details={"cause": "deadline"},
                    at=at,
                )
                escalated += 1
    return escalated


def count_breaches(*, now: datetime | None = None) -> int:
    """Mark undecided items past their deadline as breached (once each); returns how many
    were newly marked."""
    at = _aware(now)
    with transaction.atomic():
        items = list(
            ReviewItem.objects.filter(due_at__lt=at, breached_at__isnull=True)
            .exclude(state=ItemState.DONE)
            .select_related("queue")
            .select_for_update(skip_locked=True, of=("self",))[:1000]
        )
        for item in items:
            item.breached_at = at
            item.save(update_fields=["breached_at"])
            trail.record(
                actor=trail.SYSTEM,
                action="review.deadline_breached",
                object_type="review_item",
                object_id=item.pk,
                platform=item.queue.platform_id,
                details={"due_at": item.due_at.isoformat()},
                at=at,
            )
    return len(items)


# --- reviewers ----------------------------------------------------------------------------

# Reviewer tokens read "mlr_<prefix>_<secret>"; platform keys read "mlk_...". The two never
# authenticate each other's endpoints (appeals.auth, moderation.auth check the first part).
REVIEWER_TOKEN_PREFIX = "mlr"  # noqa: S105 (the public first part, not a secret)


def hash_reviewer_token(plaintext: str) -> str:
    # A 256-bit random token has nothing to brute-force: a fast hash is enough, as for API keys.
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def create_reviewer(
    *,
    username: str,
    platform: Platform | None = None,
    senior: bool | None = None,
    moderator_id: str | None = None,
    actor: object,
) -> tuple[Reviewer, str]:
    """Make `username` a staff reviewer (creating the user with no usable password if needed),
    a member of `platform`, and issue a fresh API token; return the reviewer and the token,
    which is never stored or shown again. Re-running it changes only what it is given: the
    token is replaced (the old one stops working), `senior` None keeps the flag as it is.

    `moderator_id` is the platform's own id for this person, as its decisions name them in
    `moderator`: stored as the same pseudonym as a decision's `moderator_ref`, so that they
    never review a decision they made over the API.
    """
    # Imported here: the rest of this module has no use for them.
    import secrets

    from django.contrib.auth import get_user_model

    from moderation.pseudonyms import pseudonym

    if moderator_id is not None and platform is None:
        raise ValueError("a moderator id is the platform's own id: it needs a platform")
    user_model = get_user_model()
    user, user_created = user_model._default_manager.select_for_update().get_or_create(
        **{user_model.USERNAME_FIELD: username}, defaults={"is_staff": True}
    )
    if user_created:
        # They sign in to the admin only once someone sets a password (changepassword).
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])

    reviewer = Reviewer.objects.select_for_update().filter(user=user).first()
    created = reviewer is None
    if reviewer is None:
        reviewer = Reviewer(user=user, senior=bool(senior))
    elif senior is not None:
        reviewer.senior = senior
    prefix = secrets.token_hex(6)
    # 32 random bytes after the lookup prefix: 256 bits, as platform API keys have.
    plaintext = f"{REVIEWER_TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    reviewer.token_prefix = prefix
    reviewer.token_hash = hash_reviewer_token(plaintext)
    if created:
        reviewer.save()
    else:
        reviewer.save(update_fields=["senior", "token_prefix", "token_hash"])

    if platform is not None:
        member, _ = PlatformMember.objects.select_for_update().get_or_create(
            user=user, platform=platform
        )
        if moderator_id is not None:
            ref = pseudonym(platform_slug=platform.slug, kind="moderator", platform_id=moderator_id)
            if member.moderator_ref != ref:
                member.moderator_ref = ref
                member.save(update_fields=["moderator_ref"])

    trail.record(
        actor=actor,
        action="reviewer.created" if created else "reviewer.updated",
        object_type="reviewer",
        object_id=reviewer.pk,
        platform=platform,
        details={
            "username": user.get_username(),
            "senior": reviewer.senior,
            "token_prefix": prefix,
            "platform": platform.slug if platform is not None else None,
            "moderator_id_set": moderator_id is not None,
        },
    )
    return reviewer, plaintext


@transaction.atomic
def revoke_reviewer_token(*, reviewer: Reviewer, actor: object) -> Reviewer:
    """The reviewer's API token stops working at once; their admin access is untouched."""
    locked = Reviewer.objects.select_for_update().get(pk=reviewer.pk)
    if locked.token_prefix is not None:
        prefix = locked.token_prefix
        locked.token_prefix = None
        locked.token_hash = ""
        locked.save(update_fields=["token_prefix", "token_hash"])
        trail.record(
            actor=actor,
            action="reviewer.token_revoked",
            object_type="reviewer",
            object_id=locked.pk,
            details={"token_prefix": prefix},
        )
    return locked
