"""`rma intake receive`, parcels, labels, shipping and figures through the command line contract."""

import json
import socket
import threading
from pathlib import Path

import pytest

from rma.cli import main
from tests.factories import seed_basics


@pytest.fixture
def rma(db, rma_env, capsys):
    seed_basics(db)

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    assert run("--as", "boss", "reason", "add", "NOPWR", "--text", "不开机")[0] == 0
    return run


def _station(rma_env, text):
    Path(rma_env["RMA_HOME"], "rma.toml").write_text(text, encoding="utf-8")


def test_receive_prints_one_object_per_serial_and_labels_to_the_folder(rma, rma_env):
    code, out, err = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000001", "--courier", "SF",
                         "--customer", "SH-PD01", "--serial", "HU88000001", "--serial", "HU88000002",
                         "--serial", "HU88000001", "--reason", "NOPWR", "--declared", "3", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["serial"] for r in rows] == ["HU88000001", "HU88000002", "HU88000001"]
    assert rows[0]["tag"] == rows[2]["tag"] and [r["created"] for r in rows] == [True, True, False]
    for r in rows:
        assert set(r) >= {"tag", "serial", "model", "warranty", "warranty_until", "repeat_of", "interceptions", "created"}
        assert r["warranty"] in {"in", "out", "unknown"} and r["interceptions"] == []
    assert rows[0]["label"]["status"] == "printed"
    printed = list(Path(rma_env["RMA_HOME"], "printed-labels").iterdir())
    assert len(printed) == 2 and all(p.stat().st_size > 0 for p in printed)

    code, out, _ = rma("parcel", "close", "SF1000000001", "--as", "clerk", "--json") if False else \
        rma("--as", "clerk", "parcel", "close", "SF1000000001", "--json")
    parcel = json.loads(out)
    assert code == 0 and parcel["discrepancy"] == "short" and parcel["scanned"] == 2 and parcel["declared"] == 3
    code, out, _ = rma("parcel", "show", "SF1000000001")
    assert code == 0 and "SHORT DELIVERY" in out


def test_a_bad_serial_among_good_ones_exits_1_and_loses_nothing(rma):
    code, out, err = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000002", "--courier", "SF",
                         "--customer", "SH-PD01", "--serial", "HU88000003", "--serial", "ZZ\x1b[2J",
                         "--serial", "HU88000004", "--no-print", "--json")
    rows = json.loads(out)
    assert code == 1 and rows[1]["error"]["code"] == "bad_serial" and "error" not in rows[0] and "error" not in rows[2]
    code, out, _ = rma("parcel", "show", "SF1000000002", "--json")
    assert json.loads(out)["scanned"] == 2
    code, out, _ = rma("label", "queue", "--json")
    assert [j["status"] for j in json.loads(out)] == ["queued", "queued"]


def test_a_printer_that_is_off_keeps_the_label_queued_for_reprint(rma, rma_env):
    with socket.socket() as s:  # a port with nobody listening: the printer is off
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _station(rma_env, f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\ntimeout = 1.0\n')
    code, out, err = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000003", "--courier", "SF",
                         "--customer", "SH-PD01", "--serial", "HU88000005", "--json")
    row = json.loads(out)[0]
    assert code == 0 and row["label"]["status"] == "failed" and f"127.0.0.1:{port}" in row["label"]["error"]
    code, out, _ = rma("label", "queue", "--json")
    assert [(j["subject"], j["status"]) for j in json.loads(out)] == [(row["tag"], "failed")]

    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen(1)

    def printer():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"^XZ" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"~HS"):
                    # printer status: no error flags, paper in, not paused
                    conn.sendall(b"\x02030,0,0,0245,000,0,0,0,000,0,0,0\x03\r\n"
                                 b"\x02000,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n")
            received.append(data)

    t = threading.Thread(target=printer, daemon=True)
    t.start()
    code, out, _ = rma("--as", "clerk", "label", "queue", "--retry", "--json")
    t.join(10)
    server.close()
    assert code == 0 and json.loads(out)[0]["status"] == "printed"
    assert received and b"^GFA" in received[0]
    assert json.loads(rma("label", "queue", "--json")[1]) == []


def test_label_unit_to_file_in_each_format(rma, tmp_path):
    code, out, _ = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000004", "--courier", "SF",
                       "--customer", "SH-PD01", "--serial", "HU88000006", "--no-print", "--json")
    tag = json.loads(out)[0]["tag"]
    for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF"), ("zpl", b"^XA")):
        target = tmp_path / f"label.{fmt}"
        assert rma("label", "unit", tag, "--out", str(target), "--format", fmt, "--dpi", "300")[0] == 0
        assert target.read_bytes().startswith(magic)
    assert rma("label", "unit", "R00-000000", "--out", str(tmp_path / "x.png"))[0] == 1
    sheet = tmp_path / "sheet.pdf"
    assert rma("label", "unit", tag, tag, tag, "--sheet", "a4", "--format", "pdf", "--out", str(sheet))[0] == 0
    assert sheet.read_bytes().startswith(b"%PDF") and b"/MediaBox" in sheet.read_bytes()
    assert rma("label", "unit", tag, tag, "--out", str(sheet))[0] == 1


def test_models_customers_interceptions_visits_and_costs(rma):
    assert rma("--as", "boss", "model", "add", "NAV-520", "--name", "导航 NAV-520", "--serial-pattern", r"^NV52\d{6}$",
               "--warranty-months", "24", "--family", "navigation", "--accessory", "GPS antenna")[0] == 0
    code, out, _ = rma("--as", "boss", "model", "add", "BAD", "--name", "x", "--serial-pattern", "([",
                       "--warranty-months", "12", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "bad_pattern"
    assert rma("--as", "clerk", "customer", "add", "cd-wh01", "--name", "成都武侯汽车服务", "--region", "西南")[0] == 0
    code, out, _ = rma("--as", "boss", "intercept", "add", "--model", "NAV-520", "--serial-from", "NV52000100",
                       "--serial-to", "NV52000199", "--action", "更换GPS模块", "--json")
    assert code == 0 and json.loads(out)["kind"] == "serial_range"
    code, out, _ = rma("--as", "boss", "intercept", "add", "--model", "NAV-520", "--firmware", "1.0",
                       "--made-from", "2025-01-01", "--made-to", "2025-02-01", "--action", "x", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "bad_interception"
    code, out, _ = rma("--as", "clerk", "intake", "receive", "--waybill", "YT5555555555", "--courier", "yto",
                       "--customer", "CD-WH01", "--serial", "NV52000150", "--cost", "22.00", "--no-print", "--json")
    row = json.loads(out)[0]
    assert row["interceptions"][0]["action"] == "更换GPS模块"
    code, out, _ = rma("visits", "--intercepted", "--json")
    assert [r["tag"] for r in json.loads(out)] == [row["tag"]]
    code, out, _ = rma("visits", "--customer", "CD-WH01", "--csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("tag,serial,model") and len(lines) == 2 and row["tag"] in lines[1]
    from datetime import datetime
    month = datetime.now().strftime("%Y-%m")
    code, out, _ = rma("courier", "costs", "--month", month, "--json")
    costs = json.loads(out)
    assert costs["total"] == "22.00" and costs["by_courier"][0]["courier"] == "YTO"
    code, out, _ = rma("courier", "costs", "--month", month, "--csv")
    assert out.splitlines()[0] == "date,courier,waybill,direction,customer,cost" and "YT5555555555" in out
    assert rma("courier", "costs", "--month", "2026-13")[0] == 1


def test_ship_a_passed_unit_back(rma, rma_env):
    code, out, _ = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000005", "--courier", "SF",
                       "--customer", "SH-PD01", "--serial", "HU88000007", "--no-print", "--json")
    tag = json.loads(out)[0]["tag"]
    code, out, _ = rma("--as", "clerk", "ship", tag, "--courier", "SF", "--waybill", "SF2000000001", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_ready_to_ship"
    for state in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed"):
        assert rma("--as", "lead", "visit", "move", tag, "--to", state, "--reason", "test")[0] == 0
    code, out, _ = rma("--as", "clerk", "ship", tag, "--courier", "SF", "--waybill", "SF2000000001", "--cost", "15",
                       "--json")
    shipped = json.loads(out)
    assert code == 0 and shipped["state"] == "shipped" and shipped["customer"] == "SH-PD01" and shipped["cost"] == "15.00"
    assert shipped["label"]["status"] == "printed", shipped["label"]  # the outbound parcel label
    code, out, _ = rma("--as", "clerk", "ship", tag, "--courier", "SF", "--waybill", "SF2000000001", "--no-print", "--json")
    assert code == 0 and json.loads(out)["created"] is False
    assert [p.name.split("-")[0] for p in Path(rma_env["RMA_HOME"], "printed-labels").iterdir()] == ["parcel_out"]
    code, out, _ = rma("--as", "clerk", "ship", tag, "--courier", "SF", "--waybill", "SF2000000009", "--no-print", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "already_shipped"
