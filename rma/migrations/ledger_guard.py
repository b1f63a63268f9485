"""Database triggers that make a ledger table append-only (used by the revisions).

The SQL itself lives in ``rma.core.guards``, where ``rma check`` also reads what to expect.
A new ledger's revision calls ``install_ledger_guard`` and then ``harden_ledger_guard``.
"""

from collections.abc import Sequence

from alembic import op

from rma.core.guards import PG_FUNCTION, sqlite_replace_trigger, sqlite_trigger


def install_ledger_guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for what in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{what} BEFORE {what.upper()} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION rma_refuse_ledger_change()"
            )
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rma_refuse_ledger_change()")
    else:
        for what in ("update", "delete"):
            op.execute(sqlite_trigger(table, what))


def harden_ledger_guard(table: str, keys: Sequence[Sequence[str]]) -> None:
    """PostgreSQL: the guards fire even for a replication session; SQLite: REPLACE is refused.

    ``keys``: the table's primary key and unique constraints, as column lists.
    """
    if op.get_bind().dialect.name == "postgresql":
        for what in ("update", "delete", "truncate"):
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_{what}")
    else:
        op.execute(sqlite_replace_trigger(table, keys))


def soften_ledger_guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for what in ("update", "delete", "truncate"):
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_{what}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")


def drop_ledger_guard(table: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for what in ("update", "delete", "truncate") if postgres else ("update", "delete", "replace"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}" + (f" ON {table}" if postgres else ""))


def drop_guard_function() -> None:
    """Only the first revision's downgrade drops it: other ledgers' triggers use it too."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS rma_refuse_ledger_change()")
