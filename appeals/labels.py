"""Audit labels: a reviewer says whether an automated decision was right, blind to the model.

Two kinds of audit item are labelled the same way and look the same to reviewers: samples drawn
by an audit plan (appeals.audit), whose labels are public log entries (AUDIT_LABELLED), and
known-answer items planted by moderators to measure reviewers, whose labels stay off the log:
a log entry per planted label would tell anyone reading the log which items were tests.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction

from appeals.audit import ensure_audit_queue
from appeals.models import (
    AuditPlan,
    ItemKind,
    ItemState,
    Label,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from appeals.payloads import reviewer_pseudonym
from appeals.services import (
    _CLAIM_FIELDS,
    ReviewRefused,
    _aware,
    _check_version,
    _held,
    _lock_platform,
    _may_review,
    _reason_errors,
    _unclaim,
    _version_errors,
)
from ledger.log import append_entries, canonical_json
from ledger.models import EntryType
from moderation import trail
from moderation.models import ApiKey, Decision, ModelVersion
from moderation.vocabulary import CHANGING_TYPES

# The policy clause an "incorrect" label names: a clause's wording, as policies store it.
MAX_CLAUSE_LENGTH = 500


def _number_forms(value: float) -> set[str]:
    """How a score or threshold is likely written in a platform's text: 0.93, 0.930, 93%."""
    percent = value * 100
    return {
        repr(value),
        f"{value:.2f}",
        f"{value:.3f}",
        f"{percent:g}%",
        f"{percent:.0f}%",
        f"{percent:.1f}%",
    }


def blind_terms(decision: Decision) -> set[str]:
    """What an audit's reviewer must not read anywhere: the decision's model name and version
    label, its score and threshold as text, and the ids that lead to its published record
    (which names all of that), should the platform's own text quote them. Terms of one
    character (a version "1") are left out: they would blank every such number in the text,
    and the model's name beside them is blanked."""
    terms: set[str] = {
        decision.puid,
        str(decision.public_id),
        decision.public_id.hex,
        decision.notice_token,
        decision.notifier_token,
    }
    if decision.model_version_id is not None:
        name, version = (
            ModelVersion.objects.filter(pk=decision.model_version_id)
            .values_list("model__name", "version")
            .get()
        )
        terms |= {name, version}
    for number in (decision.score, decision.threshold):
        if number is not None:
            terms |= _number_forms(number)
    return {term for term in terms if len(term.strip()) > 1}


REDACTED = "[redacted]"


def blind_redactor(decision: Decision) -> Callable[[str], str]:
    """A function that blanks `blind_terms` out of a platform's free text (its statement of
    facts, its explanations), whole words only, ignoring case."""
    terms = sorted(blind_terms(decision), key=len, reverse=True)
    if not terms:
        return lambda text: text
    pattern = re.compile(
        r"(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, terms)) + r")(?![0-9A-Za-z])",
        re.IGNORECASE,
    )
    return lambda text: pattern.sub(REDACTED, text)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def audit_label_payload(
    *,
    decision: uuid.UUID,
    platform: str,
    plan: int,
    reviewer_id: int,
    outcome: str,
    reason_sha256: str,
    clause: str,
    labelled_at: datetime,
) -> bytes:
    """An AUDIT_LABELLED entry, built from the label's row by the service and by `verify_log`.

    `plan` is the log index of the plan that sampled the decision, so that anyone can check the
    sample against the plan's rule. Reason and clause are free text a reviewer wrote: only their
    SHA-256 is published.
    """
    return canonical_json(
        {
            "type": EntryType.AUDIT_LABELLED.value,
            "decision": str(decision),
            "platform": platform,
            "plan": plan,
            "reviewer": reviewer_pseudonym(platform=platform, reviewer_id=reviewer_id),
            "outcome": outcome,
            "reason_sha256": reason_sha256,
            "clause_sha256": sha256_text(clause) if clause else None,
            # In UTC, as the database gives datetimes back, so both builds agree byte for byte.
            "labelled_at": labelled_at.astimezone(UTC).isoformat(),
        }
    )


def clause_errors(outcome: object, clause: object) -> list[str]:
    if not isinstance(clause, str):
        return ["Must be text."]
    if outcome == Label.CORRECT:
        return ["Only an 'incorrect' label names a clause."] if clause else []
    if outcome != Label.INCORRECT:
        return []  # the outcome's own error says what is wrong
    problems = []
    if not clause.strip():
        problems.append(
            "An 'incorrect' label names the policy clause that applies (or says that none does)."
        )
    if len(clause) > MAX_CLAUSE_LENGTH:
        problems.append(f"At most {MAX_CLAUSE_LENGTH} characters, got {len(clause)}.")
    if "\x00" in clause:
        problems.append("Contains a NUL character.")
    return problems


@transaction.atomic
def label_item(
    *,
    reviewer: Reviewer,
    item: ReviewItem | int,
    version: int,
    outcome: str,
    reason: str,
    clause: str = "",
    now: datetime | None = None,
) -> Review:
    """Label the audit item the reviewer holds "correct" or "incorrect", with a reason (and,
    for "incorrect", the policy clause that applies instead).

    Commits only with the reviewer's unexpired lease and the `version` they read, and never on
    a decision they made or an item they already labelled. A sample's label is an
    AUDIT_LABELLED log entry; a planted known-answer item's is not logged. An item that needs
    a second label goes back to its queue, where the claim rules keep this reviewer from it.
    """
    at = _aware(now)
    errors: dict[str, list[str]] = {}
    if outcome not in Label.values:
        errors["outcome"] = [f"Must be one of {', '.join(Label.values)}."]
    if problems := _reason_errors(reason):
        errors["reason"] = problems
    if problems := _version_errors(version):
        errors["version"] = problems
    if problems := clause_errors(outcome, clause):
        errors["clause"] = problems
    if errors:
        raise ReviewRefused("invalid", "The label is incomplete.", errors)

    locked = _held(reviewer, item, at)
    if locked.kind != ItemKind.AUDIT:
        raise ReviewRefused(
            "invalid",
            "This item is not an audit item: decide it instead of labelling it.",
            {"outcome": [f"An {locked.kind} item is not labelled correct or incorrect."]},
        )
    _check_version(locked, version)
    _may_review(reviewer, locked)
    platform_id = locked.decision.platform_id
    # KEY SHARE before the log's head, the order every writer keeps (services._lock_platform).
    _lock_platform(platform_id, exclusive=False)

    reason_sha256 = sha256_text(reason)
    log_index = None
    if locked.plan_id is not None:
        plan_index = (
            AuditPlan.objects.filter(pk=locked.plan_id).values_list("log_entry_id", flat=True).get()
        )
        (appended,) = append_entries(
            [
                (
                    EntryType.AUDIT_LABELLED,
                    audit_label_payload(
                        decision=locked.decision.public_id,
                        platform=locked.decision.platform.slug,
                        plan=plan_index,
                        reviewer_id=reviewer.pk,
                        outcome=outcome,
                        reason_sha256=reason_sha256,
                        clause=clause,
                        labelled_at=at,
                    ),
                )
            ]
        )
        log_index = appended.index
    review = Review.objects.create(
        item=locked,
        reviewer=reviewer,
        outcome=outcome,
        reason=reason,
        reason_sha256=reason_sha256,
        clause=clause,
        decided_at=at,
        log_entry_id=log_index,
    )

    labels = Review.objects.filter(item=locked, outcome__in=Label.values).count()
    if labels >= locked.labels_needed:
        _unclaim(locked, state=ItemState.DONE)
        locked.closed_at = at
        fields = [*_CLAIM_FIELDS, "closed_at"]
        if locked.breached_at is None and at > locked.due_at:
            locked.breached_at = at
            fields.append("breached_at")
        locked.save(update_fields=fields)
    else:
        # Back to the queue for a second, independent label: the one-review-per-reviewer rule
        # (claimable_items and the unique constraint) keeps this reviewer from taking it again.
        _unclaim(locked)
        locked.save(update_fields=_CLAIM_FIELDS)
    trail.record(
        actor=reviewer.user,
        action="audit.labelled",
        object_type="review_item",
        object_id=locked.pk,
        platform=platform_id,
        details={"outcome": outcome, "review": review.pk, "labels": labels},
        at=at,
    )
    return review


class PlantRefused(Exception):
    """Nothing was written: `errors` maps a field to every problem with it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("planting refused: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def plant_errors(
    *, decision: Decision, answer: object, queue: ReviewQueue | None, actor: Any
) -> dict[str, list[str]]:
    """Every reason `plant_known_answer` would refuse these, by field (empty: none)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(answer, str) or answer not in Label.values:
        errors["answer"] = [f"Must be one of {', '.join(Label.values)}."]
    if isinstance(actor, ApiKey) and actor.platform_id != decision.platform_id:
        errors["decision"] = ["No such decision of your platform."]
    elif decision.decision_type in CHANGING_TYPES:
        errors["decision"] = [
            f"A {decision.get_decision_type_display().lower()} lifts an earlier decision: there "
            "is nothing in it to label."
        ]
    if queue is not None and queue.platform_id != decision.platform_id:
        errors["queue"] = ["Not a queue of the decision's platform."]
    return errors


@transaction.atomic
def plant_known_answer(
    *,
    decision: Decision,
    answer: str,
    queue: ReviewQueue | None = None,
    actor: Any,
    now: datetime | None = None,
) -> ReviewItem:
    """Plant `decision` as a known-answer audit item whose right label is `answer`.

    It goes to `queue` (any queue of the decision's platform; by default the audit queue) and
    looks to reviewers exactly like a sample: same kind, priority and deadline rule, and no log
    entry, neither now nor when it is labelled. The actor is a moderator (a user, recorded as
    the planter) or the platform's API key; a key of another platform is refused, as is a
    queue of another platform, an unknown answer, and a reversal or expiry (which lift an
    earlier decision rather than decide anything to label).
    """
    at = _aware(now)
    if errors := plant_errors(decision=decision, answer=answer, queue=queue, actor=actor):
        raise PlantRefused(errors)

    if queue is None:
        queue = ensure_audit_queue(decision.platform_id)
    planted_by = None if isinstance(actor, ApiKey | str) else actor
    item = ReviewItem.objects.create(
        kind=ItemKind.AUDIT,
        decision=decision,
        queue=queue,
        # As sampling makes samples (appeals.audit): nothing about a planted item may differ.
        priority=1,
        created_at=at,
        due_at=at + timedelta(hours=queue.deadline_hours),
        known_answer=answer,
        planted_by=planted_by,
    )
    trail.record(
        actor=actor,
        action="audit.planted",
        object_type="review_item",
        object_id=item.pk,
        platform=decision.platform_id,
        details={"decision": str(decision.public_id), "queue": queue.slug, "answer": answer},
        at=at,
    )
    return item
