"""The shape of a decision as platforms send it, checked by msgspec.

msgspec checks types, enum keys, lengths and patterns while it decodes, in C, which is what
lets the batch endpoint keep up with bulk intake (DESIGN.md, "Speed we aim for"). The rules
that tie fields together are in `moderation.rules`. The OpenAPI schema is generated from these
classes, so the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from moderation import statement_rules as table
from moderation.vocabulary import (
    AccountAction,
    AccountType,
    AutomatedDecision,
    Category,
    ContentType,
    Country,
    DecisionType,
    Ground,
    Keyword,
    Language,
    Monetary,
    Provision,
    Source,
    Visibility,
)

# \A and \Z, not ^ and $: in Python's re, $ also matches before a final newline, so "abc\n"
# would pass. The OpenAPI schema shows the ECMA-262 anchors (see `json_schema`).
# Lengths and patterns are the statement table's (moderation.statement_rules).
PUID_PATTERN = rf"\A{table.PUID_PATTERN}\Z"
Puid = Annotated[str, Meta(min_length=1, max_length=table.PUID_MAX_LENGTH, pattern=PUID_PATTERN)]
Text500 = Annotated[str, Meta(max_length=table.SHORT_TEXT)]
Text2000 = Annotated[str, Meta(max_length=table.EXPLANATION_TEXT)]
Text5000 = Annotated[str, Meta(max_length=table.FACTS_TEXT)]
NonEmpty500 = Annotated[str, Meta(min_length=1, max_length=table.SHORT_TEXT)]
SLUG_PATTERN = r"\A[-a-zA-Z0-9_]+\Z"
Slug = Annotated[str, Meta(min_length=1, max_length=100, pattern=SLUG_PATTERN)]
UnitInterval = Annotated[float, Meta(ge=0.0, le=1.0)]
# The bounds are checked by `moderation.rules` (a date's bounds cannot be a JSON Schema keyword);
# the descriptions put them in the OpenAPI schema.
EndDate = Annotated[
    dt.date,
    Meta(
        description=f"From {table.MIN_END_DATE} to {table.MAX_DATE}, not before application_date."
    ),
]
ContentDate = Annotated[
    dt.date, Meta(description=f"From {table.MIN_CONTENT_DATE} to {table.MAX_DATE}.")
]
ApplicationDate = Annotated[
    dt.date, Meta(description=f"From {table.MIN_APPLICATION_DATE} to {table.MAX_DATE}.")
]
DecidedAt = Annotated[
    dt.datetime,
    Meta(
        tz=True,
        description="With its offset; from 2000-01-01T00:00:00Z in UTC, not in the future. "
        "The time of recording when omitted.",
    ),
]
NotifiedAt = Annotated[
    dt.datetime,
    Meta(
        tz=True,
        description="With its offset; from 2000-01-01T00:00:00Z in UTC, not in the future, "
        "not before decided_at.",
    ),
]
YesNo = Literal["Yes", "No"]
# PostgreSQL's integer: a larger policy version cannot be stored or looked up.
MAX_INT32 = 2**31 - 1
# The sources whose decision was taken on someone's notice: only these have a notifier, who
# gets a notice link of their own and may appeal (checked in `moderation.services`).
NOTIFIED_SOURCES: frozenset[str] = frozenset(
    {
        Source.ARTICLE_16.value,
        Source.TRUSTED_FLAGGER.value,
        Source.OTHER_NOTIFICATION.value,
        Source.COMMUNITY_REPORT.value,
    }
)


class Subject(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The platform's own ids of what the decision affects; pseudonymised on arrival."""

    account: NonEmpty500 | None = None
    content: NonEmpty500 | None = None


class ContentId(msgspec.Struct, forbid_unknown_fields=True):
    ean_13: Annotated[str, Meta(pattern=rf"\A{table.EAN13_PATTERN}\Z")] = msgspec.field(
        name="EAN-13"
    )


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    puid: Puid
    subject: Subject
    decision_type: DecisionType = DecisionType.RESTRICTION
    supersedes: uuid.UUID | None = None
    supersedes_puid: Puid | None = None

    decision_visibility: list[Visibility] = []
    decision_visibility_other: Text500 | None = None
    end_date_visibility_restriction: EndDate | None = None
    decision_monetary: Monetary | None = None
    decision_monetary_other: Text500 | None = None
    end_date_monetary_restriction: EndDate | None = None
    decision_provision: Provision | None = None
    end_date_service_restriction: EndDate | None = None
    decision_account: AccountAction | None = None
    end_date_account_restriction: EndDate | None = None
    account_type: AccountType | None = None

    decision_ground: Ground
    decision_ground_reference_url: Text500 | None = None
    illegal_content_legal_ground: Text500 | None = None
    illegal_content_explanation: Text2000 | None = None
    incompatible_content_ground: Text500 | None = None
    incompatible_content_explanation: Text2000 | None = None
    incompatible_content_illegal: YesNo | None = None
    category: Category
    category_addition: list[Category] = []
    category_specification: list[Keyword] = []
    category_specification_other: Text500 | None = None
    policy: Slug | None = None
    policy_version: Annotated[int, Meta(ge=1, le=MAX_INT32)] | None = None
    decision_facts: Annotated[str, Meta(min_length=1, max_length=5000)]
    internal_notes: Text5000 | None = None

    source_type: Source
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    model: Slug | None = None
    model_version: (
        Annotated[str, Meta(min_length=1, max_length=table.MODEL_VERSION_LENGTH)] | None
    ) = None
    score: UnitInterval | None = None
    threshold: UnitInterval | None = None
    moderator: NonEmpty500 | None = None
    # The platform's own id of the person or body whose notice led to the decision, for a
    # source that is a notice (NOTIFIED_SOURCES); pseudonymised on arrival.
    notifier: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=table.SHORT_TEXT,
                description="The platform's own id of the notifier: only for a source_type "
                f"that is a notice ({', '.join(sorted(NOTIFIED_SOURCES))}). Stored as a "
                "pseudonym; the response's notifier_notice_url is their own notice link.",
            ),
        ]
        | None
    ) = None

    content_type: Annotated[list[ContentType], Meta(min_length=1)]
    content_type_other: Text500 | None = None
    content_language: Language | None = None
    content_id: ContentId | None = None
    territorial_scope: list[Country] = []

    content_date: ContentDate
    application_date: ApplicationDate
    decided_at: DecidedAt | None = None
    notified_at: NotifiedAt | None = None


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    decisions: list[msgspec.Raw]


_decision_decoder = msgspec.json.Decoder(DecisionIn)
_batch_decoder = msgspec.json.Decoder(BatchIn)
# msgspec quotes the pattern with its backslashes escaped: '\\A[0-9]{13}\\Z'.
_PYTHON_ANCHORS = re.compile(r"'\\+A(.*?)\\+Z'")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


class InputError(Exception):
    """The request body is not what the endpoint takes. `errors` maps a field to messages."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class BatchInputError(Exception):
    """Some items of a batch do not decode; `errors` is keyed by item index."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        super().__init__(f"{len(errors)} decision(s) are invalid")
        self.errors = errors


def field_error(exc: msgspec.ValidationError) -> dict[str, list[str]]:
    """Turn msgspec's "Expected `int`, got `str` - at `$.score`" into {"score": [...]}."""
    match = _AT.match(str(exc))
    assert match is not None
    path = (match.group("path") or "").lstrip(".") or "non_field_errors"
    # Show the pattern as the OpenAPI schema does (ECMA-262 anchors), not Python's \A...\Z.
    message = _PYTHON_ANCHORS.sub(r"'^\1$'", match.group("message"))
    if message.startswith("Object missing required field"):
        missing = message.split("`")[1]
        path = f"{path}.{missing}" if path != "non_field_errors" else missing
        message = "This field is required."
    elif message.startswith("Object contains unknown field"):
        unknown = message.split("`")[1]
        path = f"{path}.{unknown}" if path != "non_field_errors" else unknown
        message = "Unknown field."
    return {path: [message]}


NUL_MESSAGE = "Must not contain NUL characters (\\u0000)."
# JSON can carry a NUL only as this escape (a raw control character is malformed JSON), so a
# body without it needs no walk: the hot path pays one bytes search.
_NUL_ESCAPE = b"\\u0000"


def decode_decision(body: bytes) -> DecisionIn:
    try:
        decision = _decision_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InputError("The decision is invalid.", field_error(exc)) from exc
    except _UNPARSABLE as exc:
        raise InputError(unparsable_message(exc)) from exc
    if _NUL_ESCAPE in body:
        errors = nul_errors(decision)
        if errors:
            raise InputError("The decision is invalid.", errors)
    return decision


def decode_batch(body: bytes, *, max_items: int) -> list[DecisionIn]:
    try:
        batch = _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InputError("The batch is invalid.", field_error(exc)) from exc
    except _UNPARSABLE as exc:
        raise InputError(unparsable_message(exc)) from exc
    if not batch.decisions:
        raise InputError("The batch is empty.", {"decisions": ["At least one decision."]})
    if len(batch.decisions) > max_items:
        raise InputError(
            f"The batch has {len(batch.decisions)} decisions; the limit is {max_items}.",
            {"decisions": [f"At most {max_items} decisions per batch."]},
        )
    items: list[DecisionIn] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, raw in enumerate(batch.decisions):
        try:
            items.append(_decision_decoder.decode(raw))
        except msgspec.ValidationError as exc:
            errors[index] = field_error(exc)
        except _UNPARSABLE as exc:
            errors[index] = {"non_field_errors": [unparsable_message(exc)]}
    if _NUL_ESCAPE in body:
        decoded = iter(items)
        for index in range(len(batch.decisions)):
            if index not in errors and (item_errors := nul_errors(next(decoded))):
                errors[index] = item_errors
    if errors:
        raise BatchInputError(errors)
    return items


# What a body that is not JSON we can read raises: msgspec's own error, invalid UTF-8 (which
# msgspec reports as Python's UnicodeDecodeError), and nesting deeper than the interpreter's
# recursion limit, where msgspec stops instead of exhausting the C stack.
_UNPARSABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def unparsable_message(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The body is not valid UTF-8."
    if isinstance(exc, RecursionError):
        return "Malformed JSON: nested too deeply."
    return f"Malformed JSON: {exc}"


def nul_errors(decision: msgspec.Struct) -> dict[str, list[str]]:
    """{path: [message]} for every text field holding a NUL, which PostgreSQL cannot store."""
    return {path: [NUL_MESSAGE] for path in _nul_paths(decision, "")}


def _nul_paths(value: object, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "non_field_errors"
    elif isinstance(value, msgspec.Struct):
        for name, encoded in zip(
            value.__struct_fields__, value.__struct_encode_fields__, strict=True
        ):
            yield from _nul_paths(getattr(value, name), f"{path}.{encoded}" if path else encoded)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}[{index}]")


def json_schema() -> tuple[dict[str, object], dict[str, object]]:
    """The OpenAPI schema of a single decision and of a batch, with their components."""
    (single,), components = msgspec.json.schema_components(
        [DecisionIn], schema_hook=_enum_schema, ref_template="#/components/schemas/{name}"
    )
    batch = {
        "type": "object",
        "required": ["decisions"],
        "properties": {"decisions": {"type": "array", "items": single, "maxItems": 1000}},
    }
    _ecma_anchors(components)
    return {"single": single, "batch": batch}, components


def _ecma_anchors(schema: object) -> None:
    """Rewrite Python's \\A...\\Z anchors as ECMA-262's ^...$, which JSON Schema patterns use
    and which, there, match only at the very end (no final-newline exception)."""
    if isinstance(schema, dict):
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("\\A") and pattern.endswith("\\Z"):
            schema["pattern"] = "^" + pattern[2:-2] + "$"
        for value in schema.values():
            _ecma_anchors(value)
    elif isinstance(schema, list):
        for value in schema:
            _ecma_anchors(value)


def _enum_schema(t: type) -> dict[str, object]:
    # Django's TextChoices are enums msgspec decodes but does not describe on its own.
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {"type": "string", "enum": [m.value for m in t]}
    raise NotImplementedError
