"""Opening and moving visits: the transition table, roles, and tags."""

import pytest

from rma.core import services
from rma.core.states import VisitState
from rma.errors import DomainError
from tests.factories import receive_unit, seed_basics


@pytest.fixture
def tag(db):
    seed_basics(db)
    return receive_unit(db, "HU88000001")


def _move(db, who, tag, to, reason="because"):
    with db.uow() as uow:
        return services.move_visit(uow, services.get_actor(uow, who), tag, to, reason)


def test_illegal_move_names_both_states_and_changes_nothing(db, tag):
    with pytest.raises(DomainError) as e:
        _move(db, "lead", tag, VisitState.PASSED)
    assert e.value.code == "illegal_transition"
    assert "received" in e.value.message and "passed" in e.value.message
    with db.uow(readonly=True) as uow:
        assert services.find_visit(uow, tag).state is VisitState.RECEIVED
        assert len(services.unit_report(uow, tag)["timeline"]) == 1


@pytest.mark.parametrize("who", ["clerk", "tech", "admin"])
def test_only_lead_or_supervisor_moves_by_hand(db, tag, who):
    with pytest.raises(DomainError) as e:
        _move(db, who, tag, VisitState.AWAITING_BENCH)
    assert e.value.code == "forbidden"
    _move(db, "boss", tag, VisitState.AWAITING_BENCH)


def test_manual_move_needs_a_reason(db, tag):
    with pytest.raises(DomainError) as e:
        _move(db, "lead", tag, VisitState.AWAITING_BENCH, reason="  ")
    assert e.value.code == "reason_required"


def test_a_unit_cannot_have_two_open_visits_and_tags_are_never_reused(db, tag):
    with pytest.raises(DomainError) as e:
        receive_unit(db, "HU88000001")
    assert e.value.code == "unit_already_open" and tag in e.value.message
    _move(db, "lead", tag, VisitState.RETURNED_UNREPAIRED)
    second = receive_unit(db, "HU88000001")
    third = receive_unit(db, "HU88000002")
    assert len({tag, second, third}) == 3
    assert tag < second < third
    with db.uow(readonly=True) as uow:
        report = services.unit_report(uow, "hu88000001")  # scanners may send lower case
        assert [v["tag"] for v in report["visits"]] == [tag, second]
        assert report["open_visit"] == second and report["state"] == "received"


def test_only_a_clerk_receives(db):
    seed_basics(db)
    with pytest.raises(DomainError) as e, db.uow() as uow:
        from rma.core.models import Unit
        unit = Unit(serial="HU88000009", model_id=1, created_at=uow.now())
        uow.session.add(unit)
        services.open_visit(uow, services.get_actor(uow, "tech"), unit, customer=None, reason=None)
    assert e.value.code == "forbidden"


def test_unknown_unit(db):
    seed_basics(db)
    with pytest.raises(DomainError) as e, db.uow(readonly=True) as uow:
        services.unit_report(uow, "NOPE")
    assert e.value.code == "unknown_unit"
