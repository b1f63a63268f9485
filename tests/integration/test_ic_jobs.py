"""IC batch jobs against the 4-socket programmer simulator: blank ICs issued from stores, programmed
socket by socket, good ones into stock as the programmed part and failed ones to scrap through the
stores' services; every fault a job meets; a killed station resumed with exact counts; never more
programmed than issued; two stations on one job, one wins; the new ledgers sealed."""

from __future__ import annotations

import json
import os
import random
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
from rma.errors import DomainError
from rma.inventory import services as stores
from rma.inventory.ledger import balance, find_bin, find_part
from rma.programming import job_runner, jobs
from rma.programming.models import ProgrammingBlock
from tests.ic_job_rig import BLANK, BLANK_STOCK, IMAGE, ic_store, open_job, show

ROOT = Path(__file__).resolve().parents[2]
PROGRAMMED = f"{BLANK}-P1.4.0"
BLANK_CHIP = b"\xff" * (2 * 1024 * 1024)


@pytest.fixture
def store(db, rma_env):
    return ic_store(db)["image"]


def held(db, part: str, bin_code: str) -> int:  # noqa: ANN001
    with db.uow(readonly=True) as uow:
        return balance(uow, find_part(uow, part).id, find_bin(uow, bin_code).id)[0] // 1000


def fresh_blanks(sim: ProgrammerSimulator):  # noqa: ANN201
    """The operator's hands between rounds: every socket gets a new blank IC."""
    def load(_round: int) -> bool:
        for socket in range(1, 5):
            sim.load(socket, BLANK_CHIP)
        return True
    return load


def run(db, key: str, sim: ProgrammerSimulator, *, station: str = "stores-1", **kwargs) -> job_runner.JobRun:  # noqa: ANN001
    kwargs.setdefault("next_round", fresh_blanks(sim))
    return job_runner.run_job(db, "materials", key, port=sim.url, station=station, **kwargs)


def test_a_job_of_eight_goes_through_stores_with_a_bad_socket_switched_off(db, store):
    key = open_job(db, store, 8, issue=8)
    assert (held(db, BLANK, "A-03-01"), held(db, PROGRAMMED, "P-01-01")) == (BLANK_STOCK - 8, 0)
    seen: list = []
    with ProgrammerSimulator(faults=["bad_socket=3"], pace=False) as sim:
        result = run(db, key, sim, on_event=seen.append)
        assert sim.contents(1)[:len(IMAGE)] == IMAGE
    assert (result.stopped, result.rounds) == ("complete", 3)
    job = show(db, key)
    assert {k: job[k] for k in ("issued", "good", "failed", "returned", "in_progress", "left", "state")} == {
        "issued": 8, "good": 8, "failed": 0, "returned": 0, "in_progress": 0, "left": 0, "state": "complete"}
    sockets = {s["socket"]: (s["on"], s["good"], s["failed"], s["yield"]) for s in job["sockets"]}
    assert sockets == {1: (True, 3, 0, "100.0"), 2: (True, 3, 0, "100.0"), 3: (False, 0, 0, None),
                       4: (True, 2, 0, "100.0")}
    [off] = job["events"]
    assert (off["kind"], off["socket"], off["by"]) == ("socket_off", 3, "system") and "self-test" in off["reason"]
    assert all(a["result"] == "ok" and a["verified"] for a in job["attempts"]) and len(job["attempts"]) == 8
    # the stock moved through the stores: 8 programmed ICs in the job's bin, the blanks gone from the room
    assert (held(db, BLANK, "A-03-01"), held(db, PROGRAMMED, "P-01-01")) == (BLANK_STOCK - 8, 8)
    with db.uow(readonly=True) as uow:
        blank = stores.job_stock(uow, key)["parts"][0]
    assert (blank["issued"], blank["good"], blank["failed"], blank["in_progress"]) == ("8", "8", "0", "0")
    states = [(e.socket, e.state) for e in seen if isinstance(e, job_runner.SocketEvent)]
    assert states[:6] == [(1, "busy"), (1, "ok"), (2, "busy"), (2, "ok"), (3, "off"), (4, "busy")]
    assert any(isinstance(e, job_runner.JobProgress) and e.phase == "verify" for e in seen)
    assert run_checks(db).ok and run_checks(db).warning_counts == {}
    with db.uow(readonly=True) as uow:
        png = jobs.job_label(uow, key, count=4)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        with pytest.raises(DomainError) as e:
            jobs.job_label(uow, key, count=9)
    assert e.value.code == "bad_label_count"


@pytest.mark.parametrize("fault, code, address, blocks", [
    ("verify_mismatch_at=0x1234@2", "programmer_verify_failed", 0x1234, 6),
    ("write_protect@2", "programmer_verify_failed", 0, 6),
    ("nack_at_block=2@2", "programmer_write_failed", 0x2000, 2),
    ("wrong_chip_id@2", "programmer_wrong_chip", None, 0),
])
def test_a_failed_ic_goes_to_scrap_with_its_first_bad_address(db, store, fault, code, address, blocks):
    key = open_job(db, store, 4, issue=4)
    with ProgrammerSimulator(faults=[fault], pace=False) as sim:
        result = run(db, key, sim, rounds=1)
    assert result.stopped == "nothing_left"  # 4 issued, 4 done: the failed one is not replaced
    job = show(db, key)
    assert (job["good"], job["failed"], job["left"]) == (3, 1, 0)
    [bad] = [a for a in job["attempts"] if a["result"] == "failed"]
    assert (bad["socket"], bad["code"]) == (2, code) and not bad["verified"]
    if address is not None:
        assert bad["first_bad_address"] == f"0x{address:08X}"
    with db.uow(readonly=True) as uow:
        written = uow.session.scalar(select(func.count()).select_from(ProgrammingBlock)
                                     .where(ProgrammingBlock.attempt_id == bad["attempt_id"]))
        scrapped = stores.job_stock(uow, key)["parts"][0]["failed"]
    assert written == blocks and scrapped == "1"
    assert held(db, PROGRAMMED, "P-01-01") == 3
    assert run_checks(db).ok


def test_a_socket_that_fails_three_ics_in_a_row_is_switched_off_and_the_job_goes_on(db, store):
    key = open_job(db, store, 10, issue=14)
    with ProgrammerSimulator(faults=["verify_mismatch_at=16@4"], pace=False) as sim:
        result = run(db, key, sim)
    job = show(db, key)
    assert (result.stopped, result.rounds) == ("complete", 4) and (job["good"], job["failed"]) == (10, 3)
    s4 = job["sockets"][3]
    assert (s4["on"], s4["failed"], s4["yield"]) == (False, 3, "0.0")
    assert [e["by"] for e in job["events"]] == ["system"] and job["yield"] == "76.9"
    assert held(db, PROGRAMMED, "P-01-01") == 10 and job["left"] == 1
    assert run_checks(db).ok


def test_an_empty_socket_is_passed_over_and_nothing_is_written_for_it(db, store):
    key = open_job(db, store, 3, issue=3)
    with ProgrammerSimulator(faults=["no_target@2"], pace=False) as sim:
        result = run(db, key, sim)
    job = show(db, key)
    assert result.stopped == "complete" and job["good"] == 3
    assert job["sockets"][1]["good"] + job["sockets"][1]["failed"] + job["sockets"][1]["errors"] == 0
    assert job["sockets"][1]["on"]  # an empty socket is not a bad one


def test_no_ic_in_any_socket_stops_the_run_and_says_so(db, store):
    key = open_job(db, store, 3, issue=3)
    with ProgrammerSimulator(faults=["no_target"], pace=False) as sim:
        result = run(db, key, sim)
    assert result.stopped == "no_ic" and show(db, key)["attempts"] == []


def test_a_corrupted_reply_is_resent_and_the_ic_is_good(db, store):
    key = open_job(db, store, 1, issue=1)
    with ProgrammerSimulator(faults=["corrupt_frame=5"], pace=False) as sim:
        result = run(db, key, sim)
    assert result.stopped == "complete"
    with db.uow(readonly=True) as uow:
        resent = uow.session.execute(text("SELECT resent FROM programming_results")).scalar()
    assert resent >= 1


@pytest.mark.parametrize("fault", ["timeout=12", "link_drop_at_byte=9000", "power_loss_mid_block=3@1"])
def test_a_programmer_or_line_lost_mid_ic_stops_the_run_and_the_ic_is_done_again(db, store, fault):
    key = open_job(db, store, 2, issue=2)
    with ProgrammerSimulator(faults=[fault], pace=False) as sim:
        t0 = time.monotonic()
        first = run(db, key, sim)
        assert time.monotonic() - t0 < 15  # a dead programmer fails in seconds
    assert first.stopped == "programmer_error"
    job = show(db, key)
    [lost] = job["attempts"]
    assert lost["result"] == "error" and (job["good"], job["failed"], job["left"]) == (0, 0, 2)
    assert held(db, PROGRAMMED, "P-01-01") == 0  # nothing booked for an IC the station could not finish
    with ProgrammerSimulator(pace=False) as sim:  # the programmer back (a new one for a dropped line)
        again = run(db, key, sim)
    assert again.stopped == "complete" and show(db, key)["good"] == 2
    assert run_checks(db).ok


def test_more_ics_than_issued_are_never_programmed(db, store):
    key = open_job(db, store, 8, issue=3)
    with ProgrammerSimulator(pace=False) as sim:
        result = run(db, key, sim)
        assert result.stopped == "nothing_left" and "issue more" in result.message
        job = show(db, key)
        assert (job["issued"], job["good"], job["left"]) == (3, 3, 0)
        plan = job_runner.prepare(db, "materials", key, port=sim.url, station="stores-1")
        with pytest.raises(DomainError) as e, db.uow() as uow:  # the start row itself is refused
            job_runner.start_attempt(uow, plan, 1, None, None)
        assert e.value.code == "job_nothing_left"
        job_runner._release(db, plan)
        with db.uow() as uow:
            jobs.issue(uow, core.get_actor(uow, "materials"), key, bin_code="A-03-01", quantity=6)
        assert run(db, key, sim).stopped == "complete"
    job = show(db, key)
    assert (job["issued"], job["good"], job["left"]) == (9, 8, 1)
    assert held(db, PROGRAMMED, "P-01-01") == 8
    with db.uow() as uow:  # the one left goes back to its bin
        jobs.return_blanks(uow, core.get_actor(uow, "materials"), key, bin_code="A-03-01", quantity=1)
    assert show(db, key)["left"] == 0 and held(db, BLANK, "A-03-01") == BLANK_STOCK - 8
    assert run_checks(db).ok


def test_two_stations_on_one_job_one_wins(db, store):
    key = open_job(db, store, 4, issue=4)
    barrier, outcomes = threading.Barrier(2), []

    def station(name: str) -> None:
        barrier.wait()
        try:
            outcomes.append(job_runner.prepare(db, "materials", key, port="loop://", station=name))
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=station, args=(f"stores-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    [plan] = [o for o in outcomes if isinstance(o, job_runner.JobPlan)]
    assert [o for o in outcomes if isinstance(o, str)] == ["job_in_programming"]
    loser = "stores-2" if plan.station == "stores-1" else "stores-1"
    with ProgrammerSimulator(pace=False) as sim:
        with pytest.raises(DomainError) as e:
            run(db, key, sim, station=loser)
        assert e.value.code == "job_in_programming" and plan.station in e.value.message
        assert show(db, key)["state"] == "running"
        job_runner._release(db, plan)
        assert run(db, key, sim, station=loser).stopped == "complete"


KILLED = """
import sys
from rma.db import Database
from rma.programming import job_runner
db = Database.from_url()
job_runner.run_job(db, "materials", sys.argv[1], port=sys.argv[2], station="stores-9")
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_a_station_killed_at_a_random_moment_resumes_with_exact_counts(db, store, rma_env, seed):
    key = open_job(db, store, 6, issue=6)
    rng = random.Random(seed)
    with ProgrammerSimulator(pace=True, baudrate=230400) as sim:
        proc = subprocess.Popen([sys.executable, "-c", KILLED, key, sim.url], cwd=ROOT, env=rma_env)
        want = rng.randint(1, 4)  # blocks of some attempt acknowledged, then a random moment more
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.uow(readonly=True) as uow:
                if uow.session.scalar(select(func.count()).select_from(ProgrammingBlock)) >= want:
                    break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        before = show(db, key)
        assert before["good"] + before["in_progress"] + before["left"] - before["in_progress"] >= 0
        if before["in_progress"]:
            with pytest.raises(DomainError) as e:  # an IC in progress is never guessed: resume checks it
                run(db, key, sim, station="stores-9")
            assert e.value.code == "job_needs_resume"
        result = run(db, key, sim, station="stores-9", resume=True, next_round=lambda _n: True)
    after = show(db, key)
    assert result.stopped == "complete"
    assert (after["issued"], after["good"], after["failed"], after["in_progress"], after["left"]) == (6, 6, 0, 0, 0)
    assert held(db, PROGRAMMED, "P-01-01") == 6 and held(db, BLANK, "A-03-01") == BLANK_STOCK - 6
    results = [a["result"] for a in after["attempts"]]
    assert results.count("ok") == 6 and set(results) <= {"ok", "abandoned"}
    report = run_checks(db)
    assert report.ok and report.warning_counts == {}


def test_an_ic_left_in_progress_that_holds_the_image_is_counted_good_by_its_hash(db, store):
    """The station died after the IC was written and verified, before its result: resume hashes it."""
    key = open_job(db, store, 2, issue=2)
    with ProgrammerSimulator(pace=False) as sim:
        plan = job_runner.prepare(db, "materials", key, port=sim.url, station="stores-1")
        from drivers.programmer import SerialProgrammer

        with SerialProgrammer(sim.url) as p:
            identity, chip = p.identify(), (p.select(2), p.chip_id())[1]
        with db.uow() as uow:
            attempt = job_runner.start_attempt(uow, plan, 2, identity, chip)
        sim.load(2, IMAGE)  # it got through before the power went
        with job_runner._live_lock:
            job_runner._live.clear()  # as after a restart: this process holds no live job
        result = run(db, key, sim, resume=True)
    job = show(db, key)
    first = next(a for a in job["attempts"] if a["attempt_id"] == attempt)
    assert (first["result"], first["code"], first["verified"]) == ("ok", "checked_on_resume", True)
    assert result.stopped == "complete" and (job["good"], job["in_progress"]) == (2, 0)
    assert run_checks(db).ok


def test_what_is_refused_before_anything_is_written(db, store, tmp_path):
    with db.uow() as uow:
        clerk, tech = core.get_actor(uow, "materials"), core.get_actor(uow, "tech")
        for kwargs, code in (({"quantity": 0}, "bad_job_quantity"), ({"quantity": "2.5"}, "bad_job_quantity"),
                             ({"part_number": "IC-TDA7851"}, "firmware_not_for_part"),
                             ({"image": "999"}, "unknown_firmware")):
            with pytest.raises(DomainError) as e:
                jobs.new_job(uow, clerk, **{"image": str(store), "part_number": BLANK, "quantity": 4,
                                            "bin_code": "P-01-01", **kwargs})
            assert e.value.code == code
        with pytest.raises(DomainError) as e:
            jobs.new_job(uow, tech, image=str(store), part_number=BLANK, quantity=4, bin_code="P-01-01")
        assert e.value.code == "forbidden"
        with pytest.raises(DomainError) as e:
            jobs.find_job(uow, "ICJ-000404")
        assert e.value.code == "unknown_job"
    key = open_job(db, store, 2, issue=2)
    from rma.programming import registry
    from rma.programming.models import FirmwareImage

    with db.uow(readonly=True) as uow:
        path = registry.file_path(uow.session.get(FirmwareImage, store).sha256)
    path.write_bytes(IMAGE[:-1] + b"\x00")  # the file changed behind the registry's back
    with ProgrammerSimulator(pace=False) as sim, pytest.raises(DomainError) as e:
        run(db, key, sim)
    assert e.value.code == "firmware_file_changed" and show(db, key)["attempts"] == []


def test_the_job_ledgers_refuse_changes_and_the_check_finds_an_edit(db, store):
    key = open_job(db, store, 2, issue=2)
    with ProgrammerSimulator(faults=["bad_socket=1"], pace=False) as sim:
        run(db, key, sim)
    for sql in ("UPDATE ic_jobs SET quantity = 99", "DELETE FROM ic_job_attempts", "UPDATE ic_job_events SET socket = 2"):
        with pytest.raises(DBAPIError) as e, db.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(e.value)
    with db.engine.begin() as conn:  # the owner moves an attempt to another job behind rma's back
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE ic_job_attempts DISABLE TRIGGER ic_job_attempts_no_delete"))
            conn.execute(text("DELETE FROM ic_job_attempts WHERE attempt_id = (SELECT max(attempt_id) "
                              "FROM ic_job_attempts)"))
            conn.execute(text("ALTER TABLE ic_job_attempts ENABLE ALWAYS TRIGGER ic_job_attempts_no_delete"))
        else:
            from rma.core.guards import sqlite_trigger

            conn.execute(text("DROP TRIGGER ic_job_attempts_no_delete"))
            conn.execute(text("DELETE FROM ic_job_attempts WHERE attempt_id = (SELECT max(attempt_id) "
                              "FROM ic_job_attempts)"))
            conn.execute(text(sqlite_trigger("ic_job_attempts", "delete")))
    with db.uow(readonly=True) as uow:
        found = {(v.code, v.ledger) for v in check_ledgers(uow)}
    assert ("ledger_tampered", "ic_job_attempts") in found
    assert ("programmed_ic_without_programming", "stock_moves") in found


def test_good_ics_booked_by_hand_without_programming_are_found(db, store):
    key = open_job(db, store, 4, issue=4)
    with db.uow() as uow:
        stores.book_job_result(uow, core.get_actor(uow, "materials"), job=key, blank_part_number=BLANK,
                               programmed_part_number=PROGRAMMED, good=2, failed=0, bin_code="P-01-01")
    with db.uow(readonly=True) as uow:
        assert [v.code for v in check_ledgers(uow)] == ["programmed_ic_without_programming"]


def test_the_commands_answer_in_json(db, store, capsys):
    assert main(["program", "job", "new", "--image", str(store), "--part", BLANK, "--quantity", "3", "--bin",
                 "P-01-01", "--as", "materials", "--json"]) == 0
    key = json.loads(capsys.readouterr().out)["job"]
    assert main(["program", "job", "issue", key, "--bin", "A-03-01", "--quantity", "3", "--as", "materials"]) == 0
    capsys.readouterr()
    with ProgrammerSimulator(faults=["bad_socket=2"], pace=False) as sim:
        assert main(["program", "job", "run", key, "--port", sim.url, "--as", "materials", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stopped"] == "complete" and out["counts"]["good"] == 3
    assert main(["program", "job", "show", key, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [s["on"] for s in shown["sockets"]] == [True, False, True, True]
    assert main(["program", "job", "list", "--json"]) == 0
    assert [j["job"] for j in json.loads(capsys.readouterr().out)] == [key]
    assert main(["program", "job", "socket", key, "2", "on", "--reason", "reseated", "--as", "materials"]) == 0
    assert "socket 2 on by materials: reseated" in capsys.readouterr().out
    assert main(["program", "job", "show", "ICJ-9", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "unknown_job"
