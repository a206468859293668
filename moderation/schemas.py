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
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

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

PUID_PATTERN = r"^[a-zA-Z0-9_-]+$"
Puid = Annotated[str, Meta(min_length=1, max_length=500, pattern=PUID_PATTERN)]
Text500 = Annotated[str, Meta(max_length=500)]
Text2000 = Annotated[str, Meta(max_length=2000)]
Text5000 = Annotated[str, Meta(max_length=5000)]
NonEmpty500 = Annotated[str, Meta(min_length=1, max_length=500)]
Slug = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
UnitInterval = Annotated[float, Meta(ge=0.0, le=1.0)]
AwareDatetime = Annotated[dt.datetime, Meta(tz=True)]
YesNo = Literal["Yes", "No"]


class Subject(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The platform's own ids of what the decision affects; pseudonymised on arrival."""

    account: NonEmpty500 | None = None
    content: NonEmpty500 | None = None


class ContentId(msgspec.Struct, forbid_unknown_fields=True):
    ean_13: Annotated[str, Meta(pattern=r"^[0-9]{13}$")] = msgspec.field(name="EAN-13")


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    puid: Puid
    subject: Subject
    decision_type: DecisionType = DecisionType.RESTRICTION
    supersedes: uuid.UUID | None = None
    supersedes_puid: Puid | None = None

    decision_visibility: list[Visibility] = []
    decision_visibility_other: Text500 | None = None
    end_date_visibility_restriction: dt.date | None = None
    decision_monetary: Monetary | None = None
    decision_monetary_other: Text500 | None = None
    end_date_monetary_restriction: dt.date | None = None
    decision_provision: Provision | None = None
    end_date_service_restriction: dt.date | None = None
    decision_account: AccountAction | None = None
    end_date_account_restriction: dt.date | None = None
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
    policy_version: Annotated[int, Meta(ge=1)] | None = None
    decision_facts: Annotated[str, Meta(min_length=1, max_length=5000)]
    internal_notes: Text5000 | None = None

    source_type: Source
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    model: Slug | None = None
    model_version: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    score: UnitInterval | None = None
    threshold: UnitInterval | None = None
    moderator: NonEmpty500 | None = None

    content_type: Annotated[list[ContentType], Meta(min_length=1)]
    content_type_other: Text500 | None = None
    content_language: Language | None = None
    content_id: ContentId | None = None
    territorial_scope: list[Country] = []

    content_date: dt.date
    application_date: dt.date
    decided_at: AwareDatetime | None = None
    notified_at: AwareDatetime | None = None


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    decisions: list[msgspec.Raw]


_decision_decoder = msgspec.json.Decoder(DecisionIn)
_batch_decoder = msgspec.json.Decoder(BatchIn)
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
    message = match.group("message")
    if message.startswith("Object missing required field"):
        missing = message.split("`")[1]
        path = f"{path}.{missing}" if path != "non_field_errors" else missing
        message = "This field is required."
    elif message.startswith("Object contains unknown field"):
        unknown = message.split("`")[1]
        path = f"{path}.{unknown}" if path != "non_field_errors" else unknown
        message = "Unknown field."
    return {path: [message]}


def decode_decision(body: bytes) -> DecisionIn:
    try:
        return _decision_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InputError("The decision is invalid.", field_error(exc)) from exc
    except msgspec.DecodeError as exc:
        raise InputError(f"Malformed JSON: {exc}") from exc


def decode_batch(body: bytes, *, max_items: int) -> list[DecisionIn]:
    try:
        batch = _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InputError("The batch is invalid.", field_error(exc)) from exc
    except msgspec.DecodeError as exc:
        raise InputError(f"Malformed JSON: {exc}") from exc
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
    if errors:
        raise BatchInputError(errors)
    return items


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
    return {"single": single, "batch": batch}, components


def _enum_schema(t: type) -> dict[str, object]:
    # Django's TextChoices are enums msgspec decodes but does not describe on its own.
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {"type": "string", "enum": [m.value for m in t]}
    raise NotImplementedError
