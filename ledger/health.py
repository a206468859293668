"""What operators watch: a health endpoint for load balancers and Prometheus metrics.

`/health/` is django-health-check's view with the checks a ledger needs to take requests: the
database, the cache, the Celery broker (sealing and forwarding stop without it) and the log's
signing key (a server with a missing or swapped key would publish checkpoints nobody can
verify). It answers 200 when all pass and 503 (not the library's 500: a failing dependency is
not a bug here) when one fails; `?format=json` for machines.

`/metrics` is the Prometheus text format. The counts come from the database at scrape time,
so every web process reports the same numbers; only the intake refusals are counted in the
process that refused them (prometheus_client's multiprocess mode, when gunicorn runs several
workers, is set with PROMETHEUS_MULTIPROC_DIR). With LEDGER_METRICS_TOKEN set, the endpoint
asks for it as a Bearer token.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from appeals.models import ItemState, ReviewItem
from ledger import note
from ledger.celery import app as celery_app
from ledger.log import latest_checkpoint, signer
from ledger.models import LogHead
from moderation.models import Decision, DsaSubmission, WebhookMessage

PROBE = "ledger health probe"


class BrokerCheck(HealthCheck):
    """The Celery broker accepts a connection."""

    def run(self) -> None:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:
            # The broker's own message may carry its URL, with a password: neither the answer
            # nor the logged traceback repeats it.
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from None


class SigningKeyCheck(HealthCheck):
    """The log's key loads, signs, and is the key that signed the latest checkpoint."""

    def run(self) -> None:
        try:
            key = signer()
            verifier = key.verifier
            signature = key.sign(PROBE + "\n")
        except Exception as exc:
            raise ServiceUnavailable(f"the signing key is unusable ({type(exc).__name__})") from exc
        try:
            note.verify_note(PROBE + "\n" + "\n" + signature, [verifier])
            checkpoint = latest_checkpoint()
            if checkpoint is not None:
                note.verify_note(checkpoint.note, [verifier])
        except note.NoteError as exc:
            raise ServiceUnavailable(
                "the signing key did not sign the latest checkpoint: the key was replaced"
            ) from exc
        finally:
            # Checks run in worker threads, each with a connection of its own.
            connection.close()


class LedgerHealthView(HealthCheckView):
    checks = (
        "health_check.checks.Database",
        "health_check.checks.Cache",
        BrokerCheck,
        SigningKeyCheck,
    )

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
        return response


# --- metrics --------------------------------------------------------------------------------

INTAKE_REJECTED = Counter(
    "ledger_intake_rejected",
    "Requests to record decisions that were refused, by endpoint and HTTP status.",
    ["endpoint", "status"],
)

# The URL names of the endpoints that record decisions (moderation.urls).
INTAKE_ENDPOINTS = frozenset(
    {"api-decisions", "api-decisions-batch", "dsa-statement-create", "dsa-statements"}
)


class IntakeMetricsMiddleware:
    """Counts refused intake requests (4xx) for `ledger_intake_rejected_total`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "POST" and 400 <= response.status_code < 500:
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                return response
            if name in INTAKE_ENDPOINTS:
                INTAKE_REJECTED.labels(endpoint=name, status=str(response.status_code)).inc()
        return response


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class LedgerCollector(Collector):
    """The ledger's state, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        head = LogHead.objects.filter(pk=1).values_list("size", flat=True).first()
        yield _gauge("ledger_log_entries", "Entries in the log.", head or 0)
        yield _gauge(
            "ledger_decisions_recorded",
            "Decisions recorded (reversals and expiries included).",
            # A count of the table: fine at millions; the roll-ups of the statistics will
            # replace it past that.
            Decision.objects.count(),
        )
        checkpoint = latest_checkpoint()
        age = (
            (timezone.now() - checkpoint.created_at).total_seconds()
            if checkpoint is not None
            else float("nan")
        )
        yield _gauge(
            "ledger_checkpoint_age_seconds", "Seconds since the latest checkpoint was sealed.", age
        )
        yield _gauge(
            "ledger_checkpoint_size",
            "Entries the latest checkpoint covers.",
            checkpoint.size if checkpoint is not None else 0,
        )
        yield _gauge(
            "ledger_forwarding_backlog",
            "Statements waiting to be sent to the EU Transparency Database.",
            DsaSubmission.objects.filter(state=DsaSubmission.State.PENDING).count(),
        )
        yield _gauge(
            "ledger_webhook_backlog",
            "Webhook messages not yet delivered (and not given up on).",
            WebhookMessage.objects.filter(
                delivered_at__isnull=True, failed_at__isnull=True
            ).count(),
        )
        queues = GaugeMetricFamily(
            "ledger_review_queue_items",
            "Review items not yet decided, by platform, queue and state.",
            labels=["platform", "queue", "state"],
        )
        breaches = GaugeMetricFamily(
            "ledger_review_deadline_breaches",
            "Review items whose deadline passed undecided (counted once each), by platform "
            "and queue.",
            labels=["platform", "queue"],
        )
        rows = (
            ReviewItem.objects.order_by()
            .values_list("queue__platform__slug", "queue__slug")
            .annotate(
                waiting=Count("id", filter=Q(state=ItemState.OPEN)),
                claimed=Count("id", filter=Q(state=ItemState.CLAIMED)),
                breached=Count("id", filter=Q(breached_at__isnull=False)),
            )
        )
        for platform, queue, waiting, claimed, breached in rows:
            queues.add_metric([platform, queue, ItemState.OPEN.value], waiting)
            queues.add_metric([platform, queue, ItemState.CLAIMED.value], claimed)
            breaches.add_metric([platform, queue], breached)
        yield queues
        yield breaches


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(INTAKE_REJECTED)
    registry.register(LedgerCollector())
    return registry


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.LEDGER_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            response = HttpResponse(
                "Send the metrics token as 'Authorization: Bearer'.\n",
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            response["WWW-Authenticate"] = "Bearer"
            return response
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
