"""Every write in `moderation`. The API, the admin, the seeder and the tests all come here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ledger.db import insert_rows
from ledger.log import append_entries
from ledger.models import EntryType
from moderation import trail
from moderation.forwarding import enqueue_statements
from moderation.models import ApiKey, Decision, DetectionModel, ModelVersion, Platform, Policy
from moderation.payloads import (
    DECISION_COLUMNS,
    DecisionNames,
    decision_copy_row,
    decision_payload,
    model_version_payload,
    policy_payload,
)
from moderation.pseudonyms import pseudonym
from moderation.rules import check_decision, summarize_action
from moderation.schemas import NOTIFIED_SOURCES, DecisionIn, Subject
from moderation.statement_rules import PUID_MAX_LENGTH
from moderation.vocabulary import (
    CHANGING_TYPES,
    AccountAction,
    Action,
    AutomatedDecision,
    Category,
    DecisionType,
    Ground,
    Monetary,
    Provision,
    Source,
    SubjectKind,
    Visibility,
)

API_KEY_PREFIX = "mlk"

_NOTIFIER_REFUSED = (
    "Only a decision taken on a notice has a notifier: source_type must be one of "
    + ", ".join(sorted(NOTIFIED_SOURCES))
    + ", not {source}. Leave notifier out."
)

_encode = msgspec.json.Encoder(order="sorted").encode
# The largest policy version PostgreSQL's integer column holds.
MAX_POLICY_VERSION = 2**31 - 1


class DecisionsRejected(Exception):
    """Nothing was written: `errors` maps an item's index to its field errors."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        super().__init__(f"{len(errors)} decision(s) rejected")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Conflict:
    puid: str
    existing_id: uuid.UUID


class PuidConflict(Exception):
    """A puid already names a different decision; nothing was written."""

    def __init__(self, conflicts: dict[int, Conflict]) -> None:
        super().__init__(f"{len(conflicts)} puid(s) already name other decisions")
        self.conflicts = conflicts


class RegistrationConflict(Exception):
    """A policy or model version is already registered with other content, or a policy key has
    used up its version numbers. Nothing was written."""

    def __init__(self, message: str, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.existing_id = existing_id


@dataclass(slots=True)
class Recorded:
    public_id: uuid.UUID
    puid: str
    notice_token: str
    created: bool
    log_index: int = -1
    leaf_hash: bytes = b""
    # The notifier's own notice token, "" when the decision has no notifier.
    notifier_token: str = ""


@dataclass(slots=True)
class _References:
    model_versions: dict[tuple[str, str], tuple[int, float]]
    policies: dict[tuple[str, int], int]
    latest_policy: dict[str, tuple[int, int]]
    by_public_id: dict[uuid.UUID, int]
    by_puid: dict[str, tuple[int, uuid.UUID]]
    # A superseded decision's subject pseudonyms (account, content), keyed by its pk.
    subjects: dict[int, tuple[str, str]]


# --- platforms and keys -----------------------------------------------------------------


@transaction.atomic
def create_platform(*, slug: str, name: str = "", actor: Any = None) -> Platform:
    platform = Platform.objects.create(slug=slug, name=name or slug)
    trail.record(
        actor=actor or trail.SYSTEM,
        action="platform.created",
        object_type="platform",
        object_id=platform.slug,
        platform=platform,
    )
    return platform


@transaction.atomic
def issue_api_key(
    *, platform: Platform, name: str = "", created_by: User | None = None, actor: Any = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never stored or shown again.

    `actor` is who issued it for the audit trail: `created_by` when omitted, else a label such
    as the management command's.
    """
    prefix = secrets.token_hex(6)
    plaintext = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        platform=platform,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(plaintext),
        created_by=created_by,
    )
    trail.record(
        actor=actor or created_by or trail.SYSTEM,
        action="api_key.issued",
        object_type="api_key",
        object_id=api_key.prefix,
        platform=platform,
        details={"name": name},
    )
    return api_key, plaintext


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    """Revoke the key (once: revoking a revoked key changes and records nothing)."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        trail.record(
            actor=actor or trail.SYSTEM,
            action="api_key.revoked",
            object_type="api_key",
            object_id=locked.prefix,
            platform=locked.platform_id,
            at=locked.revoked_at,
        )
    return locked


# --- policies and models ------------------------------------------------------------------


@transaction.atomic
def register_policy(
    *,
    platform: Platform,
    key: str,
    title: str,
    category: Category | str,
    ground: Ground | str,
    clause: str,
    url: str = "",
    summary: str = "",
    version: int | None = None,
    actor: Any = None,
) -> tuple[Policy, bool]:
    """Register a policy version. Omitting `version` registers the next one.

    Sending the same version again with the same content returns it (created False); with other
    content it is refused, because a published rule is never reworded in place. `actor` (the
    API key or staff user) is audited when a version is created.
    """
    # Serialises registrations per platform so that "next version" is computed once.
    Platform.objects.select_for_update().filter(pk=platform.pk).exists()
    fields = {
        "title": title,
        "category": str(category),
        "ground": str(ground),
        "clause": clause,
        "url": url,
        "summary": summary,
    }
    existing = Policy.objects.filter(platform=platform, key=key)
    if version is None:
        latest = existing.order_by("-version").first()
        version = latest.version + 1 if latest else 1
        if version > MAX_POLICY_VERSION:
            raise RegistrationConflict(
                f"Policy {key} has reached version {MAX_POLICY_VERSION}, the last there is; "
                "register the new wording under a new key.",
                latest.pk if latest else None,
            )
    else:
        if not 1 <= version <= MAX_POLICY_VERSION:
            raise RegistrationConflict(
                f"Policy version {version} is out of range: versions run from 1 to "
                f"{MAX_POLICY_VERSION}."
            )
        same = existing.filter(version=version).first()
        if same is not None:
            if all(getattr(same, f) == v for f, v in fields.items()):
                return same, False
            raise RegistrationConflict(
                f"Policy {key} version {version} is already registered with other content; "
                "register a new version instead.",
                same.pk,
            )
    row = {"key": key, "version": version, **fields, "created_at": timezone.now()}
    payload = policy_payload(row, platform=platform.slug)
    (appended,) = append_entries([(EntryType.POLICY, payload)])
    policy = Policy.objects.create(platform=platform, log_entry_id=appended.index, **row)
    trail.record(
        actor=actor or trail.SYSTEM,
        action="policy.registered",
        object_type="policy",
        object_id=policy.pk,
        platform=platform,
        details={"key": key, "version": version},
        at=policy.created_at,
    )
    return policy, True


@transaction.atomic
def register_model_version(
    *,
    platform: Platform,
    name: str,
    version: str,
    released_at: dt.date,
    threshold: float,
    card_url: str = "",
    actor: Any = None,
) -> tuple[ModelVersion, bool]:
    """Register a model version; sending the same details again returns it (created False).

    Idempotent under concurrency: a lock on the platform row serialises its registrations, so
    of eight simultaneous first registrations of a version one creates it and seven find it.
    (`select_for_update()` on the version alone locks nothing while the row does not exist.)
    `actor` (the API key or staff user) is audited when a version is created.
    """
    Platform.objects.select_for_update().filter(pk=platform.pk).exists()
    model, _ = DetectionModel.objects.get_or_create(platform=platform, name=name)
    same = ModelVersion.objects.filter(model=model, version=version).first()
    # What the database gives back: a float threshold (an int 1 would publish as 1, not 1.0).
    threshold = float(threshold)
    if same is not None:
        if (same.released_at, same.threshold, same.card_url) == (released_at, threshold, card_url):
            return same, False
        raise RegistrationConflict(
            f"Model {name} version {version} is already registered with other details; "
            "a released version is never changed, register a new version instead.",
            same.pk,
        )
    row = {
        "version": version,
        "released_at": released_at,
        "threshold": threshold,
        "card_url": card_url,
        "created_at": timezone.now(),
    }
    payload = model_version_payload(row, platform=platform.slug, model=name)
    (appended,) = append_entries([(EntryType.MODEL_VERSION, payload)])
    created = ModelVersion.objects.create(model=model, log_entry_id=appended.index, **row)
    trail.record(
        actor=actor or trail.SYSTEM,
        action="model_version.registered",
        object_type="model_version",
        object_id=created.pk,
        platform=platform,
        details={"model": name, "version": version},
        at=created.created_at,
    )
    return created, True


# --- decisions ------------------------------------------------------------------------------


def record_decision(
    *,
    platform: Platform,
    decision: DecisionIn,
    moderator: User | None = None,
    api_key: ApiKey | None = None,
    actor: Any = None,
    require_model_for_automation: bool = True,
) -> Recorded:
    return record_decisions(
        platform=platform,
        decisions=[decision],
        moderator=moderator,
        api_key=api_key,
        actor=actor,
        require_model_for_automation=require_model_for_automation,
    )[0]


def record_decisions(
    *,
    platform: Platform,
    decisions: Sequence[DecisionIn],
    moderator: User | None = None,
    api_key: ApiKey | None = None,
    actor: Any = None,
    require_model_for_automation: bool = True,
    dsa_compatible: bool = False,
    received_at: dt.datetime | None = None,
) -> list[Recorded]:
    """Record a batch of decisions, all or nothing, idempotently on each decision's puid.

    A puid already recorded with the same content returns the existing decision; with other
    content the whole batch is refused (`PuidConflict`). Invalid decisions refuse the whole
    batch too (`DecisionsRejected`), and so does a decision that supersedes one about another
    subject, or one that names a notifier without being taken on a notice. Nothing is written
    unless everything is accepted.

    `api_key` is the key the platform sent them with (stored on each decision); `moderator`
    the staff user who recorded one in the admin. The batch's one audit row names `actor`, or
    else the key, or else the moderator (the system when none is given: the seeder, a script).

    `dsa_compatible` is for statements sent through the EU-compatible API: only the EU's
    validation rules apply, and, as the EU does, any puid already recorded is refused
    (`PuidConflict`, listing every such puid) even when the content is the same.

    `received_at` stands for the time the ledger received the batch (`created_at`, published
    as `recorded_at`, the day public statistics count it under) only where history is
    simulated: the demo's 90 days. No API passes it; validation still uses the real time.
    """
    return _record_decisions(
        received_at=received_at,
        platform=platform,
        decisions=decisions,
        moderator=moderator,
        api_key=api_key,
        audit_actor=actor or api_key or moderator or trail.SYSTEM,
        require_model_for_automation=require_model_for_automation,
        dsa_compatible=dsa_compatible,
        subjects_pseudonymised=False,
    )


# Called in the recording transaction, after a batch's new decisions are inserted, with the
# platform, their rows (column -> value, as `_row` builds them, with "log_index" set) and the
# recording time. The floors keep moderation from importing appeals: appeals registers its
# audit sampling here when Django starts (appeals.apps).
RecordedHook = Callable[[Platform, list[dict[str, Any]], dt.datetime], None]
_recorded_hooks: list[RecordedHook] = []


def on_recorded(hook: RecordedHook) -> None:
    """Run `hook` after every batch of new decisions, in its transaction (idempotent)."""
    if hook not in _recorded_hooks:
        _recorded_hooks.append(hook)


@transaction.atomic
def _record_decisions(
    *,
    platform: Platform,
    decisions: Sequence[DecisionIn],
    moderator: User | None,
    api_key: ApiKey | None,
    audit_actor: Any,
    require_model_for_automation: bool,
    dsa_compatible: bool,
    subjects_pseudonymised: bool,
    received_at: dt.datetime | None = None,
) -> list[Recorded]:
    """`record_decisions`, and for `reverse_decision` (`subjects_pseudonymised=True`) the
    same path with subjects that are already the original's pseudonyms, stored as they are.

    Not public: through the API a platform names its own ids, and only a decision recorded
    here can vouch for a pseudonym. With `audit_actor` None the caller writes the audit row
    itself (a reversal records what it reverses).
    """
    now = timezone.now()
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(decisions):
        item_errors = check_decision(
            item,
            now=now,
            require_model_for_automation=require_model_for_automation,
            strict=not dsa_compatible,
        )
        if item_errors:
            errors[index] = item_errors
        if item.notifier is not None and item.source_type not in NOTIFIED_SOURCES:
            _add_error(
                errors, index, "notifier", _NOTIFIER_REFUSED.format(source=item.source_type.value)
            )
    # The marker keeps a reversal's digest apart from an API decision that happened to send
    # the pseudonyms as its platform ids: the two are different subjects.
    marker = b"pseudonymised\x1f" if subjects_pseudonymised else b""
    digests = [hashlib.sha256(marker + _submission(item)).hexdigest() for item in decisions]

    first_index: dict[str, int] = {}
    for index, item in enumerate(decisions):
        seen = first_index.setdefault(item.puid, index)
        if seen != index and digests[seen] != digests[index]:
            _add_error(
                errors,
                index,
                "puid",
                f"Also used at index {seen} of this batch for a different decision.",
            )

    refs = _resolve_references(
        platform,
        decisions,
        errors,
        check_subject=not dsa_compatible,
        subjects_pseudonymised=subjects_pseudonymised,
    )
    if errors:
        raise DecisionsRejected(errors)

    # One writer per platform at a time: the row lock orders concurrent batches so that a puid
    # checked below cannot be inserted by another transaction before this one commits (on
    # SQLite the IMMEDIATE transaction mode already holds the database's write lock).
    Platform.objects.select_for_update().filter(pk=platform.pk).exists()
    existing = {
        row[0]: row[1:]
        for row in Decision.objects.filter(platform=platform, puid__in=list(first_index))
        .order_by()
        .values_list(
            "puid",
            "public_id",
            "submission_digest",
            "notice_token",
            "log_entry_id",
            "log_entry__leaf_hash",
            "notifier_token",
        )
    }
    conflicts = {
        index: Conflict(puid=item.puid, existing_id=existing[item.puid][0])
        for index, item in enumerate(decisions)
        if item.puid in existing and (dsa_compatible or existing[item.puid][1] != digests[index])
    }
    if conflicts:
        raise PuidConflict(conflicts)

    results: list[Recorded] = []
    rows: list[dict[str, Any]] = []
    payloads: list[bytes] = []
    new: dict[str, Recorded] = {}
    moderator_id = moderator.pk if moderator is not None else None
    api_key_id = api_key.pk if api_key is not None else None
    for index, item in enumerate(decisions):
        if item.puid in existing:
            public_id, _, token, log_index, leaf, notifier_token = existing[item.puid]
            results.append(
                Recorded(public_id, item.puid, token, False, log_index, bytes(leaf), notifier_token)
            )
            continue
        if item.puid in new:
            results.append(new[item.puid])
            continue
        recorded = Recorded(
            uuid.uuid4(),
            item.puid,
            secrets.token_urlsafe(24),
            created=True,
            notifier_token="" if item.notifier is None else secrets.token_urlsafe(24),
        )
        new[item.puid] = recorded
        results.append(recorded)
        row, payload = _row(
            platform,
            item,
            digests[index],
            recorded,
            refs,
            moderator_id,
            api_key_id,
            received_at or now,
            subjects_pseudonymised=subjects_pseudonymised,
        )
        rows.append(row)
        payloads.append(payload)
    if rows:
        # The log entries and the decisions commit together: a decision without its entry, or
        # an entry without its decision, cannot exist.
        appended = append_entries([(EntryType.DECISION, p) for p in payloads])
        for row, entry, recorded in zip(rows, appended, new.values(), strict=True):
            row["log_index"] = entry.index
            recorded.log_index, recorded.leaf_hash = entry.index, entry.leaf_hash
        insert_rows(Decision, DECISION_COLUMNS, [decision_copy_row(row) for row in rows])
        for hook in _recorded_hooks:
            hook(platform, rows, now)
        enqueue_statements(
            platform=platform,
            public_ids=[
                new[item.puid].public_id
                for item in decisions
                if item.decision_type == DecisionType.RESTRICTION and new.get(item.puid)
            ],
            now=now,
        )
        if audit_actor is not None:
            # One row for the batch, not one per decision: the trail says who recorded what,
            # and the decisions themselves carry their key (`api_key`).
            created = list(new.values())
            trail.record(
                actor=audit_actor,
                action="decisions.recorded",
                object_type="decision",
                object_id=created[0].public_id,
                platform=platform,
                details={
                    "count": len(created),
                    "first": str(created[0].public_id),
                    "last": str(created[-1].public_id),
                },
                at=now,
            )
    return results


def _submission(item: DecisionIn) -> bytes:
    """What a decision's `submission_digest` is taken over: its canonical encoding.

    Without a notifier, its key is left out, so that a decision recorded before the field
    existed keeps its digest and a resend of it is still the same decision, not a conflict.
    Strings are encoded with their quotes escaped, so the only `,"notifier":null` in the
    encoding is the key itself.
    """
    encoded = _encode(item)
    if item.notifier is None:
        return encoded.replace(b',"notifier":null', b"", 1)
    return encoded


def _add_error(
    errors: dict[int, dict[str, list[str]]], index: int, field: str, message: str
) -> None:
    errors.setdefault(index, {}).setdefault(field, []).append(message)


def _resolve_references(
    platform: Platform,
    decisions: Sequence[DecisionIn],
    errors: dict[int, dict[str, list[str]]],
    *,
    check_subject: bool = True,
    subjects_pseudonymised: bool = False,
) -> _References:
    """Look up every model version, policy and superseded decision the batch names, in bulk."""
    model_names = {d.model for d in decisions if d.model is not None}
    policy_keys = {d.policy for d in decisions if d.policy is not None}
    public_ids = {d.supersedes for d in decisions if d.supersedes is not None}
    puids = {d.supersedes_puid for d in decisions if d.supersedes_puid is not None}

    refs = _References({}, {}, {}, {}, {}, {})
    if model_names:
        for pk, name, label, threshold in ModelVersion.objects.filter(
            model__platform=platform, model__name__in=model_names
        ).values_list("pk", "model__name", "version", "threshold"):
            refs.model_versions[(name, label)] = (pk, threshold)
    if policy_keys:
        for pk, key, version in (
            Policy.objects.filter(platform=platform, key__in=policy_keys)
            .order_by("version")
            .values_list("pk", "key", "version")
        ):
            refs.policies[(key, version)] = pk
            refs.latest_policy[key] = (pk, version)  # ascending: the last one is the latest
    if public_ids:
        for public_id, pk, account, content in Decision.objects.filter(
            platform=platform, public_id__in=public_ids
        ).values_list("public_id", "pk", "subject_account", "subject_content"):
            refs.by_public_id[public_id] = pk
            refs.subjects[pk] = (account, content)
    if puids:
        for puid, pk, public_id, account, content in Decision.objects.filter(
            platform=platform, puid__in=puids
        ).values_list("puid", "pk", "public_id", "subject_account", "subject_content"):
            refs.by_puid[puid] = (pk, public_id)
            refs.subjects[pk] = (account, content)

    for index, d in enumerate(decisions):
        if d.model is not None and (d.model, d.model_version) not in refs.model_versions:
            _add_error(
                errors,
                index,
                "model_version",
                f"Model {d.model} version {d.model_version} is not registered for this "
                "platform; register it with POST /api/v1/models first.",
            )
        if d.policy is not None:
            found = (
                (d.policy, d.policy_version) in refs.policies
                if d.policy_version is not None
                else d.policy in refs.latest_policy
            )
            if not found:
                which = f" version {d.policy_version}" if d.policy_version else ""
                _add_error(
                    errors,
                    index,
                    "policy",
                    f"Policy {d.policy}{which} is not registered for this platform.",
                )
        if d.supersedes is not None and d.supersedes not in refs.by_public_id:
            _add_error(errors, index, "supersedes", f"No decision {d.supersedes} of this platform.")
        if d.supersedes_puid is not None and d.supersedes_puid not in refs.by_puid:
            _add_error(
                errors,
                index,
                "supersedes_puid",
                f"No decision with puid {d.supersedes_puid} of this platform.",
            )
        if check_subject:
            _check_same_subject(platform, d, index, refs, errors, subjects_pseudonymised)
    return refs


def _check_same_subject(
    platform: Platform,
    d: DecisionIn,
    index: int,
    refs: _References,
    errors: dict[int, dict[str, list[str]]],
    subjects_pseudonymised: bool,
) -> None:
    """A decision that changes another is about the same subject, or it is refused.

    The rule: every id the new decision names (account, content) must be the one the original
    names of the same kind. It may name less than the original (the content alone, when the
    original named the content and its author), never another id, and never an id of a kind
    the original left out: a decision about a post cannot be "reversed" by one that lifts an
    account's suspension, and one that named no subject at all (a statement sent through the
    EU-compatible API) cannot be changed by one that names one, because nothing proves the two
    are the same. The native API requires at least one id, so the two always share one.
    """
    if d.supersedes is not None and d.supersedes in refs.by_public_id:
        field, pk, named = "supersedes", refs.by_public_id[d.supersedes], str(d.supersedes)
    elif d.supersedes_puid is not None and d.supersedes_puid in refs.by_puid:
        field, pk, named = "supersedes_puid", refs.by_puid[d.supersedes_puid][0], d.supersedes_puid
    else:
        return
    original = dict(zip(("account", "content"), refs.subjects[pk], strict=True))
    for kind in (SubjectKind.ACCOUNT, SubjectKind.CONTENT):
        platform_id: str | None = getattr(d.subject, kind.value)
        if platform_id is None:
            continue
        mine = (
            platform_id
            if subjects_pseudonymised
            else pseudonym(platform_slug=platform.slug, kind=kind.value, platform_id=platform_id)
        )
        if mine != original[kind.value]:
            _add_error(
                errors,
                index,
                field,
                f"Decision {named} is about another subject: its {kind.value} is not "
                f"subject.{kind.value}. A decision can only change one about the same "
                "subject.",
            )
            return


def _row(
    platform: Platform,
    d: DecisionIn,
    digest: str,
    recorded: Recorded,
    refs: _References,
    moderator_id: Any,
    api_key_id: Any,
    now: dt.datetime,
    *,
    subjects_pseudonymised: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """The decision's table row keyed by column (log_index still unset) and its public log
    payload, built from the row (moderation.payloads) as `verify_log` rebuilds it.

    Values are stored as the database gives them back, so the payload rebuilt from the stored
    row is byte for byte the published one: times in UTC (msgspec writes UTC as "Z"), floats
    as floats, "" for absent optional text.
    """
    model_version_id = threshold = None
    model = None
    if d.model is not None and d.model_version is not None:
        model_version_id, default_threshold = refs.model_versions[(d.model, d.model_version)]
        threshold = float(d.threshold if d.threshold is not None else default_threshold)
        model = (d.model, d.model_version)
    policy_id = None
    policy = None
    if d.policy is not None:
        if d.policy_version is not None:
            policy_id, policy_version = (
                refs.policies[(d.policy, d.policy_version)],
                d.policy_version,
            )
        else:
            policy_id, policy_version = refs.latest_policy[d.policy]
        policy = (d.policy, policy_version)
    supersedes_id = supersedes_public = None
    if d.supersedes is not None:
        supersedes_id, supersedes_public = refs.by_public_id[d.supersedes], d.supersedes
    elif d.supersedes_puid is not None:
        supersedes_id, supersedes_public = refs.by_puid[d.supersedes_puid]
    slug = platform.slug
    row = {
        "public_id": recorded.public_id,
        "platform_id": platform.pk,
        "puid": d.puid,
        "submission_digest": digest,
        "notice_token": recorded.notice_token,
        "log_index": None,  # assigned when the batch is appended to the log
        "decision_type": d.decision_type.value,
        "action": summarize_action(d).value,
        "supersedes_id": supersedes_id,
        "decision_visibility": d.decision_visibility,
        "decision_visibility_other": d.decision_visibility_other or "",
        "end_date_visibility_restriction": d.end_date_visibility_restriction,
        "decision_monetary": d.decision_monetary.value if d.decision_monetary else "",
        "decision_monetary_other": d.decision_monetary_other or "",
        "end_date_monetary_restriction": d.end_date_monetary_restriction,
        "decision_provision": d.decision_provision.value if d.decision_provision else "",
        "end_date_service_restriction": d.end_date_service_restriction,
        "decision_account": d.decision_account.value if d.decision_account else "",
        "end_date_account_restriction": d.end_date_account_restriction,
        "account_type": d.account_type.value if d.account_type else "",
        "decision_ground": d.decision_ground.value,
        "decision_ground_reference_url": d.decision_ground_reference_url or "",
        "illegal_content_legal_ground": d.illegal_content_legal_ground or "",
        "illegal_content_explanation": d.illegal_content_explanation or "",
        "incompatible_content_ground": d.incompatible_content_ground or "",
        "incompatible_content_explanation": d.incompatible_content_explanation or "",
        "incompatible_content_illegal": (
            None
            if d.incompatible_content_illegal is None
            else d.incompatible_content_illegal == "Yes"
        ),
        "category": d.category.value,
        "category_addition": d.category_addition,
        "category_specification": d.category_specification,
        "category_specification_other": d.category_specification_other or "",
        "policy_id": policy_id,
        "decision_facts": d.decision_facts,
        "internal_notes": d.internal_notes or "",
        "source_type": d.source_type.value,
        "source_identity": d.source_identity or "",
        "automated_detection": d.automated_detection == "Yes",
        "automated_decision": d.automated_decision.value,
        "model_version_id": model_version_id,
        "score": None if d.score is None else float(d.score),
        "threshold": threshold,
        "moderator_id": moderator_id,
        "moderator_ref": (
            pseudonym(platform_slug=slug, kind="moderator", platform_id=d.moderator)
            if d.moderator
            else ""
        ),
        "api_key_id": api_key_id,
        "notifier_ref": (
            pseudonym(platform_slug=slug, kind="notifier", platform_id=d.notifier)
            if d.notifier
            else ""
        ),
        "notifier_token": recorded.notifier_token,
        "subject_account": (
            ""
            if not d.subject.account
            else d.subject.account
            if subjects_pseudonymised
            else pseudonym(
                platform_slug=slug, kind=SubjectKind.ACCOUNT.value, platform_id=d.subject.account
            )
        ),
        "subject_content": (
            ""
            if not d.subject.content
            else d.subject.content
            if subjects_pseudonymised
            else pseudonym(
                platform_slug=slug, kind=SubjectKind.CONTENT.value, platform_id=d.subject.content
            )
        ),
        "content_type": d.content_type,
        "content_type_other": d.content_type_other or "",
        "content_language": d.content_language.value if d.content_language else "",
        "content_id_ean": d.content_id.ean_13 if d.content_id else "",
        "territorial_scope": d.territorial_scope,
        "content_date": d.content_date,
        "decided_at": (d.decided_at or now).astimezone(dt.UTC),
        "application_date": d.application_date,
        "notified_at": None if d.notified_at is None else d.notified_at.astimezone(dt.UTC),
        "created_at": now,
    }
    names = DecisionNames(slug, policy, model, supersedes_public)
    return row, decision_payload(row, names)


# --- reversals and modifications -------------------------------------------------------------


class ReversalRefused(Exception):
    """The decision cannot be reversed or modified (see `reverse_decision`); nothing was
    written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Measure:
    """The lighter restriction a modification puts in the original's place (the restriction
    fields of `DecisionIn`; at least one of the four restrictions)."""

    decision_visibility: tuple[Visibility, ...] = ()
    decision_visibility_other: str | None = None
    end_date_visibility_restriction: dt.date | None = None
    decision_monetary: Monetary | None = None
    decision_monetary_other: str | None = None
    end_date_monetary_restriction: dt.date | None = None
    decision_provision: Provision | None = None
    end_date_service_restriction: dt.date | None = None
    decision_account: AccountAction | None = None
    end_date_account_restriction: dt.date | None = None


# Lightest first: a modification may not move up this list. (Removal weighs more than a
# monetary restriction here, unlike `Action`'s order, which is only for display.)
_SEVERITY = (
    Action.VISIBILITY,
    Action.MONETARY,
    Action.REMOVAL,
    Action.SERVICE,
    Action.ACCOUNT_SUSPENSION,
    Action.ACCOUNT_TERMINATION,
)
REVERSAL_SUFFIX = "-reversal"
MODIFICATION_SUFFIX = "-modification"


@transaction.atomic
def reverse_decision(
    *,
    decision: Decision,
    reason: str,
    moderator: User | None = None,
    moderator_ref: str | None = None,
    measure: Measure | None = None,
    decided_at: dt.datetime | None = None,
    actor: Any = None,
) -> Recorded:
    """Overturn `decision` (a REVERSAL) or, with `measure`, modify it to that lighter
    restriction (a RESTRICTION that supersedes it), through `record_decisions`' write path.

    The new decision takes its subject (the original's pseudonyms, as stored), ground and its
    texts, category, policy, content type, language, territory and source from the original,
    so it can never name another subject. `reason` becomes its public `decision_facts`, the
    statement the creator reads. `moderator` is the staff user who decided, `moderator_ref`
    the platform's own id for them (pseudonymised as the API's `moderator`). `actor` is who
    acted, for the audit trail (a reviewer deciding an appeal); `moderator` when omitted, else
    the system. Nothing of the original's notifier carries over: the change has none.

    Its puid is the original's plus "-reversal" or "-modification", so a resend returns the
    recorded decision (created False) and a different one under the same puid is a
    `PuidConflict`. Refused (`ReversalRefused`): a reversal or expiry, a decision already
    reversed or modified, a time before the original's, a modification of anything but a
    restriction, or to a measure no lighter. An invalid measure is `DecisionsRejected`,
    naming its fields.
    """
    # The platform's write lock, taken before "is it already reversed?" is asked, so that two
    # changes of one decision (a reversal here, another over the API) cannot both pass it.
    Platform.objects.select_for_update().filter(pk=decision.platform_id).exists()
    original = Decision.objects.select_related("platform", "policy").get(pk=decision.pk)
    if original.decision_type in CHANGING_TYPES:
        raise ReversalRefused(
            f"Decision {original.public_id} is a {original.get_decision_type_display().lower()}:"
            " it is not reversed or modified; reverse or modify the decision it changes."
        )
    suffix = REVERSAL_SUFFIX if measure is None else MODIFICATION_SUFFIX
    puid = _derived_puid(original.puid, suffix)
    platform = original.platform
    earlier = Decision.objects.filter(platform=platform, puid=puid).first()
    if earlier is None:
        changed_by = (
            original.superseded_by.filter(
                Q(decision_type=DecisionType.REVERSAL)
                | Q(puid=_derived_puid(original.puid, MODIFICATION_SUFFIX))
                | Q(puid=_derived_puid(original.puid, REVERSAL_SUFFIX))
            )
            .order_by("decided_at")
            .first()
        )
        if changed_by is not None:
            raise ReversalRefused(
                f"Decision {original.public_id} is already "
                f"{'reversed' if changed_by.decision_type == DecisionType.REVERSAL else 'modified'}"
                f" by {changed_by.public_id}."
            )
    if measure is not None:
        _check_lighter(original, measure)
    if earlier is not None and decided_at is None:
        # A resend without a time is the same decision: take the recorded time and date.
        decided_at = earlier.decided_at
    when = decided_at or timezone.now()
    if when < original.decided_at:
        raise ReversalRefused(
            "A change is decided after the decision it changes "
            f"({original.decided_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC), not before."
        )
    body: dict[str, Any] = {
        "puid": puid,
        "subject": {
            "account": original.subject_account or None,
            "content": original.subject_content or None,
        },
        "decision_type": DecisionType.REVERSAL if measure is None else DecisionType.RESTRICTION,
        "supersedes": original.public_id,
        "decision_ground": original.decision_ground,
        "decision_ground_reference_url": original.decision_ground_reference_url or None,
        "illegal_content_legal_ground": original.illegal_content_legal_ground or None,
        "illegal_content_explanation": original.illegal_content_explanation or None,
        "incompatible_content_ground": original.incompatible_content_ground or None,
        "incompatible_content_explanation": original.incompatible_content_explanation or None,
        "incompatible_content_illegal": (
            None
            if original.incompatible_content_illegal is None
            else "Yes"
            if original.incompatible_content_illegal
            else "No"
        ),
        "category": original.category,
        "category_addition": list(original.category_addition),
        "category_specification": list(original.category_specification),
        "category_specification_other": original.category_specification_other or None,
        "policy": original.policy.key if original.policy else None,
        "policy_version": original.policy.version if original.policy else None,
        "decision_facts": reason,
        "source_type": original.source_type,
        "source_identity": original.source_identity or None,
        # A person decided the change (an appeal is never decided by automated means alone).
        "automated_detection": "No",
        "automated_decision": AutomatedDecision.NOT_AUTOMATED,
        "moderator": moderator_ref,
        "content_type": list(original.content_type),
        "content_type_other": original.content_type_other or None,
        "content_language": original.content_language or None,
        "content_id": {"EAN-13": original.content_id_ean} if original.content_id_ean else None,
        "territorial_scope": list(original.territorial_scope),
        "content_date": original.content_date,
        "application_date": (
            earlier.application_date if earlier is not None else when.astimezone(dt.UTC).date()
        ),
        "decided_at": when,
    }
    if measure is not None:
        body |= {f: getattr(measure, f) for f in Measure.__slots__}
        body["decision_visibility"] = list(measure.decision_visibility)
        # The restriction's account type goes with it.
        body["account_type"] = original.account_type or None
    try:
        item = msgspec.convert(
            {k: v for k, v in body.items() if v is not None}, DecisionIn, strict=False
        )
    except msgspec.ValidationError as error:
        # Only the measure and the reason come from the caller: the rest was accepted before.
        raise DecisionsRejected({0: {"measure": [str(error)]}}) from error
    (recorded,) = _record_decisions(
        platform=platform,
        decisions=[item],
        moderator=moderator,
        api_key=None,
        audit_actor=None,
        require_model_for_automation=True,
        dsa_compatible=False,
        subjects_pseudonymised=True,
    )
    if recorded.created:
        trail.record(
            actor=actor or moderator or trail.SYSTEM,
            action="decision.reversed" if measure is None else "decision.modified",
            object_type="decision",
            object_id=original.public_id,
            platform=platform,
            details={"by": str(recorded.public_id)},
        )
    return recorded


def _derived_puid(puid: str, suffix: str) -> str:
    """The puid of the change of decision `puid`: readable when it fits, else a digest."""
    if len(puid) + len(suffix) <= PUID_MAX_LENGTH:
        return puid + suffix
    return hashlib.sha256(puid.encode()).hexdigest() + suffix


def _check_lighter(original: Decision, measure: Measure) -> None:
    if original.decision_type != DecisionType.RESTRICTION:
        raise ReversalRefused(
            f"Decision {original.public_id} restricts nothing: only a restriction is modified "
            "to a lighter one; reverse it instead."
        )
    probe = DecisionIn(
        puid="probe",
        subject=Subject(),
        decision_ground=Ground(original.decision_ground),
        category=Category(original.category),
        decision_facts="-",
        source_type=Source(original.source_type),
        automated_detection="No",
        automated_decision=AutomatedDecision.NOT_AUTOMATED,
        content_type=list(original.content_type),
        content_date=original.content_date,
        application_date=original.application_date,
        decision_visibility=list(measure.decision_visibility),
        decision_monetary=measure.decision_monetary,
        decision_provision=measure.decision_provision,
        decision_account=measure.decision_account,
    )
    new, old = summarize_action(probe), Action(original.action)
    if new in _SEVERITY and old in _SEVERITY and _SEVERITY.index(new) > _SEVERITY.index(old):
        raise ReversalRefused(
            f"A {new.label.lower()} is not lighter than the original "
            f"{old.label.lower()}: a modification only lightens a measure."
        )
