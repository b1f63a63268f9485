"""The database guards of the append-only ledgers, as the migrations install them and as
``rma check`` expects to find them (so a dropped, disabled or rewritten guard is reported).

- both: ``{table}_no_update`` and ``{table}_no_delete`` refuse UPDATE and DELETE;
- PostgreSQL: also ``{table}_no_truncate``; all three ``ENABLE ALWAYS`` (they fire even with
  ``session_replication_role = replica``) and calling ``rma_refuse_ledger_change()``;
- SQLite: also ``{table}_no_replace``, a BEFORE INSERT trigger that refuses an insert that
  would meet an existing key: ``INSERT OR REPLACE`` deletes the old row without firing the
  delete trigger, so it must be stopped before it gets there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PG_FUNCTION_NAME = "rma_refuse_ledger_change"
PG_FUNCTION_BODY = """
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
"""
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION_NAME}() RETURNS trigger AS $${PG_FUNCTION_BODY}$$ LANGUAGE plpgsql
"""


def sqlite_trigger(table: str, what: str) -> str:
    return (f"CREATE TRIGGER {table}_no_{what} BEFORE {what.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {what.upper()} refused'); END")


def sqlite_replace_trigger(table: str, keys: Sequence[Sequence[str]]) -> str:
    """Refuses an INSERT meeting an existing primary or unique key (what REPLACE would delete)."""
    exists = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE " + " AND ".join(f"{c} = NEW.{c}" for c in key) + ")" for key in keys)
    return (f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {exists} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END")


def normalise_sql(sql: str | None) -> str:
    return re.sub(r"\s+", " ", (sql or "").strip()).rstrip(";").lower()


def table_keys(table) -> list[list[str]]:  # noqa: ANN001
    """The primary key and every unique constraint of a ``sqlalchemy.Table``, as column lists."""
    from sqlalchemy import UniqueConstraint

    keys = [[c.name for c in table.primary_key.columns]]
    # ``table.constraints`` is a set: sorted, so that the trigger is the same in every process.
    keys += sorted([c.name for c in con.columns] for con in table.constraints if isinstance(con, UniqueConstraint))
    return keys
