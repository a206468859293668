"""One table of a statement's rules (moderation.statement_rules), read by both checkers.

The native checker in its DSA mode (`rules.check_decision(..., strict=False)`, after msgspec's
decoding) and the EU-compatible one (`dsa.check_statement`) must agree on which fields of a
statement are wrong; each in its own words.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from moderation import dsa, dsa_schema, schemas
from moderation import statement_rules as table
from moderation.rules import check_decision
from moderation.schemas import InputError, decode_decision
from tests.factories import statement_payload

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
_NO_INCOMPATIBLE = {
    "incompatible_content_ground": None,
    "incompatible_content_explanation": None,
    "incompatible_content_illegal": None,
}
_ILLEGAL = {
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Section 130 StGB",
    "illegal_content_explanation": "Incitement to hatred.",
    **_NO_INCOMPATIBLE,
}

# Statements, each valid or broken in one way, with the fields both checkers must name.
CORPUS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("valid", {}, set()),
    ("valid illegal content", _ILLEGAL, set()),
    (
        "valid other visibility",
        {
            "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
            "decision_visibility_other": "Excluded from the feed",
        },
        set(),
    ),
    (
        "other visibility without its text",
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
        {"decision_visibility_other"},
    ),
    (
        "other visibility with a blank text",
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"], "decision_visibility_other": ""},
        {"decision_visibility_other"},
    ),
    (
        "other monetary restriction without its text",
        {"decision_visibility": None, "decision_monetary": "DECISION_MONETARY_OTHER"},
        {"decision_monetary_other"},
    ),
    (
        "other content type without its text",
        {"content_type": ["CONTENT_TYPE_OTHER"]},
        {"content_type_other"},
    ),
    (
        "illegal content without its ground and explanation",
        {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", **_NO_INCOMPATIBLE},
        {"illegal_content_legal_ground", "illegal_content_explanation"},
    ),
    (
        "incompatible content without its explanation",
        {"incompatible_content_explanation": None},
        {"incompatible_content_explanation"},
    ),
    ("no restriction at all", {"decision_visibility": None}, {"decision_visibility"}),
    ("content date before 2000", {"content_date": "1999-12-31"}, {"content_date"}),
    ("content date after 2038", {"content_date": "2038-01-02"}, {"content_date"}),
    ("content date on the last day", {"content_date": "2038-01-01"}, set()),
    ("application date before 2020", {"application_date": "2019-12-31"}, {"application_date"}),
    (
        "end date after 2038",
        {"end_date_visibility_restriction": "2038-01-02"},
        {"end_date_visibility_restriction"},
    ),
    ("puid too long", {"puid": "p" * (table.PUID_MAX_LENGTH + 1)}, {"puid"}),
    ("puid with a space", {"puid": "bad puid"}, {"puid"}),
    ("puid with a final newline", {"puid": "puid\n"}, {"puid"}),
    (
        "explanation too long",
        {"incompatible_content_explanation": "x" * (table.EXPLANATION_TEXT + 1)},
        {"incompatible_content_explanation"},
    ),
    (
        "other visibility text too long",
        {
            "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
            "decision_visibility_other": "x" * (table.SHORT_TEXT + 1),
        },
        {"decision_visibility_other"},
    ),
    ("facts too long", {"decision_facts": "x" * (table.FACTS_TEXT + 1)}, {"decision_facts"}),
    ("EAN of 12 digits", {"content_id": {"EAN-13": "123456789012"}}, {"content_id.EAN-13"}),
    (
        "model version too long",
        {"model": "m", "model_version": "v" * (table.MODEL_VERSION_LENGTH + 1)},
        {"model_version"},
    ),
]

# Fields that have no place in the statement: the EU drops them silently; ours refuses the
# texts (`RequiredIf`) and drops the others too (`DroppedIf`).
EXCLUDED: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "other visibility text without other",
        {"decision_visibility_other": "Demoted"},
        {"decision_visibility_other"},
    ),
    (
        "other monetary text without other",
        {"decision_monetary_other": "Frozen"},
        {"decision_monetary_other"},
    ),
    (
        "other content type text without other",
        {"content_type_other": "A poll"},
        {"content_type_other"},
    ),
    (
        "illegal content texts on incompatible content",
        {"illegal_content_legal_ground": "§1"},
        {"illegal_content_legal_ground"},
    ),
    (
        "incompatible content texts on illegal content",
        {**_ILLEGAL, "incompatible_content_ground": "Terms 4.2"},
        {"incompatible_content_ground"},
    ),
    (
        "incompatible_content_illegal on illegal content",
        {**_ILLEGAL, "incompatible_content_illegal": "No"},
        set(),
    ),
    ("source identity on own initiative", {"source_type": "SOURCE_VOLUNTARY"}, set()),
]


def eu_errors(statement: dict[str, Any]) -> dict[str, list[str]]:
    return dsa.check_statement(statement)[1]


def native_errors(statement: dict[str, Any]) -> dict[str, list[str]]:
    """Our API's verdict in its DSA mode: msgspec's decoding, then the DSA rules only."""
    body = json.dumps({**statement, "subject": {}}).encode()
    try:
        decision = decode_decision(body)
    except InputError as exc:
        return exc.errors
    return check_decision(decision, now=NOW, require_model_for_automation=False, strict=False)


def fields(errors: dict[str, list[str]]) -> set[str]:
    """The fields in error, with the EU's one rule reported on four fields counted once: we
    name the first of them only."""
    named = set(errors)
    restrictions = set(table.RESTRICTIONS.fields)
    if restrictions <= named:
        named = (named - restrictions) | {table.RESTRICTIONS.fields[0]}
    return named


@pytest.mark.parametrize(("case", "overrides", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_both_checkers_name_the_same_fields(
    case: str, overrides: dict[str, Any], expected: set[str]
) -> None:
    statement = statement_payload(**overrides)
    assert fields(eu_errors(statement)) == expected
    assert fields(native_errors(statement)) == expected


@pytest.mark.parametrize("rule", table.CONDITIONAL_TEXTS, ids=lambda rule: rule.field)
def test_a_missing_conditional_text_is_named_in_each_apis_words(rule: table.RequiredIf) -> None:
    overrides: dict[str, Any] = {rule.field: None}
    if rule.when.field == "decision_ground":
        overrides.update(_ILLEGAL if rule.when.holds(_ILLEGAL["decision_ground"]) else {})
        overrides[rule.field] = None
    elif rule.when.contains:
        overrides[rule.when.field] = [rule.when.value]
    else:
        overrides.update({"decision_visibility": None, rule.when.field: rule.when.value})
    statement = statement_payload(**overrides)

    assert eu_errors(statement) == {rule.field: [rule.eu_required()]}
    assert native_errors(statement) == {rule.field: [rule.native_required()]}


def test_no_restriction_is_named_in_each_apis_words() -> None:
    statement = statement_payload(decision_visibility=None)

    assert eu_errors(statement) == {
        field: [table.RESTRICTIONS.eu_required(field)] for field in table.RESTRICTIONS.fields
    }
    assert native_errors(statement) == {
        "decision_visibility": [
            "Required unless decision_monetary, decision_provision or decision_account is present."
        ]
    }


@pytest.mark.parametrize(("case", "overrides", "refused"), EXCLUDED, ids=[c[0] for c in EXCLUDED])
def test_what_the_eu_checker_accepts_our_checker_accepts(
    case: str, overrides: dict[str, Any], refused: set[str]
) -> None:
    # The EU drops a field that has no place, our API refuses it: the statement the EU's
    # checker keeps must pass ours.
    decision, errors = dsa.check_statement(statement_payload(**overrides))
    assert errors == {}
    assert decision is not None
    assert check_decision(decision, now=NOW, require_model_for_automation=False, strict=False) == {}
    assert fields(native_errors(statement_payload(**overrides))) == refused


def test_a_date_bound_changed_in_the_table_changes_both_checkers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statement = statement_payload(content_date="2031-06-01", application_date="2031-06-02")
    assert eu_errors(statement) == {}
    assert native_errors(statement) == {}

    monkeypatch.setattr(table, "MAX_DATE", dt.date(2030, 12, 31))

    assert eu_errors(statement) == {
        "content_date": ["The content date field must be a date before or equal to 2030-12-31."],
        "application_date": [
            "The application date field must be a date before or equal to 2030-12-31."
        ],
    }
    assert native_errors(statement) == {
        "content_date": ["Must be between 2000-01-01 and 2030-12-31."],
        "application_date": ["Must be between 2020-01-01 and 2030-12-31."],
    }


@pytest.mark.parametrize(
    ("bound", "field"),
    [("MIN_CONTENT_DATE", "content_date"), ("MIN_APPLICATION_DATE", "application_date")],
)
def test_a_lower_date_bound_changed_in_the_table_changes_both_checkers(
    monkeypatch: pytest.MonkeyPatch, bound: str, field: str
) -> None:
    statement = statement_payload(content_date="2026-10-30", application_date="2026-11-01")
    assert eu_errors(statement) == {}
    assert native_errors(statement) == {}

    monkeypatch.setattr(table, bound, dt.date(2027, 1, 1))

    assert set(eu_errors(statement)) == {field}
    assert set(native_errors(statement)) == {field}


def test_a_conditional_rule_changed_in_the_table_changes_both_checkers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were other monetary text required for suspensions too, both APIs would ask for it.
    when = table.When("decision_monetary", "DECISION_MONETARY_SUSPENSION", False, "X", "x")
    monkeypatch.setattr(table, "MONETARY_OTHER", table.RequiredIf("decision_monetary_other", when))
    statement = statement_payload(
        decision_visibility=None, decision_monetary="DECISION_MONETARY_SUSPENSION"
    )

    assert set(eu_errors(statement)) == {"decision_monetary_other"}
    assert set(native_errors(statement)) == {"decision_monetary_other"}


def test_a_text_length_changed_in_the_table_changes_the_eu_checker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # msgspec compiles its lengths at import; the test below ties them to the table instead.
    statement = statement_payload(decision_facts="x" * 101)
    monkeypatch.setitem(table.TEXT_MAX_LENGTH, "decision_facts", 100)

    assert eu_errors(statement) == {
        "decision_facts": ["The decision facts field must not be greater than 100 characters."]
    }


def _max_lengths(schema: object, field: str) -> Iterator[int]:
    """Every maxLength given to `field` anywhere in a JSON schema."""
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict) and field in properties:
            yield from _own_max_lengths(properties[field])
        for value in schema.values():
            yield from _max_lengths(value, field)
    elif isinstance(schema, list):
        for value in schema:
            yield from _max_lengths(value, field)


def _own_max_lengths(schema: object) -> Iterator[int]:
    if isinstance(schema, dict):
        if "maxLength" in schema:
            yield schema["maxLength"]
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                yield from _own_max_lengths(option)


@pytest.mark.parametrize("field", sorted(table.TEXT_MAX_LENGTH))
def test_the_schemas_take_each_text_length_from_the_table(field: str) -> None:
    _, components = schemas.json_schema()
    native = set(_max_lengths(components["DecisionIn"], field))
    assert native == {table.TEXT_MAX_LENGTH[field]}

    if field not in ("model", "model_version"):  # ours: not in the EU's body
        eu = set(
            _max_lengths(
                [{"properties": dsa_schema.statement_properties()}, dsa_schema.statement_rules()],
                field,
            )
        )
        assert eu == {table.TEXT_MAX_LENGTH[field]}


def test_the_patterns_come_from_the_table() -> None:
    assert rf"\A{table.PUID_PATTERN}\Z" == schemas.PUID_PATTERN
    assert dsa.PUID.pattern == table.PUID_PATTERN
    assert dsa.EAN13.pattern == table.EAN13_PATTERN
    assert dsa_schema.statement_properties()["puid"]["pattern"] == f"^{table.PUID_PATTERN}$"


@pytest.mark.parametrize(
    ("field", "low"),
    [("content_date", table.MIN_CONTENT_DATE), ("application_date", table.MIN_APPLICATION_DATE)],
)
def test_the_openapi_date_patterns_end_where_the_table_does(field: str, low: dt.date) -> None:
    # The patterns spell their years out; they must take exactly the table's range.
    pattern = re.compile(dsa_schema.statement_properties()[field]["pattern"])
    one_day = dt.timedelta(days=1)
    assert pattern.fullmatch(low.isoformat())
    assert pattern.fullmatch(table.MAX_DATE.isoformat())
    assert not pattern.fullmatch((low - one_day).isoformat())
    assert not pattern.fullmatch((table.MAX_DATE + one_day).isoformat())
