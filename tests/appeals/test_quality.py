"""appeals.quality: Wilson intervals, Cohen's kappa, precision per model version, policy,
language and territory, agreement per queue and policy, reviewers' known-answer accuracy.

Every expected value is worked out by hand in the test. Audit items and labels are built as
rows here (a plan with its log entry, items, labels with theirs), as the sampling and labelling
services write them, so that these numbers are tested apart from those services.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from appeals import quality
from appeals.models import AuditPlan, ItemKind, Review, Reviewer, ReviewItem, ReviewQueue
from appeals.quality import cohen_kappa, wilson
from ledger.log import append_entries, canonical_json
from ledger.models import EntryType
from moderation import services
from moderation.models import Decision, Platform
from tests.factories import as_input, decision_payload, make_reviewer, register_model

_serial = itertools.count(1)
T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


# --- The pure functions ----------------------------------------------------------------------


def test_wilson_of_8_in_10_is_the_textbook_interval():
    # p = 0.8, z^2/n = 0.38415: centre (0.8 + 0.19207) / 1.38415 = 0.71674, half-width
    # 1.96 * sqrt(0.016 + 0.0096) / 1.38415 = 0.22657.
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_of_nothing_is_undefined():
    assert wilson(0, 0) is None


def test_wilson_at_all_wrong_and_all_right_reaches_exactly_0_and_1():
    # n = 10, 0 successes: high = z^2/n / (1 + z^2/n) = 0.38415 / 1.38415 = 0.27753.
    assert wilson(0, 10) == (0.0, pytest.approx(0.27753, abs=1e-5))
    assert wilson(10, 10) == (pytest.approx(1 - 0.27753, abs=1e-5), 1.0)


def test_wilson_of_one_sample_is_wide():
    # n = 1, 1 success: low = 1 / (1 + 3.84146) = 0.20655, high 1.
    assert wilson(1, 1) == (pytest.approx(0.20655, abs=1e-5), 1.0)
    # 0 of 1: the mirror image.
    assert wilson(0, 1) == (0.0, pytest.approx(0.79345, abs=1e-5))


def test_wilson_of_1_in_2_is_symmetric_about_a_half():
    low, high = wilson(1, 2)
    # centre (0.5 + 0.96037) / 2.92073 = 0.5; half = 1.95996 x sqrt(0.125 + 3.84146 / 16)
    # / 2.92073 = 1.95996 x 0.60423 / 2.92073 = 0.40547.
    assert low == pytest.approx(0.09453, abs=1e-5)
    assert high == pytest.approx(0.90547, abs=1e-5)


@pytest.mark.parametrize(("successes", "n"), [(-1, 3), (4, 3), (0, -1)])
def test_wilson_refuses_impossible_counts(successes, n):
    with pytest.raises(ValueError):
        wilson(successes, n)


def test_cohen_kappa_textbook_example():
    """The 50 items of Wikipedia's example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
    po = 35/50 = 0.7; A says yes 25 times, B 30: pe = 0.5 x 0.6 + 0.5 x 0.4 = 0.5; kappa 0.4."""
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    pairs += [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_cohen_kappa_of_perfect_agreement_is_one_and_of_systematic_disagreement_minus_one():
    assert cohen_kappa([("a", "a"), ("b", "b")]) == pytest.approx(1.0)
    # po 0, pe = 0.5 x 0.5 + 0.5 x 0.5 = 0.5: (0 - 0.5) / 0.5 = -1.
    assert cohen_kappa([("a", "b"), ("b", "a")]) == pytest.approx(-1.0)


def test_cohen_kappa_is_undefined_without_pairs_or_when_chance_explains_everything():
    assert cohen_kappa([]) is None
    # Both raters only ever said "correct": pe = 1.
    assert cohen_kappa([("correct", "correct")] * 4) is None


def test_cohen_kappa_counts_chance_agreement_against_the_raters():
    """3 pairs: (c, c), (c, c), (c, i). po = 2/3; A: c 3; B: c 2, i 1; pe = 1 x 2/3 = 2/3;
    kappa = 0: all the agreement is what chance gives raters this lopsided."""
    assert cohen_kappa([("c", "c"), ("c", "c"), ("c", "i")]) == pytest.approx(0.0)


# --- Audit rows, built directly ---------------------------------------------------------------


def record(platform: Platform, count: int = 1, **overrides: Any) -> list[Decision]:
    recorded = services.record_decisions(
        platform=platform,
        decisions=[as_input(decision_payload(**overrides)) for _ in range(count)],
    )
    return list(
        Decision.objects.filter(public_id__in=[r.public_id for r in recorded]).order_by("id")
    )


def audit_queue(platform: Platform, slug: str = "audit") -> ReviewQueue:
    queue, _ = ReviewQueue.objects.get_or_create(
        platform=platform,
        slug=slug,
        defaults={"name": slug.title(), "audit": slug == "audit", "deadline_hours": 168},
    )
    return queue


def make_plan(platform: Platform) -> AuditPlan:
    """A plan that samples nothing by itself (rate 0): the tests choose their samples."""
    (entry,) = append_entries(
        [(EntryType.AUDIT_PLAN, canonical_json({"type": "audit_plan", "n": next(_serial)}))]
    )
    return AuditPlan.objects.create(
        platform=platform,
        strata=[{"rate": 0.0}],
        salt="5a" * 32,
        created_at=T0,
        log_entry_id=entry.index,
    )


def item(
    decision: Decision,
    *,
    plan: AuditPlan | None = None,
    known_answer: str = "",
    queue: ReviewQueue | None = None,
    labels_needed: int = 1,
) -> ReviewItem:
    return ReviewItem.objects.create(
        kind=ItemKind.AUDIT,
        decision=decision,
        queue=queue or audit_queue(decision.platform),
        plan=plan,
        known_answer=known_answer,
        labels_needed=labels_needed,
        created_at=T0,
        due_at=T0 + dt.timedelta(days=7),
    )


def label(target: ReviewItem, reviewer: Reviewer, outcome: str, *, minutes: int = 0) -> Review:
    """A label as appeals.labels writes it: a log entry for samples, none for planted items."""
    entry = None
    if target.plan_id is not None:
        (entry,) = append_entries(
            [(EntryType.AUDIT_LABELLED, canonical_json({"label": next(_serial)}))]
        )
    return Review.objects.create(
        item=target,
        reviewer=reviewer,
        outcome=outcome,
        reason="Checked against the policy.",
        reason_sha256="0" * 64,
        clause="4.2" if outcome == "incorrect" else "",
        decided_at=T0 + dt.timedelta(minutes=minutes),
        log_entry_id=entry.index if entry else None,
    )


def sampled(
    decisions: list[Decision], plan: AuditPlan, reviewer: Reviewer, outcomes: str
) -> list[ReviewItem]:
    """One sampled item per decision, labelled by `reviewer` with outcomes "c" or "i"."""
    assert len(decisions) == len(outcomes)
    items = []
    for decision, letter in zip(decisions, outcomes, strict=True):
        sample = item(decision, plan=plan)
        label(sample, reviewer, {"c": "correct", "i": "incorrect"}[letter])
        items.append(sample)
    return items


@pytest.fixture
def plan(platform: Platform) -> AuditPlan:
    return make_plan(platform)


@pytest.fixture
def ana(platform: Platform) -> Reviewer:
    return make_reviewer(platform, "ana")


@pytest.fixture
def ben(platform: Platform) -> Reviewer:
    return make_reviewer(platform, "ben")


@pytest.fixture
def chloe(platform: Platform) -> Reviewer:
    return make_reviewer(platform, "chloe", senior=True)


def only_version(platform_ids: list[int] | None = None) -> quality.Precision:
    (row,) = quality.precision_by_model_version(platform_ids)
    return row.audit


# --- Precision per model version -------------------------------------------------------------


@pytest.mark.django_db
def test_a_model_version_never_audited_is_listed_with_nothing_reviewed(platform, model_v1):
    rows = quality.precision_by_model_version()
    assert [(r.platform, r.model, r.version) for r in rows] == [("vidshare", "hate-speech", "v1")]
    audit = rows[0].audit
    assert (audit.reviewed, audit.correct, audit.precision, audit.low, audit.high) == (
        0,
        0,
        None,
        None,
        None,
    )
    assert not rows[0].flagged


@pytest.mark.django_db
def test_without_any_model_version_there_are_no_rows(platform):
    assert quality.precision_by_model_version() == []
    assert quality.precision_by_policy() == []
    assert quality.kappa_by_queue() == []
    assert quality.reviewer_quality() == []


@pytest.mark.django_db
def test_the_chess_classifier_8_wrong_in_10_is_flagged(platform, model_v1, plan, ana):
    sampled(record(platform, 10), plan, ana, "ciiiiiiiic")
    audit = only_version()
    # 2 of 10 correct: the mirror of 8 of 10, so (1 - 0.9433, 1 - 0.4902).
    assert (audit.reviewed, audit.correct, audit.incorrect) == (10, 2, 8)
    assert audit.precision == pytest.approx(0.2)
    assert audit.low == pytest.approx(0.0567, abs=1e-4)
    assert audit.high == pytest.approx(0.5098, abs=1e-4)
    # 0.5098 is above 0.5: ten samples cannot yet say the model is wrong more often than right.
    assert not audit.flagged


@pytest.mark.django_db
def test_the_flag_follows_the_minimum_precision_setting(settings, platform, model_v1, plan, ana):
    sampled(record(platform, 10), plan, ana, "ciiiiiiiic")
    settings.LEDGER_MIN_PRECISION = 0.51
    assert only_version().flagged
    settings.LEDGER_MIN_PRECISION = 0.5
    assert not only_version().flagged


@pytest.mark.django_db
def test_all_wrong_is_flagged_and_all_right_is_not(platform, model_v1, plan, ana):
    register_model(platform, version="v2")
    sampled(record(platform, 10), plan, ana, "i" * 10)
    sampled(record(platform, 3, model_version="v2"), plan, ana, "ccc")

    v1, v2 = quality.precision_by_model_version()
    assert (v1.version, v1.audit.reviewed, v1.audit.correct, v1.audit.precision) == (
        "v1",
        10,
        0,
        0.0,
    )
    assert (v1.audit.low, v1.audit.high) == (0.0, pytest.approx(0.27753, abs=1e-5))
    assert v1.flagged
    # 3 of 3: low = 3 / (3 + 3.84146) = 0.43850.
    assert (v2.version, v2.audit.reviewed, v2.audit.precision) == ("v2", 3, 1.0)
    assert (v2.audit.low, v2.audit.high) == (pytest.approx(0.43850, abs=1e-5), 1.0)
    assert not v2.flagged


@pytest.mark.django_db
def test_a_single_wrong_sample_is_not_enough_to_flag(platform, model_v1, plan, ana):
    sampled(record(platform, 1), plan, ana, "i")
    audit = only_version()
    assert (audit.reviewed, audit.correct, audit.precision) == (1, 0, 0.0)
    assert audit.high == pytest.approx(0.79345, abs=1e-5)
    assert not audit.flagged


@pytest.mark.django_db
def test_items_waiting_for_a_label_are_not_reviewed(platform, model_v1, plan, ana):
    decisions = record(platform, 3)
    sampled(decisions[:1], plan, ana, "c")
    item(decisions[1], plan=plan)
    item(decisions[2], plan=plan)
    audit = only_version()
    assert (audit.reviewed, audit.correct) == (1, 1)


@pytest.mark.django_db
def test_a_double_labelled_item_counts_once_by_its_first_label(platform, model_v1, plan, ana, ben):
    first_wrong, first_right = record(platform, 2)
    one = item(first_wrong, plan=plan, labels_needed=2)
    # Created out of order: the first label is the earlier one, not the first row.
    label(one, ben, "correct", minutes=10)
    label(one, ana, "incorrect", minutes=5)
    two = item(first_right, plan=plan, labels_needed=2)
    label(two, ana, "correct", minutes=1)
    label(two, ben, "incorrect", minutes=2)

    audit = only_version()
    assert (audit.reviewed, audit.correct) == (2, 1)


@pytest.mark.django_db
def test_planted_known_answers_never_count_in_a_precision(platform, model_v1, plan, ana):
    decisions = record(platform, 4)
    sampled(decisions[:2], plan, ana, "ci")
    for decision in decisions[2:]:
        label(item(decision, known_answer="correct"), ana, "correct")
    # A planted item in an appeal queue, too.
    other = audit_queue(platform, "speech")
    label(item(decisions[0], known_answer="incorrect", queue=other), ana, "incorrect")

    audit = only_version()
    assert (audit.reviewed, audit.correct) == (2, 1)
    assert sum(r.reviewed for r in quality.precision_by_policy(min_samples=1)) == 2
    assert sum(r.reviewed for r in quality.precision_by_language(min_samples=1)) == 2


@pytest.mark.django_db
def test_appeal_reviews_and_escalations_are_not_labels(platform, model_v1, plan, ana, ben):
    from appeals.services import claim_next_review, file_appeal, resolve_appeal

    (decision,) = record(platform, 1)
    file_appeal(decision=decision, appellant="subject", statement="It is about chess.")
    appeal_item = claim_next_review(reviewer=ana)
    assert appeal_item is not None
    resolve_appeal(
        reviewer=ana,
        item=appeal_item,
        version=appeal_item.version,
        outcome="overturned",
        reason="A chess move, misread.",
    )
    assert only_version().reviewed == 0
    assert quality.kappa_by_queue() == []


@pytest.mark.django_db
def test_platforms_are_kept_apart(platform, model_v1, plan, ana):
    other = services.create_platform(slug="tubely", name="Tubely")
    register_model(other)
    sampled(record(platform, 2), plan, ana, "ci")
    tubely_plan = make_plan(other)
    bob = make_reviewer(other, "bob")
    sampled(record(other, 3), tubely_plan, bob, "ccc")

    everything = quality.precision_by_model_version()
    assert [(r.platform, r.audit.reviewed, r.audit.correct) for r in everything] == [
        ("tubely", 3, 3),
        ("vidshare", 2, 1),
    ]
    (mine,) = quality.precision_by_model_version([platform.pk])
    assert (mine.platform, mine.audit.reviewed) == ("vidshare", 2)
    assert [r.username for r in quality.reviewer_quality([other.pk])] == ["bob"]


@pytest.mark.django_db
def test_audit_counts_cost_one_query(platform, model_v1, plan, ana, django_assert_num_queries):
    register_model(platform, version="v2")
    sampled(record(platform, 3), plan, ana, "cic")
    with django_assert_num_queries(1):
        counts = quality.audit_counts([model_v1.pk, model_v1.pk + 1000])
    assert counts == {model_v1.pk: (3, 2)}
    with django_assert_num_queries(0):
        assert quality.audit_counts([]) == {}


# --- Per policy, language, territory ---------------------------------------------------------


@pytest.fixture
def policies(platform: Platform) -> None:
    for key, title in (("hate", "Hateful conduct"), ("spam", "Spam")):
        services.register_policy(
            platform=platform,
            key=key,
            title=title,
            category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
            clause=f"Community guidelines, {key}",
        )


@pytest.mark.django_db
def test_precision_per_policy_only_from_enough_samples(
    settings, platform, model_v1, plan, ana, policies
):
    settings.LEDGER_MIN_CELL = 4
    sampled(record(platform, 5, policy="hate"), plan, ana, "ciiii")
    sampled(record(platform, 3, policy="spam"), plan, ana, "cci")
    sampled(record(platform, 1), plan, ana, "c")

    hate, spam, none = quality.precision_by_policy()
    assert hate.key == ("vidshare", "hate", 1, "Hateful conduct")
    assert (hate.reviewed, hate.correct, hate.enough, hate.precision) == (5, 1, True, 0.2)
    # 1 of 5: centre (0.2 + 0.38415) / 1.76829 = 0.33034; half 1.96 x sqrt(0.032 + 0.03841)
    # / 1.76829 = 0.29411.
    assert hate.low == pytest.approx(0.03623, abs=1e-4)
    assert hate.high == pytest.approx(0.62448, abs=1e-4)
    # 3 reviewed is below the minimum of 4: counted, but no precision.
    assert spam.key == ("vidshare", "spam", 1, "Spam")
    assert (spam.reviewed, spam.correct, spam.enough) == (3, 2, False)
    assert (spam.precision, spam.low, spam.high, spam.flagged) == (None, None, None, False)
    assert none.key == ("vidshare", None, None, None)
    assert (none.reviewed, none.enough) == (1, False)

    # An explicit minimum overrides the setting.
    spam_now = quality.precision_by_policy(min_samples=3)[1]
    assert spam_now.precision == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_precision_per_language(platform, model_v1, plan, ana):
    sampled(record(platform, 2, content_language="DE"), plan, ana, "ci")
    sampled(record(platform, 2), plan, ana, "ii")
    sampled(record(platform, 1, content_language=None), plan, ana, "c")

    rows = quality.precision_by_language(min_samples=2)
    assert [(r.key, r.reviewed, r.correct, r.precision) for r in rows] == [
        (("vidshare", ""), 1, 1, None),
        (("vidshare", "DE"), 2, 1, 0.5),
        (("vidshare", "EN"), 2, 0, 0.0),
    ]


@pytest.mark.django_db
def test_a_decision_counts_in_each_of_its_territories(platform, model_v1, plan, ana):
    sampled(record(platform, 2, territorial_scope=["DE", "FR"]), plan, ana, "ci")
    sampled(record(platform, 1, territorial_scope=["FR"]), plan, ana, "i")
    sampled(record(platform, 1, territorial_scope=None), plan, ana, "c")

    rows = quality.precision_by_territory(min_samples=1)
    assert [(r.key, r.reviewed, r.correct) for r in rows] == [
        (("vidshare", "DE"), 2, 1),
        (("vidshare", "FR"), 3, 1),
    ]
    assert rows[1].precision == pytest.approx(1 / 3)


# --- Agreement --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_kappa_from_the_first_two_labels_per_queue_and_policy(
    platform, model_v1, plan, ana, ben, chloe, policies
):
    hate = record(platform, 4, policy="hate")
    pairs = [("correct", "correct"), ("incorrect", "incorrect"), ("correct", "incorrect")]
    for decision, (a, b) in zip(hate, pairs, strict=False):
        double = item(decision, plan=plan, labels_needed=2)
        label(double, ana, a, minutes=1)
        label(double, ben, b, minutes=2)
    # A third label (a senior's, say) is not part of the pair.
    label(ReviewItem.objects.get(decision=hate[0]), chloe, "incorrect", minutes=3)
    # A single label makes no pair.
    sampled(hate[3:], plan, ana, "c")
    # Planted items labelled twice are pairs too, in their own queue.
    speech = audit_queue(platform, "speech")
    (spam,) = record(platform, 1, policy="spam")
    planted = item(spam, known_answer="incorrect", queue=speech)
    label(planted, ana, "incorrect", minutes=1)
    label(planted, ben, "incorrect", minutes=2)

    # Audit queue, 3 pairs: po = 2/3; first rater c 2, i 1; second c 1, i 2;
    # pe = (2 x 1 + 1 x 2) / 9 = 4/9; kappa = (6/9 - 4/9) / (5/9) = 0.4.
    audit, speech_row = quality.kappa_by_queue()
    assert (audit.key, audit.pairs, audit.agreed) == (("vidshare", "audit", "Audit"), 3, 2)
    assert audit.kappa == pytest.approx(0.4)
    # One pair that agrees on the only label: pe = 1, kappa undefined.
    assert (speech_row.key[1], speech_row.pairs, speech_row.kappa) == ("speech", 1, None)

    hate_row, spam_row = quality.kappa_by_policy()
    assert hate_row.key == ("vidshare", "hate", 1, "Hateful conduct")
    assert (hate_row.pairs, hate_row.kappa) == (3, pytest.approx(0.4))
    assert (spam_row.key[1], spam_row.pairs) == ("spam", 1)


# --- Reviewers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reviewers_accuracy_on_known_answers(platform, model_v1, plan, ana, ben):
    decisions = record(platform, 12)
    # Ana: 8 planted items, 6 right (2 "correct" answers labelled "incorrect").
    for n, decision in enumerate(decisions[:8]):
        answer = "correct" if n % 2 else "incorrect"
        given = "incorrect" if n in (1, 3) else answer
        label(item(decision, known_answer=answer), ana, given)
    # Ben: 1 planted item, right; and 3 samples, which are not known answers.
    label(item(decisions[8], known_answer="incorrect"), ben, "incorrect")
    sampled(decisions[9:], plan, ben, "cii")

    rows = {r.username: r for r in quality.reviewer_quality()}
    a, b = rows["ana"], rows["ben"]
    assert (a.known_answers, a.right, a.audit_labels, a.appeal_decisions) == (8, 6, 0, 0)
    assert a.accuracy == pytest.approx(0.75)
    # 6 of 8: centre (0.75 + 0.24009) / 1.48018 = 0.66890, half 1.96 x sqrt(0.0234375 +
    # 0.0150072) / 1.48018 = 0.25965.
    assert a.low == pytest.approx(0.40927, abs=1e-4)
    assert a.high == pytest.approx(0.92854, abs=1e-4)
    assert (b.known_answers, b.right, b.accuracy, b.audit_labels) == (1, 1, 1.0, 3)
    assert b.high == 1.0


@pytest.mark.django_db
def test_a_reviewer_without_known_answers_has_no_accuracy(platform, model_v1, plan, ana):
    sampled(record(platform, 2), plan, ana, "ci")
    (row,) = quality.reviewer_quality()
    assert (row.username, row.known_answers, row.accuracy, row.low, row.high) == (
        "ana",
        0,
        None,
        None,
        None,
    )
    assert row.audit_labels == 2


@pytest.mark.django_db
def test_appeal_decisions_are_counted_per_reviewer(platform, model_v1, ana, ben):
    from appeals.services import (
        claim_next_review,
        escalate_review,
        file_appeal,
        resolve_appeal,
    )

    for decision in record(platform, 3):
        file_appeal(decision=decision, appellant="subject", statement="It is about chess.")
    for outcome in ("overturned", "upheld"):
        claimed = claim_next_review(reviewer=ana)
        assert claimed is not None
        resolve_appeal(
            reviewer=ana,
            item=claimed,
            version=claimed.version,
            outcome=outcome,
            reason="Looked at it again.",
        )
    claimed = claim_next_review(reviewer=ben)
    assert claimed is not None
    escalate_review(
        reviewer=ben, item=claimed, version=claimed.version, reason="A senior should decide."
    )

    rows = {r.username: r for r in quality.reviewer_quality()}
    assert rows["ana"].appeal_decisions == 2
    # An escalation decides nothing.
    assert rows["ben"].appeal_decisions == 0


@pytest.mark.django_db
def test_a_proposal_rejected_and_decided_otherwise_by_a_senior_counts_against_its_reviewer(
    platform, ana, ben, chloe
):
    """Ana proposes to overturn a removal made on a legal order (high impact: it waits for a
    second approval); Ben rejects it; Chloe, a senior, upholds the removal."""
    from appeals.services import (
        answer_proposal,
        claim_next_review,
        file_appeal,
        resolve_appeal,
    )
    from tests.factories import human_payload

    recorded = services.record_decision(
        platform=platform,
        decision=as_input(
            human_payload(source_type="SOURCE_LEGAL_ORDER", source_identity="Order 2026/117")
        ),
    )
    decision = Decision.objects.get(public_id=recorded.public_id)
    file_appeal(decision=decision, appellant="subject", statement="The order was lifted.")

    def held(reviewer: Reviewer) -> ReviewItem:
        claimed = claim_next_review(reviewer=reviewer)
        assert claimed is not None
        return claimed

    proposed = held(ana)
    resolve_appeal(
        reviewer=ana,
        item=proposed,
        version=proposed.version,
        outcome="overturned",
        reason="The court lifted its order.",
    )
    answering = held(ben)
    answer_proposal(
        reviewer=ben,
        item=answering,
        version=answering.version,
        approve=False,
        reason="The order still stands.",
    )
    senior = held(chloe)
    resolve_appeal(
        reviewer=chloe,
        item=senior,
        version=senior.version,
        outcome="upheld",
        reason="The order still stands.",
    )

    rows = {r.username: r for r in quality.reviewer_quality([platform.pk])}
    a, b, c = rows["ana"], rows["ben"], rows["chloe"]
    assert (a.appeal_decisions, a.proposals, a.proposals_rejected, a.overturned_at_senior) == (
        1,
        1,
        1,
        1,
    )
    # Answering a proposal is not deciding an appeal.
    assert (b.appeal_decisions, b.proposals, b.overturned_at_senior) == (0, 0, 0)
    assert (c.appeal_decisions, c.proposals, c.overturned_at_senior) == (1, 0, 0)
