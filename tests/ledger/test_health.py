"""/health/ for load balancers and /metrics for Prometheus (ledger.health)."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ledger import log
from ledger.celery import app as celery_app
from ledger.note import generate_skey
from moderation.models import Decision
from tests.factories import decision_payload

# Checks run in threads of their own: they must see committed data.
pytestmark = pytest.mark.django_db(transaction=True)


def _health(client: Client) -> tuple[int, dict[str, str]]:
    response = client.get("/health/?format=json")
    return response.status_code, response.json()


def _status(results: dict[str, str], check: str) -> str:
    (value,) = [v for k, v in results.items() if k.startswith(check)]
    return value


def test_healthy_when_database_cache_broker_and_key_work(api: APIClient) -> None:
    assert api.post("/api/v1/decisions", decision_payload(), format="json").status_code == 201
    log.seal_checkpoint()
    status, results = _health(Client())
    assert status == 200, results
    assert set(results.values()) == {"OK"}
    assert {k.split("(")[0] for k in results} == {
        "Database",
        "Cache",
        "BrokerCheck",
        "SigningKeyCheck",
    }


def test_a_replaced_signing_key_is_unhealthy(api: APIClient, settings: Any) -> None:
    assert api.post("/api/v1/decisions", decision_payload(), format="json").status_code == 201
    log.seal_checkpoint()
    settings.LEDGER_LOG_SIGNING_KEY = generate_skey("localhost/moderation-ledger")[0]
    status, results = _health(Client())
    assert status == 503
    assert "replaced" in _status(results, "SigningKeyCheck")
    assert _status(results, "Database") == "OK"


def test_a_missing_signing_key_is_unhealthy(settings: Any) -> None:
    settings.LEDGER_LOG_SIGNING_KEY = ""  # and DEBUG is off: nothing to fall back on
    status, results = _health(Client())
    assert status == 503
    assert "unusable" in _status(results, "SigningKeyCheck")


def test_an_unreachable_broker_is_unhealthy_without_its_url() -> None:
    with mock.patch.object(
        celery_app, "connection_for_write", side_effect=OSError("amqp://guest:secret@host")
    ):
        status, results = _health(Client())
    assert status == 503
    assert _status(results, "BrokerCheck") == "Unavailable: broker unreachable (OSError)"
    assert "secret" not in str(results)


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"{name}{labels} not in:\n{text}"
    return float(match.group(1))


def test_metrics_report_the_ledger_from_the_database(api: APIClient) -> None:
    for _ in range(3):
        assert api.post("/api/v1/decisions", decision_payload(), format="json").status_code == 201
    log.seal_checkpoint()
    assert api.post("/api/v1/decisions", decision_payload(), format="json").status_code == 201
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    entries = log.size()
    assert _metric(text, "ledger_log_entries") == entries
    assert _metric(text, "ledger_decisions_recorded") == Decision.objects.count() == 4
    assert _metric(text, "ledger_checkpoint_size") == entries - 1
    assert 0 <= _metric(text, "ledger_checkpoint_age_seconds") < 60
    assert _metric(text, "ledger_forwarding_backlog") == 0
    assert _metric(text, "ledger_webhook_backlog") == 0


def test_refused_intake_is_counted_by_endpoint_and_status(api: APIClient) -> None:
    def refused() -> float:
        text = Client().get("/metrics").content.decode()
        match = re.search(
            r'^ledger_intake_rejected_total\{endpoint="api-decisions",status="400"\} (\S+)$',
            text,
            re.MULTILINE,
        )
        return float(match.group(1)) if match else 0.0

    before = refused()
    assert api.post("/api/v1/decisions", {}, format="json").status_code == 400
    assert api.post("/api/v1/decisions", {"puid": 1}, format="json").status_code == 400
    assert api.get("/api/v1/decisions?action=bogus").status_code in (200, 400)  # a read
    assert refused() == before + 2


def test_metrics_token_when_set(settings: Any) -> None:
    settings.LEDGER_METRICS_TOKEN = "scrape-me"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert ok.status_code == 200
    assert b"ledger_log_entries" in ok.content
