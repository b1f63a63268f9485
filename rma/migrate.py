"""Schema migrations (Alembic in ``rma/migrations``): upgrade, downgrade, drift check.

A database stamped with a revision this version of rma does not know was written by a
newer rma: it is refused, never touched.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

import rma.models_all  # noqa: F401
from rma.core.models import Base
from rma.errors import DomainError

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    from alembic.config import (
        Config,  # Alembic is imported only when it is needed: every command starts faster
    )

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)


@cache
def _known_head() -> str | None:
    """The head revision read from the revision files themselves (no Alembic import); None if unsure."""
    revisions, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev:
            revisions.add(rev.group(1))
        if down:
            downs.add(down.group(1))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _refuse_unknown(engine: Engine) -> str | None:
    rev = current_revision(engine)
    if rev is None:
        return None
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    try:
        script.get_revision(rev)
    except Exception:
        raise DomainError(
            "database_too_new",
            "the database is at schema revision {rev}, which this rma ({version}) does not know: "
            "it was written by a newer rma. Upgrade rma; nothing was changed.",
            rev=rev, version=_version(),
        ) from None
    return rev


def _version() -> str:
    from rma import __version__

    return __version__


def _run(engine: Engine, fn, revision: str) -> None:  # noqa: ANN001
    cfg = _config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables; with foreign keys on, dropping the old copy would
            # cascade. The pragma only works outside a transaction, hence the raw connection.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                fn(cfg, revision)
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise DomainError("migration_broke_foreign_keys",
                                          "the migration left rows with broken references: {rows}",
                                          rows=str(bad[:5]))
        finally:
            if sqlite:
                conn.invalidate()  # never hand a connection with foreign keys off back to the pool


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the database to ``revision``; creates a fresh one; safe to run again."""
    before = _refuse_unknown(engine)
    from alembic import command

    _run(engine, command.upgrade, revision)
    return before, current_revision(engine)


def downgrade(engine: Engine, revision: str) -> None:
    _refuse_unknown(engine)
    from alembic import command

    _run(engine, command.downgrade, revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is not at this rma's schema revision."""
    head = _known_head()
    if head is not None:  # the quick way, taken by every command on a current database
        try:
            with engine.connect() as conn:
                if conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]:
                    return
        except DBAPIError:
            pass  # no version table: the careful way below says what is wrong
    rev = _refuse_unknown(engine)
    head = head_revision()
    if rev != head:
        raise DomainError(
            "database_outdated",
            "the database schema is at {rev}, this rma needs {head}: run `rma db upgrade`",
            rev=rev or "empty", head=head,
        )


def drift(engine: Engine) -> list[str]:
    """Differences between the models and the database's schema (after migrations)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    require_current(engine)
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(mc, Base.metadata)
    return [str(d) for d in diffs]


def new_revision(engine: Engine, message: str) -> list[str]:
    """Autogenerate a revision from the models against a database at head (for developers)."""
    from alembic import command

    require_current(engine)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        scripts = command.revision(cfg, message=message, autogenerate=True)
    scripts = scripts if isinstance(scripts, list) else [scripts]
    return [s.path for s in scripts if s is not None]


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
