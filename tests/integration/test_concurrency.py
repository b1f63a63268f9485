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
