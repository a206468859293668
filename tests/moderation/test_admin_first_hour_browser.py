"""A moderator's first hour in the admin, in a real browser, on the demo data: the decision list
fits the screen at 1280 and 1440 px beside the navigation and on a phone, shows what is triaged
by, finds a creator's decisions by the platform's own id and the chess false positives by their
words, and the manual-decision form chooses nothing and refuses in words.

Screenshots go to a temporary directory; `LEDGER_SCREENSHOTS=1` saves docs/admin-decisions-1440.png
and docs/admin-decision-form.png instead, to refresh the ones in the repository.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from moderation import demo, services
from moderation.models import Decision, Platform
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import as_input, human_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHANGELIST = "/admin/moderation/decision/"
ADD = "/admin/moderation/decision/add/"
# Overflow of the page, and of the list inside its own scrolling box (where the issue measured
# "992 px of table in 791 px"): both must be none.
MEASURE = """() => {
  const results = document.querySelector('#changelist .results');
  const table = document.querySelector('#result_list');
  return {
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    list: table.scrollWidth - results.clientWidth,
    rightmost: Math.max(...[...table.querySelectorAll('tbody tr:first-child > *')]
      .map(cell => cell.getBoundingClientRect().right)),
    viewport: document.documentElement.clientWidth,
  };
}"""


def screenshots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("LEDGER_SCREENSHOTS") else tmp_path


@pytest.fixture
def demo_platform(transactional_db: None) -> Platform:
    """The demo's video platform (policies, three classifiers, 1,000 decisions over 90 days, chess
    catches among them), and one creator the test knows by the platform's own ids."""
    seeded = demo.seed_demo(
        slug="vidshare",
        name="VidShare",
        decisions=1000,
        days=90,
        seed=1,
        end=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    for n, content in enumerate(("clip-1", "clip-2")):
        services.record_decision(
            platform=seeded.platform,
            decision=as_input(
                human_payload(
                    puid=f"known-{n}",
                    subject={"account": "known-creator", "content": content},
                    decision_facts="A moderator removed the clip after a user notice.",
                    decided_at="2026-11-30T12:00:00+00:00",
                    content_date="2026-11-29",
                    application_date="2026-11-30",
                )
            ),
        )
    return seeded.platform


def sign_in(page: Any, live_server: Any, user: User, next_path: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


@pytest.mark.parametrize(
    ("width", "height"),
    [(1280, 800), (1440, 900), (390, 844)],
    ids=["1280", "1440", "phone"],
)
def test_the_decision_list_fits_the_screen_and_shows_what_is_triaged_by(
    live_server: Any,
    admin_user: User,
    demo_platform: Platform,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    total = Decision.objects.count()
    chess = Decision.objects.filter(decision_facts__icontains="knight").count()
    assert chess > 0

    # No ORM call inside this block: Playwright's sync API keeps an event loop in this thread.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(15_000)
        # The navigation sidebar stays as a first visit shows it: open on a desktop.
        sign_in(page, live_server, admin_user, CHANGELIST)
        assert page.locator("#result_list tbody tr").count() == 50
        assert f"{total} results" in page.inner_text("#changelist-search")

        fits = page.evaluate(MEASURE)
        assert fits["page"] <= 0, fits
        assert fits["list"] <= 0, fits
        assert fits["rightmost"] <= fits["viewport"], fits
        if width > 1000:
            assert page.locator("#nav-sidebar").is_visible()
            headers = page.locator("#result_list thead th").all_inner_texts()
            assert [h.strip().lower() for h in headers] == [
                "decision",
                "action",
                "policy / category",
                "source",
                "model / score",
                "facts",
            ]
        else:
            # One card per decision, each line saying what it is.
            label = page.evaluate(
                "getComputedStyle(document.querySelector('#result_list td.field-facts'),"
                " '::before').content"
            )
            assert label == '"facts"'

        # The chess false positives, found by their words, with their score and the quote.
        page.fill("#searchbar", "white knight")
        page.press("#searchbar", "Enter")
        page.wait_for_url("**q=white+knight**")
        rows = page.locator("#result_list tbody tr")
        assert 0 < rows.count() <= chess
        first = rows.first.inner_text()
        assert "knight" in first.lower() and "hate-speech v1" in first
        fits = page.evaluate(MEASURE)
        assert fits["page"] <= 0 and fits["list"] <= 0, fits
        if width == 1440:
            page.screenshot(path=str(screenshots(tmp_path) / "admin-decisions-1440.png"))

        # A creator, by the platform's own account id; then by the short pseudonym's link.
        page.fill("#searchbar", "known-creator")
        page.press("#searchbar", "Enter")
        page.wait_for_url("**q=known-creator**")
        assert sorted(page.locator("#result_list tbody .puid").all_inner_texts()) == [
            "known-0",
            "known-1",
        ]
        page.click("#result_list tbody tr:has-text('known-1') .puid")
        page.wait_for_url("**/change/**")
        # The decision's page too (its chain table scrolls in its own box on a phone).
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        link = page.locator("a.subject-link").first
        assert link.locator("code").inner_text().endswith("\u2026")
        assert len(link.locator("code").inner_text()) == 9
        link.click()
        page.wait_for_url("**q=**")
        assert sorted(page.locator("#result_list tbody .puid").all_inner_texts()) == [
            "known-0",
            "known-1",
        ]
        assert page.evaluate(MEASURE)["page"] <= 0
        browser.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["1440", "phone"])
def test_the_manual_decision_form_chooses_nothing_and_refuses_in_words(
    live_server: Any,
    admin_user: User,
    demo_platform: Platform,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    platform_id = str(demo_platform.pk)
    before = Decision.objects.count()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(15_000)
        sign_in(page, live_server, admin_user, ADD)

        for select in ("decision_type", "decision_ground", "category", "source_type"):
            assert page.input_value(f"#id_{select}") == "", select
        assert page.locator("input[type=radio]:checked, input[type=checkbox]:checked").count() == 0
        assert page.locator("select[multiple]").count() == 0
        assert "Hold Ctrl" not in page.inner_text("#content-main")
        assert "German (DE)" in page.inner_text("#id_content_language")
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )

        page.select_option("#id_platform", platform_id)
        page.fill("#id_puid", f"browser-{width}")
        page.fill("#id_subject_account", "known-creator")
        page.fill("#id_subject_content", "clip-3")
        page.select_option("#id_decision_type", "DECISION_TYPE_RESTRICTION")
        page.check("input[name=decision_visibility][value=DECISION_VISIBILITY_CONTENT_REMOVED]")
        page.select_option("#id_decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT")
        page.select_option("#id_category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")
        page.check("input[name=category_specification][value=KEYWORD_HATE_SPEECH]")
        page.fill("#id_decision_facts", "A moderator reviewed the notice and removed the clip.")
        page.select_option("#id_source_type", "SOURCE_ARTICLE_16")
        page.check("input[name=automated_detection][value=No]")
        page.select_option("#id_automated_decision", "AUTOMATED_DECISION_NOT_AUTOMATED")
        page.check("input[name=content_type][value=CONTENT_TYPE_VIDEO]")
        page.select_option("#id_content_language", "DE")
        page.fill("#id_content_date", "2026-11-20")
        # The legal ground left out: the refusal names it in words.
        page.click("input[name=_save]")
        page.wait_for_selector(".errornote")
        errors = page.inner_text(".field-illegal_content_legal_ground .errorlist")
        assert errors == "Required when the ground is illegal content."
        main = page.inner_text("#content-main")
        assert "DECISION_GROUND" not in main and "decision_ground" not in main
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        if width == 1440:
            page.screenshot(
                path=str(screenshots(tmp_path) / "admin-decision-form.png"), full_page=True
            )

        page.fill("#id_illegal_content_legal_ground", "Section 130 StGB")
        page.fill("#id_illegal_content_explanation", "Incitement to hatred.")
        page.click("input[name=_save]")
        success = page.wait_for_selector(".messagelist .success")
        assert success is not None and "Recorded decision" in success.inner_text()
        browser.close()

    assert Decision.objects.count() == before + 1
    decision = Decision.objects.get(puid=f"browser-{width}")
    assert (decision.decision_ground, decision.content_language) == (
        "DECISION_GROUND_ILLEGAL_CONTENT",
        "DE",
    )
