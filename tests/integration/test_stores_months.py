"""The stores' months and figures: the monthly statement from a closed month's snapshot, a
closed month locked (a late correction in the open month, pointing back), reorder, slow and
dead stock, stock turns, first-time fill rate, parts cost per repaired unit."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from rma.core import services as core
from rma.core.checks import check_ledgers
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.inventory import catalogue, reports, services, stock
from rma.inventory.amounts import add_months, month_text
from rma.inventory.ledger import month_of_time
from rma.inventory.models import PartsCostMonth, StockMove
from tests.stores_data import at_bench, seed_stores


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def month_start(self, months_back: int) -> None:
        """The 10th of the month ``months_back`` before this one, at 10:00 local time."""
        now = datetime.now().astimezone()
        month = add_months(month_of_time(now), -months_back)
        self.at = datetime(month // 100, month % 100, 10, 10, 0).astimezone()


@pytest.fixture
def clock():
    c = Clock(datetime.now().astimezone())
    c.month_start(14)
    return c


@pytest.fixture
def store(db, clock):
    timed = db.with_clock(clock)
    data = seed_stores(timed, units=0)  # the store opened 14 months ago
    return timed, data


def act(db, who, fn, *args, **kwargs):  # noqa: ANN001, ANN201
    with db.uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kwargs)


def read(db, fn, *args, **kwargs):  # noqa: ANN001, ANN201
    with db.uow(readonly=True) as uow:
        return fn(uow, *args, **kwargs)


def month(n_back: int) -> str:
    return month_text(add_months(month_of_time(datetime.now().astimezone()), -n_back))


def repair_with(db, clock, serial, part, qty, *, bin_code, fit=None):  # noqa: ANN001, ANN201
    tag = at_bench(db, serial)
    act(db, "tech", services.request_parts, tag, [(part, qty)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number=part, bin_code=bin_code)
    if fit:
        clock.at += timedelta(minutes=30)
        act(db, "tech", services.fit_part, tag, part, qty, fit)
    return tag


def close_through(db, n_back: int) -> None:
    """Close every month from the store's first up to ``n_back`` months ago, in order."""
    for k in range(14, n_back - 1, -1):
        act(db, "boss", reports.close_month, month(k))


def test_a_closed_months_statement_is_its_snapshot_and_reads_as_it_did_open(store, clock):
    db, _ = store
    clock.month_start(3)
    repair_with(db, clock, "HU88000001", "IC-TDA7851", 2, bin_code="A-01-01", fit="U30")
    act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0100", line=1, part_number="IC-TDA7851",
        bin_code="A-01-01", quantity="5", unit_cost="20.00")
    open_before = read(db, reports.statement, month(3))
    assert not open_before["closed"]
    row = next(r for r in open_before["rows"] if r["part_number"] == "IC-TDA7851")
    assert (row["opening_qty"], row["receipts_qty"], row["issues_qty"], row["closing_qty"]) == ("10", "5", "2", "13")
    assert (row["opening_value"], row["receipts_value"], row["issues_value"]) == ("186.00", "100.00", "37.20")
    assert row["closing_value"] == "248.80" and row["fitted_qty"] == "2"
    clock.month_start(0)
    close_through(db, 3)
    closed = read(db, reports.statement, month(3))
    assert closed["closed"] and closed["rows"] == open_before["rows"] and closed["totals"] == open_before["totals"]
    following = read(db, reports.statement, month(2))  # open: the snapshot's closing is its opening
    tda = next(r for r in following["rows"] if r["part_number"] == "IC-TDA7851")
    assert (tda["opening_qty"], tda["closing_qty"], tda["closing_value"]) == ("13", "13", "248.80")
    assert read(db, check_ledgers) == []


def test_a_closed_month_is_locked_and_a_late_correction_points_back_from_the_open_month(store, clock):
    db, _ = store
    clock.month_start(2)
    r = act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0200", line=1,
            part_number="IC-PMIC-88", bin_code="A-01-02", quantity="4", unit_cost="10")
    clock.month_start(0)
    close_through(db, 1)
    snapshot = read(db, reports.statement, month(2))
    with pytest.raises(DomainError) as e:
        act(db, "boss", reports.close_month, month(1))
    assert e.value.code == "month_closed"
    with pytest.raises(DomainError) as e:
        act(db, "boss", reports.close_month, month(0))
    assert e.value.code == "month_not_over"
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0201", line=1,
            part_number="IC-PMIC-88", bin_code="A-01-02", quantity="1", month=month(2))
    assert e.value.code == "month_closed" and f"book it in the open month {month(0)}" in e.value.message
    c = act(db, "materials", stock.correct_move, r["move"], "delivery note was for another depot")
    assert c["month"] == int(month(0).replace("-", "")) and c["corrects"] == r["move"]
    assert read(db, reports.statement, month(2)) == snapshot  # the closed month reads as it was
    now = next(x for x in read(db, reports.statement, month(0))["rows"] if x["part_number"] == "IC-PMIC-88")
    assert (now["opening_qty"], now["receipts_qty"], now["closing_qty"]) == ("10", "-4", "6")
    assert read(db, check_ledgers) == []


def test_months_close_in_order_and_only_by_the_clerk_or_supervisor(store, clock):
    db, _ = store
    clock.month_start(0)
    with pytest.raises(DomainError) as e:
        act(db, "boss", reports.close_month, month(5))
    assert e.value.code == "close_earlier_first" and month(14) in e.value.message
    with pytest.raises(DomainError) as e:
        act(db, "tech", reports.close_month, month(14))
    assert e.value.code == "forbidden"
    with pytest.raises(DomainError) as e:
        read(db, reports.statement, "2026-13")
    assert e.value.code == "bad_month"


def test_reorder_lists_parts_below_safety_stock_from_three_months_of_issues(store, clock):
    db, _ = store
    for k, serial in ((3, "HU88000011"), (2, "HU88000012"), (1, "HU88000013")):
        clock.month_start(k)
        repair_with(db, clock, serial, "IC-PMIC-88", 2, bin_code="A-01-02")
    clock.month_start(0)
    with db.uow() as uow:
        from rma.core import settings

        settings.set_value(uow, core.get_actor(uow, "boss"), "safety_stock_factor", "2")
    r = read(db, reports.reorder)
    assert r["months"] == [month(3), month(1)] and r["factor"] == 2.0
    pmic = next(x for x in r["rows"] if x["part_number"] == "IC-PMIC-88")
    # on hand 6 - 3×2 = 0; monthly issue 2 × factor 2 = safety 4: order 4
    assert (pmic["on_hand"], pmic["monthly_issue"], pmic["safety_stock"], pmic["order"]) == ("0", "2", "4", "4")
    assert pmic["safety_from"] == "issues"
    assert "IC-TDA7851" not in {x["part_number"] for x in r["rows"]}  # nothing issued: no safety stock wanted
    act(db, "materials", catalogue.set_part, "IC-TDA7851",
        safety_stock="12", reorder_qty="50")
    tda = next(x for x in read(db, reports.reorder)["rows"] if x["part_number"] == "IC-TDA7851")
    assert (tda["safety_stock"], tda["safety_from"], tda["order"]) == ("12", "part", "50")


def test_slow_and_dead_stock_stock_turns_and_fill_rate(store, clock):
    db, _ = store
    clock.month_start(8)
    repair_with(db, clock, "HU88000021", "IC-TDA7851", 1, bin_code="A-01-01")
    clock.month_start(1)
    tag = at_bench(db, "HU88000022")
    act(db, "tech", services.request_parts, tag, [("IC-PMIC-88", 1), ("C-100U-25V", 10)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    act(db, "materials", services.backorder, tag, "C-100U-25V")
    clock.month_start(0)
    slow = {r["part_number"]: r for r in read(db, reports.slow_stock)["rows"]}
    assert (slow["IC-TDA7851"]["status"], slow["IC-TDA7851"]["idle_months"], slow["IC-TDA7851"]["last_issue"]) == (
        "slow", 8, month(8))
    spi = slow["SPI-W25Q128"]  # never issued: idle since its receipt, month 14
    assert (spi["status"], spi["last_issue"], spi["idle_months"]) == ("dead", None, 14)
    assert "IC-PMIC-88" not in slow
    turns = read(db, reports.stock_turns)
    assert turns["months"] == [month(12), month(1)]
    ic = next(r for r in turns["rows"] if r["category"] == "ic")
    assert ic["issues_value"] == "28.40" and float(ic["turns"]) > 0  # 18.60 + 9.80 at cost
    fill = read(db, reports.fill_rate, months=3)
    assert (fill["lines"], fill["filled_first"], fill["rate"]) == (2, 1, "0.500")
    assert [r["month"] for r in fill["rows"]] == [month(2), month(1), month(0)]


def test_parts_cost_per_repaired_unit(store, clock):
    db, _ = store
    clock.month_start(1)
    tag = repair_with(db, clock, "HU88000031", "IC-TDA7851", 1, bin_code="A-01-01", fit="U30")
    other = at_bench(db, "HU88000032")
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for t in (tag, other):
            for to in ("awaiting_test", "in_test", "passed"):
                core.move_visit(uow, lead, t, VisitState(to), "tested")
    act(db, "tech", services.refurbish_into_stock, tag)
    act(db, "tech", services.refurbish_into_stock, other)
    clock.month_start(0)
    r = read(db, reports.parts_cost, month(1))
    assert (r["units"], r["parts_value"], r["per_unit"]) == (2, "18.60", "9.30")
    assert r["rows"] == [{"model": "HU-8800", "units": 2, "with_parts": 1, "parts_value": "18.60", "per_unit": "9.30"}]


def _tested_and_refurbished(db, tag):  # noqa: ANN001, ANN202
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_test", "in_test", "passed"):
            core.move_visit(uow, lead, tag, VisitState(to), "tested")
    act(db, "tech", services.refurbish_into_stock, tag)


def _repaired_last_month(db, clock, serial):  # noqa: ANN001, ANN202
    """A unit repaired with one TDA7851 (18.60) at U30 and refurbished last month; the clock back to now."""
    clock.month_start(1)
    tag = repair_with(db, clock, serial, "IC-TDA7851", 1, bin_code="A-01-01", fit="U30")
    _tested_and_refurbished(db, tag)
    clock.month_start(0)
    return tag


def _kept(db):  # noqa: ANN001, ANN202
    with db.uow(readonly=True) as uow:
        return {k.month: k.rows for k in uow.session.scalars(select(PartsCostMonth))}


def test_a_past_months_parts_cost_is_kept_and_computed_again_when_a_later_row_concerns_it(store, clock):
    db, _ = store
    _repaired_last_month(db, clock, "HU88000031")
    past, now = int(month(1).replace("-", "")), int(month(0).replace("-", ""))
    assert read(db, reports.parts_cost, month(1))["parts_value"] == "18.60"
    read(db, reports.parts_cost, month(0))
    kept = _kept(db)
    assert list(kept) == [past]  # the open month is never kept
    [[model_id, n, value_e4, with_fit]] = kept[past]
    assert (n, value_e4, with_fit) == (1, 186_000, 1)

    # a kept month is read back, not computed again (here a row changed behind rma's back shows)
    with db.uow() as uow:
        uow.session.execute(update(PartsCostMonth).where(PartsCostMonth.month == past)
                            .values(rows=[[model_id, 1, 990_000, 1]]))
    assert read(db, reports.parts_cost, month(1))["parts_value"] == "99.00"

    # the fit undone now, in the open month: the past month's visit changed, so it is computed again
    with db.uow(readonly=True) as uow:
        fit = uow.session.scalar(select(StockMove.id).where(StockMove.kind == "fit"))
    act(db, "materials", stock.correct_move, fit, "booked on the wrong unit")
    r = read(db, reports.parts_cost, month(1))
    assert (r["units"], r["parts_value"], r["rows"][0]["with_parts"]) == (1, "0.00", 1)
    assert _kept(db)[past] == [[model_id, 1, 0, 1]]

    # a visit closed into that month afterwards (a clock set back, as the demo writes its past)
    _repaired_last_month(db, clock, "HU88000032")
    r = read(db, reports.parts_cost, month(1))
    assert (r["units"], r["parts_value"]) == (2, "18.60")
    assert now not in _kept(db)

    # what is kept is what a computation from the ledgers says
    with db.uow() as uow:
        uow.session.execute(delete(PartsCostMonth))
    assert read(db, reports.parts_cost, month(1)) == r


def test_a_read_never_waits_for_another_writer_to_keep_a_month(store, clock):
    db, _ = store
    _repaired_last_month(db, clock, "HU88000031")
    with db.engine.connect() as other:  # another station in the middle of a booking
        other.execute(text("SELECT 1"))  # SQLite: BEGIN IMMEDIATE, the database's write lock
        if db.engine.dialect.name == "postgresql":
            other.execute(text("LOCK TABLE parts_cost_months IN EXCLUSIVE MODE"))
        started = time.monotonic()
        r = read(db, reports.parts_cost, month(1))
        waited = time.monotonic() - started
        other.rollback()
    assert r["parts_value"] == "18.60"  # the figure, computed
    assert waited < 5  # not the 15 s a booking waits for the lock
    assert _kept(db) == {}  # not kept this time ...
    read(db, reports.parts_cost, month(1))
    assert list(_kept(db)) == [int(month(1).replace("-", ""))]  # ... but the next time
