"""The demo data: a working department in every state, whose ledgers hold, loaded once."""

import re
import shutil
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from rma.core import services
from rma.core.checks import check_ledgers
from rma.core.models import AuditEntry, Customer, ProductModel, ReturnsLedgerEntry, Role, Unit, User, Visit
from rma.core.states import TERMINAL, VisitState
from rma.db import Database
from rma.demo import CHINA, MODELS, _plan, load_demo
from rma.errors import DomainError

A_MONDAY = date(2026, 1, 12)  # the window crosses a new year: tags of two years


@pytest.fixture
def demo(db):
    return load_demo(db)


def _count(uow, table) -> int:
    return uow.session.scalar(select(func.count()).select_from(table))


def _patterns(uow) -> dict[str, str]:
    return {m.code: m.serial_pattern for m in uow.session.scalars(select(ProductModel))}


def _snapshot(db: Database) -> dict:
    """What a user sees of the demo: units, visits and every ledger entry."""
    with db.uow(readonly=True) as uow:
        units = [(u.serial, u.model.code, u.manufactured_on, u.sold_on)
                 for u in uow.session.scalars(select(Unit).order_by(Unit.serial))]
        visits = [(v.tag, v.unit.serial, v.state, v.customer.code, v.return_reason, v.opened_at, v.closed_at)
                  for v in uow.session.scalars(select(Visit).order_by(Visit.tag))]
        events = [(e.visit.tag, e.at, e.actor.username, e.event, e.from_state, e.to_state, e.details)
                  for e in uow.session.scalars(select(ReturnsLedgerEntry).order_by(ReturnsLedgerEntry.id))]
    return {"units": units, "visits": visits, "events": events}


def test_demo_loads_a_catalogue_dealers_and_a_few_dozen_visits(db, demo):
    assert demo.created
    with db.uow(readonly=True) as uow:
        models = list(uow.session.scalars(select(ProductModel)))
        assert (demo.models, demo.customers, demo.visits) == (6, 12, _count(uow, Visit))
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


def test_some_units_came_back_after_leaving_repaired(db, demo):
    with db.uow(readonly=True) as uow:
        twice = [u for u in uow.session.scalars(select(Unit)) if len(u.visits) >= 2]
        assert len(twice) >= 3
        for unit in twice:
            earlier, later = unit.visits[-2], unit.visits[-1]
            assert earlier.state in TERMINAL and later.state not in TERMINAL
            assert earlier.closed_at < later.opened_at
            assert later.events[0].details["repeat_of"] == earlier.tag


def test_times_are_past_working_hours_over_the_last_two_months(db, demo):
    now = datetime.now(timezone.utc)
    with db.uow(readonly=True) as uow:
        stamps = list(uow.session.scalars(select(ReturnsLedgerEntry.at)))
        stamps += list(uow.session.scalars(select(AuditEntry.at)))
    assert min(stamps) > now - timedelta(days=90)
    for at in stamps:
        local = at.astimezone(CHINA)
        assert at < now and local.weekday() != 6
        assert time(8, 30) <= local.time() < time(12) or time(13) <= local.time() < time(17, 30), local
    assert max(stamps) > now - timedelta(days=5)  # open visits moved in the last working days


def test_every_serial_matches_its_own_model_pattern_only(db, demo):
    with db.uow(readonly=True) as uow:
        patterns = _patterns(uow)
        for unit in uow.session.scalars(select(Unit)):
            assert [c for c, p in patterns.items() if re.fullmatch(p, unit.serial)] == [unit.model.code], unit.serial


@pytest.mark.parametrize("today", [A_MONDAY + timedelta(days=97 * n) for n in range(10)])
def test_no_serial_on_any_day_matches_two_patterns(today):
    _hours, plans = _plan(today)
    serials = {p.unit.serial: p.unit.spec.code for p in plans}
    assert len(serials) == sum(m.units for m in MODELS)
    for serial, code in serials.items():
        assert [m.code for m in MODELS if re.fullmatch(m.serial_pattern, serial)] == [code], serial


def test_a_second_load_adds_nothing(db, demo):
    tables = (User, ProductModel, Customer, Unit, Visit, ReturnsLedgerEntry, AuditEntry)
    with db.uow(readonly=True) as uow:
        before = [_count(uow, t) for t in tables]
    again = load_demo(db)
    assert not again.created
    assert again.users == demo.users
    assert (again.models, again.customers, again.visits) == (demo.models, demo.customers, demo.visits)
    with db.uow(readonly=True) as uow:
        assert [_count(uow, t) for t in tables] == before


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
        assert _count(uow, User) == 1 and _count(uow, ProductModel) == 0
