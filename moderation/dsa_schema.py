"""The OpenAPI description of the EU-compatible API: its request bodies and its answers.

The body is described as `moderation.dsa.check_statement` checks it, so that a client (or a
fuzzer such as schemathesis) generating from the schema sends what the endpoint takes, and
what the schema calls invalid is refused. The EU's conditional rules are spelt out with
`allOf`/`anyOf`/`oneOf` (OpenAPI 3.0 has no if/then):

- one of decision_visibility, decision_monetary, decision_provision, decision_account
  (`required_without_all`);
- the two grounds, each with the texts it requires (`required_if` + `exclude_unless`);
- an `*_other` text exactly when its list or field says OTHER.

A field the EU excludes when it does not apply is accepted with any value then (and dropped),
so its base description carries no type: the branch that applies gives it one. An empty string
or null counts as absent (Laravel's ConvertEmptyStringsToNull), so optional enums list "" and
null, and a required text needs a character that is not white space. Free text may not contain
NUL (PostgreSQL text cannot hold it).

Not expressible here, and answered with 422 all the same: a puid already recorded (or repeated
in a batch), a model version that is not registered, and 29 February of a leap year, which the
date patterns leave out for brevity though the endpoint takes it.
"""

from __future__ import annotations

from typing import Any

from moderation import dsa
from moderation import statement_rules as table
from moderation.vocabulary import (
    AccountAction,
    AccountType,
    AutomatedDecision,
    Category,
    ContentType,
    Country,
    Ground,
    Keyword,
    Language,
    Monetary,
    Provision,
    Visibility,
)

Schema = dict[str, Any]
# Each text's length, the puid's and the EAN's patterns are the statement table's
# (moderation.statement_rules), as `dsa.check_statement` applies them.
MAX = table.TEXT_MAX_LENGTH

NO_NUL = "^[^\\u0000]*$"
# A required text needs one character that Laravel's TrimStrings would not strip.
_BLANK = "\\t\\n\\u000b\\f\\r \\ufeff\\u200b\\u200e"
NOT_BLANK = f"^[{_BLANK}]*[^\\u0000{_BLANK}][^\\u0000]*$"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)"
    "|(?:0[13578]|1[02])-31)"
)
# Laravel's url rule takes far more than this; the pattern describes the common case, an
# http(s) URL, so that generated examples are URLs the rule accepts (its last label, the
# top-level domain, has no hyphen).
URL_PATTERN = (
    "^(?:https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]{1,63}"
    "(?:/[A-Za-z0-9._~-]*)*(?:\\?[A-Za-z0-9._~=&-]*)?(?:#[A-Za-z0-9._~-]*)?)?$"
)


def _date_pattern(years: str, *, optional: bool) -> str:
    dates = f"(?:{years})-{_MONTH_DAY}|2038-01-01"
    return f"^(?:{dates}{'|' if optional else ''})$"


_YEARS_FROM_2000 = "20[0-2][0-9]|203[0-7]"
_YEARS_FROM_2020 = "202[0-9]|203[0-7]"
_YEARS_FROM_1 = "000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|1[0-9]{3}|20[0-2][0-9]|203[0-7]"


def _values(choices: Any) -> list[str]:
    return sorted(str(c.value if hasattr(c, "value") else c) for c in choices)


def _required_text(max_length: int) -> Schema:
    return _text(max_length, required=True)


def _text(max_length: int, *, required: bool = False, description: str = "") -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length, "pattern": NO_NUL}
    if required:
        schema.update(minLength=1, pattern=NOT_BLANK)
    else:
        schema["nullable"] = True
    if description:
        schema["description"] = description
    return schema


def _choice(values: list[str], *, required: bool = False, description: str = "") -> Schema:
    schema: Schema = {"type": "string", "enum": values}
    if not required:
        schema = {"type": "string", "enum": [*values, "", None], "nullable": True}
    if description:
        schema["description"] = description
    return schema


def _choices(values: list[str], *, required: bool = False, description: str = "") -> Schema:
    schema: Schema = {"type": "array", "items": {"type": "string", "enum": values}}
    if required:
        schema["minItems"] = 1
    else:
        schema["nullable"] = True
    if description:
        schema["description"] = description
    return schema


def _date(years: str, *, required: bool = False, description: str = "") -> Schema:
    schema: Schema = {
        "type": "string",
        "pattern": _date_pattern(years, optional=not required),
        "description": description,
    }
    if required:
        schema["format"] = "date"
    else:
        schema["nullable"] = True
    return schema


def _required_or_ignored(field: str, condition: str) -> Schema:
    return _ignored_unless(
        f"Text (at most {MAX[field]} characters): required when {condition}, otherwise ignored."
    )


def _ignored_unless(description: str) -> Schema:
    # No type: where the EU excludes the field, any value is accepted and dropped.
    return {"description": description}


VISIBILITY = _values(dsa.EU_VISIBILITY)
VISIBILITY_NOT_OTHER = [v for v in VISIBILITY if v != Visibility.OTHER]
SOURCES = _values(dsa.EU_SOURCES)


def statement_properties() -> dict[str, Schema]:
    return {
        "puid": {
            "type": "string",
            "minLength": 1,
            "maxLength": table.PUID_MAX_LENGTH,
            "pattern": f"^{table.PUID_PATTERN}$",
            "description": "The platform's unique id of this statement; unique per platform.",
        },
        "decision_visibility": _choices(
            VISIBILITY,
            description="Visibility restrictions. One of decision_visibility, "
            "decision_monetary, decision_provision and decision_account is required.",
        ),
        "decision_visibility_other": _required_or_ignored(
            "decision_visibility_other", "decision_visibility contains DECISION_VISIBILITY_OTHER"
        ),
        "end_date_visibility_restriction": _date(_YEARS_FROM_1, description="YYYY-MM-DD"),
        "decision_monetary": _choice(_values(Monetary)),
        "decision_monetary_other": _required_or_ignored(
            "decision_monetary_other", "decision_monetary is DECISION_MONETARY_OTHER"
        ),
        "end_date_monetary_restriction": _date(_YEARS_FROM_1, description="YYYY-MM-DD"),
        "decision_provision": _choice(_values(Provision)),
        "end_date_service_restriction": _date(_YEARS_FROM_1, description="YYYY-MM-DD"),
        "decision_account": _choice(_values(AccountAction)),
        "end_date_account_restriction": _date(_YEARS_FROM_1, description="YYYY-MM-DD"),
        "account_type": _choice(_values(AccountType)),
        "decision_ground": _choice(_values(Ground), required=True),
        "decision_ground_reference_url": {
            **_text(
                MAX["decision_ground_reference_url"],
                description="A URL (Laravel's url rule): the terms or law relied on.",
            ),
            "pattern": URL_PATTERN,
        },
        "illegal_content_legal_ground": _required_or_ignored(
            "illegal_content_legal_ground", "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT"
        ),
        "illegal_content_explanation": _required_or_ignored(
            "illegal_content_explanation", "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT"
        ),
        "incompatible_content_ground": _required_or_ignored(
            "incompatible_content_ground", "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT"
        ),
        "incompatible_content_explanation": _required_or_ignored(
            "incompatible_content_explanation",
            "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT",
        ),
        "incompatible_content_illegal": _ignored_unless(
            '"Yes" or "No": kept when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT, '
            "otherwise ignored."
        ),
        "category": _choice(_values(Category), required=True),
        "category_addition": _choices(_values(Category)),
        "category_specification": _choices(_values(Keyword)),
        "category_specification_other": _text(
            MAX["category_specification_other"],
            description="Kept by POST /statement; POST /statements keeps it only when "
            "category_specification contains KEYWORD_OTHER, as the EU does.",
        ),
        "content_type": _choices(_values(ContentType), required=True),
        "content_type_other": _required_or_ignored(
            "content_type_other", "content_type contains CONTENT_TYPE_OTHER"
        ),
        "content_language": _choice(_values(Language)),
        "content_date": _date(
            _YEARS_FROM_2000,
            required=True,
            description=f"YYYY-MM-DD, {table.MIN_CONTENT_DATE} to {table.MAX_DATE}",
        ),
        "content_id": {
            "type": "object",
            "nullable": True,
            "required": ["EAN-13"],
            "additionalProperties": False,
            "properties": {"EAN-13": {"type": "string", "pattern": f"^{table.EAN13_PATTERN}$"}},
        },
        "territorial_scope": _choices(_values(Country)),
        "application_date": _date(
            _YEARS_FROM_2020,
            required=True,
            description=f"YYYY-MM-DD, {table.MIN_APPLICATION_DATE} to {table.MAX_DATE}",
        ),
        "decision_facts": _text(MAX["decision_facts"], required=True),
        "source_type": _choice(SOURCES, required=True),
        "source_identity": _text(
            MAX["source_identity"],
            description="Who notified; dropped when source_type is SOURCE_VOLUNTARY.",
        ),
        "automated_detection": _choice(["No", "Yes"], required=True),
        "automated_decision": _choice(_values(AutomatedDecision), required=True),
        "subject": {
            "nullable": True,
            "description": "Ours, optional: the platform's own id of the affected content (or "
            "account, for an account or service restriction), or an object naming either or "
            "both; pseudonymised on arrival.",
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 500, "pattern": NO_NUL},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "account": {**_text(500), "minLength": 1},
                        "content": {**_text(500), "minLength": 1},  # null: not named
                    },
                },
            ],
        },
    }


REQUIRED = [
    "puid",
    "decision_ground",
    "category",
    "content_type",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
]


def _given(field: str, schema: Schema) -> Schema:
    return {"required": [field], "properties": {field: schema}}


def statement_rules() -> list[Schema]:
    """The EU's conditional rules, as `allOf` members."""
    non_empty = {"type": "string", "minLength": 1}
    return [
        {
            "anyOf": [
                _given("decision_visibility", {"type": "array", "minItems": 1}),
                _given("decision_monetary", non_empty),
                _given("decision_provision", non_empty),
                _given("decision_account", non_empty),
            ]
        },
        {
            "oneOf": [
                {
                    "required": ["illegal_content_legal_ground", "illegal_content_explanation"],
                    "properties": {
                        "decision_ground": {"enum": [Ground.ILLEGAL_CONTENT.value]},
                        "illegal_content_legal_ground": _required_text(
                            MAX["illegal_content_legal_ground"]
                        ),
                        "illegal_content_explanation": _required_text(
                            MAX["illegal_content_explanation"]
                        ),
                    },
                },
                {
                    "required": [
                        "incompatible_content_ground",
                        "incompatible_content_explanation",
                    ],
                    "properties": {
                        "decision_ground": {"enum": [Ground.INCOMPATIBLE_CONTENT.value]},
                        "incompatible_content_ground": _required_text(
                            MAX["incompatible_content_ground"]
                        ),
                        "incompatible_content_explanation": _required_text(
                            MAX["incompatible_content_explanation"]
                        ),
                        "incompatible_content_illegal": _choice(["No", "Yes"]),
                    },
                },
            ]
        },
        {
            "anyOf": [
                {
                    "properties": {
                        "decision_visibility": {
                            "type": "array",
                            "nullable": True,
                            "items": {"enum": VISIBILITY_NOT_OTHER},
                        }
                    }
                },
                _given(
                    "decision_visibility_other", _required_text(MAX["decision_visibility_other"])
                ),
            ]
        },
        {
            "anyOf": [
                {"properties": {"decision_monetary": {"not": {"enum": [Monetary.OTHER.value]}}}},
                _given("decision_monetary_other", _required_text(MAX["decision_monetary_other"])),
            ]
        },
        {
            "anyOf": [
                {
                    "properties": {
                        "content_type": {
                            "type": "array",
                            "items": {
                                "enum": [c for c in _values(ContentType) if c != ContentType.OTHER]
                            },
                        }
                    }
                },
                _given("content_type_other", _required_text(MAX["content_type_other"])),
            ]
        },
    ]


EXAMPLE_STATEMENT: Schema = {
    "puid": "vid-2026-11-01-000417",
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "decision_ground_reference_url": "https://vidshare.example/terms#4-2",
    "incompatible_content_ground": "Terms of service, section 4.2",
    "incompatible_content_explanation": "The video shows graphic violence.",
    "incompatible_content_illegal": "No",
    "category": "STATEMENT_CATEGORY_VIOLENCE",
    "category_specification": ["KEYWORD_OTHER"],
    "category_specification_other": "Graphic violence",
    "content_type": ["CONTENT_TYPE_VIDEO"],
    "content_language": "DE",
    "content_date": "2026-10-30",
    "territorial_scope": ["AT", "DE"],
    "application_date": "2026-11-01",
    "decision_facts": "A user reported the video; a moderator reviewed and removed it.",
    "source_type": "SOURCE_ARTICLE_16",
    "source_identity": "Notice 2026-4711",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
}

EXAMPLE_BATCH: Schema = {
    "statements": [
        {**EXAMPLE_STATEMENT, "puid": "vid-2026-11-01-000418"},
        {
            "puid": "acct-2026-11-01-000419",
            "decision_account": "DECISION_ACCOUNT_SUSPENDED",
            "end_date_account_restriction": "2026-12-01",
            "account_type": "ACCOUNT_TYPE_PRIVATE",
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": "Section 130 StGB",
            "illegal_content_explanation": "Repeated incitement to hatred against a group.",
            "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
            "category_specification": ["KEYWORD_HATE_SPEECH"],
            "content_type": ["CONTENT_TYPE_TEXT"],
            "content_date": "2026-10-28",
            "application_date": "2026-11-01",
            "decision_facts": "Three posts were removed after notices; the account was suspended.",
            "source_type": "SOURCE_TRUSTED_FLAGGER",
            "source_identity": "Trusted flagger 12",
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
        },
    ]
}


def _out(value: Schema) -> Schema:
    return {**value, "nullable": True}


def _statement_out() -> Schema:
    """A stored statement as the EU answers it (arrays are [] when empty, texts null)."""
    text = {"type": "string", "nullable": True}
    strings = {"type": "array", "items": {"type": "string"}}
    properties: dict[str, Schema] = {
        name: (strings if schema.get("type") == "array" else text)
        for name, schema in statement_properties().items()
        if name not in {"subject", "content_id"}
    }
    properties.update(
        {
            "uuid": {"type": "string", "format": "uuid"},
            "content_id": _out({"type": "object", "properties": {"EAN-13": {"type": "string"}}}),
            "created_at": {"type": "string", "description": "YYYY-MM-DD hh:mm:ss (UTC)"},
            "platform_name": {"type": "string"},
            "permalink": {"type": "string", "format": "uri"},
            "self": {"type": "string", "format": "uri"},
            "notice_url": {"type": "string", "format": "uri"},
            "log_index": {"type": "integer", "description": "Ours: its transparency-log index."},
            "leaf_hash": {"type": "string", "description": "Ours: its log leaf hash, in hex."},
            "receipt_url": {"type": "string", "format": "uri"},
        }
    )
    return {
        "type": "object",
        "required": ["uuid", "decision_ground", "category", "content_type", "created_at"],
        "properties": properties,
    }


def components(max_batch: int) -> dict[str, Schema]:
    """Every component the EU-compatible endpoints refer to."""
    read = _statement_out()
    read["properties"].pop("puid")
    read["description"] = "A statement as GET /statement/{uuid} shows it: no puid, no id."
    stored = {
        "allOf": [
            {"$ref": "#/components/schemas/DsaStatementRead"},
            {
                "type": "object",
                "required": ["puid"],
                "properties": {"puid": {"type": "string"}},
            },
        ]
    }
    created = {
        "allOf": [
            {"$ref": "#/components/schemas/DsaStatementRead"},
            {
                "type": "object",
                "required": ["id", "puid"],
                "properties": {
                    "id": {
                        "type": "integer",
                        "description": "The statement's integer id, shown in this answer only.",
                    },
                    "puid": {"type": "string"},
                },
            },
        ]
    }
    return {
        "DsaStatement": {
            "type": "object",
            "description": "A statement of reasons, exactly as the EU DSA Transparency "
            "Database's API takes it. Our optional extras: `subject`, and `model`, "
            "`model_version` (a model version registered with POST /api/v1/models) and `score` "
            "(0 to 1) for an automated decision.",
            "required": REQUIRED,
            "properties": statement_properties(),
            "allOf": statement_rules(),
            "example": EXAMPLE_STATEMENT,
        },
        "DsaStatementBatch": {
            "type": "object",
            "required": ["statements"],
            "properties": {
                "statements": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_batch,
                    "items": {"$ref": "#/components/schemas/DsaStatement"},
                    "description": "Recorded all together or not at all; puids must differ.",
                }
            },
            "example": EXAMPLE_BATCH,
        },
        "DsaStatementRead": read,
        "DsaStatementStored": stored,
        "DsaStatementCreated": created,
        "DsaStatementsCreated": {
            "type": "object",
            "required": ["statements"],
            "properties": {
                "statements": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/DsaStatementStored"},
                }
            },
        },
        "DsaErrors": {
            "type": "object",
            "description": "Laravel's error answer: `errors` maps each field to its messages; "
            "a batch keys them `statement_N` by position, or lists `existing_puids`.",
            "required": ["message", "errors"],
            "properties": {
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {}},
                "existing": {
                    "type": "object",
                    "properties": {"puid": {"type": "string"}},
                },
            },
        },
        "DsaMessage": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}, "puid": {"type": "string"}},
        },
    }
