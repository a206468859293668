"""Out-of-court disputes (DSA Article 21): a case a complainant took to a certified dispute
settlement body, recorded against the decision in three append-only steps.

1. `refer_dispute`: the referral (body, complainant, date), a DISPUTE_REFERRED entry;
2. `record_ruling`: the body's outcome and date, a DISPUTE_DECIDED entry, once per dispute;
3. `record_implementation`: whether, and when, the platform implemented it, a
   DISPUTE_IMPLEMENTED entry, once per dispute and only after its ruling.

Each payload is built by a function of this module from the row (ids, the body's name,
kinds and times: the body is a certified organisation, named publicly under Article 21(8)), both
when it is written and by `verify_log` (appeals.bindings). `dispute_counts` gives the numbers of
Article 24(1)(a) transparency reports: disputes referred, their outcomes, the median time to a
ruling, and how often the platform implemented the body's outcome.
"""

from __future__ import annotations

import statistics
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from appeals.models import (
    Appellant,
    Dispute,
    DisputeImplementation,
    DisputeOutcome,
    DisputeRuling,
)
from appeals.services import _lock_platform
from ledger.audit import BindingChecker
from ledger.log import append_entries, canonical_json
from ledger.models import EntryType
from moderation import trail
from moderation.bindings import Problems, _check, _in_range
from moderation.models import Decision
from moderation.schemas import NOTIFIED_SOURCES

# The model's column; certified bodies' names are short ("Appeals Centre Europe").
MAX_BODY_LENGTH = Dispute._meta.get_field("body").max_length or 200
SECONDS_PER_DAY = 86400


class DisputeRejected(Exception):
    """Nothing was written. `code` says why ("invalid": the input, "conflict": the dispute's
    state, such as a second ruling or an implementation before the ruling); `errors` maps a
    field to every problem with it."""

    def __init__(self, code: str, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message + " " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.code = code
        self.message = message
        self.errors = errors


# --- payloads -------------------------------------------------------------------------------


def _utc(at: datetime) -> str:
    # In UTC, as the database gives datetimes back, so both builds agree byte for byte.
    return at.astimezone(UTC).isoformat()


def dispute_referred_payload(
    *,
    public_id: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    complainant: str,
    body: str,
    referred_at: datetime,
) -> bytes:
    return canonical_json(
        {
            "type": EntryType.DISPUTE_REFERRED.value,
            "id": str(public_id),
            "decision": str(decision),
            "platform": platform,
            "complainant": complainant,
            "body": body,
            "referred_at": _utc(referred_at),
        }
    )


def dispute_decided_payload(
    *, dispute: uuid.UUID, decision: uuid.UUID, platform: str, outcome: str, decided_at: datetime
) -> bytes:
    return canonical_json(
        {
            "type": EntryType.DISPUTE_DECIDED.value,
            "dispute": str(dispute),
            "decision": str(decision),
            "platform": platform,
            "outcome": outcome,
            "decided_at": _utc(decided_at),
        }
    )


def dispute_implemented_payload(
    *,
    dispute: uuid.UUID,
    decision: uuid.UUID,
    platform: str,
    implemented: bool,
    implemented_at: datetime | None,
) -> bytes:
    return canonical_json(
        {
            "type": EntryType.DISPUTE_IMPLEMENTED.value,
            "dispute": str(dispute),
            "decision": str(decision),
            "platform": platform,
            "implemented": implemented,
            "implemented_at": None if implemented_at is None else _utc(implemented_at),
        }
    )


# --- bindings (verify_log; registered by appeals.bindings) ----------------------------------


def check_disputes_referred(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(Dispute.objects.all(), first, last).values_list(
            "log_entry_id",
            "public_id",
            "decision__public_id",
            "platform__slug",
            "complainant",
            "body",
            "referred_at",
        )
        for index, public_id, decision, platform, complainant, body, referred_at in rows:
            payload = dispute_referred_payload(
                public_id=public_id,
                decision=decision,
                platform=platform,
                complainant=complainant,
                body=body,
                referred_at=referred_at,
            )
            yield index, f"dispute {public_id}", payload

    return _check("dispute_referred", entries, last, rebuilt())


def check_disputes_decided(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(DisputeRuling.objects.all(), first, last).values_list(
            "log_entry_id",
            "dispute__public_id",
            "dispute__decision__public_id",
            "dispute__platform__slug",
            "outcome",
            "decided_at",
        )
        for index, dispute, decision, platform, outcome, decided_at in rows:
            payload = dispute_decided_payload(
                dispute=dispute,
                decision=decision,
                platform=platform,
                outcome=outcome,
                decided_at=decided_at,
            )
            yield index, f"ruling of dispute {dispute}", payload

    return _check("dispute_decided", entries, last, rebuilt())


def check_disputes_implemented(
    entries: Mapping[int, str], first: int, last: int | None
) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(DisputeImplementation.objects.all(), first, last).values_list(
            "log_entry_id",
            "dispute__public_id",
            "dispute__decision__public_id",
            "dispute__platform__slug",
            "implemented",
            "implemented_at",
        )
        for index, dispute, decision, platform, implemented, implemented_at in rows:
            payload = dispute_implemented_payload(
                dispute=dispute,
                decision=decision,
                platform=platform,
                implemented=implemented,
                implemented_at=implemented_at,
            )
            yield index, f"implementation of dispute {dispute}", payload

    return _check("dispute_implemented", entries, last, rebuilt())


DISPUTE_BINDINGS: dict[str, BindingChecker] = {
    EntryType.DISPUTE_REFERRED: check_disputes_referred,
    EntryType.DISPUTE_DECIDED: check_disputes_decided,
    EntryType.DISPUTE_IMPLEMENTED: check_disputes_implemented,
}


# --- validation (every problem at once; the API calls these for the fields that parsed) ------

# A value the caller refused already (a field of the wrong type): not checked again, nor are
# the rules that need it.
SKIP: Any = object()


def _time_errors(
    at: object, *, now: datetime, after: datetime | None, after_what: str
) -> list[str]:
    if at is None:
        return ["Required."]
    if not isinstance(at, datetime):
        return ["Must be a date and time."]
    if timezone.is_naive(at):
        # A naive time would be read in the server's zone and published shifted.
        return ["Give a time zone (Z or an offset such as +01:00)."]
    problems = []
    if at > now:
        problems.append(f"Must not be in the future (now is {_utc(now)}).")
    if after is not None and at < after:
        problems.append(f"Must not be before {after_what} ({_utc(after)}).")
    return problems


def body_errors(body: object) -> list[str]:
    if not isinstance(body, str):
        return ["Must be text: the certified body's name."]
    problems = []
    if not body.strip():
        problems.append("Name the certified dispute settlement body.")
    if len(body.strip()) > MAX_BODY_LENGTH:
        problems.append(f"At most {MAX_BODY_LENGTH} characters, got {len(body.strip())}.")
    # It is published in the log and on pages: no NUL (PostgreSQL refuses it), line breaks or
    # other control characters in a name.
    if any(unicodedata.category(c) == "Cc" for c in body):
        problems.append("Contains a control character (a line break, a tab, a NUL...).")
    return problems


def referral_errors(
    *,
    decision: Decision | None,
    complainant: object,
    body: object,
    referred_at: object,
    now: datetime,
) -> dict[str, list[str]]:
    """Every problem of a referral. `decision` None: refused by the caller (unknown); any
    other argument SKIP: likewise."""
    errors: dict[str, list[str]] = {}
    if complainant is SKIP:
        pass
    elif complainant not in Appellant.values:
        errors["complainant"] = [f"Must be one of {', '.join(Appellant.values)}."]
    elif (
        complainant == Appellant.NOTIFIER
        and decision is not None
        and decision.source_type not in NOTIFIED_SOURCES
    ):
        errors["complainant"] = [
            "This decision was not taken on a notice, so there is no notifier to refer it."
        ]
    if body is not SKIP and (problems := body_errors(body)):
        errors["body"] = problems
    if referred_at is not SKIP and (
        problems := _time_errors(
            referred_at,
            now=now,
            after=None if decision is None else decision.decided_at,
            after_what="the decision it disputes",
        )
    ):
        errors["referred_at"] = problems
    return errors


def ruling_errors(
    *, dispute: Dispute, outcome: object, decided_at: object, now: datetime
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if outcome is not SKIP and outcome not in DisputeOutcome.values:
        errors["outcome"] = [f"Must be one of {', '.join(DisputeOutcome.values)}."]
    if decided_at is not SKIP and (
        problems := _time_errors(
            decided_at, now=now, after=dispute.referred_at, after_what="the referral"
        )
    ):
        errors["decided_at"] = problems
    return errors


def implementation_errors(
    *,
    dispute: Dispute,
    ruling: DisputeRuling | None,
    implemented: object,
    implemented_at: object,
    now: datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if implemented is not SKIP and not isinstance(implemented, bool):
        errors["implemented"] = ["Must be true or false."]
    if implemented_at is SKIP:
        return errors
    if implemented is False and implemented_at is not None:
        errors["implemented_at"] = ["Must be null when the outcome was not implemented."]
    elif implemented is True or implemented_at is not None:
        after, what = (
            (ruling.decided_at, "the ruling")
            if ruling is not None
            else (dispute.referred_at, "the referral")
        )
        if implemented is True and implemented_at is None:
            errors["implemented_at"] = ["Say when the platform implemented the outcome."]
        elif problems := _time_errors(implemented_at, now=now, after=after, after_what=what):
            errors["implemented_at"] = problems
    return errors


def _aware(now: datetime | None) -> datetime:
    at = now if now is not None else timezone.now()
    if timezone.is_naive(at):
        raise ValueError("dispute services need an aware `now`")
    return at


def _conflict(message: str, field: str = "dispute") -> DisputeRejected:
    return DisputeRejected("conflict", message, {field: [message]})


# --- services -------------------------------------------------------------------------------


def same_referral(
    *, decision: Decision, complainant: str, body: str, referred_at: datetime
) -> Dispute | None:
    """The dispute already recorded with exactly these facts (a client's retry), if any."""
    return (
        Dispute.objects.filter(
            decision=decision,
            complainant=complainant,
            body=body.strip(),
            referred_at=referred_at,
        )
        .order_by("id")
        .first()
    )


@transaction.atomic
def refer_dispute(
    *,
    decision: Decision,
    complainant: Appellant | str,
    body: str,
    referred_at: datetime,
    actor: Any,
    now: datetime | None = None,
) -> Dispute:
    """Record that `complainant` took `decision` to the certified body `body` on `referred_at`.

    Refuses (DisputeRejected, naming every problem, writing nothing) an unknown complainant, a
    notifier where the decision had none, a blank, too long or control-character name, a
    referral in the future or before the decision, and the same referral a second time
    (code "conflict": `same_referral` finds it).
    """
    at = _aware(now)
    if errors := referral_errors(
        decision=decision, complainant=complainant, body=body, referred_at=referred_at, now=at
    ):
        raise DisputeRejected("invalid", "The referral is invalid; nothing was recorded.", errors)
    name = body.strip()
    _lock_platform(decision.platform_id, exclusive=False)
    public_id = uuid.uuid4()
    payload = dispute_referred_payload(
        public_id=public_id,
        decision=decision.public_id,
        platform=decision.platform.slug,
        complainant=str(complainant),
        body=name,
        referred_at=referred_at,
    )
    # The check comes after the append on purpose: the append holds the log's head, which
    # every writer takes, so a concurrent identical referral has committed (and is seen by
    # this statement, under READ COMMITTED) or waits behind this one.
    (appended,) = append_entries([(EntryType.DISPUTE_REFERRED, payload)])
    existing = same_referral(
        decision=decision, complainant=str(complainant), body=name, referred_at=referred_at
    )
    if existing is not None:
        raise _conflict(f"This referral is already recorded as dispute {existing.public_id}.")
    dispute = Dispute.objects.create(
        public_id=public_id,
        decision=decision,
        platform_id=decision.platform_id,
        complainant=str(complainant),
        body=name,
        referred_at=referred_at,
        created_at=at,
        log_entry_id=appended.index,
    )
    trail.record(
        actor=actor,
        action="dispute.referred",
        object_type="dispute",
        object_id=public_id,
        platform=decision.platform_id,
        details={
            "decision": str(decision.public_id),
            "complainant": str(complainant),
            "body": name,
            "log_index": appended.index,
        },
        at=at,
    )
    return dispute


def _ruling_of(dispute: Dispute) -> DisputeRuling | None:
    return DisputeRuling.objects.filter(dispute_id=dispute.pk).first()


@transaction.atomic
def record_ruling(
    *,
    dispute: Dispute,
    outcome: DisputeOutcome | str,
    decided_at: datetime,
    actor: Any,
    now: datetime | None = None,
) -> DisputeRuling:
    """Record the body's outcome of `dispute`, decided on `decided_at` (not before the
    referral, not in the future). One per dispute: a second is refused ("conflict")."""
    at = _aware(now)
    if errors := ruling_errors(dispute=dispute, outcome=outcome, decided_at=decided_at, now=at):
        raise DisputeRejected("invalid", "The ruling is invalid; nothing was recorded.", errors)
    if _ruling_of(dispute) is not None:
        raise _conflict("The body's ruling of this dispute is already recorded.")
    decision = dispute.decision
    _lock_platform(dispute.platform_id, exclusive=False)
    payload = dispute_decided_payload(
        dispute=dispute.public_id,
        decision=decision.public_id,
        platform=decision.platform.slug,
        outcome=str(outcome),
        decided_at=decided_at,
    )
    (appended,) = append_entries([(EntryType.DISPUTE_DECIDED, payload)])
    try:
        # A savepoint: a concurrent ruling that committed first fails the one-per-dispute
        # constraint here, and the whole call (its log entry too) rolls back as a refusal.
        with transaction.atomic():
            ruling = DisputeRuling.objects.create(
                dispute=dispute,
                outcome=str(outcome),
                decided_at=decided_at,
                created_at=at,
                log_entry_id=appended.index,
            )
    except IntegrityError as exc:
        raise _conflict("The body's ruling of this dispute is already recorded.") from exc
    trail.record(
        actor=actor,
        action="dispute.decided",
        object_type="dispute",
        object_id=dispute.public_id,
        platform=dispute.platform_id,
        details={"outcome": str(outcome), "log_index": appended.index},
        at=at,
    )
    return ruling


@transaction.atomic
def record_implementation(
    *,
    dispute: Dispute,
    implemented: bool,
    implemented_at: datetime | None,
    actor: Any,
    now: datetime | None = None,
) -> DisputeImplementation:
    """Record whether the platform implemented the body's outcome of `dispute` and when
    (`implemented_at` exactly when `implemented`, not before the ruling, not in the future).
    Only after the ruling, and once per dispute ("conflict" otherwise); a withdrawn dispute
    has nothing to implement."""
    at = _aware(now)
    ruling = _ruling_of(dispute)
    errors = implementation_errors(
        dispute=dispute,
        ruling=ruling,
        implemented=implemented,
        implemented_at=implemented_at,
        now=at,
    )
    if errors:
        raise DisputeRejected(
            "invalid", "The implementation is invalid; nothing was recorded.", errors
        )
    if ruling is None:
        raise _conflict("Record the body's ruling first: there is nothing to implement yet.")
    if ruling.outcome == DisputeOutcome.WITHDRAWN:
        raise _conflict("The dispute was withdrawn: there is no outcome to implement.")
    if DisputeImplementation.objects.filter(dispute_id=dispute.pk).exists():
        raise _conflict("Whether the platform implemented the outcome is already recorded.")
    decision = dispute.decision
    _lock_platform(dispute.platform_id, exclusive=False)
    payload = dispute_implemented_payload(
        dispute=dispute.public_id,
        decision=decision.public_id,
        platform=decision.platform.slug,
        implemented=implemented,
        implemented_at=implemented_at,
    )
    (appended,) = append_entries([(EntryType.DISPUTE_IMPLEMENTED, payload)])
    try:
        # As for rulings: the one-per-dispute constraint decides between concurrent calls.
        with transaction.atomic():
            implementation = DisputeImplementation.objects.create(
                dispute=dispute,
                implemented=implemented,
                implemented_at=implemented_at,
                created_at=at,
                log_entry_id=appended.index,
            )
    except IntegrityError as exc:
        raise _conflict(
            "Whether the platform implemented the outcome is already recorded."
        ) from exc
    trail.record(
        actor=actor,
        action="dispute.implemented",
        object_type="dispute",
        object_id=dispute.public_id,
        platform=dispute.platform_id,
        details={"implemented": implemented, "log_index": appended.index},
        at=at,
    )
    return implementation


# --- reads ----------------------------------------------------------------------------------


def disputes_of(platform_ids: Iterable[int] | None = None) -> QuerySet[Dispute]:
    """Disputes with their ruling, implementation and decision in one query, newest first."""
    disputes = Dispute.objects.select_related(
        "ruling", "implementation", "decision", "platform", "log_entry"
    )
    if platform_ids is not None:
        disputes = disputes.filter(platform_id__in=list(platform_ids))
    return disputes


def dispute_counts(
    platform_ids: Iterable[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The disputes referred in [since, until) (all when None), and what became of them.

    `referred`; `decided` per outcome (every outcome named, zeros included) and
    `decided_total`; `awaiting_ruling`; of the rulings with an outcome to implement (not
    withdrawn): `implemented`, `not_implemented` and `awaiting_implementation`;
    `median_days_to_ruling` (referral to ruling, in days, None without rulings). One query.
    """
    disputes = Dispute.objects.all()
    if platform_ids is not None:
        disputes = disputes.filter(platform_id__in=list(platform_ids))
    if since is not None:
        disputes = disputes.filter(referred_at__gte=since)
    if until is not None:
        disputes = disputes.filter(referred_at__lt=until)
    rows = disputes.values_list(
        "referred_at", "ruling__outcome", "ruling__decided_at", "implementation__implemented"
    )
    decided = dict.fromkeys(DisputeOutcome.values, 0)
    referred = implemented = not_implemented = awaiting_implementation = 0
    days: list[float] = []
    for referred_at, outcome, decided_at, done in rows:
        referred += 1
        if outcome is None:
            continue
        decided[outcome] = decided.get(outcome, 0) + 1
        days.append((decided_at - referred_at).total_seconds() / SECONDS_PER_DAY)
        if outcome == DisputeOutcome.WITHDRAWN:
            continue
        if done is None:
            awaiting_implementation += 1
        elif done:
            implemented += 1
        else:
            not_implemented += 1
    decided_total = sum(decided.values())
    return {
        "referred": referred,
        "decided": decided,
        "decided_total": decided_total,
        "awaiting_ruling": referred - decided_total,
        "implemented": implemented,
        "not_implemented": not_implemented,
        "awaiting_implementation": awaiting_implementation,
        "median_days_to_ruling": statistics.median(days) if days else None,
    }


# --- the creator's notice page --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputeView:
    """One dispute as the notice page tells it (only public facts: all of it is in the log)."""

    dispute: Dispute
    by_holder: bool
    outcome: str | None
    decided_at: datetime | None
    # None: not recorded yet; else True or False.
    implemented: bool | None
    implemented_at: datetime | None
    # An outcome that asks something of the platform (an overturn, a settlement): the page
    # says whether it was implemented, or that the platform has not said yet.
    implementation_expected: bool


# What the outcome means for the person reading, by outcome.
OUTCOME_WORDS = {
    DisputeOutcome.UPHELD.value: "The body agreed with the platform: the decision stands.",
    DisputeOutcome.OVERTURNED.value: "The body found the decision wrong: it should be reversed.",
    DisputeOutcome.SETTLED.value: "The dispute was settled between the parties.",
    DisputeOutcome.WITHDRAWN.value: "The dispute was withdrawn or discontinued.",
}


def disputes_for_notice(decision: Decision, appellant: str) -> list[DisputeView]:
    """The decision's disputes, oldest first, for the notice page of `appellant` (the holder's
    role): `by_holder` says whether the holder took it to the body themselves."""
    views = []
    for dispute in (
        Dispute.objects.filter(decision=decision)
        .select_related("ruling", "implementation")
        .order_by("referred_at", "id")
    ):
        ruling = getattr(dispute, "ruling", None)
        implementation = getattr(dispute, "implementation", None)
        views.append(
            DisputeView(
                dispute=dispute,
                by_holder=dispute.complainant == appellant,
                outcome=None if ruling is None else OUTCOME_WORDS.get(ruling.outcome),
                decided_at=None if ruling is None else ruling.decided_at,
                implemented=None if implementation is None else implementation.implemented,
                implemented_at=None if implementation is None else implementation.implemented_at,
                implementation_expected=ruling is not None
                and ruling.outcome in (DisputeOutcome.OVERTURNED, DisputeOutcome.SETTLED),
            )
        )
    return views
