"""Appealing from the notice page: a form that works without JavaScript, protected against
cross-site posts, that names every problem and writes nothing on a bad one; then the appeal's
status, deadline, outcome and reason. The notifier's page speaks to the person who reported."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from appeals.models import Appeal, AppealStatus, Appellant
from appeals.services import claim_next_review, resolve_appeal
from ledger.models import LogEntry
from moderation import services
from moderation.models import Decision, Platform
from tests.factories import as_input, decision_payload, human_payload, make_reviewer
from tests.ledger.test_notice_page import text_of

pytestmark = pytest.mark.django_db

SUBJECT = {"account": "chess-teacher", "content": "video-1"}
STATEMENT = "My video teaches chess openings; the 'attack' is on the king, not on anyone."


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


@pytest.fixture
def shadowban(platform: Platform, model_v1: Any) -> Decision:
    return record(
        platform,
        decision_payload(
            subject=SUBJECT,
            content_type=["CONTENT_TYPE_VIDEO"],
            decided_at="2026-11-02T08:30:00+00:00",
        ),
    )


@pytest.fixture
def reported(platform: Platform) -> Decision:
    """A human removal of an image after a user's notice, whose notifier has a link of their own."""
    return record(
        platform,
        human_payload(
            subject={"account": "poster-1", "content": "image-9"},
            notifier="reporter-42",
            decided_at="2026-11-02T08:30:00+00:00",
        ),
    )


def counts() -> tuple[int, int]:
    return Appeal.objects.count(), LogEntry.objects.count()


def appeal(client: Client, token: str, statement: str) -> Any:
    return client.post(f"/notice/{token}", {"statement": statement})


def decide(platform: Platform, outcome: str, reason: str) -> Any:
    reviewer = make_reviewer(platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    return resolve_appeal(
        reviewer=reviewer, item=item, version=item.version, outcome=outcome, reason=reason
    )


def test_the_form_files_the_appeal_and_the_page_then_shows_its_status_and_deadline(
    client, shadowban
):
    response = appeal(client, shadowban.notice_token, STATEMENT)

    assert response.status_code == 303
    assert response["Location"] == f"/notice/{shadowban.notice_token}#your-appeal"
    filed = Appeal.objects.get()
    assert (filed.decision, filed.appellant, filed.statement) == (
        shadowban,
        Appellant.SUBJECT,
        STATEMENT,
    )
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'id="appeal-form"' not in html
    assert re.search(r'id="appeal-state">Filed<', html)
    assert f"{filed.deadline_at:%-d %B %Y, %H:%M} UTC" in text_of(page)
    assert "A person at VidShare, not a machine, reviews your appeal" in text_of(page)
    # The holder sees what they wrote.
    assert "the &#x27;attack&#x27; is on the king" in html


def test_an_empty_statement_is_refused_next_to_the_form_and_nothing_is_written(client, shadowban):
    before = counts()

    response = appeal(client, shadowban.notice_token, "   \r\n  ")

    assert response.status_code == 400
    assert counts() == before
    html = response.content.decode()
    assert 'id="appeal-errors"' in html and 'aria-invalid="true"' in html
    assert "The statement is empty: say why the decision is wrong." in html
    assert 'aria-describedby="statement-hint statement-error"' in html
    assert "<title>Error: " in html


def test_a_too_long_statement_is_refused_and_kept_in_the_form(client, shadowban):
    typed = "Chess! " * 800  # 5,600 characters

    response = appeal(client, shadowban.notice_token, typed)

    assert response.status_code == 400
    assert Appeal.objects.count() == 0
    html = response.content.decode()
    assert "at most 5000 are allowed" in html
    assert f">{typed}</textarea>" in html


def test_line_breaks_count_as_one_character_as_the_person_typed_them(client, shadowban):
    response = appeal(client, shadowban.notice_token, "First line.\r\nSecond line.")

    assert response.status_code == 303
    assert Appeal.objects.get().statement == "First line.\nSecond line."


def test_a_post_without_the_csrf_token_is_refused(shadowban):
    strict = Client(enforce_csrf_checks=True)

    refused = appeal(strict, shadowban.notice_token, STATEMENT)
    assert refused.status_code == 403
    assert Appeal.objects.count() == 0

    form = strict.get(f"/notice/{shadowban.notice_token}").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    accepted = strict.post(
        f"/notice/{shadowban.notice_token}",
        {"statement": STATEMENT, "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
    )
    assert accepted.status_code == 303
    assert Appeal.objects.count() == 1


def test_a_second_appeal_is_refused_with_the_reason_and_the_first_is_shown(client, shadowban):
    appeal(client, shadowban.notice_token, STATEMENT)
    before = counts()

    again = appeal(client, shadowban.notice_token, "Another try.")

    assert again.status_code == 400
    assert counts() == before
    assert "already been appealed" in again.content.decode()
    assert 'id="appeal-status"' in again.content.decode()


def test_after_the_window_the_page_says_when_it_closed_and_refuses_a_post(
    client, platform, model_v1
):
    old = record(platform, decision_payload(decided_at="2025-01-10T12:00:00+00:00"))

    page = client.get(f"/notice/{old.notice_token}").content.decode()
    assert 'id="appeal-form"' not in page
    assert "The time to appeal here ended on 13 July 2025." in text_of(
        client.get(f"/notice/{old.notice_token}")
    )

    response = appeal(client, old.notice_token, STATEMENT)
    assert response.status_code == 400
    assert Appeal.objects.count() == 0
    assert "The time to appeal ended" in response.content.decode()


def test_an_overturned_appeal_shows_the_outcome_the_reason_and_the_reversal(client, shadowban):
    appeal(client, shadowban.notice_token, STATEMENT)
    review = decide(
        shadowban.platform, "overturned", "The video is a chess lesson; nothing hateful in it."
    )

    response = client.get(f"/notice/{shadowban.notice_token}")
    page = text_of(response)
    html = response.content.decode()

    assert "Your appeal succeeded: the decision was reversed." in page
    assert "The video is a chess lesson; nothing hateful in it." in page
    assert re.search(r'id="appeal-state">Overturned<', html)
    assert f'href="/notice/{review.reversal.notice_token}" id="reversal-link"' in html
    # The reversal is said at the top too.
    assert page.index("This decision was reversed") < page.index("Your video is not shown")


def test_an_upheld_appeal_says_the_decision_stands_and_what_remains(client, shadowban):
    appeal(client, shadowban.notice_token, STATEMENT)
    decide(shadowban.platform, "upheld", "The video's title is the problem, not the game.")

    page = text_of(client.get(f"/notice/{shadowban.notice_token}"))

    assert "Your appeal did not succeed: the decision stands." in page
    assert "The video's title is the problem, not the game." in page
    assert "dispute settlement body or a court" in page


def test_the_notifier_page_speaks_to_the_reporter_and_files_their_appeal(client, reported):
    response = client.get(f"/notice/{reported.notifier_token}")

    assert response.status_code == 200
    page = text_of(response)
    html = response.content.decode()
    assert "VidShare removed the image you reported" in page
    assert "You reported an image to VidShare." in page
    # Nothing that identifies the subject, and no way into the subject's own page.
    for secret in (reported.subject_account, reported.subject_content, reported.notice_token):
        assert secret not in html
    assert f'action="/notice/{reported.notifier_token}#your-appeal"' in html

    filed = appeal(client, reported.notifier_token, "The removal was right but too late.")

    assert filed.status_code == 303
    assert Appeal.objects.get().appellant == Appellant.NOTIFIER


def test_a_notifier_may_appeal_a_decision_to_take_no_action(client, platform):
    no_action = record(
        platform,
        human_payload(
            decision_type="DECISION_TYPE_NO_ACTION",
            decision_visibility=None,
            notifier="reporter-7",
        ),
    )

    page = text_of(client.get(f"/notice/{no_action.notifier_token}"))
    assert "VidShare took no action against the image you reported" in page

    response = appeal(client, no_action.notifier_token, "It is clearly a threat; look again.")
    assert response.status_code == 303
    assert Appeal.objects.get().appellant == Appellant.NOTIFIER


def test_each_statement_is_shown_only_to_its_own_token_holder(client, reported):
    appeal(client, reported.notice_token, "SUBJECT-SECRET: it is satire.")
    appeal(client, reported.notifier_token, "NOTIFIER-SECRET: it is a threat.")

    subject_page = client.get(f"/notice/{reported.notice_token}").content.decode()
    notifier_page = client.get(f"/notice/{reported.notifier_token}").content.decode()

    assert "SUBJECT-SECRET" in subject_page and "NOTIFIER-SECRET" not in subject_page
    assert "NOTIFIER-SECRET" in notifier_page and "SUBJECT-SECRET" not in notifier_page
    assert Appeal.objects.filter(status=AppealStatus.FILED).count() == 2


def test_a_reversal_cannot_be_appealed_here_but_the_other_ways_are_shown(client, shadowban):
    recorded = services.reverse_decision(decision=shadowban, reason="A chess lesson after all.")
    reversal = Decision.objects.get(public_id=recorded.public_id)

    response = client.get(f"/notice/{reversal.notice_token}")
    page = text_of(response)

    assert 'id="appeal-form"' not in response.content.decode()
    assert "cannot be appealed here" in page
    assert "dispute settlement body" in page
    posted = appeal(client, reversal.notice_token, STATEMENT)
    assert posted.status_code == 400 and Appeal.objects.count() == 0


def test_an_escalated_appeal_says_a_senior_reviewer_has_it(client, shadowban):
    from appeals.services import escalate_review

    appeal(client, shadowban.notice_token, STATEMENT)
    reviewer = make_reviewer(shadowban.platform, "rita")
    item = claim_next_review(reviewer=reviewer)
    escalate_review(
        reviewer=reviewer, item=item, version=item.version, reason="Needs a senior's eye."
    )

    response = client.get(f"/notice/{shadowban.notice_token}")
    page = text_of(response)

    assert "It has been passed to a senior reviewer." in page
    assert "Needs a senior's eye." not in page  # the escalation's note is the reviewers' own
    assert 'id="appeal-outcome"' not in response.content.decode()
