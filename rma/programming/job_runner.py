"""Running an IC batch job on the gang programmer, socket by socket, round after round.

A round gives each socket that is on one IC: select it (a socket the programmer reports
disabled is switched off for the job, which goes on with the others), read the chip's ID (an
empty socket is passed over; another chip than the image's is a failed IC), then:

1. the attempt's start row is committed (*in progress*), with the job's link, before the chip
   is touched, in a transaction that first locks the blank part and refuses the attempt when
   the job holds no blank IC that is not already in a socket (``job_nothing_left``: never more
   ICs programmed than were issued) or has its good ICs already (``job_complete``);
2. ``program()`` erases, writes (each acknowledged block committed to the ledger) and verifies
   by the programmer's SHA-256;
3. one transaction ends it: the result row and, through the stores' services, the IC's move:
   ok → the programmed part into the job's bin, failed → the blank to scrap. Error or aborted
   (the programmer, its line, the operator): no move, the IC stays in the job to be done again.
   A socket whose last 3 ICs failed is switched off for the job.

Between rounds ``next_round(n)`` is asked (the operator puts new blanks in): False stops.

A station killed at any moment leaves at most one attempt without a result. ``resume`` reads
that IC again before anything else: the same chip whose programmer SHA-256 of the range is the
image's is counted good (ended ok, verified, its move booked); any other is ended *abandoned*
and erased and programmed again in the same socket. It is never guessed: an IC that cannot be
read (socket empty, programmer silent) stops the resume with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from rma import config
from rma.core.models import User
from rma.core.seals import AppendSeal
from rma.core.services import get_actor, require_role
from rma.db import Database, UnitOfWork
from rma.errors import DomainError
from rma.inventory import services as stores
from rma.inventory.ledger import lock_parts
from rma.inventory.models import Part, StockLocation
from rma.programming import jobs, registry
from rma.programming.job_models import (
    IcJob,
    IcJobAttempt,
    IcJobEvent,
    IcJobLock,
    JobEventKind,
)
from rma.programming.models import (
    AttemptResult,
    ProgrammingAttempt,
    ProgrammingBlock,
    ProgrammingResult,
)
from rma.programming.registry import ImageRef
from rma.programming.services import (
    HEARTBEAT_EVERY_S,
    LOCK_STALE,
    TARGET_FAILURES,
    TOOL_VERSION,
    ProgrammerLike,
    _cut,
    clean_port,
    open_programmer,
)

log = logging.getLogger(__name__)

SOCKET_OFF_AFTER = 3  # failed ICs in a row that switch a socket off
BEAT_WHILE_WAITING_S = 60.0  # the lock's heartbeat while the operator swaps the ICs between rounds
FATAL = frozenset({"programmer_timeout", "programmer_wrong_reply", "programmer_port_lost", "programmer_garbled",
                   "programmer_bad_crc"})  # the programmer or its line: the run stops


@dataclass
class JobPlan:
    job_id: int
    job: str
    image: ImageRef
    blank_part: str
    programmed_part: str
    bin: str
    quantity: int
    station: str
    port: str
    operator_id: int
    operator: str
    data: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class SocketEvent:
    """What a socket is doing: busy, ok, failed, error, aborted, empty, off, checked (resume), redo (resume)."""

    socket: int
    state: str
    attempt_id: int | None = None
    code: str | None = None
    reason: str | None = None
    first_bad_address: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class JobProgress:
    socket: int
    phase: str
    done: int
    total: int
    bytes_per_second: float
    seconds_left: float | None


@dataclass(frozen=True)
class RoundDone:
    round: int
    counts: dict[str, Any]


@dataclass
class JobRun:
    job: str
    stopped: str  # complete, nothing_left, all_sockets_off, no_ic, stopped, rounds, programmer_error, resume_failed
    message: str
    rounds: int = 0
    attempts: list[int] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "stopped": self.stopped, "message": self.message, "rounds": self.rounds,
                "attempts": self.attempts, "seconds": round(self.seconds, 3), "counts": self.counts}


class _Stop(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Aborted(Exception):
    pass


# ---------------------------------------------------------------- the job's lock

_live: set[tuple[str, int]] = set()
_live_lock = threading.Lock()


def _take_lock(uow: UnitOfWork, job: IcJob, actor: User, station: str) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    now = uow.now()
    lock = uow.session.get(IcJobLock, job.id, with_for_update=True)
    if lock is not None:
        with _live_lock:
            own_dead = lock.station == station and (str(uow.session.get_bind().url), job.id) not in _live
        if not own_dead and now - lock.heartbeat_at < LOCK_STALE:
            who = uow.session.get(User, lock.operator_id)
            raise _running(job.number, lock.station, who.username if who else "?")
        uow.session.delete(lock)
        uow.session.flush()
    dialect = uow.session.get_bind().dialect.name
    table = IcJobLock.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
        job_id=job.id, station=station, operator_id=actor.id, heartbeat_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["job_id"]).returning(table.c.job_id)
    if uow.session.execute(stmt).first() is None:
        raise _running(job.number)


def _running(job: str, station: str = "another station", user: str = "someone") -> DomainError:
    return DomainError("job_in_programming", "job {job} is being run at {station} by {user}", job=job,
                       station=station, user=user)


def _release(db: Database, plan: JobPlan) -> None:
    with _live_lock:
        _live.discard((str(db.engine.url), plan.job_id))
    try:
        with db.uow() as uow:
            uow.session.execute(delete(IcJobLock).where(IcJobLock.job_id == plan.job_id,
                                                        IcJobLock.station == plan.station))
    except Exception:  # noqa: BLE001 - the same station takes its own lock back anyway
        log.warning("could not release the lock of job %s", plan.job, exc_info=True)


def _beat(db: Database, plan: JobPlan) -> None:
    with db.uow() as uow:
        uow.session.execute(update(IcJobLock).where(IcJobLock.job_id == plan.job_id,
                                                    IcJobLock.station == plan.station)
                            .values(heartbeat_at=uow.now()))


def _waiting(db: Database, plan: JobPlan, ask: Callable[[int], bool], n: int) -> bool:
    """Ask the operator for the next round; the job's lock keeps its heartbeat while they swap the ICs."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(BEAT_WHILE_WAITING_S):
            try:
                _beat(db, plan)
            except Exception:  # noqa: BLE001 - the next start row finds out if the lock was lost
                log.warning("job %s: the heartbeat could not be written", plan.job, exc_info=True)

    threading.Thread(target=beat, name=f"beat-{plan.job}", daemon=True).start()
    try:
        return ask(n)
    finally:
        done.set()


def prepare(db: Database, actor_name: str, key: str, *, port: str, station: str | None = None,
            resume: bool = False) -> JobPlan:
    """Lock the job for this station, with its image (its file hashed again)."""
    station = station or config.station_settings().name
    port = clean_port(port)
    with db.uow() as uow:
        actor = get_actor(uow, actor_name)
        require_role(actor, *jobs.RUNNERS, action="run IC programming jobs")
        job = jobs.find_job(uow, key)
        image = uow.session.get(registry.FirmwareImage, job.image_id)
        state = registry.state_of(uow, image.id)
        registry.require_programmable(image, state)
        data = registry.image_bytes(image)  # a changed file is refused here, before anything
        left = jobs.unfinished_attempts(uow, job.id)
        if left and not resume:
            raise DomainError("job_needs_resume", "job {job} has an IC left in progress in socket {socket} "
                              "(attempt {attempt}): resume the job, which checks it first", job=job.number,
                              socket=left[0].socket, attempt=left[0].id)
        _take_lock(uow, job, actor, station)
        plan = JobPlan(job.id, job.number, registry.ImageRef.of(image, state),
                       uow.session.get(Part, job.blank_part_id).part_number,
                       uow.session.get(Part, job.programmed_part_id).part_number,
                       uow.session.get(StockLocation, job.bin_id).code, job.quantity, station, port, actor.id,
                       actor.username, data)
    with _live_lock:
        _live.add((str(db.engine.url), plan.job_id))
    return plan


# ---------------------------------------------------------------- start and end of one IC

def _attempt(plan: JobPlan, identity: Any, chip: Any, socket: int, now: Any) -> ProgrammingAttempt:
    return ProgrammingAttempt(
        visit_id=None, unit_id=None, station=plan.station, port=plan.port, operator_id=plan.operator_id,
        programmer=_cut(getattr(identity, "model", None)), programmer_serial=_cut(getattr(identity, "serial", None)),
        programmer_firmware=_cut(getattr(identity, "firmware", None)), socket=socket,
        chip_id=chip.id_hex if chip is not None else None, chip_name=chip.name[:32] if chip is not None else None,
        image_id=plan.image.id, image_sha256=plan.image.sha256, image_version=plan.image.version,
        base=plan.image.base, size=plan.image.size, old_sha256=None, old_version=None, tool_version=TOOL_VERSION,
        started_at=now)


def start_attempt(uow: UnitOfWork, plan: JobPlan, socket: int, identity: Any, chip: Any) -> int:
    """The start row of one IC's attempt, refused when the job has no blank IC left for it."""
    job = uow.session.get(IcJob, plan.job_id)
    blank = uow.session.get(Part, job.blank_part_id)
    lock_parts(uow, [blank.id])  # the job's blanks are decided once: issues and returns wait
    lock = uow.session.get(IcJobLock, job.id)
    if lock is None or lock.station != plan.station:
        raise _running(job.number, *((lock.station, "?") if lock else ()))
    row = jobs._job_rows(uow, [job])[0]
    if row["good"] >= job.quantity:
        raise DomainError("job_complete", "job {job} has its {quantity} good ICs: nothing more is programmed",
                          job=job.number, quantity=job.quantity)
    if row["left"] - row["in_progress"] < 1:
        raise DomainError("job_nothing_left", "job {job} holds no blank IC that is not already programmed or in "
                          "a socket ({issued} issued, {good} good, {failed} failed, {returned} returned, "
                          "{in_progress} in progress): issue more first", job=job.number, **{
                              k: row[k] for k in ("issued", "good", "failed", "returned", "in_progress")})
    attempt = _attempt(plan, identity, chip, socket, uow.now())
    uow.session.add(attempt)
    uow.session.flush()
    uow.session.add(IcJobAttempt(attempt_id=attempt.id, job_id=job.id))
    lock.heartbeat_at = uow.now()
    return attempt.id


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


def end_attempt(uow: UnitOfWork, plan: JobPlan, attempt_id: int, end: _End, seconds: float) -> None:
    """The result row and, for ok or failed, the IC's move through the stores, in this one transaction."""
    uow.session.add(ProgrammingResult(
        attempt_id=attempt_id, result=end.result, code=end.code, reason=end.reason,
        first_bad_address=end.first_bad_address, written=end.written, verified=end.verified,
        chip_sha256=end.chip_sha256, seconds=round(seconds, 3), resent=end.resent, ended_at=uow.now()))
    if end.result not in (AttemptResult.OK, AttemptResult.FAILED):
        return
    actor = uow.session.get(User, plan.operator_id)
    ok = end.result is AttemptResult.OK
    stores.book_job_result(uow, actor, job=plan.job, blank_part_number=plan.blank_part,
                           programmed_part_number=plan.programmed_part, good=1 if ok else 0,
                           failed=0 if ok else 1, bin_code=plan.bin)
    if not ok:
        socket = uow.session.get(ProgrammingAttempt, attempt_id).socket
        last = list(uow.session.scalars(
            select(ProgrammingResult.result).join(IcJobAttempt, IcJobAttempt.attempt_id == ProgrammingResult.attempt_id)
            .join(ProgrammingAttempt, ProgrammingAttempt.id == ProgrammingResult.attempt_id)
            .where(IcJobAttempt.job_id == plan.job_id, ProgrammingAttempt.socket == socket,
                   ProgrammingResult.result.in_([AttemptResult.OK, AttemptResult.FAILED]))
            .order_by(ProgrammingResult.attempt_id.desc()).limit(SOCKET_OFF_AFTER)))
        uow.session.flush()
        if len(last) >= SOCKET_OFF_AFTER and all(r is AttemptResult.FAILED for r in last) \
                and socket not in jobs.sockets_off(uow, plan.job_id):
            uow.session.add(IcJobEvent(job_id=plan.job_id, kind=JobEventKind.SOCKET_OFF, socket=socket,
                                       reason=f"the last {SOCKET_OFF_AFTER} ICs in socket {socket} failed",
                                       by_system=True, actor_id=plan.operator_id, at=uow.now()))


def _system_off(db: Database, plan: JobPlan, socket: int, reason: str) -> None:
    with db.uow() as uow:
        jobs.switch_socket(uow, uow.session.get(User, plan.operator_id), plan.job, socket, on=False,
                           reason=reason[:500], by_system=True)


class _Blocks:
    """Each acknowledged block committed to the ledger as it comes; the job lock's heartbeat moves."""

    def __init__(self, db: Database, attempt_id: int, job_id: int) -> None:
        self.attempt_id, self.job_id, self.clock = attempt_id, job_id, db.clock
        self.conn = db.engine.connect()
        self.table = ProgrammingBlock.__table__
        self.seal = AppendSeal(self.table.name, attempt_id)  # SQLite: the attempt's blocks hashed as they come
        self.seq, self.beat = 0, time.monotonic()

    def write(self, done: int) -> None:
        self.seq += 1
        with self.conn.begin():
            self.conn.execute(insert(self.table).values(attempt_id=self.attempt_id, seq=self.seq, done=done,
                                                        at=self.clock()))
            self.seal.seal(self.conn)
            if time.monotonic() - self.beat >= HEARTBEAT_EVERY_S:
                self.conn.execute(update(IcJobLock).where(IcJobLock.job_id == self.job_id)
                                  .values(heartbeat_at=self.clock()))
                self.beat = time.monotonic()
        self.seal.committed()

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass


# ---------------------------------------------------------------- the run

class _Runner:
    def __init__(self, db: Database, plan: JobPlan, programmer: ProgrammerLike, emit: Callable[[Any], None],
                 abort: threading.Event) -> None:
        self.db, self.plan, self.programmer, self.emit, self.abort = db, plan, programmer, emit, abort
        self.identity: Any = None
        self.attempts: list[int] = []

    def sockets_on(self) -> list[int]:
        with self.db.uow(readonly=True) as uow:
            off = jobs.sockets_off(uow, self.plan.job_id)
        return [s for s in range(1, int(self.identity.sockets) + 1) if s not in off]

    def _fatal(self, exc: Any) -> _Stop:
        return _Stop("programmer_error", exc.message)

    def _read(self, socket: int) -> Any:
        """Select the socket and read its chip: None when the socket is off or empty (nothing started)."""
        from drivers.programmer import ProgrammerError

        try:
            self.programmer.select(socket)
        except ProgrammerError as exc:
            if exc.code == "programmer_socket_disabled":
                _system_off(self.db, self.plan, socket, exc.message)
                self.emit(SocketEvent(socket, "off", code=exc.code, reason=exc.message))
                return None
            raise self._fatal(exc) from None
        try:
            return self.programmer.chip_id()
        except ProgrammerError as exc:
            if exc.code == "programmer_no_target":
                self.emit(SocketEvent(socket, "empty", code=exc.code, reason=exc.message))
                return None
            if exc.code in FATAL:
                raise self._fatal(exc) from None
            raise

    def one_ic(self, socket: int) -> str:
        """Program the IC in ``socket``: its state afterwards (ok, failed, error, aborted, empty, off)."""
        from drivers.programmer import ProgrammerError, VerifyFailed

        image = self.plan.image
        try:
            chip = self._read(socket)
        except ProgrammerError as exc:  # the chip answered, but not as a chip of this job: a failed IC
            return self._refused(socket, None, exc)
        if chip is None:
            return "off_or_empty"
        if chip.id_hex != image.chip_id:
            from drivers.programmer import ProgrammerError as PE

            return self._refused(socket, chip, PE("wrong chip in socket {socket}: expected ID {expected}, read "
                                                  "{actual}", code="programmer_wrong_chip", socket=socket,
                                                  expected=image.chip_id, actual=chip.id_hex))
        t0 = time.monotonic()
        attempt_id = self._start(socket, chip)
        self.emit(SocketEvent(socket, "busy", attempt_id))
        blocks = _Blocks(self.db, attempt_id, self.plan.job_id)
        written = 0

        def progress(p: Any) -> None:
            nonlocal written
            if self.abort.is_set():
                raise _Aborted
            if p.phase == "write" and p.done > written:
                written = p.done
                blocks.write(p.done)
            self.emit(JobProgress(socket, p.phase, p.done, p.total, p.bytes_per_second, p.seconds_left))

        fatal = None
        try:
            done = self.programmer.program(self.plan.data, base=image.base, socket=socket,
                                           expect_chip=image.chip_id, progress=progress)
            end = _End(AttemptResult.OK, written=done.size, verified=True, chip_sha256=done.sha256,
                       resent=done.resent)
        except VerifyFailed as exc:
            end = self._classify(exc, written)
            end.chip_sha256 = str(exc.params.get("actual") or "") or None
        except ProgrammerError as exc:
            end = self._classify(exc, written)
            fatal = exc if exc.code in FATAL else None
        except _Aborted:
            end = _End(AttemptResult.ABORTED, "aborted", "stopped by the operator", image.base + written, written)
        except BaseException:  # Ctrl-C or SIGTERM: the attempt ends as aborted, then the process goes
            blocks.close()
            self._end(attempt_id, _End(AttemptResult.ABORTED, "aborted", "interrupted", image.base + written,
                                       written), time.monotonic() - t0, socket)
            raise
        finally:
            blocks.close()
        self._end(attempt_id, end, time.monotonic() - t0, socket)
        if end.code == "programmer_socket_disabled":
            _system_off(self.db, self.plan, socket, end.reason or "socket disabled")
            self.emit(SocketEvent(socket, "off", code=end.code, reason=end.reason))
        if fatal is not None:
            raise self._fatal(fatal)
        if end.result is AttemptResult.ABORTED:
            raise _Stop("stopped", "stopped by the operator")
        return end.result.value

    def _classify(self, exc: Any, written: int) -> _End:
        result = AttemptResult.FAILED if exc.code in TARGET_FAILURES else AttemptResult.ERROR
        done = exc.written if exc.written is not None else written
        if exc.address is not None:
            first = exc.address
        elif exc.code != "programmer_verify_failed":
            first = self.plan.image.base + done
        else:
            first = None
        return _End(result, exc.code, exc.message, first, done)

    def _refused(self, socket: int, chip: Any, exc: Any) -> str:
        """A chip that is not this job's (wrong ID, too small): a failed IC, started and ended at once."""
        if exc.code not in TARGET_FAILURES:
            raise self._fatal(exc)
        attempt_id = self._start(socket, chip)
        self._end(attempt_id, _End(AttemptResult.FAILED, exc.code, exc.message), 0.0, socket)
        return "failed"

    def _start(self, socket: int, chip: Any) -> int:
        with self.db.uow() as uow:
            attempt_id = start_attempt(uow, self.plan, socket, self.identity, chip)
        self.attempts.append(attempt_id)
        return attempt_id

    def _end(self, attempt_id: int, end: _End, seconds: float, socket: int) -> None:
        with self.db.uow() as uow:
            end_attempt(uow, self.plan, attempt_id, end, seconds)
        self.emit(SocketEvent(socket, end.result.value, attempt_id, end.code, end.reason, end.first_bad_address,
                              seconds))

    # ---- resume

    def recover(self) -> None:
        """Each IC left in progress: counted good by the programmer's SHA-256, or erased and done again."""
        from drivers.programmer import ProgrammerError

        with self.db.uow(readonly=True) as uow:
            left = [(a.id, a.socket, a.chip_id) for a in jobs.unfinished_attempts(uow, self.plan.job_id)]
        image = self.plan.image
        for attempt_id, socket, chip_id in left:
            try:
                self.programmer.select(socket)
                chip = self.programmer.chip_id()
                digest = self.programmer.hash(image.base, image.size).hex() if chip.id_hex == image.chip_id \
                    else None
            except ProgrammerError as exc:
                raise _Stop("resume_failed", f"the IC left in progress in socket {socket} (attempt {attempt_id}) "
                                             f"could not be read: {exc.message}; put it back in socket {socket} "
                                             f"and resume") from None
            if chip.id_hex == chip_id and digest == image.sha256:
                self._end(attempt_id, _End(AttemptResult.OK, "checked_on_resume",
                                           "the station stopped during the attempt; on resume the programmer's "
                                           "SHA-256 of the chip was the image's", None, image.size, True, digest),
                          0.0, socket)
                self.emit(SocketEvent(socket, "checked", attempt_id))
                continue
            self._end(attempt_id, _End(AttemptResult.ABANDONED, "abandoned",
                                       "the station stopped during the attempt; on resume the chip did not hold "
                                       "the image: erased and programmed again", None, 0, False, digest),
                      0.0, socket)
            self.emit(SocketEvent(socket, "redo", attempt_id))
            self.one_ic(socket)


def run_job(db: Database, actor_name: str, key: str, *, port: str, station: str | None = None,
            resume: bool = False, programmer_factory: Callable[[str], ProgrammerLike] | None = None,
            on_event: Callable[[Any], None] | None = None, abort: threading.Event | None = None,
            next_round: Callable[[int], bool] | None = None, rounds: int | None = None) -> JobRun:
    """Run (or resume) job ``key`` on the programmer at ``port`` until it is complete, has nothing left,
    the operator stops it, ``rounds`` rounds are done, or ``next_round`` says no."""
    port = clean_port(port)
    if rounds is not None and not 1 <= rounds <= 100_000:
        raise DomainError("bad_rounds", "rounds is a number from 1 to 100000, not {rounds}", rounds=rounds)
    programmer = open_programmer(port, programmer_factory)
    try:
        plan = prepare(db, actor_name, key, port=port, station=station, resume=resume)
    except BaseException:
        programmer.close()
        raise
    sink = on_event or (lambda _e: None)

    def emit(event: Any) -> None:
        try:
            sink(event)
        except Exception:  # noqa: BLE001 - a display that went away never stops the job
            log.warning("job %s: the display failed", plan.job, exc_info=True)

    runner = _Runner(db, plan, programmer, emit, abort or threading.Event())
    t0, n = time.monotonic(), 0
    run = JobRun(plan.job, "stopped", "stopped")
    try:
        from drivers.programmer import ProgrammerError

        try:
            programmer.open()
            runner.identity = programmer.identify()
        except ProgrammerError as exc:
            raise _Stop("programmer_error", exc.message) from None
        if resume:
            runner.recover()
        while True:
            on = runner.sockets_on()
            if not on:
                raise _Stop("all_sockets_off", f"every socket of the programmer is off for job {plan.job}")
            n += 1
            answered = 0
            for socket in on:
                if runner.abort.is_set():
                    raise _Stop("stopped", "stopped by the operator")
                try:
                    state = runner.one_ic(socket)
                except DomainError as exc:
                    if exc.code == "job_complete":
                        raise _Stop("complete", exc.message) from None
                    if exc.code == "job_nothing_left":
                        raise _Stop("nothing_left", exc.message) from None
                    raise
                answered += state != "off_or_empty"
            with db.uow(readonly=True) as uow:
                counts = jobs.show_job(uow, plan.job)
            emit(RoundDone(n, counts))
            if counts["good"] >= plan.quantity:
                raise _Stop("complete", f"job {plan.job} has its {plan.quantity} good ICs")
            if counts["left"] - counts["in_progress"] < 1:
                raise _Stop("nothing_left", f"job {plan.job} holds no blank IC left to program: issue more first")
            if not answered:
                raise _Stop("no_ic", f"no IC answered in any socket that is on: put blank ICs in the sockets "
                                     f"of job {plan.job}")
            if rounds is not None and n >= rounds:
                raise _Stop("rounds", f"{n} round(s) done")
            if next_round is not None and not _waiting(db, plan, next_round, n):
                raise _Stop("stopped", "stopped by the operator")
    except _Stop as stop:
        run.stopped, run.message = stop.code, stop.message
    except SQLAlchemyError as exc:
        run.stopped = "database_error"
        run.message = f"the programming ledger could not be written: {(str(exc).splitlines() or ['?'])[0]}"
    finally:
        try:
            programmer.close()
        except Exception:  # noqa: BLE001
            pass
        _release(db, plan)
    run.rounds, run.attempts, run.seconds = n, runner.attempts, time.monotonic() - t0
    with db.uow(readonly=True) as uow:
        run.counts = jobs.show_job(uow, plan.job)
    if run.counts["good"] >= plan.quantity and run.stopped != "complete":
        run.stopped, run.message = "complete", f"job {plan.job} has its {plan.quantity} good ICs"
    emit(run)
    return run
