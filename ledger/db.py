"""Database plumbing shared by every app: append-only triggers and the bulk row writer.

A model opts into append-only storage with the class attribute `append_only = True`. After
every `migrate`, `install_append_only_triggers` (re)creates a trigger on its table that rejects
UPDATE and DELETE. It runs after each migration rather than once in a migration because
SQLite rebuilds a table (and drops its triggers) whenever a later migration alters it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

APPEND_ONLY_MESSAGE = "is append-only: UPDATE and DELETE are rejected"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % {APPEND_ONLY_MESSAGE}', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_models() -> list[type[models.Model]]:
    return [m for m in global_apps.get_models() if getattr(m, "append_only", False)]


def trigger_statements(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE TRIGGER "{table}_append_only" '
            f'BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()"
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_{op.lower()}" '
            f'BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} {APPEND_ONLY_MESSAGE}'); END"
            for op in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def install_append_only_triggers(using: str = "default", **_: Any) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
        for model in append_only_models():
            for statement in trigger_statements(connection.vendor, model._meta.db_table):
                cursor.execute(statement)


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    using: str = "default",
) -> None:
    """Insert plain rows without building model instances.

    On PostgreSQL this is a binary-free text `COPY`, the fastest way in; elsewhere an
    `executemany` of one INSERT. Values are Python values as psycopg adapts them; JSON
    columns must already be encoded to `str`. On SQLite every value passes through its
    field's `get_db_prep_save`, so UUIDs, dates and JSON are stored as the ORM stores them.
    """
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        prepared = _prepare_for(connection, model, columns, rows)
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", prepared)


def _prepare_for(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> list[list[Any]]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    fields = [by_column[c] for c in columns]
    json_columns = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    prepared = []
    for row in rows:
        values = []
        for i, (field, value) in enumerate(zip(fields, row, strict=True)):
            if i in json_columns:
                # JSON columns arrive already encoded; SQLite stores that text as it is.
                values.append(value)
            else:
                values.append(field.get_db_prep_save(value, connection))
        prepared.append(values)
    return prepared
