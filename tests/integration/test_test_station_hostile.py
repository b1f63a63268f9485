"""The test station against what broke it: a plan the fixture refuses, a crashed run, two
stations racing for one tag, a broken plan of another model, plans edited on a running station."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from drivers.fixture_sim import FixtureSimulator, TcpFixtureSimulator
from rma.cli import main
from rma.core import services as core
from rma.core.states import VisitState
from rma.db import Database
from rma.errors import DomainError
from rma.test_station import plans, services
from rma.test_station.models import TestLock, TestRun, TestStepResult
from tests.factories import seed_basics
from tests.integration.test_test_station import FIRMWARE, awaiting_test, run, state

BUILTIN_HU = plans.BUILTIN / "hu-8800.toml"


@pytest.fixture
def bench(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="tess", password="tess-pass", roles=[core.Role.TESTER])
    return db


def home_plan(rma_env, name: str, text: str) -> Path:
    folder = Path(rma_env["RMA_HOME"]) / "plans"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def runs_of(db, tag):
    with db.uow(readonly=True) as uow:
        return services.list_runs(uow, services.RunFilter(tag=tag))


def lock_of(db, tag):
    with db.uow(readonly=True) as uow:
        visit = core.find_visit(uow, tag)
        lock = uow.session.get(TestLock, visit.id)
        return None if lock is None else (lock.station, lock.run_id)


# ---------------------------------------------------------------- a plan the run would refuse


def test_plan_check_refuses_a_command_the_fixture_cannot_take_and_no_run_starts_with_it(bench, rma_env, capsys):
    text = BUILTIN_HU.read_text(encoding="utf-8").replace('send = "MEAS:VOLT? V12"', 'send = "MEAS:VOLT? V12; DUT:POWER OFF"')
    path = home_plan(rma_env, "hu-8800.toml", text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "V12; DUT" in t)
    assert main(["test", "plan", "check", str(path), "--json"]) == 1
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["code"] == "bad_plan" and f"{path}:{line}" in err["message"] and "';'" in err["message"]

    tag = awaiting_test(bench)
    code = main(["--as", "tess", "test", "run", tag, "--port", "socket://127.0.0.1:9", "--accessories-ok",
                 "--answer", "display_red=yes", "--answer", "harness_id=TH-0001", "--json"])
    err = json.loads(capsys.readouterr().out)["error"]
    assert code == 1 and err["code"] == "bad_plan" and "HU-8800" in err["message"] and f"{path}:{line}" in err["message"]
    assert runs_of(bench, tag) == [] and lock_of(bench, tag) is None and state(bench, tag) == "awaiting_test"


def test_a_run_that_breaks_half_way_ends_in_the_ledger_and_lets_go_of_the_visit(bench):
    from drivers.fixture import SerialFixture

    tag = awaiting_test(bench)

    class Breaks(SerialFixture):
        calls = 0

        def query(self, command, *, timeout=None):
            Breaks.calls += 1
            if Breaks.calls == 4:
                raise RuntimeError("a bug nobody foresaw")
            return super().query(command, timeout=timeout)

    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False) as sim:
        result = run(bench, tag, sim.url, fixture_factory=Breaks)
        assert result.outcome.value == "error" and result.durable
        assert "internal error" in result.reason and "a bug nobody foresaw" in result.reason
        assert lock_of(bench, tag) is None and state(bench, tag) == "awaiting_test"
        assert [r["outcome"] for r in runs_of(bench, tag)] == ["error"]
        again = run(bench, tag, sim.url)  # at once, from any station: nothing is left locked
    assert again.outcome.value == "pass"


def test_a_port_that_cannot_be_a_port_is_refused_before_the_visit_is_locked(bench, capsys):
    tag = awaiting_test(bench)
    code = main(["--as", "tess", "test", "run", tag, "--port", "nosuch://fixture", "--accessories-ok",
                 "--answer", "display_red=yes", "--answer", "harness_id=TH-0001", "--json"])
    assert code == 1 and json.loads(capsys.readouterr().out)["error"]["code"] == "bad_fixture_port"
    assert runs_of(bench, tag) == [] and lock_of(bench, tag) is None


def test_a_killed_run_may_be_retried_at_once_by_its_own_station_but_not_by_another(bench, rma_env):
    tag = awaiting_test(bench)
    # Every reply 1.5 s late (within the 2 s step timeout): the run is mid-way when it is killed.
    with TcpFixtureSimulator("head_unit", firmware=FIRMWARE, faults=["slow_replies=1.5"], pace=False) as slow:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rma", "--as", "tess", "test", "run", tag, "--port", slow.url, "--accessories-ok",
             "--answer", "display_red=yes", "--answer", "harness_id=TH-0001"],
            env=rma_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                with bench.uow(readonly=True) as uow:
                    if uow.session.scalar(select(func.count()).select_from(TestStepResult)):
                        break
                assert proc.poll() is None and time.monotonic() < deadline, "the run never got going"
                time.sleep(0.1)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert [r["outcome"] for r in runs_of(bench, tag)] == ["incomplete"] and state(bench, tag) == "in_test"
    from rma import config

    assert lock_of(bench, tag)[0] == config.host_name()  # the default station name: the killed command's
    with pytest.raises(DomainError) as e:  # another station still waits for the lock to go stale
        services.start_run(bench, "tess", tag, port="socket://127.0.0.1:9", incoming=False, station="test-2")
    assert e.value.code == "visit_in_test" and config.host_name() in e.value.message and "tess" in e.value.message
    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False) as sim:
        again = run(bench, tag, sim.url)  # this station: at once
    assert again.outcome.value == "pass" and state(bench, tag) == "passed"
    assert [r["outcome"] for r in runs_of(bench, tag)] == ["pass", "incomplete"]
    with bench.uow(readonly=True) as uow:
        events = [e["event"] for e in core.unit_report(uow, tag)["timeline"]]
    assert events[-2:] == ["test_taken_over", "test_passed"]


# ---------------------------------------------------------------- two stations, one tag, at once


def _race(url: str, tag: str, station: str, barrier, results) -> None:  # noqa: ANN001 - in a child process
    db = Database.from_url(url)
    barrier.wait()
    try:
        services.start_run(db, "tess", tag, port="socket://127.0.0.1:9", incoming=False, station=station)
        results.put((station, "started"))
    except DomainError as exc:
        results.put((station, exc.code, exc.message))
    except BaseException as exc:  # noqa: BLE001 - the failure this test looks for
        results.put((station, "crashed", f"{type(exc).__name__}: {exc}"))
    finally:
        db.dispose()


def test_two_stations_starting_one_tag_at_once_one_wins_the_other_is_told_who(bench, db_url):
    ctx = multiprocessing.get_context("fork")
    tries = 20
    tags = [awaiting_test(bench, f"HU88{n:06d}") for n in range(tries)]
    bench.dispose()  # the children open their own connections
    for tag in tags:
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(db_url, tag, f"test-{i}", barrier, results)) for i in (1, 2)]
        for p in procs:
            p.start()
        got = sorted((results.get(timeout=60) for _ in procs), key=lambda r: r[1])
        for p in procs:
            p.join(timeout=30)
        assert [r[1] for r in got] == ["started", "visit_in_test"], got
        winner, loser = got
        assert f"at {winner[0]} by tess" in loser[2], loser  # the loser is told who holds it
        assert lock_of(bench, tag)[0] == winner[0]
        with bench.uow(readonly=True) as uow:
            assert uow.session.scalar(select(func.count()).select_from(TestRun)
                                      .where(TestRun.visit_id == core.find_visit(uow, tag).id)) == 1


# ---------------------------------------------------------------- one broken plan, one model


def test_a_broken_plan_disables_its_own_model_only(bench, rma_env, capsys):
    gw = (plans.BUILTIN / "gw-310.toml").read_text(encoding="utf-8").replace(
        "stop_on_fail = true", 'stop_on_fail = "no"')  # read as true before: it must be a TOML boolean
    line = next(n for n, t in enumerate(gw.splitlines(), 1) if t.startswith("stop_on_fail"))
    broken = home_plan(rma_env, "gw-310-new.toml", gw)
    junk = home_plan(rma_env, "aaa-scratch.toml", "[[[ not a plan")
    assert main(["test", "plan", "list", "--json"]) == 1  # like rma check: something needs fixing
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["GW-310"]["error"].startswith(f"test plan {broken}:{line}: stop_on_fail must be true or false")
    assert rows["GW-310"]["source"] == str(broken) and rows["GW-310"]["steps"] is None
    assert rows[None]["source"] == str(junk) and "not valid TOML" in rows[None]["error"]
    assert rows["HU-8800"]["error"] is None and rows["HU-8800"]["steps"] == 22
    assert main(["test", "plan", "list"]) == 1
    text = capsys.readouterr().out
    assert f"GW-310    BROKEN  {broken}:{line}: stop_on_fail must be true or false" in text

    tag = awaiting_test(bench)  # an HU-8800 is tested as ever
    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False) as sim:
        assert run(bench, tag, sim.url).outcome.value == "pass"
    with bench.uow() as uow:  # a GW-310 is refused, naming its own plan and why
        admin = core.get_actor(uow, "admin")
        from rma.core import catalogue
        catalogue.add_model(uow, admin, code="GW-310", name="Gateway", family="ecu", serial_pattern=r"^GW31\d{6}$",
                            warranty_months=12)
    gw_tag = receive_unit_of(bench, "GW31000001")
    with pytest.raises(DomainError) as e:
        services.run_test(bench, "tess", gw_tag, port="socket://127.0.0.1:9", accessories_ok=True)
    assert e.value.code == "bad_plan" and e.value.message.startswith(
        f"the test plan of GW-310 is broken: test plan {broken}:{line}: stop_on_fail must be true or false")


def receive_unit_of(db, serial):
    from rma.core.models import ProductModel, Unit

    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        model = uow.session.scalar(select(ProductModel).where(ProductModel.code == "GW-310"))
        unit = Unit(serial=serial, model=model, created_at=uow.now())
        uow.session.add(unit)
        uow.session.flush()
        tag = core.open_visit(uow, core.get_actor(uow, "clerk"), unit, customer=None, reason=None).tag
        for to in ("awaiting_bench", "in_repair", "awaiting_test"):
            core.move_visit(uow, lead, tag, VisitState(to), "bench")
    return tag


# ---------------------------------------------------------------- read once, and again when edited


def test_a_plan_is_read_once_and_again_when_it_is_edited_on_a_running_station(bench, rma_env):
    first = plans.plan_for_model("HU-8800")
    assert plans.plan_for_model("HU-8800") is first  # unchanged file: the plan parsed before
    text = BUILTIN_HU.read_text(encoding="utf-8").replace("version = 1", "version = 7", 1)
    path = home_plan(rma_env, "hu-8800.toml", text)
    assert plans.plan_for_model("HU-8800").version == 7
    path.write_text(text.replace("version = 7", "version = 8", 1), encoding="utf-8")
    assert plans.plan_for_model("HU-8800").version == 8  # same size, new mtime: read again
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False) as sim:
        result = run(bench, tag, sim.url)
    with bench.uow(readonly=True) as uow:
        shown = services.show_run(uow, result.run_id)
        from rma.test_station.models import TestPlanRecord
        record = uow.session.get(TestPlanRecord, shown["plan_sha256"])
    assert shown["plan_version"] == 8 and "version = 8" in record.text  # the text that judged the run


def test_rma_toml_is_read_once_and_again_when_it_is_edited(rma_env):
    from rma import config

    path = Path(rma_env["RMA_HOME"]) / "rma.toml"
    path.write_text('[station]\nname = "test-1"\n', encoding="utf-8")
    first = config.station_settings()
    assert first.name == "test-1" and config.station_settings() is first
    path.write_text('[station]\nname = "test-2"\n', encoding="utf-8")
    assert config.station_settings().name == "test-2"
    path.unlink()
    assert config.station_settings().name == config.host_name()  # no file: the default again
