"""The engine, the session factory and the unit of work (one per user action).

SQLite runs with WAL, foreign keys on and a busy timeout, and every writing unit of work
starts with ``BEGIN IMMEDIATE``, so two writers queue instead of failing half-way.
Read-only units of work use a plain deferred ``BEGIN`` and never block a writer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from rma import config
from rma.errors import DomainError

SQLITE_BUSY_TIMEOUT_MS = 15000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred and late).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get("rma_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An engine for ``url`` (default: the configured one); a bad URL is a DomainError."""
    url = url or config.database_url()
    try:
        if url.startswith("postgresql"):
            # An unreachable server answers within seconds, never hangs a station.
            kwargs.setdefault("connect_args", {"connect_timeout": 10})
            kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _pin_text_settings)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DomainError(
            "bad_database_url", "RMA_DATABASE_URL {url} is not a usable database URL: {reason}",
            url=config.mask_url(url), reason=str(exc).splitlines()[0],
        ) from None
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            config.private_database_file(Path(database))
        _sqlite_setup(engine)
    return engine


def _pin_text_settings(dbapi_conn, _record) -> None:  # noqa: ANN001
    """Every connection reads and writes dates in ISO order, whatever the server or database is set
    to: the driver cannot read a timestamp written day first ('SQL, DMY'), and the seals and the
    check read timestamps as text, in UTC (the session's time zone decides only how a timestamp is
    written as text; rma turns every timestamp it reads into the reader's zone itself)."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute("SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'")
    finally:
        dbapi_conn.autocommit = autocommit


def database_error(exc: BaseException, url: str | None = None) -> DomainError:
    """A database that failed mid-command, as one clear line naming the (masked) URL."""
    orig = getattr(exc, "orig", None)
    reason = (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
    return DomainError("database_error", "database error at {url}: {reason}",
                       url=config.mask_url(url or config.database_url()), reason=reason)


def ping(engine: Engine) -> None:
    """Connect once; an unreachable database is a DomainError naming the (masked) URL."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise DomainError(
            "database_unreachable", "cannot reach the database {url}: {reason}",
            url=config.mask_url(engine.url.render_as_string(hide_password=False)), reason=reason,
        ) from None


class UnitOfWork:
    """One user action: ``with db.uow() as uow: service(uow, actor, ...)``.

    Commits when the block ends normally, rolls back entirely when it raises.
    """

    def __init__(self, session: Session, clock: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.clock = clock

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def now(self) -> datetime:
        return self.clock()


class Database:
    """The engine and its sessions; ``clock`` dates every row written through it (default: now).

    A service that writes outside a unit of work (the test station's step writer) takes the
    time from ``db.clock`` too, so ``db.with_clock(...)`` dates all of it (the demo backdates).
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(engine.execution_options(rma_readonly=True), expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str | None = None) -> Database:
        return cls(make_engine(url))

    def with_clock(self, clock: Callable[[], datetime]) -> Database:
        """The same engine, with every row dated by ``clock``."""
        other = Database.__new__(Database)
        other.__dict__.update(self.__dict__, clock=clock)
        return other

    def uow(self, *, readonly: bool = False, clock: Callable[[], datetime] | None = None) -> UnitOfWork:
        return UnitOfWork((self._read if readonly else self._write)(), clock or self.clock)

    def refresh_statistics(self) -> None:
        """SQLite's query planner knows nothing of the data until ``ANALYZE`` has run: without it
        a million-visit database reads the returns ledger's visits in date order to find the six
        on the bench (0.8 s) instead of using the state index (2 ms). ``analysis_limit`` samples
        each index, so this takes well under a second at any size. Run after every upgrade, when
        a station starts serving, once a day while it serves, and after the demo loads.
        PostgreSQL's autovacuum keeps its own statistics: nothing to do there."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()
