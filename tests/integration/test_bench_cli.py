"""`rma bench …` through the command-line contract: --json, --as, exit 0 / 1 / 2, one line per refusal."""

from __future__ import annotations

import io
import json

import pytest

from rma.cli import main
from rma.core import services as core
from rma.core.states import VisitState
from tests.factories import receive_unit, seed_basics


@pytest.fixture
def rma(db, rma_env, capsys):
    seed_basics(db)
    with db.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username="tech2", password="tech2-pass",
                      roles=[core.Role.TECHNICIAN])
    tag = receive_unit(db, "HU88000001")
    with db.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "parcel closed")

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    run.tag = tag
    return run


def ok(rma, *argv):
    code, out, err = rma(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_repair_from_the_command_line(rma, tmp_path):
    tag = rma.tag
    (row,) = ok(rma, "bench", "queue")
    assert row["tag"] == tag and row["state"] == "awaiting_bench" and row["technician"] is None
    assert ok(rma, "--as", "tech", "bench", "start", tag)["technician"] == "tech"
    assert [r["tag"] for r in ok(rma, "bench", "queue", "--mine", "--as", "tech")] == [tag]
    assert ok(rma, "bench", "queue", "--mine", "--as", "lead") == []
    complaint = ok(rma, "--as", "tech", "bench", "complaint", tag, "--condition", "2", "--symptom", "202")
    assert complaint["symptom"]["zh"] == "屏幕闪烁"
    found = ok(rma, "--as", "tech", "bench", "find", tag, "--section", "LCD", "--designator", "J3", "--defect", "D09",
               "--repair", "R08")
    assert found["defect"]["code"] == "D09"
    assert ok(rma, "bench", "suggest", tag) == []
    assert ok(rma, "--as", "tech", "bench", "labour", "start", tag)["ended_at"] is None
    photo = tmp_path / "board.png"
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 90, 0)).save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    assert ok(rma, "--as", "tech", "bench", "photo", tag, str(photo))["content_type"] == "image/png"
    decided = ok(rma, "--as", "tech", "bench", "decide", tag, "test")
    assert decided == {"tag": tag, "decision": "test", "state": "awaiting_test", "pending": False, "request": None}
    card = ok(rma, "bench", "card", tag)
    assert card["labour"]["sessions"][0]["end"] == "decision" and card["photos"][0]["filename"] == "board.png"
    code, out, _ = rma("bench", "card", tag)
    assert code == 0 and "LCD J3: D09" in out and "labour:" in out
    lead = ok(rma, "bench", "lead")
    assert lead["totals"]["today"] == 1 and lead["output"][0]["technician"] == "tech"


def test_refusals_are_one_line_and_json_errors(rma):
    tag = rma.tag
    code, out, err = rma("--as", "tech", "bench", "find", tag, "--section", "LCD", "--defect", "D09", "--repair", "R08",
                         "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_on_bench"
    assert err.startswith("rma: ") and err.count("\n") == 1
    assert rma("--as", "tech", "bench", "start", tag)[0] == 0
    code, out, err = rma("--as", "tech2", "bench", "start", tag, "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "card_taken" and "(tech)" in err
    code, out, err = rma("--as", "tech", "bench", "decide", tag, "test", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "no_finding"
    with pytest.raises(SystemExit) as usage:
        main(["--as", "tech", "bench", "decide", tag, "ship"])
    assert usage.value.code == 2
    code, out, _ = rma("--as", "tech", "bench", "photo", tag, "/dev/zero", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "file_too_big"
    code, out, _ = rma("--as", "tech", "bench", "assign", tag, "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "technician_required"
    code, out, _ = rma("bench", "approve", "99999999999999999999", "--as", "lead", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "unknown_request"


def test_scrap_proposed_then_approved_by_the_lead(rma):
    tag = rma.tag
    ok(rma, "--as", "tech", "bench", "start", tag)
    ok(rma, "--as", "tech", "bench", "complaint", tag, "--condition", "1", "--symptom", "101")
    ok(rma, "--as", "tech", "bench", "find", tag, "--section", "MB", "--defect", "D02", "--repair", "R10")
    proposed = ok(rma, "--as", "tech", "bench", "decide", tag, "scrap", "--reason", "主板烧毁碳化")
    assert proposed["pending"] and proposed["request"]
    (waiting,) = ok(rma, "bench", "approvals")
    assert waiting["kind"] == "scrap" and waiting["requested_by"] == "tech"
    assert ok(rma, "--as", "lead", "bench", "approve", str(waiting["id"]))["status"] == "approved"
    assert ok(rma, "bench", "card", tag)["state"] == "scrapped"
    assert ok(rma, "bench", "approvals") == []


def test_code_lists_list_add_set_and_import(rma, tmp_path):
    defects = ok(rma, "bench", "codes", "list", "--kind", "defect")
    assert {"D01", "D07", "D99"} <= {c["code"] for c in defects}
    assert all(c["en"] and c["zh"] for c in defects)
    code, out, _ = rma("bench", "codes", "list", "--csv")
    assert code == 0 and out.startswith("kind,code,en,zh,parent,sections,needs_note,active\n")
    exported = tmp_path / "codes.csv"
    exported.write_text(out, encoding="utf-8")
    again = ok(rma, "--as", "lead", "bench", "codes", "import", str(exported))
    assert again["rows"] == len(out.splitlines()) - 1 and again["unchanged"] == again["rows"]  # a round trip
    added = ok(rma, "--as", "lead", "bench", "codes", "add", "repair", "R20", "--en", "Conformal coating",
               "--zh", "三防漆涂覆")
    assert added["code"] == "R20"
    changed = ok(rma, "--as", "lead", "bench", "codes", "set", "repair", "R20", "--active", "no")
    assert changed["active"] is False
    code, out, _ = rma("--as", "tech", "bench", "codes", "add", "repair", "R21", "--en", "x", "--zh", "y", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "forbidden"
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,code,en,zh\nrepair,R22,Tested,已测试\nwhat,X,a,b\n", encoding="utf-8")
    code, out, _ = rma("--as", "lead", "bench", "codes", "import", str(bad), "--json")
    report = json.loads(out)
    assert code == 1 and report["created"] == 1 and report["rejected"][0]["line"] == 3
