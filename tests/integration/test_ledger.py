"""The returns ledger is append-only, and `rma check` finds what breaks its invariants."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from rma.core import services
from rma.core.checks import check_ledgers
from rma.core.models import AuditEntry, ReturnsLedgerEntry
from rma.core.states import VisitState
from rma.errors import DomainError
from tests.factories import receive_unit, seed_basics


@pytest.fixture
def tag(db):
    seed_basics(db)
    return receive_unit(db, "HU88000001")


def test_orm_refuses_to_change_or_delete_a_ledger_row(db, tag):
    with pytest.raises(DomainError) as e, db.uow() as uow:
        entry = uow.session.scalars(select(ReturnsLedgerEntry)).first()
        entry.event = "tampered"
        uow.session.flush()
    assert e.value.code == "ledger_append_only"
    with pytest.raises(DomainError), db.uow() as uow:
        uow.session.delete(uow.session.scalars(select(AuditEntry)).first())
        uow.session.flush()
    with db.uow(readonly=True) as uow:
        assert [x.event for x in uow.session.scalars(select(ReturnsLedgerEntry))] == ["opened"]


@pytest.mark.parametrize("sql", [
    "UPDATE returns_ledger SET event = 'tampered'",
    "DELETE FROM returns_ledger",
    "UPDATE audit_log SET action = 'tampered'",
    "DELETE FROM audit_log",
])
def test_database_refuses_update_and_delete_from_anyone(db, tag, sql):
    with pytest.raises(DBAPIError) as e, db.engine.begin() as conn:
        conn.execute(text(sql))
    assert "append-only" in str(e.value)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM returns_ledger")).scalar() == 1


def test_every_move_is_in_the_ledger_with_who_and_when(db, tag):
    with db.uow() as uow:
        lead = services.get_actor(uow, "lead")
        services.move_visit(uow, lead, tag, VisitState.AWAITING_BENCH, "checked in")
        services.move_visit(uow, lead, tag, VisitState.SCRAPPED, "board burnt")
    with db.uow(readonly=True) as uow:
        report = services.unit_report(uow, tag)
        assert check_ledgers(uow) == []
    timeline = report["timeline"]
    assert [(e["event"], e["from_state"], e["to_state"], e["actor"]) for e in timeline] == [
        ("opened", None, "received", "clerk"),
        ("manual_move", "received", "awaiting_bench", "lead"),
        ("manual_move", "awaiting_bench", "scrapped", "lead"),
    ]
    assert timeline[2]["details"] == {"reason": "board burnt"}
    assert report["visits"][0]["closed_at"] is not None and report["open_visit"] is None


def test_check_reports_a_visit_whose_state_disagrees_with_its_ledger(db, tag):
    with db.engine.begin() as conn:  # a hand edit behind the services' back
        conn.execute(text("UPDATE visits SET state = 'passed' WHERE tag = :t"), {"t": tag})
    with db.uow(readonly=True) as uow:
        codes = {v.code for v in check_ledgers(uow)}
    assert "state_mismatch" in codes


def test_check_reports_an_entry_dated_long_before_the_one_before_it(db, tag):
    from datetime import timedelta

    from rma.db import utcnow

    with db.uow(clock=lambda: utcnow() - timedelta(hours=2)) as uow:  # a station PC whose clock is far off
        services.move_visit(uow, services.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "checked in")
    with db.uow(clock=lambda: utcnow() - timedelta(seconds=30)) as uow:  # a little off is concurrency, not a fault
        services.move_visit(uow, services.get_actor(uow, "lead"), tag, VisitState.IN_REPAIR, "on the bench")
    with db.uow(readonly=True) as uow:
        found = [(v.code, v.subject) for v in check_ledgers(uow)]
    assert found == [("ledger_time_order", tag)]


def test_check_reports_entries_that_step_back_a_little_each_but_too_far_together(db, tag):
    """Each entry 4 minutes before the one just before it is within the slack; the last is then
    8 minutes before the intake's entries, written before it: that is found, on both databases."""
    from datetime import timedelta

    from sqlalchemy import func

    from rma.db import utcnow

    with db.uow(readonly=True) as uow:
        opened = uow.session.scalar(select(func.max(ReturnsLedgerEntry.at)))
    for minutes, to in ((4, VisitState.AWAITING_BENCH), (8, VisitState.IN_REPAIR)):
        with db.uow(clock=lambda m=minutes: opened - timedelta(minutes=m)) as uow:
            services.move_visit(uow, services.get_actor(uow, "lead"), tag, to, "a slow clock")
    with db.uow(readonly=True) as uow:
        found = [(v.code, v.subject) for v in check_ledgers(uow)]
    assert found == [("ledger_time_order", tag)]
    assert utcnow() - opened < timedelta(minutes=5)  # the opening itself is now


def test_check_reports_ledger_rows_of_a_visit_that_is_gone(db, tag):
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # outside any transaction
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")  # skips foreign-key triggers
        conn.execute(text("DELETE FROM intake_records"))
        conn.execute(text("DELETE FROM visits WHERE tag = :t"), {"t": tag})
        conn.commit()
        conn.invalidate()
    with db.uow(readonly=True) as uow:
        found = sorted(v.code for v in check_ledgers(uow))
    assert found == ["ledger_orphan"]
