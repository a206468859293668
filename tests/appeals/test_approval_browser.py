"""A creator whose account termination a reviewer proposed to uphold reads, on a phone (390 px)
and a laptop, that the answer waits for a second reviewer's approval, then the answer once it
is approved: without scrolling sideways, with nothing serious for axe-core.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves the phone's as
docs/notice-awaiting-approval-390.png instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

from appeals.services import answer_proposal, claim_next_review, file_appeal, resolve_appeal
from moderation import services
from moderation.models import Decision
from tests.factories import as_input, human_payload, make_reviewer
from tests.ledger import test_notice_browser
from tests.ledger.test_notice_browser import LAPTOP, PHONE, scrolls_sideways, serious_violations

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROPOSED = "The account posted the same threats again after two suspensions."

# The notice page's browser fixture (headless Chromium; skips where it is missing).
chromium = test_notice_browser.chromium
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_creator_reads_that_the_answer_waits_for_a_second_reviewer(
    live_server, flushable_append_only_tables, chromium, platform, tmp_path
):
    recorded = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(decision_visibility=None, decision_account="DECISION_ACCOUNT_TERMINATED")
        ),
    )
    terminated = Decision.objects.get(public_id=recorded.public_id)
    file_appeal(
        decision=terminated,
        appellant="subject",
        statement="Those posts were quotes I was reporting, not threats of mine.",
    )
    proposer, approver = make_reviewer(platform, "paula"), make_reviewer(platform, "adam")
    item = claim_next_review(reviewer=proposer)
    assert item is not None
    resolve_appeal(
        reviewer=proposer, item=item, version=item.version, outcome="upheld", reason=PROPOSED
    )
    connections.close_all()
    link = f"{live_server.url}/notice/{terminated.notice_token}"
    shots = DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path

    for viewport in (PHONE, LAPTOP):
        page = chromium.new_page(viewport=viewport, is_mobile=viewport is PHONE)
        page.goto(link)
        waiting = page.locator("#appeal-awaiting-approval")
        assert waiting.is_visible()
        assert waiting.inner_text().startswith(
            "The answer to your appeal is waiting for a second reviewer's approval."
        )
        assert page.locator("#appeal-state").inner_text() == "Awaiting a second approval"
        assert page.locator("#appeal-outcome").count() == 0
        assert PROPOSED not in page.content()
        assert not scrolls_sideways(page)
        assert serious_violations(page) == []
        if viewport is PHONE:
            page.evaluate("document.getElementById('options').scrollIntoView()")
            page.screenshot(path=str(shots / "notice-awaiting-approval-390.png"))
        page.close()

    held = claim_next_review(reviewer=approver)
    assert held is not None
    answer_proposal(
        reviewer=approver,
        item=held,
        version=held.version,
        approve=True,
        reason="Read the posts: they are his own.",
    )
    connections.close_all()
    phone = chromium.new_page(viewport=PHONE, is_mobile=True)
    phone.goto(link)
    assert phone.locator("#appeal-awaiting-approval").count() == 0
    assert phone.locator("#appeal-state").inner_text() == "Upheld"
    assert "did not succeed" in phone.locator("#appeal-outcome").inner_text()
    assert phone.locator("#appeal-reason").inner_text() == PROPOSED
    assert not scrolls_sideways(phone)
    assert serious_violations(phone) == []
