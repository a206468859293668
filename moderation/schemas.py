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
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

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


@dataclass(slots=True)
class Partial:
    """What could be read of a decision: `decision` holds every field that decoded, and stands
    in for the others (a required one takes `EXAMPLE_DECISION`'s value, an optional one its
    default); `errors` names the problems of those in `failed` (top-level names). A decision
    that decoded whole is a Partial with nothing failed."""

    decision: DecisionIn
    errors: dict[str, list[str]]
    failed: frozenset[str]


class InputError(Exception):
    """The request body is not what the endpoint takes. `errors` maps a field to messages.

    `partial` is what could be read of a decision that does not decode, for the rules that tie
    its fields together (`moderation.rules.every_problem`)."""

    def __init__(
        self,
        message: str,
        errors: dict[str, list[str]] | None = None,
        *,
        partial: Partial | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.partial = partial


class BatchInputError(Exception):
    """Some items of a batch do not decode; `errors` is keyed by item index.

    `items` holds every item as read (`Partial`), those that decoded included, so that the
    rules can name the problems of every item at once."""

    def __init__(
        self, errors: dict[int, dict[str, list[str]]], items: list[Partial] | None = None
    ) -> None:
        super().__init__(f"{len(errors)} decision(s) are invalid")
        self.errors = errors
        self.items = items or []


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


INVALID_DECISION = "The decision is invalid; nothing was recorded."


def decode_decision(body: bytes) -> DecisionIn:
    """Decode one decision. msgspec stops at the first problem; only then is the body read
    again field by field (`read_partial`) to name every problem, so a valid body costs one
    decode."""
    try:
        decision = _decision_decoder.decode(body)
    except msgspec.ValidationError as exc:
        partial = read_partial(body, exc)
        raise InputError(INVALID_DECISION, partial.errors, partial=partial) from exc
    except _UNPARSABLE as exc:
        raise InputError(unparsable_message(exc)) from exc
    if _NUL_ESCAPE in body:
        partial = _with_nul_errors(decision)
        if partial.errors:
            raise InputError(INVALID_DECISION, partial.errors, partial=partial)
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
    n = len(batch.decisions)
    if n > max_items:
        raise InputError(
            f"The batch has {n} decisions; the limit is {max_items}.",
            {"decisions": [f"At most {max_items} decisions per batch."]},
        )
    items: list[DecisionIn] = []
    failed: dict[int, Partial] = {}
    for index, raw in enumerate(batch.decisions):
        try:
            items.append(_decision_decoder.decode(raw))
        except msgspec.ValidationError as exc:
            failed[index] = read_partial(raw, exc)
        except _UNPARSABLE as exc:
            unparsable = {"non_field_errors": [unparsable_message(exc)]}
            failed[index] = Partial(_stand_in(), unparsable, _FIELD_NAMES)
    if not failed and _NUL_ESCAPE not in body:
        return items
    # The slow path, only for a batch with a problem (or a NUL escape to look for): every item
    # as read, the decoded ones too, so that the rules can name each item's problems.
    decoded = iter(items)
    every = [failed.get(index) or Partial(next(decoded), {}, frozenset()) for index in range(n)]
    if _NUL_ESCAPE in body:
        every = [p if p.failed else _with_nul_errors(p.decision) for p in every]
    errors = {index: p.errors for index, p in enumerate(every) if p.errors}
    if errors:
        raise BatchInputError(errors, every)
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


# --- every problem at once -------------------------------------------------------------------
#
# msgspec reports the first problem of a body and stops. When a body fails, it is read again
# field by field, each field with its own msgspec decoder, so that every field's problem is
# named with the same words and paths as msgspec's own (`field_error`); nested objects and
# arrays are read item by item. Only bodies that fail take this path.

_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    key: str  # the name in JSON
    required: bool
    decoder: msgspec.json.Decoder[Any]
    # What the field holds, without its Annotated constraints and `| None`: a Struct or a list
    # is read again part by part when it fails.
    core: Any
    item_decoder: msgspec.json.Decoder[Any] | None


def _core(hint: Any) -> Any:
    while True:
        origin = get_origin(hint)
        if origin is Annotated:
            hint = get_args(hint)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(hint) if a is not type(None)]
            if len(options) != 1:
                return hint
            hint = options[0]
        else:
            return hint


def _fields_of(struct: type[msgspec.Struct]) -> tuple[_Field, ...]:
    fields = []
    for info in msgspec.structs.fields(struct):
        core = _core(info.type)
        item = get_args(core)[0] if get_origin(core) is list else None
        fields.append(
            _Field(
                name=info.name,
                key=info.encode_name,
                required=info.required,
                decoder=msgspec.json.Decoder(info.type),
                core=core,
                item_decoder=msgspec.json.Decoder(item) if item is not None else None,
            )
        )
    return tuple(fields)


_FIELDS: dict[type[msgspec.Struct], tuple[_Field, ...]] = {
    struct: _fields_of(struct) for struct in (DecisionIn, Subject, ContentId)
}
_FIELD_NAMES = frozenset(f.name for f in _FIELDS[DecisionIn])


def _join(path: str, inner: str) -> str:
    """The path of `inner` (a member, "[3]", or the part itself) inside `path`."""
    if inner == "non_field_errors":
        return path or inner
    if not path or inner.startswith("["):
        return path + inner
    return f"{path}.{inner}"


def _at(path: str, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """`errors` of a part, keyed by their path inside the whole."""
    return {_join(path, inner): messages for inner, messages in errors.items()}


def _read_struct(
    raw: bytes, struct: type[msgspec.Struct], path: str, whole: msgspec.ValidationError
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The fields of `raw` that decode (by name), and the problems of the others; None and
    msgspec's own words when `raw` cannot be read as an object at all."""
    try:
        members = _RAW_OBJECT.decode(raw)
    except (msgspec.ValidationError, *_UNPARSABLE):
        return None, _at(path, field_error(whole))
    fields = _FIELDS[struct]
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        member = members.get(field.key)
        if member is None:
            if field.required:
                errors[_join(path, field.key)] = ["This field is required."]
            continue
        try:
            values[field.name] = field.decoder.decode(member)
        except msgspec.ValidationError as exc:
            errors.update(_read_value(member, field, _join(path, field.key), exc))
        except _UNPARSABLE as exc:
            # A Raw member is skipped over, not read: a lone surrogate or a nesting deeper than
            # the recursion limit shows only when the member itself is decoded.
            errors[_join(path, field.key)] = [unparsable_message(exc)]
    known = {field.key for field in fields}
    for key in members:
        if key not in known:
            errors[_join(path, key)] = ["Unknown field."]
    return values, errors


def _read_value(
    raw: bytes, field: _Field, path: str, exc: msgspec.ValidationError
) -> dict[str, list[str]]:
    """Every problem of one field's value: each member's of an object, each item's of an array;
    else (or when its parts are all fine, and the whole breaks a bound) msgspec's one."""
    if isinstance(field.core, type) and issubclass(field.core, msgspec.Struct):
        _, errors = _read_struct(raw, field.core, path, exc)
        if errors:
            return errors
    elif field.item_decoder is not None:
        try:
            items = _RAW_ARRAY.decode(raw)
        except (msgspec.ValidationError, *_UNPARSABLE):
            items = []
        errors = {}
        for index, item in enumerate(items):
            try:
                field.item_decoder.decode(item)
            except msgspec.ValidationError as item_exc:
                errors.update(_at(f"{path}[{index}]", field_error(item_exc)))
            except _UNPARSABLE as item_exc:
                errors[f"{path}[{index}]"] = [unparsable_message(item_exc)]
        if errors:
            return errors
    return _at(path, field_error(exc))


def _top(path: str) -> str:
    """The top-level field of an error path: "subject" for "subject.account"."""
    return path.split(".", 1)[0].split("[", 1)[0]


def read_partial(raw: bytes, exc: msgspec.ValidationError) -> Partial:
    """Read a decision that failed to decode (`exc`) field by field: every problem, and what
    decoded."""
    read, errors = _read_struct(raw, DecisionIn, "", exc)
    if read is None:  # nothing of it could be read
        return Partial(_stand_in(), errors, _FIELD_NAMES)
    values = dict(read)
    stand_in = _stand_in()
    for field in _FIELDS[DecisionIn]:
        if field.required and field.name not in values:
            values[field.name] = getattr(stand_in, field.name)
    decision = DecisionIn(**values)
    failed = {_top(path) for path in errors}
    # A text holding a NUL is a problem too, named with the others.
    for path, messages in nul_errors(decision).items():
        if _top(path) not in failed:
            errors[path] = messages
            failed.add(_top(path))
    if not errors:
        # Read member by member, the body is fine, but msgspec refused it: a key given twice,
        # wrong the first time (the last one wins here). Its own words, then.
        errors = field_error(exc)
        failed = set(_FIELD_NAMES)
    return Partial(decision, errors, frozenset(failed))


def _with_nul_errors(decision: DecisionIn) -> Partial:
    errors = nul_errors(decision)
    return Partial(decision, errors, frozenset(_top(path) for path in errors))


# --- examples -----------------------------------------------------------------------------
#
# Shown in the OpenAPI schema (the interactive docs' "Try it out" sends them as they are) and
# tested to be recorded as sent. The first needs nothing registered; the automated ones name
# the model version and policy of the /api/v1/models and /api/v1/policies examples.

EXAMPLE_DECISION: dict[str, Any] = {
    "puid": "video-8812-removal",
    "subject": {"account": "channel-5531", "content": "video-8812"},
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Section 130 StGB (incitement to hatred)",
    "illegal_content_explanation": "The video calls for violence against a religious group.",
    "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "category_specification": ["KEYWORD_INCITEMENT_VIOLENCE_HATRED"],
    "decision_facts": "A viewer reported the video; a moderator watched it and removed it.",
    "source_type": "SOURCE_ARTICLE_16",
    "notifier": "viewer-20931",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "moderator": "mod-7",
    "content_type": ["CONTENT_TYPE_VIDEO"],
    "content_language": "DE",
    "territorial_scope": ["AT", "DE"],
    "content_date": "2026-11-28",
    "application_date": "2026-11-30",
}

EXAMPLE_AUTOMATED_DECISION: dict[str, Any] = {
    "puid": "post-4711-search-exclusion",
    "subject": {"account": "user-42", "content": "post-4711"},
    "decision_visibility": ["DECISION_VISIBILITY_SEARCH_EXCLUDED"],
    "end_date_visibility_restriction": "2027-01-15",
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "Community Guidelines §4.2 (Hateful conduct)",
    "incompatible_content_explanation": "The classifier scored the post as hate speech.",
    "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "category_specification": ["KEYWORD_HATE_SPEECH"],
    "policy": "hate-speech",
    "decision_facts": "white knight captures black queen",
    "source_type": "SOURCE_VOLUNTARY",
    "automated_detection": "Yes",
    "automated_decision": "AUTOMATED_DECISION_FULLY",
    "model": "hate-speech",
    "model_version": "v3",
    "score": 0.91,
    "content_type": ["CONTENT_TYPE_TEXT"],
    "content_language": "EN",
    "content_date": "2026-12-01",
    "application_date": "2026-12-01",
}

EXAMPLE_BATCH: dict[str, Any] = {
    "decisions": [
        {
            "puid": "video-9107-age-restriction",
            "subject": {"content": "video-9107"},
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"],
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Community Guidelines §6.1 (Graphic content)",
            "incompatible_content_explanation": "Graphic injuries, shown without a warning.",
            "category": "STATEMENT_CATEGORY_VIOLENCE",
            "decision_facts": "A viewer reported the video; a moderator age-restricted it.",
            "source_type": "SOURCE_ARTICLE_16",
            "notifier": "viewer-31877",
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            "moderator": "mod-12",
            "content_type": ["CONTENT_TYPE_VIDEO"],
            "content_date": "2026-11-29",
            "application_date": "2026-11-30",
        },
        {
            "puid": "account-5531-suspension",
            "subject": {"account": "channel-5531"},
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "end_date_account_restriction": "2026-12-30",
            "account_type": "ACCOUNT_TYPE_PRIVATE",
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": "Terms of Service §9 (Repeated violations)",
            "incompatible_content_explanation": "A third removal for hateful conduct in 90 days.",
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "decision_facts": "The channel's third removal in 90 days; suspended for 30 days.",
            "source_type": "SOURCE_VOLUNTARY",
            "automated_detection": "No",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            "moderator": "mod-7",
            "content_type": ["CONTENT_TYPE_VIDEO"],
            "content_date": "2026-11-28",
            "application_date": "2026-11-30",
        },
    ]
}

EXAMPLE_AUTOMATED_BATCH: dict[str, Any] = {
    "decisions": [
        {
            **EXAMPLE_AUTOMATED_DECISION,
            "puid": f"post-{post}-search-exclusion",
            "subject": {"account": account, "content": f"post-{post}"},
            "decision_facts": facts,
            "score": score,
        }
        for post, account, facts, score in (
            (4712, "user-42", "the bishop attacks the black king's weak squares", 0.88),
            (4790, "user-1377", "A post the classifier scored as hate speech.", 0.97),
        )
    ]
}


def _stand_in() -> DecisionIn:
    """A valid decision (`EXAMPLE_DECISION`), whose values stand in for fields that fail."""
    return _decision_decoder.decode(_EXAMPLE_BODY)


_EXAMPLE_BODY = msgspec.json.encode(EXAMPLE_DECISION)


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
    _openapi30(components)
    return {"single": single, "batch": batch}, components


def _openapi30(schema: object) -> None:
    """Rewrite msgspec's JSON Schema 2020-12 as the OpenAPI 3.0 the schema declares (and the
    validators check): `anyOf: [X, {"type": "null"}]` becomes `nullable: true` (3.0 has no
    "null" type), an enum lists null as well (`nullable` alone does not extend `enum`), a
    reference is wrapped in `allOf` (3.0 ignores a $ref's siblings), and an empty `required`
    goes (3.0 wants at least one name there)."""
    if isinstance(schema, dict):
        if schema.get("required") == []:
            del schema["required"]
        options = schema.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            if len(rest) == 1:
                del schema["anyOf"]
                (only,) = rest
                if "$ref" in only:
                    schema["allOf"] = [only]
                else:
                    schema.update(only)
                    if "enum" in only:
                        schema["enum"] = [*only["enum"], None]
                schema["nullable"] = True
        for value in schema.values():
            _openapi30(value)
    elif isinstance(schema, list):
        for value in schema:
            _openapi30(value)


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
