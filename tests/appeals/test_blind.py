"""Blindness: an audit item's reviewer sees the content, the policy and the decision, and
nowhere the model's name, version, score or threshold, nor an id or link that leads to the
decision's published record (which names them); a planted known-answer item looks exactly like
a sample; the second reviewer of a double-reviewed item never sees the first label."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from appeals import review_api
from appeals.labels import REDACTED, blind_redactor, plant_known_answer
from appeals.models import ItemKind
from ledger.models import LogEntry
from moderation import services as moderation
from moderation.api import DecisionOut
from moderation.models import Decision, Policy
from tests.appeals.test_labels import (
    CLAIM,
    MODEL,
    SCORE,
    THRESHOLD,
    VERSION,
    automated,
    claimed,
    post,
    record,
    reviewer_client,  # noqa: F401 (a fixture)
    sample_everything,
    sample_of,
    url,
)
from tests.appeals.test_labels import chessbot as chessbot
from tests.factories import human_payload

pytestmark = pytest.mark.django_db

# A platform that quotes its model in its own statement of facts, as platforms do.
FACTS = (
    f"Flagged by {MODEL} {VERSION} with score {SCORE} (87.31%) over its threshold "
    f"{THRESHOLD}; CHESSBOT-XQ is our hate-speech classifier."
)
PUID = "vidshare-moderation-7f3a9c"
FIRST_REASON = "Commentary on a chess game: the words are about the pieces."


def hateful_conduct(platform: Any) -> None:
    """The policy the model enforces, keyed by the model's own name, as platforms do."""
    moderation.register_policy(
        platform=platform,
        key=MODEL,
        title="Hateful conduct",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="Community guidelines 4.2",
        url=f"https://vidshare.example/policies/{MODEL}",
        summary="No attacks on people for who they are.",
    )


def chess_decision(platform: Any, puid: str = PUID, **overrides: Any) -> Decision:
    if not Policy.objects.filter(platform=platform, key=MODEL).exists():
        hateful_conduct(platform)
    return automated(
        platform,
        puid=puid,
        policy=MODEL,
        decision_facts=FACTS,
        incompatible_content_explanation=f"Classified by {MODEL} at {SCORE}.",
        internal_notes=f"model {MODEL}/{VERSION}, score {SCORE}",
        **overrides,
    )


def secrets_of(decision: Decision) -> list[str]:
    """Every text that gives the model away or leads to the decision's published record."""
    return [
        MODEL,
        VERSION,
        str(SCORE),
        "87.31",
        str(THRESHOLD),
        PUID,
        str(decision.public_id),
        str(decision.public_id).replace("-", ""),
        decision.subject_account,
        decision.subject_content,
        decision.notice_token,
        bytes(decision.log_entry.leaf_hash).hex(),
        decision.decided_at.isoformat(),
    ]


FORBIDDEN_KEYS = {
    "model",
    "model_version",
    "score",
    "threshold",
    "puid",
    "log_index",
    "leaf_hash",
    "notice_url",
    "notifier_notice_url",
    "receipt_url",
    "automated_detection",
    "automated_decision",
    "subject",
    "supersedes",
    "internal_notes",
    "moderator",
    "known_answer",
    "plan",
    "labels_needed",
    "history",
    "appeal",
    "reviews",
    "labels",
}


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def assert_blind(raw: bytes, decision: Decision) -> dict[str, Any]:
    """Search the whole answer, as sent and as parsed, for anything that gives it away."""
    text = raw.decode()
    data = json.loads(text)
    whole = text + json.dumps(data) + json.dumps(data, ensure_ascii=False)
    for secret in secrets_of(decision):
        assert secret and secret.lower() not in whole.lower(), secret
    assert not keys_of(data) & FORBIDDEN_KEYS, keys_of(data) & FORBIDDEN_KEYS
    # Nor the log index, as a number anywhere in the answer.
    assert decision.log_entry_id not in numbers_in(data)
    return dict(data)


def numbers_in(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return []


def busy_log(platform: Any) -> None:
    """Decisions before the plan (not sampled), so that later decisions' log indexes are
    numbers that would stand out in a view."""
    for n in range(12):
        automated(platform, puid=f"before-{n}")


@pytest.fixture
def sampled(platform, chessbot) -> Decision:
    busy_log(platform)
    sample_everything(platform)
    decision = chess_decision(platform)
    assert decision.log_entry_id > 12
    return decision


def test_the_claimed_audit_item_names_no_model_score_threshold_or_id(
    sampled,
    reviewer_client,  # noqa: F811
):
    rita = reviewer_client("rita")

    response = post(rita, CLAIM)

    assert response.status_code == 200, response.content
    item = assert_blind(response.content, sampled)
    assert item["kind"] == "audit"
    decision = item["decision"]
    # What the reviewer judges by is all there.
    assert decision["decision_visibility"] == ["DECISION_VISIBILITY_SEARCH_EXCLUDED"]
    assert decision["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert decision["incompatible_content_ground"] == (
        "Community guidelines, section 4.2 (hateful conduct)"
    )
    assert decision["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert decision["content_language"] == "EN"
    assert decision["territorial_scope"] == ["DE", "FR"]
    assert decision["decided_on"] == sampled.decided_at.date().isoformat()
    # The policy by its wording, not by its key (here the model's name).
    assert decision["policy"] == {
        "title": "Hateful conduct",
        "version": 1,
        "clause": "Community guidelines 4.2",
        "url": f"https://vidshare.example/policies/{REDACTED}",
        "summary": "No attacks on people for who they are.",
    }
    # The platform's own words, with the model blanked out of them.
    assert decision["decision_facts"] == (
        f"Flagged by {REDACTED} {REDACTED} with score {REDACTED} ({REDACTED}) over its "
        f"threshold {REDACTED}; {REDACTED} is our hate-speech classifier."
    )
    assert decision["incompatible_content_explanation"] == (
        f"Classified by {REDACTED} at {REDACTED}."
    )


def test_every_answer_about_an_audit_item_is_blind(sampled, reviewer_client):  # noqa: F811
    rita = reviewer_client("rita")
    item = claimed(rita)

    for action in ("heartbeat", "release"):
        response = post(rita, url(item["id"], action))
        assert response.status_code == 200, response.content
        assert_blind(response.content, sampled)
    again = claimed(rita)
    decided = post(
        rita,
        url(again["id"]),
        {"outcome": "correct", "reason": "Hateful.", "version": again["version"]},
    )
    assert decided.status_code == 200, decided.content
    assert assert_blind(decided.content, sampled)["item"]["state"] == "done"


def test_every_field_of_the_full_decision_view_is_shown_blind_or_hidden_on_purpose():
    full = set(DecisionOut.Meta.fields)
    shown = set(review_api.BLIND_SHOWN)

    assert shown | review_api.BLIND_HIDDEN == full
    assert not shown & review_api.BLIND_HIDDEN
    assert set(review_api.BLIND_FREE_TEXT) <= shown
    assert set(review_api.BlindDecisionOut().fields) == shown | {"decided_on"}


def test_a_planted_item_looks_exactly_like_a_sample(platform, chessbot, reviewer_client):  # noqa: F811
    # Recorded before the plan, so not sampled: planted instead.
    other = chess_decision(platform, puid="vidshare-moderation-other")
    sample_everything(platform)
    sample = chess_decision(platform)
    entries = LogEntry.objects.count()
    planted = plant_known_answer(decision=other, answer="incorrect", actor="tests")
    rita = reviewer_client("rita")

    views = {item["id"]: item for item in (claimed(rita), claimed(rita))}

    as_sample = views[sample_of(sample).pk]
    as_planted = views[planted.pk]
    assert keys_of(as_sample) == keys_of(as_planted)
    for key in ("kind", "queue", "state", "priority", "senior_only", "outcomes", "platform"):
        assert as_sample[key] == as_planted[key], key
    assert as_sample["due_at"][:10] == as_planted["due_at"][:10]
    assert as_sample["version"] == as_planted["version"]
    assert "incorrect" not in json.dumps(as_planted["decision"])
    # Nothing about the planting is in the log.
    assert LogEntry.objects.count() == entries
    # The decision's own entry is the only one that names it.
    assert LogEntry.objects.filter(payload__contains=str(other.public_id)).count() == 1


def test_a_planted_items_label_leaves_the_log_as_it_was(platform, chessbot, reviewer_client):  # noqa: F811
    busy_log(platform)
    decision = chess_decision(platform)
    planted = plant_known_answer(decision=decision, answer="correct", actor="tests")
    entries = list(LogEntry.objects.values_list("index", "payload"))
    rita = reviewer_client("rita")
    item = claimed(rita)
    assert item["id"] == planted.pk
    assert_blind(json.dumps(item).encode(), decision)

    response = post(
        rita, url(item["id"]), {"outcome": "correct", "reason": "Fine.", "version": item["version"]}
    )

    assert response.status_code == 200, response.content
    assert list(LogEntry.objects.values_list("index", "payload")) == entries


def test_the_second_reviewer_does_not_see_the_first_label(platform, chessbot, reviewer_client):  # noqa: F811
    sample_everything(platform, double_review=1.0)
    decision = chess_decision(platform)
    rita, omar = reviewer_client("rita"), reviewer_client("omar")
    first = claimed(rita)
    labelled = post(
        rita,
        url(first["id"]),
        {
            "outcome": "incorrect",
            "reason": FIRST_REASON,
            "clause": "none applies",
            "version": first["version"],
        },
    )
    assert labelled.status_code == 200, labelled.content

    response = post(omar, CLAIM)

    assert response.status_code == 200
    second = assert_blind(response.content, decision)
    assert second["id"] == first["id"]
    text = response.content.decode()
    for trace in (FIRST_REASON, "none applies", "rita"):
        assert trace not in text
    assert second["state"] == "claimed"


def test_the_redactor_blanks_whole_words_only_and_ignores_case(platform, chessbot):
    decision = chess_decision(platform)
    redact = blind_redactor(decision)

    assert redact(f"{MODEL.upper()}/{VERSION} said {SCORE}") == (
        f"{REDACTED}/{REDACTED} said {REDACTED}"
    )
    assert redact("86% of 0.87310 in section 2026.11") == "86% of 0.87310 in section 2026.11"
    assert redact("about 87% sure") == f"about {REDACTED} sure"
    assert redact(f"x{MODEL} and {MODEL}s") == f"x{MODEL} and {MODEL}s"
    assert redact("61.23% over 0.612") == f"{REDACTED} over {REDACTED}"


def test_the_redactor_blanks_the_ids_that_lead_to_the_published_record(platform, chessbot):
    decision = chess_decision(platform)
    redact = blind_redactor(decision)

    text = f"See {PUID} ({decision.public_id}, {decision.public_id.hex}) and the notice."
    assert redact(text) == f"See {REDACTED} ({REDACTED}, {REDACTED}) and the notice."


def test_a_human_decision_has_nothing_to_blank(platform):
    decision = record(platform, human_payload())
    assert decision.model_version_id is None

    # Nothing but its own ids, which no decision's text quotes here.
    assert blind_redactor(decision)("Removed by mod-7 at 0.5") == "Removed by mod-7 at 0.5"


def test_audit_items_are_of_kind_audit_in_the_schema():
    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    components = schema["components"]["schemas"]
    audit = components["AuditItemOut"]["properties"]
    assert not set(audit) & FORBIDDEN_KEYS
    blind = components["BlindDecisionOut"]["properties"]
    assert not set(blind) & FORBIDDEN_KEYS
    assert ItemKind.AUDIT.value in json.dumps(components["AuditItemOut"])
