"""Two processes moving the same visit at the same moment: exactly one wins."""

import multiprocessing as mp

import pytest
from sqlalchemy import func, select

from rma.core.models import ReturnsLedgerEntry, Visit
from tests.factories import receive_unit, seed_basics


def _move_after_barrier(url, tag, barrier, results):
    from rma.core import services
    from rma.core.states import VisitState
    from rma.db import Database
    from rma.errors import DomainError

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:  # warm up the connection so both start level
        services.get_actor(uow, "lead")
    barrier.wait()
    try:
        with db.uow() as uow:
            services.move_visit(uow, services.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "race")
        results.put("won")
    except DomainError as e:
        results.put(e.code)
    finally:
        db.dispose()


@pytest.mark.parametrize("round_", range(3))
def test_exactly_one_of_two_simultaneous_moves_wins(db, db_url, round_):
    seed_basics(db)
    tag = receive_unit(db, f"HU8800000{round_}")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_move_after_barrier, args=(db_url, tag, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes.count("won") == 1, outcomes
    loser = [o for o in outcomes if o != "won"][0]
    assert loser in {"concurrent_change", "illegal_transition"}, outcomes
    with db.uow(readonly=True) as uow:
        visit_id = uow.session.scalar(select(Visit.id).where(Visit.tag == tag))
        moves = uow.session.scalar(select(func.count()).select_from(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.visit_id == visit_id, ReturnsLedgerEntry.event == "manual_move"))
    assert moves == 1


def _receive_after_barrier(url, waybill, serial, barrier, results):
    from rma.core import services
    from rma.db import Database
    from rma.errors import DomainError
    from rma.intake import services as intake

    db = Database.from_url(url)
    with db.uow() as uow:
        parcel, _ = intake.receive_parcel(uow, services.get_actor(uow, "clerk"), courier="SF", waybill=waybill,
                                          customer_code="SH-PD01")
        parcel_id = parcel.id
    barrier.wait()
    try:
        with db.uow() as uow:
            from rma.intake.models import Parcel

            r = intake.receive_unit(uow, services.get_actor(uow, "clerk"), uow.session.get(Parcel, parcel_id), serial)
            results.put(("won", r.visit.tag))
    except DomainError as e:
        results.put((e.code, e.message))
    finally:
        db.dispose()


@pytest.mark.parametrize("known_unit", [False, True])
def test_two_clerks_scan_the_same_unit_into_two_parcels_at_once(db, db_url, known_unit):
    seed_basics(db)
    serial = "HU88000777"
    if known_unit:
        from rma.core.models import ProductModel, Unit
        from rma.db import utcnow

        with db.uow() as uow:
            uow.session.add(Unit(serial=serial, model=uow.session.scalar(select(ProductModel)), created_at=utcnow()))
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_receive_after_barrier, args=(db_url, wb, serial, barrier, results))
             for wb in ("SF0000000001", "SF0000000002")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    outcomes = [results.get(timeout=5) for _ in procs]
    codes = sorted(o[0] for o in outcomes)
    assert codes.count("won") == 1, outcomes
    assert [c for c in codes if c != "won"][0] in {"unit_already_open", "concurrent_change"}, outcomes
    with db.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Visit)) == 1
