"""The stores: receipts, requisitions against a tag, issues, backorders, fitted / returned / old
parts, refurbished units, programming jobs; every bad input refused with nothing lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rma.core import services as core
from rma.core.checks import check_ledgers
from rma.core.models import ReturnsLedgerEntry
from rma.core.services import looks_like_tag
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.i18n import CHINESE, ENGLISH
from rma.inventory import catalogue, services, stock
from rma.inventory.models import RequisitionLine, StockBalance, StockMove
from rma.sentences import entry_sentence
from tests.stores_data import at_bench, seed_stores


@pytest.fixture
def store(db):
    return seed_stores(db)


def act(db, who, fn, *args, **kwargs):  # noqa: ANN001, ANN201
    with db.uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kwargs)


def read(db, fn, *args, **kwargs):  # noqa: ANN001, ANN201
    with db.uow(readonly=True) as uow:
        return fn(uow, *args, **kwargs)


def state_of(db, tag):  # noqa: ANN001, ANN201
    return read(db, lambda uow: core.find_visit(uow, tag).state)


def held(db, number, bin_code):  # noqa: ANN001, ANN201
    return next((r["quantity"] for r in read(db, stock.on_hand, part_number=number) if r["bin"] == bin_code), "0")


def footprint(db):  # noqa: ANN001, ANN201
    """What a refused action must leave as it was: every move, balance, line and visit event."""
    with db.uow(readonly=True) as uow:
        count = lambda t: uow.session.scalar(select(func.count()).select_from(t))  # noqa: E731
        balances = sorted(uow.session.execute(select(StockBalance.part_id, StockBalance.location_id,
                                                     StockBalance.qty_milli, StockBalance.value_e4)).all())
        lines = sorted(uow.session.execute(select(RequisitionLine.id, RequisitionLine.issued_milli,
                                                  RequisitionLine.status, RequisitionLine.backordered)).all())
        return count(StockMove), count(ReturnsLedgerEntry), balances, lines


def timeline(db, tag, lang=ENGLISH):  # noqa: ANN001, ANN201
    report = read(db, core.unit_report, tag)
    return [entry_sentence(e, lang=lang) for e in report["timeline"] if e["tag"] == tag]


# ---------------------------------------------------------------- receipts

def test_a_receipt_books_stock_and_the_moving_average_cost(db, store):
    assert held(db, "IC-TDA7851", "A-01-01") == "10"
    r = act(db, "materials", stock.receive, supplier="sz-hx", delivery_note="dn-0002", line="1",
            part_number="IC-TDA7851", bin_code="a-01-01", quantity="30", unit_cost="20.20")
    assert (r["quantity"], r["value"], r["average_cost"]) == ("30", "606.00", "19.8000")  # (186 + 606) / 40
    assert held(db, "IC-TDA7851", "A-01-01") == "40"
    # metres keep their two decimals; the part's average is kept to the ten-thousandth of a yuan
    r = act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0002", line=2,
            part_number="W-FFC-40P", bin_code="B-02-02", quantity="2.25", unit_cost="3.00")
    assert r["quantity"] == "2.25" and held(db, "W-FFC-40P", "B-02-02") == "14.75"
    assert read(db, check_ledgers) == []


def test_the_same_delivery_note_line_twice_is_refused_and_nothing_is_booked(db, store):
    before = footprint(db)
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0001", line=1,
            part_number="IC-TDA7851", bin_code="A-01-01", quantity="10")
    assert e.value.code == "delivery_line_booked"
    assert "line 1 of delivery note DN-0001 from SZ-HX was booked already" in e.value.message
    assert "10 × IC-TDA7851" in e.value.message
    assert footprint(db) == before


def test_a_late_receipt_into_a_closed_month_is_refused(db, store):
    from rma.inventory import reports

    last = read(db, reports.last_month)
    with db.uow() as uow:  # the month before is closed (its moves: none)
        reports.close_month(uow, core.get_actor(uow, "boss"), last)
    before = footprint(db)
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0009", line=1,
            part_number="IC-TDA7851", bin_code="A-01-01", quantity="1", month=last)
    assert e.value.code == "month_closed" and f"month {last} is closed" in e.value.message
    assert footprint(db) == before


# ---------------------------------------------------------------- a tag's parts

def test_request_issue_fit_return_and_old_part_against_a_tag(db, store):
    tag = store["tags"][0]
    lines = act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 2), ("C-100U-25V", "2", "C45")],
                note="左声道无输出")
    assert [(x["part_number"], x["quantity"], x["status"]) for x in lines] == [
        ("IC-TDA7851", "2", "open"), ("C-100U-25V", "2", "open")]
    pick = read(db, stock.pick_list)
    assert [(p["tag"], p["part_number"], p["remaining"]) for p in pick] == [
        (tag, "IC-TDA7851", "2"), (tag, "C-100U-25V", "2")]
    assert pick[0]["bins"] == [{"bin": "A-01-01", "quantity": "10"}]
    r = act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-TDA7851", bin_code="A-01-01")
    assert (r["quantity"], r["value"], r["backordered"], r["state"]) == ("2", "37.20", None, "in_repair")
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="C-100U-25V", bin_code="B-02-01", quantity="2")
    assert read(db, stock.pick_list) == []
    act(db, "tech", services.fit_part, tag, "IC-TDA7851", 1, "u30")
    act(db, "tech", services.remove_old_part, tag, "IC-TDA7851", 1, designator="U30", note="输出级击穿")
    act(db, "tech", services.fit_part, tag, "C-100U-25V", 1, "C45")
    act(db, "tech", services.return_part, tag, "IC-TDA7851", "1", "A-01-01")
    parts = {p["part_number"]: p for p in read(db, services.tag_parts, tag)["parts"]}
    tda = parts["IC-TDA7851"]
    assert (tda["requested"], tda["issued"], tda["fitted"], tda["returned"], tda["old"], tda["on_bench"]) == (
        "2", "2", "1", "1", "1", "0")
    assert tda["designators"] == ["U30"] and tda["fitted_value"] == "18.60"
    assert (parts["C-100U-25V"]["fitted"], parts["C-100U-25V"]["on_bench"]) == ("1", "1")
    assert held(db, "IC-TDA7851", "A-01-01") == "9"
    en, zh = timeline(db, tag), timeline(db, tag, CHINESE)
    assert "Parts requested: 2 × Amplifier IC TDA7851 (IC-TDA7851), 2 × Electrolytic capacitor 100uF 25V " \
           "(C-100U-25V) at C45; note “左声道无输出”." in en
    assert "Parts issued: 2 × Amplifier IC TDA7851 (IC-TDA7851); from bin A-01-01." in en
    assert "Part fitted: 1 × Amplifier IC TDA7851 (IC-TDA7851); at U30." in en
    assert "配件已装配：1 × 功放IC TDA7851（IC-TDA7851）；位号 U30。" in zh
    assert "拆下旧件：1 × 功放IC TDA7851（IC-TDA7851）；拆自位号 U30；随派工单保留，用于供应商索赔；备注“输出级击穿”。" in zh
    assert "Part returned to stores: 1 × Amplifier IC TDA7851 (IC-TDA7851); back to bin A-01-01." in en
    assert read(db, check_ledgers) == []


def test_a_short_issue_backorders_and_the_unit_waits_then_goes_back_to_repair(db, store):
    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("IC-PMIC-88", 8)])
    r = act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    assert (r["quantity"], r["backordered"], r["state"]) == ("6", "2", "awaiting_parts")  # the bin held six
    assert state_of(db, tag) is VisitState.AWAITING_PARTS
    assert "Parts issued: 6 × Power management IC (IC-PMIC-88); from bin A-01-02; 2 still to come (backordered)." \
        in timeline(db, tag)
    act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0003", line=1,
        part_number="IC-PMIC-88", bin_code="A-01-02", quantity="20", unit_cost="9.50")
    r = act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    assert (r["quantity"], r["backordered"], r["state"]) == ("2", None, "in_repair")
    assert state_of(db, tag) is VisitState.IN_REPAIR
    line = read(db, services.tag_parts, tag)["lines"][0]
    assert (line["status"], line["backordered"], line["first_fill"]) == ("filled", True, False)
    assert read(db, check_ledgers) == []


def test_nothing_to_issue_backorders_and_a_cancelled_request_frees_the_unit(db, store):
    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("SPI-W25Q128", 1)])
    act(db, "materials", services.backorder, tag, "SPI-W25Q128")
    assert state_of(db, tag) is VisitState.AWAITING_PARTS
    act(db, "tech", services.cancel_request, tag, "SPI-W25Q128")
    assert state_of(db, tag) is VisitState.IN_REPAIR
    assert [s.split(":")[0] for s in timeline(db, tag)[-3:]] == ["Parts requested", "Parts backordered",
                                                                  "Request cancelled"]


def test_a_designator_the_bom_gives_to_another_part_is_refused(db, store):
    tag = store["tags"][0]
    with pytest.raises(DomainError) as e:
        act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 1, "U12")])
    assert e.value.code == "wrong_part_for_designator"
    assert e.value.message == "U12 of HU-8800 takes IC-PMIC-88, not IC-TDA7851"
    assert [r["designator"] for r in read(db, catalogue.bom_of_model, "HU-8800")] == [
        "C45", "C46", "FPC1", "U7", "U12", "U30"]


# ---------------------------------------------------------------- bad input: clear errors, nothing lost

def _closed_tag(db):  # noqa: ANN001, ANN202
    tag = at_bench(db, "HU88009998")
    act(db, "lead", core.move_visit, tag, VisitState.SCRAPPED, "beyond repair")
    return tag


def _received_tag(db):  # noqa: ANN001, ANN202
    from tests.factories import receive_unit

    return receive_unit(db, "HU88009997")


@pytest.mark.parametrize("case", [
    "unknown_tag", "closed_tag", "not_in_repair", "zero", "negative", "decimals", "more_than_bin", "unknown_bin",
    "unknown_part", "more_than_requested", "nan", "garbage_tag",
])
def test_a_bad_issue_gets_a_clear_error_and_changes_nothing(db, store, case):
    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 20), ("W-FFC-40P", "1.5")])
    args = {"tag": tag, "part_number": "IC-TDA7851", "bin_code": "A-01-01", "quantity": "1"}
    expected = {
        "unknown_tag": ({"tag": "R26-999999"}, "unknown_visit", "no visit with tag R26-999999"),
        "garbage_tag": ({"tag": "\x1b[2Jx"}, "unknown_visit", "no visit with tag"),
        "closed_tag": ({"tag": _closed_tag(db)}, "visit_closed", "is closed (scrapped)"),
        "not_in_repair": ({"tag": _received_tag(db)}, "not_in_repair", "is received, not in repair"),
        "zero": ({"quantity": "0"}, "bad_quantity", "a whole number above 0"),
        "negative": ({"quantity": "-2"}, "bad_quantity", "a whole number above 0"),
        "nan": ({"quantity": "NaN"}, "bad_quantity", "a whole number above 0"),
        "decimals": ({"part_number": "W-FFC-40P", "bin_code": "B-02-02", "quantity": "1.234"}, "bad_quantity",
                     "with at most 2 decimals"),
        "more_than_bin": ({"quantity": "11"}, "insufficient_stock", "A-01-01 holds 10 each of IC-TDA7851, not 11"),
        "unknown_bin": ({"bin_code": "Z-99"}, "unknown_bin", "no bin 'Z-99'"),
        "unknown_part": ({"part_number": "NO-SUCH"}, "unknown_part", "no part with number or barcode 'NO-SUCH'"),
        "more_than_requested": ({"quantity": "21"}, "more_than_requested", "asks for 20 each of IC-TDA7851, not 21"),
    }[case]
    changes, code, text = expected
    before = footprint(db)
    with pytest.raises(DomainError) as e:
        act(db, "materials", services.issue_to_tag, **{**args, **changes})
    assert e.value.code == code and text in e.value.message, e.value.message
    assert footprint(db) == before


def test_returning_more_than_the_tag_holds_or_fitting_what_was_never_issued_is_refused(db, store):
    tag, other = store["tags"]
    act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 2)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-TDA7851", bin_code="A-01-01")
    before = footprint(db)
    for fn, args, code, text in (
        (services.return_part, (tag, "IC-TDA7851", "3", "A-01-01"), "more_than_held",
         f"tag {tag} holds 2 each of IC-TDA7851, not 3"),
        (services.fit_part, (other, "IC-TDA7851", "1", "U30"), "not_issued_to_tag",
         f"IC-TDA7851 was not issued to tag {other}"),
        (services.fit_part, (tag, "IC-PMIC-88", "1", "U12"), "not_issued_to_tag", "IC-PMIC-88 was not issued"),
        (services.fit_part, (tag, "IC-TDA7851", "1", "U 30"), "bad_designator", "is not a reference designator"),
        (services.return_part, (tag, "IC-TDA7851", "1", "NOWHERE"), "unknown_bin", "no bin 'NOWHERE'"),
    ):
        with pytest.raises(DomainError) as e:
            act(db, "tech", fn, *args)
        assert e.value.code == code and text in e.value.message, e.value.message
    assert footprint(db) == before


def test_only_the_materials_clerk_issues_and_only_the_bench_asks(db, store):
    tag = store["tags"][0]
    with pytest.raises(DomainError) as e:
        act(db, "materials", services.request_parts, tag, [("IC-TDA7851", 1)])
    assert e.value.code == "forbidden"
    act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 1)])
    with pytest.raises(DomainError) as e:
        act(db, "tech", services.issue_to_tag, tag=tag, part_number="IC-TDA7851", bin_code="A-01-01")
    assert e.value.code == "forbidden"


def test_a_part_is_found_by_its_supplier_barcode(db, store):
    act(db, "materials", catalogue.add_part, part_number="GPS-M8", name_zh="GPS模块", name_en="GPS module",
        category="pcba", abc="A", unit_cost="46", supplier_barcode="6901234567892")
    r = act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0004", line=1,
            part_number="6901234567892", bin_code="A-09-09", quantity="3")
    assert r["part_number"] == "GPS-M8"
    assert read(db, stock.classify_scan, " 6901234567892 ")["key"] == "GPS-M8"
    assert read(db, stock.classify_scan, "a-09-09") == {"kind": "bin", "key": "A-09-09"}
    tag = store["tags"][0]
    assert read(db, stock.classify_scan, f" {tag.lower()} ") == {"kind": "tag", "key": tag, "state": "in_repair",
                                                                 "closed": False}
    # only a key shaped like a tag is looked up among the visits: every tag next_tag makes is
    assert looks_like_tag(tag) and not looks_like_tag("A-09-09") and not looks_like_tag("R26-00004")
    assert read(db, stock.classify_scan, "R26-999999")["kind"] == "unknown"  # a tag's shape, no visit
    assert read(db, stock.classify_scan, "\x00")["kind"] == "unknown"


# ---------------------------------------------------------------- store moves and corrections

def test_a_mistaken_receipt_is_corrected_by_a_reversing_move_in_the_open_month(db, store):
    r = act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-0005", line=1,
            part_number="IC-TDA7851", bin_code="A-01-01", quantity="5", unit_cost="30")
    c = act(db, "materials", stock.correct_move, r["move"], "wrong part on the note")
    assert c["corrects"] == r["move"] and held(db, "IC-TDA7851", "A-01-01") == "10"
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.correct_move, r["move"], "again")
    assert e.value.code == "already_corrected"
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.correct_move, c["move"], "undo the undo")
    assert e.value.code == "not_reversible"
    assert read(db, stock.part_report, "IC-TDA7851")["store"]["unit_cost"] == "18.6000"
    assert read(db, check_ledgers) == []


def test_transfer_and_scrap(db, store):
    act(db, "materials", stock.transfer, part_number="IC-TDA7851", from_bin="A-01-01", to_bin="A-09-09", quantity=4)
    act(db, "materials", stock.scrap, part_number="IC-TDA7851", bin_code="A-09-09", quantity=1, reason="引脚弯折")
    assert (held(db, "IC-TDA7851", "A-01-01"), held(db, "IC-TDA7851", "A-09-09")) == ("6", "3")
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.scrap, part_number="IC-TDA7851", bin_code="A-09-09", quantity=1, reason=" ")
    assert e.value.code == "text_required"
    with pytest.raises(DomainError) as e:
        act(db, "materials", stock.transfer, part_number="IC-TDA7851", from_bin="A-09-09", to_bin="A-09-09",
            quantity=1)
    assert e.value.code == "same_bin"


# ---------------------------------------------------------------- refurbished units and programming jobs

def test_a_refurbished_unit_is_stock_until_it_is_shipped_to_a_dealer(db, store):
    from rma.intake import services as intake

    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("IC-TDA7851", 1)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-TDA7851", bin_code="A-01-01")
    act(db, "tech", services.fit_part, tag, "IC-TDA7851", 1, "U30")
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_test", "in_test", "passed"):
            core.move_visit(uow, lead, tag, VisitState(to), "tested")
    r = act(db, "tech", services.refurbish_into_stock, tag)
    assert (r["part_number"], r["location"], r["value"]) == ("RU-HU-8800", "REFURB", "18.60")
    assert state_of(db, tag) is VisitState.REFURBISHED
    on_hand = read(db, services.refurbished_on_hand)
    assert [(g["model"], g["on_hand"], [u["tag"] for u in g["units"]]) for g in on_hand] == [("HU-8800", 1, [tag])]
    assert "Refurbished into stock: into the refurbished-unit store REFURB; model HU-8800." in timeline(db, tag)
    with db.uow() as uow:
        intake.ship_unit(uow, core.get_actor(uow, "clerk"), tag, courier="SF", waybill="SF1000000001",
                         customer_code="SH-PD01")
    assert read(db, services.refurbished_on_hand) == []
    assert read(db, check_ledgers) == []


def test_a_programming_job_turns_blanks_into_programmed_parts_through_the_ledger(db, store):
    sha = "ab" * 32
    p = act(db, "materials", services.add_programmed_part, blank_part_number="SPI-W25Q128", firmware_sha256=sha,
            firmware_version="3.2.17")
    assert (p["part_number"], p["blank_part"], p["created"]) == ("SPI-W25Q128-P3.2.17", "SPI-W25Q128", True)
    assert act(db, "tech", services.add_programmed_part, blank_part_number="SPI-W25Q128", firmware_sha256=sha.upper(),
               firmware_version="3.2.17")["created"] is False
    act(db, "materials", services.issue_to_job, job="J26-0007", part_number="SPI-W25Q128", bin_code="A-02-01",
        quantity=10)
    act(db, "materials", services.book_job_result, job="J26-0007", blank_part_number="SPI-W25Q128",
        programmed_part_number=p["part_number"], good=7, failed=1, bin_code="A-09-09")
    act(db, "materials", services.return_from_job, job="J26-0007", part_number="SPI-W25Q128", bin_code="A-02-01",
        quantity=1)
    job = read(db, services.job_stock, "J26-0007")["parts"]
    blank = next(x for x in job if x["part_number"] == "SPI-W25Q128")
    assert (blank["issued"], blank["good"], blank["failed"], blank["returned"], blank["in_progress"]) == (
        "10", "7", "1", "1", "1")
    assert held(db, p["part_number"], "A-09-09") == "7" and held(db, "SPI-W25Q128", "A-02-01") == "31"
    with pytest.raises(DomainError) as e:
        act(db, "materials", services.return_from_job, job="J26-0007", part_number="SPI-W25Q128",
            bin_code="A-02-01", quantity=2)
    assert e.value.code == "more_than_job_holds"
    with pytest.raises(DomainError) as e:
        act(db, "materials", services.book_job_result, job="J26-0007", blank_part_number="IC-TDA7851",
            programmed_part_number=p["part_number"], good=1, failed=0, bin_code="A-09-09")
    assert e.value.code == "not_programmed_from"
    # booked by hand, no programmer ever wrote them: rma check says so (the IC jobs' check)
    assert [v.code for v in read(db, check_ledgers)] == ["programmed_ic_without_programming"]


def test_quantities_come_back_with_the_parts_decimals(db, store):
    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("W-FFC-40P", Decimal("0.5"))])
    r = act(db, "materials", services.issue_to_tag, tag=tag, part_number="W-FFC-40P", bin_code="B-02-02")
    assert r["quantity"] == "0.50" and held(db, "W-FFC-40P", "B-02-02") == "12.00"


def test_a_part_numbered_past_the_first_two_thousand_moves_and_reads_like_the_first(db, store):
    """A move's seal key is part id × 1,000,000 + month: from part id 2,148 on it needs 64 bits, in
    the ledger's CHECK and in the statement's query alike (a store of 5,000 parts has such ids)."""
    from sqlalchemy import text

    from rma.inventory import reports

    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('parts', 'id'), 4999)"))
        else:  # SQLite numbers the next part max(id) + 1
            conn.execute(text(
                "INSERT INTO parts (id, part_number, name_zh, name_en, category, uom, decimals, abc, unit_cost_e4, "
                "active, created_at) SELECT 4999, 'ZZ-4999', name_zh, name_en, category, uom, decimals, abc, "
                "unit_cost_e4, active, created_at FROM parts WHERE part_number = 'IC-TDA7851'"))
    part = act(db, "materials", lambda uow, actor: catalogue.add_part(
        uow, actor, part_number="IC-MCU-5000", name_zh="主控MCU", name_en="Main MCU", category="ic", abc="A",
        unit_cost="31.50").id)
    assert part == 5000
    act(db, "materials", stock.receive, supplier="SZ-HX", delivery_note="DN-5000", line=1, part_number="IC-MCU-5000",
        bin_code="A-09-09", quantity="10")
    tag = store["tags"][0]
    act(db, "tech", services.request_parts, tag, [("IC-MCU-5000", 2)])
    act(db, "materials", services.issue_to_tag, tag=tag, part_number="IC-MCU-5000", bin_code="A-09-09")
    assert held(db, "IC-MCU-5000", "A-09-09") == "8"
    line = next(r for r in read(db, reports.statement, read(db, reports.this_month))["rows"]
                if r["part_number"] == "IC-MCU-5000")
    assert (line["receipts_qty"], line["issues_qty"], line["closing_qty"], line["closing_value"]) == (
        "10", "2", "8", "252.00")
    assert read(db, check_ledgers) == []
