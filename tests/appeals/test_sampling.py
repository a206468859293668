"""Blind audit sampling: the rule, checked by hand; which decisions it takes; the items the
recording hook makes, against the rule recomputed from the plans and from the public log."""

from __future__ import annotations

import hmac
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals import audit
from appeals.audit import (
    drawn,
    ensure_audit_queue,
    resample,
    sample_value,
    sampled_ids,
    set_audit_plan,
    stratum_rate,
)
from appeals.models import AuditPlan, ItemKind, ItemState, ReviewItem, ReviewQueue
from ledger.models import LogEntry
from moderation import services
from moderation.models import AuditEvent, Decision, Platform
from tests.concurrency import at_once, failures
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db

HATE = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


def plan(platform: Platform, strata: list[dict[str, Any]], double_review: float = 0.0) -> AuditPlan:
    return set_audit_plan(
        platform=platform, strata=strata, double_review=double_review, actor="tests"
    )


def record(platform: Platform, bodies: list[dict[str, Any]], **options: Any) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(body) for body in bodies], **options
    )
    by_id = Decision.objects.in_bulk([r.public_id for r in recorded], field_name="public_id")
    return [by_id[r.public_id] for r in recorded]


def automated(n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [decision_payload(**overrides) for _ in range(n)]


def samples(platform: Platform) -> dict[uuid.UUID, ReviewItem]:
    items = ReviewItem.objects.filter(
        decision__platform=platform, kind=ItemKind.AUDIT, plan__isnull=False
    ).select_related("decision", "plan", "queue")
    return {item.decision.public_id: item for item in items}


def hand_draw(salt: str, text: str) -> float:
    """The rule as the issue words it, written apart from appeals.audit: the first 8 bytes of
    HMAC-SHA256, as 16 hex digits, read as an integer, over 2**64."""
    mac = hmac.new(bytes.fromhex(salt), text.encode("utf-8"), "sha256").hexdigest()
    return int(mac[:16], 16) / 2**64


def from_the_log(slug: str) -> dict[str, int]:
    """What an auditor recomputes from the public log alone: every sampled decision's id and
    the labels it needs. Plans and decisions are read in log order; no database row but the
    log's entries is consulted."""
    in_force: dict[str, Any] | None = None
    sampled: dict[str, int] = {}
    for entry_type, payload in LogEntry.objects.order_by("index").values_list(
        "entry_type", "payload"
    ):
        body = json.loads(payload)
        if body.get("platform") != slug:
            continue
        if entry_type == "audit_plan":
            in_force = body
            continue
        if entry_type != "decision" or in_force is None:
            continue
        if body["decision_type"] in ("DECISION_TYPE_REVERSAL", "DECISION_TYPE_EXPIRY"):
            continue
        if not body["automated_detection"] and (
            body["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
        ):
            continue
        model = body["model"] or {}
        rates = {}
        for s in in_force["strata"]:
            if "model" in s:
                rates[("model", s["model"], s["version"])] = s["rate"]
            elif "category" in s:
                rates[("category", s["category"])] = s["rate"]
            else:
                rates[("default",)] = s["rate"]
        keys = [
            ("model", model.get("name"), model.get("version")),
            ("category", body["category"]),
            ("default",),
        ]
        rate = next((rates[k] for k in keys if k in rates), None)
        if rate is None:
            continue
        if rate == 1 or hand_draw(in_force["salt"], body["id"]) < rate:
            share = in_force["double_review"]
            double = share == 1 or hand_draw(in_force["salt"], "double:" + body["id"]) < share
            sampled[body["id"]] = 2 if double else 1
    return sampled


# --- the rule -------------------------------------------------------------------------------

SALT = "aa" * 32
DECISION_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def test_the_draw_is_hmac_sha256_of_the_id_first_8_bytes_over_2_to_the_64():
    # From `openssl dgst -sha256 -mac HMAC -macopt hexkey:aa..aa` over the id: 627f02a22abe1d8f...
    assert sample_value(SALT, DECISION_ID) == 0x627F02A22ABE1D8F / 2**64
    assert sample_value(SALT, DECISION_ID) == pytest.approx(0.38475052317766)
    # ... and over "double:" + the id: ec5d082fbde2bdf9...
    assert sample_value(SALT, "double:" + DECISION_ID) == 0xEC5D082FBDE2BDF9 / 2**64
    for text in ("", "é", DECISION_ID.upper(), str(uuid.uuid4())):
        assert sample_value(SALT, text) == hand_draw(SALT, text)
    # The key is the salt's bytes, not its hex text.
    assert sample_value("bb" * 32, DECISION_ID) != sample_value(SALT, DECISION_ID)


def test_a_draw_is_taken_below_the_rate_and_rate_one_takes_every_draw():
    draw = sample_value(SALT, DECISION_ID)  # 0.3847...
    assert drawn(draw, 0.39) and not drawn(draw, 0.38) and not drawn(draw, draw)
    assert drawn(1.0, 1.0) and drawn(0.0, 1.0)
    assert not drawn(0.0, 0.0)


STRATA = [
    {"rate": 0.001},
    {"category": HATE, "rate": 0.01},
    {"model": "hate-speech", "version": "v1", "rate": 0.05},
    {"model": "spam", "version": "v3", "rate": 0.5},
]


@pytest.mark.parametrize(
    ("model", "version", "category", "rate"),
    [
        ("hate-speech", "v1", HATE, 0.05),  # the model version beats its category
        ("hate-speech", "v1", VIOLENCE, 0.05),
        ("spam", "v3", HATE, 0.5),
        ("hate-speech", "v2", HATE, 0.01),  # another version: the category
        ("spam", "v1", HATE, 0.01),
        (None, None, HATE, 0.01),
        ("hate-speech", "v2", VIOLENCE, 0.001),  # nothing more specific: the default
        (None, None, VIOLENCE, 0.001),
    ],
)
def test_the_most_specific_stratum_gives_the_rate(model, version, category, rate):
    assert stratum_rate(STRATA, model=model, version=version, category=category) == rate


def test_a_decision_no_stratum_matches_has_no_rate():
    strata = STRATA[1:]  # no default
    assert stratum_rate(strata, model="hate-speech", version="v2", category=VIOLENCE) is None
    assert stratum_rate([], model="hate-speech", version="v1", category=HATE) is None
    # A model stratum needs the version too: the name alone is not a match.
    assert stratum_rate(STRATA[2:3], model="hate-speech", version=None, category=HATE) is None


# --- what is sampled --------------------------------------------------------------------------


def test_rate_one_samples_every_automated_decision_and_rate_zero_none(platform, model_v1):
    plan(platform, [{"rate": 1}])
    every = record(platform, automated(30))
    assert set(samples(platform)) == {d.public_id for d in every}

    plan(platform, [{"rate": 0}, {"category": HATE, "rate": 0.0}])
    record(platform, automated(30))
    assert set(samples(platform)) == {d.public_id for d in every}


def test_the_items_are_blind_audit_work_in_the_audit_queue(platform, model_v1, settings):
    settings.LEDGER_AUDIT_DEADLINE_HOURS = 72
    current = plan(platform, [{"rate": 1}])
    (decision,) = record(platform, automated(1))

    item = samples(platform)[decision.public_id]
    queue = ReviewQueue.objects.get(platform=platform, audit=True)
    assert (queue.slug, queue.name, queue.deadline_hours, queue.is_default) == (
        "audit",
        "Audit samples",
        72,
        False,
    )
    assert item.queue == queue
    assert item.kind == ItemKind.AUDIT and item.state == ItemState.OPEN
    assert item.plan == current and item.appeal is None and item.known_answer == ""
    assert item.priority == 1 and item.labels_needed == 1 and item.version == 1
    assert item.decision.pk == decision.pk
    assert item.due_at - item.created_at == timedelta(hours=72)
    assert item.created_at == decision.created_at
    event = AuditEvent.objects.get(action="audit.sampled")
    assert event.actor_label == "system" and event.details == {"items": 1, "queue": "audit"}


def test_a_model_version_stratum_outranks_the_category_in_the_batch(platform, model_v1):
    register_model(platform, version="v2")
    plan(
        platform,
        [
            {"model": "hate-speech", "version": "v1", "rate": 1},
            {"category": HATE, "rate": 0},
            {"rate": 1},
        ],
    )
    v1 = record(platform, automated(10))
    v2 = record(platform, automated(10, model_version="v2"))
    other = record(platform, automated(10, model_version="v2", category=VIOLENCE))
    unmodelled = record(
        platform,
        automated(5, model=None, model_version=None, score=None)
        + automated(5, model=None, model_version=None, score=None, category=VIOLENCE),
        # As the admin records them: automated without a registered model.
        require_model_for_automation=False,
    )

    sampled = set(samples(platform))
    assert {d.public_id for d in v1} <= sampled
    assert not {d.public_id for d in v2} & sampled  # their category's 0
    assert {d.public_id for d in other} <= sampled  # the default's 1
    # Automated without a model (a keyword filter): by category, else the default.
    assert sampled & {d.public_id for d in unmodelled} == {d.public_id for d in unmodelled[5:]}


def test_no_matching_stratum_means_not_sampled(platform, model_v1):
    plan(platform, [{"category": VIOLENCE, "rate": 1}])
    record(platform, automated(20))  # hate speech, model v1: nothing matches
    assert samples(platform) == {}
    assert not ReviewQueue.objects.filter(audit=True).exists()


def test_human_decisions_reversals_and_expiries_are_never_sampled(platform, model_v1):
    plan(platform, [{"rate": 1}])
    humans = record(platform, [human_payload() for _ in range(5)])
    # Found by a person, decided with a classifier's help: automated enough to be audited.
    assisted = record(
        platform,
        [
            human_payload(
                automated_decision="AUTOMATED_DECISION_PARTIALLY",
                model="hate-speech",
                model_version="v1",
                score=0.9,
            )
        ],
    )
    assert not assisted[0].automated_detection
    first = decision_payload()
    (original,) = record(platform, [first])
    changes = record(
        platform,
        [
            # Recorded by the platform's own automation, model and all: still not sampled.
            decision_payload(
                decision_type=kind,
                decision_visibility=[],
                supersedes=str(original.public_id),
                subject=first["subject"],
            )
            for kind in ("DECISION_TYPE_REVERSAL", "DECISION_TYPE_EXPIRY")
        ],
    )
    assert all(d.automated_detection for d in changes)
    (other,) = record(platform, automated(1))
    reversal = services.reverse_decision(decision=other, reason="A chess lesson, not hate.")

    sampled = set(samples(platform))
    assert sampled == {assisted[0].public_id, original.public_id, other.public_id}
    assert not {d.public_id for d in humans} & sampled
    assert reversal.public_id not in sampled
    assert sampled_ids(platform) == sampled


def test_double_review_takes_two_labels_exactly_where_the_double_draw_falls(platform, model_v1):
    current = plan(platform, [{"rate": 1}], double_review=0.5)
    decisions = record(platform, automated(60))

    items = samples(platform)
    expected = {
        d.public_id: 2 if hand_draw(current.salt, f"double:{d.public_id}") < 0.5 else 1
        for d in decisions
    }
    assert {public_id: item.labels_needed for public_id, item in items.items()} == expected
    # Both kinds occur, so the test could fail either way.
    assert set(expected.values()) == {1, 2}

    plan(platform, [{"rate": 1}], double_review=1)
    later = record(platform, automated(10))
    assert {samples(platform)[d.public_id].labels_needed for d in later} == {2}


def test_the_items_are_what_the_rule_recomputes_from_the_plans_and_from_the_log(platform, model_v1):
    register_model(platform, version="v2")
    plan(platform, [{"model": "hate-speech", "version": "v1", "rate": 0.4}, {"rate": 0.2}], 0.3)
    record(platform, automated(40) + automated(20, model_version="v2"))
    record(platform, [human_payload() for _ in range(10)])
    plan(platform, [{"category": HATE, "rate": 0.6}, {"rate": 0.1}], double_review=0.5)
    record(platform, automated(40) + automated(20, category=VIOLENCE))

    items = samples(platform)
    assert 10 < len(items) < 100  # a rate below 1 drew some and left some
    assert set(items) == sampled_ids(platform)
    by_auditor = from_the_log(platform.slug)
    assert by_auditor == {str(pid): item.labels_needed for pid, item in items.items()}
    assert resample(platform) == 0


def test_another_platforms_plan_does_not_sample_this_one(platform, model_v1):
    other = services.create_platform(slug="clipzone", name="ClipZone")
    plan(other, [{"rate": 1}])
    record(platform, automated(10))
    assert samples(platform) == {}


# --- plan order and decision order --------------------------------------------------------------


def test_a_decision_recorded_before_a_new_plan_keeps_the_old_plan(platform, model_v1):
    before_any = record(platform, automated(5))
    first = plan(platform, [{"rate": 1}])
    under_first = record(platform, automated(5))
    second = plan(platform, [{"rate": 0}])
    under_second = record(platform, automated(5))

    items = samples(platform)
    assert set(items) == {d.public_id for d in under_first}
    assert {item.plan for item in items.values()} == {first}
    assert all(d.log_entry_id < first.log_entry_id for d in before_any) and all(
        first.log_entry_id < d.log_entry_id < second.log_entry_id for d in under_first
    )
    assert all(second.log_entry_id < d.log_entry_id for d in under_second)
    # The rule agrees, and catching up finds nothing to add: no later plan reaches back.
    assert sampled_ids(platform) == set(items)
    assert resample(platform) == 0


def test_resample_makes_the_missing_items_once(platform, model_v1, monkeypatch):
    # Decisions recorded while the hook was not installed (before this code was deployed).
    monkeypatch.setattr(services, "_recorded_hooks", [])
    first = plan(platform, [{"rate": 0.5}], double_review=0.5)
    record(platform, automated(40))
    second = plan(platform, [{"rate": 1}])
    late = record(platform, automated(5))
    assert samples(platform) == {}

    made = resample(platform, first)
    assert made == len(samples(platform)) > 0
    assert {item.plan for item in samples(platform).values()} == {first}
    assert resample(platform) == len(late)
    assert {samples(platform)[d.public_id].plan for d in late} == {second}
    assert resample(platform) == 0 and resample(platform, first) == 0

    items = samples(platform)
    assert set(items) == sampled_ids(platform)
    assert from_the_log(platform.slug) == {str(p): i.labels_needed for p, i in items.items()}
    assert AuditEvent.objects.filter(action="audit.resampled").count() == 2


def test_the_audit_queue_takes_another_slug_when_audit_is_taken(platform):
    ReviewQueue.objects.create(platform=platform, slug="audit", name="Ours", deadline_hours=5)
    queue = ensure_audit_queue(platform)
    assert (queue.slug, queue.audit) == ("audit-2", True)
    assert ensure_audit_queue(platform) == queue


# --- cost ---------------------------------------------------------------------------------------


def _queries_of_a_batch(platform: Platform, n: int) -> tuple[int, float]:
    bodies = [as_input(body) for body in automated(n)]
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        services.record_decisions(platform=platform, decisions=bodies)
        elapsed = time.perf_counter() - started
    return len(queries), elapsed


def test_sampling_adds_one_query_to_a_batch_without_a_plan_and_six_with_one(
    platform, model_v1, monkeypatch
):
    unhooked, _ = _queries_of_a_batch_without_hook(platform, monkeypatch)
    without_plan, _ = _queries_of_a_batch(platform, 1000)
    assert without_plan == unhooked + 1

    plan(platform, [{"model": "hate-speech", "version": "v1", "rate": 0.01}, {"rate": 0.5}])
    ensure_audit_queue(platform)
    with_plan, _ = _queries_of_a_batch(platform, 1000)
    # The plan, the model names, the audit queue, the drawn decisions' ids, one insert of the
    # items, one audit row. (On PostgreSQL the insert is a COPY, which Django's query log does
    # not see.)
    assert with_plan == unhooked + (5 if connection.vendor == "postgresql" else 6)
    assert 0 < len(samples(platform)) < 1000


def _queries_of_a_batch_without_hook(platform: Platform, monkeypatch: Any) -> tuple[int, float]:
    with monkeypatch.context() as patched:
        patched.setattr(services, "_recorded_hooks", [])
        return _queries_of_a_batch(platform, 1000)


def test_the_hook_is_installed_by_the_appeals_app():
    assert audit.sample_recorded in services._recorded_hooks


# --- PostgreSQL: a plan and batches at once -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_plans_set_during_concurrent_batches_sample_exactly_what_the_rule_says(platform, model_v1):
    plan(platform, [{"rate": 0.5}])
    calls: list[Any] = [
        lambda n=n: record(platform, automated(20, content_language=None)) for n in range(6)
    ]
    calls += [
        lambda: plan(platform, [{"rate": 1}]),
        lambda: plan(platform, [{"rate": 0}]),
        lambda: plan(platform, [{"rate": 0.25}], double_review=1),
    ]
    assert failures(at_once(calls)) == []

    assert AuditPlan.objects.filter(platform=platform).count() == 4
    items = samples(platform)
    assert set(items) == sampled_ids(platform)
    assert from_the_log(platform.slug) == {str(p): i.labels_needed for p, i in items.items()}
    for item in items.values():
        later = AuditPlan.objects.filter(
            platform=platform,
            log_entry_id__gt=item.plan.log_entry_id,
            log_entry_id__lt=item.decision.log_entry_id,
        )
        assert not later.exists()


# --- the audit queue beside the appeal queues -----------------------------------------------------


def test_appeals_are_never_routed_to_the_audit_queue(platform, model_v1):
    from appeals.services import file_appeal

    plan(platform, [{"rate": 1}])
    (decision,) = record(platform, automated(1))
    assert ReviewQueue.objects.filter(platform=platform, audit=True).exists()

    appeal = file_appeal(decision=decision, appellant="subject", statement="A chess lesson.")
    assert appeal.review_item.queue.is_default


def test_the_deadline_watch_leaves_audit_items_alone(platform, model_v1):
    from appeals.services import count_breaches, escalate_near_deadline

    plan(platform, [{"rate": 1}])
    (decision,) = record(platform, automated(1))
    item = samples(platform)[decision.public_id]
    late = item.due_at + timedelta(hours=1)

    escalate_near_deadline(now=late)
    assert count_breaches(now=late) == 1
    item.refresh_from_db()
    assert not item.senior_only and item.breached_at == late
    assert not LogEntry.objects.filter(entry_type="appeal_escalated").exists()


def test_the_resample_command_makes_what_is_missing_once(platform, model_v1, monkeypatch, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    monkeypatch.setattr(services, "_recorded_hooks", [])
    plan(platform, [{"rate": 1}])
    record(platform, automated(3))
    services.create_platform(slug="clipzone", name="ClipZone")  # no plan: not listed

    call_command("resample_audits")
    assert capsys.readouterr().out == "vidshare: 3 audit item(s) made\n"
    call_command("resample_audits", "--platform", "vidshare")
    assert capsys.readouterr().out == "vidshare: 0 audit item(s) made\n"
    assert AuditEvent.objects.get(action="audit.resampled").actor_label == (
        "manage.py resample_audits"
    )
    with pytest.raises(CommandError, match="No platform 'nowhere'"):
        call_command("resample_audits", "--platform", "nowhere")


def test_the_hooks_fast_insert_and_resample_make_the_same_items(platform, model_v1, monkeypatch):
    plan(platform, [{"rate": 1}])
    (hooked,) = record(platform, automated(1))
    with monkeypatch.context() as patched:
        patched.setattr(services, "_recorded_hooks", [])
        (caught_up,) = record(platform, automated(1))
    assert resample(platform) == 1

    def columns(item: ReviewItem) -> dict[str, Any]:
        values = {f.attname: getattr(item, f.attname) for f in ReviewItem._meta.concrete_fields}
        for varying in ("id", "decision_id", "created_at", "due_at"):
            values.pop(varying)
        return values

    items = samples(platform)
    assert columns(items[hooked.public_id]) == columns(items[caught_up.public_id])
    assert columns(items[hooked.public_id])["state"] == ItemState.OPEN
