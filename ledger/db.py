"""Database plumbing shared by every app: the guards that keep records fixed, and the bulk row
writer.

A model opts into append-only storage with the class attribute `append_only = True`, and fixes
columns that published records show with `immutable_fields = ("name", ...)`. After every
`migrate`, `install_append_only_triggers` (re)creates the triggers that enforce both, and the
one that lets the log head only grow. It runs after each migration rather than once in a
migration because SQLite rebuilds a table (and drops its triggers) whenever a later migration
alters it.

What the triggers refuse, on PostgreSQL and on SQLite alike:
- on an append-only table: UPDATE, DELETE, and on PostgreSQL TRUNCATE (a statement trigger:
  row triggers never see a TRUNCATE; SQLite has none);
- on an immutable column: an UPDATE that changes its value;
- on the log head: an UPDATE that does not grow `size`, a DELETE, a TRUNCATE. Without this an
  emptied log with its head reset would look like a fresh, valid log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

APPEND_ONLY_MESSAGE = "is append-only: UPDATE, DELETE and TRUNCATE are rejected"
IMMUTABLE_MESSAGE = "is immutable: names that published records show never change"
HEAD_MESSAGE = "only grows: an UPDATE must raise size; DELETE and TRUNCATE are rejected"
LOG_HEAD_TABLE = "ledger_loghead"

_PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION ledger_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % {APPEND_ONLY_MESSAGE}', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_reject_rename() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'column %.% {IMMUTABLE_MESSAGE}', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_head_only_grows() RETURNS trigger AS $$
BEGIN
    -- Nested, not one condition: NEW and OLD do not exist in a statement (TRUNCATE) trigger.
    IF TG_OP = 'UPDATE' THEN
        IF NEW.size > OLD.size AND NEW.id = OLD.id THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'table % {HEAD_MESSAGE} (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_models() -> list[type[models.Model]]:
    return [m for m in global_apps.get_models() if getattr(m, "append_only", False)]


def immutable_columns() -> list[tuple[str, str]]:
    """(table, column) of every field a model declares in `immutable_fields`."""
    found = []
    for model in global_apps.get_models():
        for name in getattr(model, "immutable_fields", ()):
            field = model._meta.get_field(name)
            assert isinstance(field, models.Field) and field.column is not None
            found.append((model._meta.db_table, field.column))
    return found


def trigger_statements(vendor: str, table: str) -> list[str]:
    """The triggers that make `table` append-only."""
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE TRIGGER "{table}_append_only" '
            f'BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
            f'CREATE OR REPLACE TRIGGER "{table}_no_truncate" '
            f'BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()",
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_{op.lower()}" '
            f'BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} {APPEND_ONLY_MESSAGE}'); END"
            for op in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def immutable_column_statements(vendor: str, table: str, column: str) -> list[str]:
    """A trigger that refuses an UPDATE changing `column`; writing the same value is allowed
    (Django's `save()` without `update_fields` rewrites every column)."""
    name = f"{table}_fixed_{column}"
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE TRIGGER "{name}" BEFORE UPDATE OF "{column}" ON "{table}" '
            f'FOR EACH ROW WHEN (OLD."{column}" IS DISTINCT FROM NEW."{column}") '
            f"EXECUTE FUNCTION ledger_reject_rename('{column}')"
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE UPDATE OF "{column}" ON "{table}" '
            f'WHEN OLD."{column}" IS NOT NEW."{column}" '
            f"BEGIN SELECT RAISE(ABORT, 'column {table}.{column} {IMMUTABLE_MESSAGE}'); END"
        ]
    raise NotImplementedError(f"immutable-column triggers are not written for {vendor}")


def log_head_statements(vendor: str) -> list[str]:
    table = LOG_HEAD_TABLE
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE TRIGGER "{table}_only_grows" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION ledger_head_only_grows()",
            f'CREATE OR REPLACE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_head_only_grows()",
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{table}_only_grows" BEFORE UPDATE ON "{table}" '
            "WHEN NEW.size <= OLD.size OR NEW.id IS NOT OLD.id "
            f"BEGIN SELECT RAISE(ABORT, '{table} {HEAD_MESSAGE}'); END",
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_delete" BEFORE DELETE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} {HEAD_MESSAGE}'); END",
        ]
    raise NotImplementedError(f"log head triggers are not written for {vendor}")


def install_append_only_triggers(using: str = "default", **_: Any) -> None:
    """Install every guard (append-only tables, immutable columns, the log head); idempotent."""
    connection = connections[using]
    vendor = connection.vendor
    statements: list[str] = []
    for model in append_only_models():
        statements += trigger_statements(vendor, model._meta.db_table)
    for table, column in immutable_columns():
        statements += immutable_column_statements(vendor, table, column)
    statements += log_head_statements(vendor)
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(_PG_FUNCTIONS)
        for statement in statements:
            cursor.execute(statement)


def drop_emptying_guards(using: str = "default") -> None:
    """Drop the triggers that stop the guarded tables from being emptied wholesale: TRUNCATE
    on PostgreSQL, DELETE on SQLite (where Django's flush deletes).

    Only for throwing a whole database's contents away: a test database's flush (which emits
    post_migrate, so the triggers come back) or a benchmark's reset (which reinstalls them with
    `install_append_only_triggers`). UPDATE stays refused meanwhile.
    """
    connection = connections[using]
    tables = [m._meta.db_table for m in append_only_models()] + [LOG_HEAD_TABLE]
    suffix = "no_truncate" if connection.vendor == "postgresql" else "no_delete"
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f'DROP TRIGGER IF EXISTS "{table}_{suffix}" ON "{table}"')
            else:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{table}_{suffix}"')


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
