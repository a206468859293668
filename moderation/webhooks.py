"""Webhooks to platforms, per the Standard Webhooks specification.

`enqueue` writes an outbox row (moderation.WebhookMessage) in the caller's transaction and asks,
once that transaction commits, for the platform's messages to be sent; the beat task sends the
retries and whatever a lost request left behind. So no event is lost, and none leaves before
the change it reports is committed.

`deliver_due_messages` drains one platform's outbox, oldest first, in three steps so that no
transaction is open while the platform's server is called (STYLE rule 17), as the EU forwarder
does (moderation.forwarding):

1. claim: one short transaction takes up to a batch of due rows with SKIP LOCKED (two workers
   never take the same row) and leases them by moving `next_attempt_at` to the end of the lease.
   A worker that dies mid-send leaves its rows leased: they are sent again when the lease ends,
   with the same `webhook-id`, which receivers use to drop duplicates.
2. send: one POST per message, outside any transaction, signed with the platform's secret
   (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with a timeout and no redirects.
3. record: a second short transaction writes each outcome, only on rows this claim still holds
   (undelivered, with the lease end this claim set): every value a later run writes into
   `next_attempt_at` is past this lease's end, so a late run never overwrites a newer one.

Any 2xx answer delivers a message. Anything else (another status, a redirect, a timeout, a
refused connection) is a failed attempt: the message is tried again after the Standard Webhooks
schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with up to a tenth more at random, so a
platform coming back is not hit by every message at once) and after the eighth attempt it is
given up (`failed_at`). When the server cannot be reached at all, the rest of the batch waits
with the message that failed, untried, instead of spending its attempts on a server that is down.

The URL must be https on public addresses (moderation.eu_client.endpoint_problem, the EU
forwarder's rule), checked when it is set and again before every send, unless
LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is on. Messages wait, without spending attempts, while
the platform has no endpoint or its secret cannot be read (SECRET_KEY changed).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.client
import json
import logging
import random
import secrets as stdlib_secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from moderation import eu_client, secrets, trail
from moderation.models import ApiKey, Platform, WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (the specification's prefix, not a secret)
SECRET_BYTES = 32  # the specification asks for 24 to 64
BATCH = 20
TIMEOUT_SECONDS = 10.0
# The delays after the 1st, 2nd, ... failed attempt (Standard Webhooks' suggested schedule);
# the attempt after the last one failing gives the message up.
RETRY_SCHEDULE = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1
# How long a claim holds its rows. It must outlast a run: sending stops after SEND_BUDGET and
# the rest of the batch is released, so a slow server cannot keep a run past its lease.
LEASE = dt.timedelta(minutes=5)
SEND_BUDGET_SECONDS = 120.0
USER_AGENT = "moderation-ledger-webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one POST came to: the HTTP status (0 when none came back) and, unless 2xx, why."""

    status: int
    error: str = ""
    # No answer at all (refused, timed out, refused address): the server is not reachable.
    unreachable: bool = False

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


Sender = Callable[[str, bytes, dict[str, str]], Answer]


@dataclass
class DeliveryResult:
    delivered: int = 0
    failed: int = 0  # attempts that failed and will be retried
    given_up: int = 0
    outcome: str = "idle"  # idle, sent, no_endpoint, no_secret


# --- the outbox ---------------------------------------------------------------------------


def enqueue(
    *,
    platform: Platform | int,
    event_type: str,
    data: dict[str, Any],
    now: dt.datetime | None = None,
) -> WebhookMessage:
    """Queue one event for the platform's webhook, in the caller's transaction.

    The message is kept even when the platform has no endpoint yet: it is delivered once one
    is set. `data` must be JSON (ids, kinds and times; free text only where the platform
    already holds it).
    """
    at = now or timezone.now()
    platform_id = platform.pk if isinstance(platform, Platform) else platform
    message = WebhookMessage.objects.create(
        platform_id=platform_id,
        msg_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        payload={"type": event_type, "timestamp": at.isoformat(), "data": data},
        created_at=at,
        # Due at once, even when the event is dated ahead of this clock.
        next_attempt_at=min(at, timezone.now()),
    )
    # After commit only: a rolled-back change sends nothing. Robust: the change is committed
    # whatever the broker says, and the beat task sends what this request could not.
    transaction.on_commit(functools.partial(_kick, platform_id), robust=True)
    return message


def _kick(platform_id: int) -> None:
    from moderation.tasks import deliver_platform_webhooks

    deliver_platform_webhooks.delay(platform_id)


# --- the endpoint -------------------------------------------------------------------------


def new_secret() -> str:
    """A signing secret in the specification's form: `whsec_` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(stdlib_secrets.token_bytes(SECRET_BYTES)).decode()


def url_problem(url: str) -> str | None:
    """Why messages must not be posted to `url` (a sentence), or None."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "The URL is not valid."
    if parts.username is not None or parts.password is not None:
        return "The URL must not carry a user name or password."
    problem = eu_client.endpoint_problem(
        url, allow_private=settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS
    )
    return None if problem is None else f"The URL {problem}."


def validate_url(url: str) -> None:
    """The API's validator: refuse a URL the ledger must not post to."""
    problem = url_problem(url)
    if problem is not None:
        raise ValidationError(problem, code="url")


def endpoint_of(platform: Platform) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(platform=platform).first()


@dataclass(frozen=True)
class EndpointSet:
    endpoint: WebhookEndpoint
    created: bool
    # The plaintext secret when this call made one (shown once), else None.
    secret: str | None


def set_endpoint(
    *, platform: Platform, url: str, actor: ApiKey | Any, rotate: bool = False
) -> EndpointSet:
    """Set the platform's webhook URL. A secret is made the first time, when `rotate` is
    asked, or when the stored one cannot be read any more; otherwise the URL changes and the
    platform keeps verifying with the secret it has."""
    validate_url(url)  # resolves the host: before the transaction, not inside it
    with transaction.atomic():
        return _set_endpoint(platform=platform, url=url, actor=actor, rotate=rotate)


def _set_endpoint(*, platform: Platform, url: str, actor: Any, rotate: bool) -> EndpointSet:
    # Locked so that two PUTs at once cannot both make a secret and show different ones; the
    # sender never locks this row, so setting it never waits for a send.
    endpoint = WebhookEndpoint.objects.select_for_update().filter(platform=platform).first()
    created = endpoint is None
    secret: str | None = None
    if endpoint is None:
        secret = new_secret()
        endpoint = WebhookEndpoint.objects.create(
            platform=platform, url=url, encrypted_secret=secrets.encrypt(secret)
        )
    else:
        unreadable = secrets.decrypt(endpoint.encrypted_secret) is None
        if rotate or unreadable:
            secret = new_secret()
            endpoint.encrypted_secret = secrets.encrypt(secret)
        endpoint.url = url
        endpoint.save(update_fields=["url", "encrypted_secret", "updated_at"])
    trail.record(
        actor=actor,
        action="webhook.set",
        object_type="webhook_endpoint",
        object_id=platform.slug,
        platform=platform,
        details={"url": _url_for_the_trail(url), "created": created, "new_secret": bool(secret)},
    )
    return EndpointSet(endpoint=endpoint, created=created, secret=secret)


@transaction.atomic
def remove_endpoint(*, platform: Platform, actor: ApiKey | Any) -> bool:
    """Remove the platform's webhook; its messages wait until a URL is set again. False when
    there was none."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(platform=platform).first()
    if endpoint is None:
        return False
    url = endpoint.url
    endpoint.delete()
    trail.record(
        actor=actor,
        action="webhook.removed",
        object_type="webhook_endpoint",
        object_id=platform.slug,
        platform=platform,
        details={"url": _url_for_the_trail(url)},
    )
    return True


@transaction.atomic
def send_again(
    *, messages: list[WebhookMessage], actor: Any, now: dt.datetime | None = None
) -> int:
    """Re-arm given-up messages (the platform fixed its server): each is due at once, with the
    whole retry schedule ahead of it again. Returns how many were re-armed."""
    at = now or timezone.now()
    rows = list(
        WebhookMessage.objects.select_for_update()
        .filter(pk__in=[m.pk for m in messages], failed_at__isnull=False, delivered_at__isnull=True)
        .order_by("id")
    )
    for row in rows:
        trail.record(
            actor=actor,
            action="webhook.message_rearmed",
            object_type="webhook_message",
            object_id=row.msg_id,
            platform=row.platform_id,
            details={"attempts": row.attempts, "last_error": row.last_error[:200]},
            at=at,
        )
        row.failed_at = None
        row.attempts = 0
        row.next_attempt_at = at
    WebhookMessage.objects.bulk_update(rows, ["failed_at", "attempts", "next_attempt_at"])
    if rows:
        for platform_id in {row.platform_id for row in rows}:
            transaction.on_commit(functools.partial(_kick, platform_id), robust=True)
    return len(rows)


def _url_for_the_trail(url: str) -> str:
    """The URL without its query: platforms sometimes put a token there."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# --- sending ------------------------------------------------------------------------------


def platforms_with_due_messages(now: dt.datetime | None = None) -> list[int]:
    """The platforms with an endpoint and a message due (the beat task's fan-out)."""
    return list(
        WebhookMessage.objects.filter(
            delivered_at__isnull=True,
            failed_at__isnull=True,
            next_attempt_at__lte=now or timezone.now(),
            platform__webhook__isnull=False,
        )
        .values_list("platform_id", flat=True)
        .distinct()
        .order_by()
    )


def retry_delay(attempts: int) -> dt.timedelta | None:
    """How long to wait after the `attempts`-th failed attempt, or None to give up."""
    if attempts > len(RETRY_SCHEDULE):
        return None
    return RETRY_SCHEDULE[attempts - 1] * (1 + random.uniform(0, JITTER))


def body_of(message: WebhookMessage) -> bytes:
    """The bytes posted and signed: the same on every attempt of a message."""
    return json.dumps(message.payload, sort_keys=True, separators=(",", ":")).encode()


def signed_headers(secret: str, message: WebhookMessage, body: bytes) -> dict[str, str]:
    # Signed at the time of sending (the specification's timestamp), not when queued:
    # receivers refuse timestamps more than a few minutes from their clock.
    at = timezone.now()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message.msg_id, at, body.decode()),
    }


def deliver_due_messages(
    *, platform: Platform, now: dt.datetime | None = None, send: Sender | None = None
) -> DeliveryResult:
    """Send one batch of this platform's due messages. Idempotent: run it again.

    Never called inside a transaction: it commits its claim before calling the platform.
    """
    now = now or timezone.now()
    result = DeliveryResult()
    # A plain read, no lock: a URL being changed meanwhile does not wait for this run.
    endpoint = WebhookEndpoint.objects.filter(platform=platform).first()
    if endpoint is None:
        result.outcome = "no_endpoint"
        return result
    secret = secrets.decrypt(endpoint.encrypted_secret)
    if secret is None:
        logger.warning("The webhook secret of %s cannot be decrypted; set the URL again.", platform)
        result.outcome = "no_secret"
        return result
    send = send or post

    rows, lease_end = _claim(platform, now)
    if not rows:
        return result
    result.outcome = "sent"
    try:
        _send(rows, endpoint.url, secret, now, send, result)
    finally:
        # The rows are released with what is known of them; only a process that dies here
        # leaves them to the end of the lease.
        _record(rows, lease_end)
    return result


def _claim(platform: Platform, now: dt.datetime) -> tuple[list[WebhookMessage], dt.datetime]:
    """Take up to a batch of due rows, oldest first, and lease them, in one short transaction."""
    lease_end = now + LEASE
    with transaction.atomic():
        # SKIP LOCKED: rows another worker is claiming right now are left to it. The partial
        # index webhook_message_due serves the filter.
        rows = list(
            WebhookMessage.objects.select_for_update(skip_locked=True)
            .filter(
                platform=platform,
                delivered_at__isnull=True,
                failed_at__isnull=True,
                next_attempt_at__lte=now,
            )
            .order_by("id")[:BATCH]
        )
        if rows:
            WebhookMessage.objects.filter(pk__in=[row.pk for row in rows]).update(
                next_attempt_at=lease_end
            )
    for row in rows:
        # A row released untried is due again at once, at a time past any earlier lease's end
        # (its old value may be one), which keeps that lease's fence shut.
        row.next_attempt_at = max(now, row.next_attempt_at + dt.timedelta(microseconds=1))
    return rows, lease_end


def _send(
    rows: list[WebhookMessage],
    url: str,
    secret: str,
    now: dt.datetime,
    send: Sender,
    result: DeliveryResult,
) -> None:
    """POST each claimed row and set its outcome in memory."""
    # Checked again at each run: the host's addresses may have changed since it was set.
    problem = url_problem(url)
    sending_until = time.monotonic() + SEND_BUDGET_SECONDS
    for index, row in enumerate(rows):
        if problem is not None:
            answer = Answer(status=0, error=problem, unreachable=True)
        else:
            try:
                body = body_of(row)
                answer = send(url, body, signed_headers(secret, row, body))
            except Exception as exc:
                # A failure of this attempt, not of the run: it is counted like any other, so a
                # message that cannot be sent is given up in the end instead of tried forever.
                logger.exception("Webhook %s could not be sent", row.msg_id)
                answer = Answer(status=0, error=f"not sent: {type(exc).__name__}: {exc}")
        row.last_status = answer.status or None
        if answer.delivered:
            row.attempts += 1
            row.delivered_at = now
            row.last_error = ""
            result.delivered += 1
        else:
            _failed_attempt(row, now, answer.error or f"HTTP {answer.status}", result)
        untried = rows[index + 1 :]
        if untried and answer.unreachable:
            # The server is down or refused: the rest wait with this one, untried.
            for other in untried:
                other.next_attempt_at = max(other.next_attempt_at, row.next_attempt_at)
            return
        if time.monotonic() > sending_until:
            return  # the rest are released due at once; the next run sends them


def _failed_attempt(
    row: WebhookMessage, now: dt.datetime, error: str, result: DeliveryResult
) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    delay = retry_delay(row.attempts)
    if delay is None:
        row.failed_at = now
        result.given_up += 1
    else:
        row.next_attempt_at = now + delay
        result.failed += 1


_ROW_FIELDS = [
    "attempts",
    "next_attempt_at",
    "delivered_at",
    "failed_at",
    "last_status",
    "last_error",
]


def _record(rows: list[WebhookMessage], lease_end: dt.datetime) -> None:
    """Write the rows' outcomes, only where this claim still holds them."""
    with transaction.atomic():
        held = set(
            WebhookMessage.objects.select_for_update()
            .filter(
                pk__in=[row.pk for row in rows],
                delivered_at__isnull=True,
                failed_at__isnull=True,
                next_attempt_at=lease_end,
            )
            .values_list("pk", flat=True)
        )
        WebhookMessage.objects.bulk_update([row for row in rows if row.pk in held], _ROW_FIELDS)


# --- HTTP ---------------------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST one message with the EU client's guards: a timeout, no redirects followed, and,
    unless private endpoints are allowed, https only and the address actually connected to
    checked to be public before anything is written (DNS may have changed since the check)."""
    # The scheme and the address were checked by url_problem before this.
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method="POST", headers=headers
    )
    handlers: list[Any] = [eu_client._NoRedirect]
    if not settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS:
        handlers += [eu_client._PublicOnlyHTTPSHandler, eu_client._NoPlainHTTPHandler]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            return Answer(status=response.status)
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(500).decode("utf-8", "replace")
        if 300 <= exc.code < 400:
            excerpt = f"redirect to {exc.headers.get('Location', '?')} not followed"
        return Answer(status=exc.code, error=f"HTTP {exc.code}: {excerpt}".strip())
    except http.client.HTTPException as exc:  # e.g. a status line that is not HTTP
        return Answer(status=0, error=f"not an HTTP answer: {exc!r}"[:500], unreachable=True)
    except urllib.error.URLError as exc:
        return Answer(status=0, error=f"no answer: {exc.reason}", unreachable=True)
    except (TimeoutError, OSError) as exc:
        return Answer(status=0, error=f"no answer: {exc}", unreachable=True)
