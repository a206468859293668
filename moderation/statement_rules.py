"""One table of a statement's bounds and conditional rules, read by both of its checkers.

A decision is checked by `moderation.rules.check_decision` (our API, our messages) and a DSA
statement of reasons by `moderation.dsa.check_statement` (the EU-compatible API, the EU's
Laravel messages). Both read their bounds and their conditional rules from here, so a bound or a
rule changed here changes both APIs; each rule carries its two message renderings.

The checkers read the bounds and rules at call time (`statement_rules.MAX_DATE`, never a copy
taken at import), so that changing one here, even in a test, changes what both accept. What is
built once at import takes its values from here too: the compiled puid and EAN patterns of
`moderation.dsa`, the msgspec types of `moderation.schemas` (which check our API's lengths and
patterns) and the DSA OpenAPI schema of `moderation.dsa_schema`.

What differs between the two APIs is kept as behaviour of the checkers, not as data: where a
conditional field does not apply, ours refuses it ("Only allowed when ...") while the EU drops
it silently (`exclude_unless`); and our strict mode adds lower bounds on the end dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from moderation.vocabulary import ContentType, Ground, Monetary, Source, Visibility

# --- bounds ---------------------------------------------------------------------------------

MAX_DATE = dt.date(2038, 1, 1)
MIN_CONTENT_DATE = dt.date(2000, 1, 1)
MIN_APPLICATION_DATE = dt.date(2020, 1, 1)
# Ours only (strict mode): the EU sets no lower bound on an end date.
MIN_END_DATE = MIN_CONTENT_DATE
MIN_DECIDED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# Unanchored: used with fullmatch (`$` would also match before a final newline, "abc\n"), and
# anchored by each schema in its own dialect (\A...\Z for msgspec, ^...$ for JSON Schema).
PUID_PATTERN = "[a-zA-Z0-9_-]+"
PUID_MAX_LENGTH = 500
EAN13_PATTERN = "[0-9]{13}"

SHORT_TEXT = 500
EXPLANATION_TEXT = 2000
FACTS_TEXT = 5000
MODEL_NAME_LENGTH = 100
MODEL_VERSION_LENGTH = 64

# The longest text each field takes, on both APIs.
TEXT_MAX_LENGTH: dict[str, int] = {
    "puid": PUID_MAX_LENGTH,
    "decision_visibility_other": SHORT_TEXT,
    "decision_monetary_other": SHORT_TEXT,
    "decision_ground_reference_url": SHORT_TEXT,
    "illegal_content_legal_ground": SHORT_TEXT,
    "illegal_content_explanation": EXPLANATION_TEXT,
    "incompatible_content_ground": SHORT_TEXT,
    "incompatible_content_explanation": EXPLANATION_TEXT,
    "category_specification_other": SHORT_TEXT,
    "decision_facts": FACTS_TEXT,
    "source_identity": SHORT_TEXT,
    "model": MODEL_NAME_LENGTH,
    "model_version": MODEL_VERSION_LENGTH,
    "content_type_other": SHORT_TEXT,
}


def date_bounds(field: str) -> tuple[dt.date, dt.date]:
    """The dates a required date field takes, both ends included; read at call time."""
    if field == "content_date":
        return MIN_CONTENT_DATE, MAX_DATE
    if field == "application_date":
        return MIN_APPLICATION_DATE, MAX_DATE
    raise KeyError(field)


# Each restriction's end date, in the EU's order, with the restriction it ends.
END_DATES: tuple[tuple[str, str], ...] = (
    ("end_date_visibility_restriction", "decision_visibility"),
    ("end_date_monetary_restriction", "decision_monetary"),
    ("end_date_service_restriction", "decision_provision"),
    ("end_date_account_restriction", "decision_account"),
)

# --- conditional rules ----------------------------------------------------------------------


def _words(field: str) -> str:
    """A field as Laravel's messages name it."""
    return field.replace("_", " ")


@dataclass(frozen=True, slots=True)
class When:
    """A condition on another field: it holds `value` (`contains`, for a list) or equals it.

    `native` is how our messages name the value; `eu` how the EU's do, or None where the EU's
    rule (Rule::requiredIf) reports Laravel's plain `required` message.
    """

    field: str
    value: str
    contains: bool
    native: str
    eu: str | None

    def holds(self, actual: Any) -> bool:
        if self.contains:
            return actual is not None and self.value in actual
        return bool(actual == self.value)

    @property
    def native_words(self) -> str:
        return f"{self.field} {'contains' if self.contains else 'is'} {self.native}"


@dataclass(frozen=True, slots=True)
class RequiredIf:
    """`field` is required when `when` holds, and has no place otherwise.

    Otherwise, ours refuses it (`only_allowed`: "Only allowed when ..."; else "Not allowed when
    <field> is <its value>.") and the EU drops it silently (`exclude_unless`).
    """

    field: str
    when: When
    only_allowed: bool = True

    def native_required(self) -> str:
        return f"Required when {self.when.native_words}."

    def native_excluded(self, actual: Any) -> str:
        if self.only_allowed:
            return f"Only allowed when {self.when.native_words}."
        return f"Not allowed when {self.when.field} is {actual}."

    def eu_required(self) -> str:
        if self.when.eu is None:
            return f"The {_words(self.field)} field is required."
        return (
            f"The {_words(self.field)} field is required when {_words(self.when.field)} is "
            f"{self.when.eu}."
        )

    @property
    def max_length(self) -> int:
        return TEXT_MAX_LENGTH[self.field]


@dataclass(frozen=True, slots=True)
class RequiredWithoutAll:
    """At least one of `fields` (`required_without_all`): ours names the first field, the EU
    every one of them."""

    fields: Sequence[str]

    def native_required(self) -> str:
        others = self.fields[1:]
        return f"Required unless {', '.join(others[:-1])} or {others[-1]} is present."

    def eu_required(self, field: str) -> str:
        others = " / ".join(_words(f) for f in self.fields if f != field)
        return f"The {_words(field)} field is required when none of {others} are present."


@dataclass(frozen=True, slots=True)
class DroppedIf:
    """`field` is dropped, on both APIs, when `when` holds (the EU's `exclude_if`)."""

    field: str
    when: When


_VISIBILITY_OTHER = When(
    "decision_visibility", Visibility.OTHER.value, True, "DECISION_VISIBILITY_OTHER", None
)
_MONETARY_OTHER = When("decision_monetary", Monetary.OTHER.value, False, "OTHER", "other")
_CONTENT_TYPE_OTHER = When(
    "content_type", ContentType.OTHER.value, True, "CONTENT_TYPE_OTHER", None
)
_ILLEGAL = When(
    "decision_ground",
    Ground.ILLEGAL_CONTENT.value,
    False,
    Ground.ILLEGAL_CONTENT.value,
    "illegal content",
)
_INCOMPATIBLE = When(
    "decision_ground",
    Ground.INCOMPATIBLE_CONTENT.value,
    False,
    Ground.INCOMPATIBLE_CONTENT.value,
    "incompatible content",
)

RESTRICTIONS = RequiredWithoutAll(
    ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
)
VISIBILITY_OTHER = RequiredIf("decision_visibility_other", _VISIBILITY_OTHER)
MONETARY_OTHER = RequiredIf("decision_monetary_other", _MONETARY_OTHER)
CONTENT_TYPE_OTHER = RequiredIf("content_type_other", _CONTENT_TYPE_OTHER)
# Each ground's two texts, required with it and refused (ours) or dropped (the EU's) without.
GROUND_TEXTS: tuple[RequiredIf, ...] = (
    RequiredIf("illegal_content_legal_ground", _ILLEGAL, only_allowed=False),
    RequiredIf("illegal_content_explanation", _ILLEGAL, only_allowed=False),
    RequiredIf("incompatible_content_ground", _INCOMPATIBLE, only_allowed=False),
    RequiredIf("incompatible_content_explanation", _INCOMPATIBLE, only_allowed=False),
)
# The EU keeps incompatible_content_illegal only for incompatible content.
INCOMPATIBLE_ILLEGAL = DroppedIf("incompatible_content_illegal", _ILLEGAL)
# Who notified means nothing when the platform acted on its own initiative.
SOURCE_IDENTITY = DroppedIf(
    "source_identity",
    When("source_type", Source.VOLUNTARY.value, False, "SOURCE_VOLUNTARY", "source voluntary"),
)

CONDITIONAL_TEXTS: tuple[RequiredIf, ...] = (
    VISIBILITY_OTHER,
    MONETARY_OTHER,
    *GROUND_TEXTS,
    CONTENT_TYPE_OTHER,
)
