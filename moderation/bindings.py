"""Bind decision, policy and model-version rows to their log entries, for `verify_log`.

Registered with `ledger.audit.register_binding` by `ModerationConfig.ready`. Each checker reads
the rows of one index range (one query, the names they show joined in), rebuilds each row's
payload with the builder the write path used (moderation.payloads) and compares the bytes with
the entry. So a row edited behind the triggers' back, or a renamed model or platform, shows as
a mismatch naming the entry and the fields that differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec
from django.db import models
from django.db.models.functions import Cast

from ledger.audit import register_binding
from ledger.models import EntryType
from moderation.models import Decision, ModelVersion, Policy
from moderation.payloads import (
    DECISION_COLUMNS,
    DECISION_FIELDS,
    MODEL_VERSION_FIELDS,
    POLICY_FIELDS,
    DecisionNames,
    decision_payload,
    model_version_payload,
    policy_payload,
)

Problems = Iterator[tuple[int, str]]

# The attribute names the ORM reads the registry's columns by (log_index is log_entry_id).
_DECISION_ATTNAMES = tuple(
    {f.column: f.attname for f in Decision._meta.concrete_fields}[c] for c in DECISION_COLUMNS
)
_DECISION_NAMES = (
    "platform__slug",
    "policy__key",
    "policy__version",
    "model_version__model__name",
    "model_version__version",
    "supersedes__public_id",
)
# JSON columns are read as text and decoded by msgspec: the ORM's json.loads per value was a
# third of verify_log's time.
_JSON_COLUMNS = tuple(f.column for f in DECISION_FIELDS if f.json)
_DECISIONS_JSON_AS_TEXT = Decision.objects.annotate(
    **{f"json_{column}": Cast(column, models.TextField()) for column in _JSON_COLUMNS}
)
_DECISION_VALUES = (
    *(f"json_{a}" if a in _JSON_COLUMNS else a for a in _DECISION_ATTNAMES),
    *_DECISION_NAMES,
)
_decode = msgspec.json.Decoder().decode
_POLICY_VALUES = (*POLICY_FIELDS, "created_at", "platform__slug")
_MODEL_VERSION_VALUES = (
    *MODEL_VERSION_FIELDS,
    "released_at",
    "created_at",
    "model__name",
    "model__platform__slug",
)


# Rows read past the end of the log: enough to name the first few, not the whole table.
BEYOND_ROWS = 100


def _in_range(queryset: models.QuerySet[Any], first: int, last: int | None) -> Any:
    """The rows bound to entries first..last, or the first few from `first` on. A range is one
    chunk of the audit (ledger.audit.CHUNK), so reading it whole keeps memory flat."""
    queryset = queryset.filter(log_entry_id__gte=first).order_by("log_entry_id")
    if last is None:
        return queryset[:BEYOND_ROWS]
    return queryset.filter(log_entry_id__lte=last)


def _differences(built: bytes, published: str) -> str:
    """The payload keys whose values differ, for a message a person can act on."""
    try:
        ours, theirs = json.loads(built), json.loads(published)
    except ValueError:
        return "the entry is not JSON"
    if not isinstance(theirs, dict):
        return "the entry is not a JSON object"
    keys = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    return ", ".join(keys) if keys else "encoding only"


def _check(
    kind: str,
    entries: Mapping[int, str],
    last: int | None,
    rows: Iterator[tuple[int, str, bytes]],
) -> Problems:
    """Compare (index, label, rebuilt payload) rows with the entries of their type."""
    seen: set[int] = set()
    for index, label, built in rows:
        seen.add(index)
        published = entries.get(index)
        if published is None:
            where = "beyond the end of the log" if last is None else f"not a {kind} entry"
            yield index, f"entry {index}: {label} points at it, but it is {where}"
        elif built != published.encode():
            yield (
                index,
                f"entry {index}: {label} differs from its log entry in "
                f"{_differences(built, published)}",
            )
    for index in sorted(entries.keys() - seen):
        yield index, f"entry {index}: {kind} entry has no {kind} row"


def check_decisions(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    columns = len(DECISION_COLUMNS)

    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(_DECISIONS_JSON_AS_TEXT, first, last).values_list(*_DECISION_VALUES)
        for values in rows:
            row = dict(zip(DECISION_COLUMNS, values[:columns], strict=True))
            for column in _JSON_COLUMNS:
                row[column] = _decode(row[column])
            slug, policy_key, policy_version, model, model_version, supersedes = values[columns:]
            names = DecisionNames(
                platform=slug,
                policy=None if policy_key is None else (policy_key, policy_version),
                model=None if model is None else (model, model_version),
                supersedes=supersedes,
            )
            label = f"decision {row['public_id']}"
            yield row["log_index"], label, decision_payload(row, names)

    return _check("decision", entries, last, rebuilt())


def check_policies(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(Policy.objects.all(), first, last).values("log_entry_id", *_POLICY_VALUES)
        for row in rows:
            label = f"policy {row['key']} v{row['version']}"
            payload = policy_payload(row, platform=row["platform__slug"])
            yield row["log_entry_id"], label, payload

    return _check("policy", entries, last, rebuilt())


def check_model_versions(entries: Mapping[int, str], first: int, last: int | None) -> Problems:
    def rebuilt() -> Iterator[tuple[int, str, bytes]]:
        rows = _in_range(ModelVersion.objects.all(), first, last).values(
            "log_entry_id", *_MODEL_VERSION_VALUES
        )
        for row in rows:
            label = f"model version {row['model__name']} {row['version']}"
            payload = model_version_payload(
                row, platform=row["model__platform__slug"], model=row["model__name"]
            )
            yield row["log_entry_id"], label, payload

    return _check("model_version", entries, last, rebuilt())


BINDINGS: dict[str, Callable[[Mapping[int, str], int, int | None], Problems]] = {
    EntryType.DECISION: check_decisions,
    EntryType.POLICY: check_policies,
    EntryType.MODEL_VERSION: check_model_versions,
}


def register() -> None:
    for entry_type, checker in BINDINGS.items():
        register_binding(entry_type, checker)
