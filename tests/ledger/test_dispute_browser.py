"""A creator whose video went to a certified dispute settlement body follows the case on their
notice page, on a phone (390 px) and a laptop: who took it there, the body, the dates, the
outcome and whether the platform implemented it, read without scrolling sideways, with nothing
serious for an accessibility check (axe-core).

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves the phone's as
docs/notice-dispute-390.png instead.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from appeals.disputes import record_implementation, record_ruling, refer_dispute
from moderation import services
from moderation.models import Decision, Platform
from tests.factories import as_input, decision_payload
from tests.ledger import test_notice_browser
from tests.ledger.test_notice_browser import LAPTOP, PHONE, scrolls_sideways, serious_violations

DOCS = Path(__file__).resolve().parents[2] / "docs"
BODY = "Appeals Centre Europe"

# The notice page's browser fixture (headless Chromium; skips where it is missing).
chromium = test_notice_browser.chromium
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def chess_video(platform: Platform) -> Decision:
    return record(
        platform,
        decision_payload(
            puid="chess-video-9",
            subject={"account": "chess-teacher", "content": "video-9"},
            content_type=["CONTENT_TYPE_VIDEO"],
            decided_at="2026-11-02T08:30:00+00:00",
            incompatible_content_explanation="The video's speech was classified as hate speech "
            "(phrases such as 'white attacks black').",
        ),
    )


def test_a_creator_follows_an_out_of_court_dispute_on_a_phone_and_a_laptop(
    live_server, flushable_append_only_tables, chromium, platform, model_v1, tmp_path
):
    decision = chess_video(platform)
    dispute = refer_dispute(
        decision=decision,
        complainant="subject",
        body=BODY,
        referred_at=datetime(2026, 11, 5, 8, 30, tzinfo=UTC),
        actor="tests",
    )
    link = f"{live_server.url}/notice/{decision.notice_token}"
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path

    phone = chromium.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(link)
    section = phone.locator("#disputes")
    assert section.locator("h2").inner_text() == "Out-of-court dispute"
    assert "You took this decision to Appeals Centre Europe" in section.inner_text()
    assert phone.locator(".dispute-outcome").inner_text() == "Waiting for the body's decision."
    assert phone.locator(".dispute-implemented").count() == 0
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []

    record_ruling(
        dispute=dispute,
        outcome="overturned",
        decided_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
        actor="tests",
    )
    record_implementation(
        dispute=dispute,
        implemented=True,
        implemented_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        actor="tests",
    )
    connections.close_all()

    phone.goto(link)
    assert phone.locator(".dispute-referred").inner_text() == "5 November 2026, 08:30 UTC"
    assert phone.locator(".dispute-decided").inner_text() == "20 November 2026, 15:30 UTC"
    assert phone.locator(".dispute-outcome").inner_text() == (
        "The body found the decision wrong: it should be reversed."
    )
    assert phone.locator(".dispute-implemented").inner_text() == (
        "Yes, on 21 November 2026, 09:00 UTC."
    )
    assert phone.locator("#disputes").is_visible()
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []
    phone.evaluate("document.getElementById('disputes').scrollIntoView()")
    phone.screenshot(path=str(shots / "notice-dispute-390.png"))

    laptop = chromium.new_page(viewport=LAPTOP)
    laptop.goto(link)
    assert laptop.locator(".dispute-outcome").is_visible()
    # On a wide screen the facts sit beside their labels, as elsewhere on the page.
    label = laptop.locator("#dispute-1 dt").first.bounding_box()
    value = laptop.locator("#dispute-1 dd").first.bounding_box()
    assert label is not None and value is not None
    assert value["x"] > label["x"] + label["width"]
    assert abs(value["y"] - label["y"]) < 5
    assert not scrolls_sideways(laptop)
    assert serious_violations(laptop) == []


def test_a_long_name_and_several_disputes_still_fit_a_phone(
    live_server, flushable_append_only_tables, chromium, platform, model_v1
):
    decision = chess_video(platform)
    for n, body in enumerate(["x" * 200, "Online Dispute Resolution Board " * 6]):
        refer_dispute(
            decision=decision,
            complainant="subject",
            body=body,
            referred_at=datetime(2026, 11, 5 + n, 8, 30, tzinfo=UTC),
            actor="tests",
        )
    connections.close_all()

    phone = chromium.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"{live_server.url}/notice/{decision.notice_token}")

    assert phone.locator("#disputes h2").inner_text() == "Out-of-court disputes"
    assert phone.locator(".dispute").count() == 2
    assert not scrolls_sideways(phone)
