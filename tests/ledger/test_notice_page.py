"""The page a creator reaches from the notice link the platform handed them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connections

from ledger import log, note
from moderation import services
from tests.factories import as_input, decision_payload, human_payload

DOCS = Path(__file__).resolve().parents[2] / "docs"


def record(platform, **overrides):
    return services.record_decision(
        platform=platform, decision=as_input(decision_payload(**overrides))
    )


@pytest.mark.django_db
def test_the_notice_shows_a_silent_restriction_with_its_model_and_reason(
    client, platform, model_v1
):
    recorded = record(platform, internal_notes="reviewer suspects chess talk")

    response = client.get(f"/notice/{recorded.notice_token}")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Visibility restriction" in page
    assert "Excluded from search" in page
    assert 'id="silent-warning"' in page
    assert "hate-speech version v1" in page and "score 0.930 against threshold 0.800" in page
    assert "Community guidelines, section 4.2" in page
    assert "reviewer suspects chess talk" not in page  # internal notes stay internal


@pytest.mark.django_db
def test_the_notice_lists_every_decision_about_the_same_content(client, platform, model_v1):
    original = record(platform, subject={"account": "u1", "content": "chess-post"})
    reversal = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(
                subject={"account": "u1", "content": "chess-post"},
                decision_type="DECISION_TYPE_REVERSAL",
                decision_visibility=[],
                supersedes=str(original.public_id),
                decided_at="2026-11-20T10:00:00Z",
            )
        ),
    )
    record(platform, subject={"account": "u1", "content": "another-post"})

    page = client.get(f"/notice/{reversal.notice_token}").content.decode()

    assert page.count("<tr") == 3  # header, the original, the reversal; not the other post
    assert "Reversal" in page and "changes an earlier decision" in page


@pytest.mark.django_db
def test_an_unknown_notice_token_is_a_404(client):
    assert client.get("/notice/not-a-real-token").status_code == 404


@pytest.mark.django_db
def test_the_notice_link_is_kept_out_of_referrers_caches_and_search(client, platform, model_v1):
    recorded = record(platform)

    response = client.get(f"/notice/{recorded.notice_token}")

    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


@pytest.mark.browser
def test_a_creator_opens_the_notice_link_from_the_api_in_a_browser(
    live_server, flushable_append_only_tables, browser_page, platform, api_key, model_v1
):
    page = browser_page
    # The platform records the decision over HTTP, as its client would, and gets the link.
    response = page.request.post(
        f"{live_server.url}/api/v1/decisions",
        data=json.dumps(decision_payload(puid="browser-1", subject={"content": "chess-video"})),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()
    link = response.json()["notice_url"]
    assert link.startswith(live_server.url)

    page.goto(link)

    assert page.locator("#decision-title").inner_text() == "Visibility restriction"
    assert "Excluded from search" in page.locator("dl").inner_text()
    assert page.locator("#silent-warning").is_visible()
    assert "hate-speech version v1" in page.locator("#model").inner_text()
    # Once the log signs its next checkpoint, the creator can download a receipt.
    assert page.locator("#receipt-link").count() == 0
    log.seal_checkpoint()
    # Inside Playwright's event loop Django opens a connection of its own for this context;
    # close it, or the test database cannot be dropped at the end of the session.
    connections.close_all()
    page.reload()
    with page.expect_download() as download:
        page.locator("#receipt-link").click()
    receipt = Path(download.value.path()).read_bytes()
    leaf = bytes.fromhex(page.locator("#leaf-hash").inner_text())
    assert note.verify_tlog_proof(receipt, leaf, [log.signer().verifier], log.origin())
    connections.close_all()
    if os.environ.get("LEDGER_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / "notice-page.png"), full_page=True)
