"""Database triggers that make a ledger table append-only (used by the revisions)."""

from alembic import op

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION rma_refuse_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""


def install_ledger_guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for what in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{what} BEFORE {what.upper()} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION rma_refuse_ledger_change()"
            )
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION rma_refuse_ledger_change()")
    else:
        for what in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{what} BEFORE {what.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {what.upper()} refused'); END"
            )


def drop_ledger_guard(table: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for what in ("update", "delete", "truncate") if postgres else ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}" + (f" ON {table}" if postgres else ""))


def drop_guard_function() -> None:
    """Only the first revision's downgrade drops it: other ledgers' triggers use it too."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS rma_refuse_ledger_change()")
