"""The demo data: a working department in every state, its parcels in and out, whose ledgers hold, loaded once."""

import json
import re
import shutil
import signal
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rma.bench import views as bench_views
from rma.cli import main
from rma.core import services
from rma.core.checks import check_ledgers
from rma.core.models import (
    AuditEntry,
    Customer,
    ProductModel,
    ReturnsLedgerEntry,
    Role,
    Unit,
    User,
    Visit,
)
from rma.core.states import TERMINAL, VisitState
from rma.db import Database
from rma.demo import CHINA, MODELS, REASONS, _plan, load_demo
from rma.errors import DomainError
from rma.intake import services as intake
from rma.intake.models import (
    Direction,
    IntakeRecord,
    Interception,
    InterceptionKind,
    LabelJob,
    Parcel,
    ParcelItem,
    ReasonCode,
    VisitAlert,
    Warranty,
)
from rma.inventory.models import StockMove
from rma.test_station import services as tests
from rma.test_station.models import (
    Outcome,
    RunKind,
    TestLock,
    TestRun,
    TestRunEnd,
    TestStepResult,
    Verdict,
)
from rma.test_station.plans import all_plans, plan_for_model

A_MONDAY = date(2026, 1, 12)  # the window crosses a new year: tags of two years
SOME_DAYS = [A_MONDAY + timedelta(days=97 * n) for n in range(10)]
WAYBILL_FORMATS = {
    "SF": r"SF\d{13}", "ZTO": r"\d{12,15}", "YTO": r"YT\d{13}", "JD": r"JD\d{13}", "EMS": r"\d{13}",
}


@pytest.fixture
def demo(db, rma_env):
    return load_demo(db)  # rma_env: a fresh RMA_HOME, so the shipped test plans judge the demo's runs


def _count(uow, table) -> int:
    return uow.session.scalar(select(func.count()).select_from(table))


def _patterns(uow) -> dict[str, str]:
    return {m.code: m.serial_pattern for m in uow.session.scalars(select(ProductModel))}


def _month(day: date) -> str:
    return f"{day:%Y-%m}"


def _last_working_day(today: date) -> date:
    day = today - timedelta(days=1)
    return day - timedelta(days=1) if day.weekday() == 6 else day


def _same_pty(value):
    """The simulators' ptys live in fresh temporary folders: the one thing that differs between loads."""
    return json.loads(re.sub(r"rma-fixture-[^/]+", "rma-fixture-…", json.dumps(value, ensure_ascii=False, default=str)))


def _snapshot(db: Database) -> dict:
    """What a user sees of the demo: units, visits, parcels, intake decisions and every ledger entry."""
    with db.uow(readonly=True) as uow:
        units = [(u.serial, u.model.code, u.manufactured_on, u.sold_on, u.shipped_to_id, u.firmware_version)
                 for u in uow.session.scalars(select(Unit).order_by(Unit.serial))]
        visits = [(v.tag, v.unit.serial, v.state, v.customer.code, v.return_reason, v.opened_at, v.closed_at)
                  for v in uow.session.scalars(select(Visit).order_by(Visit.tag))]
        events = [(e.visit.tag, e.at, e.actor.username, e.event, e.from_state, e.to_state, _same_pty(e.details))
                  for e in uow.session.scalars(select(ReturnsLedgerEntry).order_by(ReturnsLedgerEntry.id))]
        parcels = [(p.direction, p.courier, p.waybill, p.customer.code, p.declared_count, p.cost, p.opened_at,
                    p.closed_at, p.scanned_count, p.discrepancy)
                   for p in uow.session.scalars(select(Parcel).order_by(Parcel.id))]
        records = [(r.visit_id, r.parcel_id, r.reason_code, r.warranty, r.warranty_until, r.repeat_of_id,
                    r.accessories) for r in uow.session.scalars(select(IntakeRecord).order_by(IntakeRecord.visit_id))]
        audit = [(a.at, a.action, a.subject, a.details)
                 for a in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        runs = [tests.show_run(uow, r.id) for r in uow.session.scalars(select(TestRun).order_by(TestRun.id))]
        for run in runs:
            for step in run["steps"]:
                step.pop("elapsed_ms")  # the one measurement of this machine, not of the unit
    return {"units": units, "visits": visits, "events": events, "parcels": parcels, "records": records,
            "audit": audit, "runs": _same_pty(runs)}


def test_demo_loads_a_catalogue_dealers_and_a_few_dozen_visits(db, demo):
    assert demo.created
    with db.uow(readonly=True) as uow:
        models = list(uow.session.scalars(select(ProductModel)))
        assert (demo.models, demo.customers, demo.visits) == (6, 12, _count(uow, Visit))
        assert demo.parcels == _count(uow, Parcel) >= 30
        assert len(models) == 6 and _count(uow, Customer) == 12
        assert {m.family for m in models} == {"head_unit", "navigation", "dash_cam", "cluster", "ecu"}
        assert all(12 <= m.warranty_months <= 36 and m.firmware_version and m.accessories for m in models)
        assert len({m.serial_pattern for m in models}) == 6
        assert 35 <= _count(uow, Unit) <= 45 and 30 <= demo.visits <= 60
        regions = set(uow.session.scalars(select(Customer.region)))
        assert len(regions) >= 5
        used = set(uow.session.scalars(select(Visit.customer_id)))
        assert len(used) == 12  # every dealer sent something back


def test_one_user_per_role_whose_demo_password_logs_in(db, demo):
    assert sorted(r for _u, _p, roles in demo.users for r in roles) == sorted(r.value for r in Role)
    for username, password, roles in demo.users:
        assert username in roles and len(password) >= services.MIN_PASSWORD
        with db.uow() as uow:
            user = services.authenticate(uow, username, password)
            assert {r.value for r in user.roles} == set(roles)
            assert re.search(r"[\u4e00-\u9fff]", user.display_name)
    with pytest.raises(DomainError) as e, db.uow() as uow:
        services.authenticate(uow, "admin", "admin")
    assert e.value.code == "bad_login"


def test_every_state_appears_and_the_ledgers_hold(db, demo):
    with db.uow(readonly=True) as uow:
        assert set(services.count_by_state(uow)) == {s.value for s in VisitState}
        assert check_ledgers(uow) == []


def test_visits_move_through_the_stations_by_their_roles(db, demo):
    expected_role = {"to_bench": Role.CLERK, "repair_started": Role.TECHNICIAN, "test_started": Role.TESTER,
                     "test_passed": Role.TESTER, "test_failed": Role.TESTER, "shipped": Role.CLERK,
                     "parts_issued": Role.MATERIALS}
    with db.uow(readonly=True) as uow:
        entries = list(uow.session.scalars(select(ReturnsLedgerEntry)))
        opened = [e for e in entries if e.event == "opened"]
        assert all(e.actor.username == "clerk" and e.details["reason"] and e.details["parcel"] for e in opened)
        assert {e.details["warranty"] for e in opened} == {"in", "out", "unknown"}
        for e in entries:
            if e.event in expected_role:
                assert expected_role[e.event] in e.actor.roles, (e.event, e.actor.username)
        scraps = [e for e in entries if e.to_state is VisitState.SCRAPPED]
        assert scraps and all(e.actor.roles & {Role.LEAD, Role.SUPERVISOR} and e.details["reason"] for e in scraps)
        assert any(e.event == "test_failed" for e in entries)  # a fail sends a unit back to the bench
        to_bench = [e for e in entries if e.event == "to_bench"]
        assert to_bench and all(e.details.get("parcel") for e in to_bench)  # closing the parcel did it


def test_the_reason_codes_are_a_catalogue_the_supervisor_keeps(db, demo):
    with db.uow(readonly=True) as uow:
        reasons = {r.code: r.text for r in intake.list_reasons(uow)}
        assert len(reasons) >= 10 and {"NOPWR", "FLICKER", "TOUCH", "NOGPS", "CANERR", "OTHER"} <= set(reasons)
        assert reasons == dict(REASONS)
        assert all(re.search(r"[\u4e00-\u9fff]", text) for text in reasons.values())
        added = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "reason_added")))
        assert len(added) == len(reasons) and {a.actor.username for a in added} == {"supervisor"}
        used = set(uow.session.scalars(select(IntakeRecord.reason_code)))
        assert None not in used and used <= set(reasons) and len(used) >= 6


def test_every_visit_came_in_a_courier_parcel(db, demo):
    with db.uow(readonly=True) as uow:
        records = {r.visit_id: r for r in uow.session.scalars(select(IntakeRecord))}
        visits = list(uow.session.scalars(select(Visit)))
        for visit in visits:
            rec = records[visit.id]
            assert rec.parcel is not None and rec.parcel.direction is Direction.INBOUND, visit.tag
            assert rec.parcel.customer_id == visit.customer_id
            assert rec.parcel.opened_at <= visit.opened_at
            accessories = visit.unit.model.accessories
            assert set(rec.accessories) <= set(accessories)
        assert any(len(r.accessories) < len(uow.session.get(Visit, v).unit.model.accessories)
                   for v, r in records.items())  # some boxes came without an accessory
        inbound = list(uow.session.scalars(select(Parcel).where(Parcel.direction == Direction.INBOUND)))
        for parcel in inbound:
            assert re.fullmatch(WAYBILL_FORMATS[parcel.courier], parcel.waybill), (parcel.courier, parcel.waybill)
            assert Decimal("18.00") <= parcel.cost <= Decimal("45.00")
        sizes = {p.id: len(intake.parcel_visits(uow, p)) for p in inbound}
        assert max(sizes.values()) >= 3 and sum(n >= 2 for n in sizes.values()) >= 4


def test_some_parcels_are_open_and_some_were_short_or_over(db, demo):
    with db.uow(readonly=True) as uow:
        inbound = list(uow.session.scalars(select(Parcel).where(Parcel.direction == Direction.INBOUND)))
        still_open = [p for p in inbound if p.closed_at is None]
        assert 1 <= len(still_open) <= 2
        received = {v.id for v in uow.session.scalars(select(Visit).where(Visit.state == VisitState.RECEIVED))}
        in_open = {v.id for p in still_open for v in intake.parcel_visits(uow, p)}
        assert received and received == in_open  # closing a parcel sends its units to the bench
        closed = [p for p in inbound if p.closed_at is not None]
        assert all(p.scanned_count == len(intake.parcel_visits(uow, p)) for p in closed)
        short = [p for p in closed if p.discrepancy == "short"]
        over = [p for p in closed if p.discrepancy == "over"]
        assert short and all(p.scanned_count < p.declared_count for p in short)
        assert over and all(p.scanned_count > p.declared_count for p in over)
        report = intake.parcel_report(uow, short[0].waybill, short[0].courier)
        assert report["discrepancy"] == "short" and report["scanned"] < report["declared"]


def test_intake_decided_warranty_in_out_and_unknown(db, demo):
    with db.uow(readonly=True) as uow:
        for value in Warranty:
            rows = intake.list_visits(uow, intake.VisitFilter(warranty=value))
            assert rows, value
            assert {r["warranty"] for r in rows} == {value.value}
        for row in intake.list_visits(uow, intake.VisitFilter(warranty=Warranty.UNKNOWN)):
            unit = services.find_unit(uow, row["serial"])
            assert unit.sold_on is None and unit.manufactured_on is None and row["warranty_until"] is None
        records = list(uow.session.scalars(select(IntakeRecord)))
        assert {r.warranty_basis for r in records} == {"sold", "manufactured", None}
        on_record = list(uow.session.scalars(select(Unit).where(Unit.sold_on.is_not(None))))
        assert on_record and all(u.shipped_to_id and u.firmware_version and u.manufactured_on < u.sold_on
                                 for u in on_record)


def test_some_units_came_back_after_leaving_repaired(db, demo):
    with db.uow(readonly=True) as uow:
        twice = [u for u in uow.session.scalars(select(Unit)) if len(u.visits) >= 2]
        assert len(twice) >= 3
        for unit in twice:
            earlier, later = unit.visits[-2], unit.visits[-1]
            assert earlier.state is VisitState.SHIPPED and later.state not in TERMINAL
            assert earlier.closed_at < later.opened_at <= earlier.closed_at + timedelta(days=90)
            assert later.events[0].details["repeat_of"] == earlier.tag
            assert uow.session.get(IntakeRecord, later.id).repeat_of_id == earlier.id  # intake flagged it
            left = uow.session.scalar(select(ParcelItem).where(ParcelItem.visit_id == earlier.id))
            assert left is not None and uow.session.get(Parcel, left.parcel_id).direction is Direction.OUTBOUND
        repeats = intake.list_visits(uow, intake.VisitFilter(repeat=True))
        assert {r["serial"] for r in repeats} == {u.serial for u in twice}


def test_interception_plans_hit_some_visits(db, demo):
    with db.uow(readonly=True) as uow:
        plans = intake.list_interceptions(uow)
        assert {p.kind for p in plans} == set(InterceptionKind)
        assert {uow.session.get(User, p.created_by_id).username for p in plans} == {"supervisor"}
        assert all(re.search(r"[\u4e00-\u9fff]", p.action) for p in plans)
        for plan in plans:
            alerts = list(uow.session.scalars(select(VisitAlert).where(VisitAlert.interception_id == plan.id)))
            assert alerts, plan.kind
            assert all(a.action == plan.action for a in alerts)
        hit = intake.list_visits(uow, intake.VisitFilter(intercepted=True))
        assert len(hit) >= 3
        firmware = next(p for p in plans if p.kind is InterceptionKind.FIRMWARE)
        # a unit it hit was reflashed at the bench: it no longer carries that firmware, and the reflash
        # marked the alert done by itself
        cleared = []
        for alert in uow.session.scalars(select(VisitAlert).where(VisitAlert.interception_id == firmware.id)):
            visit = uow.session.get(Visit, alert.visit_id)
            state = next(a for a in intake.alert_states(uow, visit) if a["id"] == alert.id)
            if state["status"] == "done" and state["by_system"]:
                cleared.append(visit.unit.firmware_version)
        assert cleared and firmware.firmware not in cleared


def test_units_leave_in_outbound_parcels(db, demo):
    with db.uow(readonly=True) as uow:
        outbound = list(uow.session.scalars(select(Parcel).where(Parcel.direction == Direction.OUTBOUND)))
        items = list(uow.session.scalars(select(ParcelItem)))
        left = {i.visit_id: i for i in items}
        for visit in uow.session.scalars(select(Visit).where(
                Visit.state.in_([VisitState.SHIPPED, VisitState.RETURNED_UNREPAIRED]))):
            assert visit.id in left, visit.tag
            parcel = uow.session.get(Parcel, left[visit.id].parcel_id)
            assert parcel.customer_id == visit.customer_id and parcel.opened_at <= visit.closed_at
        by_parcel = {}
        for item in items:
            by_parcel.setdefault(item.parcel_id, []).append(item)
        assert any(len(units) >= 2 for units in by_parcel.values())  # one box, one waybill, several units
        exchanges = [i for i in items if uow.session.get(Visit, i.visit_id).state is VisitState.REFURBISHED]
        assert 1 <= len(exchanges) <= 2  # refurbished units sent out of stock to a dealer
        assert uow.session.scalar(select(func.count()).select_from(Visit).where(
            Visit.state == VisitState.REFURBISHED)) > len(exchanges)  # the rest stay in stock
        for parcel in outbound:
            assert parcel.courier in ("SF", "JD", "EMS") and parcel.cost > 0
            assert re.fullmatch(WAYBILL_FORMATS[parcel.courier], parcel.waybill)
        assert _count(uow, LabelJob) == 0  # the demo prints nothing


def test_courier_costs_of_this_month_and_the_last(db, demo):
    last = _last_working_day(date.today())
    months = [_month(last), _month(last.replace(day=1) - timedelta(days=1))]
    with db.uow(readonly=True) as uow:
        for month in months:
            report = intake.courier_costs(uow, month)
            assert Decimal(report["total"]) > 0, month
            assert report["parcels"] and all(p["cost"] for p in report["parcels"])
        directions = {r["direction"] for m in months for r in intake.courier_costs(uow, m)["by_courier"]}
        assert directions == {"in", "out"}


def test_times_are_past_working_hours_over_the_last_two_months(db, demo):
    now = datetime.now(timezone.utc)
    with db.uow(readonly=True) as uow:
        stamps = list(uow.session.scalars(select(ReturnsLedgerEntry.at)))
        stamps += list(uow.session.scalars(select(Parcel.opened_at)))
        stamps += list(uow.session.scalars(select(Parcel.closed_at).where(Parcel.closed_at.is_not(None))))
        stamps += list(uow.session.scalars(select(ParcelItem.added_at)))
        stamps += list(uow.session.scalars(select(VisitAlert.raised_at)))
        stamps += list(uow.session.scalars(select(TestRun.started_at)))
        stamps += list(uow.session.scalars(select(TestStepResult.at)))
        stamps += list(uow.session.scalars(select(TestRunEnd.ended_at)))
        # the department set up, and its store opened, a little over a year ago (the stores' history)
        since = list(uow.session.scalars(select(AuditEntry.at)))
        since += list(uow.session.scalars(select(StockMove.at)))
        since += list(uow.session.scalars(select(Unit.created_at)))  # the factory records, imported at set-up
    assert min(stamps) > now - timedelta(days=90)
    assert min(since) > now - timedelta(days=430)
    for at in stamps + since:
        local = at.astimezone(CHINA)
        assert at < now and local.weekday() != 6
        assert time(8, 30) <= local.time() < time(12) or time(13) <= local.time() < time(17, 30), local
    assert max(stamps) > now - timedelta(days=5)  # open visits moved in the last working days


def test_every_serial_matches_its_own_model_pattern_only(db, demo):
    with db.uow(readonly=True) as uow:
        patterns = _patterns(uow)
        for unit in uow.session.scalars(select(Unit)):
            assert [c for c, p in patterns.items() if re.fullmatch(p, unit.serial)] == [unit.model.code], unit.serial


@pytest.mark.parametrize("today", SOME_DAYS)
def test_no_serial_on_any_day_matches_two_patterns(today):
    serials = {u.serial: u.spec.code for u in _plan(today).units}
    assert len(serials) == sum(m.units for m in MODELS)
    for serial, code in serials.items():
        assert [m.code for m in MODELS if re.fullmatch(m.serial_pattern, serial)] == [code], serial


@pytest.mark.parametrize("today", SOME_DAYS)
def test_the_plan_holds_on_any_day(today):
    plan = _plan(today)
    assert {u.warranty for u in plan.units} == {"in", "out", "unknown"}
    assert all(any(i.matches(u) for u in plan.units) for i in plan.interceptions)
    assert sum(s.exchange for s in plan.shipments) >= 1
    assert any(not p.closed for p in plan.parcels)
    last = _last_working_day(today)
    months = {_month(p.arrived.astimezone(CHINA)) for p in plan.parcels}
    assert {_month(last), _month(last.replace(day=1) - timedelta(days=1))} <= months
    for visit in plan.visits:
        assert visit.times == sorted(visit.times)
        assert visit.times[-1].astimezone(CHINA).date() < today
    waiting = [v.unit.spec.code for v in plan.visits if v.final is VisitState.AWAITING_TEST]
    assert sorted(waiting) == sorted(m.code for m in MODELS)  # every model's plan can be tried
    events = [[s.event for s in v.steps] for v in plan.visits]
    assert any("test_failed" in e and e[e.index("test_failed"):][-1:] != ["test_failed"] and "test_passed" in
               e[e.index("test_failed"):] for e in events)  # failed, back to the bench, then passed
    assert any("test_aborted" in e for e in events) and any("incoming_test" in e for e in events)
    waybills = [(p.courier, p.waybill) for p in plan.parcels] + [(s.courier, s.waybill) for s in plan.shipments]
    assert len(set(waybills)) == len(waybills)
    for parcel in plan.parcels:
        assert len({v.customer for v in parcel.visits}) == 1 and parcel.visits[0].customer == parcel.customer


def test_a_second_load_adds_nothing(db, demo):
    tables = (User, ProductModel, Customer, Unit, Visit, ReturnsLedgerEntry, AuditEntry, Parcel, ParcelItem,
              IntakeRecord, ReasonCode, Interception, VisitAlert, LabelJob, TestRun, TestStepResult, TestRunEnd)
    with db.uow(readonly=True) as uow:
        before = [_count(uow, t) for t in tables]
    again = load_demo(db)
    assert not again.created
    assert again.users == demo.users
    assert (again.models, again.customers, again.visits, again.parcels) == (
        demo.models, demo.customers, demo.visits, demo.parcels)
    with db.uow(readonly=True) as uow:
        assert [_count(uow, t) for t in tables] == before
        assert check_ledgers(uow) == []


def test_the_demo_is_the_same_every_time(db, tmp_path, sqlite_template):
    other_path = tmp_path / "other.sqlite"
    shutil.copy(sqlite_template, other_path)
    other = Database.from_url(f"sqlite:///{other_path}")
    try:
        load_demo(db, today=A_MONDAY)
        load_demo(other, today=A_MONDAY)
        first, second = _snapshot(db), _snapshot(other)
    finally:
        other.dispose()
    assert first == second
    tags = [v[0] for v in first["visits"]]
    assert {t[:3] for t in tags} == {"R25", "R26"}
    assert max(e[1] for e in first["events"]).astimezone(CHINA).date() < A_MONDAY


def test_a_database_with_other_users_is_refused(db):
    with db.uow() as uow:
        services.add_user(uow, None, username="wang", password="wang-pass-1", roles=[Role.ADMIN])
    with pytest.raises(DomainError) as e:
        load_demo(db)
    assert e.value.code == "demo_needs_empty_database"
    with db.uow(readonly=True) as uow:
        assert _count(uow, User) == 1 and _count(uow, ProductModel) == 0 and _count(uow, Parcel) == 0


# ---------------------------------------------------------------- the test station's runs


def _runs(uow) -> list[dict]:
    return tests.list_runs(uow, tests.RunFilter())


def test_the_test_ledger_holds_real_runs_against_the_simulator(db, demo):
    with db.uow(readonly=True) as uow:
        runs = _runs(uow)
        assert demo.test_runs == len(runs) >= 20
        assert {r["kind"] for r in runs} == {"outgoing", "incoming"}
        assert {r["outcome"] for r in runs} == {"pass", "fail", "error", "incomplete"}
        assert {r["operator"] for r in runs} == {"tester"} and len({r["station"] for r in runs}) >= 2
        for r in runs:
            steps = tests.show_run(uow, r["run_id"])["steps"]
            if r["outcome"] == "incomplete":  # the unit is still on the fixture: the visit is in test
                assert core_state(uow, r["tag"]) is VisitState.IN_TEST and steps == []
                continue
            assert steps[0]["step"] == "fixture.identify" and steps[0]["value"].startswith("RMA,FX-100"), r
            judged = [s for s in steps[1:] if s["command"] and s["verdict"] != "error"]
            assert judged and all(s["raw"].startswith(s["command"] + ";") for s in judged), r  # the fixture's bytes
            if r["outcome"] == "error":  # the fixture's cable came loose mid-run
                assert "fixture port lost" in r["reason"] and steps[-1]["verdict"] == "error", r
            if r["outcome"] == "fail":
                bad = [s for s in steps if s["verdict"] == "fail"]
                assert [s["step"] for s in bad] == r["failed_steps"] and bad[0]["message"], r
        assert check_ledgers(uow) == [] and list(tests.check_test_ledger(uow)) == []


def core_state(uow, tag: str) -> VisitState:
    return services.find_visit(uow, tag).state


def test_first_pass_yield_is_there_for_every_model_tested(db, demo):
    with db.uow(readonly=True) as uow:
        rows = tests.first_pass_yield(uow)
        tested = {r["model"] for r in _runs(uow) if r["kind"] == "outgoing" and r["outcome"] in ("pass", "fail")}
    assert rows and {r["model"] for r in rows} == tested
    assert all(r["first_tests"] >= 1 and 0 <= r["yield"] <= 1 for r in rows)
    assert any(r["yield"] < 1 for r in rows) and sum(r["retests"] for r in rows) >= 1


def test_every_move_out_of_test_has_the_run_that_made_it(db, demo):
    ends = {VisitState.PASSED: Outcome.PASS, VisitState.IN_REPAIR: Outcome.FAIL,
            VisitState.AWAITING_TEST: Outcome.ERROR}
    with db.uow(readonly=True) as uow:
        moves = list(uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.from_state == VisitState.IN_TEST).order_by(ReturnsLedgerEntry.id)))
        assert {m.to_state for m in moves} == set(ends)
        for move in moves:
            run = uow.session.get(TestRun, move.details["run"])
            end = uow.session.get(TestRunEnd, run.id)
            assert run.visit_id == move.visit_id and run.kind is RunKind.OUTGOING, move.id
            assert end is not None and end.outcome is ends[move.to_state] and end.ended_at == move.at, move.id
            steps = list(uow.session.scalars(select(TestStepResult).where(TestStepResult.run_id == run.id)))
            assert all(run.started_at <= s.at <= end.ended_at for s in steps)
            if end.outcome is Outcome.PASS:
                plan_steps = len(plan_for_model(run.model).steps)
                assert len(steps) == 1 + plan_steps and all(s.verdict is Verdict.PASS for s in steps)
                assert end.checklist and all(end.checklist.values())
        starts = list(uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.to_state == VisitState.IN_TEST)))
        assert len(starts) == len(moves) + 2  # two units are on the fixture right now
        assert all(uow.session.get(TestRun, s.details["run"]).started_at == s.at for s in starts)
        assert {lock.visit_id for lock in uow.session.scalars(select(TestLock))} == {
            v.id for v in uow.session.scalars(select(Visit).where(Visit.state == VisitState.IN_TEST))}


def test_a_unit_failed_its_test_went_back_to_the_bench_and_then_passed(db, demo):
    with db.uow(readonly=True) as uow:
        failed = {m.visit_id for m in uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event == "test_failed"))}
        passed_after = []
        for visit_id in failed:
            events = [e.event for e in uow.session.get(Visit, visit_id).events]
            after = events[events.index("test_failed"):]
            if "repair_done" in after and "test_passed" in after[after.index("repair_done"):]:
                passed_after.append(visit_id)
        assert passed_after
        visit = uow.session.get(Visit, passed_after[0])
        runs = tests.runs_of_visit(uow, visit.tag)
        outgoing = sorted((r for r in runs if r["kind"] == "outgoing"), key=lambda r: r["attempt"])
        assert "fail" in [r["outcome"] for r in outgoing] and outgoing[-1]["outcome"] == "pass"
        events = [e.event for e in visit.events]
        after = visit.events[events.index("test_failed"):]
        rework = next(e for e in after if e.event == "finding_recorded")  # the bench says what it found
        assert rework.actor.username == "technician" and rework.details["note"].startswith("返工")
        card = bench_views.card_view(uow, visit.tag)
        assert card["rework"]["count"] == 1 and len(card["findings"]) == 2


def test_every_visit_that_passed_the_bench_has_its_repair_card(db, demo):
    """Made by the bench's services: the coded complaint, findings, labour, the decision."""
    with db.uow(readonly=True) as uow:
        decided = list(uow.session.scalars(select(Visit).join(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event.in_(("repair_done", "sent_to_programming")))).unique())
        assert len(decided) >= 20
        for visit in decided:
            card = bench_views.card_view(uow, visit.tag)
            assert card["technician"] == "technician" and card["complaint"]["symptom"], visit.tag
            assert card["findings"] and all(f["defect"] or f["nff"] for f in card["findings"]), visit.tag
            assert card["decision"]["decision"] in ("test", "programming")
            assert all(a["status"] == "done" for a in card["alerts"]), visit.tag  # interceptions carried out
        assert sum(bench_views.card_view(uow, v.tag)["labour"]["total_seconds"] for v in decided) > 3600
        kinds = {e.details["damage_kind"] for e in uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event == "damage_confirmed"))}
        assert kinds and kinds <= {"water", "impact", "seal"}
        scrapped = list(uow.session.scalars(select(ReturnsLedgerEntry).where(ReturnsLedgerEntry.event == "scrapped")))
        assert scrapped and all(e.details["requested_by"] == "technician" for e in scrapped)


def test_the_demos_repair_cards_show_the_parts_fitted_where_their_findings_say(db, demo):
    """The demo's parts went through the stores' services; each card shows them, fitted at a designator
    one of its findings names, the faulty part of a warranty repair kept; a repeat return's card shows
    the parts fitted on the earlier visit."""
    from rma.inventory.models import StockMove

    with db.uow(readonly=True) as uow:
        fitted = list(uow.session.scalars(select(Visit).where(Visit.id.in_(
            select(StockMove.visit_id).where(StockMove.kind == "fit")))))
        assert len(fitted) >= 10
        for visit in fitted:
            card = bench_views.card_view(uow, visit.tag)
            rows = [p for p in card["parts"]["parts"] if p["fitted"] != "0"]
            assert rows and all(p["issued"] == p["fitted"] and p["on_bench"] == "0" for p in rows), visit.tag
            named = {f["designator"] for f in card["findings"]}
            assert all(d in named for p in rows for d in p["designators"]), visit.tag
            if card["warranty"] == "in":
                assert all(p["old"] == p["fitted"] for p in rows), visit.tag
        back = [bench_views.card_view(uow, v.tag) for v in uow.session.scalars(select(Visit))]
        earlier = [h for c in back for h in c["history"] if h["parts"]]
        assert earlier and all(p["designator"] and p["quantity"] for h in earlier for p in h["parts"])


def test_the_bench_queue_suggestions_and_the_leads_view_show_data(db, demo):
    with db.uow(readonly=True) as uow:
        queue = bench_views.queue(uow)
        assert {r["state"] for r in queue} == {"awaiting_bench", "in_repair"}
        assert any(r["repeat_of"] for r in queue) and any(r["rework"] for r in queue)
        open_cards = [bench_views.card_view(uow, r["tag"]) for r in queue if r["symptom"]]
        assert any(c["suggestions"] for c in open_cards)  # a repeat return: what fixed it the first time
        lead = bench_views.lead_view(uow)
        assert lead["totals"]["wip"] == len(queue) + 3  # and the three awaiting parts
        assert [r["kind"] for r in lead["approvals"]] == ["damage"]
        damaged = services.find_visit(uow, lead["approvals"][0]["tag"])
        assert bench_views.card_view(uow, damaged.tag)["photos"][0]["purpose"] == "damage"


def test_incoming_tests_show_the_complaint_or_nothing_and_move_nothing(db, demo):
    with db.uow(readonly=True) as uow:
        incoming = [r for r in _runs(uow) if r["kind"] == "incoming"]
        assert incoming and {r["outcome"] for r in incoming} <= {"pass", "fail"}
        for r in incoming:
            visit = services.find_visit(uow, r["tag"])
            event = next(e for e in visit.events if e.event == "incoming_test" and e.details["run"] == r["run_id"])
            assert event.to_state is None and event.details["outcome"] == r["outcome"]


def test_rma_check_is_clean_after_the_demo(demo, capsys):
    assert main(["check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "counts": {}, "violations": [], "warning_counts": {},
                                                   "warnings": []}


def test_one_unit_of_every_model_awaits_the_test_station(db, demo):
    with db.uow(readonly=True) as uow:
        waiting = {v.unit.model.code for v in uow.session.scalars(select(Visit).where(
            Visit.state == VisitState.AWAITING_TEST))}
    assert waiting == {m.code for m in MODELS} == {p.model for p in all_plans()}


def test_the_readme_walkthrough_tests_a_waiting_hu_8800_on_the_simulator(db, demo, capsys):
    """README: `rma sim fixture --model HU-8800 --serve &`, then `rma test run TAG --port URL --as tester …`."""
    with db.uow(readonly=True) as uow:
        tag = next(v.tag for v in uow.session.scalars(select(Visit).where(Visit.state == VisitState.AWAITING_TEST))
                   if v.unit.model.code == "HU-8800")
    sim = subprocess.Popen([sys.executable, "-m", "rma", "sim", "fixture", "--model", "HU-8800", "--serve"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=Path(__file__).resolve().parents[2])
    try:
        url = sim.stdout.readline().rsplit(": ", 1)[1].strip()
        code = main(["test", "run", tag, "--port", url, "--as", "tester", "--accessories-ok",
                     "--answer", "display_red=yes", "--answer", "harness_id=TH-0001", "--json"])
        result = json.loads(capsys.readouterr().out)
    finally:
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=10) == 0
    assert code == 0 and result["outcome"] == "pass" and result["durable"], result
    with db.uow(readonly=True) as uow:
        assert core_state(uow, tag) is VisitState.PASSED
        assert check_ledgers(uow) == [] and list(tests.check_test_ledger(uow)) == []


def test_a_station_plan_the_demo_cannot_satisfy_stops_it_with_a_clear_error(db, rma_env):
    plans = Path(rma_env["RMA_HOME"]) / "plans"
    plans.mkdir()
    shipped = (Path(tests.__file__).parent / "plans" / "gw-310.toml").read_text(encoding="utf-8")
    strict = shipped.replace("range = { min = 11.4, max = 12.6", "range = { min = 12.5, max = 12.6")
    assert strict != shipped
    (plans / "gw-310.toml").write_text(strict, encoding="utf-8")  # a good 12.0 V gateway now fails
    with pytest.raises(DomainError) as e:
        load_demo(db)
    assert e.value.code == "demo_interrupted"
    assert "ended fail (failed: rail_12v), not pass" in e.value.message and "new, empty database" in e.value.message
