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
    converters = [_converter(connection, by_column[c]) for c in columns]
    return [
        [
            value if convert is None or value is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        ]
        for row in rows
    ]


def _converter(connection: BaseDatabaseWrapper, field: models.Field[Any, Any]) -> Any:
    """How a value of this column is stored, or None where the driver stores it as it is.

    `get_db_prep_save` per value is the general answer but costs a few microseconds each; the
    common column types are mapped once per batch instead.
    """
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if isinstance(target, models.JSONField):
        return None  # JSON columns arrive already encoded
    if isinstance(
        target,
        models.CharField | models.TextField | models.IntegerField | models.FloatField,
    ) and not isinstance(target, models.UUIDField):
        return None
    if isinstance(target, models.BooleanField | models.BinaryField):
        return None
    if isinstance(target, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(target, models.DateField):
        return connection.ops.adapt_datefield_value

    def prepare(value: Any) -> Any:
        return target.get_db_prep_save(value, connection)

    return prepare
