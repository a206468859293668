"""The moderators' admin: browse and filter decisions, read one with its chain, record manual
decisions through the service, and manage keys, policies and models without editing history."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.models import ApiKey, Decision, ModelVersion, Platform, Policy
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/moderation/decision/"
ADD = "/admin/moderation/decision/add/"


def change_url(decision: Decision) -> str:
    return reverse("admin:moderation_decision_change", args=[decision.pk])


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def listed_puids(response: Any) -> set[str]:
    return {d.puid for d in response.context["cl"].result_list}


def decision_row(pk: int) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT puid, action, decision_facts, internal_notes FROM moderation_decision "
            "WHERE id = %s",
            [pk],
        )
        return tuple(cursor.fetchone())


def decision_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_decision")
        return int(cursor.fetchone()[0])


# --- the list -------------------------------------------------------------------------------


@dataclass
class Recorded:
    shadowban: Decision
    removal: Decision
    demotion: Decision
    elsewhere: Decision
    policy: Policy
    model_v2: ModelVersion
    other_platform: Platform


@pytest.fixture
def recorded(platform: Platform, model_v1: ModelVersion) -> Recorded:
    """Four decisions that each filter tells apart."""
    policy, _ = services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_ILLEGAL_CONTENT",
        clause="Community guidelines 4.2",
    )
    model_v2 = register_model(platform, version="v2", threshold=0.9)
    other = services.create_platform(slug="picshare", name="PicShare")
    return Recorded(
        shadowban=record(platform, decision_payload(puid="auto-shadowban")),
        removal=record(platform, human_payload(puid="human-removal", policy="hate")),
        demotion=record(
            platform,
            decision_payload(
                puid="auto-demotion",
                model_version="v2",
                decision_visibility=["DECISION_VISIBILITY_CONTENT_DEMOTED"],
            ),
        ),
        elsewhere=record(
            other,
            human_payload(
                puid="picshare-label",
                decision_visibility=["DECISION_VISIBILITY_CONTENT_LABELLED"],
                decided_at="2026-10-01T12:00:00+00:00",
            ),
        ),
        policy=policy,
        model_v2=model_v2,
        other_platform=other,
    )


def test_the_decision_list_shows_every_decision_with_readable_labels(
    admin_client: Client, recorded: Recorded
) -> None:
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed_puids(response) == {
        "auto-shadowban",
        "human-removal",
        "auto-demotion",
        "picshare-label",
    }
    content = response.content.decode()
    assert "Excluded from search" in content
    assert "Removal or disabling" in content
    assert "Record a manual decision" in content
    assert "DECISION_VISIBILITY_SEARCH_EXCLUDED" not in content.split('id="changelist-filter"')[0]


FILTERS: list[tuple[str, Callable[[Recorded], dict[str, Any]], set[str]]] = [
    ("action", lambda r: {"action__exact": "REMOVAL"}, {"human-removal"}),
    (
        "one visibility kind",
        lambda r: {"visibility": "DECISION_VISIBILITY_SEARCH_EXCLUDED"},
        {"auto-shadowban"},
    ),
    (
        "removal visibility",
        lambda r: {"visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"},
        {"human-removal"},
    ),
    ("any shadowban", lambda r: {"visibility": "silent"}, {"auto-shadowban", "auto-demotion"}),
    ("an unknown visibility kind", lambda r: {"visibility": "NOT_A_KIND"}, set()),
    (
        "source",
        lambda r: {"source_type__exact": "SOURCE_ARTICLE_16"},
        {"human-removal", "picshare-label"},
    ),
    (
        "automated decision",
        lambda r: {"automated_decision__exact": "AUTOMATED_DECISION_FULLY"},
        {"auto-shadowban", "auto-demotion"},
    ),
    (
        "automated detection",
        lambda r: {"automated_detection__exact": "0"},
        {"human-removal", "picshare-label"},
    ),
    ("policy", lambda r: {"policy__id__exact": r.policy.pk}, {"human-removal"}),
    ("model version", lambda r: {"model_version__id__exact": r.model_v2.pk}, {"auto-demotion"}),
    ("platform", lambda r: {"platform__id__exact": r.other_platform.pk}, {"picshare-label"}),
    (
        "date",
        lambda r: {
            "decided_at__gte": "2026-10-01 00:00:00+00:00",
            "decided_at__lt": "2026-10-02 00:00:00+00:00",
        },
        {"picshare-label"},
    ),
    (
        "two filters together",
        lambda r: {"visibility": "silent", "model_version__id__exact": r.model_v2.pk},
        {"auto-demotion"},
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [pytest.param(query, expected, id=name) for name, query, expected in FILTERS],
)
def test_each_list_filter_narrows_the_decisions(
    admin_client: Client,
    recorded: Recorded,
    query: Callable[[Recorded], dict[str, Any]],
    expected: set[str],
) -> None:
    response = admin_client.get(CHANGELIST, query(recorded))

    assert response.status_code == 200
    assert listed_puids(response) == expected


def test_the_filter_sidebar_offers_readable_choices(
    admin_client: Client, recorded: Recorded
) -> None:
    content = admin_client.get(CHANGELIST).content.decode()

    assert "Any silent restriction (shadowban)" in content
    assert "vidshare: model hate-speech, version v2" in content
    assert "vidshare: rule “Hateful conduct” (hate v1)" in content
    assert "User notice (DSA Art. 16)" in content


def test_search_finds_a_decision_by_puid(admin_client: Client, recorded: Recorded) -> None:
    response = admin_client.get(CHANGELIST, {"q": "human-removal"})

    assert listed_puids(response) == {"human-removal"}


def test_search_finds_a_decision_by_its_id(admin_client: Client, recorded: Recorded) -> None:
    response = admin_client.get(CHANGELIST, {"q": str(recorded.demotion.public_id)})

    assert listed_puids(response) == {"auto-demotion"}


def test_search_for_an_unknown_id_finds_nothing(admin_client: Client, recorded: Recorded) -> None:
    response = admin_client.get(CHANGELIST, {"q": "no-such-puid"})

    assert response.status_code == 200
    assert listed_puids(response) == set()


def test_the_list_runs_a_bounded_number_of_queries(
    admin_client: Client,
    platform: Platform,
    model_v1: ModelVersion,
    django_assert_max_num_queries: Any,
) -> None:
    services.register_policy(
        platform=platform,
        key="hate",
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_ILLEGAL_CONTENT",
        clause="Community guidelines 4.2",
    )
    register_model(platform, version="v2")
    bodies = [decision_payload() for _ in range(15)]
    bodies += [decision_payload(model_version="v2") for _ in range(5)]
    bodies += [human_payload(policy="hate") for _ in range(10)]
    services.record_decisions(platform=platform, decisions=[as_input(b) for b in bodies])

    # Session, user, count, the page, and one each for the platform, policy and model-version
    # filter choices: nothing per row.
    with django_assert_max_num_queries(8):
        response = admin_client.get(CHANGELIST, {"visibility": "silent"})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 20


def test_the_list_offers_no_bulk_actions(admin_client: Client, recorded: Recorded) -> None:
    response = admin_client.get(CHANGELIST)
    assert "action-checkbox" not in response.content.decode()

    admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [recorded.removal.pk]}
    )

    assert decision_count() == 4


# --- one decision ---------------------------------------------------------------------------


@pytest.fixture
def chain(platform: Platform, model_v1: ModelVersion) -> list[Decision]:
    """A flag, then a shadowban of the same post, then its reversal after appeal."""
    subject = {"account": "creator-1", "content": "chess-video-9"}
    flag = record(
        platform,
        decision_payload(
            puid="flag-1",
            subject=subject,
            decision_type="DECISION_TYPE_FLAG",
            decision_visibility=None,
            decided_at="2026-11-02T09:00:00+00:00",
        ),
    )
    shadowban = record(
        platform,
        decision_payload(
            puid="shadowban-1",
            subject=subject,
            internal_notes="Probably chess notation again.",
            decided_at="2026-11-02T10:00:00+00:00",
        ),
    )
    reversal = record(
        platform,
        human_payload(
            puid="reversal-1",
            subject=subject,
            decision_type="DECISION_TYPE_REVERSAL",
            decision_visibility=None,
            supersedes=str(shadowban.public_id),
            decided_at="2026-11-03T10:00:00+00:00",
        ),
    )
    record(platform, decision_payload(puid="unrelated"))
    return [flag, shadowban, reversal]


def test_a_decision_page_lists_the_chain_about_the_same_content(
    admin_client: Client, chain: list[Decision]
) -> None:
    shadowban = chain[1]

    response = admin_client.get(change_url(shadowban))

    assert response.status_code == 200
    assert [row["puid"] for row in response.context["chain"]] == [
        "flag-1",
        "shadowban-1",
        "reversal-1",
    ]
    assert response.context["chain"][2]["changes"] == 2
    content = response.content.decode()
    assert 'id="decision-chain"' in content
    for decision in chain:
        assert f'href="{change_url(decision)}"' in content
    assert "(this decision)" in content
    assert "unrelated" not in content


def test_a_decision_page_is_read_only_with_readable_labels(
    admin_client: Client, chain: list[Decision]
) -> None:
    shadowban = chain[1]

    response = admin_client.get(change_url(shadowban))

    content = response.content.decode()
    assert 'name="_save"' not in content
    assert 'name="_continue"' not in content
    assert "deletelink" not in content
    assert "<textarea" not in content and 'type="text"' not in content
    assert "Excluded from search" in content
    assert "Fully automated" in content
    assert "hate-speech v1" in content
    assert "Internal — staff only" in content
    assert "internal notes (staff only)" in content.lower()
    assert "Probably chess notation again." in content
    assert "Germany (DE), France (FR)" in content
    assert "Monetary" not in content  # fields the record leaves empty are not shown
    follow_up = f"{ADD}?platform={shadowban.platform_id}&amp;supersedes={shadowban.public_id}"
    assert follow_up in content


def test_changing_a_decision_is_refused_and_the_row_is_untouched(
    admin_client: Client, chain: list[Decision]
) -> None:
    shadowban = chain[1]
    before = decision_row(shadowban.pk)

    response = admin_client.post(
        change_url(shadowban),
        {"decision_facts": "Rewritten.", "internal_notes": "Rewritten.", "action": "NO_ACTION"},
    )

    assert response.status_code == 403
    assert decision_row(shadowban.pk) == before


def test_deleting_a_decision_is_refused_and_the_row_is_untouched(
    admin_client: Client, chain: list[Decision]
) -> None:
    shadowban = chain[1]
    before = decision_row(shadowban.pk)
    delete_url = reverse("admin:moderation_decision_delete", args=[shadowban.pk])

    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert decision_row(shadowban.pk) == before


def test_an_unknown_decision_is_not_found(admin_client: Client, db: None) -> None:
    # 404, the same answer staff get for another platform's decision (tests/appeals/
    # test_review_admin.py), so an id tells nothing.
    response = admin_client.get("/admin/moderation/decision/999999/change/")

    assert response.status_code == 404


# --- recording a manual decision ------------------------------------------------------------


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
        "category_specification": ["KEYWORD_HATE_SPEECH"],
        "decision_facts": "A moderator reviewed the notice and removed the image.",
        "internal_notes": "Checked with the legal team.",
        "source_type": "SOURCE_ARTICLE_16",
        "source_identity": "notice-77",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "content_type": ["CONTENT_TYPE_IMAGE"],
        "content_language": "DE",
        "territorial_scope": ["DE", "AT"],
        "content_date": "2026-11-20",
        "application_date": "2026-11-21",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_add_form_starts_with_sensible_values(admin_client: Client, platform: Platform) -> None:
    response = admin_client.get(ADD)

    assert response.status_code == 200
    form = response.context["adminform"].form
    # Nothing the moderator did not choose (tests/moderation/test_admin_first_hour.py).
    for name in ("automated_decision", "source_type", "automated_detection", "content_date"):
        assert form[name].value() is None, name
    assert form["application_date"].value() == timezone.localdate()
    assert form["puid"].value().startswith("staff-")
    content = response.content.decode()
    assert "Record a manual decision" in content
    assert 'value="Record decision"' in content
    assert "Internal notes (staff only, never published)" in content


def test_the_add_form_records_a_decision_through_the_service(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    response = admin_client.post(ADD, manual_form(platform), follow=True)

    decision = Decision.objects.get(platform=platform, puid="staff-removal-1")
    assert response.redirect_chain == [(change_url(decision), 302)]
    assert decision.moderator_id == admin_user.pk
    assert decision.action == "REMOVAL"
    assert decision.decision_visibility == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert decision.territorial_scope == ["AT", "DE"]  # normalised as the API does
    assert decision.internal_notes == "Checked with the legal team."
    assert decision.subject_content and "image-7" not in decision.subject_content
    assert decision.content_date == dt.date(2026, 11, 20)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"Recorded decision {decision.public_id} (Removal or disabling)."]


def test_an_invalid_decision_shows_field_errors_and_writes_nothing(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post(
        ADD,
        manual_form(
            platform,
            illegal_content_legal_ground="",
            automated_detection="Yes",
            decision_facts="",
        ),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "decision_facts" in errors
    assert decision_count() == 0

    response = admin_client.post(
        ADD, manual_form(platform, illegal_content_legal_ground="", automated_detection="Yes")
    )

    errors = response.context["adminform"].form.errors
    assert errors["illegal_content_legal_ground"] == [
        "Required when the ground is illegal content."
    ]
    assert "model_version" in errors
    assert "Please correct the errors below." in response.content.decode()
    assert decision_count() == 0


def test_a_restriction_without_any_restriction_is_refused(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post(ADD, manual_form(platform, decision_visibility=None))

    assert "decision_visibility" in response.context["adminform"].form.errors
    assert decision_count() == 0


def test_a_puid_already_naming_another_decision_is_refused(
    admin_client: Client, platform: Platform
) -> None:
    admin_client.post(ADD, manual_form(platform))

    response = admin_client.post(ADD, manual_form(platform, decision_facts="Something else."))

    errors = response.context["adminform"].form.errors
    assert errors["puid"][0].startswith("Already names another decision")
    assert decision_count() == 1


def test_a_policy_or_model_of_another_platform_is_refused(
    admin_client: Client, platform: Platform, model_v1: ModelVersion
) -> None:
    policy, _ = services.register_policy(
        platform=platform,
        key="hate",
        title="Hate",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_ILLEGAL_CONTENT",
        clause="1.1",
    )
    other = services.create_platform(slug="picshare")

    response = admin_client.post(
        ADD, manual_form(other, policy=policy.pk, model_version=model_v1.pk, score="0.9")
    )

    errors = response.context["adminform"].form.errors
    assert errors["policy"] == ["This policy is not one of picshare's."]
    assert errors["model_version"] == ["This model is not one of picshare's."]
    assert decision_count() == 0


def test_a_reversal_recorded_in_the_admin_joins_the_chain(
    admin_client: Client, platform: Platform, chain: list[Decision]
) -> None:
    flag = chain[0]
    form = manual_form(
        platform,
        puid="staff-reversal",
        subject_account="creator-1",
        subject_content="chess-video-9",
        decision_type="DECISION_TYPE_REVERSAL",
        decision_visibility=None,
        supersedes=str(flag.public_id),
    )

    response = admin_client.post(ADD, form, follow=True)

    reversal = Decision.objects.get(puid="staff-reversal")
    assert reversal.action == "REVERSAL"
    assert reversal.supersedes_id == flag.pk
    assert [row["puid"] for row in response.context["chain"]][-1] == "staff-reversal"


# --- API keys -------------------------------------------------------------------------------


def test_a_new_api_key_is_shown_once_and_only_its_hash_is_stored(
    admin_client: Client, admin_user: User, platform: Platform
) -> None:
    response = admin_client.post(
        "/admin/moderation/apikey/add/", {"platform": platform.pk, "name": "ingest"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = response.context["plaintext"]
    assert plaintext.startswith("mlk_")
    assert response.content.decode().count(plaintext) == 1
    api_key = ApiKey.objects.get(platform=platform, name="ingest")
    assert api_key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert api_key.created_by_id == admin_user.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM moderation_apikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()
    assert all(plaintext not in str(value) for value in row)
    for url in (
        "/admin/moderation/apikey/",
        reverse("admin:moderation_apikey_change", args=[api_key.pk]),
    ):
        content = admin_client.get(url).content.decode()
        assert plaintext not in content
        assert api_key.key_hash not in content


def test_the_issued_key_authenticates_the_platform(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post("/admin/moderation/apikey/add/", {"platform": platform.pk})
    plaintext = response.context["plaintext"]

    api = Client(headers={"Authorization": f"Bearer {plaintext}"})
    assert api.get("/api/v1/decisions").status_code == 200


def test_the_revoke_action_revokes_the_selected_keys(
    admin_client: Client, platform: Platform
) -> None:
    first, plaintext = services.issue_api_key(platform=platform, name="first")
    second, _ = services.issue_api_key(platform=platform, name="second")

    response = admin_client.post(
        "/admin/moderation/apikey/",
        {"action": "revoke_keys", "_selected_action": [first.pk]},
        follow=True,
    )

    assert response.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked_at is not None
    assert second.revoked_at is None
    assert "Revoked 1 key(s)." in [str(m) for m in response.context["messages"]]
    api = Client(headers={"Authorization": f"Bearer {plaintext}"})
    assert api.get("/api/v1/decisions").status_code in (401, 403)


def test_api_keys_cannot_be_edited_or_deleted(admin_client: Client, platform: Platform) -> None:
    api_key, _ = services.issue_api_key(platform=platform, name="first")
    change = reverse("admin:moderation_apikey_change", args=[api_key.pk])
    delete = reverse("admin:moderation_apikey_delete", args=[api_key.pk])

    assert admin_client.post(change, {"name": "renamed", "prefix": "x"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    api_key.refresh_from_db()
    assert api_key.name == "first"


# --- policies, models, platforms ------------------------------------------------------------


def test_a_policy_is_registered_as_a_new_version_and_never_edited(
    admin_client: Client, platform: Platform
) -> None:
    form = {
        "platform": platform.pk,
        "key": "hate",
        "title": "Hateful conduct",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "clause": "Community guidelines 4.2",
    }
    admin_client.post("/admin/moderation/policy/add/", form)
    response = admin_client.post(
        "/admin/moderation/policy/add/", {**form, "clause": "Community guidelines 4.3"}
    )

    assert response.status_code == 302
    assert list(Policy.objects.values_list("version", "clause").order_by("version")) == [
        (1, "Community guidelines 4.2"),
        (2, "Community guidelines 4.3"),
    ]
    response = admin_client.post(
        "/admin/moderation/policy/add/", {**form, "version": "1", "clause": "Reworded"}
    )
    assert "already registered with other content" in str(
        response.context["adminform"].form.errors["version"]
    )
    policy = Policy.objects.get(version=1)
    change = reverse("admin:moderation_policy_change", args=[policy.pk])
    assert admin_client.post(change, {"title": "x"}).status_code == 403
    delete = reverse("admin:moderation_policy_delete", args=[policy.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_a_model_version_is_registered_and_never_edited(
    admin_client: Client, platform: Platform
) -> None:
    response = admin_client.post(
        "/admin/moderation/modelversion/add/",
        {
            "platform": platform.pk,
            "name": "nudity",
            "version": "2026-11",
            "released_at": "2026-11-01",
            "threshold": "0.85",
        },
    )

    version = ModelVersion.objects.get(model__platform=platform, model__name="nudity")
    assert response.status_code == 302
    assert (version.version, version.threshold) == ("2026-11", 0.85)
    change = reverse("admin:moderation_modelversion_change", args=[version.pk])
    assert admin_client.post(change, {"threshold": "0.5"}).status_code == 403
    model_page = reverse("admin:moderation_detectionmodel_change", args=[version.model_id])
    assert "2026-11" in admin_client.get(model_page).content.decode()


def test_a_platform_is_added_and_renamed_but_its_slug_is_fixed(
    admin_client: Client, db: None
) -> None:
    admin_client.post("/admin/moderation/platform/add/", {"slug": "clipz", "name": "Clipz"})
    platform = Platform.objects.get(slug="clipz")

    change = reverse("admin:moderation_platform_change", args=[platform.pk])
    admin_client.post(change, {"slug": "renamed", "name": "Clipz Video"})

    platform.refresh_from_db()
    assert (platform.slug, platform.name) == ("clipz", "Clipz Video")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/moderation/",
        "/admin/moderation/platform/",
        "/admin/moderation/apikey/",
        "/admin/moderation/apikey/add/",
        "/admin/moderation/policy/",
        "/admin/moderation/policy/add/",
        "/admin/moderation/detectionmodel/",
        "/admin/moderation/modelversion/",
        "/admin/moderation/modelversion/add/",
    ],
)
def test_every_admin_page_loads(
    admin_client: Client, url: str, recorded: Recorded, api_key: str
) -> None:
    assert admin_client.get(url).status_code == 200


def test_staff_give_a_platforms_eu_token_in_the_admin_and_it_is_stored_encrypted(
    admin_client, platform
):
    response = admin_client.post(
        "/admin/moderation/euforwarding/add/",
        {"platform": platform.pk, "api_token": "eu-token-from-admin", "enabled": "on"},
    )

    assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_token, enabled FROM moderation_euforwarding")
        token, enabled = cursor.fetchone()
    assert "eu-token-from-admin" not in token and enabled
    page = admin_client.get(response["Location"]).content.decode()
    assert "eu-token-from-admin" not in page


def test_the_eu_outbox_is_listed_read_only(admin_client, platform):
    assert admin_client.get("/admin/moderation/dsasubmission/").status_code == 200
    assert admin_client.get("/admin/moderation/dsasubmission/add/").status_code == 403
