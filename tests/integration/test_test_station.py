"""Running a model's test plan against the simulated fixture over a real pty: verdicts a
tester expects for each fault, and a test ledger that has every step done so far."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from drivers.fixture_sim import FixtureSimulator, TcpFixtureSimulator
from rma.cli import main
from rma.core import services as core
from rma.core.checks import check_ledgers
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.test_station import services
from rma.test_station.models import TestLock, TestRun, TestStepResult
from tests.factories import receive_unit, seed_basics

FIRMWARE = "3.2.1"  # HU-8800's current firmware in tests/factories.py
ANSWERS = {"display_red": "yes", "harness_id": "TH-0042"}


@pytest.fixture
def bench(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="tess", password="tess-pass", roles=[core.Role.TESTER])
    return db


def awaiting_test(db, serial="HU88000001"):
    tag = receive_unit(db, serial)
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test"):
            core.move_visit(uow, lead, tag, VisitState(to), "repaired")
    return tag


def run(db, tag, url, **kw):
    kw.setdefault("answers", ANSWERS)
    kw.setdefault("accessories_ok", True)
    return services.run_test(db, "tess", tag, port=url, **kw)


def state(db, tag):
    with db.uow(readonly=True) as uow:
        return core.find_visit(uow, tag).state.value


def test_a_good_unit_passes_and_every_step_is_in_the_ledger(bench):
    tag = awaiting_test(bench)
    events = []
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        result = run(bench, tag, sim.url, on_event=events.append)
    assert result.outcome.value == "pass" and result.durable and result.fixture.startswith("RMA,FX-100")
    assert state(bench, tag) == "passed"
    assert isinstance(events[0], services.RunStarted) and isinstance(events[-1], services.RunResult)
    with bench.uow(readonly=True) as uow:
        shown = services.show_run(uow, result.run_id)
        assert check_ledgers(uow) == []
        assert uow.session.get(TestLock, 1) is None  # released
    assert shown["outcome"] == "pass" and shown["fixture"] == result.fixture
    assert [s["step"] for s in shown["steps"]][:3] == ["fixture.identify", "power_on", "boot_current"]
    assert len(shown["steps"]) == 1 + 22 and all(s["verdict"] == "pass" for s in shown["steps"])
    v12 = next(s for s in shown["steps"] if s["step"] == "rail_12v")
    assert v12["limits"] == {"min": 11.4, "max": 12.6, "unit": "V"} and 11.4 <= v12["numeric"] <= 12.6
    assert v12["raw"].startswith("MEAS:VOLT? V12;") and v12["command"] == "MEAS:VOLT? V12"
    assert shown["checklist"] == {k: True for k in ["harness", "bracket", "彩盒 gift box", "防静电袋 ESD bag",
                                                    "合格证 QC label", "泡棉内衬 foam insert"]}
    assert shown["plan_sha256"] and shown["plan_version"] == 1


@pytest.mark.parametrize("fault,step,outcome,words", [
    ("dead_rail", "rail_3v3", "fail", "below 3.2 V"),
    ("low_rail", "rail_5v", "fail", "below 4.85 V"),
    ("wrong_firmware", "firmware", "fail", "is not '3.2.1'"),
    ("dead_audio", "audio_fl", "fail", "below -9 dBV"),
    ("no_gps_fix", "gps_fix", "fail", "does not match"),
    ("nan_reply", "rail_12v", "error", "not a number"),
])
def test_each_fault_gets_the_verdict_a_tester_expects(bench, fault, step, outcome, words):
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=[fault]) as sim:
        result = run(bench, tag, sim.url)
    assert result.outcome.value == outcome, result.reason
    last = result.steps[-1]
    assert last.step_id == step and words in last.message
    assert state(bench, tag) == ("in_repair" if outcome == "fail" else "awaiting_test")
    if outcome == "fail":
        assert result.failed_steps == [step]
    with bench.uow(readonly=True) as uow:
        assert check_ledgers(uow) == []
        written = uow.session.scalar(select(func.count()).select_from(TestStepResult).where(TestStepResult.run_id == result.run_id))
    assert written == len(result.steps)  # stop on fail: the steps done so far, each in the ledger


def test_the_serial_scanned_instead_of_the_tag_tests_its_open_visit(bench):
    tag = awaiting_test(bench, "HU88000007")
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        result = run(bench, " hu88000007 ", sim.url)  # as a scanner sends it
    assert result.tag == tag and result.outcome.value == "pass"
    with bench.uow() as uow:  # shipped: the unit has no open visit any more
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.REFURBISHED, "into stock")
    with pytest.raises(DomainError) as e:
        services.start_run(bench, "tess", "HU88000007", port="socket://a:1", incoming=False)
    assert e.value.code == "no_open_visit" and "HU88000007" in e.value.message


def test_gps_fix_is_retried_before_it_fails(bench):
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=["no_gps_fix"]) as sim:
        result = run(bench, tag, sim.url)
    assert result.steps[-1].attempts == 3  # retries = 2 in the plan


@pytest.mark.parametrize("fault,words", [
    ("slow_replies", "does not answer"),
    ("line_noise", "step boot_current"),
    ("half_line", "half a line"),
    ("disconnect_after=6", "port lost"),
])
def test_fixture_trouble_ends_the_run_in_error_with_the_port_released(bench, fault, words):
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=[fault]) as sim:
        result = run(bench, tag, sim.url)
        assert result.outcome.value == "error" and words in result.reason, result.reason
        if not fault.startswith("disconnect"):
            from drivers.fixture import SerialFixture

            with SerialFixture(sim.url, timeout=5) as again:  # the port is free again for the next run
                assert again.identify().startswith("RMA")
    assert state(bench, tag) == "awaiting_test"
    with bench.uow(readonly=True) as uow:
        shown = services.show_run(uow, result.run_id)
    assert shown["outcome"] == "error" and len(shown["steps"]) == len(result.steps)
    if fault == "half_line":
        assert shown["steps"][-1]["raw"]  # the half line is kept


def test_a_port_that_is_not_there(bench, tmp_path):
    tag = awaiting_test(bench)
    result = run(bench, tag, str(tmp_path / "ttyUSB9"))
    assert result.outcome.value == "error" and "does not answer" in result.reason
    assert state(bench, tag) == "awaiting_test"


def test_missing_accessory_fails_the_unit(bench):
    tag = awaiting_test(bench)
    with TcpFixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        result = run(bench, tag, sim.url, accessories_ok=False, missing=["bracket"])
    assert result.outcome.value == "fail" and "bracket" in result.reason
    assert result.checklist["bracket"] is False and result.checklist["harness"] is True
    assert state(bench, tag) == "in_repair"


def test_what_needs_an_answer_is_asked_before_anything_starts(bench):
    tag = awaiting_test(bench)
    with pytest.raises(DomainError) as e:
        run(bench, tag, "socket://127.0.0.1:9", answers={"display_red": "yes"})
    assert e.value.code == "prompt_needs_answer" and "harness_id" in e.value.message
    with pytest.raises(DomainError) as e:
        run(bench, tag, "socket://127.0.0.1:9", accessories_ok=False)
    assert e.value.code == "checklist_needs_answer" and "bracket" in e.value.message
    with bench.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(TestRun)) == 0
    assert state(bench, tag) == "awaiting_test"


def test_only_testable_visits_and_only_testers(bench):
    tag = receive_unit(bench, "HU88000002")
    with pytest.raises(DomainError) as e:
        run(bench, tag, "socket://127.0.0.1:9")
    assert e.value.code == "not_testable" and "received" in e.value.message
    tag2 = awaiting_test(bench, "HU88000003")
    with pytest.raises(DomainError) as e:
        services.run_test(bench, "clerk", tag2, port="socket://127.0.0.1:9", answers=ANSWERS, accessories_ok=True)
    assert e.value.code == "forbidden"


def test_two_stations_cannot_test_one_visit_and_a_dead_station_is_taken_over(bench):
    tag = awaiting_test(bench)
    first = services.start_run(bench, "tess", tag, port="socket://a", incoming=False, station="test-1")
    with pytest.raises(DomainError) as e:
        services.start_run(bench, "tess", tag, port="socket://b", incoming=False, station="test-2")
    assert e.value.code == "visit_in_test" and "test-1" in e.value.message
    with bench.uow(readonly=True) as uow:
        rows = services.list_runs(uow, services.RunFilter(tag=tag))
    assert [r["outcome"] for r in rows] == ["incomplete"]  # test-1 died: never PASS, never nothing
    with bench.uow() as uow:  # ... and its lock went stale
        lock = uow.session.scalar(select(TestLock))
        lock.heartbeat_at = lock.heartbeat_at - services.LOCK_STALE - timedelta(seconds=1)
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        second = services.start_run(bench, "tess", tag, port=sim.url, incoming=False, station="test-2")
        from drivers.fixture import SerialFixture
        result = services.execute_run(bench, second, SerialFixture(sim.url), answer=lambda s: ANSWERS[s.id],
                                      checklist=lambda items: {i: True for i in items})
    assert result.outcome.value == "pass" and second.attempt == 2 and first.attempt == 1
    with bench.uow(readonly=True) as uow:
        assert check_ledgers(uow) == []
        assert [r["outcome"] for r in services.list_runs(uow, services.RunFilter(tag=tag))] == ["pass", "incomplete"]
        events = [e["event"] for e in core.unit_report(uow, tag)["timeline"]]
    assert events[-3:] == ["test_started", "test_taken_over", "test_passed"]


def test_incoming_test_records_its_verdict_without_moving_the_visit(bench):
    tag = receive_unit(bench, "HU88000004")
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=["dead_audio"]) as sim:
        result = run(bench, tag, sim.url, incoming=True, accessories_ok=False)
    assert result.outcome.value == "fail" and result.checklist == {}
    assert state(bench, tag) == "received"
    with bench.uow(readonly=True) as uow:
        last = core.unit_report(uow, tag)["timeline"][-1]
    assert last["event"] == "incoming_test" and last["details"]["outcome"] == "fail"


def test_retests_and_first_pass_yield_come_from_the_ledger(bench):
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=["dead_audio"]) as sim:
        assert run(bench, tag, sim.url).outcome.value == "fail"
    with bench.uow() as uow:
        lead = core.get_actor(uow, "lead")
        core.move_visit(uow, lead, tag, VisitState.AWAITING_TEST, "amplifier replaced")
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        again = run(bench, tag, sim.url)
    assert again.outcome.value == "pass"
    other = awaiting_test(bench, "HU88000005")
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        assert run(bench, other, sim.url).outcome.value == "pass"
    with bench.uow(readonly=True) as uow:
        fpy = services.first_pass_yield(uow)
        failed = services.list_runs(uow, services.RunFilter(failed_step="audio_fl"))
    assert fpy == [{"model": "HU-8800", "first_tests": 2, "first_pass": 1, "retests": 1, "yield": 0.5}]
    assert [r["tag"] for r in failed] == [tag]


def test_cli_run_show_runs(bench, capsys):
    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        code = main(["--as", "tess", "test", "run", tag, "--port", sim.url, "--accessories-ok",
                     "--answer", "display_red=yes", "--answer", "harness_id=TH-0001", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["outcome"] == "pass" and out["run_id"] and len(out["steps"]) == 23
    assert main(["test", "show", str(out["run_id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"][1]["step"] == "power_on"
    assert main(["test", "runs", "--outcome", "pass", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("run_id,tag,serial") and tag in lines[1]
    tag2 = awaiting_test(bench, "HU88000009")
    code = main(["--as", "tess", "test", "run", tag2, "--port", "socket://127.0.0.1:9", "--accessories-ok", "--json"])
    err = json.loads(capsys.readouterr().out)["error"]
    assert code == 1 and err["code"] == "prompt_needs_answer"
    with FixtureSimulator("head_unit", firmware=FIRMWARE, faults=["wrong_firmware"]) as sim:
        code = main(["--as", "tess", "test", "run", tag2, "--port", sim.url, "--accessories-ok",
                     "--answer", "display_red=yes", "--answer", "harness_id=TH-0001"])
    text = capsys.readouterr().out
    assert code == 3 and "FAIL" in text and "firmware" in text


def test_when_the_ledger_cannot_be_written_the_tester_is_told_and_it_is_never_pass(bench):
    from sqlalchemy import text

    from drivers.fixture import SerialFixture

    tag = awaiting_test(bench)

    class LedgerGoesAway(SerialFixture):
        calls = 0

        def query(self, command, *, timeout=None):
            LedgerGoesAway.calls += 1
            if LedgerGoesAway.calls == 3:  # the database loses the table mid-run
                with bench.engine.begin() as conn:
                    conn.execute(text("ALTER TABLE test_steps RENAME TO test_steps_gone"))
            return super().query(command, timeout=timeout)

    with FixtureSimulator("head_unit", firmware=FIRMWARE) as sim:
        result = services.run_test(bench, "tess", tag, port=sim.url, answers=ANSWERS, accessories_ok=True,
                                   fixture_factory=LedgerGoesAway)
    assert result.outcome.value == "error" and not result.durable
    assert "could not be written" in result.reason
    with bench.uow(readonly=True) as uow:
        assert [r["outcome"] for r in services.list_runs(uow, services.RunFilter(tag=tag))] == ["incomplete"]


@pytest.mark.parametrize("code", ["HU-8800", "HU-6200", "NAV-520", "DC-220", "IC-700", "GW-310"])
def test_every_shipped_plan_passes_a_good_unit_of_its_model(db, rma_env, code):
    """The plans and the simulator agree on a good unit of every demo model (and a bad rail fails it)."""
    from rma.core import catalogue
    from rma.core.models import Customer, Role, Unit
    from rma.demo import SPECS
    from rma.test_station.plans import plan_for_model

    spec = SPECS[code]
    with db.uow() as uow:
        admin = core.add_user(uow, None, username="admin", password="admin-pass",
                              roles=[Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.LEAD, Role.TESTER])
        model = catalogue.add_model(uow, admin, code=code, name=spec.name, family=spec.family,
                                    serial_pattern=spec.serial_pattern, warranty_months=12,
                                    firmware_version=spec.firmware, accessories=list(spec.accessories))
        unit = Unit(serial=f"{spec.serial_prefix}X{code[-3:]}", model=model, created_at=uow.now())
        uow.session.add_all([unit, Customer(code="C1", name="dealer")])
        uow.session.flush()
        tag = core.open_visit(uow, admin, unit, customer=None, reason=None).tag
        for to in ("awaiting_bench", "in_repair", "awaiting_test"):
            core.move_visit(uow, admin, tag, VisitState(to), "bench")
    answers = {s.id: ("yes" if s.answer == "yes_no" else "TH-0001") for s in plan_for_model(code).prompts}
    with FixtureSimulator(spec.family, firmware=spec.firmware, pace=False) as sim:
        result = services.run_test(db, "admin", tag, port=sim.url, answers=answers, accessories_ok=True)
    assert result.outcome.value == "pass", [(s.step_id, s.value, s.message) for s in result.steps if s.verdict.value != "pass"]
    with db.uow() as uow:  # another unit of the model comes in with a dead 3.3 V rail
        other = Unit(serial=f"{spec.serial_prefix}Y{code[-3:]}", model_id=model.id, created_at=uow.now())
        uow.session.add(other)
        uow.session.flush()
        other_tag = core.open_visit(uow, core.get_actor(uow, "admin"), other, customer=None, reason=None).tag
    with FixtureSimulator(spec.family, firmware=spec.firmware, pace=False, faults=["dead_rail"]) as sim:
        bad = services.run_test(db, "admin", other_tag, port=sim.url, answers=answers, incoming=True)
    assert bad.outcome.value == "fail" and bad.failed_steps == ["rail_3v3"]


def test_rma_check_finds_a_pass_with_a_failed_step(bench, capsys):
    from sqlalchemy import text

    tag = awaiting_test(bench)
    with FixtureSimulator("head_unit", firmware=FIRMWARE, pace=False) as sim:
        result = run(bench, tag, sim.url)
    assert main(["check", "--json"]) == 0
    capsys.readouterr()
    with bench.engine.begin() as conn:  # a forged row behind the services' back
        conn.execute(text("INSERT INTO test_steps (run_id, seq, step_id, name, kind, limits, verdict, attempts, at, elapsed_ms)"
                          " VALUES (:r, 99, 'forged', 'forged', 'range', '{}', 'fail', 1, '2026-11-26 10:00:00', 1)"),
                     {"r": result.run_id})
    assert main(["check", "--json"]) == 1
    codes = sorted(v["code"] for v in json.loads(capsys.readouterr().out)["violations"])
    assert codes == ["ledger_tampered", "test_pass_with_bad_steps", "test_steps_gap"]  # the seal sees it too
