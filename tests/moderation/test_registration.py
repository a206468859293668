"""Registering policy and model versions: idempotent under concurrency, bounded versions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from ledger.models import EntryType, LogEntry
from moderation import services
from moderation.models import ModelVersion, Policy
from tests.concurrency import at_once, failures

pytestmark = pytest.mark.django_db

LAST_VERSION = 2**31 - 1


def register_spam(platform, version: int | None = None, clause: str = "7.1"):
    return services.register_policy(
        platform=platform,
        key="spam",
        title="Spam",
        category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause=clause,
        version=version,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_registrations_of_a_new_model_version_create_it_once(platform, model_v1):
    """The model exists (v1): nothing but the new version's own row could order the eight."""

    def register() -> bool:
        _, was_created = services.register_model_version(
            platform=platform,
            name="hate-speech",
            version="v2",
            released_at=dt.date(2026, 11, 1),
            threshold=0.7,
        )
        return was_created

    created = at_once([register] * 8)

    assert failures(created) == []
    assert sorted(created) == [False] * 7 + [True]  # type: ignore[type-var]
    assert ModelVersion.objects.filter(version="v2").count() == 1
    assert LogEntry.objects.filter(entry_type=EntryType.MODEL_VERSION).count() == 2


def test_the_next_version_after_the_last_one_there_is_is_refused_cleanly(platform):
    last, _ = register_spam(platform, version=LAST_VERSION)
    entries = LogEntry.objects.count()

    with pytest.raises(services.RegistrationConflict, match="new key"):
        register_spam(platform, clause="7.2")

    assert list(Policy.objects.values_list("version", flat=True)) == [LAST_VERSION]
    assert LogEntry.objects.count() == entries
    assert register_spam(platform, version=LAST_VERSION) == (last, False)


def test_a_version_beyond_the_column_is_refused_before_anything_is_written(platform):
    with pytest.raises(services.RegistrationConflict, match="out of range"):
        register_spam(platform, version=LAST_VERSION + 1)

    assert not Policy.objects.exists() and not LogEntry.objects.exists()


def test_the_api_answers_409_naming_the_problem_after_the_last_version(api, platform):
    register_spam(platform, version=LAST_VERSION)

    response = api.post(
        "/api/v1/policies",
        data=json.dumps(
            {
                "key": "spam",
                "title": "Spam",
                "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "clause": "7.2",
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 409
    assert str(LAST_VERSION) in response.json()["detail"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM moderation_policy")
        assert cursor.fetchone()[0] == 1
