"""The page a creator reaches from the notice link the platform handed them: what was decided in
plain words first, then why, how, for how long and where, what they can do, and the log receipt
for auditors last."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from appeals.services import appeal_window_closes
from ledger import log, note
from moderation import services
from moderation.models import Decision, Platform
from moderation.vocabulary import Country
from tests.factories import as_input, decision_payload, human_payload

DOCS = Path(__file__).resolve().parents[2] / "docs"
SUBJECT = {"account": "chess-teacher", "content": "video-1"}


def record(platform: Platform, **overrides: Any) -> Decision:
    recorded = services.record_decision(
        platform=platform, decision=as_input(decision_payload(**overrides))
    )
    return Decision.objects.get(public_id=recorded.public_id)


def record_human(platform: Platform, **overrides: Any) -> Decision:
    recorded = services.record_decision(
        platform=platform, decision=as_input(human_payload(**overrides))
    )
    return Decision.objects.get(public_id=recorded.public_id)


def text_of(response: Any) -> str:
    """The page's words as a person reads them: tags dropped, whitespace collapsed."""
    html = response.content.decode()
    html = html[html.index("<body") :]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def section(page: str, start: str, end: str | None = None) -> str:
    tail = page[page.index(start) :]
    return tail[: tail.index(end)] if end else tail


@pytest.mark.django_db
def test_a_shadowban_is_told_in_plain_words_first_with_why_how_and_where(
    client, platform, model_v1
):
    decision = record(
        platform,
        subject=SUBJECT,
        content_type=["CONTENT_TYPE_VIDEO"],
        internal_notes="reviewer suspects chess talk",
    )

    response = client.get(f"/notice/{decision.notice_token}")

    assert response.status_code == 200
    page = text_of(response)
    html = response.content.decode()
    # The first words are what happened to the video, not a field name.
    assert re.search(r'<h1 id="decision-title">Your video is not shown in search</h1>', html)
    assert page.index("Your video is not shown in search") < page.index("Why")
    assert 'id="silent-warning"' in html and "shadowban" in page
    assert "No end date was set." in page
    # Why: the rule, the explanation and the platform's statement of facts.
    why = section(page, "Why", "Was it a machine or a person?")
    assert "VidShare considers that it breaks its rules: Community guidelines, section 4.2" in why
    assert "The post was classified as hate speech." in why
    assert "Automated classifier flagged the text above its threshold." in why
    assert "Illegal or harmful speech: hate speech" in why
    # How: a machine found it and decided it, which model version, with what score.
    how = section(page, "Was it a machine or a person?", "How long, and where")
    assert "A machine found it" in how
    assert "A machine decided, without a person checking." in how
    assert "hate-speech version v1" in how
    assert "score of 0.930 against threshold 0.800" in how
    assert "https://models.example.org/hate-speech/v1" in html
    # How long and where.
    where = section(page, "How long, and where", "What you can do")
    assert "2 November 2026" in where and "Germany and France" in where
    # What the creator can do, and by when.
    options = section(page, "What you can do", "For auditors")
    closes = appeal_window_closes(decision)
    assert f"You can appeal until {closes:%-d %B %Y}" in options
    assert "dispute settlement body" in options and "Article 21" in options
    assert "court" in options
    assert "reviewer suspects chess talk" not in page  # internal notes stay internal


@pytest.mark.django_db
def test_the_hashes_and_the_receipt_are_in_a_section_for_auditors_at_the_end(
    client, platform, model_v1
):
    decision = record(platform)
    log.seal_checkpoint()

    page = text_of(client.get(f"/notice/{decision.notice_token}"))

    auditors = section(page, "For auditors")
    leaf = bytes(decision.log_entry.leaf_hash).hex()
    assert leaf in auditors and leaf not in page[: page.index("For auditors")]
    assert str(decision.public_id) in auditors
    assert "public log" in auditors
    assert "Download the receipt" in auditors


@pytest.mark.parametrize(
    ("overrides", "headline", "sentences"),
    [
        (
            {
                "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
                "content_type": ["CONTENT_TYPE_IMAGE"],
            },
            "Your image was removed",
            ["It does not end by itself"],
        ),
        (
            {
                "decision_visibility": [
                    "DECISION_VISIBILITY_RECOMMENDATIONS_EXCLUDED",
                    "DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS",
                ],
                "end_date_visibility_restriction": "2026-12-24",
            },
            "VidShare limited who can see your post",
            [
                "Your post is not recommended to other people.",
                "Only your followers can see your post.",
                "Until 24 December 2026.",
            ],
        ),
        (
            {
                "decision_visibility": None,
                "decision_account": "DECISION_ACCOUNT_SUSPENDED",
                "end_date_account_restriction": "2027-01-05",
                "subject": {"account": "someone"},
            },
            "Your account is suspended",
            ["Until 5 January 2027."],
        ),
        (
            {
                "decision_visibility": None,
                "decision_monetary": "DECISION_MONETARY_SUSPENSION",
            },
            "Payments to you (for example a share of advertising income) are suspended",
            ["No end date was set."],
        ),
        (
            {"decision_type": "DECISION_TYPE_NO_ACTION", "decision_visibility": None},
            "VidShare took no action against your post",
            ["VidShare decided to take no action against your post."],
        ),
    ],
)
@pytest.mark.django_db
def test_each_kind_of_decision_is_said_in_plain_words(
    client, platform, model_v1, overrides, headline, sentences
):
    decision = record(platform, **overrides)

    response = client.get(f"/notice/{decision.notice_token}")

    assert response.status_code == 200, text_of(response)[:500]
    page = text_of(response)
    assert f'<h1 id="decision-title">{headline}</h1>' in response.content.decode()
    for sentence in sentences:
        assert sentence in page


@pytest.mark.django_db
def test_a_restriction_everywhere_in_the_eea_says_so(client, platform, model_v1):
    eea = list(Country.values)
    decision = record(platform, territorial_scope=eea)

    page = text_of(client.get(f"/notice/{decision.notice_token}"))

    assert "The whole European Economic Area" in page


@pytest.mark.django_db
def test_a_reversed_decision_says_so_at_the_top_with_the_new_outcome_and_reason(
    client, platform, model_v1
):
    original = record(
        platform,
        subject=SUBJECT,
        content_type=["CONTENT_TYPE_VIDEO"],
        decided_at="2026-11-02T08:30:00Z",
    )
    recorded = services.reverse_decision(
        decision=original,
        reason="A reviewer watched the video: it is a chess lesson, not hate speech.",
        decided_at=original.decided_at + timedelta(days=1),
    )
    reversal = Decision.objects.get(public_id=recorded.public_id)

    response = client.get(f"/notice/{original.notice_token}")
    html = response.content.decode()
    page = text_of(response)

    assert page.index("This decision was reversed") < page.index("Your video is not shown")
    banner = section(page, "This decision was reversed", "Your video is not shown")
    assert "VidShare reversed its earlier decision: what it restricted is lifted." in banner
    assert "it is a chess lesson, not hate speech." in banner
    assert f'href="/notice/{reversal.notice_token}" id="change-link"' in html
    # The reversal's own page says what it changes and links back.
    back = client.get(f"/notice/{reversal.notice_token}")
    back_page = text_of(back)
    assert "VidShare reversed an earlier decision about your video" in back_page
    assert "This decision changes an earlier one: Your video is not shown in search." in back_page
    assert f'href="/notice/{original.notice_token}"' in back.content.decode()
    assert "cannot be appealed here" in back_page


@pytest.mark.django_db
def test_every_decision_about_the_same_content_is_listed_with_a_link_to_its_own_page(
    client, platform, model_v1
):
    flag = record(
        platform,
        subject=SUBJECT,
        decision_type="DECISION_TYPE_FLAG",
        decision_visibility=None,
        decided_at="2026-11-02T08:00:00Z",
    )
    shadowban = record(platform, subject=SUBJECT, decided_at="2026-11-02T09:00:00Z")
    reversal = record_human(
        platform,
        subject=SUBJECT,
        decision_type="DECISION_TYPE_REVERSAL",
        decision_visibility=None,
        supersedes=str(shadowban.public_id),
        decided_at="2026-11-20T10:00:00Z",
    )
    other = record(platform, subject={"account": "chess-teacher", "content": "another-post"})

    response = client.get(f"/notice/{shadowban.notice_token}")
    html = response.content.decode()
    chain = html[html.index('id="chain"') : html.index("</ol>", html.index('id="chain"'))]

    assert chain.count("<li") == 3
    assert f'href="/notice/{flag.notice_token}"' in chain
    assert f'href="/notice/{reversal.notice_token}"' in chain
    assert 'aria-current="page"' in chain and shadowban.notice_token not in chain
    assert other.notice_token not in html
    assert "Changes an earlier decision." in chain


@pytest.mark.django_db
def test_an_unknown_notice_token_is_a_404(client):
    assert client.get("/notice/not-a-real-token").status_code == 404
    assert client.get("/notice/" + "x" * 200).status_code == 404


@pytest.mark.django_db
def test_the_notice_link_is_kept_out_of_other_sites_referrers_caches_and_search(
    client, platform, model_v1
):
    decision = record(platform)

    response = client.get(f"/notice/{decision.notice_token}")

    # same-origin: no other site sees the link, and the page's own form keeps its Origin.
    assert response["Referrer-Policy"] == "same-origin"
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

    assert page.locator("#decision-title").inner_text() == "Your post is not shown in search"
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


@pytest.mark.django_db
def test_the_rule_relied_on_is_named_with_its_clause_version_and_link(client, platform, model_v1):
    services.register_policy(
        platform=platform,
        key="hateful-conduct",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="Community guidelines, section 4.2",
        url="https://vidshare.example/rules#hate",
    )
    services.register_policy(
        platform=platform,
        key="hateful-conduct",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="Community guidelines, section 4.3",
        url="https://vidshare.example/rules#hate",
    )
    decision = record(platform, policy="hateful-conduct", policy_version=2)

    response = client.get(f"/notice/{decision.notice_token}")

    why = section(text_of(response), "Why", "Was it a machine or a person?")
    assert "Hateful conduct, version 2 (Community guidelines, section 4.3)." in why
    assert 'href="https://vidshare.example/rules#hate" rel="noreferrer">Read the rule' in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_a_decision_changed_to_a_lighter_measure_says_what_applies_now(client, platform, model_v1):
    removal = record(
        platform,
        subject=SUBJECT,
        content_type=["CONTENT_TYPE_VIDEO"],
        decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"],
        decided_at="2026-11-02T08:30:00Z",
    )
    services.reverse_decision(
        decision=removal,
        reason="Too harsh for a first case: it stays up, but out of search.",
        measure=services.Measure(decision_visibility=("DECISION_VISIBILITY_SEARCH_EXCLUDED",)),
        decided_at=removal.decided_at + timedelta(days=1),
    )

    page = text_of(client.get(f"/notice/{removal.notice_token}"))

    banner = section(
        page, "This decision was changed on 3 November 2026.", "Your video was removed"
    )
    assert "What applies now: Your video is not shown in search." in banner
    assert "Too harsh for a first case" in banner


@pytest.mark.django_db
def test_the_notifiers_page_lists_the_decisions_without_links_into_the_subjects_pages(
    client, platform
):
    reported = record_human(
        platform,
        subject=SUBJECT,
        notifier="reporter-1",
        decided_at="2026-11-02T08:30:00Z",
    )
    reversal = Decision.objects.get(
        public_id=services.reverse_decision(
            decision=reported,
            reason="Satire, not incitement.",
            decided_at=reported.decided_at + timedelta(days=1),
        ).public_id
    )
    log.seal_checkpoint()

    response = client.get(f"/notice/{reported.notifier_token}")
    html = response.content.decode()
    page = text_of(response)

    assert "This decision was reversed" in page and "Satire, not incitement." in page
    assert 'id="chain"' in html and "/notice/" + reversal.notice_token not in html
    for secret in (reported.notice_token, reported.subject_account, reported.subject_content):
        assert secret not in html
    receipt = f"/notice/{reported.notifier_token}/receipt.tlog-proof"
    assert receipt in html
    assert client.get(receipt).status_code == 200
