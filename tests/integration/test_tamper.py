"""Tamper-evident ledgers: whatever a database owner does behind rma's back, ``rma check``
finds it afterwards; SQLite's INSERT OR REPLACE is refused outright; and sealing never
reports a legitimate ledger as broken, even with stations writing at the same moment."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.exc import DBAPIError

from drivers.fixture_sim import FixtureSimulator
from rma.cli import main
from rma.core import services as core
from rma.core.checks import check_ledgers, run_checks
from rma.core.states import VisitState
from rma.test_station import services as tests_
from rma.test_station.models import TestStepResult
from tests.factories import receive_unit, seed_basics

FIRMWARE = "3.2.1"
ANSWERS = {"display_red": "yes", "harness_id": "TH-0042"}


def codes(db) -> list[str]:  # noqa: ANN001
    return sorted(v.code for v in run_checks(db).violations)


def _seeded(db):  # noqa: ANN001
    seed_basics(db)
    with db.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username="tess", password="tess-pass",
                      roles=[core.Role.TESTER])
    return db


@pytest.fixture
def depot(db, rma_env):
    return _seeded(db)


@pytest.fixture
def sqlite_depot(request, tmp_path, monkeypatch):
    """The SQLite attacks (INSERT OR REPLACE, dropped triggers) on SQLite only."""
    import shutil

    from rma.db import Database

    path = tmp_path / "rma.sqlite"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    monkeypatch.setenv("RMA_HOME", str(tmp_path))
    monkeypatch.setenv("RMA_DATABASE_URL", f"sqlite:///{path}")
    db = Database.from_url(f"sqlite:///{path}")
    yield _seeded(db)
    db.dispose()


@pytest.fixture
def pg_depot(request, tmp_path, monkeypatch):
    """The PostgreSQL attacks (guard function, disabled triggers, replication role) on PostgreSQL only."""
    from rma.db import Database
    from tests.conftest import _fresh_pg

    url = _fresh_pg(request)
    monkeypatch.setenv("RMA_HOME", str(tmp_path))
    monkeypatch.setenv("RMA_DATABASE_URL", url)
    db = Database.from_url(url)
    yield _seeded(db)
    db.dispose()


def awaiting_test(db, serial: str = "HU88000001") -> str:  # noqa: ANN001
    tag = receive_unit(db, serial)
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test"):
            core.move_visit(uow, lead, tag, VisitState(to), "repaired")
    return tag


def failed_run(db) -> tuple[str, int]:  # noqa: ANN001
    tag = awaiting_test(db)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False, faults=["dead_audio"]) as sim:
        result = tests_.run_test(db, "tess", tag, port=sim.url, answers=ANSWERS, accessories_ok=True)
    assert result.outcome.value == "fail", result
    return tag, result.run_id


def test_a_ledger_written_through_rma_is_sealed_and_checks_clean(depot, capsys):
    failed_run(depot)
    assert codes(depot) == []
    assert main(["check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"ok": True, "counts": {}, "violations": [], "warning_counts": {}, "warnings": []}


# ---------------------------------------------------------------- SQLite

def test_sqlite_refuses_insert_or_replace_into_every_ledger(sqlite_depot):
    depot = sqlite_depot
    tag, run_id = failed_run(depot)
    attempts = [
        "INSERT OR REPLACE INTO returns_ledger (id, visit_id, at, actor_id, event, details) "
        "SELECT id, visit_id, at, actor_id, 'forged', '{}' FROM returns_ledger LIMIT 1",
        f"INSERT OR REPLACE INTO test_run_ends (run_id, outcome, failed_steps, checklist, ended_at) "
        f"VALUES ({run_id}, 'pass', '[]', '{{}}', '2026-11-30 10:00:00.000000')",
        # a new id but the same (run, seq): REPLACE would delete the failing step to make room
        f"REPLACE INTO test_steps (run_id, seq, step_id, name, kind, limits, verdict, attempts, at, elapsed_ms) "
        f"SELECT run_id, seq, step_id, name, kind, limits, 'pass', attempts, at, elapsed_ms FROM test_steps "
        f"WHERE run_id = {run_id} AND verdict = 'fail'",
    ]
    for sql in attempts:
        with pytest.raises(DBAPIError) as e, depot.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(e.value)
    with depot.uow(readonly=True) as uow:
        assert tests_.show_run(uow, run_id)["outcome"] == "fail"
    assert codes(depot) == []


def test_sqlite_a_run_rewritten_with_the_guards_dropped_is_found(sqlite_depot):
    depot = sqlite_depot
    """The issue's case: a failed run's steps and end replaced by passing ones; `test show` says pass."""
    tag, run_id = failed_run(depot)
    with depot.engine.begin() as conn:
        for t in ("test_steps", "test_run_ends", "returns_ledger"):
            conn.execute(text(f"DROP TRIGGER {t}_no_update"))
            conn.execute(text(f"DROP TRIGGER {t}_no_replace"))
        conn.execute(text(f"UPDATE test_steps SET verdict = 'pass', message = NULL WHERE run_id = {run_id}"))
        conn.execute(text(f"INSERT OR REPLACE INTO test_run_ends (run_id, outcome, failed_steps, checklist, ended_at) "
                          f"SELECT run_id, 'pass', '[]', checklist, ended_at FROM test_run_ends WHERE run_id = {run_id}"))
        conn.execute(text("UPDATE returns_ledger SET details = '{}' WHERE event = 'opened'"))
        # … and puts the guards back as they were, so that they look untouched
        from rma.core.guards import sqlite_replace_trigger, sqlite_trigger, table_keys
        from rma.core.models import Base

        for t in ("test_steps", "test_run_ends", "returns_ledger"):
            conn.execute(text(sqlite_trigger(t, "update")))
            conn.execute(text(sqlite_replace_trigger(t, table_keys(Base.metadata.tables[t]))))
    with depot.uow(readonly=True) as uow:
        assert tests_.show_run(uow, run_id)["outcome"] == "pass"  # the forgery reads well…
        found = check_ledgers(uow)
    tampered = {v.ledger for v in found if v.code == "ledger_tampered"}
    assert tampered == {"test_steps", "test_run_ends", "returns_ledger"}  # …and is found everywhere it went
    assert not [v for v in found if v.code.startswith("ledger_guard") or v.code == "ledger_unguarded"]


def test_sqlite_a_runs_steps_are_sealed_from_a_running_hash_that_never_absorbs_a_wrong_row(sqlite_depot):
    """SQLite seals each step of a run by hashing only that step onto the run's running hash: the
    heads equal the ones computed from all the rows; a head moved behind the writer's back is
    sealed again from all the rows; a step rolled back leaves the running hash as it was; and an
    earlier step edited behind rma's back during the run is not taken into the next step's seal,
    so `rma check` finds it."""
    from rma.core import seals

    depot = sqlite_depot
    _, run_id = failed_run(depot)  # its steps written by the station's step writer
    ledger = seals.ledger_for("test_steps")

    def head_matches_rows() -> bool:
        with depot.engine.connect() as conn:
            head = conn.execute(text("SELECT rows, digest FROM ledger_heads WHERE ledger = 'test_steps' "
                                     "AND stream = :s"), {"s": str(run_id)}).one()
            return tuple(head) == seals.exact_digest(conn, ledger, str(run_id))

    assert head_matches_rows() and codes(depot) == []
    seal = seals.AppendSeal("test_steps", run_id)

    def add(fail: bool = False) -> None:  # the run's next step
        with depot.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO test_steps ({STEP_COLUMNS}) SELECT {STEP_COLUMNS.replace('seq', 'seq + 1')} "
                              "FROM test_steps WHERE id = (SELECT max(id) FROM test_steps WHERE run_id = :r)"),
                         {"r": run_id})
            seal.seal(conn)
            if fail:
                raise RuntimeError("the transaction fails after its seal")
        seal.committed()

    add()  # this writer's first seal: from all the rows
    add()  # then from its running hash
    assert head_matches_rows() and codes(depot) == []
    with depot.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_heads SET digest = 'moved' WHERE ledger = 'test_steps' AND stream = :s"),
                     {"s": str(run_id)})
    add()
    assert head_matches_rows() and codes(depot) == []
    with pytest.raises(RuntimeError):
        add(fail=True)
    add()
    assert head_matches_rows() and codes(depot) == []
    with depot.engine.begin() as conn:
        _switch_guards(conn, "test_steps", on=False)
        conn.execute(text("UPDATE test_steps SET value = '0.5' WHERE id = (SELECT max(id) FROM test_steps "
                          "WHERE run_id = :r)"), {"r": run_id})  # a step sealed already
        _switch_guards(conn, "test_steps", on=True)
    add()
    assert not head_matches_rows() and codes(depot) == ["ledger_tampered"]


def test_sqlite_a_dropped_or_rewritten_guard_is_reported(sqlite_depot):
    depot = sqlite_depot
    receive_unit(depot, "HU88000009")
    with depot.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DROP TRIGGER returns_ledger_no_update"))
        conn.execute(text("CREATE TRIGGER returns_ledger_no_update BEFORE UPDATE ON returns_ledger WHEN 0 "
                          "BEGIN SELECT RAISE(ABORT, 'returns_ledger is append-only: UPDATE refused'); END"))
    assert codes(depot) == ["ledger_guard_altered", "ledger_unguarded"]


def test_deleted_rows_and_forged_rows_are_found(depot):
    tag = receive_unit(depot, "HU88000002")
    other = receive_unit(depot, "HU88000003")
    with depot.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "checked in")
    with depot.engine.begin() as conn:
        _switch_guards(conn, "returns_ledger", on=False)
        # the last move of one visit vanishes, its state put back to match…
        conn.execute(text("DELETE FROM returns_ledger WHERE id = (SELECT max(id) FROM returns_ledger)"))
        conn.execute(text("UPDATE visits SET state = 'received', version = version + 1 WHERE tag = :t"), {"t": tag})
        # …and a plausible row appears on another
        conn.execute(text("INSERT INTO returns_ledger (visit_id, at, actor_id, event, from_state, to_state, details) "
                          "SELECT visit_id, at, actor_id, 'manual_move', 'received', 'awaiting_bench', '{}' "
                          "FROM returns_ledger WHERE visit_id = (SELECT id FROM visits WHERE tag = :t)"), {"t": other})
        conn.execute(text("UPDATE visits SET state = 'awaiting_bench', version = version + 1 WHERE tag = :t"),
                     {"t": other})
        _switch_guards(conn, "returns_ledger", on=True)
    found = run_checks(depot).violations
    assert [v.code for v in found] == ["ledger_tampered", "ledger_tampered"]
    assert {v.subject.split()[-1] for v in found} == {_visit_id(depot, tag), _visit_id(depot, other)}


def test_a_big_ledger_checked_in_ranges_by_worker_processes_still_finds_every_edit(depot, monkeypatch):
    """``rma check`` cuts a ledger of more than ROWS_PER_PIECE rows into ranges of its streams that
    worker processes share (here every ledger of more than one row): an edited step in one run,
    the steps of another run deleted altogether and a forged step in a third are each found,
    once, and a ledger no one touched stays clean."""
    from rma.core import checks

    runs = []
    for serial in ("HU88000011", "HU88000012", "HU88000013", "HU88000014"):
        tag = awaiting_test(depot, serial)
        with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False, faults=["dead_audio"]) as sim:
            runs.append(tests_.run_test(depot, "tess", tag, port=sim.url, answers=ANSWERS,
                                        accessories_ok=True).run_id)
    monkeypatch.setattr(checks, "ROWS_PER_PIECE", 1)
    with depot.uow(readonly=True) as uow:
        pieces = checks.plan(uow)
    step_ranges = [p for p in pieces if p[:2] == ("seals", "test_steps")]
    assert len(step_ranges) > 1 and ("lost", "test_steps") in pieces
    audit_ranges = [p for p in pieces if p[:2] == ("seals", "audit_log")]  # a stream per entry: cut by id
    assert len(audit_ranges) > 1 and ("lost", "audit_log") in pieces
    assert codes(depot) == []
    edited, emptied, forged = runs[0], runs[2], runs[3]
    with depot.engine.begin() as conn:
        entries = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
        audit_edited, audit_deleted = entries[0], entries[-1]
        _switch_guards(conn, "audit_log", on=False)
        conn.execute(text("UPDATE audit_log SET subject = 'forged' WHERE id = :i"), {"i": audit_edited})
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": audit_deleted})
        _switch_guards(conn, "audit_log", on=True)
        _switch_guards(conn, "test_steps", on=False)
        conn.execute(text("UPDATE test_steps SET value = '0.5' WHERE id = (SELECT min(id) FROM test_steps "
                          "WHERE run_id = :r)"), {"r": edited})
        conn.execute(text("DELETE FROM test_steps WHERE run_id = :r"), {"r": emptied})
        conn.execute(text(f"INSERT INTO test_steps ({STEP_COLUMNS}) SELECT {STEP_COLUMNS.replace('seq', 'seq + 100')} FROM test_steps "
                          "WHERE id = (SELECT max(id) FROM test_steps WHERE run_id = :r)"), {"r": forged})
        _switch_guards(conn, "test_steps", on=True)
    found = [v for v in run_checks(depot, workers=2).violations if v.code == "ledger_tampered"]
    assert sorted((v.code, v.ledger, v.subject.split()[-1]) for v in found) == sorted(
        [*(("ledger_tampered", "test_steps", str(r)) for r in (edited, emptied, forged)),
         *(("ledger_tampered", "audit_log", str(i)) for i in (audit_edited, audit_deleted))])
    assert [v.message for v in found if v.subject.split()[-1] == str(emptied)] == [
        f"test_steps, stream run_id={emptied}: all its sealed rows are gone "
        f"({0} rows now, {_sealed_rows(depot, 'test_steps', emptied)} sealed)"]


def test_a_visit_whose_every_entry_is_gone_and_a_correction_of_another_visit_are_found(depot):
    """The pass over visits meets no row of a visit deleted whole: its head is found all the same
    (the heads outnumber the visits the pass sealed); a correction pointing at an entry of another
    visit is found by the same pass."""
    gone, kept, other = (receive_unit(depot, s) for s in ("HU88000021", "HU88000022", "HU88000023"))
    gone_id, kept_id = _visit_id(depot, gone), _visit_id(depot, kept)
    with depot.engine.begin() as conn:
        _switch_guards(conn, "returns_ledger", on=False)
        conn.execute(text("DELETE FROM returns_ledger WHERE visit_id = :v"), {"v": int(gone_id)})
        conn.execute(text("INSERT INTO returns_ledger (visit_id, at, actor_id, event, details, corrects_id) "
                          "SELECT visit_id, at, actor_id, 'note', '{}', (SELECT min(id) FROM returns_ledger "
                          "WHERE visit_id = (SELECT id FROM visits WHERE tag = :o)) FROM returns_ledger "
                          "WHERE visit_id = :v"), {"v": int(kept_id), "o": other})
        _switch_guards(conn, "returns_ledger", on=True)
    found = run_checks(depot, workers=2).violations
    assert sorted((v.code, v.subject) for v in found) == sorted([
        ("ledger_tampered", f"returns_ledger visit_id {gone_id}"),  # all its sealed rows are gone
        ("ledger_tampered", f"returns_ledger visit_id {kept_id}"),  # a row was added behind rma's back
        ("ledger_bad_correction", kept),
        ("visit_without_ledger", gone)])
    assert "all its sealed rows are gone" in next(v.message for v in found if v.subject.endswith(f" {gone_id}"))
    with depot.uow(readonly=True) as uow:  # the same, checked in one unit of work
        assert sorted(v.code for v in check_ledgers(uow)) == sorted(v.code for v in found)


STEP_COLUMNS = ", ".join(c.name for c in TestStepResult.__table__.columns if c.name != "id")


def _sealed_rows(db, ledger: str, stream: object) -> int:  # noqa: ANN001
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT rows FROM ledger_heads WHERE ledger = :l AND stream = :s"),
                            {"l": ledger, "s": str(stream)}).scalar()


def _visit_id(db, tag: str) -> str:  # noqa: ANN001
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT id FROM visits WHERE tag = :t"), {"t": tag}).scalar())


def _switch_guards(conn, table: str, *, on: bool) -> None:  # noqa: ANN001
    if conn.dialect.name == "postgresql":
        for what in ("update", "delete"):
            conn.execute(text(f"ALTER TABLE {table} {'ENABLE ALWAYS' if on else 'DISABLE'} TRIGGER {table}_no_{what}"))
        return
    from rma.core.guards import sqlite_trigger

    for what in ("update", "delete"):
        conn.execute(text(sqlite_trigger(table, what) if on else f"DROP TRIGGER {table}_no_{what}"))


# ---------------------------------------------------------------- PostgreSQL

@pytest.mark.postgres
def test_pg_a_replaced_guard_function_is_reported_and_the_edit_it_let_through_too(pg_depot):
    depot = pg_depot
    tag, run_id = failed_run(depot)
    with depot.engine.begin() as conn:
        conn.execute(text("CREATE OR REPLACE FUNCTION rma_refuse_ledger_change() RETURNS trigger AS $$ "
                          "BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"))
        conn.execute(text(f"UPDATE test_run_ends SET outcome = 'pass', failed_steps = '[]' WHERE run_id = {run_id}"))
    with depot.uow(readonly=True) as uow:
        assert tests_.show_run(uow, run_id)["outcome"] == "pass"
    assert codes(depot) == ["ledger_guard_altered", "ledger_tampered", "test_pass_with_bad_steps"]


@pytest.mark.postgres
def test_pg_a_disabled_trigger_is_reported(pg_depot):
    depot = pg_depot
    receive_unit(depot, "HU88000004")
    with depot.engine.begin() as conn:
        conn.execute(text("ALTER TABLE returns_ledger DISABLE TRIGGER returns_ledger_no_update"))
        conn.execute(text("UPDATE returns_ledger SET details = '{\"reason\": \"forged\"}'"))
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete"))
    assert codes(depot) == ["ledger_guard_disabled", "ledger_guard_disabled", "ledger_tampered"]


@pytest.mark.postgres
def test_pg_a_replication_session_is_still_refused_and_a_demoted_trigger_is_found(pg_depot):
    depot = pg_depot
    receive_unit(depot, "HU88000005")
    with pytest.raises(DBAPIError) as e, depot.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("UPDATE returns_ledger SET event = 'forged'"))
    assert "append-only" in str(e.value)
    with depot.engine.begin() as conn:  # the owner demotes the triggers to ordinary ones first
        conn.execute(text("ALTER TABLE returns_ledger ENABLE TRIGGER returns_ledger_no_delete"))
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("DELETE FROM returns_ledger WHERE event = 'opened'"))
    assert codes(depot) == ["ledger_guard_disabled", "ledger_tampered", "visit_without_ledger"]


# ---------------------------------------------------------------- no false alarms under concurrency

def _append_events(url: str, tag: str, barrier, n: int, results) -> None:  # noqa: ANN001
    from rma.core.ledger import record_visit_event
    from rma.db import Database

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:
        core.get_actor(uow, "lead")
    barrier.wait()
    done = 0
    for i in range(n):
        with db.uow() as uow:
            visit = core.find_visit(uow, tag)
            record_visit_event(uow, visit, core.get_actor(uow, "lead"), "note", details={"n": i})
            done += 1
    db.dispose()
    results.put(done)


def test_stations_writing_the_same_and_other_streams_at_once_leave_every_seal_whole(depot, db_url):
    tags = [receive_unit(depot, f"HU8800001{i}") for i in range(2)]
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    # two processes on the same visit, two on another: 4 × 15 events
    procs = [ctx.Process(target=_append_events, args=(db_url, tags[i // 2], barrier, 15, results)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert sorted(results.get(timeout=5) for _ in procs) == [15, 15, 15, 15]
    with depot.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM returns_ledger WHERE event = 'note'")).scalar() == 60
    assert codes(depot) == []


def test_a_savepoint_rolled_back_midway_leaves_the_transaction_sealed(depot):
    """Rows written before and after a savepoint that failed are all sealed with the commit."""
    from sqlalchemy.exc import IntegrityError

    from rma.core.ledger import record_visit_event
    from rma.core.models import User

    tag = receive_unit(depot, "HU88000020")
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        visit = core.find_visit(uow, tag)
        record_visit_event(uow, visit, lead, "note", details={"n": 1})
        uow.session.flush()
        try:
            with uow.session.begin_nested():  # a duplicate user name: the savepoint fails
                uow.session.add(User(username="lead", display_name="x", password_hash="x", active=True,
                                     auth_version=1, failed_logins=0, created_at=uow.now()))
                uow.session.flush()
        except IntegrityError:
            pass
        record_visit_event(uow, visit, lead, "note", details={"n": 2})
    assert codes(depot) == []
    with depot.engine.connect() as conn:
        assert conn.execute(text("SELECT rows FROM ledger_heads WHERE ledger = 'returns_ledger' AND stream = "
                                 "(SELECT CAST(id AS TEXT) FROM visits WHERE tag = :t)"), {"t": tag}).scalar() == 3


def _waiting_for_a_lock(db) -> int:  # noqa: ANN001
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock' AND query LIKE '%ledger_heads%'")).scalar()


@pytest.mark.postgres
def test_pg_a_station_that_queues_for_a_seal_counts_the_rows_committed_before_it(pg_depot):
    """Two stations write the same stream (a visit's events); the second reaches its seal while the
    first holds the head (sealed, not yet committed), waits, and must seal both rows, not only its own."""
    import threading
    import time

    from rma.core import seals
    from rma.core.ledger import record_visit_event

    depot = pg_depot
    tag = receive_unit(depot, "HU88000030")

    def write(uow, n: int) -> str:  # noqa: ANN001
        row = record_visit_event(uow, core.find_visit(uow, tag), core.get_actor(uow, "lead"), "note", details={"n": n})
        uow.session.flush()
        return str(row.visit_id)

    failed: list[BaseException] = []

    def second_station() -> None:
        try:
            with depot.uow() as uow:
                write(uow, 2)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            failed.append(exc)

    with depot.uow() as first:
        key = write(first, 1)
        seals.seal_streams(first.session.connection(), {"returns_ledger": {key}})  # sealed; the COMMIT not sent yet
        other = threading.Thread(target=second_station)
        other.start()
        deadline = time.monotonic() + 30
        while not _waiting_for_a_lock(depot):
            assert other.is_alive() and time.monotonic() < deadline, f"the second station never waited: {failed}"
            time.sleep(0.05)
    other.join(30)
    assert not other.is_alive() and not failed, failed
    with depot.engine.connect() as conn:
        head = conn.execute(text("SELECT rows FROM ledger_heads WHERE ledger = 'returns_ledger' AND stream = :s"),
                            {"s": key}).scalar()
        rows = conn.execute(text("SELECT count(*) FROM returns_ledger WHERE visit_id = :s"), {"s": int(key)}).scalar()
    assert head == rows and rows >= 3  # received, and the two notes
    assert codes(depot) == []


def _statements_sent(monkeypatch) -> list[list[str]]:  # noqa: ANN001
    """PostgreSQL: each round trip of the seals, as the first word of each statement in it."""
    from rma.core import seals

    sent: list[list[str]] = []
    real = seals._prepared_round_trip

    def spy(conn, statements, returning=None):  # noqa: ANN001, ANN202
        sent.append([sql.split(" ", 3)[0] for sql, _ in statements])
        return real(conn, statements, returning)

    monkeypatch.setattr(seals, "_prepared_round_trip", spy)
    return sent


@pytest.mark.postgres
def test_pg_audit_entries_are_sealed_one_statement_each_and_two_stations_never_queue_for_them(pg_depot, monkeypatch):
    """An audit entry (a parcel received, a user changed) is a stream of its own: its commit writes
    its head in one statement with nothing to lock, and a second station writing an entry while the
    first has sealed its own but not committed goes straight through. `rma check` finds both sealed;
    an entry edited afterwards is found."""
    import threading

    from rma.core import seals
    from rma.core.ledger import record_audit

    depot = pg_depot
    sent = _statements_sent(monkeypatch)
    failed: list[BaseException] = []
    done = threading.Event()

    def second_station() -> None:
        try:
            with depot.uow() as uow:
                record_audit(uow, core.get_actor(uow, "lead"), "note", "second")
            done.set()
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            failed.append(exc)

    with depot.uow() as first:
        record_audit(first, core.get_actor(first, "lead"), "note", "first")
        first.session.commit()  # sealed and committed
        assert sent[-1] == ["INSERT"]  # one statement, one round trip
        record_audit(first, core.get_actor(first, "lead"), "note", "third")
        first.session.flush()
        touched = first.session.info.pop(seals.SESSION_KEY)
        new = first.session.info.pop(seals.NEW_OWNERS_KEY)
        seals.seal_streams(first.session.connection(), touched, new)  # sealed; the COMMIT not sent yet
        other = threading.Thread(target=second_station)
        other.start()
        assert done.wait(30), f"the second station waited for the first: {failed}"
    other.join(30)
    assert not failed, failed
    assert codes(depot) == []
    with depot.engine.connect() as conn:
        entries = conn.execute(text("SELECT id FROM audit_log WHERE action = 'note' ORDER BY id")).scalars().all()
        heads = conn.execute(text("SELECT stream, rows FROM ledger_heads WHERE ledger = 'audit_log' "
                                  "AND stream IN :s").bindparams(bindparam("s", expanding=True)),
                             {"s": [str(e) for e in entries]}).all()
    assert len(entries) == 3 and sorted(heads) == sorted((str(e), 1) for e in entries)
    with depot.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET subject = 'edited' WHERE id = :id"), {"id": entries[0]})
        conn.execute(text("ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update"))
    assert codes(depot) == ["ledger_tampered"]


@pytest.mark.postgres
def test_pg_a_server_that_speaks_another_time_zone_seals_what_check_reads(pg_depot):
    """A database whose sessions render timestamps in local time: the seal written on commit must
    still be made of UTC text, the way `rma check` reads it."""
    from sqlalchemy.engine import make_url

    depot = pg_depot
    name = make_url(str(depot.engine.url)).database
    with depot.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Asia/Shanghai'"))
    depot.engine.dispose()
    with depot.engine.connect() as conn:  # rma's own connections speak UTC whatever the database says
        assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
    failed_run(depot)  # a visit's events, a test run, its steps (written in autocommit) and its end
    assert codes(depot) == []


@pytest.mark.postgres
def test_pg_a_connection_that_speaks_another_time_zone_seals_what_check_reads(pg_depot):
    """A connection switched to local time after rma opened it (the seals then pin UTC in the
    transaction themselves): its seals are still made of UTC text, the way `rma check` reads it."""
    from sqlalchemy import event

    depot = pg_depot

    def local_time(dbapi_conn, _record) -> None:  # noqa: ANN001
        autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
        dbapi_conn.execute("SET TimeZone = 'Asia/Shanghai'")
        dbapi_conn.autocommit = autocommit

    event.listen(depot.engine, "connect", local_time)  # after rma.db's own, which pins UTC
    depot.engine.dispose()
    with depot.engine.connect() as conn:
        assert conn.execute(text("SHOW TimeZone")).scalar() == "Asia/Shanghai"
    failed_run(depot)
    assert codes(depot) == []


@pytest.mark.postgres
def test_pg_a_server_that_writes_dates_day_first_is_read_and_checked_all_the_same(pg_depot):
    """A database set to DateStyle 'SQL, DMY' (30/11/2026 …) and a local time zone: every station's
    connection still writes, reads, seals and checks its ledgers as on any other server."""
    from sqlalchemy.engine import make_url

    depot = pg_depot
    name = make_url(str(depot.engine.url)).database
    with depot.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ALTER DATABASE \"{name}\" SET DateStyle = 'SQL, DMY'"))
        conn.execute(text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'America/Sao_Paulo'"))
    depot.engine.dispose()
    with depot.engine.connect() as conn:  # rma's connections pin ISO dates and UTC for themselves
        assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"
        assert conn.execute(text("SHOW DateStyle")).scalar() == "ISO, YMD"
    tag, _ = failed_run(depot)
    assert codes(depot) == []
    with depot.uow(readonly=True) as uow:
        timeline = core.unit_report(uow, tag)["timeline"]
    assert timeline[0]["event"] == "opened" and timeline[-1]["event"] == "test_failed"


@pytest.mark.postgres
def test_pg_seals_written_again_by_the_prepared_statements_equal_the_ones_written_on_commit(pg_depot):
    """A seal is two prepared statements whose keys go by parameters, their plans reused from one
    commit to the next: rewriting every head of many streams at once (more keys than any commit
    has) gives the digests each commit wrote, and reusing the prepared plans does too."""
    from rma.core import seals

    _, run_id = failed_run(pg_depot)
    with pg_depot.engine.connect() as conn:
        before = conn.execute(text("SELECT ledger, stream, rows, digest FROM ledger_heads ORDER BY 1, 2")).all()
    with pg_depot.engine.connect() as conn:
        visits = {str(v) for (v,) in conn.execute(text("SELECT DISTINCT visit_id FROM returns_ledger"))}
    touched = {"returns_ledger": visits, "test_steps": {str(run_id)}}

    def heads_after(reseal) -> list:  # noqa: ANN001
        with pg_depot.engine.begin() as conn:
            conn.execute(text("UPDATE ledger_heads SET digest = 'stale'"))
            reseal(conn)
        with pg_depot.engine.connect() as conn:
            after = conn.execute(text("SELECT ledger, stream, rows, digest FROM ledger_heads ORDER BY 1, 2")).all()
        return [h for h in after if h[3] != "stale"]

    def one_at_a_time(conn) -> None:  # noqa: ANN001
        for _ in range(3):  # past PostgreSQL's five custom plans: the prepared pair's generic plan, bound anew
            for visit in sorted(visits):
                seals.seal_streams(conn, {"returns_ledger": {visit}})
        seals.seal_streams(conn, {"test_steps": {str(run_id)}})

    for resealed in (heads_after(lambda conn: seals.seal_streams(conn, touched)), heads_after(one_at_a_time)):
        assert len(resealed) == len(visits) + 1
        assert set(resealed) <= set(before)


@pytest.mark.postgres
def test_pg_a_received_unit_is_sealed_in_one_statement_and_a_head_found_in_the_way_is_rewritten(pg_depot, monkeypatch):
    """A visit received in a transaction starts its ledger stream there, so its head is written in
    one statement with nothing to lock. If a head for that visit is somehow there already (left
    behind, or planted with wrong figures), that statement leaves it alone and the seal rewrites it
    the ordinary way: `rma check` finds the new visit's ledger sealed either way."""
    depot = pg_depot
    sent = _statements_sent(monkeypatch)
    receive_unit(depot, "HU88000001")
    assert sent[-1] == ["INSERT"]  # the new visit's head, in one statement and one round trip
    assert codes(depot) == []

    with depot.engine.begin() as conn:
        seq = conn.execute(text("SELECT pg_get_serial_sequence('visits', 'id')")).scalar()
        last, called = conn.execute(text(f"SELECT last_value, is_called FROM {seq}")).one()
        coming = last + 1 if called else last
        conn.execute(text("INSERT INTO ledger_heads (ledger, stream, rows, digest) "
                          "VALUES ('returns_ledger', :s, 7, 'planted')"), {"s": str(coming)})
    sent.clear()
    tag = receive_unit(depot, "HU88000002")
    with depot.uow(readonly=True) as uow:
        assert core.find_visit(uow, tag).id == coming
    assert len(sent) == 2  # the one statement, then the ordinary seal for the head in the way
    assert codes(depot) == []


@pytest.mark.postgres
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Shanghai"])
def test_pg_one_commit_with_new_and_old_streams_seals_both(pg_depot, time_zone):
    """A commit that starts one visit's stream and adds to another's (and, on a connection not set
    to UTC, pins the text settings first) seals each the right way in one round trip."""
    from rma.core import seals

    depot = pg_depot
    old_tag, new_tag = receive_unit(depot, "HU88000001"), receive_unit(depot, "HU88000002")
    with depot.uow(readonly=True) as uow:
        old, new = (str(core.find_visit(uow, t).id) for t in (old_tag, new_tag))
    with depot.engine.connect() as conn:
        before = conn.execute(text("SELECT stream, rows, digest FROM ledger_heads "
                                   "WHERE ledger = 'returns_ledger' ORDER BY 1")).all()
    with depot.engine.begin() as conn:
        conn.execute(text(f"SET LOCAL TimeZone = '{time_zone}'"))
        conn.execute(text("UPDATE ledger_heads SET rows = 0, digest = 'stale' WHERE ledger = 'returns_ledger' "
                          "AND stream = :old"), {"old": old})
        conn.execute(text("DELETE FROM ledger_heads WHERE ledger = 'returns_ledger' AND stream = :new"), {"new": new})
        seals.seal_streams(conn, {"returns_ledger": {old, new}}, {("visits", new)})
    with depot.engine.connect() as conn:
        after = conn.execute(text("SELECT stream, rows, digest FROM ledger_heads "
                                  "WHERE ledger = 'returns_ledger' ORDER BY 1")).all()
    assert after == before
    assert codes(depot) == []
