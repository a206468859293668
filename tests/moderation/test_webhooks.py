"""Webhooks to platforms: an outbox row written in the change's transaction, delivered after
commit to a real local HTTP server that verifies each signature with the `standardwebhooks`
library, retried with backoff under the same webhook-id, and sent only to URLs the ledger may
post to."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from moderation import eu_client, tasks, webhooks
from moderation.models import AuditEvent, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"  # a public address, only ever named, never connected to
REAL_KICK = webhooks._kick


class Receiver:
    """A platform's webhook receiver on 127.0.0.1: keeps every request and answers each with the
    next scripted status (204 when none is scripted)."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.answers: deque[int] = deque()
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    # Header names are case-insensitive; urllib sends "Webhook-id".
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append((body, headers))
                    status = receiver.answers.popleft() if receiver.answers else 204
                time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ledger?token=abc"

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for _, headers in self.requests]

    def verified(self, secret: str) -> list[Any]:
        """Every request's payload, each verified as a platform would."""
        return [Webhook(secret).verify(body, headers) for body, headers in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture(autouse=True)
def private_endpoints_allowed(settings: Any) -> None:
    """The receiver listens on 127.0.0.1, which production refuses (tested below)."""
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = True


@pytest.fixture(autouse=True)
def kicks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The after-commit kick, at the process boundary: recorded here instead of going to the
    broker (only transactional tests commit)."""
    asked: list[int] = []
    monkeypatch.setattr(webhooks, "_kick", asked.append)
    return asked


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
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


def put(api: Any, body: Any) -> Any:
    return api.put("/api/v1/webhooks", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def secret(api: Any, receiver: Receiver) -> str:
    response = put(api, {"url": receiver.url})
    assert response.status_code == 201, response.json()
    value: str = response.json()["secret"]
    return value


def decided(platform: Any, number: int = 1) -> WebhookMessage:
    with transaction.atomic():
        return webhooks.enqueue(
            platform=platform,
            event_type="appeal.decided",
            data={"appeal": f"appeal-{number}", "outcome": "overturned"},
        )


def deliver(platform: Any, seconds: float = 0) -> webhooks.DeliveryResult:
    return webhooks.deliver_due_messages(
        platform=platform, now=timezone.now() + dt.timedelta(seconds=seconds)
    )


# --- delivery -----------------------------------------------------------------------------


def test_an_event_reaches_the_platform_signed_so_that_it_verifies(platform, secret, receiver):
    message = decided(platform)

    result = deliver(platform)

    assert result.delivered == 1 and result.outcome == "sent"
    (payload,) = receiver.verified(secret)
    assert payload["type"] == "appeal.decided"
    assert payload["data"] == {"appeal": "appeal-1", "outcome": "overturned"}
    (_, headers) = receiver.requests[0]
    assert headers["webhook-id"] == message.msg_id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    message.refresh_from_db()
    assert message.delivered_at is not None and message.attempts == 1
    assert message.last_status == 204 and message.last_error == ""


def test_a_signature_made_with_another_secret_does_not_verify(platform, secret, receiver):
    decided(platform)
    deliver(platform)

    with pytest.raises(WebhookVerificationError):
        receiver.verified(webhooks.new_secret())


def test_messages_go_oldest_first(platform, secret, receiver):
    messages = [decided(platform, n) for n in range(5)]

    deliver(platform)

    assert receiver.ids() == [m.msg_id for m in messages]


def test_a_failed_attempt_is_retried_after_backoff_under_the_same_webhook_id(
    platform, secret, receiver
):
    message = decided(platform)
    receiver.answers.append(500)
    started = timezone.now()

    first = deliver(platform)

    assert first.failed == 1 and first.delivered == 0
    message.refresh_from_db()
    assert message.attempts == 1 and message.last_status == 500 and message.delivered_at is None
    assert "500" in message.last_error
    # The first retry waits 5 seconds, and up to a tenth more (jitter).
    wait = (message.next_attempt_at - started).total_seconds()
    assert 5 <= wait <= 5.5 + 1

    assert deliver(platform, seconds=4).delivered == 0  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    assert deliver(platform, seconds=7).delivered == 1

    assert receiver.ids() == [message.msg_id, message.msg_id]
    assert len(receiver.verified(secret)) == 2  # both attempts verify
    message.refresh_from_db()
    assert message.attempts == 2 and message.delivered_at is not None


def test_the_retries_follow_the_schedule_then_the_message_is_given_up(platform, secret, receiver):
    message = decided(platform)
    receiver.answers.extend([503] * webhooks.MAX_ATTEMPTS)
    at = timezone.now()
    waits = []

    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.deliver_due_messages(platform=platform, now=at)
        message.refresh_from_db()
        if message.failed_at is None:
            waits.append(message.next_attempt_at - at)
            at = message.next_attempt_at

    assert message.attempts == webhooks.MAX_ATTEMPTS == 8
    assert message.failed_at is not None and message.delivered_at is None
    for wait, planned in zip(waits, webhooks.RETRY_SCHEDULE, strict=True):
        assert planned <= wait <= planned * (1 + webhooks.JITTER)
    # Given up: later runs leave it alone.
    assert deliver(platform, seconds=10**7).delivered == 0
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(platform, secret, receiver):
    message = decided(platform)
    receiver.answers.append(302)

    result = deliver(platform)

    assert result.failed == 1
    assert len(receiver.requests) == 1
    message.refresh_from_db()
    assert message.last_status == 302 and "not followed" in message.last_error


def test_a_server_that_does_not_answer_in_time_fails_the_attempt_and_the_rest_wait(
    platform, secret, receiver, monkeypatch
):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    first, second = decided(platform, 1), decided(platform, 2)

    result = deliver(platform)

    assert result.failed == 1 and len(receiver.requests) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.attempts == 1 and first.last_status is None and first.last_error
    # Untried: no attempt spent, waiting with the first one.
    assert second.attempts == 0 and second.next_attempt_at >= first.next_attempt_at


def test_an_answer_that_is_not_http_fails_the_attempt(platform, api):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer_garbage() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        conn.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    assert put(api, {"url": f"http://127.0.0.1:{port}/hook"}).status_code == 201
    message = decided(platform)

    result = deliver(platform)

    thread.join(timeout=10)
    server.close()
    assert result.failed == 1
    message.refresh_from_db()
    assert message.attempts == 1 and message.delivered_at is None and message.last_error


def test_a_message_that_cannot_be_sent_is_counted_as_a_failed_attempt(platform, secret):
    message = decided(platform)

    def broken(url: str, body: bytes, headers: dict[str, str]) -> webhooks.Answer:
        raise RuntimeError("a bug")

    result = webhooks.deliver_due_messages(platform=platform, send=broken)

    assert result.failed == 1
    message.refresh_from_db()
    assert message.attempts == 1 and "RuntimeError: a bug" in message.last_error


def test_an_event_dated_ahead_of_the_clock_is_due_at_once(platform, secret, receiver):
    with transaction.atomic():
        webhooks.enqueue(
            platform=platform,
            event_type="appeal.decided",
            data={"appeal": "a"},
            now=timezone.now() + dt.timedelta(hours=1),
        )

    assert deliver(platform).delivered == 1


def test_an_unreachable_server_spends_one_attempt_not_one_per_message(platform, api, receiver):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # nothing listens once closed
    assert put(api, {"url": f"http://127.0.0.1:{closed_port}/hook"}).status_code == 201
    for n in range(3):
        decided(platform, n)

    result = deliver(platform)

    assert result.failed == 1 and result.delivered == 0
    assert sorted(WebhookMessage.objects.values_list("attempts", flat=True)) == [0, 0, 1]
    assert "no answer" in WebhookMessage.objects.get(attempts=1).last_error


def test_without_an_endpoint_messages_wait_until_one_is_set(platform, api, receiver):
    message = decided(platform)

    assert deliver(platform).outcome == "no_endpoint"
    assert webhooks.platforms_with_due_messages() == []
    message.refresh_from_db()
    assert message.attempts == 0 and message.delivered_at is None

    secret = put(api, {"url": receiver.url}).json()["secret"]
    assert webhooks.platforms_with_due_messages() == [platform.pk]
    assert deliver(platform).delivered == 1
    assert receiver.verified(secret)[0]["data"]["appeal"] == "appeal-1"


def test_a_secret_that_cannot_be_read_any_more_holds_messages_until_the_url_is_set_again(
    platform, api, secret, receiver, settings
):
    decided(platform)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40

    assert deliver(platform).outcome == "no_secret"
    assert receiver.requests == []
    assert WebhookMessage.objects.get().attempts == 0

    response = put(api, {"url": receiver.url})
    new_secret = response.json()["secret"]
    assert response.status_code == 200 and new_secret and new_secret != secret
    assert deliver(platform).delivered == 1
    assert receiver.verified(new_secret)


# --- after commit only --------------------------------------------------------------------


def test_nothing_is_asked_for_before_commit_and_the_kick_sends_it_after(
    platform, secret, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(tasks.deliver_platform_webhooks, "delay", tasks.deliver_platform_webhooks)
    monkeypatch.setattr(webhooks, "_kick", REAL_KICK)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decided(platform)
        assert receiver.requests == []

    assert len(callbacks) == 1 and receiver.requests == []
    callbacks[0]()  # the commit
    assert len(receiver.verified(secret)) == 1


def test_a_rolled_back_change_queues_and_sends_nothing(
    platform, secret, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        decided(platform)
        raise RuntimeError("the appeal decision failed")

    assert callbacks == []
    assert not WebhookMessage.objects.exists()
    assert deliver(platform).outcome == "idle"
    assert receiver.requests == []


# --- the tasks ----------------------------------------------------------------------------


def test_running_the_task_again_sends_nothing_twice(platform, secret, receiver):
    decided(platform, 1)
    decided(platform, 2)

    assert tasks.deliver_platform_webhooks(platform.pk) == "sent"
    assert tasks.deliver_platform_webhooks(platform.pk) == "idle"
    tasks.deliver_platform_webhooks(platform.pk)

    assert len(receiver.requests) == 2 and len(set(receiver.ids())) == 2
    assert WebhookMessage.objects.filter(delivered_at__isnull=True).count() == 0


def test_a_request_for_a_platform_that_does_not_exist_is_dropped(db):
    assert tasks.deliver_platform_webhooks(987654) == "no_platform"


def test_the_beat_task_asks_only_for_platforms_with_an_endpoint_and_due_messages(
    platform, secret, receiver, monkeypatch
):
    from moderation import services

    other = services.create_platform(slug="other", name="Other")
    decided(other)  # no endpoint: waits
    asked: list[int] = []
    monkeypatch.setattr(tasks.deliver_platform_webhooks, "delay", asked.append)

    tasks.deliver_webhooks()
    assert asked == []  # nothing due for the platform with an endpoint

    decided(platform)
    tasks.deliver_webhooks()
    assert asked == [platform.pk]


def test_the_beat_schedule_runs_the_sender(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "moderation.tasks.deliver_webhooks" in tasks_scheduled


# --- the endpoint API ---------------------------------------------------------------------


def test_setting_the_url_shows_a_new_secret_once_and_reading_it_never_does(api, receiver):
    response = put(api, {"url": receiver.url})

    assert response.status_code == 201
    body = response.json()
    assert body["url"] == receiver.url
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    shown = api.get("/api/v1/webhooks").json()
    assert shown["url"] == receiver.url and "secret" not in shown
    stored = WebhookEndpoint.objects.get()
    assert body["secret"] not in stored.encrypted_secret  # encrypted at rest


def test_changing_the_url_keeps_the_secret_unless_rotation_is_asked(
    platform, api, secret, receiver
):
    moved = f"http://127.0.0.1:{receiver.port}/v2/hooks"
    response = put(api, {"url": moved})

    assert response.status_code == 200
    assert response.json() == {**response.json(), "url": moved, "secret": None}
    decided(platform, 1)
    deliver(platform)
    assert receiver.verified(secret)  # still signed with the first secret

    rotated = put(api, {"url": moved, "rotate": True})
    new_secret = rotated.json()["secret"]
    assert rotated.status_code == 200 and new_secret.startswith("whsec_")
    assert new_secret != secret
    receiver.requests.clear()
    decided(platform, 2)
    deliver(platform)
    assert receiver.verified(new_secret)
    with pytest.raises(WebhookVerificationError):
        receiver.verified(secret)


def test_every_change_is_in_the_audit_trail_with_the_key_that_made_it(api, receiver, platform):
    put(api, {"url": receiver.url})
    put(api, {"url": receiver.url, "rotate": True})
    assert api.delete("/api/v1/webhooks").status_code == 204

    rows = list(AuditEvent.objects.filter(platform=platform).order_by("id"))
    rows = [r for r in rows if r.object_type == "webhook_endpoint"]
    assert [r.action for r in rows] == ["webhook.set", "webhook.set", "webhook.removed"]
    assert all(r.actor_key is not None for r in rows)
    assert [r.details.get("new_secret") for r in rows[:2]] == [True, True]
    # The URL without its query (platforms put tokens there), never the secret.
    assert rows[0].details["url"].endswith("/hooks/ledger")
    assert "whsec_" not in json.dumps([r.details for r in rows])


def test_removing_the_webhook_keeps_the_messages_until_a_new_url_is_set(
    platform, api, secret, receiver
):
    assert api.delete("/api/v1/webhooks").status_code == 204
    assert api.get("/api/v1/webhooks").status_code == 404
    assert api.delete("/api/v1/webhooks").status_code == 404
    decided(platform)

    assert deliver(platform).outcome == "no_endpoint"
    assert put(api, {"url": receiver.url}).status_code == 201  # a new secret
    assert deliver(platform).delivered == 1


def test_reading_the_webhook_before_one_is_set_is_a_404(api):
    response = api.get("/api/v1/webhooks")

    assert response.status_code == 404
    assert "PUT" in response.json()["detail"]


def test_the_webhook_api_needs_a_platform_key(client):
    assert client.get("/api/v1/webhooks").status_code in (401, 403)
    response = client.put(
        "/api/v1/webhooks",
        data=json.dumps({"url": "https://example.org/h"}),
        content_type="application/json",
    )
    assert response.status_code in (401, 403)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": 42}, "url"),
        ({"url": None}, "url"),
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"url": "https://user:pw@example.org/hook"}, "url"),
        ({"url": "https://example.org/" + "a" * 500}, "url"),
        ({"url": "https://example.org/hook", "rotate": "yes"}, "rotate"),
        ({"url": "https://example.org/hook", "secret": "whsec_mine"}, "secret"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_changes_nothing(api, dns, body, field):
    dns["example.org"] = [PUBLIC]

    response = put(api, body)

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(object_type="webhook_endpoint").exists()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.put("/api/v1/webhooks", data="{", content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        f"http://{PUBLIC}/hook",
    ],
)
def test_a_url_that_is_not_https_on_a_public_address_is_refused_by_name(api, dns, settings, url):
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = False
    dns["localhost"] = ["127.0.0.1"]

    response = put(api, {"url": url})

    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) == {"url"}
    message = json.dumps(response.json()["errors"]["url"])
    assert "https" in message or "public address" in message
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused_naming_it(api, dns, settings):
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = False
    dns["hooks.platform.example"] = [PUBLIC, "10.0.0.7"]

    response = put(api, {"url": "https://hooks.platform.example/ledger"})

    assert response.status_code == 400
    assert "10.0.0.7" in json.dumps(response.json()["errors"]["url"])


def test_an_https_url_on_public_addresses_is_accepted(api, dns, settings):
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = False
    dns["hooks.platform.example"] = [PUBLIC]

    response = put(api, {"url": "https://hooks.platform.example/ledger"})

    assert response.status_code == 201, response.json()


def test_a_url_that_turns_private_after_it_was_set_gets_nothing(
    platform, secret, receiver, settings
):
    decided(platform)
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = False  # checked again at every send

    result = deliver(platform)

    assert result.failed == 1 and receiver.requests == []
    message = WebhookMessage.objects.get()
    assert "https" in message.last_error and message.delivered_at is None


def test_a_connection_that_lands_on_a_private_address_sends_nothing(
    platform, api, receiver, dns, settings
):
    """The check resolves one way, the connection another (DNS rebinding): the address
    actually connected to is checked before a byte of the request is written."""
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = False
    dns["localhost"] = [PUBLIC]  # what the check sees; the socket still reaches 127.0.0.1
    assert put(api, {"url": f"https://localhost:{receiver.port}/hook"}).status_code == 201
    decided(platform)

    result = deliver(platform)

    assert result.failed == 1 and receiver.requests == []
    assert "not a public address" in WebhookMessage.objects.get().last_error


# --- admin --------------------------------------------------------------------------------


def test_the_admin_shows_endpoints_and_messages_read_only_without_the_secret(
    admin_client, platform, secret, receiver
):
    message = decided(platform)
    deliver(platform)
    endpoint = WebhookEndpoint.objects.get()

    pages = [
        admin_client.get("/admin/moderation/webhookendpoint/"),
        admin_client.get(f"/admin/moderation/webhookendpoint/{endpoint.pk}/change/"),
        admin_client.get("/admin/moderation/webhookmessage/"),
        admin_client.get(f"/admin/moderation/webhookmessage/{message.pk}/change/"),
    ]

    assert [page.status_code for page in pages] == [200] * 4
    html = "".join(page.content.decode() for page in pages)
    assert message.msg_id in html and "delivered" in html
    assert secret not in html and endpoint.encrypted_secret not in html
    assert admin_client.get("/admin/moderation/webhookmessage/add/").status_code == 403


def test_staff_can_send_given_up_messages_again_from_the_admin(
    admin_client, admin_user, platform, secret, receiver, kicks
):
    given_up = decided(platform, 1)
    delivered = decided(platform, 2)
    WebhookMessage.objects.filter(pk=given_up.pk).update(
        attempts=webhooks.MAX_ATTEMPTS, failed_at=timezone.now(), last_error="HTTP 503: down"
    )
    deliver(platform)  # delivers the other one

    response = admin_client.post(
        "/admin/moderation/webhookmessage/",
        {"action": "send_again", "_selected_action": [given_up.pk, delivered.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 message(s) will be sent again" in response.content.decode()
    given_up.refresh_from_db()
    assert given_up.failed_at is None and given_up.attempts == 0
    audit = AuditEvent.objects.get(action="webhook.message_rearmed")
    assert audit.actor_user == admin_user and audit.object_id == given_up.msg_id
    assert deliver(platform).delivered == 1
    assert receiver.ids() == [delivered.msg_id, given_up.msg_id]


# --- PostgreSQL: claims and commits across connections -----------------------------------


def run_in_thread(target: Any, results: dict[str, Any], key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = target()
        except BaseException as exc:
            results[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_is_sent_only_once_its_transaction_commits(
    flushable_append_only_tables, platform, secret, receiver, kicks
):
    results: dict[str, Any] = {}
    with transaction.atomic():
        decided(platform)
        # Another worker, on its own connection, while the change is not committed yet.
        run_in_thread(lambda: deliver(platform).outcome, results, "before").join(timeout=30)
        assert kicks == []
    run_in_thread(lambda: deliver(platform).delivered, results, "after").join(timeout=30)

    assert results == {"before": "idle", "after": 1}
    assert kicks == [platform.pk]  # asked for once committed
    assert len(receiver.verified(secret)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_network_call_is_made_inside_a_transaction(
    flushable_append_only_tables, platform, secret
):
    seen: list[bool] = []

    def send(url: str, body: bytes, headers: dict[str, str]) -> webhooks.Answer:
        seen.append(connection.in_atomic_block)
        return webhooks.Answer(status=200)

    decided(platform)
    webhooks.deliver_due_messages(platform=platform, send=send)

    assert seen == [False]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_never_send_the_same_message_twice(
    flushable_append_only_tables, platform, secret, receiver
):
    messages = [decided(platform, n) for n in range(70)]
    barrier = threading.Barrier(4)
    results: dict[str, Any] = {}

    def work() -> int:
        barrier.wait(timeout=10)
        delivered = 0
        while (result := webhooks.deliver_due_messages(platform=platform)).delivered:
            delivered += result.delivered
        return delivered

    threads = [run_in_thread(work, results, f"w{i}") for i in range(4)]
    for thread in threads:
        thread.join(timeout=60)

    assert sum(results.values()) == 70, results
    assert sorted(receiver.ids()) == sorted(m.msg_id for m in messages)  # each exactly once
    assert not WebhookMessage.objects.filter(delivered_at__isnull=True).exists()
    assert len(receiver.verified(secret)) == 70


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_late_run_does_not_overwrite_a_newer_claim(
    flushable_append_only_tables, platform, secret, receiver
):
    """A run that outlives its lease finds its rows claimed again: its outcome is dropped."""
    message = decided(platform)
    started = timezone.now()
    results: dict[str, Any] = {}
    sending = threading.Event()
    release = threading.Event()

    def slow_send(url: str, body: bytes, headers: dict[str, str]) -> webhooks.Answer:
        sending.set()
        release.wait(timeout=10)
        return webhooks.Answer(status=500, error="HTTP 500: late")

    worker = run_in_thread(
        lambda: webhooks.deliver_due_messages(platform=platform, now=started, send=slow_send),
        results,
        "late",
    )
    assert sending.wait(timeout=10)
    after_lease = started + webhooks.LEASE + dt.timedelta(seconds=1)
    newer = webhooks.deliver_due_messages(platform=platform, now=after_lease)
    release.set()
    worker.join(timeout=30)

    assert newer.delivered == 1
    message.refresh_from_db()
    assert message.delivered_at is not None and message.last_error == ""
    assert receiver.ids() == [message.msg_id]
