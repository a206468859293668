"""Blind audit samples: a platform's audit plan, the sampling rule anyone can rerun, the audit
queue, and the hook that samples each batch of decisions as it is recorded.

A plan is a log entry (AUDIT_PLAN) carrying its strata and a random salt. Which decisions it
samples is a pure function of what the log publishes: the plan's salt and strata, and each
decision's id, model version, category, type and automation flags (see `RULE`). The salt is
drawn when the plan is set, before any decision it applies to exists, and decision ids are
random ones the ledger makes, so a platform cannot steer which of its decisions are audited.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import math
import secrets
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appeals.models import AuditPlan, ItemKind, ReviewItem, ReviewQueue
from appeals.services import _lock_platform
from ledger.db import insert_rows
from ledger.log import append_entries, canonical_json
from ledger.models import EntryType
from moderation import trail
from moderation.models import Decision, ModelVersion, Platform
from moderation.vocabulary import CHANGING_TYPES, AutomatedDecision, Category

# Enough for every model version and category a platform has, many times over; the bound keeps
# one request's validation (and its error list) small.
MAX_STRATA = 1000
# The longest model name and version label a platform can register (moderation.models).
_MAX_MODEL_NAME = 100
_MAX_VERSION = 64

RULE = (
    "A decision recorded under a plan (the platform's latest audit plan whose log index is "
    "below the decision's) is eligible when it is automated (automated_detection true, or "
    "automated_decision other than AUTOMATED_DECISION_NOT_AUTOMATED) and is not a reversal or "
    "an expiry. Its draw is int.from_bytes(HMAC-SHA256(key=bytes.fromhex(salt), "
    'msg=str(decision id).encode("utf-8"))[:8], "big") / 2**64. It is sampled when the draw is '
    "below the rate of the most specific stratum that matches it: its model name and version, "
    "else its category, else the default stratum (rate alone); no matching stratum, not "
    "sampled; rate 1 samples every eligible decision. A sampled decision is labelled by two "
    'reviewers independently when the same draw over "double:" + str(decision id) is below '
    "double_review (1: always)."
)


class AuditRejected(Exception):
    """Nothing was written: `errors` maps a field (e.g. "strata[2].rate") to every problem."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("audit plan refused: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- the rule ----------------------------------------------------------------------------------


def sample_value(salt: str, text: str) -> float:
    """The draw for `text` under `salt`: the first 8 bytes of HMAC-SHA256(salt, text), read as
    a big-endian integer, over 2**64; in [0, 1]."""
    digest = hmac.new(bytes.fromhex(salt), text.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def drawn(value: float, rate: float) -> bool:
    """Whether a draw falls in a rate. Rate 1 takes every draw: the float division rounds the
    top 2**-54 or so of draws up to exactly 1.0, which "below 1" would miss."""
    return rate >= 1.0 or value < rate


@dataclass(frozen=True, slots=True)
class _Rates:
    """A plan's strata indexed for lookups (validated plans have no duplicate stratum)."""

    by_model: Mapping[tuple[str, str], float]
    by_category: Mapping[str, float]
    default: float | None

    @classmethod
    def of(cls, strata: Sequence[Mapping[str, Any]]) -> _Rates:
        by_model: dict[tuple[str, str], float] = {}
        by_category: dict[str, float] = {}
        default = None
        for stratum in strata:
            rate = float(stratum["rate"])
            if "model" in stratum:
                by_model.setdefault((stratum["model"], stratum["version"]), rate)
            elif "category" in stratum:
                by_category.setdefault(stratum["category"], rate)
            elif default is None:
                default = rate
        return cls(by_model, by_category, default)

    def rate(self, *, model: str | None, version: str | None, category: str) -> float | None:
        if model is not None and version is not None:
            rate = self.by_model.get((model, version))
            if rate is not None:
                return rate
        rate = self.by_category.get(category)
        return rate if rate is not None else self.default


def stratum_rate(
    strata: Sequence[Mapping[str, Any]], *, model: str | None, version: str | None, category: str
) -> float | None:
    """The rate of the most specific stratum matching a decision: its exact model version, else
    its category, else the default; None when none matches (the decision is not sampled)."""
    return _Rates.of(strata).rate(model=model, version=version, category=category)


def eligible(*, decision_type: str, automated_detection: bool, automated_decision: str) -> bool:
    """Automated decisions that decide something: a reversal or an expiry only lifts an earlier
    decision, and a human decision has no model whose error an audit would measure."""
    if decision_type in CHANGING_TYPES:
        return False
    return automated_detection or automated_decision != AutomatedDecision.NOT_AUTOMATED


def labels_needed(salt: str, public_id: uuid.UUID, double_review: float) -> int:
    return 2 if drawn(sample_value(salt, f"double:{public_id}"), double_review) else 1


# --- plans -------------------------------------------------------------------------------------


def audit_plan_payload(
    *,
    platform: str,
    strata: list[dict[str, Any]],
    double_review: float,
    salt: str,
    created_at: datetime,
) -> bytes:
    """The AUDIT_PLAN entry, built from the row by the service and by `verify_log` alike:
    everything an auditor needs to rerun the sampling."""
    return canonical_json(
        {
            "type": EntryType.AUDIT_PLAN.value,
            "platform": platform,
            "strata": strata,
            "double_review": double_review,
            "salt": salt,
            # In UTC, as the database gives datetimes back, so both builds agree byte for byte.
            "created_at": created_at.astimezone(UTC).isoformat(),
        }
    )


def _rate_errors(value: object) -> list[str]:
    # bool is an int to Python; true is not a rate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ["Must be a number from 0 to 1."]
    if not math.isfinite(value) or not 0 <= value <= 1:
        return [f"Must be from 0 to 1, got {value!r}."]
    return []


def _text_errors(value: object, longest: int) -> list[str]:
    if not isinstance(value, str):
        return ["Must be text."]
    if not value or len(value) > longest:
        return [f"Must be 1 to {longest} characters."]
    if "\x00" in value:
        return ["Contains a NUL character."]
    return []


_SHAPES = "{model, version, rate}, {category, rate} or {rate}"
_KEYS = frozenset({"model", "version", "category", "rate"})


def check_plan(
    *, platform: Platform, strata: object, double_review: object = 0.0
) -> tuple[list[dict[str, Any]], float]:
    """The plan normalised (strata in the order given, rates as floats), or AuditRejected
    naming every problem, keyed "strata", "strata[i]", "strata[i].<field>", "double_review"."""
    errors: dict[str, list[str]] = {}
    if problems := _rate_errors(double_review):
        errors["double_review"] = problems
    normalised: list[dict[str, Any]] = []
    if not isinstance(strata, list):
        errors["strata"] = [f"Must be a list of strata, each {_SHAPES}."]
    elif len(strata) > MAX_STRATA:
        errors["strata"] = [f"At most {MAX_STRATA} strata, got {len(strata)}."]
    else:
        normalised = _check_strata(platform, strata, errors)
    if errors:
        raise AuditRejected(errors)
    assert isinstance(double_review, int | float)
    return normalised, float(double_review)


def _check_strata(
    platform: Platform, strata: list[object], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    def problem(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    normalised: list[dict[str, Any]] = []
    wanted: dict[int, tuple[str, str]] = {}
    seen: dict[object, int] = {}
    for i, stratum in enumerate(strata):
        at = f"strata[{i}]"
        if not isinstance(stratum, dict):
            problem(at, f"Must be an object: {_SHAPES}.")
            continue
        for key in sorted(set(stratum) - _KEYS, key=str):
            # Keys are echoed back: a long one is cut short.
            problem(f"{at}.{str(key)[:50]}", "Unknown field.")
        if "rate" not in stratum:
            problem(f"{at}.rate", "Required.")
        elif problems := _rate_errors(stratum["rate"]):
            errors[f"{at}.rate"] = problems
        is_model = "model" in stratum or "version" in stratum
        if is_model and "category" in stratum:
            problem(at, "A stratum is a model version or a category, not both.")
            continue
        if is_model:
            for key, longest in (("model", _MAX_MODEL_NAME), ("version", _MAX_VERSION)):
                if key not in stratum:
                    problem(
                        f"{at}.{key}",
                        "Required with " + ("version." if key == "model" else "model."),
                    )
                elif problems := _text_errors(stratum[key], longest):
                    errors[f"{at}.{key}"] = problems
            if f"{at}.model" in errors or f"{at}.version" in errors:
                continue
            identity: object = ("model", stratum["model"], stratum["version"])
            wanted[i] = (stratum["model"], stratum["version"])
            shape = {"model": stratum["model"], "version": stratum["version"]}
        elif "category" in stratum:
            category = stratum["category"]
            if not isinstance(category, str) or category not in Category.values:
                problem(f"{at}.category", f"Must be one of {', '.join(Category.values)}.")
                continue
            identity = ("category", category)
            shape = {"category": category}
        else:
            identity = ("default",)
            shape = {}
        if identity in seen:
            what = "default stratum" if shape == {} else "stratum"
            problem(at, f"The same {what} as strata[{seen[identity]}]: one rate each.")
        else:
            seen[identity] = i
        if f"{at}.rate" in errors:
            continue
        normalised.append({**shape, "rate": float(stratum["rate"])})
    if wanted:
        registered = set(
            ModelVersion.objects.filter(
                model__platform=platform,
                model__name__in={m for m, _ in wanted.values()},
                version__in={v for _, v in wanted.values()},
            ).values_list("model__name", "version")
        )
        for i, (model, version) in wanted.items():
            if (model, version) not in registered:
                problem(
                    f"strata[{i}]",
                    f"No model version {model[:_MAX_MODEL_NAME]!r} {version[:_MAX_VERSION]!r} "
                    "is registered for this platform.",
                )
    return normalised


@transaction.atomic
def apply_audit_plan(
    *,
    platform: Platform,
    strata: object,
    double_review: object = 0.0,
    actor: Any,
    now: datetime | None = None,
) -> tuple[AuditPlan, bool]:
    """`set_audit_plan`, also saying whether a plan was made (False: the current plan is this
    one already, and is returned unchanged, salt and all)."""
    created_at = now if now is not None else timezone.now()
    if timezone.is_naive(created_at):
        raise ValueError("set_audit_plan needs an aware `now`")
    normalised, share = check_plan(platform=platform, strata=strata, double_review=double_review)
    # The platform's write lock, the one record_decisions takes, before the log's head: a batch
    # of decisions and a new plan are appended in the order they commit, so "the latest plan
    # before the decision's entry" is the plan the batch's sampling hook read.
    _lock_platform(platform.pk, exclusive=True)
    current = current_plan(platform)
    if current is not None and current.strata == normalised and current.double_review == share:
        # PUT is idempotent: a resend must not draw a new salt (and so a new sample).
        return current, False
    salt = secrets.token_hex(32)
    payload = audit_plan_payload(
        platform=platform.slug,
        strata=normalised,
        double_review=share,
        salt=salt,
        created_at=created_at,
    )
    (appended,) = append_entries([(EntryType.AUDIT_PLAN, payload)])
    plan = AuditPlan.objects.create(
        platform=platform,
        strata=normalised,
        double_review=share,
        salt=salt,
        created_at=created_at,
        log_entry_id=appended.index,
    )
    trail.record(
        actor=actor,
        action="audit_plan.set",
        object_type="audit_plan",
        object_id=appended.index,
        platform=platform,
        details={
            "strata": len(normalised),
            "double_review": share,
            "replaces": None if current is None else current.log_entry_id,
        },
        at=created_at,
    )
    return plan, True


def set_audit_plan(
    *,
    platform: Platform,
    strata: object,
    double_review: object = 0.0,
    actor: Any,
    now: datetime | None = None,
) -> AuditPlan:
    """Set the platform's audit plan from now on: validated whole (AuditRejected names every
    problem; nothing is written), a fresh 32-byte salt, an AUDIT_PLAN log entry and an audit
    row naming `actor`. Decisions already recorded keep the plan they were recorded under.
    Sending the current plan again changes nothing and returns it."""
    plan, _ = apply_audit_plan(
        platform=platform, strata=strata, double_review=double_review, actor=actor, now=now
    )
    return plan


def current_plan(platform: Platform | int) -> AuditPlan | None:
    """The plan new decisions are sampled under: the platform's latest by log index."""
    platform_id = platform.pk if isinstance(platform, Platform) else platform
    return AuditPlan.objects.filter(platform_id=platform_id).order_by("-log_entry_id").first()


def ensure_audit_queue(platform: Platform | int) -> ReviewQueue:
    """The platform's audit queue, made on first need (slug "audit", or "audit-2", ... when a
    queue of the platform already has that slug)."""
    platform_id = platform.pk if isinstance(platform, Platform) else platform
    queue = ReviewQueue.objects.filter(platform_id=platform_id, audit=True).first()
    if queue is not None:
        return queue
    taken = set(
        ReviewQueue.objects.filter(platform_id=platform_id, slug__startswith="audit").values_list(
            "slug", flat=True
        )
    )
    slugs = itertools.chain(["audit"], (f"audit-{n}" for n in itertools.count(2)))
    slug = next(s for s in slugs if s not in taken)
    try:
        # A savepoint: the hook runs inside a batch's transaction, which a concurrent creation
        # of the same queue (by `resample`, say) must not abort.
        with transaction.atomic():
            return ReviewQueue.objects.create(
                platform_id=platform_id,
                slug=slug,
                name="Audit samples",
                audit=True,
                # After every appeal queue; appeals are never routed here.
                position=2**31 - 2,
                deadline_hours=settings.LEDGER_AUDIT_DEADLINE_HOURS,
            )
    except IntegrityError:
        return ReviewQueue.objects.get(platform_id=platform_id, audit=True)


# --- sampling ----------------------------------------------------------------------------------


def _new_items(
    *,
    plan: AuditPlan,
    queue: ReviewQueue,
    drawn_items: Sequence[tuple[int, int]],
    now: datetime,
) -> list[ReviewItem]:
    due_at = now + timedelta(hours=queue.deadline_hours)
    return [
        ReviewItem(
            kind=ItemKind.AUDIT,
            decision_id=decision_id,
            queue=queue,
            priority=1,
            created_at=now,
            due_at=due_at,
            plan=plan,
            labels_needed=needed,
        )
        for decision_id, needed in drawn_items
    ]


# Every column of an item but its id, in the model's order: the fast insert fills them all.
_ITEM_FIELDS = [f for f in ReviewItem._meta.concrete_fields if not f.primary_key]


def _insert_items(
    *,
    plan: AuditPlan,
    queue: ReviewQueue,
    drawn_items: Sequence[tuple[int, int]],
    now: datetime,
) -> None:
    """Insert the items as plain rows (COPY on PostgreSQL), on the batch path: building a
    model instance per item costs more than the insert itself. The values are those of an item
    `_new_items` builds, the model's defaults included, so the two ways agree column for
    column."""
    (template,) = _new_items(plan=plan, queue=queue, drawn_items=[(0, 1)], now=now)
    base = [getattr(template, f.attname) for f in _ITEM_FIELDS]
    columns = [f.column for f in _ITEM_FIELDS]
    decision_at, needed_at = columns.index("decision_id"), columns.index("labels_needed")
    rows = []
    for decision_id, needed in drawn_items:
        row = list(base)
        row[decision_at], row[needed_at] = decision_id, needed
        rows.append(row)
    insert_rows(ReviewItem, columns, rows)


def sample_recorded(platform: Platform, rows: list[dict[str, Any]], now: datetime) -> None:
    """The `moderation.services.on_recorded` hook: sample a batch of new decisions under the
    platform's current plan, in the recording transaction.

    One query when the platform has no plan, and nothing cached across transactions (a plan
    set between two batches applies to the second). With a plan: the model names of the
    batch's model versions (only when the plan has model strata), then, if anything was
    drawn, the audit queue, the drawn decisions' ids, one insert (a COPY on PostgreSQL) and
    one audit row.
    """
    plan = current_plan(platform)
    if plan is None or not plan.strata:
        return
    rates = _Rates.of(plan.strata)
    candidates = [
        row
        for row in rows
        if eligible(
            decision_type=row["decision_type"],
            automated_detection=row["automated_detection"],
            automated_decision=row["automated_decision"],
        )
    ]
    names: dict[int, tuple[str, str]] = {}
    version_ids = {row["model_version_id"] for row in candidates} - {None}
    if rates.by_model and version_ids:
        names = {
            pk: (model, version)
            for pk, model, version in ModelVersion.objects.filter(pk__in=version_ids).values_list(
                "pk", "model__name", "version"
            )
        }
    chosen: dict[uuid.UUID, int] = {}
    for row in candidates:
        model, version = names.get(row["model_version_id"], (None, None))
        rate = rates.rate(model=model, version=version, category=row["category"])
        public_id = row["public_id"]
        if rate is not None and drawn(sample_value(plan.salt, str(public_id)), rate):
            chosen[public_id] = labels_needed(plan.salt, public_id, plan.double_review)
    if not chosen:
        return
    queue = ensure_audit_queue(platform)
    # The batch's decisions were inserted without their ids coming back (COPY-style inserts).
    ids = Decision.objects.filter(platform=platform, public_id__in=list(chosen)).values_list(
        "public_id", "pk"
    )
    drawn_items = [(pk, chosen[public_id]) for public_id, pk in ids]
    _insert_items(plan=plan, queue=queue, drawn_items=drawn_items, now=now)
    trail.record(
        actor=trail.SYSTEM,
        action="audit.sampled",
        object_type="audit_plan",
        object_id=plan.log_entry_id,
        platform=platform,
        details={"items": len(drawn_items), "queue": queue.slug},
        at=now,
    )


@dataclass(frozen=True, slots=True)
class Draw:
    decision_id: int
    public_id: uuid.UUID
    plan: AuditPlan
    labels_needed: int


def _draws(
    platform: Platform, *, plan: AuditPlan | None = None, unsampled_only: bool = False
) -> Iterator[Draw]:
    """Every decision of the platform the rule samples, recomputed from the plans and the
    decisions' rows (for `plan` only: the decisions recorded under it)."""
    plans = list(AuditPlan.objects.filter(platform=platform).order_by("log_entry_id"))
    if not plans:
        return
    starts = [p.log_entry_id for p in plans]
    rates = [_Rates.of(p.strata) for p in plans]
    decisions = Decision.objects.filter(platform=platform, log_entry_id__gt=starts[0]).exclude(
        decision_type__in=CHANGING_TYPES
    )
    decisions = decisions.filter(
        Q(automated_detection=True) | ~Q(automated_decision=AutomatedDecision.NOT_AUTOMATED)
    )
    if plan is not None:
        position = starts.index(plan.log_entry_id)
        decisions = decisions.filter(log_entry_id__gt=plan.log_entry_id)
        if position + 1 < len(starts):
            decisions = decisions.filter(log_entry_id__lt=starts[position + 1])
    if unsampled_only:
        decisions = decisions.exclude(
            Exists(
                ReviewItem.objects.filter(
                    decision=OuterRef("pk"), kind=ItemKind.AUDIT, plan__isnull=False
                )
            )
        )
    rows = decisions.order_by("log_entry_id").values_list(
        "pk",
        "public_id",
        "log_entry_id",
        "category",
        "model_version__model__name",
        "model_version__version",
    )
    for pk, public_id, index, category, model, version in rows.iterator(chunk_size=2000):
        # The plan in force: the latest whose entry precedes the decision's.
        position = bisect.bisect_left(starts, index) - 1
        in_force = plans[position]
        rate = rates[position].rate(model=model, version=version, category=category)
        if rate is not None and drawn(sample_value(in_force.salt, str(public_id)), rate):
            needed = labels_needed(in_force.salt, public_id, in_force.double_review)
            yield Draw(pk, public_id, in_force, needed)


def sampled_ids(platform: Platform) -> set[uuid.UUID]:
    """The public ids of every decision of the platform the rule samples, recomputed from its
    plans and decisions (what its sample items should be, whatever made them)."""
    return {draw.public_id for draw in _draws(platform)}


@transaction.atomic
def resample(
    platform: Platform,
    plan: AuditPlan | None = None,
    *,
    actor: Any = trail.SYSTEM,
    now: datetime | None = None,
) -> int:
    """Make the sample items the rule calls for and that are missing (decisions recorded before
    the hook ran, say); returns how many were made. Safe to re-run, and to run beside the
    recording hook: the one-sample-per-decision constraint turns a duplicate into nothing."""
    at = now if now is not None else timezone.now()
    pending = list(_draws(platform, plan=plan, unsampled_only=True))
    if not pending:
        return 0
    queue = ensure_audit_queue(platform)
    by_plan = itertools.groupby(pending, key=lambda draw: draw.plan.pk)
    for _, draws in by_plan:
        group = list(draws)
        ReviewItem.objects.bulk_create(
            _new_items(
                plan=group[0].plan,
                queue=queue,
                drawn_items=[(d.decision_id, d.labels_needed) for d in group],
                now=at,
            ),
            batch_size=1000,
            ignore_conflicts=True,
        )
    # What this run inserted (a concurrent run's or batch's items have their own time); the
    # claimable-items index (queue, priority, created_at) serves it.
    made = ReviewItem.objects.filter(
        queue=queue, priority=1, created_at=at, kind=ItemKind.AUDIT, plan__isnull=False
    ).count()
    if made:
        trail.record(
            actor=actor,
            action="audit.resampled",
            object_type="audit_plan",
            object_id=pending[0].plan.log_entry_id if plan is None else plan.log_entry_id,
            platform=platform,
            details={"items": made, "queue": queue.slug},
            at=at,
        )
    return made
