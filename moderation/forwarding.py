"""Forwarding recorded statements to the EU DSA Transparency Database (the writes of it).

The outbox (`DsaSubmission`) gets a row in the same transaction as each restriction a platform
with EU forwarding records (`services.record_decisions`). `forward_due_statements` drains it:
up to 100 due rows per call, locked with SKIP LOCKED so that two workers never send the same
row, sent as one batch to the EU's `POST /statements`, and marked with what the EU answered.

- 201: each row is submitted, with the EU's uuid.
- 422 naming `existing_puids`: those statements are already at the EU (an earlier attempt whose
  answer was lost): they are marked submitted; the rest go again at once.
- 422 naming statements: the EU refuses those statements themselves: they are marked rejected
  (retrying cannot help) and the rest go again at once.
- 429: nothing was taken; every row waits for Retry-After.
- 401/403: the token is refused: forwarding pauses until the platform gives a new one.
- no answer or 5xx: the rows wait with exponential backoff; where the request may have arrived,
  the next attempt first asks the EU (existing-puid) and sends only what it does not hold, so a
  statement is never submitted twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.db import insert_rows
from moderation import dsa, eu_client, secrets
from moderation.models import DsaSubmission, EuForwarding, Platform

EU_BATCH = 100
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0

Submitter = Callable[[str, str, list[dict[str, Any]]], eu_client.EuAnswer]
Prober = Callable[[str, str, str], "bool | None"]


@dataclass
class ForwardResult:
    sent: int = 0
    submitted: int = 0
    already_there: int = 0
    rejected: int = 0
    waiting: int = 0
    outcome: str = "idle"


@transaction.atomic
def configure_eu_forwarding(
    *, platform: Platform, api_token: str, endpoint: str = "", enabled: bool = True
) -> EuForwarding:
    forwarding, _ = EuForwarding.objects.select_for_update().get_or_create(
        platform=platform, defaults={"encrypted_token": ""}
    )
    forwarding.encrypted_token = secrets.encrypt(api_token)
    forwarding.endpoint = endpoint
    forwarding.enabled = enabled
    forwarding.paused_reason = ""
    forwarding.save(
        update_fields=["encrypted_token", "endpoint", "enabled", "paused_reason", "updated_at"]
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


@transaction.atomic
def forward_due_statements(
    *,
    platform: Platform,
    now: dt.datetime | None = None,
    submit: Submitter = eu_client.submit_statements,
    probe: Prober = eu_client.puid_exists,
) -> ForwardResult:
    """Send one batch of this platform's due statements to the EU. Idempotent: run it again."""
    now = now or timezone.now()
    result = ForwardResult()
    forwarding = (
        EuForwarding.objects.select_for_update(skip_locked=True)
        .filter(platform=platform, enabled=True)
        .first()
    )
    if forwarding is None:
        result.outcome = "disabled"
        return result
    token = secrets.decrypt(forwarding.encrypted_token)
    if token is None:
        _pause(forwarding, "The stored EU token cannot be decrypted (SECRET_KEY changed).")
        result.outcome = "paused"
        return result
    endpoint = forwarding.endpoint or settings.LEDGER_EU_API_URL

    # SKIP LOCKED: another worker sending this platform's rows keeps them; we take the next.
    rows = list(
        DsaSubmission.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(platform=platform, state=DsaSubmission.State.PENDING, next_attempt_at__lte=now)
        .select_related("decision__platform")
        .order_by("id")[:EU_BATCH]
    )
    if not rows:
        return result

    to_send: list[DsaSubmission] = []
    for row in rows:
        if row.outcome_unknown:
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
        return result

    statements = [dsa.submission_of(row.decision) for row in to_send]
    answer = submit(endpoint, token, statements)
    result.sent = len(to_send)
    by_puid = {row.decision.puid: row for row in to_send}

    if answer.status == 201 and isinstance(answer.body, dict):
        returned = {s.get("puid"): s.get("uuid") for s in answer.body.get("statements", [])}
        for puid, row in by_puid.items():
            eu_uuid = returned.get(puid)
            _mark_submitted(row, now, uuid.UUID(eu_uuid) if eu_uuid else None)
        result.submitted = len(by_puid)
        result.outcome = "submitted"
    elif answer.status == 422 and isinstance(answer.body, dict):
        _handle_refusal(answer.body, to_send, by_puid, now, result)
    elif answer.status == 429:
        wait = dt.timedelta(seconds=answer.retry_after or 60)
        for row in to_send:
            row.next_attempt_at = now + wait
            row.last_error = "429: rate limited by the EU"
            row.save(update_fields=["next_attempt_at", "last_error"])
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
    return result


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
        if isinstance(key, str) and key.startswith("statement_")
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
            row.save(update_fields=["state", "attempts", "last_error"])
            result.rejected += 1
    if not existing and not refused:
        # A refusal of the whole call we cannot attribute: treat it as a failed attempt.
        for row in to_send:
            _retry_later(row, now, f"422: {body}"[:5000])
        result.outcome = "failed"
        return
    # The EU takes a batch all or nothing: the others were not stored and go again at once.
    result.outcome = "refused"


def _mark_submitted(row: DsaSubmission, now: dt.datetime, eu_uuid: uuid.UUID | None) -> None:
    row.state = DsaSubmission.State.SUBMITTED
    row.attempts += 1
    row.submitted_at = now
    row.eu_uuid = eu_uuid
    row.outcome_unknown = False
    row.save(update_fields=["state", "attempts", "submitted_at", "eu_uuid", "outcome_unknown"])


def _retry_later(
    row: DsaSubmission, now: dt.datetime, message: str, *, outcome_unknown: bool = False
) -> None:
    row.attempts += 1
    row.next_attempt_at = now + backoff(row.attempts)
    row.last_error = message[:5000]
    row.outcome_unknown = row.outcome_unknown or outcome_unknown
    row.save(update_fields=["attempts", "next_attempt_at", "last_error", "outcome_unknown"])


def _pause(forwarding: EuForwarding, reason: str) -> None:
    forwarding.enabled = False
    forwarding.paused_reason = reason
    forwarding.save(update_fields=["enabled", "paused_reason", "updated_at"])
