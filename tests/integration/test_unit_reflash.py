"""Unit reflash at the bench against the programmer simulator: the chip read first, the model's released
image erased, written and verified, and only then success; every fault of the simulator ends with the
right, clear outcome in the programming ledger and on the visit; two stations, one wins; a killed
process leaves an attempt visibly unfinished."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from drivers.programmer_sim import ProgrammerSimulator
from rma.cli import main
from rma.core import services as core
from rma.core.checks import check_ledgers, run_checks
from rma.core.ledger import record_visit_event
from rma.errors import DomainError
from rma.intake import services as intake
from rma.programming import registry, services
from rma.programming.models import (
    AttemptResult,
    ProgrammingAttempt,
    ProgrammingBlock,
    ProgrammingLock,
)
from rma.sentences import entry_sentence
from tests.factories import seed_basics
from tests.programming_rig import (
    NEW,
    NEW_IMAGE,
    OLD,
    OLD_IMAGE,
    add,
    depot,
    in_programming,
    unit_firmware,
    visit_state,
)

ROOT = Path(__file__).resolve().parents[2]
FIRST_DIFFERENCE = next(i for i, (a, b) in enumerate(zip(OLD_IMAGE, NEW_IMAGE)) if a != b)


@pytest.fixture
def bench(db, rma_env):
    depot(db)
    return db


def programmer(*faults: str, **options) -> ProgrammerSimulator:
    """A programmer with the unit's chip on socket 1 holding the old firmware."""
    sim = ProgrammerSimulator(faults=list(faults), pace=options.pop("pace", False), **options)
    sim.load(1, OLD_IMAGE)
    return sim


def reflash(db, tag: str, sim: ProgrammerSimulator, *, who: str = "tech", station: str = "bench-1", **kwargs):  # noqa: ANN001, ANN201
    return services.reflash_unit(db, who, tag, port=sim.url, station=station, **kwargs)


def attempts(db, tag: str) -> list[dict]:  # noqa: ANN001
    with db.uow(readonly=True) as uow:
        return services.list_attempts(uow, services.AttemptFilter(tag=tag))


def events(db, tag: str) -> list[dict]:  # noqa: ANN001
    with db.uow(readonly=True) as uow:
        return [e for e in core.unit_report(uow, tag)["timeline"] if e["tag"] == tag]


def test_a_unit_is_read_programmed_verified_and_goes_to_test(bench):
    db = bench
    tag = in_programming(db, "HU88000001")
    seen: list = []
    with programmer() as sim:
        result = reflash(db, tag, sim, on_event=seen.append)
        chip = sim.contents(1)[: len(NEW_IMAGE)]
    assert result.ok and result.verified and result.written == len(NEW_IMAGE) and result.first_bad_address is None
    assert (result.from_version, result.old_version, result.new_version) == (OLD, OLD, NEW)
    assert chip == NEW_IMAGE
    assert visit_state(db, tag) == "awaiting_test" and unit_firmware(db, tag) == NEW
    started = next(e for e in seen if isinstance(e, services.ReflashStarted))
    assert (started.chip_id, started.old_sha256) == ("EF4015", hashlib.sha256(OLD_IMAGE).hexdigest())
    progress = [e for e in seen if isinstance(e, services.ReflashProgress)]
    assert [p.done for p in progress if p.phase == "write"] == list(range(4096, len(NEW_IMAGE) + 1, 4096))
    assert progress[-1].phase == "verify" and progress[-1].done == progress[-1].total
    [row] = attempts(db, tag)
    assert (row["result"], row["verified"], row["chip_sha256"], row["image_sha256"]) == (
        "ok", True, hashlib.sha256(NEW_IMAGE).hexdigest(), hashlib.sha256(NEW_IMAGE).hexdigest())
    assert (row["chip_id"], row["old_version"], row["programmer_serial"], row["station"], row["operator"]) == (
        "EF4015", OLD, "GP400-0012", "bench-1", "tech")
    assert row["tool_version"].startswith("rma ") and row["seconds"] > 0
    with db.uow(readonly=True) as uow:
        blocks = uow.session.scalar(select(func.count()).select_from(ProgrammingBlock))
        assert blocks == len(NEW_IMAGE) // 4096  # every acknowledged block is in the ledger
        assert uow.session.get(ProgrammingLock, core.find_visit(uow, tag).id) is None
        assert check_ledgers(uow, warnings=True) == []
    said = [(e["event"], e["from_state"], e["to_state"]) for e in events(db, tag)[-2:]]
    assert said == [("programming_started", None, None), ("programming_done", "programming", "awaiting_test")]
    done = events(db, tag)[-1]
    assert entry_sentence(done, lang="en").startswith(f"Programming done: firmware {OLD} → {NEW}; verified")
    assert entry_sentence(done, lang="zh").startswith(f"烧录完成：固件 {OLD} → {NEW}；已由烧录器SHA-256校验")


def test_a_firmware_interception_that_no_longer_applies_is_done_by_the_system(bench):
    db = bench
    with db.uow() as uow:
        intake.add_interception(uow, core.get_actor(uow, "boss"), model_code="HU-8800", firmware=OLD,
                                action="升级固件至 3.2.1")
    tag = in_programming(db, "HU88000002")
    with db.uow(readonly=True) as uow:
        [alert] = intake.open_alerts(uow, core.find_visit(uow, tag))
    with programmer("verify_mismatch_at=100") as sim:  # a failed reflash changes nothing
        assert reflash(db, tag, sim).result is AttemptResult.FAILED
    with db.uow(readonly=True) as uow:
        assert [a["status"] for a in intake.alert_states(uow, core.find_visit(uow, tag))] == ["open"]
    with db.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, core.VisitState.PROGRAMMING, "flash replaced")
    with programmer() as sim:
        result = reflash(db, tag, sim)
    assert result.ok and result.alerts_done == [alert["id"]]
    with db.uow(readonly=True) as uow:
        [state] = intake.alert_states(uow, core.find_visit(uow, tag))
    assert (state["status"], state["by"], state["by_system"], state["note"]) == ("done", "tech", True, f"{OLD} → {NEW}")


FAULTS = [  # fault, result, where the visit is, code, first bad address (None: none), the chip keeps the old image
    ("write_protect", "failed", "in_repair", "programmer_verify_failed", FIRST_DIFFERENCE, True),
    ("verify_mismatch_at=0x1234", "failed", "in_repair", "programmer_verify_failed", 0x1234, False),
    ("nack_at_block=5", "failed", "in_repair", "programmer_write_failed", 5 * 4096, False),
    ("wrong_chip_id", "failed", "in_repair", "programmer_wrong_chip", None, True),
    ("no_target", "failed", "in_repair", "programmer_no_target", None, True),
    ("timeout", "error", "programming", "programmer_timeout", None, True),
    ("timeout=8", "error", "programming", "programmer_timeout", "written", False),
    ("link_drop_at_byte=20000", "error", "programming", "programmer_port_lost", "written", False),
    ("power_loss_mid_block=3", "error", "programming", "programmer_timeout", 3 * 4096, False),
    ("bad_socket=1", "error", "programming", "programmer_socket_disabled", None, True),
    ("corrupt_frame", "ok", "awaiting_test", None, None, False),
]


@pytest.mark.parametrize(("fault", "result", "state", "code", "address", "untouched"), FAULTS,
                         ids=[f[0] for f in FAULTS])
def test_every_fault_ends_with_its_clear_outcome(bench, fault, result, state, code, address, untouched):
    db = bench
    tag = in_programming(db, "HU88000003")
    with programmer(fault) as sim:
        r = reflash(db, tag, sim)
        chip = sim.contents(1)[: len(NEW_IMAGE)]
    assert (r.result.value, r.code, visit_state(db, tag), r.durable) == (result, code, state, True)
    if address == "written":  # stopped mid-image: the first byte not acknowledged, never "good"
        assert 0 < r.written < len(NEW_IMAGE) and r.first_bad_address == r.written
    else:
        assert r.first_bad_address == address
    assert (chip == OLD_IMAGE) is untouched
    [row] = attempts(db, tag)
    assert row["result"] == result and row["code"] == code
    if result == "ok":
        assert r.verified and unit_firmware(db, tag) == NEW
    else:
        assert not r.verified and not row["verified"] and row["chip_sha256"] != row["image_sha256"]
        assert unit_firmware(db, tag) == OLD  # a unit's firmware changes only with a verified attempt
        assert r.reason  # the programmer's own words are kept
        last = events(db, tag)[-1]
        assert last["event"] == ("programming_failed" if result == "failed" else "programming_error")
        assert "{" not in entry_sentence(last, lang="zh") and "programmer_" not in entry_sentence(last, lang="en")
    with db.uow(readonly=True) as uow:
        assert check_ledgers(uow, warnings=True) == []


def test_a_programmer_that_never_answers_fails_in_seconds_and_the_unit_waits(bench):
    db = bench
    tag = in_programming(db, "HU88000004")
    with programmer("timeout") as sim:
        t0 = time.monotonic()
        r = reflash(db, tag, sim)
        assert time.monotonic() - t0 < 10
    assert r.result is AttemptResult.ERROR and visit_state(db, tag) == "programming"
    with programmer() as sim:  # the technician plugs in the other programmer and scans again
        assert reflash(db, tag, sim).ok
    assert [a["result"] for a in attempts(db, tag)] == ["ok", "error"]


def test_what_is_refused_before_anything_is_written(bench, tmp_path):
    db = bench
    tag = in_programming(db, "HU88000005")
    with programmer() as sim:
        for who, key, port, code in (
                ("clerk", tag, sim.url, "forbidden"), ("tech", "HU88999999", sim.url, "unknown_unit"),
                ("tech", tag, "nonsense://port", "bad_programmer_port"), ("tech", tag, "", "text_required")):
            with pytest.raises(DomainError) as e:
                services.reflash_unit(db, who, key, port=port)
            assert e.value.code == code, (who, key, port)
        with pytest.raises(DomainError) as e:
            services.reflash_unit(db, "tech", tag, port=sim.url, socket=0)
        assert e.value.code == "bad_socket"
        with db.uow() as uow:
            core.move_visit(uow, core.get_actor(uow, "lead"), tag, core.VisitState.IN_REPAIR, "not yet")
        with pytest.raises(DomainError) as e:
            reflash(db, tag, sim)
        assert e.value.code == "not_in_programming" and "in_repair" in e.value.message
        assert sim.contents(1)[: len(OLD_IMAGE)] == OLD_IMAGE
    assert attempts(db, tag) == []


def test_a_changed_image_file_is_refused_never_programmed(bench):
    db = bench
    tag = in_programming(db, "HU88000006")
    path = registry.file_path(hashlib.sha256(NEW_IMAGE).hexdigest())
    path.write_bytes(b"\x00" + NEW_IMAGE[1:])
    with programmer() as sim:
        with pytest.raises(DomainError) as e:
            reflash(db, tag, sim)
        assert sim.contents(1)[: len(OLD_IMAGE)] == OLD_IMAGE
    assert e.value.code == "firmware_file_changed" and attempts(db, tag) == []
    assert visit_state(db, tag) == "programming"
    with db.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ProgrammingLock)) == 0


def test_a_model_with_only_a_draft_or_no_image_is_not_programmed(db, rma_env):
    seed_basics(db)
    tag = in_programming(db, "HU88000007")
    with programmer() as sim:
        with pytest.raises(DomainError) as e:
            reflash(db, tag, sim)
        assert e.value.code == "no_firmware"
        add(db, NEW_IMAGE, NEW)  # a draft: never programmed
        with pytest.raises(DomainError) as e:
            reflash(db, tag, sim)
        assert e.value.code == "no_firmware" and "released" in e.value.message
        assert sim.contents(1)[: len(OLD_IMAGE)] == OLD_IMAGE


def test_a_retired_or_draft_image_is_never_programmable():
    image = registry.ImageRef(1, "ab" * 32, 10, NEW, "W25Q16", "EF4015", 0, "draft")
    for state, code in (("draft", "firmware_not_released"), ("retired", "firmware_retired")):
        with pytest.raises(DomainError) as e:
            registry.require_programmable(image, state)
        assert e.value.code == code


def test_two_stations_on_one_visit_one_wins(bench):
    db = bench
    tag = in_programming(db, "HU88000008")
    plan = services.prepare(db, "tech", tag, port="loop://", station="bench-1")
    with programmer() as sim:
        with pytest.raises(DomainError) as e:
            reflash(db, tag, sim, who="lead", station="bench-2")
        assert e.value.code == "visit_in_programming" and "bench-1" in e.value.message and "tech" in e.value.message
        from drivers.programmer import SerialProgrammer

        assert services.execute(db, plan, SerialProgrammer(sim.url)).ok
        with pytest.raises(DomainError) as e:  # the winner moved the visit on
            reflash(db, tag, sim, who="lead", station="bench-2")
        assert e.value.code == "not_in_programming"
    assert len(attempts(db, tag)) == 1


def test_two_stations_at_the_same_moment_one_wins(bench):
    db = bench
    tag = in_programming(db, "HU88000009")
    barrier, outcomes = threading.Barrier(2), []

    def station(name: str) -> None:
        barrier.wait()
        try:
            outcomes.append(services.prepare(db, "tech", tag, port="loop://", station=name))
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=station, args=(f"bench-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    plans = [o for o in outcomes if isinstance(o, services.ReflashPlan)]
    assert len(plans) == 1 and [o for o in outcomes if isinstance(o, str)] == ["visit_in_programming"]


KILLED = """
import sys
from rma.db import Database
from rma.programming import services
db = Database.from_url()
services.reflash_unit(db, "tech", sys.argv[1], port=sys.argv[2], station="bench-9")
"""


def test_a_killed_process_leaves_an_attempt_visibly_unfinished(bench, rma_env, capsys):
    db = bench
    tag = in_programming(db, "HU88000010")
    with programmer(pace=True, baudrate=115200) as sim:  # slow enough to be killed half-way
        proc = subprocess.Popen([sys.executable, "-c", KILLED, tag, sim.url], cwd=ROOT, env=rma_env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.uow(readonly=True) as uow:
                if uow.session.scalar(select(func.count()).select_from(ProgrammingBlock)) >= 3:
                    break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        [dead] = attempts(db, tag)
        assert dead["result"] == "unfinished" and 3 * 4096 <= dead["written"] < len(NEW_IMAGE)
        assert visit_state(db, tag) == "programming" and unit_firmware(db, tag) == OLD
        report = run_checks(db)
        assert report.ok and list(report.warning_counts) == ["programming_unfinished"]
        assert main(["check"]) == 0
        assert "programming_unfinished" in capsys.readouterr().out
        with pytest.raises(DomainError) as e:  # another station waits: the lock is fresh
            reflash(db, tag, sim, station="bench-8")
        assert e.value.code == "visit_in_programming" and "bench-9" in e.value.message
        result = reflash(db, tag, sim, station="bench-9")  # the station that died takes its own attempt over
    assert result.ok and unit_firmware(db, tag) == NEW
    new, old = attempts(db, tag)
    assert (new["result"], old["result"], old["code"]) == ("ok", "abandoned", "abandoned")
    assert f"attempt {new['attempt_id']}" in old["reason"]
    assert run_checks(db).warning_counts == {}


def test_the_ledger_refuses_changes_and_the_check_finds_an_edit(bench):
    db = bench
    tag = in_programming(db, "HU88000011")
    with programmer("verify_mismatch_at=64") as sim:
        attempt = reflash(db, tag, sim).attempt_id
    for sql in ("UPDATE programming_results SET result = 'ok'", "DELETE FROM programming_attempts",
                "UPDATE programming_blocks SET done = 0"):
        with pytest.raises(DBAPIError) as e, db.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(e.value)
    with db.engine.begin() as conn:  # the owner switches the guard off, forges an ok, switches it back on
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE programming_results DISABLE TRIGGER programming_results_no_update"))
            conn.execute(text("UPDATE programming_results SET result = 'ok', verified = true"))
            conn.execute(text("ALTER TABLE programming_results ENABLE ALWAYS TRIGGER programming_results_no_update"))
        else:
            from rma.core.guards import sqlite_trigger

            conn.execute(text("DROP TRIGGER programming_results_no_update"))
            conn.execute(text("UPDATE programming_results SET result = 'ok', verified = 1"))
            conn.execute(text(sqlite_trigger("programming_results", "update")))
    with db.uow(readonly=True) as uow:
        found = {(v.code, v.ledger) for v in check_ledgers(uow)}
    assert found == {("ledger_tampered", "programming_results"), ("programming_ok_unverified", "programming_results")}
    assert attempt is not None


def test_firmware_that_changed_without_a_verified_programming_is_found(bench):
    db = bench
    tag = in_programming(db, "HU88000012")
    with programmer() as sim:
        reflash(db, tag, sim)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE units SET firmware_version = '9.9.9'"))
    with db.uow() as uow:  # and a reflash claimed in the returns ledger with nothing behind it
        visit = core.find_visit(uow, tag)
        record_visit_event(uow, visit, core.get_actor(uow, "tech"), "programming_done",
                           details={"attempt": 999, "firmware": "9.9.9"})
    with db.uow(readonly=True) as uow:
        assert sorted(v.code for v in check_ledgers(uow)) == ["firmware_without_programming",
                                                               "programming_done_unverified"]


def test_a_single_programming_done_naming_an_attempt_that_is_not_its_visits_is_found(bench):
    """The returns pass judges a visit's one ``programming_done`` by the attempt it names: a
    verified attempt of another visit, or a number that is no attempt, proves nothing."""
    db = bench
    done, other, bare = (in_programming(db, s) for s in ("HU88000031", "HU88000032", "HU88000033"))
    with programmer() as sim:
        reflash(db, done, sim)
    with db.uow(readonly=True) as uow:
        assert check_ledgers(uow) == []
        done_visit = core.find_visit(uow, done).id
        attempt = uow.session.scalar(select(ProgrammingAttempt.id).where(ProgrammingAttempt.visit_id == done_visit))
    for tag, named in ((other, attempt), (bare, 424242)):
        with db.uow() as uow:
            record_visit_event(uow, core.find_visit(uow, tag), core.get_actor(uow, "tech"), "programming_done",
                               details={"attempt": named, "firmware": "3.2.1"})
    with db.uow(readonly=True) as uow:
        assert sorted((v.code, v.subject) for v in check_ledgers(uow)) == sorted(
            [("programming_done_unverified", other), ("programming_done_unverified", bare)])


def test_the_command_shows_a_live_bar_and_answers_in_json(bench, capsys):
    db = bench
    tag = in_programming(db, "HU88000013")
    with programmer(pace=True) as sim:
        assert main(["program", "unit", tag, "--port", sim.url, "--as", "tech", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["result"], result["verified"], result["new_version"], result["visit_state"]) == (
        "ok", True, NEW, "awaiting_test")
    assert "kB/s" in captured.err and "s left" in captured.err and "verify" in captured.err
    other = in_programming(db, "HU88000014")
    with programmer("nack_at_block=2") as sim:
        assert main(["program", "unit", other, "--port", sim.url, "--as", "tech"]) == 3
    out = capsys.readouterr().out
    assert "FAILED" in out and "first bad address 0x00002000" in out
    assert main(["program", "unit", other, "--port", "loop://", "--as", "tech"]) == 1  # back in repair now
    assert "only a unit in programming" in capsys.readouterr().err
    assert main(["program", "log", "--json", "--result", "failed"]) == 0
    [failed] = json.loads(capsys.readouterr().out)
    assert failed["tag"] == other and failed["first_bad_address"] == "0x00002000"
    assert main(["program", "show", str(failed["attempt_id"])]) == 0
    assert "blocks acknowledged" in capsys.readouterr().out
    assert main(["program", "log", "--csv"]) == 0
    assert capsys.readouterr().out.startswith("attempt_id,tag,serial")
    assert main(["program", "log", "--result", "maybe"]) == 1


def test_stopped_by_the_operator_the_unit_stays_in_programming(bench):
    db = bench
    tag = in_programming(db, "HU88000015")
    stop = threading.Event()

    def after_two_blocks(event: object) -> None:
        if isinstance(event, services.ReflashProgress) and event.done >= 2 * 4096:
            stop.set()  # as Esc on the page does

    with programmer() as sim:
        r = reflash(db, tag, sim, on_event=after_two_blocks, abort=stop)
    assert (r.result, r.code, r.first_bad_address) == (AttemptResult.ABORTED, "aborted", r.written)
    assert 2 * 4096 <= r.written < len(NEW_IMAGE) and visit_state(db, tag) == "programming"
    last = events(db, tag)[-1]
    assert last["event"] == "programming_aborted"
    assert entry_sentence(last, lang="en") == (f"Programming stopped: stopped by the operator; written up to "
                                               f"0x{r.written:08X}: program it again; firmware {NEW}; "
                                               f"programming record {r.attempt_id}.")


def test_the_bench_sends_a_unit_to_programming_with_its_firmware_interception_open(bench):
    """The reflash clears a firmware interception itself, so the bench may send the unit on with it open;
    to test it may not go with it open, and any other interception stays a stop for both."""
    from rma.bench import services as bench_services

    db = bench
    with db.uow() as uow:
        intake.add_interception(uow, core.get_actor(uow, "boss"), model_code="HU-8800", firmware=OLD,
                                action="升级固件至 3.2.1")
    tag = in_programming(db, "HU88000003")
    with db.uow() as uow:  # back to the bench, the way a failed reflash sends it
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, core.VisitState.IN_REPAIR, "to the bench")
    with db.uow() as uow:
        tech = core.get_actor(uow, "tech")
        bench_services.start_repair(uow, tech, tag)
        bench_services.code_complaint(uow, tech, tag, condition="1", symptom="101")
        bench_services.add_finding(uow, tech, tag, section="FW", designator=None, defect="D07", repair="R05")
    with pytest.raises(DomainError) as refused, db.uow() as uow:
        bench_services.decide(uow, core.get_actor(uow, "tech"), tag, "test")
    assert refused.value.code == "alert_open"
    with db.uow() as uow:
        bench_services.decide(uow, core.get_actor(uow, "tech"), tag, "programming")
    assert visit_state(db, tag) == "programming"
    with programmer() as sim:
        assert reflash(db, tag, sim).ok
    with db.uow(readonly=True) as uow:
        [state] = intake.alert_states(uow, core.find_visit(uow, tag))
        assert (state["status"], state["by_system"]) == ("done", True)
        assert check_ledgers(uow) == []
