"""The whole appeal path, over HTTP and in a real browser (Debian's Chromium):

1. a platform sets its webhook endpoint (`PUT /api/v1/webhooks`) and records a shadowban over
   the API, which answers with the creator's notice link;
2. the creator opens the link on a phone-sized screen and appeals;
3. a reviewer signs in to the admin, claims the appeal and overturns it with a reason;
4. the creator reloads the notice: the outcome, the reason and the reversal are shown;
5. the webhook task runs, and the platform's receiver verifies every message's signature with
   the `standardwebhooks` library, as a platform would.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from standardwebhooks import Webhook, WebhookVerificationError

from appeals.models import Appeal, AppealStatus, Outcome, Review
from moderation import webhooks
from moderation.models import Decision, ModelVersion, Platform
from moderation.tasks import deliver_platform_webhooks
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import decision_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATEMENT = "My chess video was hidden from search. 'White knight captures black queen' is a move."
REASON = "Chess notation, not hate speech: the classifier was wrong. Your video is shown again."
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class Receiver:
    """The platform's webhook receiver on 127.0.0.1: keeps every request, answers 204."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ledger"


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
def kicks(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[int]:
    """The receiver is on 127.0.0.1, which production refuses; the after-commit kick to the
    broker (a process boundary) is recorded here, and the task is run by the test itself."""
    settings.LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS = True
    asked: list[int] = []
    monkeypatch.setattr(webhooks, "_kick", asked.append)
    return asked


def call_api(method: str, url: str, key: str, body: Any) -> tuple[int, Any]:
    # `url` is the live server's, built by this test: http only.
    request = urllib.request.Request(  # noqa: S310
        url,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def test_a_creator_appeals_on_a_phone_a_reviewer_overturns_and_the_platform_is_told(
    live_server: Any,
    platform: Platform,
    model_v1: ModelVersion,
    api_key: str,
    receiver: Receiver,
    kicks: list[int],
    tmp_path: Path,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")

    # 1. The platform, over HTTP with its API key.
    status, webhook = call_api(
        "PUT", f"{live_server.url}/api/v1/webhooks", api_key, {"url": receiver.url}
    )
    assert status == 201
    secret = webhook["secret"]
    status, created = call_api(
        "POST",
        f"{live_server.url}/api/v1/decisions",
        api_key,
        decision_payload(
            puid="chess-shadowban",
            subject={"account": "creator-1", "content": "chess-video-9"},
            decision_facts="The classifier flagged the video's title above its threshold.",
        ),
    )
    assert status == 201
    notice_url = created["notice_url"]
    assert notice_url.startswith(live_server.url)

    # The reviewer, made as an operator would; a password so they can sign in to the admin.
    call_command("create_reviewer", "rita", "--platform", platform.slug)
    rita = User.objects.get(username="rita")
    rita.set_password("password")
    rita.save(update_fields=["password"])
    queue_path = "/admin/appeals/reviewitem/my-queue/"

    # No ORM call inside this block: Playwright's sync API keeps an event loop in this thread.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        creator = browser.new_context(viewport=PHONE).new_page()
        creator.set_default_timeout(15_000)

        # 2. The creator, on a phone, appeals.
        creator.goto(notice_url)
        assert "search" in creator.inner_text("#what").lower()
        creator.fill("#statement", STATEMENT)
        creator.click("#appeal-submit")
        creator.wait_for_selector("#appeal-status")
        assert STATEMENT in (creator.text_content("#appeal-statement") or "")
        assert "Filed" in creator.inner_text("#appeal-state")
        deadline = creator.inner_text("#appeal-deadline")
        assert deadline
        assert creator.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        # 3. The reviewer, on a laptop, claims it and overturns it with a reason.
        admin = browser.new_context(viewport=DESKTOP).new_page()
        admin.set_default_timeout(15_000)
        admin.goto(f"{live_server.url}/admin/login/?next={queue_path}")
        admin.fill("#id_username", "rita")
        admin.fill("#id_password", "password")
        admin.click("input[type=submit]")
        admin.wait_for_url(f"**{queue_path}")
        admin.click("#claim-next")
        admin.wait_for_url("**/change/")
        assert admin.inner_text("#appeal-statement") == STATEMENT
        assert "chess-shadowban" in admin.inner_text("#decision-summary")
        admin.check("input[name=outcome][value=overturned]")
        admin.fill("#id_reason", REASON)
        admin.click("#decide-submit")
        admin.wait_for_url(f"**{queue_path}")
        assert "Appeal overturned" in admin.inner_text(".messagelist .success")

        # 4. The creator reloads: the outcome, the reviewer's reason, and the reversal.
        creator.reload()
        banner = creator.inner_text("#changed")
        assert "reversed" in banner
        assert REASON in creator.inner_text("#change-reason")
        assert "succeeded" in creator.inner_text("#appeal-outcome")
        assert REASON in creator.inner_text("#appeal-reason")
        creator.screenshot(path=str(tmp_path / "notice-after-appeal.png"), full_page=True)
        assert creator.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        reversal_link = creator.get_attribute("#reversal-link", "href")
        assert reversal_link is not None
        creator.click("#reversal-link")
        creator.wait_for_url(f"**{reversal_link}")
        assert REASON in creator.inner_text("body")
        browser.close()

    appeal = Appeal.objects.get()
    assert appeal.status == AppealStatus.OVERTURNED
    review = Review.objects.get(appeal=appeal)
    assert (review.outcome, review.reason) == (Outcome.OVERTURNED, REASON)
    assert review.reversal is not None
    original = Decision.objects.get(public_id=created["id"])
    assert review.reversal.supersedes_id == original.pk
    # The creator's link leads to the reversal's own notice page.
    assert reversal_link.endswith(review.reversal.notice_token)

    # 5. The webhook task runs (the kicks asked for it after each commit); the platform verifies.
    assert platform.pk in kicks
    assert deliver_platform_webhooks(platform.pk) == "sent"
    verified = [Webhook(secret).verify(body, headers) for body, headers in receiver.requests]
    by_type = {message["type"]: message["data"] for message in verified}
    decided = by_type["appeal.decided"]
    assert decided["appeal"] == str(appeal.public_id)
    assert decided["decision"] == str(original.public_id)
    assert decided["outcome"] == "overturned"
    assert decided["reason"] == REASON
    assert decided["reversal"] == str(review.reversal.public_id)
    assert by_type["appeal.filed"]["appeal"] == str(appeal.public_id)
    # A message signed with another secret would not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(*receiver.requests[0])
