"""GET /api/v1/stats/models: per model version, decisions, appeals and overturns, and the
precision of its blind audit samples, with small cells suppressed, read from the roll-ups as
of the latest checkpoint they counted, paged, and nothing personal in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal
from appeals.services import claim_next_review, file_appeal, resolve_appeal
from ledger.public import rollups, stats
from moderation import services
from moderation.models import Decision, Platform
from moderation.rules import summarize_action
from moderation.services import Measure
from moderation.vocabulary import CHANGING_TYPES, DecisionType, Visibility
from tests.factories import as_input, decision_payload, make_reviewer, register_model

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/models"
STATEMENT = "My chess video says 'white captures the black queen': it is about chess."
REASON = "A chess lesson; the classifier read chess moves as hate speech."
FIELDS = {
    "model",
    "version",
    "platform",
    "decisions",
    "appeals",
    "appeals_decided",
    "overturned",
    "overturn_rate",
    "audit",
}
NOTHING_AUDITED = {
    "reviewed": "<10",
    "correct": "<10",
    "precision": None,
    "low": None,
    "high": None,
}


def record(platform: Platform, count: int, **overrides: Any) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform,
        decisions=[as_input(decision_payload(**overrides)) for _ in range(count)],
    )
    return list(Decision.objects.filter(public_id__in=[r.public_id for r in recorded]))


def appeal(decisions: list[Decision]) -> list[Appeal]:
    return [file_appeal(decision=d, appellant="subject", statement=STATEMENT) for d in decisions]


def decide(reviewer: Any, outcome: str, count: int) -> None:
    for _ in range(count):
        item = claim_next_review(reviewer=reviewer)
        assert item is not None
        resolve_appeal(
            reviewer=reviewer,
            item=item,
            version=item.version,
            outcome=outcome,
            reason=REASON,
            measure=(
                Measure(decision_visibility=(Visibility.CONTENT_DEMOTED,))
                if outcome == "modified"
                else None
            ),
        )


def rows(client: Any, query: str = "") -> list[dict[str, Any]]:
    # What beat does within seconds: seal a checkpoint and count the log up to it.
    rollups.refresh()
    response = client.get(f"{URL}?{query}" if query else URL)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["next"] is None
    return cast(list[dict[str, Any]], body["results"])


def only_row(client: Any, query: str = "") -> dict[str, Any]:
    (row,) = rows(client, query)
    return row


@pytest.fixture
def reviewer(platform: Platform) -> Any:
    return make_reviewer(platform, "rita")


def test_a_model_version_without_decisions_is_listed_with_its_counts_suppressed(
    client, platform, model_v1
):
    assert only_row(client) == {
        "model": "hate-speech",
        "version": "v1",
        "platform": "vidshare",
        "decisions": "<10",
        "appeals": "<10",
        "appeals_decided": "<10",
        "overturned": "<10",
        "overturn_rate": None,
        "audit": NOTHING_AUDITED,
    }


def test_nine_decisions_are_suppressed_and_the_tenth_shows_the_count(client, platform, model_v1):
    record(platform, 9)
    assert only_row(client)["decisions"] == "<10"

    record(platform, 1)
    assert only_row(client)["decisions"] == 10


def test_the_threshold_is_the_setting_and_shows_in_the_suppressed_cell(
    client, settings, platform, model_v1
):
    settings.LEDGER_MIN_CELL = 3
    record(platform, 2)
    assert only_row(client)["decisions"] == "<3"
    record(platform, 1)
    assert only_row(client)["decisions"] == 3


def test_the_rate_is_overturned_or_modified_over_decided_once_both_are_shown(
    client, platform, model_v1, reviewer, settings
):
    decisions = record(platform, 14)
    appeal(decisions[:11])
    decide(reviewer, "upheld", 5)
    decide(reviewer, "overturned", 3)
    decide(reviewer, "modified", 1)

    row = only_row(client)
    assert row["appeals"] == 11
    assert row["appeals_decided"] == "<10"  # 9 decided
    assert row["overturned"] == "<10"
    assert row["overturn_rate"] is None

    decide(reviewer, "upheld", 1)  # the tenth decided, read live
    row = only_row(client)
    assert row["appeals_decided"] == 10
    # 4 overturned is a small cell: a rate would give it back (0.4 x 10).
    assert row["overturned"] == "<10"
    assert row["overturn_rate"] is None
    settings.LEDGER_MIN_CELL = 4
    row = only_row(client)
    assert row["overturned"] == 4
    assert row["overturn_rate"] == pytest.approx(4 / 10)
    # The three reversals and the modification are decisions too, but not of the model.
    assert Decision.objects.count() == 14 + 4
    assert row["decisions"] == 14
    assert row["appeals"] == 11  # one appeal is still waiting


def test_a_reversal_sent_with_a_model_version_is_not_counted_as_the_models_decision(
    client, settings, platform, model_v1
):
    settings.LEDGER_MIN_CELL = 1
    subject = {"account": "user-x", "content": "post-x"}
    (original,) = record(platform, 1, subject=subject)
    services.record_decision(
        platform=platform,
        decision=as_input(
            decision_payload(
                subject=subject,
                decision_type="DECISION_TYPE_REVERSAL",
                decision_visibility=None,
                supersedes=str(original.public_id),
            )
        ),
    )
    reversal = Decision.objects.exclude(pk=original.pk).get()
    assert reversal.model_version_id == model_v1.pk  # the platform named the model

    assert only_row(client)["decisions"] == 1


def test_the_changing_actions_are_exactly_the_actions_of_changing_types():
    """stats counts on `action` (inside its index) for what CHANGING_TYPES means on types."""
    changing = {
        summarize_action(cast(Any, SimpleNamespace(decision_type=t))) for t in CHANGING_TYPES
    }
    others = {
        summarize_action(cast(Any, SimpleNamespace(decision_type=t)))
        for t in (DecisionType.FLAG, DecisionType.NO_ACTION)
    }
    assert changing == set(stats.CHANGING_ACTIONS)
    assert not others & set(stats.CHANGING_ACTIONS)


def test_with_nothing_decided_the_rate_is_null_and_zero_is_a_small_cell(
    client, settings, platform, model_v1
):
    settings.LEDGER_MIN_CELL = 1
    appeal(record(platform, 2))

    assert only_row(client) == {
        "model": "hate-speech",
        "version": "v1",
        "platform": "vidshare",
        "decisions": 2,
        "appeals": 2,
        "appeals_decided": "<1",
        "overturned": "<1",
        "overturn_rate": None,
        "audit": {"reviewed": "<1", "correct": "<1", "precision": None, "low": None, "high": None},
    }


@pytest.fixture
def catalogue(platform: Platform, model_v1: Any) -> Platform:
    """Five model versions on two platforms, with decisions that tell them apart."""
    register_model(platform, version="v2")
    register_model(platform, name="spam", version="2026.1")
    other = services.create_platform(slug="tubely", name="Tubely")
    register_model(other, version="v1")
    register_model(other, name="nudity", version="n1")
    record(platform, 10, model_version="v2")
    record(other, 11)
    return other


def test_model_and_platform_filter_the_rows(client, settings, platform, catalogue):
    listed = rows(client)
    assert [(r["platform"], r["model"], r["version"]) for r in listed] == [
        ("tubely", "hate-speech", "v1"),
        ("tubely", "nudity", "n1"),
        ("vidshare", "hate-speech", "v1"),
        ("vidshare", "hate-speech", "v2"),
        ("vidshare", "spam", "2026.1"),
    ]

    hate = rows(client, "model=hate-speech")
    assert [(r["platform"], r["version"], r["decisions"]) for r in hate] == [
        ("tubely", "v1", 11),
        ("vidshare", "v1", "<10"),
        ("vidshare", "v2", 10),
    ]
    assert [r["version"] for r in rows(client, "model=hate-speech&platform=vidshare")] == [
        "v1",
        "v2",
    ]
    assert rows(client, "model=no-such-model") == []
    assert rows(client, "platform=nobody") == []


def test_pages_follow_in_order_and_keep_the_filter(client, platform, catalogue):
    everything = rows(client)
    seen: list[dict[str, Any]] = []
    url: str | None = f"{URL}?limit=2"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 2
        seen.extend(body["results"])
        url = body["next"]
        pages += 1
    assert pages == 3
    assert seen == everything

    first = client.get(f"{URL}?model=hate-speech&limit=1").json()
    assert (
        first["next"] == "http://testserver/api/v1/stats/models?model=hate-speech&limit=1&offset=1"
    )
    assert client.get(f"{URL}?offset=5").json() == {"results": [], "next": None}


def test_a_page_costs_four_queries_whatever_the_number_of_rows(client, platform, catalogue):
    rollups.refresh()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    # The roll-ups' generation (the answer's cache key), the page of versions, one grouped sum
    # over each roll-up: decisions, appeals, audits.
    assert len(queries) == 5
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "rollup" not in sql or "moderation_decision" not in sql
    assert '"moderation_decision"' not in sql and '"appeals_' not in sql


def test_numbers_wait_for_the_checkpoint_the_rollups_count_up_to(client, platform, model_v1):
    """Counted only once a checkpoint covers them, so every number is the log at a signed
    checkpoint; until then the last counted numbers stand."""
    record(platform, 10)
    assert only_row(client)["decisions"] == 10
    record(platform, 10)
    assert client.get(URL).json()["results"][0]["decisions"] == 10
    rollups.catch_up()  # no new checkpoint yet: nothing more to count
    assert client.get(URL).json()["results"][0]["decisions"] == 10
    assert only_row(client)["decisions"] == 20


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=0", ["limit"]),
        ("limit=501", ["limit"]),
        ("limit=ten", ["limit"]),
        ("limit=%C2%B2", ["limit"]),  # "²": isdigit() says yes
        ("offset=-1", ["offset"]),
        ("offset=1.5", ["offset"]),
        (f"offset={10**30}", ["offset"]),
        ("model=hate%20speech", ["model"]),
        ("model=a%00b", ["model"]),
        ("model=", ["model"]),
        ("platform=" + "p" * 65, ["platform"]),
        ("model=a&model=b", ["model"]),
        ("models=hate-speech", ["models"]),
        ("limit=0&offset=x&model=%00&colour=red", ["limit", "offset", "model", "colour"]),
    ],
)
def test_bad_parameters_are_refused_naming_each(client, platform, model_v1, query, named):
    response = client.get(f"{URL}?{query}")

    assert response.status_code == 400, response.content[:300]
    assert sorted(response.json()["errors"]) == sorted(named)


def test_nothing_personal_or_private_reaches_the_statistics(
    client, settings, platform, model_v1, reviewer
):
    settings.LEDGER_MIN_CELL = 1
    decisions = record(platform, 3, subject={"account": "alice-1987", "content": "post-alice"})
    appeal(decisions)
    decide(reviewer, "overturned", 1)

    rollups.refresh()
    response = client.get(URL)
    text = response.content.decode()
    (row,) = response.json()["results"]
    assert set(row) == FIELDS
    assert (row["decisions"], row["appeals"], row["appeals_decided"], row["overturned"]) == (
        3,
        3,
        1,
        1,
    )
    private = [STATEMENT, REASON, "alice", "rita", decisions[0].subject_account]
    private += [d.puid for d in decisions] + [str(d.public_id) for d in decisions]
    private += [d.notice_token for d in decisions]
    private += [str(a.public_id) for a in Appeal.objects.all()]
    assert not [p for p in private if p in text]
    assert response["Cache-Control"] == "public, max-age=5"


def test_the_schema_documents_the_endpoint(client):
    schema = client.get("/api/v1/schema?format=json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/stats/models" in text
    assert "ModelStatsPageOut" in text


@pytest.mark.parametrize(("value", "refused"), [("0", True), ("-3", True), ("1", False)])
def test_a_minimum_cell_below_one_is_refused_at_start(value, refused):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment["LEDGER_MIN_CELL"] = value
    result = subprocess.run(
        [sys.executable, "-c", "import ledger.settings as s; print(s.LEDGER_MIN_CELL)"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode != 0) == refused, result.stderr[-500:]
    assert ("LEDGER_MIN_CELL must be at least 1" in result.stderr) == refused


# --- Audited precision -------------------------------------------------------------------------


@pytest.fixture
def audit_plan(platform: Platform) -> Any:
    from tests.appeals.test_quality import make_plan

    return make_plan(platform)


def audited(platform: Platform, plan: Any, reviewer: Any, outcomes: str, **overrides: Any) -> None:
    from tests.appeals.test_quality import sampled

    sampled(record(platform, len(outcomes), **overrides), plan, reviewer, outcomes)


def test_audit_counts_below_the_minimum_cell_are_suppressed_and_give_no_precision(
    client, platform, model_v1, audit_plan, reviewer
):
    audited(platform, audit_plan, reviewer, "ciiiiiiii")  # 9 reviewed
    assert only_row(client)["audit"] == NOTHING_AUDITED


def test_the_precision_and_its_wilson_bounds_from_the_minimum_cell_reviewed(
    client, settings, platform, model_v1, audit_plan, reviewer
):
    """8 correct in 10: precision 0.8, Wilson 95% 0.4902 to 0.9433 (by hand in
    tests/appeals/test_quality.py)."""
    audited(platform, audit_plan, reviewer, "cciccccicc")
    audit = only_row(client)["audit"]
    assert audit["reviewed"] == 10
    # 2 incorrect, but 8 correct is still a small cell: shown as such.
    assert audit["correct"] == "<10"
    assert audit["precision"] == pytest.approx(0.8)
    assert audit["low"] == pytest.approx(0.4902, abs=1e-4)
    assert audit["high"] == pytest.approx(0.9433, abs=1e-4)

    settings.LEDGER_MIN_CELL = 8
    assert only_row(client)["audit"]["correct"] == 8
    settings.LEDGER_MIN_CELL = 11
    assert only_row(client)["audit"] == {
        "reviewed": "<11",
        "correct": "<11",
        "precision": None,
        "low": None,
        "high": None,
    }


def test_all_wrong_and_all_right_versions(
    client, settings, platform, model_v1, audit_plan, reviewer
):
    settings.LEDGER_MIN_CELL = 1
    register_model(platform, version="v2")
    audited(platform, audit_plan, reviewer, "iiii")
    audited(platform, audit_plan, reviewer, "cc", model_version="v2")

    v1, v2 = rows(client)
    # 0 of 4: high = (z^2/4) / (1 + z^2/4) = 0.96037 / 1.96037 = 0.48990.
    assert v1["audit"] == {
        "reviewed": 4,
        "correct": "<1",  # zero is a small cell, as everywhere
        "precision": 0.0,
        "low": 0.0,
        "high": pytest.approx(0.48990, abs=1e-5),
    }
    # 2 of 2: low = 2 / (2 + 3.84146) = 0.34238.
    assert v2["audit"] == {
        "reviewed": 2,
        "correct": 2,
        "precision": 1.0,
        "low": pytest.approx(0.34238, abs=1e-5),
        "high": 1.0,
    }


def test_a_double_label_counts_once_by_the_first_and_planted_items_never(
    client, settings, platform, model_v1, audit_plan, reviewer
):
    from tests.appeals.test_quality import item, label

    settings.LEDGER_MIN_CELL = 1
    ben = make_reviewer(platform, "ben")
    first, second, third = record(platform, 3)
    double = item(first, plan=audit_plan, labels_needed=2)
    label(double, reviewer, "incorrect", minutes=1)
    label(double, ben, "correct", minutes=2)
    label(item(second, known_answer="correct"), reviewer, "correct")
    label(item(third, known_answer="incorrect"), ben, "incorrect")

    audit = only_row(client)["audit"]
    assert (audit["reviewed"], audit["correct"], audit["precision"]) == (1, "<1", 0.0)


def test_nothing_of_the_audit_labels_reaches_the_statistics(
    client, settings, platform, model_v1, audit_plan, reviewer
):
    from appeals.models import Review

    settings.LEDGER_MIN_CELL = 1
    audited(platform, audit_plan, reviewer, "ci")
    rollups.refresh()
    text = client.get(URL).content.decode()
    private = ["rita", audit_plan.salt]
    private += [r.reason for r in Review.objects.all()] + [r.clause for r in Review.objects.all()]
    private += [str(d.public_id) for d in Decision.objects.all()]
    assert not [p for p in private if p and p in text]


def test_the_schema_documents_the_audit_fields(client):
    schema = client.get("/api/v1/schema?format=json").json()
    audit = schema["components"]["schemas"]["AuditStatsOut"]
    assert set(audit["properties"]) == {"reviewed", "correct", "precision", "low", "high"}
    assert audit["properties"]["precision"]["nullable"] is True
    row = schema["components"]["schemas"]["ModelVersionStatsOut"]
    assert "audit" in row["required"]


@pytest.mark.parametrize(
    ("value", "refused"),
    [("1.5", True), ("-0.1", True), ("nan", True), ("half", True), ("0.8", False), ("", False)],
)
def test_a_minimum_precision_outside_0_to_1_is_refused_at_start(value, refused):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment["LEDGER_MIN_PRECISION"] = value
    result = subprocess.run(
        [sys.executable, "-c", "import ledger.settings as s; print(s.LEDGER_MIN_PRECISION)"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode != 0) == refused, result.stderr[-500:]
    assert ("LEDGER_MIN_PRECISION must be" in result.stderr) == refused
    if not refused:
        assert result.stdout.strip() == (value or "0.5")
