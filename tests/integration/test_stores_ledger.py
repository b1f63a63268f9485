"""The parts ledger is append-only and sealed; rma check finds what was changed behind rma's back;
clerks issuing the last units at once never take the stock below zero; the commands."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from rma.cli import main
from rma.core import seals
from rma.core import services as core
from rma.core.checks import check_ledgers, run_checks
from rma.errors import DomainError
from rma.inventory import services, stock
from rma.inventory.models import StockMove
from tests.stores_data import at_bench, seed_stores


@pytest.fixture
def store(db, rma_env):
    return seed_stores(db)


def act(db, who, fn, *args, **kwargs):  # noqa: ANN001, ANN201
    with db.uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kwargs)


def codes(db) -> list[str]:  # noqa: ANN001
    return sorted({v.code for v in run_checks(db).violations})


def _guards(conn, on: bool) -> None:  # noqa: ANN001
    if conn.dialect.name == "postgresql":
        for what in ("update", "delete"):
            conn.execute(text(f"ALTER TABLE stock_moves {'ENABLE ALWAYS' if on else 'DISABLE'} TRIGGER "
                              f"stock_moves_no_{what}"))
        return
    from rma.core.guards import sqlite_trigger

    for what in ("update", "delete"):
        conn.execute(text(sqlite_trigger("stock_moves", what) if on else f"DROP TRIGGER stock_moves_no_{what}"))


def test_the_parts_ledger_and_its_closed_months_refuse_update_and_delete(db, rma_env):
    from datetime import datetime

    from rma.inventory import reports
    from rma.inventory.amounts import add_months, month_text
    from rma.inventory.ledger import month_of_time

    earlier = add_months(month_of_time(datetime.now().astimezone()), -2)
    seed_stores(db.with_clock(lambda: datetime(earlier // 100, earlier % 100, 10, 10).astimezone()), units=0)
    act(db, "boss", reports.close_month, month_text(earlier))
    with pytest.raises(DomainError) as e, db.uow() as uow:
        move = uow.session.get(StockMove, 1)
        move.qty_milli = 1
        uow.session.flush()
    assert e.value.code == "ledger_append_only"
    for sql in ("UPDATE stock_moves SET qty_milli = 1 WHERE id = 1", "DELETE FROM stock_moves WHERE id = 1",
                "UPDATE stock_snapshots SET closing_qty = 0", "UPDATE stock_month_closes SET parts = 0"):
        with pytest.raises(DBAPIError) as err, db.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(err.value)
    assert codes(db) == []


def test_rma_check_finds_a_move_edited_behind_rmas_back(db, store):
    with db.engine.begin() as conn:
        _guards(conn, on=False)
        conn.execute(text("UPDATE stock_moves SET qty_milli = 1000 WHERE id = 1"))  # 10 received becomes 1
        _guards(conn, on=True)
    found = codes(db)
    assert "ledger_tampered" in found and "stock_balance_mismatch" in found


def test_the_parts_ledger_checked_in_ranges_of_ids_still_finds_an_edit_and_no_false_one(db, store, monkeypatch):
    """``rma check`` reads a big parts ledger in ranges of ids cut where the booking month changes.
    Cut anywhere (a month's streams split between two ranges, as a station's clock at a month's
    end could make them), each cut stream is recomputed whole: the ledger checks clean; then one
    edited move is found, once, on its own stream."""
    from rma.core import checks

    for line, (number, bin_code) in enumerate([("IC-TDA7851", "A-01-01"), ("IC-PMIC-88", "A-01-02")] * 3, start=10):
        act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0002", line=line,
            part_number=number, bin_code=bin_code, quantity="1")  # two parts' streams, interleaved
    monkeypatch.setattr(checks, "ROWS_PER_PIECE", 2)
    monkeypatch.setattr(checks, "_cluster_start", lambda conn, ledger, near, floor: near)  # cut anywhere
    with db.uow(readonly=True) as uow:
        ranges = [p for p in checks.plan(uow) if p[:2] == ("seals", "stock_moves")]
    assert len(ranges) > 2 and all(a < b for _, _, a, b in ranges)
    assert codes(db) == []
    with db.engine.begin() as conn:
        key = conn.execute(text("SELECT seal_key FROM stock_moves WHERE id = 1")).scalar()
        _guards(conn, on=False)
        conn.execute(text("UPDATE stock_moves SET note = 'edited' WHERE id = 1"))
        _guards(conn, on=True)
    tampered = [v for v in run_checks(db, workers=2).violations if v.code == "ledger_tampered"]
    assert [(v.ledger, v.subject) for v in tampered] == [("stock_moves", f"stock_moves seal_key {key}")]


def test_rma_check_finds_a_balance_changed_and_a_part_returned_that_was_never_issued(db, store):
    tag = store["tags"][0]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE stock_balances SET qty_milli = qty_milli + 1000 WHERE part_id = 1 AND "
                          "location_id = (SELECT id FROM stock_locations WHERE code = 'A-01-01')"))
    assert codes(db) == ["stock_balance_mismatch", "stock_not_double_entry", "stock_store_mismatch"]
    with db.engine.begin() as conn:  # put it back, then forge a fit (sealed as rma would: only the invariant can tell)
        conn.execute(text("UPDATE stock_balances SET qty_milli = qty_milli - 1000 WHERE part_id = 1 AND "
                          "location_id = (SELECT id FROM stock_locations WHERE code = 'A-01-01')"))
    act(db, "tech", services.request_parts, tag, [("IC-PMIC-88", 1)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    with db.uow() as uow:
        other = uow.session.execute(text("SELECT id FROM visits WHERE tag = :t"),
                                                  {"t": store["tags"][1]}).scalar()
        move = uow.session.execute(text("SELECT * FROM stock_moves WHERE kind = 'issue'")).mappings().first()
        bench, shelf = move["to_id"], move["from_id"]
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO stock_moves (at, month, part_id, seal_key, kind, from_id, to_id, store_sign, qty_milli, "
            "value_e4, actor_id, visit_id) SELECT at, month, part_id, seal_key, 'return', :bench, "
            ":shelf, 1, 1000, value_e4, actor_id, :visit FROM stock_moves WHERE id = :id"),
            {"bench": bench, "shelf": shelf, "visit": other, "id": move["id"]})
        seals.seal_streams(conn, {"stock_moves": {str(move["seal_key"])}})
    found = {v.code: v for v in run_checks(db).violations}
    assert "stock_not_issued" in found and store["tags"][1] in found["stock_not_issued"].message


def _issue_after_barrier(url, tag, barrier, results):  # noqa: ANN001
    from rma.core import services as core_
    from rma.db import Database
    from rma.errors import DomainError as Refused
    from rma.inventory import services as stores

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:
        core_.get_actor(uow, "materials")
    barrier.wait()
    try:
        with db.uow() as uow:
            stores.issue_to_tag(uow, core_.get_actor(uow, "materials"), tag=tag, part_number="IC-PMIC-88",
                                bin_code="A-01-02", quantity="2")
        results.put("issued")
    except Refused as e:
        results.put(e.code)
    finally:
        db.dispose()


def test_clerks_issuing_the_last_units_at_once_never_take_the_stock_below_zero(db, db_url, store):
    n, stock_left, qty = 5, 6, 2  # the PMIC bin holds six; five clerks issue two each at the same moment
    tags = [at_bench(db, f"HU8800{100 + k:04d}") for k in range(n)]
    for tag in tags:
        act(db, "tech", services.request_parts, tag, [("IC-PMIC-88", qty)])
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_issue_after_barrier, args=(db_url, tag, barrier, results)) for tag in tags]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes.count("issued") == stock_left // qty, outcomes
    assert set(outcomes) == {"issued", "insufficient_stock"}, outcomes
    with db.uow(readonly=True) as uow:
        assert not [r for r in stock.on_hand(uow, part_number="IC-PMIC-88") if r["bin"] == "A-01-02"]  # all gone
        left = uow.session.execute(text(
            "SELECT b.qty_milli FROM stock_balances b JOIN stock_locations l ON l.id = b.location_id "
            "JOIN parts p ON p.id = b.part_id WHERE l.code = 'A-01-02' AND p.part_number = 'IC-PMIC-88'")).scalar()
        assert left == 0  # six, less three issues of two: exactly nothing, never below
        assert check_ledgers(uow) == []
    assert codes(db) == []


def test_the_commands_with_json_and_the_exports(db, store, tmp_path, capsys):
    tag = store["tags"][0]
    assert main(["stock", "request", tag, "--part", "IC-TDA7851=2", "--part", "C-100U-25V=2@C45", "--as", "tech",
                 "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)
    assert [x["part_number"] for x in lines] == ["IC-TDA7851", "C-100U-25V"]
    assert main(["stock", "picklist", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["stock", "issue", tag, "--part", "IC-TDA7851", "--bin", "A-01-01", "--as", "materials", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["quantity"] == "2"
    assert main(["stock", "issue", tag, "--part", "IC-TDA7851", "--bin", "A-01-01", "--as", "materials", "--json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["error"]["code"] == "not_requested" and out.err.startswith("rma: tag ")
    assert main(["stock", "tag", tag, "--json"]) == 0
    parts = {p["part_number"]: p for p in json.loads(capsys.readouterr().out)["parts"]}
    assert (parts["IC-TDA7851"]["issued"], parts["C-100U-25V"]["issued"]) == ("2", "0")
    assert main(["stock", "on-hand", "--part", "IC-TDA7851", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("IC-TDA7851,功放IC TDA7851,")
    month = json.loads((main(["stock", "months", "--json"]), capsys.readouterr().out)[1])[0]["month"]
    book = tmp_path / "statement.xlsx"
    assert main(["stock", "statement", "--month", month, "--xlsx", str(book)]) == 0
    capsys.readouterr()
    sheet = load_workbook(book).active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "IC-TDA7851")
    assert header[:2] == ["part_number", "name_zh"] and row[header.index("issues_qty")] == 2
    assert row[header.index("closing_value")] == pytest.approx(148.8)
    assert main(["stock", "receive", "--supplier", "SZ-HX", "--note", "DN-0001", "--line", "1", "--part",
                 "IC-TDA7851", "--bin", "A-01-01", "--qty", "1", "--as", "materials"]) == 1
    assert "booked already" in capsys.readouterr().err
    assert main(["part", "bom", "HU-8800", "--json"]) == 0
    assert {r["designator"] for r in json.loads(capsys.readouterr().out)} == {"U12", "U30", "C45", "C46", "FPC1", "U7"}
    for report in (["stock", "reorder"], ["stock", "slow"], ["stock", "turns"], ["stock", "fill-rate"],
                   ["stock", "parts-cost", "--month", month], ["stock", "refurbished"], ["stock", "count", "list"]):
        assert main([*report, "--json"]) == 0, report
        json.loads(capsys.readouterr().out)
    assert main(["check", "--json"]) == 0
