"""Forwarding recorded statements to the EU DSA Transparency Database (the writes of it).

The outbox (`DsaSubmission`) gets a row in the same transaction as each restriction a platform
with EU forwarding records (`services.record_decisions`). `forward_due_statements` drains it,
up to 100 due rows per call, in three steps so that no transaction is open while the EU is
called (with a 30-second timeout):

1. claim: one short transaction takes the due rows with SKIP LOCKED (two workers never take
   the same row), leases them by moving `next_attempt_at` to the end of the lease, marks their
   outcome unknown, and commits. A worker that dies mid-send leaves its rows leased: they come
   back when the lease ends, and since the batch may have arrived, they are asked about first.
2. send: the probes and the one batch, outside any transaction, so a token change or a status
   read never waits for the EU.
3. record: a second short transaction writes what the EU answered, only on rows still under
   this claim: still pending, with the lease end this claim set. A row whose lease ran out was
   claimed again or settled by a newer run, and every value a later run writes into
   `next_attempt_at` is past this lease's end, so a late run never overwrites a newer one.

What the EU answers decides each row:
- 201: each row is submitted, with the EU's uuid.
- 422 naming `existing_puids`: those statements are already at the EU (an earlier attempt whose
  answer was lost): they are marked submitted; the rest go again at once.
- 422 naming statements: the EU refuses those statements themselves: they are marked rejected
  (retrying cannot help) and the rest go again at once.
- 429: nothing was taken; every row waits for Retry-After.
- 401/403: the token is refused: forwarding pauses until the platform gives a new one (unless
  it gave one while the batch was on its way).
- no answer or 5xx: the rows wait with exponential backoff; where the request may have arrived,
  the next attempt first asks the EU (existing-puid) and sends only what it does not hold, so a
  statement is never submitted twice.

The token goes only to https endpoints on public addresses (`eu_client.endpoint_problem`),
checked when it is given and again here before anything is sent, unless
LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS is on.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ledger.db import insert_rows
from moderation import dsa, eu_client, secrets, trail
from moderation.models import DsaSubmission, EuForwarding, Platform

EU_BATCH = 100
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
# How long a claim holds its rows. It must outlast a run (probes plus one send, each bounded by
# the client's timeout); probing stops after PROBE_BUDGET so that it does.
LEASE = dt.timedelta(minutes=5)
PROBE_BUDGET_SECONDS = 120.0

Submitter = Callable[[str, str, list[dict[str, Any]]], eu_client.EuAnswer]
Prober = Callable[[str, str, str], "bool | None"]

# The fields a run may change on a claimed row; all are written back when it records.
_ROW_FIELDS = [
    "state",
    "attempts",
    "next_attempt_at",
    "outcome_unknown",
    "eu_uuid",
    "submitted_at",
    "last_error",
]


@dataclass
class ForwardResult:
    sent: int = 0
    submitted: int = 0
    already_there: int = 0
    rejected: int = 0
    waiting: int = 0
    outcome: str = "idle"


def validate_endpoint(endpoint: str) -> None:
    """Refuse an endpoint the token must not go to (the API's and the admin's validator)."""
    if not endpoint:
        return  # the EU's production API (LEDGER_EU_API_URL)
    problem = eu_client.endpoint_problem(
        endpoint, allow_private=settings.LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS
    )
    if problem is not None:
        raise ValidationError(f"The endpoint {problem}.", code="endpoint")


@transaction.atomic
def configure_eu_forwarding(
    *,
    platform: Platform,
    api_token: str,
    endpoint: str = "",
    enabled: bool = True,
    actor: Any = None,
) -> EuForwarding:
    """Give (or replace) the platform's EU token; `actor` (the key or staff user) is audited,
    the token never is."""
    # The forwarder never locks this row, so giving a token never waits for a send.
    forwarding, created = EuForwarding.objects.select_for_update().get_or_create(
        platform=platform, defaults={"encrypted_token": ""}
    )
    was = (forwarding.endpoint, forwarding.enabled, forwarding.paused_reason)
    forwarding.encrypted_token = secrets.encrypt(api_token)
    forwarding.endpoint = endpoint
    forwarding.enabled = enabled
    forwarding.paused_reason = ""
    forwarding.save(
        update_fields=["encrypted_token", "endpoint", "enabled", "paused_reason", "updated_at"]
    )
    details: dict[str, Any] = {"endpoint": endpoint, "enabled": enabled}
    if not created:
        details["before"] = {"endpoint": was[0], "enabled": was[1], "paused_reason": was[2]}
    trail.record(
        actor=actor or trail.SYSTEM,
        action="eu_forwarding.set" if created else "eu_forwarding.changed",
        object_type="eu_forwarding",
        object_id=platform.slug,
        platform=platform,
        details=details,
        at=forwarding.updated_at,
    )
    return forwarding


def enqueue_statements(
    *, platform: Platform, public_ids: list[uuid.UUID], now: dt.datetime
) -> None:
    """Write outbox rows for newly recorded restrictions (called inside record_decisions)."""
    if not public_ids or not EuForwarding.objects.filter(platform=platform).exists():
        return
    insert_rows(
        DsaSubmission,
        (
            "decision_public_id",
            "platform_id",
            "state",
            "attempts",
            "next_attempt_at",
            "outcome_unknown",
            "last_error",
            "created_at",
        ),
        [
            (pid, platform.pk, DsaSubmission.State.PENDING, 0, now, False, "", now)
            for pid in public_ids
        ],
    )


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(
        seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    )


def forward_due_statements(
    *,
    platform: Platform,
    now: dt.datetime | None = None,
    submit: Submitter | None = None,
    probe: Prober | None = None,
) -> ForwardResult:
    """Send one batch of this platform's due statements to the EU. Idempotent: run it again.

    Never called inside a transaction: it commits its claim before calling the EU.
    """
    now = now or timezone.now()
    result = ForwardResult()
    # A plain read, no lock: a token being changed meanwhile is not "disabled", and the change
    # does not wait for this run. The pause below checks the token is still the one sent.
    forwarding = EuForwarding.objects.filter(platform=platform, enabled=True).first()
    if forwarding is None:
        result.outcome = "disabled"
        return result
    token = secrets.decrypt(forwarding.encrypted_token)
    if token is None:
        _pause(forwarding, "The stored EU token cannot be decrypted (SECRET_KEY changed).")
        result.outcome = "paused"
        return result
    endpoint = forwarding.endpoint or settings.LEDGER_EU_API_URL
    allow_private = settings.LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS
    # Checked again at each run: the host's addresses may have changed since it was given.
    problem = eu_client.endpoint_problem(endpoint, allow_private=allow_private)
    if problem is not None:
        if problem.unresolved:
            result.outcome = "failed"  # nothing claimed: the next run tries again
        else:
            _pause(forwarding, f"The EU endpoint {problem}; give a public https endpoint.")
            result.outcome = "paused"
        return result
    submit = submit or functools.partial(eu_client.submit_statements, allow_private=allow_private)
    probe = probe or functools.partial(eu_client.puid_exists, allow_private=allow_private)

    rows, lease_end = _claim(platform, now)
    if not rows:
        return result
    try:
        _send(rows, forwarding, endpoint, token, now, submit, probe, result)
    except BaseException:
        # The batch may have left before the failure: whatever is not settled is asked about
        # before it is sent again.
        for row in rows:
            if row.state == DsaSubmission.State.PENDING:
                row.outcome_unknown = True
        raise
    finally:
        # The rows are released with what is known of them; only a process that dies here
        # leaves them to the end of the lease.
        _record(rows, lease_end)
    return result


def _claim(platform: Platform, now: dt.datetime) -> tuple[list[DsaSubmission], dt.datetime]:
    """Take up to a batch of due rows and lease them, in one short transaction."""
    lease_end = now + LEASE
    with transaction.atomic():
        # SKIP LOCKED: rows another worker is claiming right now are left to it.
        rows = list(
            DsaSubmission.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(platform=platform, state=DsaSubmission.State.PENDING, next_attempt_at__lte=now)
            .select_related("decision__platform")
            .order_by("id")[:EU_BATCH]
        )
        if rows:
            # In the database the rows are leased and their outcome unknown (the batch may
            # arrive and this process die); in memory they keep what they were, and each is
            # given its real outcome below.
            DsaSubmission.objects.filter(pk__in=[row.pk for row in rows]).update(
                next_attempt_at=lease_end, outcome_unknown=True
            )
    for row in rows:
        # A row released without an outcome is due again at once, at a time past any earlier
        # lease's end (its old value may be one), which keeps that lease's fence shut.
        row.next_attempt_at = max(now, row.next_attempt_at + dt.timedelta(microseconds=1))
    return rows, lease_end


def _record(rows: list[DsaSubmission], lease_end: dt.datetime) -> None:
    """Write the rows' outcomes, only where this claim still holds them."""
    with transaction.atomic():
        held = set(
            DsaSubmission.objects.select_for_update()
            .filter(
                pk__in=[row.pk for row in rows],
                state=DsaSubmission.State.PENDING,
                next_attempt_at=lease_end,
            )
            .values_list("pk", flat=True)
        )
        DsaSubmission.objects.bulk_update([row for row in rows if row.pk in held], _ROW_FIELDS)


def _send(
    rows: list[DsaSubmission],
    forwarding: EuForwarding,
    endpoint: str,
    token: str,
    now: dt.datetime,
    submit: Submitter,
    probe: Prober,
    result: ForwardResult,
) -> None:
    """Call the EU for the claimed rows and set each row's outcome in memory."""
    to_send: list[DsaSubmission] = []
    probing_until = time.monotonic() + PROBE_BUDGET_SECONDS
    for row in rows:
        if row.outcome_unknown:
            if time.monotonic() > probing_until:
                continue  # released as it was: the next run asks about it
            held = probe(endpoint, token, row.decision.puid)
            if held is None:
                _retry_later(row, now, "The EU could not say whether it holds the statement.")
                result.waiting += 1
                continue
            if held:
                _mark_submitted(row, now, None)
                result.already_there += 1
                continue
        to_send.append(row)
    if not to_send:
        result.outcome = "probed"
        return

    statements = [dsa.submission_of(row.decision) for row in to_send]
    answer = submit(endpoint, token, statements)
    if answer.endpoint_refused:
        # Nothing left the process: the rows stay due, and the endpoint must change.
        _pause(forwarding, f"The EU endpoint was refused ({answer.error}); give a public one.")
        result.outcome = "paused"
        return
    result.sent = len(to_send)
    by_puid = {row.decision.puid: row for row in to_send}

    if answer.status == 201 and isinstance(answer.body, dict):
        returned = {s.get("puid"): s.get("uuid") for s in answer.body.get("statements", [])}
        for puid, row in by_puid.items():
            _mark_submitted(row, now, _uuid_or_none(returned.get(puid)))
        result.submitted = len(by_puid)
        result.outcome = "submitted"
    elif answer.status == 422 and isinstance(answer.body, dict):
        _handle_refusal(answer.body, to_send, by_puid, now, result)
    elif answer.status == 429:
        wait = dt.timedelta(seconds=answer.retry_after or 60)
        for row in to_send:
            row.next_attempt_at = now + wait
            row.last_error = "429: rate limited by the EU"
        result.waiting = len(to_send)
        result.outcome = "rate_limited"
    elif answer.status in (401, 403):
        _pause(forwarding, f"The EU refused the token ({answer.status}); give a new one.")
        result.outcome = "paused"
    else:
        unknown = answer.outcome_unknown or answer.status >= 500
        message = answer.error or f"{answer.status}: {str(answer.body)[:500]}"
        for row in to_send:
            _retry_later(row, now, message, outcome_unknown=unknown)
        result.waiting = len(to_send)
        result.outcome = "failed"


def _handle_refusal(
    body: dict[str, Any],
    to_send: list[DsaSubmission],
    by_puid: dict[str, DsaSubmission],
    now: dt.datetime,
    result: ForwardResult,
) -> None:
    errors = body.get("errors") or {}
    existing = set(errors.get("existing_puids") or [])
    refused = {
        int(key.removeprefix("statement_")): value
        for key, value in errors.items()
        if isinstance(key, str)
        and key.startswith("statement_")
        and key.removeprefix("statement_").isdecimal()
    }
    for puid in existing & set(by_puid):
        _mark_submitted(by_puid[puid], now, None)
        result.already_there += 1
    for index, row_errors in refused.items():
        if 0 <= index < len(to_send):
            row = to_send[index]
            row.state = DsaSubmission.State.REJECTED
            row.attempts += 1
            row.last_error = f"422: {row_errors}"[:5000]
            result.rejected += 1
    if not existing and not refused:
        # A refusal of the whole call we cannot attribute: treat it as a failed attempt.
        for row in to_send:
            _retry_later(row, now, f"422: {body}"[:5000])
        result.outcome = "failed"
        return
    # The EU takes a batch all or nothing: the others were not stored and go again at once.
    result.outcome = "refused"


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _mark_submitted(row: DsaSubmission, now: dt.datetime, eu_uuid: uuid.UUID | None) -> None:
    row.state = DsaSubmission.State.SUBMITTED
    row.attempts += 1
    row.submitted_at = now
    row.eu_uuid = eu_uuid
    row.outcome_unknown = False


def _retry_later(
    row: DsaSubmission, now: dt.datetime, message: str, *, outcome_unknown: bool = False
) -> None:
    row.attempts += 1
    row.next_attempt_at = now + backoff(row.attempts)
    row.last_error = message[:5000]
    row.outcome_unknown = row.outcome_unknown or outcome_unknown


@transaction.atomic
def _pause(forwarding: EuForwarding, reason: str) -> None:
    """Stop forwarding, unless the platform changed its token or endpoint since this run read
    them: the refusal was of the old ones. The forwarder acted, so the system is the actor."""
    now = timezone.now()
    paused = EuForwarding.objects.filter(
        pk=forwarding.pk,
        enabled=True,
        encrypted_token=forwarding.encrypted_token,
        endpoint=forwarding.endpoint,
    ).update(enabled=False, paused_reason=reason[:500], updated_at=now)
    if paused:
        trail.record(
            actor=trail.SYSTEM,
            action="eu_forwarding.paused",
            object_type="eu_forwarding",
            object_id=forwarding.platform.slug,
            platform=forwarding.platform_id,
            details={"reason": reason[:500]},
            at=now,
        )
