"""The demo data tells a coherent story (a newcomer's first look at the ledger is the demo)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from appeals.models import Appeal
from moderation.models import Decision
from moderation.vocabulary import DecisionType
from tests.conftest import TEST_LOG_KEY


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    # Seeding seals a checkpoint; the autouse key fixture is per test, so this sets its key.
    with (
        override_settings(LEDGER_LOG_SIGNING_KEY=TEST_LOG_KEY),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command(
            "seed_demo", decisions=3000, days=90, seed=1, stdout=StringIO(), stderr=StringIO()
        )
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(seeded: None, db: None) -> None:
    return None


def test_a_reversal_says_on_appeal_only_when_there_was_an_appeal(demo: None) -> None:
    appealed = set(Appeal.objects.values_list("decision_id", flat=True))
    reversals = Decision.objects.filter(decision_type=DecisionType.REVERSAL)
    assert reversals.count() > 20
    said = [
        (r.supersedes_id, r.decision_facts)
        for r in reversals
        if "appeal" in r.decision_facts.lower() and r.supersedes_id not in appealed
    ]
    assert said == []


def test_each_upload_is_decided_on_under_one_rule(demo: None) -> None:
    """No video cleared by the nudity classifier and then removed by the spam detector."""
    rules: dict[str, set[str]] = defaultdict(set)
    rows = Decision.objects.exclude(subject_content="").values_list(
        "subject_content", "category", "model_version__model__name"
    )
    for content, category, model in rows:
        rules[content].add(category)
        if model is not None:
            rules[content].add(f"model:{model}")
    mixed = {content: found for content, found in rules.items() if len(found) > 2}
    mixed_models = {
        content: found
        for content, found in rules.items()
        if len([f for f in found if f.startswith("model:")]) > 1
    }
    mixed_categories = {
        content: found
        for content, found in rules.items()
        if len([f for f in found if not f.startswith("model:")]) > 1
    }
    assert len(rules) > 500
    assert mixed_models == {}
    assert mixed_categories == {}
    assert mixed == {}
