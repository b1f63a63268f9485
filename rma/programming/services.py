"""The technician's use case: reflash a unit at the bench; and the programming ledger (IC烧录记录).

A visit in ``programming`` (the bench sends it there) is reflashed with its model's current
released image. One attempt, in order:

1. ``prepare``: the visit is locked for this station (a second station is told who holds it),
   the image is its model's current released one, and its file is hashed again.
2. The programmer is read, nothing written: its identity, the chip's ID (the wrong chip is
   refused here) and the SHA-256 of what the chip holds (the old image, named by the
   registry when it knows it).
3. The attempt's start row is committed (*in progress*) before the chip is touched.
4. ``SerialProgrammer.program()``: erase, write every block (each acknowledged block is
   committed to the ledger as it comes), verify by the programmer's SHA-256 (never skipped).
5. One transaction ends it: the result row, and the visit: ``ok`` → the unit's firmware
   version changes, the interception alerts by firmware that no longer apply are marked done
   by the system, the visit goes to ``awaiting_test``; ``failed`` (the chip would not take the
   image, or is the wrong one) → back to ``in_repair`` with the reason and the first bad
   address; ``error`` (the programmer or its line) and ``aborted`` → the visit stays in
   ``programming`` to be tried again.

A process killed mid-attempt leaves an attempt without a result: *unfinished*, listed as a
warning by ``rma check``; the next attempt on the visit closes it as ``abandoned``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from rma import __version__, config
from rma.core.ledger import record_visit_event
from rma.core.models import Role, Unit, User, Visit
from rma.core.parse import check_limit, clean_key, clean_text, known_id
from rma.core.seals import AppendSeal
from rma.core.services import (
    find_open_visit,
    get_actor,
    normalise_key,
    require_role,
    transition,
    usable_key,
)
from rma.core.states import VisitState
from rma.db import Database, UnitOfWork
from rma.errors import DomainError
from rma.programming import registry
from rma.programming.models import (
    AttemptResult,
    ProgrammingAttempt,
    ProgrammingBlock,
    ProgrammingLock,
    ProgrammingResult,
)
from rma.programming.registry import ImageRef

log = logging.getLogger(__name__)

PROGRAMMERS = (Role.TECHNICIAN, Role.LEAD)
LOCK_STALE = timedelta(minutes=10)  # a lock without a heartbeat this long belongs to a dead station
HEARTBEAT_EVERY_S = 5.0
TOOL_VERSION = f"rma {__version__}"
OTHER_SIZES = 3  # at most this many other image sizes are hashed to name the old image
# The chip, not the station, said no: the unit goes back to repair.
TARGET_FAILURES = frozenset({
    "programmer_no_target", "programmer_wrong_chip", "programmer_write_failed", "programmer_erase_failed",
    "programmer_target_timeout", "programmer_verify_failed", "programmer_image_too_large",
    "programmer_misaligned",
})


class ProgrammerLike(Protocol):
    resent: int

    def open(self) -> Any: ...
    def close(self) -> None: ...
    def identify(self) -> Any: ...
    def select(self, socket: int) -> None: ...
    def chip_id(self, expect: bytes | str | None = None) -> Any: ...
    def hash(self, start: int, length: int) -> bytes: ...
    def program(self, image: bytes, **kwargs: Any) -> Any: ...


# ---------------------------------------------------------------- what a reflash tells its caller

@dataclass
class ReflashPlan:
    """A visit locked for a reflash, with its image (bytes hashed again) and what names the old image."""

    visit_id: int
    unit_id: int
    tag: str
    serial: str
    model: str
    from_version: str | None  # the unit's firmware as the records say
    image: ImageRef
    station: str
    port: str
    socket: int
    operator_id: int
    operator: str
    known: dict[int, dict[str, str]]  # the model's images: size -> {SHA-256 -> version}
    data: bytes = field(repr=False, default=b"")


@dataclass
class ReflashStarted:
    """The start row is in the ledger: the chip is about to be erased."""

    attempt_id: int
    tag: str
    serial: str
    model: str
    image_version: str
    image_sha256: str
    size: int
    chip_id: str
    chip_name: str
    old_sha256: str | None
    old_version: str | None
    from_version: str | None
    programmer: str
    socket: int


@dataclass(frozen=True)
class ReflashProgress:
    phase: str  # "write" (erase included) or "verify"
    done: int
    total: int
    bytes_per_second: float
    elapsed_s: float
    seconds_left: float | None


@dataclass
class ReflashResult:
    attempt_id: int | None
    tag: str
    result: AttemptResult
    code: str | None = None
    reason: str | None = None
    first_bad_address: int | None = None
    written: int = 0
    verified: bool = False
    seconds: float = 0.0
    bytes_per_second: float | None = None  # program + verify, as the driver measured it
    from_version: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    chip_id: str | None = None
    expected_chip: str | None = None
    visit_state: str | None = None
    alerts_done: list[int] = field(default_factory=list)
    durable: bool = True  # the result is in the ledger

    @property
    def ok(self) -> bool:
        return self.result is AttemptResult.OK and self.durable

    def as_dict(self) -> dict[str, Any]:
        return {"attempt_id": self.attempt_id, "tag": self.tag, "result": self.result.value, "code": self.code,
                "reason": self.reason, "first_bad_address": _hex(self.first_bad_address), "written": self.written,
                "verified": self.verified, "seconds": round(self.seconds, 3),
                "bytes_per_second": round(self.bytes_per_second) if self.bytes_per_second else None,
                "from_version": self.from_version, "old_version": self.old_version,
                "new_version": self.new_version, "chip_id": self.chip_id, "expected_chip": self.expected_chip,
                "visit_state": self.visit_state, "alerts_done": self.alerts_done, "durable": self.durable}


EventSink = Callable[[Any], None]  # gets ReflashStarted, ReflashProgress, ReflashResult


def _hex(address: int | None) -> str | None:
    return None if address is None else f"0x{address:08X}"


def _cut(text: str | None, most: int = 64) -> str | None:
    """What the programmer says about itself, as much as its column holds."""
    return None if text is None else str(text)[:most]


# ---------------------------------------------------------------- 1. prepare: lock, image

def clean_port(port: str | None) -> str:
    return clean_text(port, "programmer port", column=ProgrammingAttempt.port, required=True)


def check_socket(socket: int | str) -> int:
    try:
        number = int(str(socket).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 255:
        raise DomainError("bad_socket", "a socket is a number from 1 to 255, not {socket}", socket=str(socket)[:20])
    return number


def open_programmer(port: str, factory: Callable[[str], ProgrammerLike] | None = None) -> ProgrammerLike:
    """The programmer's driver for ``port`` (not opened yet); a port that cannot be one is a clear error."""
    if factory is None:
        from drivers.programmer import SerialProgrammer

        factory = SerialProgrammer
    try:
        return factory(port)
    except (ValueError, OSError) as exc:
        raise DomainError("bad_programmer_port", "the programmer port {port!r} is not usable: {reason}",
                          port=port, reason=str(exc)) from None


def _in_programming(tag: str, station: str = "another station", user: str = "someone") -> DomainError:
    return DomainError("visit_in_programming", "visit {tag} is being programmed at {station} by {user}",
                       tag=tag, station=station, user=user)


# This process's attempts in progress: this station's own lock of a live attempt is never taken
# over; a lock of this station whose attempt is not live here belongs to an attempt that died.
_live: set[tuple[str, int]] = set()  # (database URL, visit id)
_live_lock = threading.Lock()


def _insert_ignoring_duplicates(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: whether the lock went in (False: another station's is there)."""
    dialect = uow.session.get_bind().dialect.name
    table = ProgrammingLock.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["visit_id"]).returning(table.c.visit_id)
    return uow.session.execute(stmt).first() is not None


def _take_lock(uow: UnitOfWork, visit: Visit, actor: User, station: str) -> None:
    now, visit_id = uow.now(), visit.id
    lock = uow.session.get(ProgrammingLock, visit_id, with_for_update=True)
    if lock is not None:
        with _live_lock:
            own_dead = lock.station == station and (str(uow.session.get_bind().url), visit_id) not in _live
        if not own_dead and now - lock.heartbeat_at < LOCK_STALE:
            who = uow.session.get(User, lock.operator_id)
            raise _in_programming(visit.tag, lock.station, who.username if who else "?")
        uow.session.delete(lock)
        uow.session.flush()
    if not _insert_ignoring_duplicates(uow, {"visit_id": visit_id, "station": station, "operator_id": actor.id,
                                             "heartbeat_at": now}):
        holder = uow.session.execute(
            select(ProgrammingLock.station, User.username).join(User, User.id == ProgrammingLock.operator_id)
            .where(ProgrammingLock.visit_id == visit_id)).first()
        raise _in_programming(visit.tag, *holder) if holder else _in_programming(visit.tag)


def prepare(db: Database, actor_name: str, key: str, *, port: str, socket: int = 1,
            station: str | None = None) -> ReflashPlan:
    """Lock the visit for this station, with its model's current released image (its file hashed again)."""
    station = station or config.station_settings().name
    port, socket = clean_port(port), check_socket(socket)
    with db.uow() as uow:
        actor = get_actor(uow, actor_name)
        require_role(actor, *PROGRAMMERS, action="reflash units")
        if not usable_key(normalise_key(key)):  # a control character or a lone surrogate names nothing
            raise DomainError("unknown_unit", "no unit with serial or tag {key!r}", key=(key or "")[:40])
        visit = find_open_visit(uow, key)
        if visit.state is not VisitState.PROGRAMMING:
            raise DomainError("not_in_programming", "visit {tag} is {state}: only a unit in programming is reflashed",
                              tag=visit.tag, state=visit.state.value)
        unit = visit.unit
        image = registry.current_image(uow, unit.model)
        data = registry.image_bytes(image)  # a file changed since it was registered is refused here
        known = registry.versions_by_hash(uow, unit.model_id, image.base)
        _take_lock(uow, visit, actor, station)
        plan = ReflashPlan(visit.id, unit.id, visit.tag, unit.serial, unit.model.code, unit.firmware_version, image,
                           station, port, socket, actor.id, actor.username, known, data)
    with _live_lock:
        _live.add((str(db.engine.url), plan.visit_id))
    return plan


# ---------------------------------------------------------------- 2-4. read, start, program

class _Stopped(Exception):
    """The operator stopped the attempt."""


class BlockWriter:
    """Commits each acknowledged block to the ledger, on one connection kept for the attempt.

    One short transaction a block: its INSERT, the seal of the attempt's stream of blocks
    (``AppendSeal``: on SQLite only the new block is hashed), and every few seconds the lock's heartbeat.
    """

    def __init__(self, db: Database, attempt_id: int, visit_id: int) -> None:
        self.attempt_id, self.visit_id, self.clock = attempt_id, visit_id, db.clock
        self.conn = db.engine.connect()
        self.table = ProgrammingBlock.__table__
        self.seal = AppendSeal(self.table.name, attempt_id)  # SQLite: the attempt's blocks hashed as they come
        self.seq = 0
        self.beat = time.monotonic()

    def write(self, done: int) -> None:
        self.seq += 1
        row = insert(self.table).values(attempt_id=self.attempt_id, seq=self.seq, done=done, at=self.clock())
        with self.conn.begin():
            self.conn.execute(row)
            self.seal.seal(self.conn)
            if time.monotonic() - self.beat >= HEARTBEAT_EVERY_S:  # other stations: this attempt is alive
                self.conn.execute(update(ProgrammingLock).where(
                    ProgrammingLock.visit_id == self.visit_id, ProgrammingLock.attempt_id == self.attempt_id)
                    .values(heartbeat_at=self.clock()))
                self.beat = time.monotonic()
        self.seal.committed()

    def close(self) -> None:
        self.conn.close()


@dataclass
class _Target:
    """What the programmer said before anything was written."""

    identity: Any = None
    chip: Any = None
    old_sha256: str | None = None
    old_version: str | None = None


def _read_target(programmer: ProgrammerLike, plan: ReflashPlan, target: _Target) -> None:
    """Identity, chip, and the SHA-256 of what the chip holds; raises before anything is written."""
    from drivers.programmer import ProgrammerError

    image = plan.image
    programmer.open()
    target.identity = programmer.identify()
    programmer.select(plan.socket)
    target.chip = chip = programmer.chip_id()
    if chip.id_hex != image.chip_id:
        raise ProgrammerError("wrong chip in socket {socket}: expected ID {expected}, read {actual}",
                              code="programmer_wrong_chip", socket=plan.socket, expected=image.chip_id,
                              actual=chip.id_hex)
    if image.base + image.size > chip.size:
        raise ProgrammerError("the image ({size} bytes at {base}) does not fit the {chip} ({capacity} bytes)",
                              code="programmer_image_too_large", size=image.size, base=_hex(image.base),
                              chip=chip.name, capacity=chip.size)
    target.old_sha256 = programmer.hash(image.base, image.size).hex()
    target.old_version = plan.known.get(image.size, {}).get(target.old_sha256)
    if target.old_version is None:  # perhaps an image of another size: ask for those ranges too
        others = sorted(s for s in plan.known if s != image.size and image.base + s <= chip.size)[:OTHER_SIZES]
        for size in others:
            digest = programmer.hash(image.base, size).hex()
            if digest in plan.known[size]:
                target.old_sha256, target.old_version = digest, plan.known[size][digest]
                break


def _start(db: Database, plan: ReflashPlan, target: _Target) -> ReflashStarted:
    """The attempt's start row and the visit's event, committed before the chip is touched."""
    identity, chip = target.identity, target.chip
    with db.uow() as uow:
        attempt = _attempt_row(uow, plan, target)
        visit = uow.session.get(Visit, plan.visit_id)
        actor = uow.session.get(User, plan.operator_id)
        lock = uow.session.get(ProgrammingLock, plan.visit_id)
        if lock is not None and lock.station == plan.station:
            lock.attempt_id, lock.heartbeat_at = attempt.id, uow.now()
        record_visit_event(uow, visit, actor, "programming_started", details={
            "attempt": attempt.id, "station": plan.station, "firmware": plan.image.version,
            "from_version": plan.from_version, "chip": f"{chip.name} {chip.id_hex}", "socket": plan.socket})
        return ReflashStarted(attempt.id, plan.tag, plan.serial, plan.model, plan.image.version, plan.image.sha256,
                              plan.image.size, chip.id_hex, chip.name, target.old_sha256, target.old_version,
                              plan.from_version, f"{identity.model} {identity.serial}", plan.socket)


def _attempt_row(uow: UnitOfWork, plan: ReflashPlan, target: _Target) -> ProgrammingAttempt:
    """A new attempt of the visit; any earlier one the visit left without an end is closed as abandoned."""
    now = uow.now()
    dead = list(uow.session.scalars(
        select(ProgrammingAttempt.id).where(ProgrammingAttempt.visit_id == plan.visit_id, ~select(
            ProgrammingResult.attempt_id).where(ProgrammingResult.attempt_id == ProgrammingAttempt.id).exists())))
    identity, chip = target.identity, target.chip
    attempt = ProgrammingAttempt(
        visit_id=plan.visit_id, unit_id=plan.unit_id, station=plan.station, port=plan.port,
        operator_id=plan.operator_id, programmer=_cut(getattr(identity, "model", None)),
        programmer_serial=_cut(getattr(identity, "serial", None)),
        programmer_firmware=_cut(getattr(identity, "firmware", None)),
        socket=plan.socket, chip_id=chip.id_hex if chip is not None else None,
        chip_name=chip.name[:32] if chip is not None else None, image_id=plan.image.id,
        image_sha256=plan.image.sha256, image_version=plan.image.version, base=plan.image.base,
        size=plan.image.size, old_sha256=target.old_sha256, old_version=target.old_version,
        tool_version=TOOL_VERSION, started_at=now)
    uow.session.add(attempt)
    uow.session.flush()
    for attempt_id in dead:
        written = uow.session.scalar(select(func.max(ProgrammingBlock.done)).where(
            ProgrammingBlock.attempt_id == attempt_id)) or 0
        uow.session.add(ProgrammingResult(
            attempt_id=attempt_id, result=AttemptResult.ABANDONED, code="abandoned",
            reason=f"no end was recorded: the station stopped during the attempt (closed by attempt {attempt.id})",
            first_bad_address=None, written=written, verified=False, chip_sha256=None, seconds=0.0, resent=0,
            ended_at=now))
    return attempt


def execute(db: Database, plan: ReflashPlan, programmer: ProgrammerLike, *, on_event: EventSink | None = None,
            abort: threading.Event | None = None) -> ReflashResult:
    """Read the chip, start the attempt, program and verify, end it; always releases the programmer.

    Whatever goes wrong, the attempt ends in the ledger with its outcome (Ctrl-C as aborted,
    and then goes on up). A ledger that cannot be written leaves it unfinished, never ok.
    """
    from drivers.programmer import ProgrammerError, VerifyFailed

    sink = on_event or (lambda _e: None)

    def emit(event: Any) -> None:  # a page that went away must not stop the attempt in the ledger
        try:
            sink(event)
        except Exception:  # noqa: BLE001
            log.warning("reflash of %s: the progress display failed", plan.tag, exc_info=True)

    abort = abort or threading.Event()
    target = _Target()
    started: ReflashStarted | None = None
    writer: BlockWriter | None = None
    written = 0
    t0 = time.monotonic()
    end = _End(AttemptResult.ERROR)
    try:
        try:
            _read_target(programmer, plan, target)
            readable = True
        except ProgrammerError as exc:  # nothing was written: the attempt ends before it starts
            end, readable = _classify(exc, plan, touched=False), False
        if readable:
            started = _start(db, plan, target)
            emit(started)
            writer = BlockWriter(db, started.attempt_id, plan.visit_id)

            def progress(p: Any) -> None:
                nonlocal written
                if abort.is_set():
                    raise _Stopped
                if p.phase == "write" and p.done > written:
                    written = p.done
                    writer.write(p.done)
                emit(ReflashProgress(p.phase, p.done, p.total, p.bytes_per_second, p.elapsed_s, p.seconds_left))

            try:
                done = programmer.program(plan.data, base=plan.image.base, socket=plan.socket,
                                          expect_chip=plan.image.chip_id, progress=progress)
                end = _End(AttemptResult.OK, written=done.size, verified=True, chip_sha256=done.sha256,
                           resent=done.resent, rate=done.bytes_per_second)
            except VerifyFailed as exc:
                end = _classify(exc, plan, touched=True, written=written)
                end.chip_sha256 = str(exc.params.get("actual") or "") or None
            except ProgrammerError as exc:
                end = _classify(exc, plan, touched=True, written=written)
            except _Stopped:
                end = _End(AttemptResult.ABORTED, "aborted", "stopped by the operator", plan.image.base + written,
                           written)
    except SQLAlchemyError as exc:
        # The ledger could not take the attempt: it stays unfinished (never ok); the lock goes if it can.
        _close(writer, programmer, db, plan)
        _release_lock(db, plan)
        result = ReflashResult(started.attempt_id if started else None, plan.tag, AttemptResult.ERROR,
                               "database_error", f"the programming ledger could not be written: "
                               f"{str(exc).splitlines()[0]}", written=written, durable=False)
        emit(result)
        return result
    except Exception as exc:  # noqa: BLE001
        log.exception("the reflash of %s stopped on an internal error", plan.tag)
        end = _End(AttemptResult.ERROR, "internal_error", f"the attempt stopped on an internal error: "
                   f"{type(exc).__name__}: {str(exc)[:200]}", plan.image.base + written if started else None, written)
    except BaseException:
        # Ctrl-C, or the process told to stop: the attempt ends as aborted before the process goes.
        _close(writer, programmer, db, plan)
        _end(db, plan, target, started, _End(AttemptResult.ABORTED, "aborted", "interrupted",
                                             plan.image.base + written if started else None, written),
             time.monotonic() - t0, emit)
        raise
    _close(writer, programmer, db, plan)
    return _end(db, plan, target, started, end, time.monotonic() - t0, emit)


@dataclass
class _End:
    result: AttemptResult
    code: str | None = None
    reason: str | None = None
    first_bad_address: int | None = None
    written: int = 0
    verified: bool = False
    chip_sha256: str | None = None
    resent: int = 0
    rate: float | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _classify(exc: Any, plan: ReflashPlan, *, touched: bool, written: int = 0) -> _End:
    """A driver error as the attempt's end: the chip's fault (failed) or the station's (error).

    The first bad address: the first differing byte a verify found, the address the chip refused,
    or, when the chip was touched and the attempt stopped mid-image, the first byte not acknowledged.
    """
    code = exc.code
    result = AttemptResult.FAILED if code in TARGET_FAILURES else AttemptResult.ERROR
    if exc.address is not None:
        first = exc.address
    elif touched and code != "programmer_verify_failed":
        first = plan.image.base + (exc.written if exc.written is not None else written)
    else:
        first = None
    params = {k: v for k, v in exc.params.items() if k in ("expected", "actual", "socket")}
    return _End(result, code, exc.message, first, exc.written if exc.written is not None else written,
                params=params)


def _close(writer: BlockWriter | None, programmer: ProgrammerLike, db: Database, plan: ReflashPlan) -> None:
    with _live_lock:
        _live.discard((str(db.engine.url), plan.visit_id))
    if writer is not None:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - a dead connection is closed already
            pass
    try:
        programmer.close()
    except Exception:  # noqa: BLE001 - releasing the port must never hide the outcome
        pass


def _release_lock(db: Database, plan: ReflashPlan) -> None:
    try:
        with db.uow() as uow:
            uow.session.execute(delete(ProgrammingLock).where(ProgrammingLock.visit_id == plan.visit_id,
                                                              ProgrammingLock.station == plan.station))
    except Exception:  # noqa: BLE001 - this station may retry its own attempt anyway
        log.warning("could not release the programming lock of %s", plan.tag, exc_info=True)


# ---------------------------------------------------------------- 5. the end

def _end(db: Database, plan: ReflashPlan, target: _Target, started: ReflashStarted | None, end: _End,
         seconds: float, emit: EventSink) -> ReflashResult:
    chip = target.chip
    result = ReflashResult(
        started.attempt_id if started else None, plan.tag, end.result, end.code, end.reason, end.first_bad_address,
        end.written, end.verified, seconds, end.rate, plan.from_version, target.old_version, plan.image.version,
        chip.id_hex if chip is not None else None, plan.image.chip_id)
    try:
        with db.uow() as uow:
            attempt_id = started.attempt_id if started else _attempt_row(uow, plan, target).id
            result.attempt_id = attempt_id
            uow.session.add(ProgrammingResult(
                attempt_id=attempt_id, result=end.result, code=end.code, reason=end.reason,
                first_bad_address=end.first_bad_address, written=end.written, verified=end.verified,
                chip_sha256=end.chip_sha256, seconds=round(seconds, 3), resent=end.resent, ended_at=uow.now()))
            visit = uow.session.get(Visit, plan.visit_id)
            actor = uow.session.get(User, plan.operator_id)
            details = {"attempt": attempt_id, "firmware": plan.image.version}
            if end.result is AttemptResult.OK:
                unit = uow.session.get(Unit, plan.unit_id)
                unit.firmware_version = plan.image.version
                result.alerts_done = _clear_alerts(uow, actor, visit, plan, attempt_id)
                details |= {"from_version": plan.from_version, "image": plan.image.sha256[:12], "verified": True}
                event, to = "programming_done", VisitState.AWAITING_TEST
            elif end.result is AttemptResult.FAILED:
                details |= _problem_details(end, plan)
                event, to = "programming_failed", VisitState.IN_REPAIR
            else:
                details |= _problem_details(end, plan)
                event, to = ("programming_aborted" if end.result is AttemptResult.ABORTED
                             else "programming_error"), None
            if to is not None and visit.state is VisitState.PROGRAMMING:
                transition(uow, actor, visit, to, event=event, details=details)
            else:  # no move (or the visit was moved meanwhile): the event still says what happened
                record_visit_event(uow, visit, actor, event, details=details)
            result.visit_state = visit.state.value
            uow.session.execute(delete(ProgrammingLock).where(ProgrammingLock.visit_id == plan.visit_id,
                                                              ProgrammingLock.station == plan.station))
    except Exception as exc:  # noqa: BLE001 - the operator is told; the attempt stays unfinished, never ok
        message = exc.message if isinstance(exc, DomainError) else (str(exc).splitlines() or [type(exc).__name__])[0]
        result.durable = False
        result.reason = f"the end of the attempt could not be written to the programming ledger: {message}"
        result.result = AttemptResult.ERROR
        _release_lock(db, plan)
    emit(result)
    return result


def _problem_details(end: _End, plan: ReflashPlan) -> dict[str, Any]:
    out: dict[str, Any] = {"code": end.code}
    if end.first_bad_address is not None:
        out["address"] = _hex(end.first_bad_address)
    if end.code == "programmer_wrong_chip":
        out |= {"expected": plan.image.chip_id, "actual": end.params.get("actual")}
    return out


def _clear_alerts(uow: UnitOfWork, actor: User, visit: Visit, plan: ReflashPlan, attempt_id: int) -> list[int]:
    """Interception alerts by a firmware the unit no longer carries: done, by the system, saying so."""
    from rma.intake import services as intake
    from rma.intake.models import Interception, InterceptionKind

    done = []
    for alert in intake.open_alerts(uow, visit):
        if alert["kind"] != InterceptionKind.FIRMWARE.value:
            continue
        interception = uow.session.get(Interception, alert["interception"])
        if interception.firmware != plan.image.version:
            intake.resolve_alert(uow, actor, visit.tag, alert["id"], by_system=True,
                                 note=f"{plan.from_version or '?'} → {plan.image.version}")
            done.append(alert["id"])
    return done


# ---------------------------------------------------------------- one call for the command line

def reflash_unit(db: Database, actor_name: str, key: str, *, port: str, socket: int = 1, station: str | None = None,
                 programmer_factory: Callable[[str], ProgrammerLike] | None = None,
                 on_event: EventSink | None = None, abort: threading.Event | None = None) -> ReflashResult:
    """Reflash the unit of ``key`` (a tag, or a serial: its open visit) through the programmer on ``port``."""
    port, socket = clean_port(port), check_socket(socket)
    programmer = open_programmer(port, programmer_factory)  # a malformed port is refused before anything
    try:
        plan = prepare(db, actor_name, key, port=port, socket=socket, station=station)
    except BaseException:
        programmer.close()
        raise
    return execute(db, plan, programmer, on_event=on_event, abort=abort)


# ---------------------------------------------------------------- the programming ledger

def _attempt_dict(a: ProgrammingAttempt, r: ProgrammingResult | None, tag: str | None, serial: str | None,
                  blocks: int | None = None) -> dict[str, Any]:
    return {
        "attempt_id": a.id, "tag": tag, "serial": serial, "station": a.station, "port": a.port,
        "operator": a.operator.username, "programmer": a.programmer, "programmer_serial": a.programmer_serial,
        "programmer_firmware": a.programmer_firmware, "socket": a.socket, "chip_id": a.chip_id,
        "chip_name": a.chip_name, "image_id": a.image_id, "image_sha256": a.image_sha256,
        "image_version": a.image_version, "base": _hex(a.base), "size": a.size, "old_sha256": a.old_sha256,
        "old_version": a.old_version, "tool_version": a.tool_version, "started_at": a.started_at.isoformat(),
        "ended_at": r.ended_at.isoformat() if r else None,
        "result": r.result.value if r else "unfinished", "code": r.code if r else None,
        "reason": r.reason if r else None, "first_bad_address": _hex(r.first_bad_address) if r else None,
        "written": r.written if r else blocks, "verified": r.verified if r else False,
        "chip_sha256": r.chip_sha256 if r else None, "seconds": r.seconds if r else None,
        "resent": r.resent if r else None,
    }


@dataclass
class AttemptFilter:
    tag: str | None = None
    serial: str | None = None
    station: str | None = None
    result: str | None = None  # ok / failed / error / aborted / abandoned / unfinished
    date_from: date | None = None
    date_to: date | None = None
    limit: int | None = None


RESULTS = tuple(r.value for r in AttemptResult) + ("unfinished",)


def list_attempts(uow: UnitOfWork, f: AttemptFilter) -> list[dict[str, Any]]:
    """The programming ledger, newest first, with filters."""
    q = (select(ProgrammingAttempt, ProgrammingResult, Visit.tag, Unit.serial)
         .outerjoin(ProgrammingResult, ProgrammingResult.attempt_id == ProgrammingAttempt.id)
         .outerjoin(Visit, Visit.id == ProgrammingAttempt.visit_id)
         .outerjoin(Unit, Unit.id == ProgrammingAttempt.unit_id))
    conds = []
    limit = check_limit(f.limit)
    if f.tag:
        conds.append(Visit.tag == clean_key(f.tag, "tag"))
    if f.serial:
        conds.append(Unit.serial == clean_key(f.serial, "serial"))
    if f.station:
        conds.append(ProgrammingAttempt.station == clean_text(f.station, "station"))
    if f.date_from:
        conds.append(ProgrammingAttempt.started_at >= datetime.combine(f.date_from, datetime.min.time()).astimezone())
    if f.date_to:
        conds.append(ProgrammingAttempt.started_at < datetime.combine(f.date_to + timedelta(days=1),
                                                                      datetime.min.time()).astimezone())
    if f.result:
        if f.result not in RESULTS:
            raise DomainError("bad_result", "a programming result is one of: {results}", results=", ".join(RESULTS))
        conds.append(ProgrammingResult.attempt_id.is_(None) if f.result == "unfinished"
                     else ProgrammingResult.result == AttemptResult(f.result))
    if conds:
        q = q.where(and_(*conds))
    q = q.order_by(ProgrammingAttempt.id.desc())
    if limit:
        q = q.limit(limit)
    rows = uow.session.execute(q).all()
    unfinished = [a.id for a, r, _t, _s in rows if r is None]
    done = dict(uow.session.execute(select(ProgrammingBlock.attempt_id, func.max(ProgrammingBlock.done))
                                    .where(ProgrammingBlock.attempt_id.in_(unfinished))
                                    .group_by(ProgrammingBlock.attempt_id)).all()) if unfinished else {}
    return [_attempt_dict(a, r, tag, serial, done.get(a.id, 0)) for a, r, tag, serial in rows]


def show_attempt(uow: UnitOfWork, attempt_id: int) -> dict[str, Any]:
    a = uow.session.get(ProgrammingAttempt, attempt_id) if known_id(attempt_id) else None
    if a is None:
        raise DomainError("unknown_attempt", "no programming attempt {attempt}", attempt=attempt_id)
    r = uow.session.get(ProgrammingResult, a.id)
    visit = uow.session.get(Visit, a.visit_id) if a.visit_id else None
    unit = uow.session.get(Unit, a.unit_id) if a.unit_id else None
    blocks, done, last = uow.session.execute(select(func.count(), func.max(ProgrammingBlock.done),
                                                    func.max(ProgrammingBlock.at))
                                             .where(ProgrammingBlock.attempt_id == a.id)).one()
    return {**_attempt_dict(a, r, visit.tag if visit else None, unit.serial if unit else None, done or 0),
            "blocks": blocks, "last_block_at": last.isoformat() if last else None}


def attempts_of_unit(uow: UnitOfWork, serial: str) -> list[dict[str, Any]]:
    return list_attempts(uow, AttemptFilter(serial=serial))


ATTEMPT_COLUMNS = ["attempt_id", "tag", "serial", "station", "operator", "programmer_serial", "socket", "chip_id",
                   "image_version", "image_sha256", "old_version", "old_sha256", "started_at", "ended_at", "result",
                   "code", "first_bad_address", "written", "verified", "seconds", "tool_version"]


def programming_queue(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Visits waiting in programming, oldest first, with the image each would get (for the bench page)."""
    visits = list(uow.session.scalars(select(Visit).where(Visit.state == VisitState.PROGRAMMING)
                                      .order_by(Visit.opened_at)))
    out = []
    for v in visits:
        try:
            image = registry.current_image(uow, v.unit.model)
            version, problem = image.version, None
        except DomainError as exc:
            version, problem = None, exc
        out.append({"tag": v.tag, "serial": v.unit.serial, "model": v.unit.model.code,
                    "firmware": v.unit.firmware_version, "image_version": version,
                    "problem": problem})
    return out

