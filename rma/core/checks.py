"""``rma check``: every ledger invariant, computed where the data is.

Each invariant is one set-based query (window functions over the returns ledger, joins,
anti-joins) that returns only the rows breaking it; nothing walks a ledger in Python. The
seals of every ledger are verified beside them (``rma.core.seals``), and the database
guards are compared with what the migrations installed (``rma.core.guards``).

An area adds its own invariants with ``@register_check``: a function of a read-only unit
of work yielding ``Violation``s. ``run_checks`` runs the seal verification and the
invariants at the same time (two connections: the 2 cores of a station PC both work).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import queue
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
    for piece in _seal_pieces():
        yield from piece(uow)


def _seal_pieces() -> list[Callable[[UnitOfWork], Iterable[Violation]]]:
    """``check_seals`` cut into one piece per ledger, so that the workers share the big ones."""
    pieces = []
    for ledger in seals.ledgers():
        if ledger.table != "returns_ledger":
            def piece(uow: UnitOfWork, ledger: seals.Ledger = ledger) -> Iterator[Violation]:
                yield from _seal_violations(seals.verify(uow.session.connection(), ledger), ledger)
            piece.__name__ = f"seals of {ledger.table}"
            pieces.append(piece)
    return pieces


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


def _returns_pass_sql(dialect: str) -> str:
    ledger = seals.ledger_for("returns_ledger")
    canon = seals.canonical_sql(ledger, dialect)
    lookups = ("(SELECT tag FROM visits v WHERE v.id = g.visit_id) AS tag, "
               "(SELECT state FROM visits v WHERE v.id = g.visit_id) AS state, "
               "(SELECT rows FROM ledger_heads h WHERE h.ledger = 'returns_ledger' AND h.stream = {s}) AS head_rows, "
               "(SELECT digest FROM ledger_heads h WHERE h.ledger = 'returns_ledger' AND h.stream = {s}) AS head")
    if dialect == "postgresql":
        # One sort feeds every aggregate; the exact recheck covers a stream whose order came out otherwise.
        return (
            f"SELECT g.*, {lookups.format(s='g.visit_id::text')} FROM ("
            "SELECT visit_id, count(*) AS n, encode(sha256(convert_to(string_agg(c, chr(29)), 'UTF8')), 'hex') AS sealed, "
            "string_agg(event, ',') AS events, string_agg(coalesce(from_state, ''), ',') AS froms, "
            "string_agg(coalesce(to_state, ''), ',') AS tos, "
            f"bool_or(at < prev_at - interval '{int(CLOCK_SLACK.total_seconds())} seconds') AS late FROM ("
            f"SELECT visit_id, event, from_state, to_state, at, {canon} AS c, "
            "lag(at) OVER (PARTITION BY visit_id ORDER BY id) AS prev_at "
            "FROM returns_ledger WHERE visit_id >= :lo AND visit_id < :hi ORDER BY visit_id, id) s "
            "GROUP BY visit_id) g")
    # The visit_id index hands each visit's rows over in id order (rowid order within a key).
    return (
        f"SELECT g.*, {lookups.format(s='CAST(g.visit_id AS TEXT)')} FROM ("
        f"SELECT visit_id, count(*) AS n, group_concat({canon}, char(29)) AS sealed, group_concat(event, ',') AS events, "
        "group_concat(coalesce(from_state, ''), ',') AS froms, group_concat(coalesce(to_state, ''), ',') AS tos, "
        "group_concat(at, ',') AS late FROM returns_ledger INDEXED BY ix_returns_ledger_visit_id "
        "WHERE visit_id >= :lo AND visit_id < :hi GROUP BY visit_id) g")


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


def _returns_range(uow: UnitOfWork, lo: int, hi: int) -> Iterator[Violation]:
    conn = uow.session.connection()
    dialect = conn.dialect.name
    seals.fix_text_settings(conn)
    ledger = seals.ledger_for("returns_ledger")
    for (visit_id, n, sealed, events, froms, tos, late, tag, state, head_rows,
         head_digest) in conn.execute(text(_returns_pass_sql(dialect)), {"lo": lo, "hi": hi},
                                      execution_options={"stream_results": True}):
        d = sealed if dialect == "postgresql" else hashlib.sha256(sealed.encode("utf-8")).hexdigest()
        if tag is None:
            yield Violation("ledger_orphan", f"visit id {visit_id}",
                            f"{n} ledger entries belong to visit id {visit_id}, which does not exist",
                            "returns_ledger", tuple(r.id for r in _visit_rows(uow, visit_id)))
        if head_rows is None:
            yield from _broken_seal(ledger, str(visit_id), n, None, "missing_head")
        elif head_rows != n or head_digest != d:
            exact_n, exact_d = seals.exact_digest(conn, ledger, str(visit_id))  # in exact id order
            if head_rows != exact_n or head_digest != exact_d:
                yield from _broken_seal(ledger, str(visit_id), exact_n, head_rows, "changed")
        if isinstance(late, str):  # SQLite: the times themselves, in id order
            times = late.split(",")
            late = times != sorted(times) and _too_late([datetime.fromisoformat(t) for t in times])
        if late or judge_moves(events, froms, tos, state):
            rows = _visit_rows(uow, visit_id)  # exact, in id order, before anything is reported
            found = judge_moves(",".join(r.event for r in rows), ",".join(_st(r.from_state, "") for r in rows),
                                ",".join(_st(r.to_state, "") for r in rows), state)
            yield from _explain(tag or f"visit id {visit_id}", rows, state, list(found))


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
    """What is wrong with visits themselves, and corrections that point at another visit."""
    s = uow.session
    rl, v = ReturnsLedgerEntry.__table__, Visit.__table__
    corrected = aliased(ReturnsLedgerEntry)
    bad_fix = (select(ReturnsLedgerEntry.id, ReturnsLedgerEntry.visit_id, ReturnsLedgerEntry.corrects_id)
               .join(corrected, corrected.id == ReturnsLedgerEntry.corrects_id)
               .where(corrected.visit_id != ReturnsLedgerEntry.visit_id))
    for row in s.execute(bad_fix):
        tag = _tag(uow, row.visit_id)
        yield Violation("ledger_bad_correction", tag, f"entry {row.id} corrects entry {row.corrects_id} of another visit",
                        "returns_ledger", (row.id,))
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


def _tag(uow: UnitOfWork, visit_id: int) -> str:
    return uow.session.scalar(select(Visit.tag).where(Visit.id == visit_id)) or f"visit id {visit_id}"


register_check(check_guards)
register_check(check_visits)


# ---------------------------------------------------------------- running them all

@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)  # at most LISTED_PER_CODE per code
    counts: dict[str, int] = field(default_factory=dict)  # every violation, by code
    warnings: list[Violation] = field(default_factory=list)  # listed, never failing the check
    warning_counts: dict[str, int] = field(default_factory=dict)

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

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": dict(sorted(self.counts.items())),
                "violations": [v.as_dict() for v in self.violations],
                "warning_counts": dict(sorted(self.warning_counts.items())),
                "warnings": [v.as_dict() for v in self.warnings]}


def _consistent(uow: UnitOfWork) -> UnitOfWork:
    """All of one group's queries see the same moment, even while stations keep writing."""
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return uow


def _run_group(db: Database, work: "queue.SimpleQueue[Callable[[UnitOfWork], Iterable[Violation]]]",
               listed: int) -> CheckReport:
    """One worker: takes the next piece of work until none is left (so a slow piece on one worker
    does not leave the other idle), all in one consistent read."""
    report = CheckReport()
    timings = os.environ.get("RMA_CHECK_TIMINGS")
    with db.uow(readonly=True) as uow:
        _consistent(uow)
        while True:
            try:
                check = work.get_nowait()
            except queue.Empty:
                return report
            started, cpu = time.perf_counter(), time.thread_time()
            report.add(check(uow), listed)
            if timings:
                name = getattr(check, "__name__", "?")
                sys.stderr.write(f"check {name}: {time.perf_counter() - started:.2f} s "
                                 f"(CPU {time.thread_time() - cpu:.2f} s)\n")


def _all_checks() -> list[Check]:
    for module in AREA_CHECKS:
        importlib.import_module(module)
    return [*_REGISTRY, check_seals, check_lost_returns_streams]


def run_checks(db: Database, *, listed: int = LISTED_PER_CODE, workers: int = 2) -> CheckReport:
    """Every invariant and every seal of every ledger, on ``workers`` connections at once.

    The returns ledger is cut into ranges of visits that the workers share; the other checks
    are small and go to whichever worker is free. (On PostgreSQL the workers' snapshots are
    each consistent; a row written between them is simply sealed and checked or not yet.)
    """
    with db.uow(readonly=True) as uow:
        ranges = visit_ranges(uow)
    work: queue.SimpleQueue = queue.SimpleQueue()
    for check in [*_seal_pieces(), *(c for c in _all_checks() if c is not check_seals)]:  # the area checks first: the ranges of visits even out the end
        work.put(check)
    for lo, hi in ranges:
        piece = functools.partial(_returns_range, lo=lo, hi=hi)
        piece.__name__ = f"returns ledger, visits {lo}–{hi}"  # type: ignore[attr-defined]
        work.put(piece)
    total = CheckReport()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_group, db, work, listed) for _ in range(workers)]
        for future in futures:
            r = future.result()
            for code, n in r.counts.items():
                total.counts[code] = total.counts.get(code, 0) + n
            for code, n in r.warning_counts.items():
                total.warning_counts[code] = total.warning_counts.get(code, 0) + n
            total.violations.extend(r.violations)
            total.warnings.extend(r.warnings)
    return total


def check_ledgers(uow: UnitOfWork, *, warnings: bool = False) -> list[Violation]:
    """Every check in one unit of work (tests and callers holding a unit of work); warnings only if asked."""
    out: list[Violation] = list(check_returns_ledger(uow))
    for check in _all_checks():
        out.extend(check(uow))
    return [v for v in out if warnings or not v.warning]
