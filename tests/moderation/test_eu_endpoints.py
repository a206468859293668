"""The EU token goes only to https endpoints on public addresses: refused when given, and
refused again when sending, whatever the endpoint's name resolves to by then.

No test resolves an outside name or connects anywhere but 127.0.0.1: names are resolved
through `eu_client.resolve`, replaced here, and public addresses are never connected to.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator

import pytest
from django.utils import timezone

from moderation import eu_client, forwarding
from moderation.models import DsaSubmission, EuForwarding
from tests.fake_eu import FakeEu
from tests.moderation.test_eu_forwarder import record

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"  # a public address, only ever named, never connected to


def put(api, endpoint: str):
    return api.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"api_token": "eu-secret-token", "endpoint": endpoint}),
        content_type="application/json",
    )


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """A name -> addresses table standing in for DNS; IP literals resolve to themselves."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(eu_client, "resolve", resolve)
    return table


@pytest.fixture
def eu() -> Iterator[FakeEu]:
    with FakeEu(token="eu-secret-token") as fake:
        yield fake


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8000/api/v1",
        "https://127.0.0.1/api/v1",
        "https://127.1/api/v1",
        "https://2130706433/api/v1",
        "https://localhost/api/v1",
        "https://10.1.2.3/api/v1",
        "https://172.16.0.1/api/v1",
        "https://192.168.1.1/api/v1",
        "https://100.64.0.1/api/v1",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/api/v1",
        "https://[::1]/api/v1",
        "https://[fd00::1]/api/v1",
        "https://[fe80::1]/api/v1",
        "https://[::ffff:127.0.0.1]/api/v1",
        "https://[64:ff9b::7f00:1]/api/v1",
        "https://[2002:7f00:1::1]/api/v1",
        "https://224.0.0.1/api/v1",
        f"http://{PUBLIC}/api/v1",
    ],
)
def test_an_endpoint_that_is_not_https_on_a_public_address_is_refused_by_name(api, endpoint):
    response = put(api, endpoint)

    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) == {"endpoint"}
    assert not EuForwarding.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused(api, dns):
    dns["eu.internal.example"] = [PUBLIC, "10.0.0.7"]

    response = put(api, "https://eu.internal.example/api/v1")

    assert response.status_code == 400
    assert "10.0.0.7" in json.dumps(response.json()["errors"]["endpoint"])


def test_a_name_that_does_not_resolve_is_refused(api, dns):
    response = put(api, "https://nowhere.example/api/v1")

    assert response.status_code == 400
    assert "does not resolve" in json.dumps(response.json()["errors"]["endpoint"])


@pytest.mark.parametrize(
    "endpoint",
    ["https://eu\x00.example/api/v1", "https://" + "a" * 70 + ".example/", "https://[::1/"],
)
def test_an_endpoint_that_cannot_be_resolved_at_all_is_a_400_not_a_500(api, endpoint):
    response = put(api, endpoint)

    assert response.status_code == 400
    assert "endpoint" in response.json()["errors"]


def test_an_https_endpoint_on_public_addresses_is_accepted(api, dns):
    dns["sandbox.eu.example"] = [PUBLIC, "2a00:1450:4001:80b::200e"]

    response = put(api, "https://sandbox.eu.example/api/v1")

    assert response.status_code == 200, response.json()
    assert response.json()["endpoint"] == "https://sandbox.eu.example/api/v1"


def test_without_an_endpoint_the_eus_own_api_is_used_and_nothing_is_resolved(api, dns):
    response = api.put(
        "/api/v1/forwarding/eu",
        data=json.dumps({"api_token": "eu-secret-token"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["endpoint"].startswith("https://transparency.dsa.ec.europa.eu")


def test_the_setting_allows_private_endpoints_for_tests_and_private_deployments(api, settings):
    settings.LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS = True

    assert put(api, "http://127.0.0.1:8000/api/v1").status_code == 200
    assert put(api, "ftp://127.0.0.1/api/v1").status_code == 400


def test_a_name_that_turns_private_after_it_was_given_gets_nothing_at_send(api, platform, dns, eu):
    port = eu.server.server_address[1]
    dns["eu.example"] = [PUBLIC]
    assert put(api, f"https://eu.example:{port}/api/v1").status_code == 200
    record(api, 2)
    dns["eu.example"] = ["127.0.0.1"]  # the name now points into the ledger's own network

    result = forwarding.forward_due_statements(platform=platform)

    assert result.outcome == "paused" and result.sent == 0
    assert eu.received == [] and eu.probes == []
    status = api.get("/api/v1/forwarding/eu").json()
    assert status["enabled"] is False and "127.0.0.1" in status["paused_reason"]
    assert list(DsaSubmission.objects.values_list("state", "attempts")) == [("pending", 0)] * 2


def test_a_connection_that_lands_on_a_private_address_sends_nothing(api, platform, dns, eu):
    """The check resolves one way, the connection another (DNS rebinding): the address
    actually connected to is checked before a byte of the request is written."""
    port = eu.server.server_address[1]
    dns["localhost"] = [PUBLIC]  # what the check sees; the socket still reaches 127.0.0.1
    assert put(api, f"https://localhost:{port}/api/v1").status_code == 200
    record(api, 1)

    result = forwarding.forward_due_statements(platform=platform)

    assert result.outcome == "paused" and result.sent == 0
    assert eu.received == []
    assert "not a public address" in EuForwarding.objects.get().paused_reason
    assert DsaSubmission.objects.get().state == "pending"


def test_the_client_itself_refuses_private_addresses_unless_allowed(eu):
    answer = eu_client.submit_statements(eu.endpoint, "eu-secret-token", [{"puid": "p"}])

    assert answer.endpoint_refused and answer.status == 0
    assert eu.received == []
    allowed = eu_client.submit_statements(
        eu.endpoint, "eu-secret-token", [{"puid": "p"}], allow_private=True
    )
    assert allowed.status == 201


def test_a_passing_dns_failure_at_send_leaves_the_rows_due_and_forwarding_on(api, platform, dns):
    dns["eu.example"] = [PUBLIC]
    assert put(api, "https://eu.example/api/v1").status_code == 200
    record(api, 1)
    del dns["eu.example"]

    result = forwarding.forward_due_statements(platform=platform, now=timezone.now())

    assert result.outcome == "failed" and result.sent == 0
    assert EuForwarding.objects.get().enabled
    assert DsaSubmission.objects.get().attempts == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (PUBLIC, True),
        ("2a00:1450:4001:80b::200e", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:a00:1::1", False),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo to 10.0.0.1
        ("192.0.2.1", False),
        ("255.255.255.255", False),
        ("not an address", False),
    ],
)
def test_public_means_globally_routable_unicast_with_embedded_ipv4_looked_through(address, public):
    assert eu_client.is_public_address(address) is public


def test_the_admin_form_refuses_a_private_endpoint_too(admin_client, platform):
    response = admin_client.post(
        "/admin/moderation/euforwarding/add/",
        {
            "platform": platform.pk,
            "api_token": "eu-token-from-admin",
            "endpoint": "http://169.254.169.254/latest",
            "enabled": "on",
        },
    )

    assert response.status_code == 200
    assert "must be an https URL" in response.content.decode()
    assert not EuForwarding.objects.exists()
