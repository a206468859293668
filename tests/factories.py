"""Realistic request bodies and recorded state for tests, built through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import msgspec

from moderation import services
from moderation.models import ModelVersion, Platform
from moderation.schemas import DecisionIn

_counter = itertools.count(1)


def decision_payload(**overrides: Any) -> dict[str, Any]:
    """A valid automated search-exclusion (a shadowban) of a text post, as a platform sends it."""
    n = next(_counter)
    body: dict[str, Any] = {
        "puid": f"dec-{n}",
        "subject": {"account": f"user-{n}", "content": f"post-{n}"},
        "decision_visibility": ["DECISION_VISIBILITY_SEARCH_EXCLUDED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Community guidelines, section 4.2 (hateful conduct)",
        "incompatible_content_explanation": "The post was classified as hate speech.",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "category_specification": ["KEYWORD_HATE_SPEECH"],
        "decision_facts": "Automated classifier flagged the text above its threshold.",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "model": "hate-speech",
        "model_version": "v1",
        "score": 0.93,
        "content_type": ["CONTENT_TYPE_TEXT"],
        "content_language": "EN",
        "territorial_scope": ["DE", "FR"],
        "content_date": "2026-11-01",
        "application_date": "2026-11-02",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def human_payload(**overrides: Any) -> dict[str, Any]:
    """A human moderator's removal of an illegal image after a user notice."""
    base = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Section 130 StGB",
        "illegal_content_explanation": "Incitement to hatred.",
        "incompatible_content_ground": None,
        "incompatible_content_explanation": None,
        "source_type": "SOURCE_ARTICLE_16",
        "source_identity": "notice-77",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "model": None,
        "model_version": None,
        "score": None,
        "moderator": "mod-7",
        "content_type": ["CONTENT_TYPE_IMAGE"],
    }
    base.update(overrides)
    return decision_payload(**base)


def as_input(body: dict[str, Any]) -> DecisionIn:
    return msgspec.convert(body, DecisionIn)


def register_model(
    platform: Platform, name: str = "hate-speech", version: str = "v1", threshold: float = 0.8
) -> ModelVersion:
    model_version, _ = services.register_model_version(
        platform=platform,
        name=name,
        version=version,
        released_at=dt.date(2026, 1, 15),
        threshold=threshold,
        card_url=f"https://models.example.org/{name}/{version}",
    )
    return model_version


def statement_payload(**overrides: Any) -> dict[str, Any]:
    """A statement of reasons exactly as a platform sends it to the EU's database."""
    n = next(_counter)
    body: dict[str, Any] = {
        "puid": f"sor-{n}",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "decision_ground_reference_url": "https://vidshare.example/terms#4-2",
        "incompatible_content_ground": "Terms of service, section 4.2",
        "incompatible_content_explanation": "The video shows graphic violence.",
        "incompatible_content_illegal": "No",
        "category": "STATEMENT_CATEGORY_VIOLENCE",
        "category_specification": ["KEYWORD_OTHER"],
        "category_specification_other": "Graphic violence",
        "content_type": ["CONTENT_TYPE_VIDEO"],
        "content_language": "DE",
        "content_date": "2026-10-30",
        "territorial_scope": ["AT", "DE"],
        "application_date": "2026-11-01",
        "decision_facts": "A user reported the video; a moderator reviewed and removed it.",
        "source_type": "SOURCE_ARTICLE_16",
        "source_identity": "Notice 2026-4711",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def make_reviewer(
    platform: Platform,
    username: str,
    *,
    senior: bool = False,
    moderator_id: str | None = None,
) -> Any:
    """A staff user who reviews `platform`'s appeals, known to it as `moderator_id` (the id the
    platform's API sends as `moderator`), pseudonymised as decisions' moderator refs are."""
    from django.contrib.auth import get_user_model

    from appeals.models import Reviewer
    from moderation.models import PlatformMember
    from moderation.pseudonyms import pseudonym

    user = get_user_model().objects.create_user(username=username, password="pw", is_staff=True)
    PlatformMember.objects.create(
        user=user,
        platform=platform,
        moderator_ref=(
            pseudonym(platform_slug=platform.slug, kind="moderator", platform_id=moderator_id)
            if moderator_id
            else ""
        ),
    )
    return Reviewer.objects.create(user=user, senior=senior)
