"""``rma check``: every ledger invariant, computed where the data is.

Each invariant is one set-based query (window functions over the returns ledger, joins,
anti-joins) that returns only the rows breaking it; nothing walks a ledger in Python. The
seals of every ledger are verified beside them (``rma.core.seals``), and the database
guards are compared with what the migrations installed (``rma.core.guards``).

An area adds its own invariants with ``@register_check``: a function of a read-only unit
of work yielding ``Violation``s; an invariant about a visit's ledger rows joins the one pass
over the returns ledger instead (``register_visit_pass``). ``run_checks`` runs the seal
verification and the invariants at the same time, on worker processes (one per core).
"""

from __future__ import annotations

import functools
import importlib
import itertools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from rma.core import guards, seals
from rma.core.models import ReturnsLedgerEntry, Visit
from rma.core.states import INITIAL, TERMINAL, TRANSITIONS, VisitState
from rma.db import Database, UnitOfWork

# Modules whose import registers an area's checks (each calls ``register_check``).
AREA_CHECKS = ("rma.test_station.services", "rma.inventory.checks", "rma.bench.checks",
               "rma.programming.checks", "rma.programming.job_checks")
LISTED_PER_CODE = 1000  # violations listed per code; all of them are counted


@dataclass(frozen=True)
class Violation:
    code: str
    subject: str
    message: str
    ledger: str | None = None
    rows: tuple[Any, ...] = ()  # keys of the ledger rows that break it
    # A warning is listed but breaks nothing (``rma check`` still exits 0): e.g. an attempt its
    # station never finished, which the ledger shows as it is.
    warning: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "subject": self.subject, "message": self.message, "ledger": self.ledger,
                "rows": list(self.rows)}


Check = Callable[[UnitOfWork], Iterable[Violation]]
_REGISTRY: list[Check] = []


def register_check(fn: Check) -> Check:
    if fn not in _REGISTRY:
        _REGISTRY.append(fn)
    return fn


# ---------------------------------------------------------------- the guards

def check_guards(uow: UnitOfWork) -> Iterator[Violation]:
    """Every ledger's triggers exist, are enabled for every session, and are the ones installed."""
    conn = uow.session.connection()
    tables = {led.table: led for led in seals.ledgers()}
    if conn.dialect.name == "sqlite":
        found = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
        from rma.core.models import Base

        for table in tables:
            expected = {f"{table}_no_update": guards.sqlite_trigger(table, "update"),
                        f"{table}_no_delete": guards.sqlite_trigger(table, "delete"),
                        f"{table}_no_replace": guards.sqlite_replace_trigger(
                            table, guards.table_keys(Base.metadata.tables[table]))}
            for name, sql in expected.items():
                if name not in found:
                    yield Violation("ledger_unguarded", table, f"{table} has no trigger {name}", table)
                elif guards.normalise_sql(found[name]) != guards.normalise_sql(sql):
                    yield Violation("ledger_guard_altered", table, f"trigger {name} of {table} was rewritten", table)
        return
    function = conn.execute(text("SELECT oid, prosrc FROM pg_proc WHERE proname = :n"),
                            {"n": guards.PG_FUNCTION_NAME}).first()
    if function is None:
        yield Violation("ledger_unguarded", guards.PG_FUNCTION_NAME, "the ledger guard function is missing")
    elif guards.normalise_sql(function.prosrc) != guards.normalise_sql(guards.PG_FUNCTION_BODY):
        yield Violation("ledger_guard_altered", guards.PG_FUNCTION_NAME,
                        "the ledger guard function was replaced: it no longer refuses changes")
    rows = conn.execute(text(
        "SELECT c.relname, t.tgname, t.tgenabled, t.tgfoid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relname = ANY(:tables)"), {"tables": list(tables)}).all()
    found_pg = {(r.relname, r.tgname): r for r in rows}
    for table in tables:
        for what in ("update", "delete", "truncate"):
            name = f"{table}_no_{what}"
            trig = found_pg.get((table, name))
            if trig is None:
                yield Violation("ledger_unguarded", table, f"{table} has no trigger {name}", table)
            elif trig.tgenabled != "A":
                state = {"D": "disabled", "O": "enabled for ordinary sessions only",
                         "R": "enabled for replicas only"}.get(trig.tgenabled, trig.tgenabled)
                yield Violation("ledger_guard_disabled", table, f"trigger {name} of {table} is {state}", table)
            elif function is not None and trig.tgfoid != function.oid:
                yield Violation("ledger_guard_altered", table, f"trigger {name} of {table} calls another function",
                                table)


def check_seals(uow: UnitOfWork) -> Iterator[Violation]:
    """The seals of every ledger but the returns ledger (whose pass checks its own, with its invariants)."""
    conn = uow.session.connection()
    for ledger in seals.ledgers():
        if ledger.table != "returns_ledger":
            yield from _seal_violations(seals.verify(conn, ledger), ledger)


def check_lost_returns_streams(uow: UnitOfWork) -> Iterator[Violation]:
    """Heads of visits whose every ledger row is gone (the visit pass only sees visits that have rows)."""
    ledger = seals.ledger_for("returns_ledger")
    yield from _seal_violations(seals.lost_streams(uow.session.connection(), ledger), ledger)


# ---------------------------------------------------------------- the returns ledger

# One pass over the returns ledger in visit order does it all: per visit, the database hands
# back the text its seal is made of, and its events, from-states, to-states and times in id
# order; Python hashes the text and judges the moves, which repeat from visit to visit and
# are judged once per distinct journey. Visits are cut into ranges that the connections of
# ``run_checks`` share.
RANGES = 16
# Two stations writing one visit at the same moment, or station PCs whose clocks differ a
# little, may date an entry slightly before the one written just before it: that is not
# a broken ledger. Further back than this is.
CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class VisitPassPart:
    """An invariant judged inside the returns pass, so that no check scans the ledger again.

    ``aggregates(dialect)``: expressions over one visit's ledger rows, each ``expr AS name``
    (names prefixed by the area); ``join(dialect)``: an optional ``LEFT JOIN (…) alias ON
    alias.visit_id = g.visit_id`` of the area's own rows of the range's visits (``:lo``,
    ``:hi``); ``flag(dialect)``: true for a visit that MAY break the invariant (never false
    for one that does). ``exact(uow, visit_id, tag)`` then judges that visit exactly.
    """

    name: str
    aggregates: Callable[[str], list[str]]
    flag: Callable[[str], str]
    exact: Callable[[UnitOfWork, int, str], Iterable[Violation]]
    join: Callable[[str], str] | None = None


_VISIT_PASS: list[VisitPassPart] = []


def register_visit_pass(part: VisitPassPart) -> VisitPassPart:
    if all(p.name != part.name for p in _VISIT_PASS):
        _VISIT_PASS.append(part)
    return part


def _visit_pass_parts() -> list[VisitPassPart]:
    _all_checks()  # every area's parts are registered on import
    return list(_VISIT_PASS)


def _returns_pass_sql(dialect: str, parts: list[VisitPassPart] | None = None) -> str:
    ledger = seals.ledger_for("returns_ledger")
    canon = seals.canonical_sql(ledger, dialect)
    parts = _visit_pass_parts() if parts is None else parts
    extra = "".join(f", {agg}" for part in parts for agg in part.aggregates(dialect))
    joins = "".join(f" {part.join(dialect)}" for part in parts if part.join)
    flags = "".join(f", CASE WHEN {part.flag(dialect)} THEN 1 ELSE 0 END" for part in parts)
    outer = f"SELECT g.visit_id, g.n, g.sealed, g.events, g.froms, g.tos, g.late, v.tag, v.state, h.rows, h.digest{flags}"
    if dialect == "postgresql":
        # One sort feeds every aggregate; the exact recheck covers a stream whose order came out
        # otherwise. The visits merge in by id; each head is one index lookup (OFFSET 0 keeps the
        # planner from hashing every head of the ledger for one range).
        return (
            f"{outer} FROM ("
            "SELECT visit_id, count(*) AS n, encode(sha256(convert_to(string_agg(c, chr(29)), 'UTF8')), 'hex') AS sealed, "
            "string_agg(event, ',') AS events, string_agg(coalesce(from_state, ''), ',') AS froms, "
            "string_agg(coalesce(to_state, ''), ',') AS tos, "
            f"string_agg(at::text, ',') AS late{extra} FROM ("
            f"SELECT id, visit_id, event, from_state, to_state, at, corrects_id, details, {canon} AS c "
            "FROM returns_ledger WHERE visit_id >= :lo AND visit_id < :hi ORDER BY visit_id, id) s "
            "GROUP BY visit_id) g LEFT JOIN visits v ON v.id = g.visit_id "
            "LEFT JOIN LATERAL (SELECT rows, digest FROM ledger_heads h WHERE h.ledger = 'returns_ledger' "
            f"AND h.stream = g.visit_id::text OFFSET 0) h ON true{joins}")
    # The visit_id index hands each visit's rows over in id order (rowid order within a key).
    return (
        f"{outer} FROM ("
        f"SELECT visit_id, count(*) AS n, {seals.sqlite_digest_sql(f'group_concat({canon}, char(29))')} AS sealed, "
        "group_concat(event, ',') AS events, "
        "group_concat(coalesce(from_state, ''), ',') AS froms, group_concat(coalesce(to_state, ''), ',') AS tos, "
        f"group_concat(at, ',') AS late{extra} FROM returns_ledger INDEXED BY ix_returns_ledger_visit_id "
        "WHERE visit_id >= :lo AND visit_id < :hi GROUP BY visit_id) g LEFT JOIN visits v ON v.id = g.visit_id "
        f"LEFT JOIN ledger_heads h ON h.ledger = 'returns_ledger' AND h.stream = CAST(g.visit_id AS TEXT){joins}")


@lru_cache(maxsize=4096)
def judge_moves(events: str, froms: str, tos: str, state: str | None) -> tuple[tuple[str, int], ...]:
    """What is wrong with one visit's rows, given in id order: (violation, row index)."""
    out: list[tuple[str, int]] = []
    ev, src, dst = events.split(","), froms.split(","), tos.split(",")
    if not ev or ev[0] != "opened" or src[0] != "" or dst[0] != INITIAL.value:
        out.append(("ledger_bad_start", 0))
    current: str | None = None
    for i in range(len(ev)):
        if dst[i] == "":
            continue
        if current is not None:
            if src[i] != current:
                out.append(("ledger_broken_chain", i))
            elif not _legal_move(current, dst[i]):
                out.append(("ledger_illegal_move", i))
        current = dst[i]
    if state is not None and current is not None and current != state:
        out.append(("state_mismatch", len(ev) - 1))
    return tuple(out)


def _legal_move(a: str, b: str) -> bool:
    try:
        return VisitState(b) in TRANSITIONS[VisitState(a)]
    except ValueError:
        return False


def _visit_rows(uow: UnitOfWork, visit_id: int) -> list[Any]:
    rl = ReturnsLedgerEntry.__table__
    return uow.session.execute(select(rl.c.id, rl.c.event, rl.c.from_state, rl.c.to_state, rl.c.at)
                               .where(rl.c.visit_id == visit_id).order_by(rl.c.id)).all()


SEALED_VISITS = "returns_ledger sealed visits"  # a tally: visits of the pass whose head has rows


def _returns_range(uow: UnitOfWork, lo: int, hi: int, tally: dict[str, int] | None = None) -> Iterator[Violation]:
    conn = uow.session.connection()
    dialect = conn.dialect.name
    seals.fix_text_settings(conn)
    seals.with_sqlite_sha256(conn)
    ledger = seals.ledger_for("returns_ledger")
    parts = _visit_pass_parts()
    flagged: list[tuple[VisitPassPart, int, str]] = []
    sealed_visits = 0
    for (visit_id, n, sealed, events, froms, tos, late, tag, state, head_rows,
         head_digest, *flags) in conn.execute(text(_returns_pass_sql(dialect, parts)), {"lo": lo, "hi": hi},
                                              execution_options={"stream_results": True}):
        if tag is None:
            yield Violation("ledger_orphan", f"visit id {visit_id}",
                            f"{n} ledger entries belong to visit id {visit_id}, which does not exist",
                            "returns_ledger", tuple(r.id for r in _visit_rows(uow, visit_id)))
        if not head_rows:
            yield from _broken_seal(ledger, str(visit_id), n, None, "missing_head")
        else:
            sealed_visits += 1
            if head_rows != n or head_digest != sealed:
                exact_n, exact_d = seals.exact_digest(conn, ledger, str(visit_id))  # in exact id order
                if head_rows != exact_n or head_digest != exact_d:
                    yield from _broken_seal(ledger, str(visit_id), exact_n, head_rows, "changed")
        times = late.split(",")  # the times themselves, in id order (as text that sorts as time)
        late = times != sorted(times) and _too_late([datetime.fromisoformat(t) for t in times])
        if late or judge_moves(events, froms, tos, state):
            rows = _visit_rows(uow, visit_id)  # exact, in id order, before anything is reported
            found = judge_moves(",".join(r.event for r in rows), ",".join(_st(r.from_state, "") for r in rows),
                                ",".join(_st(r.to_state, "") for r in rows), state)
            yield from _explain(tag or f"visit id {visit_id}", rows, state, list(found))
        flagged.extend((part, visit_id, tag or f"visit id {visit_id}") for part, flag in zip(parts, flags) if flag)
    for part, visit_id, tag in flagged:  # after the pass: its cursor is done with
        yield from part.exact(uow, visit_id, tag)
    if tally is not None:
        tally[SEALED_VISITS] = tally.get(SEALED_VISITS, 0) + sealed_visits


def _too_late(times: list[datetime]) -> bool:
    latest = times[0]
    for t in times[1:]:
        if t < latest - CLOCK_SLACK:
            return True
        latest = max(latest, t)
    return False


def _explain(tag: str, rows: list[Any], state: str | None, found: list[tuple[str, int]]) -> Iterator[Violation]:
    latest = rows[0].at if rows else None
    for i in range(1, len(rows)):
        if rows[i].at < latest - CLOCK_SLACK:
            yield Violation("ledger_time_order", tag, f"entry {rows[i].id} of {tag} is dated more than "
                            f"{CLOCK_SLACK.seconds // 60} minutes before an entry written before it",
                            "returns_ledger", (rows[i].id,))
        latest = max(latest, rows[i].at)
    for code, i in found:
        row = rows[min(i, len(rows) - 1)]
        if code == "ledger_bad_start":
            msg = f"the first event of {tag} (entry {row.id}) is not its opening"
        elif code == "ledger_broken_chain":
            prev = next((r.to_state for r in reversed(rows[:i]) if r.to_state is not None), None)
            msg = f"entry {row.id} of {tag} moves from {_st(row.from_state)} but the visit was {_st(prev)}"
        elif code == "ledger_illegal_move":
            msg = f"entry {row.id} of {tag} moves {_st(row.from_state)} -> {_st(row.to_state)}, not in the table"
        else:
            last = next((r for r in reversed(rows) if r.to_state is not None), row)
            row = last
            msg = f"visit {tag} is {_st(state)} but its ledger ends at {_st(last.to_state)} (entry {last.id})"
        yield Violation(code, tag, msg, "returns_ledger", (row.id,))


def _broken_seal(ledger: seals.Ledger, stream: str, now: int, sealed: int | None, why: str) -> Iterator[Violation]:
    yield from _seal_violations([seals.BrokenSeal(ledger.table, stream, now, sealed, why)], ledger)


def _seal_violations(found: Iterable[seals.BrokenSeal], ledger: seals.Ledger) -> Iterator[Violation]:
    for broken in found:
        what = {"changed": "its rows were changed, added or removed behind rma's back",
                "missing_head": "it has rows that were never sealed",
                "rows_lost": "all its sealed rows are gone"}[broken.why]
        yield Violation(
            "ledger_tampered", f"{broken.table} {ledger.stream} {broken.stream}",
            f"{broken.table}, stream {ledger.stream}={broken.stream}: {what} "
            f"({broken.rows_now} rows now, {broken.rows_sealed if broken.rows_sealed is not None else 0} sealed)",
            broken.table, (broken.stream,))


def visit_ranges(uow: UnitOfWork, parts: int = RANGES) -> list[tuple[int, int]]:
    lo, hi = uow.session.execute(select(func.min(Visit.id), func.max(Visit.id))).one()
    rl_lo, rl_hi = uow.session.execute(select(func.min(ReturnsLedgerEntry.visit_id),
                                              func.max(ReturnsLedgerEntry.visit_id))).one()
    lows = [x for x in (lo, rl_lo) if x is not None]
    highs = [x for x in (hi, rl_hi) if x is not None]
    if not lows:
        return []
    lo, hi = min(lows), max(highs) + 1
    step = max(1, -(-(hi - lo) // parts))
    return [(a, min(a + step, hi)) for a in range(lo, hi, step)]


def check_visits(uow: UnitOfWork) -> Iterator[Violation]:
    """What is wrong with visits themselves (corrections that point at another visit: ``_corrections_of``)."""
    s = uow.session
    rl, v = ReturnsLedgerEntry.__table__, Visit.__table__
    bare = select(v.c.tag).where(~exists().where(rl.c.visit_id == v.c.id))
    for (tag,) in s.execute(bare):
        yield Violation("visit_without_ledger", tag, f"visit {tag} has no ledger entry", "returns_ledger")
    terminal = sorted(TERMINAL)
    closed = select(v.c.tag, v.c.state, v.c.closed_at).where(or_(
        and_(v.c.state.in_(terminal), v.c.closed_at.is_(None)),
        and_(v.c.state.not_in(terminal), v.c.closed_at.is_not(None))))
    for row in s.execute(closed):
        yield Violation("closed_mismatch", row.tag, f"visit {row.tag} is {_st(row.state)} but closed_at is "
                        f"{row.closed_at or 'empty'}")
    doubles = (select(v.c.unit_id, func.count()).where(v.c.closed_at.is_(None)).group_by(v.c.unit_id)
               .having(func.count() > 1))
    for unit_id, n in s.execute(doubles):
        yield Violation("unit_open_twice", str(unit_id), f"unit id {unit_id} has {n} open visits")


def check_returns_ledger(uow: UnitOfWork) -> Iterator[Violation]:
    """The returns ledger's invariants and seals, in one unit of work (tests; ``run_checks`` splits it)."""
    for lo, hi in visit_ranges(uow, 1):
        yield from _returns_range(uow, lo, hi)


def _st(state: VisitState | str | None, none: str = "nothing") -> str:
    return state.value if isinstance(state, VisitState) else (state or none)


def _corrections_of(uow: UnitOfWork, visit_id: int, tag: str) -> Iterator[Violation]:
    """A correction must correct an entry of its own visit."""
    corrected = aliased(ReturnsLedgerEntry)
    for entry_id, corrects_id in uow.session.execute(
            select(ReturnsLedgerEntry.id, ReturnsLedgerEntry.corrects_id)
            .join(corrected, corrected.id == ReturnsLedgerEntry.corrects_id)
            .where(ReturnsLedgerEntry.visit_id == visit_id, corrected.visit_id != visit_id)
            .order_by(ReturnsLedgerEntry.id)):
        yield Violation("ledger_bad_correction", tag, f"entry {entry_id} corrects entry {corrects_id} of another visit",
                        "returns_ledger", (entry_id,))


register_check(check_guards)
register_check(check_visits)
register_visit_pass(VisitPassPart(  # corrections are few: only a visit that has one is looked at again
    "corrections", lambda dialect: ["count(corrects_id) AS core_corrections"],
    lambda dialect: "g.core_corrections > 0", _corrections_of))


def _consistent(uow: UnitOfWork) -> UnitOfWork:
    """All of one piece's queries see the same moment, even while stations keep writing.

    PostgreSQL's JIT is switched off for the check: it compiled each range's query again
    (0.35 s of every 1.8 s) for queries that run once.
    """
    if uow.session.get_bind().dialect.name == "postgresql":
        conn = uow.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return uow


def _all_checks() -> list[Check]:
    for module in AREA_CHECKS:
        importlib.import_module(module)
    return [*_REGISTRY, check_seals, check_lost_returns_streams]


# ---------------------------------------------------------------- the pieces of work

# A piece of work is a plain tuple, so that a worker process can be handed it:
#   ("check", "module:function")      one invariant (an area's check)
#   ("seals", table, lo, hi)          the seals of a ledger's streams with keys in [lo, hi) (None: all)
#   ("lost", table)                   the heads of a ranged ledger whose rows are all gone
#   ("returns", lo, hi)               the returns ledger's pass over visits [lo, hi)
Piece = tuple[Any, ...]
ROWS_PER_PIECE = 400_000  # a ledger bigger than this is cut into ranges of its stream keys


def _check_name(check: Check) -> str:
    return f"{check.__module__}:{check.__name__}"


def plan(uow: UnitOfWork, parts: int = RANGES) -> list[Piece]:
    """Every piece of ``rma check``, the big single ones first (the ranges even out the end).

    The heads of visits whose rows are all gone are looked for only when the ranges' tally of
    sealed visits differs from the number of heads (``run_checks``)."""
    pieces: list[Piece] = [("check", _check_name(c)) for c in _all_checks()
                           if c not in (check_seals, check_lost_returns_streams)]
    conn = uow.session.connection()
    for ledger in seals.ledgers():
        if ledger.table == "returns_ledger":
            continue
        pieces.extend(_seal_ranges(conn, ledger))
    pieces.extend(("returns", lo, hi) for lo, hi in visit_ranges(uow, parts))
    return pieces


def _seal_ranges(conn: Any, ledger: seals.Ledger) -> list[Piece]:
    """One piece for a small ledger; ranges of stream keys (and one for lost heads) for a big one.

    A clustered ledger (``__seal_cluster__``) is cut into ranges of ids where its cluster column
    changes, so that each range is read in table order and no stream is cut in two."""
    # a stream per row (an audit entry): cut by its id, like a stream column with an index of its own
    by_key = (ledger.stream == ledger.order and seals.stream_is_int(ledger)) or seals.stream_index(ledger)
    if not (ledger.bucket or ledger.cluster or by_key):
        return [("seals", ledger.table, None, None)]
    ids = conn.execute(text(f'SELECT min("{ledger.order}"), max("{ledger.order}") FROM {ledger.table}')).one()
    if ids[0] is None or ids[1] - ids[0] < ROWS_PER_PIECE:
        return [("seals", ledger.table, None, None)]
    n = min(RANGES, -(-(ids[1] - ids[0] + 1) // ROWS_PER_PIECE))
    if ledger.cluster:
        bounds = [ids[0]]
        for k in range(1, n):
            start = _cluster_start(conn, ledger, ids[0] + k * (ids[1] - ids[0] + 1) // n, bounds[-1])
            if start > bounds[-1]:
                bounds.append(start)
        bounds.append(ids[1] + 1)
        return [*(("seals", ledger.table, a, b) for a, b in itertools.pairwise(bounds)), ("lost", ledger.table)]
    keys = conn.execute(text(f'SELECT min("{ledger.stream}"), max("{ledger.stream}") FROM {ledger.table}')).one()
    lo, hi = keys[0], keys[1] + 1
    step = max(ledger.bucket or 1, -(-(hi - lo) // n))
    if ledger.bucket:  # a range never cuts a bucket (one stream) in two
        lo, step = lo - lo % ledger.bucket, -(-step // ledger.bucket) * ledger.bucket
    return [*(("seals", ledger.table, a, min(a + step, hi)) for a in range(lo, hi, step)), ("lost", ledger.table)]


def _cluster_start(conn: Any, ledger: seals.Ledger, near: int, floor: int) -> int:
    """The first id (not below ``floor``) whose cluster value is that of the row at ``near``:
    a binary search over the primary key (the value does not decrease as ids grow; where it
    did, a stream cut in two is only recomputed whole, never reported wrongly)."""
    at = text(f'SELECT "{ledger.cluster}" FROM {ledger.table} WHERE "{ledger.order}" >= :i '
              f'ORDER BY "{ledger.order}" LIMIT 1')
    value = conn.execute(at, {"i": near}).scalar()
    lo, hi = floor, near
    while lo < hi:
        mid = (lo + hi) // 2
        if conn.execute(at, {"i": mid}).scalar() >= value:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _piece_work(piece: Piece, tally: dict[str, int]) -> tuple[str, Callable[[UnitOfWork], Iterable[Violation]]]:
    kind = piece[0]
    if kind == "check":
        check = {_check_name(c): c for c in _all_checks()}[piece[1]]
        return check.__name__, check
    if kind == "returns":
        lo, hi = piece[1], piece[2]
        return f"returns ledger, visits {lo}–{hi}", functools.partial(_returns_range, lo=lo, hi=hi, tally=tally)
    ledger = seals.ledger_for(piece[1])
    if kind == "lost":
        return f"lost heads of {ledger.table}", lambda uow: _seal_violations(
            seals.lost_streams(uow.session.connection(), ledger), ledger)
    lo, hi = piece[2], piece[3]
    key = ledger.order if ledger.cluster else ledger.stream
    name = f"seals of {ledger.table}" + (f", {key} {lo}–{hi}" if lo is not None else "")
    return name, lambda uow: _seal_violations(seals.verify(uow.session.connection(), ledger, lo, hi), ledger)


# ---------------------------------------------------------------- running them all

@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)  # at most LISTED_PER_CODE per code
    counts: dict[str, int] = field(default_factory=dict)  # every violation, by code
    warnings: list[Violation] = field(default_factory=list)  # listed, never failing the check
    warning_counts: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, int] = field(default_factory=dict)  # what the pieces counted as they went

    @property
    def ok(self) -> bool:
        return not self.counts

    def add(self, found: Iterable[Violation], listed: int) -> None:
        for violation in found:
            counts, kept = ((self.warning_counts, self.warnings) if violation.warning
                            else (self.counts, self.violations))
            n = counts.get(violation.code, 0)
            counts[violation.code] = n + 1
            if n < listed:
                kept.append(violation)

    def merge(self, other: CheckReport, listed: int) -> None:
        """Another piece's report: its counts add up, its listed violations fill what is left to list."""
        for mine_counts, mine, theirs_counts, theirs in (
                (self.counts, self.violations, other.counts, other.violations),
                (self.warning_counts, self.warnings, other.warning_counts, other.warnings)):
            for code, n in theirs_counts.items():
                room = max(0, listed - mine_counts.get(code, 0))
                mine.extend([v for v in theirs if v.code == code][:room])
                mine_counts[code] = mine_counts.get(code, 0) + n
        for key, n in other.tallies.items():
            self.tallies[key] = self.tallies.get(key, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": dict(sorted(self.counts.items())),
                "violations": [v.as_dict() for v in self.violations],
                "warning_counts": dict(sorted(self.warning_counts.items())),
                "warnings": [v.as_dict() for v in self.warnings]}


_WORKER_DB: Database | None = None


def _worker_start(url: str) -> None:
    global _WORKER_DB
    _WORKER_DB = Database.from_url(url)


def _run_piece(piece: Piece, listed: int, db: Database | None = None) -> CheckReport:
    """One piece of work in its own read-only unit of work (in a worker process: on its own connection)."""
    db = db or _WORKER_DB
    assert db is not None
    report = CheckReport()
    name, work = _piece_work(piece, report.tallies)
    started, cpu = time.perf_counter(), time.process_time()
    with db.uow(readonly=True) as uow:
        _consistent(uow)
        report.add(work(uow), listed)
    if os.environ.get("RMA_CHECK_TIMINGS"):
        sys.stderr.write(f"check {name}: {time.perf_counter() - started:.2f} s "
                         f"(CPU {time.process_time() - cpu:.2f} s)\n")
    return report


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _shareable(db: Database) -> bool:
    """Can other processes open this database? (not an in-memory SQLite)"""
    url = db.engine.url
    return url.get_backend_name() != "sqlite" or (url.database or ":memory:") not in (":memory:", "") \
        and "mode=memory" not in (url.database or "")


def run_checks(db: Database, *, listed: int = LISTED_PER_CODE, workers: int | None = None) -> CheckReport:
    """Every invariant and every seal of every ledger, in worker processes that share the pieces.

    Processes, not threads: SQLite's threads in one process serialise on its allocator's lock
    (two ranges of the returns ledger took longer on two threads than one after the other),
    and the hashing in Python holds the GIL. The returns ledger and every big ledger are cut
    into ranges the workers share; each piece is one consistent read of its own (on
    PostgreSQL a row written meanwhile is simply sealed and checked, or not yet). Violations
    come in the order of the pieces, whichever worker found them.
    """
    with db.uow(readonly=True) as uow:
        pieces = plan(uow)
    return _lost_visits(db, run_pieces(db, pieces, listed=listed, workers=workers), listed)


def run_pieces(db: Database, pieces: list[Piece], *, listed: int = LISTED_PER_CODE,
               workers: int | None = None) -> CheckReport:
    """Run ``pieces`` of ``plan`` on ``workers`` processes (default: one per core, at most 4)."""
    workers = workers or _default_workers()
    total = CheckReport()
    if workers < 2 or not _shareable(db):
        for piece in pieces:
            total.merge(_run_piece(piece, listed, db), listed)
        return total
    url = db.engine.url.render_as_string(hide_password=False)
    db.engine.dispose()  # no pooled connection is carried into the workers
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_start,
                             initargs=(url,)) as pool:
        for report in pool.map(_run_piece, pieces, itertools.repeat(listed)):
            total.merge(report, listed)
    return total


def _lost_visits(db: Database, total: CheckReport, listed: int) -> CheckReport:
    """Heads of visits whose every row is gone: none when every head with rows was met by the
    pass (a head is one per visit), so the exact search runs only when the numbers differ (or
    a station wrote between the pieces' reads)."""
    with db.uow(readonly=True) as uow:
        heads = uow.session.execute(text(
            "SELECT count(*) FROM ledger_heads WHERE ledger = 'returns_ledger' AND rows > 0")).scalar()
    if heads != total.tallies.get(SEALED_VISITS, 0):
        total.merge(_run_piece(("check", _check_name(check_lost_returns_streams)), listed, db), listed)
    return total


def check_ledgers(uow: UnitOfWork, *, warnings: bool = False) -> list[Violation]:
    """Every check in one unit of work (tests and callers holding a unit of work); warnings only if asked."""
    out: list[Violation] = list(check_returns_ledger(uow))
    for check in _all_checks():
        out.extend(check(uow))
    return [v for v in out if warnings or not v.warning]
