"""Seals that make the ledgers tamper-evident: an edit made behind rma's back is found.

The triggers refuse UPDATE and DELETE, but whoever owns the database can switch them off
(``DISABLE TRIGGER``, a replaced guard function, SQLite's ``INSERT OR REPLACE``), edit a row
and switch them on again. So every ledger is also *sealed*:

- A ledger is cut into **streams** that one station writes at a time: the returns ledger
  one per visit, the test steps one per run, the audit log one per entry, and so on
  (``__seal_stream__`` on the model). Two stations writing different streams never wait for
  each other; two writing the same stream queue for a moment at commit.
- ``ledger_heads`` keeps, per stream, its number of rows and the SHA-256 of its rows'
  canonical text in id order. The head is rewritten in the same transaction as the rows,
  after its row is locked, from the rows as the database holds them (so the database's own
  rendering of every value is what is sealed).
- ``rma check`` recomputes every stream's digest where the data is (in SQL on PostgreSQL;
  one hash per stream on SQLite) and reports every stream whose rows no longer match its
  head: a changed, added, deleted or replaced row; a head without rows; rows without a head.

The seal is keyless: it finds every edit made without rma, not a forger who recomputes the
heads with this code. Canonical text of a row: each column in table order, as the database
renders it (SQLite: ``printf('%Q…')``; PostgreSQL: text in UTC and ISO style, NULL as U+001E,
joined by U+001F);
rows joined by U+001D, UTF-8.

A new ledger needs nothing here: a model that is a ``LedgerRow`` with a ``__seal_stream__``
is sealed on every commit and verified by ``rma check``; its migration calls
``install_ledger_guard`` and ``harden_ledger_guard`` and creates no heads (an empty ledger
has none). A migration that adds a column to a ledger table must call ``reseal`` for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TextClause,
    event,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

NULL, COL_SEP, ROW_SEP = "\x1e", "\x1f", "\x1d"
HEADS = "ledger_heads"
SESSION_KEY = "rma_touched_streams"
NEW_OWNERS_KEY = "rma_new_stream_owners"  # (table, id) of the rows this transaction added that own streams


@dataclass(frozen=True)
class Ledger:
    """One sealed ledger table: how it is cut into streams and in which order rows count."""

    table: str
    columns: tuple[tuple[str, str], ...]  # (name, kind) in table order
    stream: str  # a column name
    bucket: int | None  # rows are grouped by ``stream // bucket`` (an id column), or None
    order: str  # the primary-key column
    cluster: str | None = None  # a column that never decreases with the id, each stream within one value
    owner: str | None = None  # the table the stream column points at (or its own): a row new there starts a new stream

    def stream_of(self, value: Any) -> str:
        return str(int(value) // self.bucket) if self.bucket else str(value)


def _kind(col: Column) -> str:
    t = col.type
    impl = getattr(t, "impl", None)
    if isinstance(t, DateTime) or isinstance(impl, DateTime):
        return "ts"
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Float):
        return "float"
    if isinstance(t, Numeric):
        return "num"
    if isinstance(t, Integer):
        return "int"
    if isinstance(t, (String, Text)):
        return "text"
    raise TypeError(f"no canonical text for column {col} of type {t!r}")


def ledger_of(table: Table, stream: str | tuple[str, int], cluster: str | None = None) -> Ledger:
    col, bucket = (stream, None) if isinstance(stream, str) else stream
    (pk,) = table.primary_key.columns
    owner = None
    if bucket is None and col == pk.name:  # a stream per row (an audit entry): new with the row itself
        owner = table.name
    elif bucket is None:  # a stream per row of another table (a visit's, a run's): new with that row
        keys = list(table.c[col].foreign_keys)
        if len(keys) == 1 and keys[0].column.primary_key:
            owner = keys[0].column.table.name
    return Ledger(table.name, tuple((c.name, _kind(c)) for c in table.columns), col, bucket, pk.name, cluster, owner)


def ledgers() -> list[Ledger]:
    """Every sealed ledger of the application, from its models."""
    import rma.models_all  # noqa: F401  (every area's tables)
    from rma.core.models import Base, LedgerRow

    out = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, LedgerRow):
            out.append(ledger_of(cls.__table__, cls.__seal_stream__, cls.__seal_cluster__))
    return sorted(out, key=lambda ledger: ledger.table)


_BY_TABLE: dict[str, Ledger] = {}


def ledger_for(table: str) -> Ledger:
    if not _BY_TABLE:
        _BY_TABLE.update({led.table: led for led in ledgers()})
    return _BY_TABLE[table]


# ---------------------------------------------------------------- SQL text of a row

def _cell(name: str, kind: str, dialect: str) -> str:
    c = f'"{name}"'
    if dialect == "postgresql":
        expr = {
            "int": f"{c}::text", "text": f"{c}::text", "json": f"{c}::text", "float": f"{c}::text",
            "num": f"{c}::text", "bool": f"{c}::int::text", "date": f"to_char({c}, 'YYYY-MM-DD')",
            "ts": f"{c}::text",  # in UTC and ISO style: every sealing or checking transaction sets both
        }[kind]
        return f"coalesce({expr}, chr(30))"
    raise ValueError(dialect)


# PostgreSQL renders timestamps by the session's TimeZone and DateStyle: both pinned, until the
# transaction ends (``set_config(…, true)`` is ``SET LOCAL`` as an expression, so it fits in a statement).
TEXT_SETTINGS = "set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true)"
PIN_TEXT_SETTINGS = f"SELECT {TEXT_SETTINGS}"


def text_settings_pinned(driver: Any) -> bool:
    """Whether a psycopg connection already renders as the seals need (``rma.db`` sets both on
    every connection it opens). The server reports both settings whenever they change, so this
    asks nothing of it."""
    status = driver.info.parameter_status
    return status("TimeZone") == "UTC" and (status("DateStyle") or "").startswith("ISO")


def fix_text_settings(conn: Connection) -> None:
    """Pin PostgreSQL's TimeZone and DateStyle for this transaction, in one round trip."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(PIN_TEXT_SETTINGS))


def canonical_sql(ledger: Ledger, dialect: str) -> str:
    if dialect == "postgresql":
        return " || chr(31) || ".join(_cell(n, k, dialect) for n, k in ledger.columns)
    # SQLite: one printf per row; %Q quotes each value (NULL stays NULL), so no separators are needed.
    return f"printf('{'%Q' * len(ledger.columns)}', {', '.join(chr(34) + n + chr(34) for n, _ in ledger.columns)})"


def stream_sql(ledger: Ledger, dialect: str) -> str:
    """The stream key as text, the way ``ledger_heads.stream`` holds it."""
    col = f'"{ledger.stream}"'
    if ledger.bucket:
        col = f"({col} / {ledger.bucket})"
    return f"CAST({col} AS TEXT)"


def _group_sql(ledger: Ledger) -> str:
    """The expression rows are grouped by (a native value, so SQLite keeps the id order)."""
    col = f'"{ledger.stream}"'
    return f"({col} / {ledger.bucket})" if ledger.bucket else col


def digest(rows: Iterable[str]) -> str:
    return hashlib.sha256(ROW_SEP.join(rows).encode("utf-8")).hexdigest()


SQLITE_SHA256 = "rma_sha256"


def _sha256_hex(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def sqlite_digest_sql(concatenated: str) -> str:
    """SQLite: the hex SHA-256 of a concatenation's UTF-8 bytes, computed in the query (the
    connection needs ``with_sqlite_sha256``), so that only the streams that do not match leave it."""
    return f"{SQLITE_SHA256}(CAST({concatenated} AS BLOB))"


def with_sqlite_sha256(conn: Connection) -> None:
    """Give a SQLite connection the SHA-256 function the checks' queries call (nothing on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        conn.connection.dbapi_connection.create_function(SQLITE_SHA256, 1, _sha256_hex, deterministic=True)


def _filter(ledger: Ledger, streams: list[str], params: dict[str, Any], prefix: str = "",
            placeholder: str = ":{}") -> str:
    """A WHERE clause choosing the rows of ``streams``, written so that an index serves it
    (its parameters go into ``params``, named after ``prefix`` so that several fit in one statement,
    and written with ``placeholder``: SQLAlchemy's ``:{}`` or the driver's ``%({})s``)."""
    def bind(name: str, value: int | str) -> str:
        params[prefix + name] = value
        return placeholder.format(prefix + name)

    col = f'"{ledger.stream}"'
    parts = []
    for i, s in enumerate(streams):
        if ledger.bucket:
            lo, hi = bind(f"lo{i}", int(s) * ledger.bucket), bind(f"hi{i}", (int(s) + 1) * ledger.bucket)
            parts.append(f"({col} >= {lo} AND {col} < {hi})")
        else:
            parts.append(f"{col} = {bind(f's{i}', int(s) if stream_is_int(ledger) else s)}")
    return " OR ".join(parts)


def stream_is_int(ledger: Ledger) -> bool:
    return dict(ledger.columns)[ledger.stream] == "int"


# ---------------------------------------------------------------- sealing on commit

def _prepared_round_trip(conn: Connection, statements: list[tuple[str, dict[str, Any]]],
                         returning: int | None = None) -> set[tuple]:
    """PostgreSQL: run ``statements`` (the driver's ``%(name)s`` placeholders) in order, each as a
    prepared statement of this connection (planned once, then only bound and run: planning them
    cost more than running them), several sent together in one round trip (psycopg's pipeline
    mode: the server still starts each one after the one before it has ended). Returns the rows
    of statement number ``returning``, as a set."""
    driver = conn.connection.driver_connection
    try:
        if len(statements) == 1:
            with driver.cursor() as cursor:
                cursor.execute(statements[0][0], statements[0][1], prepare=True)
                return set(map(tuple, cursor.fetchall())) if returning is not None else set()
        with driver.pipeline():
            cursors = []
            for statement, params in statements:
                cursor = driver.cursor()
                cursor.execute(statement, params, prepare=True)
                cursors.append(cursor)
        rows = set(map(tuple, cursors[returning].fetchall())) if returning is not None else set()
        for cursor in cursors:
            cursor.close()
        return rows
    except conn.dialect.loaded_dbapi.Error as exc:
        # An error the server sent back reaches us past SQLAlchemy: wrapped as SQLAlchemy wraps any
        # other, so callers catch it the same way.
        lost = conn.dialect.is_disconnect(exc, driver, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(statements[0][0], statements[0][1], exc, conn.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=conn.dialect) from exc


# Creates or locks every head named by the two arrays (see _pg_seal_sql), in one order (ledger, stream), so that two
# transactions never deadlock. DO UPDATE (not DO NOTHING) takes the row lock of a head that exists
# and waits for one that another transaction is creating.
_LOCK_HEADS = (
    f"INSERT INTO {HEADS} AS h (ledger, stream, rows, digest) "
    "SELECT k.ledger, k.stream, 0, '' FROM "
    "unnest(CAST(%(ledgers)s AS text[]), CAST(%(streams)s AS text[])) AS k(ledger, stream) "
    "ORDER BY k.ledger, k.stream "
    "ON CONFLICT (ledger, stream) DO UPDATE SET rows = h.rows")

# One TextClause per statement text: a step's seal on SQLite is the same text every time, and
# building and compiling it anew costs as much as running it.
_statement = lru_cache(maxsize=512)(text)


# SQLite: write (or rewrite) the heads of streams from digests computed here.
_SQLITE_WRITE_HEADS = text(
    f"INSERT INTO {HEADS} (ledger, stream, rows, digest) VALUES (:ledger, :stream, :rows, :digest) "
    "ON CONFLICT (ledger, stream) DO UPDATE SET rows = excluded.rows, digest = excluded.digest")


def _pg_digests_sql(todo: dict[str, list[str]], params: dict[str, Any]) -> str:
    """One row per stream of ``todo`` that has rows: (ledger, stream, n, d), its digest computed from
    its rows as the statement's snapshot sees them; the values go into ``params``."""
    digests = []
    for i, (table, keys) in enumerate(sorted(todo.items())):
        ledger = ledger_for(table)
        params[f"ledger{i}"] = table
        digests.append(
            f"SELECT CAST(%(ledger{i})s AS TEXT) AS ledger, {stream_sql(ledger, 'postgresql')} AS stream, "
            f"count(*) AS n, encode(sha256(convert_to(string_agg({canonical_sql(ledger, 'postgresql')}, chr(29) "
            f"ORDER BY \"{ledger.order}\"), 'UTF8')), 'hex') AS d "
            f"FROM {table} WHERE {_filter(ledger, keys, params, f't{i}_', '%({})s')} GROUP BY 2")
    return " UNION ALL ".join(digests)


def _pg_seal_sql(todo: dict[str, list[str]], params: dict[str, Any]) -> tuple[str, str]:
    """The two statements that seal streams that may already have heads: create or lock the heads,
    then rewrite them from their rows; their values go into ``params``, their texts depend only on
    which ledgers and how many streams of each."""
    heads = [(table, stream) for table, streams in sorted(todo.items()) for stream in streams]
    params.update(ledgers=[t for t, _ in heads], streams=[k for _, k in heads])
    return (_LOCK_HEADS,
            f"UPDATE {HEADS} h SET rows = a.n, digest = a.d FROM ({_pg_digests_sql(todo, params)}) a "
            "WHERE h.ledger = a.ledger AND h.stream = a.stream")


def _pg_new_heads_sql(todo: dict[str, list[str]], params: dict[str, Any]) -> str:
    """One statement that writes the heads of streams this transaction started (a new visit's):
    no other transaction can see their rows, so there is nothing to lock and wait for. A head that
    is there all the same (a stream named in vain, a head left behind) is left alone and not
    returned: those streams are sealed the ordinary way."""
    return (f"INSERT INTO {HEADS} AS h (ledger, stream, rows, digest) "
            f"SELECT a.ledger, a.stream, a.n, a.d FROM ({_pg_digests_sql(todo, params)}) a "
            "ON CONFLICT (ledger, stream) DO NOTHING RETURNING h.ledger, h.stream")


def seal_streams(conn: Connection, touched: dict[str, set[str]], new: set[tuple[str, str]] | None = None) -> None:
    """Rewrite the heads of ``touched`` streams ({table: {stream, …}}) from their rows.

    Runs inside the writing transaction. On PostgreSQL, prepared statements sent together in one
    round trip whatever was touched:

    - the streams this transaction started (their owner's row is in ``new``, as ``(table, key)``:
      a visit received in it, an audit entry that is its own stream) get their heads in one
      statement, since nobody else can write them yet;
    - the others take two: the first creates or locks every head; the second starts once the first
      has ended, so with the locks held, and reads the rows with a snapshot of its own (READ
      COMMITTED): a writer of the same stream that committed meanwhile is counted, never
      overwritten. A new stream whose head was somehow there already is sealed this way after.
    """
    dialect = conn.dialect.name
    todo = {t: sorted(s) for t, s in touched.items() if s}
    if not todo:
        return
    if dialect == "postgresql":
        fresh: dict[str, list[str]] = {}
        if new:
            for table, streams in todo.items():
                owner = ledger_for(table).owner
                started = [s for s in streams if (owner, s) in new] if owner else []
                if started:
                    fresh[table] = started
        rest = {t: left for t, streams in todo.items() if (left := [s for s in streams if s not in fresh.get(t, ())])}
        statements: list[tuple[str, dict[str, Any]]] = []
        if not text_settings_pinned(conn.connection.driver_connection):
            statements.append((PIN_TEXT_SETTINGS, {}))  # a connection not opened by rma.db
        new_heads = None
        if fresh:
            fresh_params: dict[str, Any] = {}
            new_heads = len(statements)
            statements.append((_pg_new_heads_sql(fresh, fresh_params), fresh_params))
        if rest:
            params: dict[str, Any] = {}
            statements += [(sql, params) for sql in _pg_seal_sql(rest, params)]
        written = _prepared_round_trip(conn, statements, returning=new_heads)
        if fresh:
            left = {t: kept for t, streams in fresh.items() if (kept := [s for s in streams if (t, s) not in written])}
            if left:
                params = {}
                _prepared_round_trip(conn, [(sql, params) for sql in _pg_seal_sql(left, params)])
        return
    # SQLite: each stream's rows concatenated in the query (grouped by the key they are ordered by,
    # so in id order, as the check reads them), hashed here; a stream left without rows gets an
    # empty head. The statements' texts are cached: a step's seal is the same text every time.
    for table, streams in sorted(todo.items()):
        ledger = ledger_for(table)
        params = {}
        where = _filter(ledger, streams, params)
        group = _group_sql(ledger)
        rows = conn.execute(_statement(
            f"SELECT CAST(g AS TEXT), count(*), group_concat(c, char(29)) FROM (SELECT {group} AS g, "
            f"{canonical_sql(ledger, dialect)} AS c FROM {table} WHERE {where} "
            f"ORDER BY {group}, \"{ledger.order}\") GROUP BY g"), params).all()
        found = {stream: (n, hashlib.sha256(rows_text.encode("utf-8")).hexdigest()) for stream, n, rows_text in rows}
        empty = (0, "")
        conn.execute(_SQLITE_WRITE_HEADS,
                     [dict(zip(("ledger", "stream", "rows", "digest"), (table, s, *found.get(s, empty)))) for s in streams])


def insert_sealed(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """PostgreSQL: insert one row of a stream that ONE writer appends to (a test run's steps, under
    its run's lock) and rewrite its stream's seal, in one statement and one round trip.

    The statement's snapshot does not see the row it inserts, so the stream's digest is made of
    the rows before it plus the inserted row (``RETURNING *``). The connection must render
    timestamps in UTC and ISO style (``fix_text_settings`` for a transaction, or ``SET TIME ZONE``
    for a connection in autocommit).
    """
    ledger = ledger_for(table.name)
    conn.execute(_insert_sealed_sql(table, tuple(values)),
                 {**values, "stream_value": values[ledger.stream], "ledger": table.name,
                  "stream": ledger.stream_of(values[ledger.stream])})


@lru_cache(maxsize=64)
def _insert_sealed_sql(table: Table, cols: tuple[str, ...]) -> TextClause:
    """The statement of ``insert_sealed``, built once per table and columns (a step's is the same
    every time; building and compiling it anew cost as much as running it)."""
    from sqlalchemy import bindparam

    ledger = ledger_for(table.name)
    stream_col = f'"{ledger.stream}"'
    return text(
        f"WITH ins AS (INSERT INTO {table.name} ({', '.join(chr(34) + c + chr(34) for c in cols)}) "
        f"VALUES ({', '.join(':' + c for c in cols)}) RETURNING *), "
        f"all_rows AS (SELECT * FROM {table.name} WHERE {stream_col} = :stream_value UNION ALL SELECT * FROM ins) "
        f"INSERT INTO {HEADS} (ledger, stream, rows, digest) SELECT :ledger, :stream, count(*), "
        f"encode(sha256(convert_to(string_agg({canonical_sql(ledger, 'postgresql')}, chr(29) "
        f"ORDER BY \"{ledger.order}\"), 'UTF8')), 'hex') FROM all_rows "
        "ON CONFLICT (ledger, stream) DO UPDATE SET rows = excluded.rows, digest = excluded.digest"
    ).bindparams(*[bindparam(c, type_=table.c[c].type) for c in cols])


class AppendSeal:
    """The seal of a stream that ONE writer appends to, row after row (a test run's steps, a
    programming attempt's blocks, under the run's or the attempt's lock). On SQLite it is kept as a
    running SHA-256, so that a new row costs the hashing of that row and not of its whole stream
    again (a step of a 100-step run rehashed 50 rows at the median; a block of a 1 MiB image, 128).
    On PostgreSQL the stream is sealed the ordinary way (``seal_streams``: the server hashes).

    ``seal`` runs in the writing transaction after its rows: it reads the stream's rows written
    since the last seal (as the database renders them), extends a copy of the running hash with
    them and rewrites the head only where it still holds what this writer sealed last. A head that
    is not (no head yet, the first seal; one written meanwhile by anyone else) is sealed from all
    the stream's rows instead. Call ``committed`` once the transaction has committed: only then
    does the running hash move on (a transaction rolled back leaves it where it was).
    """

    def __init__(self, table: str, stream_value: int) -> None:
        self.ledger = ledger_for(table)
        self.value, self.key = stream_value, self.ledger.stream_of(stream_value)
        self._kept: tuple[int, int, Any, str] | None = None  # (rows, last id, running hash, digest) committed
        self._next: tuple[int, int, Any, str] | None = None
        ledger = self.ledger  # the statements, built once for the whole run
        self._rows_after = text(
            f'SELECT "{ledger.order}", {canonical_sql(ledger, "sqlite")} FROM {ledger.table} '
            f'WHERE "{ledger.stream}" = :v AND "{ledger.order}" > :after ORDER BY "{ledger.order}"')
        self._move_head = text(
            f"UPDATE {HEADS} SET rows = :rows, digest = :digest WHERE ledger = :ledger AND stream = :stream "
            "AND rows = :was_rows AND digest = :was_digest")

    def seal(self, conn: Connection) -> None:
        ledger = self.ledger
        if conn.dialect.name != "sqlite":
            seal_streams(conn, {ledger.table: {self.key}})
            return
        kept = self._kept
        if kept is not None:
            rows, last, running, sealed = kept
            new = conn.execute(self._rows_after, {"v": self.value, "after": last}).all()
            running = running.copy()
            for _, row in new:
                running.update((ROW_SEP + row).encode("utf-8"))
            digest_now = running.hexdigest()
            moved = conn.execute(self._move_head, {
                "rows": rows + len(new), "digest": digest_now, "ledger": ledger.table, "stream": self.key,
                "was_rows": rows, "was_digest": sealed}).rowcount
            if moved == 1:
                self._next = (rows + len(new), new[-1][0] if new else last, running, digest_now)
                return
        every = conn.execute(self._rows_after, {"v": self.value, "after": -1}).all()
        running = hashlib.sha256(ROW_SEP.join(row for _, row in every).encode("utf-8"))
        digest_now = running.hexdigest() if every else ""
        conn.execute(_SQLITE_WRITE_HEADS,
                     {"ledger": ledger.table, "stream": self.key, "rows": len(every), "digest": digest_now})
        self._next = (len(every), every[-1][0] if every else -1, running, digest_now) if every else None

    def committed(self) -> None:
        self._kept = self._next


def note_written(session: Session, table: str, stream_value: Any) -> None:
    """Record that this transaction wrote a row into a stream (rows written with Core)."""
    ledger = ledger_for(table)
    session.info.setdefault(SESSION_KEY, {}).setdefault(table, set()).add(ledger.stream_of(stream_value))


@lru_cache(maxsize=1)
def _owner_tables() -> dict[str, str]:
    """{table: its primary key's column} of every table a row of which starts a stream."""
    from rma.core.models import Base

    return {led.owner: Base.metadata.tables[led.owner].primary_key.columns[0].name for led in ledgers() if led.owner}


@event.listens_for(Session, "after_flush")
def _remember_streams(session: Session, _ctx) -> None:  # noqa: ANN001
    from rma.core.models import LedgerRow

    owners = _owner_tables()
    for obj in session.new:
        if isinstance(obj, LedgerRow):
            ledger = ledger_for(obj.__tablename__)
            value = getattr(obj, ledger.stream)
            session.info.setdefault(SESSION_KEY, {}).setdefault(ledger.table, set()).add(ledger.stream_of(value))
        table = getattr(obj, "__tablename__", None)
        if table in owners:  # a visit, a run, an audit entry: the streams that point at it start in this transaction
            session.info.setdefault(NEW_OWNERS_KEY, set()).add((table, str(getattr(obj, owners[table]))))


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    # A savepoint's release is not the end: its streams are sealed with the whole transaction's.
    if session.in_nested_transaction():
        return
    session.flush()
    touched = session.info.pop(SESSION_KEY, None)
    new = session.info.pop(NEW_OWNERS_KEY, None)
    if touched:
        seal_streams(session.connection(), touched, new)


@event.listens_for(Session, "after_soft_rollback")
def _forget_streams(session: Session, previous_transaction) -> None:  # noqa: ANN001
    # A savepoint rolled back keeps what the outer transaction wrote (sealing reads the rows as
    # they are, so a stream named in vain costs nothing); the whole transaction rolled back
    # forgets everything.
    if not previous_transaction.nested:
        session.info.pop(SESSION_KEY, None)
        session.info.pop(NEW_OWNERS_KEY, None)


# ---------------------------------------------------------------- (re)sealing whole ledgers

def reseal(conn: Connection, ledger: Ledger) -> int:
    """Write the heads of every stream of a ledger from its rows (migrations, bulk loads)."""
    dialect = conn.dialect.name
    fix_text_settings(conn)
    conn.execute(text(f"DELETE FROM {HEADS} WHERE ledger = :ledger"), {"ledger": ledger.table})
    if dialect == "postgresql":
        result = conn.execute(text(
            f"INSERT INTO {HEADS} (ledger, stream, rows, digest) "
            f"SELECT :ledger, {stream_sql(ledger, dialect)}, count(*), "
            f"encode(sha256(convert_to(string_agg({canonical_sql(ledger, dialect)}, chr(29) "
            f"ORDER BY \"{ledger.order}\"), 'UTF8')), 'hex') FROM {ledger.table} GROUP BY {_group_sql(ledger)}"),
            {"ledger": ledger.table})
        return result.rowcount
    n = 0
    batch: list[dict[str, Any]] = []
    insert = text(f"INSERT INTO {HEADS} (ledger, stream, rows, digest) VALUES (:ledger, :stream, :rows, :digest)")
    for stream, count, concat in _sqlite_stream_digests(conn, ledger):
        batch.append({"ledger": ledger.table, "stream": stream, "rows": count,
                      "digest": hashlib.sha256(concat.encode("utf-8")).hexdigest()})
        if len(batch) >= 5000:
            conn.execute(insert, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(insert, batch)
        n += len(batch)
    return n


def stream_index(ledger: Ledger) -> str | None:
    """An index that orders the rows by stream, then id: on the stream column alone (SQLite hands
    each key's rows over from it in rowid order, which is id order: the id is the rowid), or led
    by the stream and the id (more columns after them let a reader of those columns skip the
    table). Read through it, the streams come in order, each in id order, with no sort."""
    if ledger.bucket:
        return None
    from rma.core.models import Base

    table = Base.metadata.tables[ledger.table]
    for index in sorted(table.indexes, key=lambda i: i.name or ""):
        names = [c.name for c in index.columns]
        if names == [ledger.stream] or names[:2] == [ledger.stream, ledger.order]:
            return index.name
    return None


def _range_sql(ledger: Ledger, lo: int | None, hi: int | None, params: dict[str, Any]) -> str:
    """The rows of the streams whose key lies in [lo, hi) (all of them when no range is given);
    for a clustered ledger, the rows whose id lies in [lo, hi)."""
    if lo is None or hi is None:
        return ""
    params.update(lo=lo, hi=hi)
    column = ledger.order if ledger.cluster else ledger.stream
    return f'WHERE "{column}" >= :lo AND "{column}" < :hi'


def _sqlite_stream_digests(conn: Connection, ledger: Ledger, *, with_heads: bool = False,
                           lo: int | None = None, hi: int | None = None) -> Iterator[tuple]:
    """Per stream, in one pass: (stream, rows, concatenated canonical rows); or, ``with_heads``,
    only the streams that do not match their head: (stream, rows, head rows).

    Through the stream's own index when there is one (no sort: the keys come in order, each
    key's rows in id order); otherwise the inner ORDER BY matches the GROUP BY, so SQLite
    concatenates in id order. A stream that does not match is recomputed exactly before
    anything is reported (``exact_digest``).
    """
    params: dict[str, Any] = {"ledger": ledger.table}
    where = _range_sql(ledger, lo, hi, params)
    canon, index = canonical_sql(ledger, "sqlite"), stream_index(ledger)
    if index and not (ledger.cluster and where):  # a range of ids is read in table order, then sorted
        sql = (f'SELECT CAST(g AS TEXT) AS s, n, c FROM (SELECT "{ledger.stream}" AS g, count(*) AS n, '
               f"group_concat({canon}, char(29)) AS c FROM {ledger.table} INDEXED BY {index} {where} "
               f'GROUP BY "{ledger.stream}")')
    else:
        sql = (f"SELECT CAST(g AS TEXT) AS s, count(*) AS n, group_concat(c, char(29)) AS c FROM ("
               f"SELECT {_group_sql(ledger)} AS g, {canon} AS c FROM {ledger.table} {where} "
               f"ORDER BY {_group_sql(ledger)}, \"{ledger.order}\") GROUP BY g")
    if with_heads:
        with_sqlite_sha256(conn)
        sql = (f"SELECT a.s, a.n, h.rows FROM ({sql}) a "
               f"LEFT JOIN {HEADS} h ON h.ledger = :ledger AND h.stream = a.s "
               f"WHERE h.rows IS NULL OR h.rows <> a.n OR h.digest <> {sqlite_digest_sql('a.c')}")
    yield from conn.execute(text(sql), params)


def exact_digest(conn: Connection, ledger: Ledger, stream: str) -> tuple[int, str]:
    fix_text_settings(conn)
    params: dict[str, Any] = {}
    where = _filter(ledger, [stream], params)
    rows = conn.execute(text(f"SELECT {canonical_sql(ledger, conn.dialect.name)} FROM {ledger.table} "
                             f"WHERE {where} ORDER BY \"{ledger.order}\""), params).scalars().all()
    return len(rows), digest(rows) if rows else ""


# ---------------------------------------------------------------- verifying

@dataclass(frozen=True)
class BrokenSeal:
    table: str
    stream: str
    rows_now: int
    rows_sealed: int | None
    why: str  # changed, missing_head, rows_lost


def verify(conn: Connection, ledger: Ledger, lo: int | None = None, hi: int | None = None) -> Iterator[BrokenSeal]:
    """Every stream of ``ledger`` whose rows do not match its head, computed where the data is.

    With a range, only the streams whose key lies in [lo, hi) (``rma check`` cuts a big ledger
    into ranges its workers share; a clustered ledger: the streams of the rows whose ids lie in
    it, a stream cut by the range's ends recomputed whole before anything is reported), and not
    the heads whose rows are all gone: ask ``lost_streams`` for those once.
    """
    dialect = conn.dialect.name
    ranged = lo is not None and hi is not None
    if dialect == "postgresql":
        fix_text_settings(conn)
        params: dict[str, Any] = {"ledger": ledger.table}
        where = _range_sql(ledger, lo, hi, params)
        streams = (f"SELECT {stream_sql(ledger, dialect)} AS stream, count(*) AS n, "
                   f"encode(sha256(convert_to(string_agg({canonical_sql(ledger, dialect)}, chr(29) "
                   f"ORDER BY \"{ledger.order}\"), 'UTF8')), 'hex') AS d FROM {ledger.table} {where} "
                   f"GROUP BY {_group_sql(ledger)}")
        if ranged:  # each stream's head by its key (OFFSET 0 keeps it a lookup, not a scan of every head)
            # One sort (by the index of the range) feeds a plain aggregate; a stream whose order came
            # out otherwise is recomputed exactly below, like a cut one.
            streams = (f"SELECT CAST(g AS TEXT) AS stream, count(*) AS n, "
                       f"encode(sha256(convert_to(string_agg(c, chr(29)), 'UTF8')), 'hex') AS d FROM ("
                       f"SELECT {_group_sql(ledger)} AS g, {canonical_sql(ledger, dialect)} AS c FROM {ledger.table} "
                       f"{where} ORDER BY {_group_sql(ledger)}, \"{ledger.order}\") s GROUP BY g")
            sql = (f"SELECT a.stream, a.n, h.rows, h.rows IS NULL FROM ({streams}) a "
                   f"LEFT JOIN LATERAL (SELECT rows, digest FROM {HEADS} h WHERE h.ledger = :ledger "
                   f"AND h.stream = a.stream AND h.rows > 0 OFFSET 0) h ON true "
                   f"WHERE h.rows IS NULL OR a.n <> h.rows OR a.d <> h.digest")
            found = conn.execute(text(sql), params).all()
            for stream, n, sealed, missing in found:
                if missing:
                    if _starts_in(conn, ledger, stream, lo):
                        yield BrokenSeal(ledger.table, stream, n, sealed, "missing_head")
                    continue
                exact_n, exact_d = exact_digest(conn, ledger, stream)  # the whole stream, past the range's ends
                head = conn.execute(text(f"SELECT rows, digest FROM {HEADS} WHERE ledger = :ledger AND stream = :s"),
                                    {"ledger": ledger.table, "s": stream}).first()
                if (head.rows != exact_n or head.digest != exact_d) and _starts_in(conn, ledger, stream, lo):
                    yield BrokenSeal(ledger.table, stream, exact_n, sealed, "changed")
            return
        sql = (f"SELECT coalesce(a.stream, h.stream), coalesce(a.n, 0), h.rows, "
               f"CASE WHEN h.stream IS NULL THEN 'missing_head' WHEN a.stream IS NULL THEN 'rows_lost' "
               f"ELSE 'changed' END FROM ({streams}) a "
               f"FULL JOIN (SELECT stream, rows, digest FROM {HEADS} WHERE ledger = :ledger AND rows > 0) h "
               f"ON h.stream = a.stream "
               f"WHERE h.stream IS NULL OR a.stream IS NULL OR a.n <> h.rows OR a.d <> h.digest")
        for stream, n, sealed, why in conn.execute(text(sql), params, execution_options={"stream_results": True}):
            yield BrokenSeal(ledger.table, stream, n, sealed, why)
        return
    heads = text(f"SELECT rows, digest FROM {HEADS} WHERE ledger = :ledger AND stream = :stream")
    suspects: list[tuple[str, int]] = []
    for stream, count, sealed in _sqlite_stream_digests(conn, ledger, with_heads=True, lo=lo, hi=hi):
        if not sealed:  # no head, or a head of no rows
            if not ranged or _starts_in(conn, ledger, stream, lo):
                yield BrokenSeal(ledger.table, stream, count, None, "missing_head")
        else:
            suspects.append((stream, sealed))
    for stream, sealed in suspects:  # recomputed in exact id order before it is reported
        n, d = exact_digest(conn, ledger, stream)
        head = conn.execute(heads, {"ledger": ledger.table, "stream": stream}).first()
        if (head.rows != n or head.digest != d) and (not ranged or _starts_in(conn, ledger, stream, lo)):
            yield BrokenSeal(ledger.table, stream, n, sealed, "changed")
    if not ranged:
        yield from lost_streams(conn, ledger)


def _starts_in(conn: Connection, ledger: Ledger, stream: str, lo: int | None) -> bool:
    """Is this range the one that reports a broken stream? For a clustered ledger, whose ranges
    may cut a stream in two, the range holding its first row; otherwise the only one."""
    if not ledger.cluster or lo is None:
        return True
    params: dict[str, Any] = {}
    first = conn.execute(text(f'SELECT min("{ledger.order}") FROM {ledger.table} WHERE {_filter(ledger, [stream], params)}'),
                         params).scalar()
    return first is None or first >= lo


def lost_streams(conn: Connection, ledger: Ledger) -> Iterator[BrokenSeal]:
    """Sealed streams that have no rows left at all."""
    key = f'(t."{ledger.stream}" / {ledger.bucket})' if ledger.bucket else f't."{ledger.stream}"'
    if conn.dialect.name == "postgresql":
        value = "CAST(h.stream AS BIGINT)" if ledger.bucket or stream_is_int(ledger) else "h.stream"
    else:
        value = "CAST(h.stream AS INTEGER)" if ledger.bucket or stream_is_int(ledger) else "h.stream"
    lost = conn.execute(text(
        f"SELECT h.stream, h.rows FROM {HEADS} h WHERE h.ledger = :ledger AND h.rows > 0 AND NOT EXISTS ("
        f"SELECT 1 FROM {ledger.table} t WHERE {key} = {value})"), {"ledger": ledger.table})
    for stream, sealed in lost:
        yield BrokenSeal(ledger.table, stream, 0, sealed, "rows_lost")
