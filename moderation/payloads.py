"""What a decision, a policy version and a model version publish in the log, built from the row.

One builder per kind of record, called twice: by `moderation.services` on the row it is about
to insert, and by `verify_log` (moderation.bindings) on the row read back from the database.
So a published payload is, by construction, a function of its row and the rows it names, and
any later change to either shows as a mismatch with the log entry.

The row values the builders take are the values as the database gives them back: datetimes in
UTC, floats, booleans, JSON lists as lists, "" for an absent optional text. The write path
normalises to exactly that before building (`services._row`).

`DECISION_FIELDS` is the one registry of the decision's columns: the COPY column list, the row
a decision is inserted as, and its public payload all come from it (STYLE.md, rule 15).
"""

from __future__ import annotations

import enum
import operator
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from ledger.log import canonical_json
from ledger.models import EntryType


class Shown(enum.Enum):
    """How a column appears in the decision's public payload."""

    AS_IS = "as is"
    # Optional text stored as "" when absent (the DSA's columns are NOT NULL text); shown null.
    EMPTY_IS_NULL = "empty is null"
    # Shown through another row: the platform's slug, the policy's key and version, the model's
    # name and version, the superseded decision's public id.
    NAMED = "named"
    # Shown under a composite key built in `decision_payload` (id, subject).
    COMPOSED = "composed"
    # Never public (DESIGN.md): notes, notifier, moderator, notice token, bookkeeping.
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class DecisionField:
    column: str
    shown: Shown
    # The payload key, where it differs from the column's name.
    key: str = ""
    # Stored as JSON (a list); written to COPY as encoded text.
    json: bool = False

    @property
    def payload_key(self) -> str:
        return self.key or self.column


_ = DecisionField
AS_IS, OR_NULL, NAMED, COMPOSED, PRIVATE = (
    Shown.AS_IS,
    Shown.EMPTY_IS_NULL,
    Shown.NAMED,
    Shown.COMPOSED,
    Shown.PRIVATE,
)

# Every column of moderation_decision but `id` (the table's sequence), in COPY order.
DECISION_FIELDS: tuple[DecisionField, ...] = (
    _("public_id", COMPOSED, key="id"),
    _("platform_id", NAMED, key="platform"),
    _("puid", AS_IS),
    _("submission_digest", PRIVATE),
    _("notice_token", PRIVATE),
    _("log_index", PRIVATE),
    _("decision_type", AS_IS),
    _("action", AS_IS),
    _("supersedes_id", NAMED, key="supersedes"),
    _("decision_visibility", AS_IS, json=True),
    _("decision_visibility_other", OR_NULL),
    _("end_date_visibility_restriction", AS_IS),
    _("decision_monetary", OR_NULL),
    _("decision_monetary_other", OR_NULL),
    _("end_date_monetary_restriction", AS_IS),
    _("decision_provision", OR_NULL),
    _("end_date_service_restriction", AS_IS),
    _("decision_account", OR_NULL),
    _("end_date_account_restriction", AS_IS),
    _("account_type", OR_NULL),
    _("decision_ground", AS_IS),
    _("decision_ground_reference_url", OR_NULL),
    _("illegal_content_legal_ground", OR_NULL),
    _("illegal_content_explanation", OR_NULL),
    _("incompatible_content_ground", OR_NULL),
    _("incompatible_content_explanation", OR_NULL),
    _("incompatible_content_illegal", AS_IS),
    _("category", AS_IS),
    _("category_addition", AS_IS, json=True),
    _("category_specification", AS_IS, json=True),
    _("category_specification_other", OR_NULL),
    _("policy_id", NAMED, key="policy"),
    _("decision_facts", AS_IS),
    _("internal_notes", PRIVATE),
    _("source_type", AS_IS),
    _("source_identity", PRIVATE),
    _("automated_detection", AS_IS),
    _("automated_decision", AS_IS),
    _("model_version_id", NAMED, key="model"),
    _("score", AS_IS),
    _("threshold", AS_IS),
    _("moderator_id", PRIVATE),
    _("moderator_ref", PRIVATE),
    _("api_key_id", PRIVATE),
    _("notifier_ref", PRIVATE),
    _("notifier_token", PRIVATE),
    _("subject_account", COMPOSED, key="subject"),
    _("subject_content", COMPOSED, key="subject"),
    _("content_type", AS_IS, json=True),
    _("content_type_other", OR_NULL),
    _("content_language", OR_NULL),
    _("content_id_ean", OR_NULL),
    _("territorial_scope", AS_IS, json=True),
    _("content_date", AS_IS),
    _("decided_at", AS_IS),
    _("application_date", AS_IS),
    _("notified_at", AS_IS),
    _("created_at", AS_IS, key="recorded_at"),
)
del _

DECISION_COLUMNS: tuple[str, ...] = tuple(f.column for f in DECISION_FIELDS)
# The keys of the decision's public payload: every shown field's key, and the entry's type.
DECISION_PAYLOAD_KEYS: frozenset[str] = frozenset(
    {f.payload_key for f in DECISION_FIELDS if f.shown is not PRIVATE} | {"type"}
)

_AS_IS = tuple((f.payload_key, f.column) for f in DECISION_FIELDS if f.shown is AS_IS)
_OR_NULL = tuple((f.payload_key, f.column) for f in DECISION_FIELDS if f.shown is OR_NULL)
_JSON_POSITIONS = tuple(i for i, f in enumerate(DECISION_FIELDS) if f.json)
_in_copy_order = operator.itemgetter(*DECISION_COLUMNS)
_encode = msgspec.json.Encoder(order="sorted").encode


@dataclass(frozen=True, slots=True)
class DecisionNames:
    """What a decision's payload shows of the rows it points at."""

    platform: str
    policy: tuple[str, int] | None = None  # key, version
    model: tuple[str, str] | None = None  # model name, version label
    supersedes: uuid.UUID | None = None  # the superseded decision's public id


def decision_payload(row: Mapping[str, Any], names: DecisionNames) -> bytes:
    """The canonical public payload of a decision row (keyed by column).

    Public fields only (DESIGN.md): no internal notes, no moderator, no notice token, no source
    identity (a notifier may be a person); subjects appear only as pseudonyms.
    """
    payload: dict[str, Any] = {key: row[column] for key, column in _AS_IS}
    for key, column in _OR_NULL:
        payload[key] = row[column] or None
    payload["type"] = EntryType.DECISION.value
    payload["id"] = str(row["public_id"])
    payload["platform"] = names.platform
    payload["supersedes"] = None if names.supersedes is None else str(names.supersedes)
    payload["policy"] = (
        None if names.policy is None else {"key": names.policy[0], "version": names.policy[1]}
    )
    payload["model"] = (
        None if names.model is None else {"name": names.model[0], "version": names.model[1]}
    )
    payload["subject"] = {
        "account": row["subject_account"] or None,
        "content": row["subject_content"] or None,
    }
    return canonical_json(payload)


def decision_copy_row(row: Mapping[str, Any]) -> list[Any]:
    """The row's values in `DECISION_COLUMNS` order, JSON columns encoded, as COPY takes them."""
    if len(row) != len(DECISION_COLUMNS):
        # With the itemgetter's KeyError on a missing column, this makes the keys exactly the
        # registry's: a column the row builder forgot or invented cannot slip through.
        raise ValueError(f"decision row has columns {sorted(set(row) ^ set(DECISION_COLUMNS))}")
    values = list(_in_copy_order(row))
    for position in _JSON_POSITIONS:
        values[position] = _encode(values[position]).decode()
    return values


# --- policies and model versions ----------------------------------------------------------

# The columns of a policy version its payload shows as they are; `created_at` is shown as
# `registered_at` (ISO 8601) and the platform by its slug.
POLICY_FIELDS = ("key", "version", "title", "category", "ground", "clause", "url", "summary")


def policy_payload(row: Mapping[str, Any], *, platform: str) -> bytes:
    payload = {f: row[f] for f in POLICY_FIELDS}
    payload["type"] = EntryType.POLICY.value
    payload["platform"] = platform
    payload["registered_at"] = row["created_at"].isoformat()
    return canonical_json(payload)


MODEL_VERSION_FIELDS = ("version", "threshold", "card_url")


def model_version_payload(row: Mapping[str, Any], *, platform: str, model: str) -> bytes:
    payload = {f: row[f] for f in MODEL_VERSION_FIELDS}
    payload["type"] = EntryType.MODEL_VERSION.value
    payload["platform"] = platform
    payload["model"] = model
    payload["released_at"] = row["released_at"].isoformat()
    payload["registered_at"] = row["created_at"].isoformat()
    return canonical_json(payload)
