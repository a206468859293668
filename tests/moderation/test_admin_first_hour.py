"""A moderator's first hour in the admin (issue 11): the decision list shows what is triaged by,
the search finds a subject by the platform's own ids and the facts by their words, the filters
say what they filter, the manual-decision form chooses nothing for the moderator and explains
its refusals in words, and pseudonyms are short links to the subject's decisions."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.urls import reverse

from moderation import selectors, services
from moderation.forms import (
    COUNTRY_NAMES,
    LANGUAGE_NAMES,
    VOCABULARY_LABELS,
    in_words,
    path_in_words,
)
from moderation.models import Decision, ModelVersion, Platform, PlatformMember
from moderation.pseudonyms import pseudonym
from moderation.vocabulary import LANGUAGES, Country
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/moderation/decision/"
ADD = "/admin/moderation/decision/add/"
CHESS_FACTS = (
    'Automated detection: hate-speech v1 scored the video ("white knight captures black '
    'queen", in a simultaneous exhibition stream) 0.814 (threshold 0.80).'
)
# Any key of the vocabulary (DECISION_GROUND_ILLEGAL_CONTENT...) or field name (decision_ground).
RAW_KEY = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
RAW_FIELD = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def listed_puids(response: Any) -> set[str]:
    assert response.status_code == 200
    return {d.puid for d in response.context["cl"].queryset}


@dataclass
class Subjects:
    vidshare: Platform
    picshare: Platform


@pytest.fixture
def subjects(platform: Platform, model_v1: ModelVersion) -> Subjects:
    """creator-1's chess video (flag, shadowban, reversal) and a second post, an account-only
    suspension of creator-1, creator-2's post whose facts name creator-1, and picshare's own
    creator-1 (another person: pseudonyms are per platform)."""
    chess = {"account": "creator-1", "content": "chess-video-9"}
    record(
        platform,
        decision_payload(
            puid="chess-flag",
            subject=chess,
            decision_type="DECISION_TYPE_FLAG",
            decision_visibility=None,
            decision_facts=CHESS_FACTS,
            decided_at="2026-11-02T09:00:00+00:00",
        ),
    )
    shadowban = record(
        platform,
        decision_payload(
            puid="chess-shadowban",
            subject=chess,
            score=0.814,
            decision_facts=CHESS_FACTS,
            decided_at="2026-11-02T10:00:00+00:00",
        ),
    )
    record(
        platform,
        human_payload(
            puid="chess-reversal",
            subject=chess,
            decision_type="DECISION_TYPE_REVERSAL",
            decision_visibility=None,
            supersedes=str(shadowban.public_id),
            decision_facts="On appeal: chess commentary, not hate speech.",
            decided_at="2026-11-03T10:00:00+00:00",
        ),
    )
    record(
        platform,
        human_payload(
            puid="second-post",
            subject={"account": "creator-1", "content": "post-77"},
            decision_facts="A moderator removed an image after a user notice.",
        ),
    )
    record(
        platform,
        human_payload(
            puid="suspension",
            subject={"account": "creator-1"},
            decision_visibility=None,
            decision_account="DECISION_ACCOUNT_SUSPENDED",
            end_date_account_restriction="2026-12-01",
            content_type=["CONTENT_TYPE_OTHER"],
            content_type_other="Channel",
            decision_facts="Third strike: the channel is suspended for a month.",
        ),
    )
    record(
        platform,
        human_payload(
            puid="other-creator",
            subject={"account": "creator-2", "content": "post-5"},
            decision_facts="Reported by creator-1; a moderator removed the post.",
        ),
    )
    picshare = services.create_platform(slug="picshare", name="PicShare")
    record(
        picshare,
        human_payload(
            puid="picshare-removal",
            subject={"account": "creator-1", "content": "photo-3"},
            decision_facts="A moderator removed the photo.",
        ),
    )
    return Subjects(vidshare=platform, picshare=picshare)


@pytest.fixture
def vidshare_staff(client: Client, platform: Platform) -> Client:
    user = User.objects.create_user("mia", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_decision", content_type__app_label="moderation")
    )
    PlatformMember.objects.create(user=user, platform=platform)
    client.force_login(user)
    return client


# --- search ---------------------------------------------------------------------------------


ALL_ABOUT_CREATOR_1 = {
    "chess-flag",
    "chess-shadowban",
    "chess-reversal",
    "second-post",
    "suspension",
    "picshare-removal",
}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        pytest.param("creator-1", ALL_ABOUT_CREATOR_1, id="account id"),
        pytest.param(
            "chess-video-9", {"chess-flag", "chess-shadowban", "chess-reversal"}, id="content id"
        ),
        pytest.param("  post-77 ", {"second-post"}, id="content id with spaces"),
        pytest.param("creator-2", {"other-creator"}, id="another account"),
        pytest.param("chess-shadowban", {"chess-shadowban"}, id="puid"),
        pytest.param("creator-99", set(), id="an id nobody has"),
    ],
)
def test_search_by_the_platforms_own_id_finds_every_decision_about_it_and_nothing_else(
    admin_client: Client, subjects: Subjects, term: str, expected: set[str]
) -> None:
    assert listed_puids(admin_client.get(CHANGELIST, {"q": term})) == expected


def test_search_by_account_id_is_cut_to_the_staff_members_platforms(
    vidshare_staff: Client, subjects: Subjects
) -> None:
    response = vidshare_staff.get(CHANGELIST, {"q": "creator-1"})

    assert listed_puids(response) == ALL_ABOUT_CREATOR_1 - {"picshare-removal"}


def test_search_by_a_full_pseudonym_finds_the_subjects_decisions(
    admin_client: Client, subjects: Subjects
) -> None:
    account = pseudonym(platform_slug="vidshare", kind="account", platform_id="creator-1")

    response = admin_client.get(CHANGELIST, {"q": account})

    assert listed_puids(response) == ALL_ABOUT_CREATOR_1 - {"picshare-removal"}


def test_search_by_decision_id_finds_that_decision(
    admin_client: Client, subjects: Subjects
) -> None:
    decision = Decision.objects.get(puid="suspension")

    response = admin_client.get(CHANGELIST, {"q": str(decision.public_id)})

    assert listed_puids(response) == {"suspension"}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        pytest.param("knight", {"chess-flag", "chess-shadowban"}, id="one word"),
        pytest.param("White Knight", {"chess-flag", "chess-shadowban"}, id="two words, any case"),
        pytest.param("chess", {"chess-reversal"}, id="another word"),
        pytest.param("moderator removed", {"second-post", "other-creator", "picshare-removal"}),
        pytest.param("knight zebra", set(), id="every word must match"),
    ],
)
def test_search_by_words_of_the_facts_finds_the_decisions_that_say_them(
    admin_client: Client, subjects: Subjects, term: str, expected: set[str]
) -> None:
    assert listed_puids(admin_client.get(CHANGELIST, {"q": term})) == expected


@pytest.mark.postgres
def test_facts_search_on_postgresql_is_full_text_search_with_stems(
    admin_client: Client, subjects: Subjects
) -> None:
    # "captured" and "streams" are not in the text: their stems ("captur", "stream") are.
    response = admin_client.get(CHANGELIST, {"q": "captured streams"})

    assert listed_puids(response) == {"chess-flag", "chess-shadowban"}
    sql = str(response.context["cl"].queryset.query)
    assert "to_tsvector" in sql


def test_an_id_is_not_also_searched_in_the_facts(admin_client: Client, subjects: Subjects) -> None:
    # other-creator's facts say "Reported by creator-1": the id finds the subject's decisions.
    assert "other-creator" not in listed_puids(admin_client.get(CHANGELIST, {"q": "creator-1"}))


@pytest.mark.parametrize("term", ["creator-1\x00", "\x00"])
def test_a_search_with_a_nul_character_says_so_in_words(
    admin_client: Client, subjects: Subjects, term: str
) -> None:
    # PostgreSQL refuses NUL in a query; Django's search form refuses it first, in words.
    response = admin_client.get(CHANGELIST, {"q": term}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["Null characters are not allowed."]


def test_a_very_long_search_term_finds_nothing_without_an_error(
    admin_client: Client, subjects: Subjects
) -> None:
    assert listed_puids(admin_client.get(CHANGELIST, {"q": "zebra " * 700})) == set()


def test_a_search_runs_a_bounded_number_of_queries(
    admin_client: Client, subjects: Subjects, django_assert_max_num_queries: Any
) -> None:
    # Session, user, platforms, "is it an id", count, the page, three filters' choices.
    with django_assert_max_num_queries(10):
        response = admin_client.get(CHANGELIST, {"q": "creator-1"})

    assert len(response.context["cl"].result_list) == 6


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_what_a_moderator_triages_by(
    admin_client: Client, subjects: Subjects
) -> None:
    response = admin_client.get(CHANGELIST, {"q": "chess-shadowban"})

    cl = response.context["cl"]
    assert list(cl.list_display) == [
        "decision",
        "what",
        "policy_and_category",
        "source",
        "model_and_score",
        "facts",
    ]
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    rows = [row for row in body.split("<tr") if "chess-shadowban" in row]
    assert len(rows) == 1
    cells = rows[0]
    text = html.unescape(re.sub(r"<[^>]+>", " ", cells))
    for shown in (
        "chess-shadowban",
        "2026-11-02",
        "vidshare",
        "Visibility restriction",
        "Excluded from search",
        "Illegal or harmful speech",
        "Own initiative",
        "hate-speech v1",
        "score 0.814",
        '"white knight captures black queen"',
    ):
        assert shown in text, shown
    assert 'title="threshold 0.80"' in cells
    # The excerpt is cut at a word with "…"; the whole statement is in its title.
    assert "simultaneous exhibition…" in text or "simultaneous…" in text
    assert f'title="{html.escape(CHESS_FACTS)}"' in cells


def test_the_list_labels_its_columns_in_words(admin_client: Client, subjects: Subjects) -> None:
    content = admin_client.get(CHANGELIST).content.decode()
    header = content.split("<thead>")[1].split("</thead>")[0]
    labels = [html.unescape(t).strip() for t in re.findall(r"<a [^>]*>([^<]+)</a>", header)]
    labels += [t.strip() for t in re.findall(r"<span>([^<]+)</span>", header)]

    assert {"Decision", "Action", "Policy / category", "Source", "Model / score", "Facts"} <= set(
        labels
    )


# --- filters --------------------------------------------------------------------------------


def test_the_policy_and_model_filters_say_what_they_are(
    admin_client: Client, platform: Platform, model_v1: ModelVersion
) -> None:
    # The case: a policy and a model both called hate-speech, both at version 1.
    services.register_policy(
        platform=platform,
        key="hate-speech",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="Community guidelines 4.2",
    )
    record(platform, decision_payload(policy="hate-speech"))

    response = admin_client.get(CHANGELIST)

    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    policy = specs["policy (the platform's rule)"]
    model = specs["detection model version"]
    policy_labels = [label for _, label in policy.lookup_choices]
    model_labels = [label for _, label in model.lookup_choices]
    assert policy_labels == ["vidshare: rule \u201cHateful conduct\u201d (hate-speech v1)"]
    assert model_labels == ["vidshare: model hate-speech, version v1"]
    content = html.unescape(response.content.decode())
    assert "By policy (the platform's rule)" in content
    assert "By detection model version" in content
    assert "vidshare: hate-speech v1" not in content


# --- the manual-decision form ---------------------------------------------------------------


def test_the_form_preselects_nothing_the_moderator_did_not_choose(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.get(ADD)

    form = response.context["adminform"].form
    for name in (
        "decision_type",
        "decision_ground",
        "category",
        "source_type",
        "automated_detection",
        "automated_decision",
        "content_language",
        "content_date",
    ):
        assert form[name].value() in (None, ""), name
    for name in ("category_addition", "category_specification", "content_type"):
        assert not form[name].value(), name
    content = response.content.decode()
    preselected = re.findall(r'<option value="([^"]+)"[^>]*\bselected\b', content)
    assert preselected == []
    assert re.findall(r"<input[^>]*\bchecked\b[^>]*>", content) == []
    assert '<option value="" selected>Choose\u2026</option>' in content


def test_a_follow_up_link_still_fills_in_what_it_names(
    admin_client: Client, subjects: Subjects
) -> None:
    decision = Decision.objects.get(puid="chess-shadowban")

    response = admin_client.get(
        ADD, {"supersedes": str(decision.public_id), "decision_type": "DECISION_TYPE_REVERSAL"}
    )

    form = response.context["adminform"].form
    assert form["decision_type"].value() == "DECISION_TYPE_REVERSAL"
    assert form["decision_ground"].value() is None


def test_languages_and_countries_show_their_names(admin_client: Client, platform: Platform) -> None:
    content = admin_client.get(ADD).content.decode()

    assert '<option value="DE">German (DE)</option>' in content
    assert '<option value="EL">Greek (EL)</option>' in content
    assert "Germany (DE)" in content and "Greece (GR)" in content
    # Every code the vocabulary takes has a name.
    assert set(LANGUAGE_NAMES) == LANGUAGES
    assert set(COUNTRY_NAMES) == set(Country.values)


def test_the_multi_selects_are_checkboxes_not_hold_ctrl_lists(
    admin_client: Client, platform: Platform
) -> None:
    content = admin_client.get(ADD).content.decode()

    assert "<select multiple" not in content and "Hold Ctrl" not in content
    assert 'type="checkbox" name="category_addition"' in content
    assert 'type="checkbox" name="category_specification" value="KEYWORD_HATE_SPEECH"' in content


def manual_form(platform: Platform, **overrides: Any) -> dict[str, Any]:
    """A moderator's removal of an illegal image after a user notice, as the form posts it."""
    data: dict[str, Any] = {
        "platform": platform.pk,
        "puid": "staff-removal-1",
        "subject_account": "user-42",
        "subject_content": "image-7",
        "decision_type": "DECISION_TYPE_RESTRICTION",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Section 130 StGB",
        "illegal_content_explanation": "Incitement to hatred.",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "decision_facts": "A moderator reviewed the notice and removed the image.",
        "source_type": "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "content_type": ["CONTENT_TYPE_IMAGE"],
        "content_date": "2026-11-20",
        "application_date": "2026-11-21",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def decision_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


def test_the_form_records_a_decision_once_the_moderator_chose_everything(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post(ADD, manual_form(platform))

    assert response.status_code == 302
    decision = Decision.objects.get(puid="staff-removal-1")
    assert (decision.decision_ground, decision.category, decision.source_type) == (
        "DECISION_GROUND_ILLEGAL_CONTENT",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "SOURCE_ARTICLE_16",
    )


def test_a_choice_left_unmade_is_refused_in_words_and_writes_nothing(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post(
        ADD,
        manual_form(
            platform, decision_ground=None, category=None, source_type=None, content_date=None
        ),
    )

    errors = response.context["adminform"].form.errors
    for field in ("decision_ground", "category", "source_type", "content_date"):
        assert errors[field] == ["This field is required."], field
    assert decision_count() == 0


def errors_shown(response: Any) -> list[str]:
    """Every error message the page shows: field errors and the form's own."""
    form = response.context["adminform"].form
    return [str(message) for messages in form.errors.values() for message in messages]


# (what the moderator did, the form's fields changed, the field refused, the message expected)
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "illegal content without its legal ground",
        {"illegal_content_legal_ground": ""},
        "illegal_content_legal_ground",
        "Required when the ground is illegal content.",
    ),
    (
        "incompatible content with illegal content's texts",
        {
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Terms 4.2",
            "incompatible_content_explanation": "Hateful conduct.",
        },
        "illegal_content_legal_ground",
        "Not allowed when the ground is incompatible with the terms.",
    ),
    (
        "other visibility restriction without saying which",
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
        "decision_visibility_other",
        "Required when the visibility restrictions include other visibility restriction.",
    ),
    (
        "another visibility restriction named without choosing other",
        {"decision_visibility_other": "Muted"},
        "decision_visibility_other",
        "Only allowed when the visibility restrictions include other visibility restriction.",
    ),
    (
        "other monetary restriction without saying which",
        {"decision_monetary": "DECISION_MONETARY_OTHER"},
        "decision_monetary_other",
        "Required when the monetary restriction is other monetary restriction.",
    ),
    (
        "other content type without saying which",
        {"content_type": ["CONTENT_TYPE_OTHER"]},
        "content_type_other",
        "Required when the content types include other.",
    ),
    (
        "a flag that restricts",
        {"decision_type": "DECISION_TYPE_FLAG"},
        "decision_type",
        "A flag (no restriction yet) carries no restriction: leave the visibility "
        "restrictions, the monetary restriction, the service restriction and the account "
        "action empty.",
    ),
    (
        "a reversal of nothing",
        {"decision_type": "DECISION_TYPE_REVERSAL", "decision_visibility": None},
        "supersedes",
        "A reversal of an earlier decision must name the decision it changes.",
    ),
    (
        "a restriction that restricts nothing",
        {"decision_visibility": None},
        "decision_visibility",
        "Required unless the monetary restriction, the service restriction or the account "
        "action is present.",
    ),
    (
        "automated detection without the model",
        {"automated_detection": "Yes"},
        "model_version",
        "Required when \u201cDetected automatically?\u201d is yes or the decision is automated: "
        "name the registered model and its version.",
    ),
    (
        "a score without a model",
        {"score": "0.9"},
        "score",
        "Only allowed with a model version.",
    ),
    (
        "an end date of a restriction not imposed",
        {"end_date_account_restriction": "2026-12-24"},
        "end_date_account_restriction",
        "Only allowed with the account action.",
    ),
    (
        "a restriction ending before it applies",
        {"end_date_visibility_restriction": "2026-11-01"},
        "end_date_visibility_restriction",
        "Must not be before the date it applies from.",
    ),
    (
        "a hand-made post of a value not offered",
        {"decision_ground": "DECISION_GROUND_MADE_UP"},
        "decision_ground",
        "Choose one of the options offered.",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param(changes, field, expected, id=name)
        for name, changes, field, expected in REFUSALS
    ],
)
def test_every_refusal_of_the_form_is_in_words_never_raw_keys(
    admin_client: Client,
    platform: Platform,
    changes: dict[str, Any],
    field: str,
    expected: str,
) -> None:
    response = admin_client.post(ADD, manual_form(platform, **changes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [expected]
    for message in errors_shown(response):
        assert not RAW_KEY.search(message), message
        assert not RAW_FIELD.search(message), message
    page = response.content.decode()
    for errorlist in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.DOTALL):
        assert not RAW_KEY.search(html.unescape(errorlist)), errorlist
    assert decision_count() == 0


def test_a_change_of_another_subjects_decision_is_refused_in_words(
    admin_client: Client, subjects: Subjects
) -> None:
    original = Decision.objects.get(puid="chess-shadowban")

    response = admin_client.post(
        ADD,
        manual_form(
            subjects.vidshare,
            decision_type="DECISION_TYPE_REVERSAL",
            decision_visibility=None,
            supersedes=str(original.public_id),
            subject_account="someone-else",
            subject_content=None,
        ),
    )

    assert response.context["adminform"].form.errors["supersedes"] == [
        f"Decision {original.public_id} is about another subject: its account is not the "
        "affected account id. A decision can only change one about the same subject."
    ]


def test_the_policy_form_preselects_no_category_or_ground(
    admin_client: Client, platform: Platform
) -> None:
    form = admin_client.get("/admin/moderation/policy/add/").context["adminform"].form

    assert form["category"].value() is None
    assert form["ground"].value() is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Required when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT.",
            "Required when the ground is illegal content.",
        ),
        (
            "A DECISION_TYPE_EXPIRY must name the decision it changes.",
            "An expiry of an earlier restriction must name the decision it changes.",
        ),
        ("No decision with puid my_old_puid of this platform.", None),
        ("Decision 1f0c is about another subject.", None),
        ("Must be between 2000-01-01 and 2038-01-01.", None),
        (
            "Only allowed when source_type is SOURCE_ARTICLE_16.",
            "Only allowed when the source is user notice (DSA Art. 16).",
        ),
    ],
)
def test_in_words_names_fields_and_keys_as_the_form_does(
    message: str, expected: str | None
) -> None:
    # None: nothing to translate, the message passes unchanged (a puid with _ is not a field).
    assert in_words(message) == (expected or message)


def test_every_vocabulary_key_has_a_label_that_is_not_a_key() -> None:
    assert len(VOCABULARY_LABELS) > 100
    assert not [label for label in VOCABULARY_LABELS.values() if RAW_KEY.search(label)]


# --- pseudonyms -----------------------------------------------------------------------------


def test_pseudonyms_show_short_and_link_to_every_decision_about_the_subject(
    admin_client: Client, subjects: Subjects
) -> None:
    decision = Decision.objects.get(puid="chess-shadowban")
    account = pseudonym(platform_slug="vidshare", kind="account", platform_id="creator-1")
    content_id = pseudonym(platform_slug="vidshare", kind="content", platform_id="chess-video-9")
    assert decision.subject_account == account

    page = admin_client.get(
        reverse("admin:moderation_decision_change", args=[decision.pk])
    ).content.decode()

    visible = re.sub(r"<[^>]+>", " ", page)
    assert f"{account[:8]}\u2026" in visible and f"{content_id[:8]}\u2026" in visible
    assert account not in visible and content_id not in visible
    links = dict(
        (html.unescape(href), title)
        for href, title in re.findall(r'<a href="([^"]+)" title="([0-9a-f]{64})"', page)
    )
    account_link = f"{CHANGELIST}?q={account}"
    content_link = f"{CHANGELIST}?q={content_id}"
    assert links == {account_link: account, content_link: content_id}

    assert listed_puids(admin_client.get(account_link)) == ALL_ABOUT_CREATOR_1 - {
        "picshare-removal"
    }
    assert listed_puids(admin_client.get(content_link)) == {
        "chess-flag",
        "chess-shadowban",
        "chess-reversal",
    }


def test_the_reversal_page_shows_the_subject_short_with_its_link(
    admin_client: Client, subjects: Subjects
) -> None:
    decision = Decision.objects.get(puid="second-post")
    account = decision.subject_account

    page = admin_client.get(
        reverse("admin:moderation_decision_reverse", args=[decision.pk])
    ).content.decode()

    assert f"<code>{account[:8]}\u2026</code>" in page
    assert f'href="{CHANGELIST}?q={account}"' in page
    assert f">{account}<" not in page


def test_the_moderators_pseudonym_is_short_too(admin_client: Client, subjects: Subjects) -> None:
    decision = Decision.objects.get(puid="second-post")
    assert len(decision.moderator_ref) == 64

    page = admin_client.get(
        reverse("admin:moderation_decision_change", args=[decision.pk])
    ).content.decode()

    assert f">{decision.moderator_ref[:8]}\u2026</code>" in page
    assert f">{decision.moderator_ref}<" not in page


def test_a_second_model_version_keeps_the_list_readable(
    admin_client: Client, platform: Platform, model_v1: ModelVersion
) -> None:
    register_model(platform, version="v2", threshold=0.85)
    record(platform, decision_payload(puid="v2-catch", model_version="v2", score=0.9))

    text = html.unescape(
        re.sub(r"<[^>]+>", " ", admin_client.get(CHANGELIST, {"q": "v2-catch"}).content.decode())
    )

    assert "hate-speech v2" in text and "score 0.900" in text


def test_a_term_with_no_platform_to_pseudonymise_for_is_only_searched_in_the_facts(
    subjects: Subjects,
) -> None:
    found = selectors.decisions_matching(
        Decision.objects.all(), "creator-1", platforms=Platform.objects.none()
    )

    # Not every decision (an empty condition would match all): the one whose facts say it.
    assert set(found.values_list("puid", flat=True)) == {"other-creator"}


def test_staff_of_no_platform_find_nothing(client: Client, subjects: Subjects) -> None:
    user = User.objects.create_user("nobody", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_decision", content_type__app_label="moderation")
    )
    client.force_login(user)

    assert listed_puids(client.get(CHANGELIST, {"q": "creator-1"})) == set()


def test_an_error_about_a_field_the_form_lacks_names_it_in_words() -> None:
    # The reversal page and the form's own errors put these above the form.
    assert path_in_words(
        "decided_at", "Must not be before 2000-01-01T00:00:00+00:00 (in UTC)."
    ) == ("The decision time: must not be before 2000-01-01T00:00:00+00:00 (in UTC).")
    assert path_in_words("subject.content", "Expected `str` of length <= 500") == (
        "The affected content id: expected `str` of length <= 500"
    )
