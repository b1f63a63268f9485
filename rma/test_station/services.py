"""The tester's use cases: run a model's test plan against the fixture, keep the test ledger.

A run is blocking work (serial I/O): the web page runs it in a worker thread and gets
its progress through ``on_event``; the CLI runs it directly. Every step is committed to
the ledger as it completes; the outcome is shown only after its end row is committed.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from rma import config
from rma.core.checks import Violation, register_check
from rma.core.ledger import record_visit_event
from rma.core.models import LedgerRow, Role, Unit, User, Visit
from rma.core.parse import check_limit, clean_key, clean_text, known_id
from rma.core.seals import AppendSeal, insert_sealed, ledger_for, note_written
from rma.core.services import find_open_visit, get_actor, require_role, transition
from rma.core.states import VisitState
from rma.db import Database, UnitOfWork
from rma.errors import DomainError
from rma.test_station.models import (
    Outcome,
    RunKind,
    TestLock,
    TestPlanRecord,
    TestRun,
    TestRunEnd,
    TestStepResult,
    Verdict,
)
from rma.test_station.plans import Plan, Step, plan_for_model

log = logging.getLogger(__name__)

TESTERS = (Role.TESTER, Role.LEAD)
INCOMING_STATES = (VisitState.RECEIVED, VisitState.AWAITING_BENCH)
LOCK_STALE = timedelta(minutes=30)  # a lock without a heartbeat this long belongs to a dead station
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
YES = {"yes", "y", "ok", "pass", "1", "true", "是"}
NO = {"no", "n", "fail", "0", "false", "否"}


class FixtureLike(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str: ...
    def query(self, command: str, *, timeout: float | None = None) -> Any: ...


@dataclass
class StepOutcome:
    seq: int
    step_id: str
    name: str
    kind: str
    command: str | None
    limits: dict[str, Any]
    value: str | None
    numeric: float | None
    verdict: Verdict
    message: str | None
    raw: str | None
    attempts: int
    elapsed_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "step": self.step_id, "name": self.name, "kind": self.kind,
                "command": self.command, "limits": self.limits, "value": self.value, "numeric": self.numeric,
                "verdict": self.verdict.value, "message": self.message, "raw": self.raw,
                "attempts": self.attempts, "elapsed_ms": round(self.elapsed_ms, 3)}


@dataclass
class RunStarted:
    run_id: int
    tag: str
    serial: str
    model: str
    kind: RunKind
    attempt: int
    plan: Plan
    checklist: list[str]
    firmware: str | None
    port: str = ""
    visit_id: int = 0


@dataclass
class RunResult:
    run_id: int
    tag: str
    outcome: Outcome
    reason: str | None
    fixture: str | None
    steps: list[StepOutcome] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    checklist: dict[str, bool] = field(default_factory=dict)
    durable: bool = True  # the end of the run is in the ledger

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "tag": self.tag, "outcome": self.outcome.value, "reason": self.reason,
                "fixture": self.fixture, "failed_steps": self.failed_steps, "checklist": self.checklist,
                "durable": self.durable, "steps": [s.as_dict() for s in self.steps]}


Answerer = Callable[[Step], "str | None"]  # a prompt's answer; None: nobody answered
ChecklistAnswer = Callable[[list[str]], "dict[str, bool] | None"]
EventSink = Callable[[Any], None]  # gets RunStarted, StepOutcome, RunResult


def escape(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("ascii", "backslashreplace")


# ---------------------------------------------------------------- judging one reply

def judge(step: Step, text: str, firmware: str | None) -> tuple[Verdict, float | None, str | None]:
    """The verdict of one reply (or operator answer) against the step's limits."""
    text = text.strip()
    if step.kind == "range":
        if not NUMBER_RE.match(text):
            return Verdict.ERROR, None, f"reply {text[:40]!r} is not a number"
        value = float(text)
        if not math.isfinite(value):
            return Verdict.ERROR, None, f"reply {text!r} is not a finite number"
        unit = f" {step.unit}" if step.unit else ""
        if value < step.minimum:
            return Verdict.FAIL, value, f"{value:g}{unit} is below {step.minimum:g}{unit}"
        if value > step.maximum:
            return Verdict.FAIL, value, f"{value:g}{unit} is above {step.maximum:g}{unit}"
        return Verdict.PASS, value, None
    if step.kind == "equals":
        expected = step.expected_value(firmware)
        if expected is None:
            return Verdict.ERROR, None, "the model has no current firmware version in the catalogue"
        return (Verdict.PASS, None, None) if text == expected else (
            Verdict.FAIL, None, f"{text[:60]!r} is not {expected!r}")
    if step.kind == "regex":
        return (Verdict.PASS, None, None) if re.search(step.pattern, text) else (
            Verdict.FAIL, None, f"{text[:60]!r} does not match {step.pattern!r}")
    # an operator prompt
    if step.answer == "yes_no":
        answer = text.lower()
        if answer in YES:
            return Verdict.PASS, None, None
        if answer in NO:
            return Verdict.FAIL, None, "the operator answered no"
        return Verdict.ERROR, None, f"{text[:20]!r} is not yes or no"
    if step.pattern and not re.search(step.pattern, text):
        return Verdict.FAIL, None, f"scanned {text[:60]!r} does not match {step.pattern!r}"
    return Verdict.PASS, None, None


# ---------------------------------------------------------------- starting a run

def _insert_ignoring_duplicates(uow: UnitOfWork, model: type, key: str, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: whether this row went in (False: another station's is there).

    A duplicate never breaks the transaction (no failed statement, no rolled-back session), on
    PostgreSQL as on SQLite: the loser of a race gets a clear answer, not PendingRollbackError.
    """
    dialect = uow.session.get_bind().dialect.name
    table = model.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    went_in = uow.session.execute(stmt).first() is not None
    if went_in and issubclass(model, LedgerRow):  # written with Core: its stream is sealed at commit all the same
        note_written(uow.session, table.name, values[ledger_for(table.name).stream])
    return went_in


def _plan_record(uow: UnitOfWork, plan: Plan) -> None:
    """The exact text that judges the run (as parsed, never re-read from a file that may have changed)."""
    if uow.session.get(TestPlanRecord, plan.sha256) is None:
        _insert_ignoring_duplicates(uow, TestPlanRecord, "sha256", {
            "sha256": plan.sha256, "model": plan.model, "name": plan.name, "version": plan.version,
            "source": plan.source[-500:], "text": plan.text, "first_used_at": uow.now()})


def _in_test(tag: str, station: str = "another station", user: str = "someone") -> DomainError:
    """Another station holds the visit (named when known; a lost race only says that someone does)."""
    return DomainError("visit_in_test", "visit {tag} is being tested at {station} by {user}",
                       tag=tag, station=station, user=user)


# Runs going on in this process (the web app's worker threads): this station's own lock of a
# live run is never taken over; a lock of this station whose run is not live here is a run
# that died (a crash, a killed command), and the station may always retry it.
_live_runs: set[tuple[str, int]] = set()  # (database URL, run id)
_live_lock = threading.Lock()


def _live_key(engine_url: Any, run_id: int | None) -> tuple[str, int]:
    return str(engine_url), run_id or 0


def _take_lock(uow: UnitOfWork, visit: Visit, actor: User, station: str) -> None:
    """Lock the visit for this station; a dead station's stale lock, or this station's own dead run, is taken over."""
    now, tag, visit_id = uow.now(), visit.tag, visit.id
    lock = uow.session.get(TestLock, visit_id, with_for_update=True)
    if lock is not None:
        with _live_lock:
            own_dead_run = lock.station == station and \
                _live_key(uow.session.get_bind().url, lock.run_id) not in _live_runs
        if not own_dead_run and now - lock.heartbeat_at < LOCK_STALE:
            who = uow.session.get(User, lock.operator_id)
            raise _in_test(tag, lock.station, who.username if who else "?")
        uow.session.delete(lock)
        uow.session.flush()
    if not _insert_ignoring_duplicates(uow, TestLock, "visit_id", {
            "visit_id": visit_id, "station": station, "operator_id": actor.id, "heartbeat_at": now}):
        holder = uow.session.execute(
            select(TestLock.station, User.username).join(User, User.id == TestLock.operator_id)
            .where(TestLock.visit_id == visit_id)).first()
        raise _in_test(tag, holder[0], holder[1]) if holder else _in_test(tag)


def _release_lock(db: Database, run_id: int, visit_id: int) -> None:
    """After a run that could not end normally: its lock goes (best effort; the database may be down)."""
    try:
        with db.uow() as uow:
            uow.session.execute(delete(TestLock).where(TestLock.visit_id == visit_id, TestLock.run_id == run_id))
    except Exception:  # noqa: BLE001 - this station may retry its own run anyway
        log.warning("could not release the test lock of run %s", run_id, exc_info=True)


def preflight(uow: UnitOfWork, tag: str, *, incoming: bool) -> tuple[Visit, Plan, list[str], str | None]:
    """Checks that need no writing: the visit may be tested now, and its model has a valid plan.

    ``tag`` is what the tester scanned: the tag, or the unit's serial (its open visit).
    """
    visit = find_open_visit(uow, tag)
    if incoming:
        if visit.state not in INCOMING_STATES:
            raise DomainError("not_testable", "visit {tag} is {state}: an incoming test is for units just received "
                              "or awaiting the bench", tag=visit.tag, state=visit.state.value)
    elif visit.state not in (VisitState.AWAITING_TEST, VisitState.IN_TEST):
        raise DomainError("not_testable", "visit {tag} is {state}: only a unit awaiting test can be tested",
                          tag=visit.tag, state=visit.state.value)
    model = visit.unit.model
    plan = plan_for_model(model.code)
    return visit, plan, plan.checklist(list(model.accessories or [])), model.firmware_version


def start_run(db: Database, actor_name: str, tag: str, *, port: str, incoming: bool,
              station: str | None = None) -> RunStarted:
    """Lock the visit, record the plan and the run, and (outgoing) move the visit into test."""
    station = station or config.station_settings().name
    port = clean_text(port, "fixture port", column=TestRun.port, required=True)
    kind = RunKind.INCOMING if incoming else RunKind.OUTGOING
    with db.uow() as uow:
        actor = get_actor(uow, actor_name)
        require_role(actor, *TESTERS, action="run tests")
        visit, plan, checklist, firmware = preflight(uow, tag, incoming=incoming)
        _take_lock(uow, visit, actor, station)  # a live lock of another station refuses here
        _plan_record(uow, plan)
        attempt = 1 + (uow.session.scalar(select(func.count()).select_from(TestRun).where(
            TestRun.visit_id == visit.id, TestRun.kind == kind)) or 0)
        run = TestRun(visit_id=visit.id, kind=kind, attempt=attempt, station=station, port=port,
                      operator_id=actor.id, plan_sha256=plan.sha256, model=plan.model, started_at=uow.now())
        uow.session.add(run)
        uow.session.flush()  # the lock is ours: no other station numbers an attempt of this visit now
        uow.session.get(TestLock, visit.id).run_id = run.id
        if not incoming and visit.state is VisitState.AWAITING_TEST:
            transition(uow, actor, visit, VisitState.IN_TEST, event="test_started",
                       details={"run": run.id, "station": station, "attempt": attempt})
        elif visit.state is VisitState.IN_TEST:  # its station died mid-run: this one carries on
            record_visit_event(uow, visit, actor, "test_taken_over", details={"run": run.id, "station": station})
        started = RunStarted(run.id, visit.tag, visit.unit.serial, plan.model, kind, attempt, plan, checklist,
                             firmware, port, visit.id)
    with _live_lock:
        _live_runs.add(_live_key(db.engine.url, started.run_id))
    return started


# ---------------------------------------------------------------- running it

HEARTBEAT_EVERY_S = 5.0


class StepWriter:
    """Commits each step to the test ledger as it completes, on one connection kept for the run.

    A step and the seal of the run's stream of steps (``rma.core.seals``) go together: on
    PostgreSQL in one statement in autocommit (one round trip), on SQLite in one short
    transaction that hashes only the new step (``AppendSeal``). No pool checkout and no ORM flush
    per step.
    """

    def __init__(self, db: Database, run_id: int, visit_id: int, clock: Callable[[], datetime]) -> None:
        self.run_id, self.visit_id, self.clock = run_id, visit_id, clock
        self.conn = db.engine.connect()
        self.postgres = db.engine.dialect.name == "postgresql"
        if self.postgres:  # autocommit: the seal's timestamps are rendered by the session's settings
            self.conn = self.conn.execution_options(isolation_level="AUTOCOMMIT")
            self.conn.execute(text("SET TIME ZONE 'UTC'"))  # (DateStyle: ISO on every connection, rma.db)
        self.table = TestStepResult.__table__
        self.seal = AppendSeal(self.table.name, run_id)  # SQLite: the run's steps hashed as they come
        self.beat = time.monotonic()

    def write(self, s: StepOutcome) -> None:
        values = dict(
            run_id=self.run_id, seq=s.seq, step_id=s.step_id, name=s.name[:200], kind=s.kind, command=s.command,
            limits=s.limits, value=s.value, numeric=s.numeric, verdict=s.verdict.value, message=s.message,
            raw=s.raw, attempts=s.attempts, at=self.clock(), elapsed_ms=s.elapsed_ms)
        beat = None
        if time.monotonic() - self.beat >= HEARTBEAT_EVERY_S:  # other stations: this run is alive
            beat = (update(TestLock).where(TestLock.visit_id == self.visit_id, TestLock.run_id == self.run_id)
                    .values(heartbeat_at=self.clock()))
            self.beat = time.monotonic()
        if self.postgres:  # one writer per run (its lock): the row and its seal in one statement
            insert_sealed(self.conn, self.table, values)
            if beat is not None:
                self.conn.execute(beat)
            return
        with self.conn.begin():
            self.conn.execute(insert(self.table).values(**values))
            self.seal.seal(self.conn)
            if beat is not None:
                self.conn.execute(beat)
        self.seal.committed()

    def heartbeat(self) -> None:
        """Before a wait on the operator: the lock stays fresh however long a step takes."""
        self.beat = 0.0
        stmt = (update(TestLock).where(TestLock.visit_id == self.visit_id, TestLock.run_id == self.run_id)
                .values(heartbeat_at=self.clock()))
        if self.postgres:
            self.conn.execute(stmt)
        else:
            with self.conn.begin():
                self.conn.execute(stmt)
        self.beat = time.monotonic()

    def close(self) -> None:
        if self.postgres:
            try:  # the connection goes back to the pool as it came
                self.conn.execute(text("RESET TIME ZONE"))
            except SQLAlchemyError:
                pass
        self.conn.close()


def _exchange(fixture: FixtureLike, step: Step, answer: Answerer, firmware: str | None):
    """One try of a step: (verdict, value, numeric, message, raw bytes, port_lost)."""
    from drivers.fixture import FixtureCommandError, FixtureError, FixturePortLost

    raw = b""
    text: str | None = None
    try:
        if step.send:
            reply = fixture.query(step.send, timeout=step.timeout_s)
            raw = reply.raw
            text = reply.payload
        if step.kind == "prompt":
            given = answer(step)
            if given is None:
                return Verdict.ERROR, None, None, f"the prompt {step.id!r} needs an answer: {step.prompt}", raw, False
            text = given
    except FixturePortLost as exc:
        return Verdict.ERROR, None, None, f"fixture port lost: {exc.message}", raw + (exc.raw or b""), True
    except FixtureCommandError as exc:
        return Verdict.ERROR, None, None, f"the fixture refused {step.send!r}: {exc.message}", raw + (exc.raw or b""), False
    except FixtureError as exc:
        return Verdict.ERROR, None, None, exc.message, raw + (exc.raw or b""), False
    verdict, numeric, message = judge(step, text or "", firmware)
    return verdict, text, numeric, message, raw, False


def execute_run(
    db: Database, started: RunStarted, fixture: FixtureLike, *, answer: Answerer,
    checklist: ChecklistAnswer, on_event: EventSink | None = None, abort: threading.Event | None = None,
) -> RunResult:
    """Run every step of the plan on an opened-or-not fixture; always releases it and ends the run.

    Whatever goes wrong, the run ends: an unforeseen exception ends it as ERROR (Ctrl-C as
    ABORTED, and then goes on up) with its end row written and the visit unlocked; a ledger that
    cannot be written leaves it incomplete (never PASS) and the lock is released if it can be.
    """
    sink = on_event or (lambda _e: None)

    def emit(event: Any) -> None:  # a page that went away must not stop the run in the ledger
        try:
            sink(event)
        except Exception:  # noqa: BLE001
            log.warning("run %s: the progress display failed", started.run_id, exc_info=True)

    abort = abort or threading.Event()
    emit(started)
    steps: list[StepOutcome] = []
    failed: list[str] = []
    outcome: Outcome | None = None
    reason: str | None = None
    identity: str | None = None
    ticks: dict[str, bool] = {}
    writer: StepWriter | None = None
    try:
        from drivers.fixture import FixtureError

        writer = StepWriter(db, started.run_id, started.visit_id, db.clock)
        t0 = time.perf_counter()
        try:
            fixture.open()
            identity = fixture.identify()
            verdict, message = Verdict.PASS, None
        except FixtureError as exc:
            verdict, message = Verdict.ERROR, f"the fixture on {started.port} does not answer: {exc.message}"
            outcome, reason = Outcome.ERROR, message
        first = StepOutcome(0, "fixture.identify", "Fixture identity", "identify", "*IDN?", {}, identity, None,
                            verdict, message, None, 1, (time.perf_counter() - t0) * 1000)
        writer.write(first)
        steps.append(first)
        emit(first)
        for seq, step in enumerate(started.plan.steps if outcome is None else (), 1):
            if abort.is_set():
                outcome, reason = Outcome.ABORTED, "stopped by the tester"
                break
            t0 = time.perf_counter()
            raws: list[bytes] = []
            attempts = 0
            while True:
                attempts += 1
                if step.kind == "prompt":
                    writer.heartbeat()
                verdict, value, numeric, message, raw, lost = _exchange(fixture, step, answer, started.firmware)
                raws.append(raw)
                if verdict is Verdict.PASS or lost or attempts > step.retries or abort.is_set():
                    break
            result = StepOutcome(seq, step.id, step.name, step.kind, step.send, step.limits(started.firmware),
                                 value, numeric, verdict, message, escape(b"".join(raws)) if any(raws) else None,
                                 attempts, (time.perf_counter() - t0) * 1000)
            writer.write(result)
            steps.append(result)
            emit(result)
            if verdict is Verdict.ERROR:
                outcome, reason = ((Outcome.ABORTED, "stopped by the tester") if abort.is_set()
                                   else (Outcome.ERROR, f"step {step.id}: {message}"))
                break
            if verdict is Verdict.FAIL:
                failed.append(step.id)
                if started.plan.stop_on_fail:
                    break
        if outcome is None and not failed and started.kind is RunKind.OUTGOING:
            given = checklist(started.checklist)
            if abort.is_set():
                outcome, reason = Outcome.ABORTED, "stopped by the tester"
            elif given is None:
                outcome, reason = Outcome.ERROR, "the accessories and packaging check was not answered"
            else:
                ticks = {item: bool(given.get(item)) for item in started.checklist}
                missing = [item for item, ok in ticks.items() if not ok]
                if missing:
                    outcome, reason = Outcome.FAIL, "missing accessories or packaging: " + ", ".join(missing)
        if outcome is None:
            if failed:
                outcome, reason = Outcome.FAIL, "failed: " + ", ".join(failed)
            else:
                outcome = Outcome.PASS
    except SQLAlchemyError as exc:
        # The ledger could not take a step: the run stays incomplete (no end row), never PASS.
        _close(writer, fixture, _live_key(db.engine.url, started.run_id))
        _release_lock(db, started.run_id, started.visit_id)
        result = RunResult(started.run_id, started.tag, Outcome.ERROR,
                           f"the test ledger could not be written: {str(exc).splitlines()[0]}", identity, steps,
                           failed, ticks, durable=False)
        emit(result)
        return result
    except Exception as exc:  # noqa: BLE001
        # Anything else (a bug): the run still ends in the ledger, as ERROR, and lets go of the visit.
        log.exception("run %s stopped on an internal error", started.run_id)
        _close(writer, fixture, _live_key(db.engine.url, started.run_id))
        return _end_run(db, started, Outcome.ERROR, f"the run stopped on an internal error: {type(exc).__name__}: "
                        f"{str(exc)[:200]}", identity, steps, failed, ticks, emit)
    except BaseException:
        # Ctrl-C or the process told to stop: the run ends as ABORTED before the process goes.
        _close(writer, fixture, _live_key(db.engine.url, started.run_id))
        _end_run(db, started, Outcome.ABORTED, "interrupted", identity, steps, failed, ticks, emit)
        raise
    _close(writer, fixture, _live_key(db.engine.url, started.run_id))
    return _end_run(db, started, outcome, reason, identity, steps, failed, ticks, emit)


def _close(writer: StepWriter | None, fixture: FixtureLike, live: tuple[str, int]) -> None:
    """The run's ledger connection and the fixture port go back, whatever happened."""
    with _live_lock:
        _live_runs.discard(live)
    if writer is not None:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - a dead connection is closed already
            pass
    try:
        fixture.close()
    except Exception:  # noqa: BLE001 - releasing the port must never hide the run's outcome
        pass


def _end_run(db, started, outcome, reason, identity, steps, failed, ticks, emit) -> RunResult:  # noqa: ANN001
    result = RunResult(started.run_id, started.tag, outcome, reason, identity, steps, failed, ticks)
    try:
        with db.uow() as uow:
            run = uow.session.get(TestRun, started.run_id)
            uow.session.add(TestRunEnd(run_id=run.id, outcome=outcome, reason=reason, fixture=identity,
                                       failed_steps=failed, checklist=ticks, ended_at=uow.now()))
            visit = uow.session.get(Visit, run.visit_id)
            actor = uow.session.get(User, run.operator_id)
            details = {"run": run.id, "outcome": outcome.value, **({"reason": reason} if reason else {}),
                       **({"failed_steps": failed} if failed else {})}
            if started.kind is RunKind.OUTGOING and visit.state is VisitState.IN_TEST:
                to, event = {Outcome.PASS: (VisitState.PASSED, "test_passed"),
                             Outcome.FAIL: (VisitState.IN_REPAIR, "test_failed")}.get(
                    outcome, (VisitState.AWAITING_TEST, "test_aborted"))
                transition(uow, actor, visit, to, event=event, details=details)
            elif started.kind is RunKind.INCOMING:
                record_visit_event(uow, visit, actor, "incoming_test", details=details)
            lock = uow.session.get(TestLock, visit.id)
            if lock is not None and lock.run_id == run.id:
                uow.session.delete(lock)
    except Exception as exc:  # noqa: BLE001 - the tester is told; the run stays incomplete, never PASS
        message = exc.message if isinstance(exc, DomainError) else (str(exc).splitlines() or [type(exc).__name__])[0]
        result.durable = False
        result.reason = f"the end of the run could not be written to the test ledger: {message}"
        result.outcome = Outcome.ERROR
        _release_lock(db, started.run_id, started.visit_id)
    emit(result)
    return result


def run_test(
    db: Database, actor_name: str, tag: str, *, port: str, incoming: bool = False,
    answers: dict[str, str] | None = None, accessories_ok: bool = False, missing: list[str] | None = None,
    fixture_factory: Callable[[str], FixtureLike] | None = None, on_event: EventSink | None = None,
) -> RunResult:
    """Non-interactive run (the CLI): prompts answered from ``answers``, the checklist from options.

    Everything that needs an answer is checked before anything is written or opened.
    """
    answers = {k.strip(): clean_text(v, "answer", limit=ANSWER_MAX) or ""
               for k, v in (answers or {}).items()}
    port = clean_text(port, "fixture port", column=TestRun.port, required=True)
    with db.uow(readonly=True) as uow:
        _, plan, checklist, _ = preflight(uow, tag, incoming=incoming)
    for step in plan.prompts:
        if step.id not in answers:
            raise DomainError("prompt_needs_answer", "step {step} asks the operator: {prompt} (answer with --answer {step}=…)",
                              step=step.id, prompt=step.prompt)
    unknown = sorted(set(answers) - {s.id for s in plan.prompts})
    if unknown:
        raise DomainError("unknown_prompt", "the plan of {model} has no prompt {steps}", model=plan.model,
                          steps=", ".join(unknown))
    missing = [m.strip() for m in (missing or []) if m.strip()]
    if not incoming:
        if not accessories_ok and not missing:
            raise DomainError("checklist_needs_answer", "say how the accessories and packaging are: --accessories-ok "
                              "or --missing ITEM (the list: {items})", items=", ".join(checklist))
        wrong = [m for m in missing if m not in checklist]
        if wrong:
            raise DomainError("unknown_accessory", "{items} is not an accessory of {model} ({known})",
                              items=", ".join(wrong), model=plan.model, known=", ".join(checklist))
    fixture = open_fixture(port, fixture_factory)  # a malformed port is refused before anything is written
    try:
        started = start_run(db, actor_name, tag, port=port, incoming=incoming)
    except BaseException:
        fixture.close()
        raise
    return execute_run(db, started, fixture, answer=lambda s: answers.get(s.id),
                       checklist=lambda items: {i: i not in missing for i in items}, on_event=on_event)


ANSWER_MAX = 200  # an operator's answer: yes/no or a scanned label


def open_fixture(port: str, factory: Callable[[str], FixtureLike] | None = None) -> FixtureLike:
    """The fixture's driver for ``port`` (not opened yet); a port that cannot be one is a clear error."""
    if factory is None:
        from drivers.fixture import SerialFixture

        factory = SerialFixture
    try:
        return factory(port)
    except (ValueError, OSError) as exc:
        raise DomainError("bad_fixture_port", "the fixture port {port!r} is not usable: {reason}",
                          port=port, reason=str(exc)) from None


# ---------------------------------------------------------------- the test ledger

def _run_row(run: TestRun, end: TestRunEnd | None, tag: str, serial: str) -> dict[str, Any]:
    return {
        "run_id": run.id, "tag": tag, "serial": serial, "model": run.model, "kind": run.kind.value,
        "attempt": run.attempt, "station": run.station, "operator": run.operator.username, "port": run.port,
        "plan": run.plan.name, "plan_version": run.plan.version, "plan_sha256": run.plan_sha256,
        "started_at": run.started_at.isoformat(), "ended_at": end.ended_at.isoformat() if end else None,
        "outcome": end.outcome.value if end else "incomplete", "reason": end.reason if end else None,
        "fixture": end.fixture if end else None, "failed_steps": end.failed_steps if end else [],
        "checklist": end.checklist if end else {},
    }


def show_run(uow: UnitOfWork, run_id: int) -> dict[str, Any]:
    run = uow.session.get(TestRun, run_id) if known_id(run_id) else None
    if run is None:
        raise DomainError("unknown_run", "no test run {run}", run=run_id)
    visit = uow.session.get(Visit, run.visit_id)
    end = uow.session.get(TestRunEnd, run.id)
    steps = uow.session.scalars(select(TestStepResult).where(TestStepResult.run_id == run.id).order_by(TestStepResult.seq))
    return {**_run_row(run, end, visit.tag, visit.unit.serial), "steps": [
        {"seq": s.seq, "step": s.step_id, "name": s.name, "kind": s.kind, "command": s.command, "limits": s.limits,
         "value": s.value, "numeric": s.numeric, "verdict": s.verdict.value, "message": s.message, "raw": s.raw,
         "attempts": s.attempts, "at": s.at.isoformat(), "elapsed_ms": s.elapsed_ms} for s in steps]}


@dataclass
class RunFilter:
    date_from: date | None = None
    date_to: date | None = None
    model: str | None = None
    station: str | None = None
    outcome: str | None = None  # pass / fail / error / aborted / incomplete
    failed_step: str | None = None
    tag: str | None = None
    limit: int | None = None


def _runs_conditions(f: RunFilter) -> list[Any]:
    conds = []
    if f.date_from:
        conds.append(TestRun.started_at >= datetime.combine(f.date_from, datetime.min.time()).astimezone())
    if f.date_to:
        conds.append(TestRun.started_at < datetime.combine(f.date_to + timedelta(days=1), datetime.min.time()).astimezone())
    if f.model:
        conds.append(TestRun.model == clean_key(f.model, "model"))
    if f.station:
        conds.append(TestRun.station == clean_text(f.station, "station"))
    if f.tag:
        conds.append(TestRun.visit_id == select(Visit.id).where(Visit.tag == clean_key(f.tag, "tag")).scalar_subquery())
    if f.outcome:
        end = aliased(TestRunEnd)  # its own name: the runs query joins the ends too
        if f.outcome == "incomplete":
            conds.append(~select(end.run_id).where(end.run_id == TestRun.id).exists())
        else:
            try:
                wanted = Outcome(f.outcome)
            except ValueError:
                raise DomainError("bad_outcome", "outcome is one of: pass, fail, error, aborted, incomplete") from None
            conds.append(select(end.run_id).where(end.run_id == TestRun.id, end.outcome == wanted).exists())
    if f.failed_step:
        conds.append(TestRun.id.in_(select(TestStepResult.run_id).where(
            TestStepResult.step_id == clean_text(f.failed_step, "step"), TestStepResult.verdict != Verdict.PASS)))
    return conds


def _runs_query(f: RunFilter, *, limit: int | None = None, offset: int = 0):  # noqa: ANN202
    q = (select(TestRun, TestRunEnd, Visit.tag, Unit.serial)
         .join(Visit, Visit.id == TestRun.visit_id).join(Unit, Unit.id == Visit.unit_id)
         .outerjoin(TestRunEnd, TestRunEnd.run_id == TestRun.id))
    conds = _runs_conditions(f)
    if conds:
        q = q.where(and_(*conds))
    q = q.order_by(TestRun.started_at.desc(), TestRun.id.desc())
    if limit:
        q = q.limit(limit)
    if offset:
        q = q.offset(offset)
    return q


def list_runs(uow: UnitOfWork, f: RunFilter, *, offset: int = 0) -> list[dict[str, Any]]:
    """The test ledger's runs, newest first; ``f.limit`` and ``offset`` page in the database."""
    q = _runs_query(f, limit=check_limit(f.limit), offset=offset)
    return [_run_row(run, end, tag, serial) for run, end, tag, serial in uow.session.execute(q)]


def count_runs(uow: UnitOfWork, f: RunFilter) -> int:
    """How many runs the filter matches, counted in the database."""
    q = select(func.count()).select_from(TestRun)
    conds = _runs_conditions(f)
    if conds:
        q = q.where(and_(*conds))
    return int(uow.session.scalar(q) or 0)


def iter_runs(uow: UnitOfWork, f: RunFilter, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every run the filter matches, streamed (for exports)."""
    for run, end, tag, serial in uow.session.execute(_runs_query(f).execution_options(yield_per=batch)):
        yield _run_row(run, end, tag, serial)


RUN_COLUMNS = ["run_id", "tag", "serial", "model", "kind", "attempt", "station", "operator", "plan_version",
               "started_at", "ended_at", "outcome", "reason", "failed_steps"]


def first_pass_yield(uow: UnitOfWork, *, date_from: date | None = None, date_to: date | None = None) -> list[dict[str, Any]]:
    """Per model: outgoing first tests that ended PASS or FAIL, how many passed, and the re-tests
    after them (runs of attempt > 1 that ended PASS or FAIL) — counted in the database."""
    judged = and_(TestRun.kind == RunKind.OUTGOING, TestRunEnd.outcome.in_([Outcome.PASS, Outcome.FAIL]))
    first = TestRun.attempt == 1
    q = (select(TestRun.model,
                func.sum(case((first, 1), else_=0)),
                func.sum(case((and_(first, TestRunEnd.outcome == Outcome.PASS), 1), else_=0)),
                func.sum(case((TestRun.attempt > 1, 1), else_=0)))
         .join(TestRunEnd, TestRunEnd.run_id == TestRun.id).where(judged).group_by(TestRun.model)
         .order_by(TestRun.model))
    conds = _runs_conditions(RunFilter(date_from=date_from, date_to=date_to))
    if conds:
        q = q.where(and_(*conds))
    out = []
    for model, first_tests, first_pass, retests in uow.session.execute(q):
        first_tests, first_pass = int(first_tests or 0), int(first_pass or 0)
        out.append({"model": model, "first_tests": first_tests, "first_pass": first_pass, "retests": int(retests or 0),
                    "yield": round(first_pass / first_tests, 4) if first_tests else None})
    return out


def run_stations(uow: UnitOfWork) -> list[str]:
    """The stations that have test runs in the ledger (for the ledger's station filter)."""
    return list(uow.session.scalars(select(TestRun.station).distinct().order_by(TestRun.station)))


def runs_of_visit(uow: UnitOfWork, tag: str) -> list[dict[str, Any]]:
    return list_runs(uow, RunFilter(tag=tag))



@register_check
def check_test_ledger(uow: UnitOfWork) -> Iterator[Violation]:
    """Invariants of the test ledger for ``rma check``: a PASS has only passing steps, in order."""
    bad_pass = uow.session.execute(
        select(TestRunEnd.run_id, func.count()).join(TestStepResult, TestStepResult.run_id == TestRunEnd.run_id)
        .where(TestRunEnd.outcome == Outcome.PASS, TestStepResult.verdict != Verdict.PASS)
        .group_by(TestRunEnd.run_id))
    for run_id, n in bad_pass:
        yield Violation("test_pass_with_bad_steps", f"run {run_id}",
                        f"test run {run_id} ended PASS but {n} of its steps did not pass", "test_run_ends", (run_id,))
    gaps = uow.session.execute(
        select(TestStepResult.run_id, func.count(), func.max(TestStepResult.seq))
        .group_by(TestStepResult.run_id).having(func.max(TestStepResult.seq) != func.count() - 1))
    for run_id, n, top in gaps:
        yield Violation("test_steps_gap", f"run {run_id}",
                        f"test run {run_id} has {n} steps numbered up to {top}: a step is missing", "test_steps",
                        (run_id,))
