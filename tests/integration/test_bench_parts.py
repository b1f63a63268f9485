"""Parts at the bench: the repair card asks the stores for parts (by a designator of the model's BOM,
a part number or a barcode), shows what was requested, issued, backordered and fitted, fits a part
where a finding names and keeps the faulty one as an old part, all through the stores' services;
a finding's designator is checked against the BOM; the card's history shows the parts fitted then;
`rma bench part …` and `rma bench card --json`; `rma check` finds a fit never issued to its tag."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from rma.bench import parts, services, views
from rma.cli import main
from rma.core import seals
from rma.core import services as core
from rma.core.checks import run_checks
from rma.core.models import ReturnsLedgerEntry, Role
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.i18n import translate
from rma.inventory import services as stores
from rma.sentences import event_sentence
from tests.factories import receive_unit
from tests.stores_data import seed_stores

PMIC_FAULT = {"section": "PWR", "designator": "U12", "defect": "D03", "repair": "R01"}


@pytest.fixture
def depot(db, rma_env):
    seed_stores(db, units=0)  # the store, its parts and the HU-8800's BOM; no unit yet
    with db.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username="tech2", password="tech2-pass",
                      roles=[Role.TECHNICIAN])
    return db


def on_bench(db, serial: str = "HU88000101") -> str:
    """A unit received, at the bench, taken by ``tech`` with its complaint coded."""
    tag = receive_unit(db, serial)
    with db.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "parcel closed")
    act(db, "tech", services.start_repair, tag)
    act(db, "tech", services.code_complaint, tag, condition="1", symptom="101")
    return tag


def act(db, who: str, fn, *args, **kw):
    with db.uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kw)


def refused(db, who: str, fn, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as e:
        act(db, who, fn, *args, **kw)
    return e.value


def card(db, tag: str) -> dict:
    with db.uow(readonly=True) as uow:
        return views.card_view(uow, tag)


def part_row(db, tag: str, number: str) -> dict:
    return next(p for p in card(db, tag)["parts"]["parts"] if p["part_number"] == number)


def state(db, tag: str) -> str:
    with db.uow(readonly=True) as uow:
        return core.find_visit(uow, tag).state.value


def codes(db) -> set[str]:
    return {v.code for v in run_checks(db).violations}


def test_a_part_asked_for_issued_fitted_and_the_old_one_kept_from_the_card(depot):
    tag = on_bench(depot)
    act(depot, "tech", services.add_finding, tag, **PMIC_FAULT)
    (line,) = act(depot, "tech", parts.request, tag, [("u12", "1")])  # the BOM's designator names the part
    assert (line["part_number"], line["designator"], line["status"]) == ("IC-PMIC-88", "U12", "open")
    assert part_row(depot, tag, "IC-PMIC-88")["requested"] == "1"
    assert {b["designator"] for b in card(depot, tag)["parts"]["bom"]} >= {"U12", "U30", "C45"}
    # not issued yet: the stores' own rule says so
    assert refused(depot, "tech", parts.fit, tag, "IC-PMIC-88", "1", "U12").code == "not_issued_to_tag"
    assert refused(depot, "tech2", parts.request, tag, [("IC-TDA7851", "1")]).code == "card_taken"
    stores_issue = act(depot, "materials", stores.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    assert stores_issue["backordered"] is None
    row = part_row(depot, tag, "IC-PMIC-88")
    assert (row["issued"], row["on_bench"], row["fitted"]) == ("1", "1", "0")
    # the part goes where a finding says what was wrong, and where the BOM has it
    e = refused(depot, "tech", parts.fit, tag, "IC-PMIC-88", "1", "C45")
    assert e.code == "fit_without_finding" and "C45" in e.message
    assert refused(depot, "tech", parts.fit, tag, "IC-PMIC-88", "1", None).code == "designator_required"
    fitted = act(depot, "tech", parts.fit, tag, "U12", "1", None)  # by its designator: the BOM's part, there
    assert (fitted["part_number"], fitted["designator"]) == ("IC-PMIC-88", "U12")
    act(depot, "tech", parts.remove_old, tag, "IC-PMIC-88", "1", "U12", note="击穿")
    row = part_row(depot, tag, "IC-PMIC-88")
    assert (row["fitted"], row["designators"], row["old"], row["on_bench"]) == ("1", ["U12"], "1", "0")
    assert [m["kind"] for m in card(depot, tag)["parts"]["moves"]] == ["issue", "fit", "old_part"]
    act(depot, "tech", services.decide, tag, "test")
    assert state(depot, tag) == "awaiting_test"
    assert part_row(depot, tag, "IC-PMIC-88")["fitted"] == "1"  # the decided card still shows it
    with depot.uow(readonly=True) as uow:
        events = [e.event for e in core.find_visit(uow, tag).events]
    assert events[-5:] == ["parts_requested", "parts_issued", "part_fitted", "old_part_removed", "repair_done"]
    assert not codes(depot)


def test_a_short_part_waits_for_the_stores_and_a_cancelled_one_brings_the_unit_back(depot):
    tag = on_bench(depot)
    act(depot, "tech", parts.request, tag, [("C-100U-25V", "600", "C45")])  # the bin holds 500
    act(depot, "materials", stores.issue_to_tag, tag=tag, part_number="C-100U-25V", bin_code="B-02-01")
    assert state(depot, tag) == "awaiting_parts"
    row = part_row(depot, tag, "C-100U-25V")
    assert (row["requested"], row["issued"], row["backordered"]) == ("600", "500", "100")
    # a technician keeps working on a unit waiting for parts: the card returns what it does not need
    act(depot, "tech", parts.give_back, tag, "C-100U-25V", "499", "B-02-01")
    act(depot, "tech", parts.cancel, tag, "C45")  # by the designator it was asked for
    assert state(depot, tag) == "in_repair"
    row = part_row(depot, tag, "C-100U-25V")
    assert (row["returned"], row["backordered"], row["on_bench"]) == ("499", "0", "1")
    e = refused(depot, "tech", parts.give_back, tag, "C-100U-25V", "2", "B-02-01")
    assert e.code == "more_than_held"  # the stores' rule, untouched


def test_a_finding_designator_not_on_the_board_needs_a_note_and_says_so(depot):
    tag = on_bench(depot)
    e = refused(depot, "tech", services.add_finding, tag, section="PWR", designator="U99", defect="D03", repair="R01")
    assert e.code == "designator_not_on_board" and "U99" in e.message and "HU-8800" in e.message
    assert translate(e.template, "zh").format(**e.params) == ("U99 不在 HU-8800 的物料清单上：请核对电路板，"
                                                              "或在备注中说明为何仍要记录")
    assert card(depot, tag)["findings"] == []  # nothing recorded
    act(depot, "tech", services.add_finding, tag, section="PWR", designator="U99", defect="D03", repair="R01",
        note="改版板新增的稳压芯片")
    act(depot, "tech", services.add_finding, tag, section="AMP", designator="U30", defect="D01", repair="R02")
    found = card(depot, tag)["findings"]
    assert [(f["designator"], f["on_board"]) for f in found] == [("U99", False), ("U30", True)]
    with depot.uow(readonly=True) as uow:
        entry = next(e for e in core.find_visit(uow, tag).events if e.event == "finding_recorded")
    assert "U99 is not on the model's parts list" in event_sentence(entry.event, entry.details, lang="en")
    assert "U99 不在该型号的物料清单上" in event_sentence(entry.event, entry.details, lang="zh")
    # a designator the BOM gives to another part is the stores' refusal when asking for it there
    e = refused(depot, "tech", parts.request, tag, [("IC-TDA7851", "1", "U12")])
    assert e.code == "wrong_part_for_designator"


def test_a_fit_keeps_its_finding_no_fault_found_fits_nothing(depot):
    tag = on_bench(depot)
    finding = act(depot, "tech", services.add_finding, tag, **PMIC_FAULT)
    act(depot, "tech", parts.request, tag, [("U12", "1")])
    act(depot, "materials", stores.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    act(depot, "tech", parts.fit, tag, "IC-PMIC-88", "1", "U12")
    act(depot, "tech", services.add_finding, tag, section="AMP", designator="U30", defect="D01", repair="R02")
    act(depot, "tech", services.withdraw_finding, tag, finding["id"], reason="录错")
    e = refused(depot, "tech", services.decide, tag, "test")  # a finding stands, but none where the part went
    assert e.code == "fit_without_finding" and "U12" in e.message
    assert state(depot, tag) == "in_repair"
    act(depot, "tech", services.add_finding, tag, **PMIC_FAULT)
    act(depot, "tech", services.decide, tag, "test")
    assert state(depot, tag) == "awaiting_test"
    other = on_bench(depot, "HU88000102")
    act(depot, "tech", services.add_finding, other, nff=True)
    act(depot, "tech", parts.request, other, [("U12", "1")])
    act(depot, "materials", stores.issue_to_tag, tag=other, part_number="IC-PMIC-88", bin_code="A-01-02")
    assert refused(depot, "tech", parts.fit, other, "U12", "1", None).code == "fit_after_nff"


def test_the_cards_history_shows_the_parts_fitted_on_an_earlier_visit(depot):
    first = on_bench(depot)
    act(depot, "tech", services.add_finding, first, **PMIC_FAULT)
    act(depot, "tech", parts.request, first, [("U12", "1")])
    act(depot, "materials", stores.issue_to_tag, tag=first, part_number="IC-PMIC-88", bin_code="A-01-02")
    act(depot, "tech", parts.fit, first, "U12", "1", None)
    act(depot, "tech", services.decide, first, "test")
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in (VisitState.IN_TEST, VisitState.PASSED, VisitState.SHIPPED):
            core.move_visit(uow, lead, first, to, "tested by hand")
    second = on_bench(depot)  # the same unit comes back
    (earlier,) = card(depot, second)["history"]
    assert earlier["tag"] == first
    assert earlier["parts"] == [{"part_number": "IC-PMIC-88", "name_zh": "电源管理IC", "name_en": "Power management IC",
                                 "designator": "U12", "quantity": "1"}]
    assert card(depot, second)["parts"]["parts"] == []  # this visit's own parts: none yet


def test_rma_check_finds_a_part_fitted_that_was_never_issued_to_the_tag(depot):
    tag = on_bench(depot)
    act(depot, "tech", services.add_finding, tag, **PMIC_FAULT)
    act(depot, "tech", parts.request, tag, [("U12", "1")])
    act(depot, "materials", stores.issue_to_tag, tag=tag, part_number="IC-PMIC-88", bin_code="A-01-02")
    act(depot, "tech", parts.fit, tag, "U12", "1", None)
    act(depot, "tech", services.decide, tag, "test")
    assert not codes(depot)
    with depot.uow() as uow:  # a second fit booked straight from a bin, sealed as rma would: only the invariant can tell
        fit = uow.session.execute(text("SELECT * FROM stock_moves WHERE kind = 'fit'")).mappings().one()
        shelf = uow.session.execute(text("SELECT id FROM stock_locations WHERE code = 'A-01-02'")).scalar()
    with depot.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO stock_moves (at, month, part_id, seal_key, kind, from_id, to_id, store_sign, qty_milli, "
            "value_e4, actor_id, visit_id, designator) SELECT at, month, part_id, seal_key, 'fit', :shelf, to_id, "
            "-1, qty_milli, value_e4, actor_id, visit_id, designator FROM stock_moves WHERE id = :id"),
            {"shelf": shelf, "id": fit["id"]})
        for location, sign in ((shelf, -1), (fit["to_id"], 1)):
            conn.execute(text("UPDATE stock_balances SET qty_milli = qty_milli + :q, value_e4 = value_e4 + :v "
                              "WHERE part_id = :part AND location_id = :loc"),
                         {"q": sign * fit["qty_milli"], "v": sign * fit["value_e4"], "part": fit["part_id"],
                          "loc": location})
        seals.seal_streams(conn, {"stock_moves": {str(fit["seal_key"])}})
    found = {v.code: v for v in run_checks(depot).violations}
    assert "bench_fit_not_issued" in found
    assert tag in found["bench_fit_not_issued"].message and "IC-PMIC-88" in found["bench_fit_not_issued"].message


# ---------------------------------------------------------------- the command line

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_parts_from_the_command_line_and_on_the_card(depot, capsys):
    tag = on_bench(depot)
    ok(capsys, "--as", "tech", "bench", "find", tag, "--section", "PWR", "--designator", "U12", "--defect", "D03",
       "--repair", "R01")
    (line,) = ok(capsys, "--as", "tech", "bench", "part", "request", tag, "--part", "U12=1")
    assert line["part_number"] == "IC-PMIC-88" and line["designator"] == "U12"
    code, out, err = run(capsys, "--as", "tech", "bench", "part", "fit", tag, "--part", "U12")
    assert code == 1 and err.startswith("rma: ") and "was not issued to tag" in err and len(err.splitlines()) == 1
    ok(capsys, "--as", "materials", "stock", "issue", tag, "--part", "IC-PMIC-88", "--bin", "A-01-02")
    done = ok(capsys, "--as", "tech", "bench", "part", "fit", tag, "--part", "IC-PMIC-88", "--designator", "U12",
              "--old")
    assert done["designator"] == "U12" and done["old_part"]["quantity"] == "1"
    shown = ok(capsys, "bench", "card", tag)
    (row,) = shown["parts"]["parts"]
    assert (row["part_number"], row["fitted"], row["designators"], row["old"]) == ("IC-PMIC-88", "1", ["U12"], "1")
    assert [m["kind"] for m in shown["parts"]["moves"]] == ["issue", "fit", "old_part"]
    code, out, err = run(capsys, "bench", "card", tag)
    assert code == 0 and "IC-PMIC-88: requested 1, issued 1, backordered 0, fitted 1 at U12" in out
    code, out, err = run(capsys, "--as", "tech", "bench", "part", "fit", tag, "--part", "IC-PMIC-88",
                         "--designator", "C45", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "fit_without_finding"
    with depot.uow(readonly=True) as uow:
        assert uow.session.query(ReturnsLedgerEntry).filter_by(event="part_fitted").count() == 1
