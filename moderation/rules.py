"""The rules that tie a decision's fields together, and its normalisation.

These follow the DSA Transparency Database's conditional rules (required_if, required_without_all,
excluded_unless...) and add ours: what each decision type may carry, the subject, the model.
`check_decision` normalises the decision in place (deduplicated, sorted arrays; fields the DSA
drops are dropped) so that a resend in another order is recognised as the same decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from moderation import statement_rules as table
from moderation.schemas import DecisionIn, Partial
from moderation.vocabulary import (
    CHANGING_TYPES,
    REMOVAL_VISIBILITY,
    AccountAction,
    Action,
    AutomatedDecision,
    DecisionType,
)

# Our names for the table's bounds, for code that reads them once (forms, filters). The checks
# below read `table` at call time.
MAX_DATE = table.MAX_DATE
MIN_CONTENT_DATE = table.MIN_CONTENT_DATE
MIN_APPLICATION_DATE = table.MIN_APPLICATION_DATE
MIN_END_DATE = table.MIN_END_DATE
MIN_DECIDED_AT = table.MIN_DECIDED_AT
# Clocks drift: a decision dated a little ahead of ours is accepted.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

AddError = Callable[[str, str], None]


def check_decision(
    d: DecisionIn, *, now: dt.datetime, require_model_for_automation: bool, strict: bool = True
) -> dict[str, list[str]]:
    """Return field errors (empty when valid) and normalise `d` in place.

    `strict=False` applies only the DSA Transparency Database's own rules, for statements sent
    through its compatible API (moderation.dsa): no subject is required, and end dates are not
    checked against their restriction or the application date, as the EU does not check them.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if strict and d.subject.account is None and d.subject.content is None:
        add("subject", "Name the affected account, content, or both.")

    _check_restrictions(d, add, strict)
    _check_ground(d, add)

    if d.category_addition:
        d.category_addition = sorted(set(d.category_addition) - {d.category})
    if d.category_specification:
        d.category_specification = sorted(set(d.category_specification))
    _check_required_if(d, add, table.CONTENT_TYPE_OTHER)
    d.content_type = sorted(set(d.content_type))
    if d.territorial_scope:
        d.territorial_scope = sorted(set(d.territorial_scope))

    if not table.MIN_CONTENT_DATE <= d.content_date <= table.MAX_DATE:
        add("content_date", f"Must be between {table.MIN_CONTENT_DATE} and {table.MAX_DATE}.")
    if not table.MIN_APPLICATION_DATE <= d.application_date <= table.MAX_DATE:
        add(
            "application_date",
            f"Must be between {table.MIN_APPLICATION_DATE} and {table.MAX_DATE}.",
        )
    _check_times(d, add, now)

    _drop_if(d, table.SOURCE_IDENTITY)

    _check_automation(d, add, require_model_for_automation)
    if d.policy_version is not None and d.policy is None:
        add("policy", "Required when policy_version is given.")
    if d.decision_type in CHANGING_TYPES and d.supersedes is None and d.supersedes_puid is None:
        add("supersedes", f"A {d.decision_type.value} must name the decision it changes.")
    if d.supersedes is not None and d.supersedes_puid is not None:
        add("supersedes_puid", "Give supersedes or supersedes_puid, not both.")
    if d.supersedes_puid is not None and d.supersedes_puid == d.puid:
        add("supersedes_puid", "A decision cannot supersede itself.")
    return errors


# For each field a rule may name in an error, every field the rules naming it read: the error
# is true of the decision only when they all decoded. `every_problem` drops an error on a field
# missing here; tests/moderation/test_api_first_hour.py checks that every field named is here.
def _rule_inputs() -> dict[str, frozenset[str]]:
    restriction = {"decision_type", *table.RESTRICTIONS.fields}
    automation = {"model", "model_version", "automated_detection", "automated_decision"}
    inputs: dict[str, set[str]] = {
        "subject": {"subject"},
        "decision_type": restriction,
        table.RESTRICTIONS.fields[0]: restriction,
        "content_date": {"content_date"},
        "application_date": {"application_date"},
        "decided_at": {"decided_at"},
        "notified_at": {"decided_at", "notified_at"},
        "model": automation,
        "model_version": {"model", "model_version"},
        "score": {"model", "model_version", "score"},
        "threshold": {"model", "model_version", "threshold"},
        "policy": {"policy", "policy_version"},
        "supersedes": {"decision_type", "supersedes", "supersedes_puid"},
        "supersedes_puid": {"supersedes", "supersedes_puid", "puid"},
    }
    for rule in table.CONDITIONAL_TEXTS:
        inputs.setdefault(rule.field, set()).update({rule.field, rule.when.field})
    for end_field, restriction_field in table.END_DATES:
        inputs[end_field] = {end_field, restriction_field, "application_date"}
    return {field: frozenset(read) for field, read in inputs.items()}


RULE_INPUTS = _rule_inputs()


def every_problem(
    partial: Partial, *, now: dt.datetime, require_model_for_automation: bool = True
) -> dict[str, list[str]]:
    """The problems of a decision that did not decode (`partial.errors`) with the rules'
    problems that hold whatever the failed fields say: each rule's error is kept only when
    every field the rule reads decoded. So `{}` names its eleven missing fields and that a
    restriction needs a restriction, but not that a missing ground's texts are missing."""
    errors = {field: list(messages) for field, messages in partial.errors.items()}
    found = check_decision(
        partial.decision, now=now, require_model_for_automation=require_model_for_automation
    )
    for field, messages in found.items():
        if partial.failed and (
            field not in RULE_INPUTS or not RULE_INPUTS[field].isdisjoint(partial.failed)
        ):
            continue
        errors.setdefault(field, []).extend(messages)
    return errors


def _check_times(d: DecisionIn, add: AddError, now: dt.datetime) -> None:
    """Decision and notification times: from 2000 in UTC, not in the future, notified after
    decided. Checked in UTC, after conversion: "0001-01-01T00:00:00+14:00" is a valid ISO time
    whose UTC date is in year 0, which neither Python nor a later read can represent."""
    in_utc: dict[str, dt.datetime] = {}
    for field in ("decided_at", "notified_at"):
        value: dt.datetime | None = getattr(d, field)
        if value is None:
            continue
        try:
            utc = value.astimezone(dt.UTC)
        except OverflowError:
            add(field, _before_2000(field) if value.year < 2000 else "Must not be in the future.")
            continue
        if utc < table.MIN_DECIDED_AT:
            add(field, _before_2000(field))
        elif utc > now + FUTURE_TOLERANCE:
            add(field, "Must not be in the future.")
        else:
            in_utc[field] = utc
    if len(in_utc) == 2 and in_utc["notified_at"] < in_utc["decided_at"]:
        add("notified_at", "Must not be before decided_at.")


def _before_2000(field: str) -> str:
    return f"Must not be before {table.MIN_DECIDED_AT.isoformat()} (in UTC)."


def _check_restrictions(d: DecisionIn, add: AddError, strict: bool) -> None:
    # A loop, not any(<generator>): this runs for every decision of a bulk intake.
    has_restriction = False
    for field in table.RESTRICTIONS.fields:
        if getattr(d, field):
            has_restriction = True
            break
    if d.decision_type == DecisionType.RESTRICTION:
        if not has_restriction:
            add(table.RESTRICTIONS.fields[0], table.RESTRICTIONS.native_required())
    elif has_restriction:
        add(
            "decision_type",
            f"A {d.decision_type.value} carries no restriction: leave decision_visibility, "
            "decision_monetary, decision_provision and decision_account empty.",
        )

    if d.decision_visibility:
        d.decision_visibility = sorted(set(d.decision_visibility))
    _check_required_if(d, add, table.VISIBILITY_OTHER)
    _check_required_if(d, add, table.MONETARY_OTHER)

    for end_field, restriction_field in table.END_DATES:
        end = getattr(d, end_field)
        if end is None:
            continue
        if end > table.MAX_DATE:
            add(end_field, f"Must not be after {table.MAX_DATE}.")
        elif not strict:
            # The EU's own bounds: none below, for its compatible API.
            continue
        elif end < table.MIN_END_DATE:
            add(end_field, f"Must be between {table.MIN_END_DATE} and {table.MAX_DATE}.")
        elif not getattr(d, restriction_field):
            add(end_field, f"Only allowed with {restriction_field}.")
        elif end < d.application_date:
            add(end_field, "Must not be before application_date.")


def _check_ground(d: DecisionIn, add: AddError) -> None:
    # Required ones first, then refused ones: the order of the fields in the answer.
    ground = d.decision_ground
    for rule in table.GROUND_TEXTS:
        if rule.when.value == ground:
            _check_required_if(d, add, rule)
    for rule in table.GROUND_TEXTS:
        if rule.when.value != ground:
            _check_required_if(d, add, rule)
    _drop_if(d, table.INCOMPATIBLE_ILLEGAL)


def _check_required_if(d: DecisionIn, add: AddError, rule: table.RequiredIf) -> None:
    """Required (not empty) when the rule's condition holds, absent otherwise."""
    # `When.holds`, inlined: this runs seven times for every decision of a bulk intake.
    when = rule.when
    actual = getattr(d, when.field)
    if (when.value in actual) if when.contains else (actual == when.value):
        if not getattr(d, rule.field):
            add(rule.field, rule.native_required())
    elif getattr(d, rule.field) is not None:
        add(rule.field, rule.native_excluded(getattr(actual, "value", actual)))


def _drop_if(d: DecisionIn, rule: table.DroppedIf) -> None:
    when = rule.when
    actual = getattr(d, when.field)
    if (when.value in actual) if when.contains else (actual == when.value):
        setattr(d, rule.field, None)


def _check_automation(d: DecisionIn, add: AddError, require_model: bool) -> None:
    if (d.model is None) != (d.model_version is None):
        add("model_version" if d.model else "model", "Give model and model_version together.")
    if d.model is None:
        if d.score is not None:
            add("score", "Only allowed with model and model_version.")
        if d.threshold is not None:
            add("threshold", "Only allowed with model and model_version.")
        automated = (
            d.automated_detection == "Yes"
            or d.automated_decision != AutomatedDecision.NOT_AUTOMATED
        )
        if require_model and automated:
            add(
                "model",
                "Required when automated_detection is Yes or the decision is automated: "
                "name the registered model and its version.",
            )


def summarize_action(d: DecisionIn) -> Action:
    """The most severe effect of a decision (see `Action`)."""
    match d.decision_type:
        case DecisionType.FLAG:
            return Action.FLAG
        case DecisionType.NO_ACTION:
            return Action.NO_ACTION
        case DecisionType.REVERSAL:
            return Action.REVERSAL
        case DecisionType.EXPIRY:
            return Action.EXPIRY
    if d.decision_account == AccountAction.TERMINATED:
        return Action.ACCOUNT_TERMINATION
    if d.decision_account == AccountAction.SUSPENDED:
        return Action.ACCOUNT_SUSPENSION
    if d.decision_provision:
        return Action.SERVICE
    if REMOVAL_VISIBILITY.intersection(d.decision_visibility):
        return Action.REMOVAL
    if d.decision_monetary:
        return Action.MONETARY
    return Action.VISIBILITY
