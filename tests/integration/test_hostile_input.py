"""What a careless user, a failing network and odd files did to intake and the command line,
each answered with a clear error (the same on SQLite and PostgreSQL), never a traceback."""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from rma.cli import main
from rma.core.models import AuditEntry, Customer, Unit, Visit
from tests.factories import seed_basics


@pytest.fixture
def rma(db, rma_env, capsys):
    seed_basics(db)

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def error_of(out: str) -> dict:
    """The error of a refused command, or of the first serial of a receive."""
    data = json.loads(out)
    return data[0]["error"] if isinstance(data, list) else data["error"]


def receive(rma, *serials, waybill="SF1000000001", extra=()):
    argv = ["--as", "clerk", "intake", "receive", "--waybill", waybill, "--courier", "SF", "--customer", "SH-PD01",
            "--no-print", "--json", *extra]
    for s in serials:
        argv += ["--serial", s]
    return rma(*argv)


# ---------------------------------------------------------------- units import: one bad cell, one bad line


def test_one_bad_cell_stops_nothing_and_is_named_by_its_line(rma, db, tmp_path):
    rows = ["serial,model,manufactured_on,shipped_on,customer,firmware"]
    rows += [f"HU88{i:06d},HU-8800,2025-01-10,2025-02-01,SH-PD01,3.2.1" for i in range(1, 10001)]
    bad = {
        5001: ("HU88005000,HU-8800,2025-01-10,2025-02-01,SH-PD01," + "F" * 100, "firmware is longer than 64 characters"),
        6001: ("HU88006000,HU-8800,2025-01-10,,,3.2\x001", "firmware contains a control character (\\x00)"),
        7001: ("HU88007000,HU-8800,0001-01-01,,,", "manufactured_on 0001-01-01 is out of range"),
        7002: ("HU88007001,HU-8800,,9999-12-31,,", "shipped_on 9999-12-31 is out of range"),
        8001: ("HU88008000,HU-8800,,,," + "x" * 131_073, "field larger than field limit"),
        9001: ("HU88009000,HU-8800,,,\x1b[31mSH-PD01,", "customer contains a control character (\\x1b)"),
    }
    for line, (row, _) in bad.items():
        rows[line - 1] = row
    path = tmp_path / "records.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = rma("--as", "admin", "units", "import", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and report["rows"] == 10000
    assert report["created"] == 10000 - len(bad)  # every good row, before and after the bad ones
    assert [r["line"] for r in report["rejected"]] == sorted(bad)
    for r in report["rejected"]:
        assert bad[r["line"]][1] in r["reason"], r
    with db.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Unit)) == 10000 - len(bad)
        assert uow.session.scalar(select(Unit.firmware_version).where(Unit.serial == "HU88010000")) == "3.2.1"
        audited = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "units_imported")).all()
    assert sum(a.details["created"] for a in audited) == 10000 - len(bad)  # one entry per committed chunk
    assert len(audited) == 5


def test_a_killed_import_left_an_audit_entry_for_every_row_it_committed(db, rma_env, tmp_path):
    seed_basics(db)
    path = tmp_path / "records.csv"
    path.write_text("serial,model\n" + "".join(f"HU88{i:06d},HU-8800\n" for i in range(1, 120_001)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "rma", "--as", "admin", "units", "import", str(path)], env=rma_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            with db.uow(readonly=True) as uow:
                if uow.session.scalar(select(func.count()).select_from(Unit)):
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with db.uow(readonly=True) as uow:
        units = uow.session.scalar(select(func.count()).select_from(Unit))
        audited = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "units_imported")).all()
        finished = uow.session.scalar(select(func.count()).select_from(AuditEntry)
                                      .where(AuditEntry.action == "units_import_finished"))
    assert 0 < units < 120_000 and finished == 0  # killed half-way
    assert sum(a.details["created"] for a in audited) == units and all(a.actor.username == "admin" for a in audited)


# ---------------------------------------------------------------- the database goes down mid-receive


def _take_down(db_url: str):
    """Make the database unusable for everyone else; returns how to bring it back."""
    if db_url.startswith("sqlite"):
        import sqlite3

        holder = sqlite3.connect(make_url(db_url).database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # every other writer now gets 'database is locked'
        return lambda: (holder.execute("ROLLBACK"), holder.close())
    name = make_url(db_url).database
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                          "AND pid <> pg_backend_pid()"), {"n": name})

    def back() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    return back


def test_when_the_database_goes_down_mid_receive_what_was_committed_is_reported(rma, db, db_url, monkeypatch):
    from rma import db as rma_db

    monkeypatch.setattr(rma_db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # a locked SQLite answers at once
    real, calls, restore = rma_db.Database.uow, [], []

    def uow(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 32:  # the parcel, 30 serials, then the database goes away between two scans
            restore.append(_take_down(db_url))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rma_db.Database, "uow", uow)
    serials = [f"HU88{i:06d}" for i in range(1, 401)]
    try:
        code, out, err = receive(rma, *serials)
    finally:
        for back in restore:
            back()
    results = json.loads(out)
    assert code == 1 and [r["serial"] for r in results] == serials
    assert all("tag" in r and r["created"] for r in results[:30])
    assert results[30]["error"]["code"] == "database_error"
    assert {r["error"]["code"] for r in results[31:]} == {"not_attempted"}
    assert "30 serial(s) received before it" in err.strip().splitlines()[-1] and "369 not attempted" in err
    assert "Traceback" not in err
    db.engine.dispose()  # its connections were cut
    with db.uow(readonly=True) as uow:
        tags = set(uow.session.scalars(select(Visit.tag)))
    assert tags == {r["tag"] for r in results[:30]}  # committed = reported


# ---------------------------------------------------------------- clear errors instead of tracebacks


def bomb_png() -> bytes:
    """85 bytes that say 40000 x 40000 pixels: Pillow would unpack 4.8 GB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    assert len(png) < 100
    return png


def test_numbers_dates_ids_and_files_that_make_no_sense_get_a_clear_error(rma, tmp_path):
    code, out, _ = receive(rma, "HU88000001")
    tag = json.loads(out)[0]["tag"]
    for cost in ("NaN", "inf", "-Infinity", "1e999", "-5"):
        code, out, _ = receive(rma, "HU88000002", waybill="SF1000000009", extra=(f"--cost={cost}",))
        assert (code, error_of(out)["code"]) == (1, "bad_cost"), cost
    cases = [
        (("courier", "costs", "--month", "0001-01"), "bad_month"),
        (("courier", "costs", "--month", "9999-12"), "bad_month"),
        (("visits", "--from", "0001-01-01"), "bad_date"),
        (("visits", "--to", "9999-12-31"), "bad_date"),
        (("test", "runs", "--from", "0001-01-01"), "bad_date"),
        (("test", "runs", "--to", "9999-12-31"), "bad_date"),
        (("visits", "--limit=-1"), "bad_limit"),
        (("test", "runs", "--limit", str(10**30)), "bad_limit"),
        (("test", "show", "1234567890123456789012345"), "unknown_run"),
        (("label", "unit", tag, "--out", str(tmp_path / "no-such-folder" / "label.png")), "unwritable_file"),
        (("label", "unit", tag, "--out", str(tmp_path)), "unwritable_file"),
        (("--as", "clerk", "parcel", "attach", "SF1000000001", "/dev/zero"), "file_too_big"),
        (("--as", "admin", "units", "import", "/dev/zero"), "file_too_big"),
        (("--as", "clerk", "parcel", "attach", "SF1000000001", str(tmp_path)), "unreadable_file"),
    ]
    bomb = tmp_path / "waybill.png"
    bomb.write_bytes(bomb_png())
    cases.append((("--as", "clerk", "parcel", "attach", "SF1000000001", str(bomb)), "image_too_big"))
    deep = tmp_path / "deep.toml"
    deep.write_text("[plan]\nmodel = \"X\"\nname = \"x\"\nd = " + "[" * 5000 + "]" * 5000 + "\n")
    cases.append((("test", "plan", "check", str(deep)), "bad_plan"))
    for argv, wanted in cases:
        code, out, err = rma(*argv, "--json")
        assert (code, error_of(out)["code"]) == (1, wanted), (argv, out, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("rma: "), (argv, err)


def test_rma_check_reports_ledger_rows_of_a_visit_deleted_behind_its_back(rma, db, db_url):
    code, out, _ = receive(rma, "HU88000001", "HU88000002")
    gone = json.loads(out)[0]["tag"]
    db.dispose()
    delete = [f"DELETE FROM {t} WHERE visit_id = (SELECT id FROM visits WHERE tag = '{gone}')"
              for t in ("intake_records", "label_jobs")] + [f"DELETE FROM visits WHERE tag = '{gone}'"]
    if db_url.startswith("sqlite"):  # the database owner, bypassing the foreign keys
        import sqlite3

        conn = sqlite3.connect(make_url(db_url).database, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=OFF")
        for sql in delete:
            conn.execute(sql)
        conn.close()
    else:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for sql in delete:
                conn.execute(text(sql))
    code, out, err = rma("check", "--json")
    data = json.loads(out)
    assert "Traceback" not in err
    assert code == 1 and data["counts"] == {"ledger_orphan": 1}, (out, err)
    assert data["violations"][0]["subject"].startswith("visit id ") and data["violations"][0]["rows"]


# ---------------------------------------------------------------- texts: control characters and lengths


def test_ansi_escapes_are_refused_in_every_free_text_and_never_reach_the_terminal(rma, db, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-password\n"))
    esc = "\x1b[2J\x1b[31mPWNED"
    attempts = [
        ("--as", "admin", "customer", "add", "C1", "--name", esc),
        ("--as", "admin", "customer", "add", "C1", "--name", "ok", "--contact", "Mr\x00X"),
        ("--as", "boss", "reason", "add", "NOPWR", "--text", esc),
        ("--as", "admin", "model", "add", "M1", "--name", esc, "--serial-pattern", "^M1$", "--warranty-months", "1"),
        ("--as", "admin", "user", "add", "newbie", "--role", "clerk", "--display-name", esc, "--password-stdin"),
        ("--as", "clerk", "intake", "receive", "--waybill", "SF1000000001", "--courier", esc, "--customer", "SH-PD01",
         "--serial", "HU88000001"),
        ("--as", "clerk", "intake", "receive", "--waybill", "SF1000000002", "--courier", "SF", "--customer", "SH-PD01",
         "--serial", "HU88000001", "--reason-text", esc),
        ("--as", "boss", "intercept", "add", "--model", "HU-8800", "--firmware", "3.2.1", "--action", esc),
    ]
    for argv in attempts:
        code, out, err = rma(*argv, "--json")
        assert code == 1 and error_of(out)["code"] == "bad_text", (argv, out)
        assert "\x1b" not in err and "\x00" not in err and "\\x" in err, err
    with db.uow() as uow:  # a name that came in before this check (or behind rma's back)
        uow.session.add(Customer(code="OLD", name="Old \x1b[31mred\x1b[0m dealer\rX"))
    code, out, _ = rma("customer", "list")
    assert code == 0 and "\x1b" not in out and "\r" not in out and "Old \\x1b[31mred\\x1b[0m dealer\\rX" in out
    code, out, _ = rma("customer", "list", "--json")
    assert "\x1b" not in out and {c["code"]: c["name"] for c in json.loads(out)}["OLD"] == "Old \x1b[31mred\x1b[0m dealer\rX"


def test_the_same_text_gets_the_same_answer_on_both_databases(rma, db):
    code, out, _ = rma("--as", "admin", "customer", "add", "C1", "--name", "x" * 500, "--json")
    err = error_of(out)
    assert code == 1 and err["code"] == "text_too_long" and "longer than 200 characters (500)" in err["message"]
    code, out, _ = rma("--as", "admin", "customer", "add", "C1", "--name", "x" * 200, "--region", "r" * 101, "--json")
    assert code == 1 and "longer than 100" in error_of(out)["message"]
    code, out, _ = rma("--as", "admin", "customer", "add", "C1", "--name", "经销商" * 66, "--json")
    assert code == 0  # 198 characters of Chinese fit in String(200) on both
    code, out, _ = receive(rma, "HU88000001", extra=("--reason-text", "r" * 2001))
    assert "longer than 2000" in json.loads(out)[0]["error"]["message"]
    code, out, _ = rma("--as", "clerk", "intake", "receive", "--waybill", "SF1000000001", "--courier", "C" * 65,
                       "--customer", "SH-PD01", "--serial", "HU88000001", "--json")
    assert error_of(out)["code"] == "text_too_long"
    with db.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_nul_or_escape_in_a_lookup_is_an_unknown_key_not_a_database_error(rma):
    for argv in (("unit", "show", "HU88\x00"), ("parcel", "show", "SF\x00001"), ("test", "runs", "--tag", "R\x00"),
                 ("visits", "--customer", "SH\x00"), ("--as", "cl\x00erk", "reason", "list"),
                 ("--as", "clerk\x1b", "label", "print", "R26-000001")):
        code, out, err = rma(*argv, "--json")
        assert code in (0, 1) and "database" not in out, (argv, out, err)
        if code:
            assert error_of(out)["code"] in {"unknown_unit", "unknown_parcel", "bad_text", "unknown_user"}, out


def test_retrying_the_label_queue_needs_an_active_user(rma):
    receive(rma, "HU88000001")  # --no-print: its label waits in the queue
    code, out, _ = rma("label", "queue", "--retry", "--json")
    assert code == 1 and error_of(out)["code"] == "no_actor"
    assert rma("--as", "admin", "user", "disable", "clerk")[0] == 0
    code, out, _ = rma("--as", "clerk", "label", "queue", "--retry", "--json")
    assert code == 1 and error_of(out)["code"] == "forbidden" and "disabled" in error_of(out)["message"]
    code, out, _ = rma("--as", "admin", "label", "queue", "--retry", "--json")
    assert code == 1 and error_of(out)["code"] == "forbidden"  # an admin is not a floor worker
    assert len(json.loads(rma("label", "queue", "--json")[1])) == 1  # still waiting: nobody printed it
    code, out, _ = rma("--as", "tech", "label", "queue", "--retry", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "printed"


# ---------------------------------------------------------------- what RMA_HOME keeps is private


def test_rma_home_its_database_and_attachments_are_private(tmp_path, monkeypatch, capsys):
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("RMA_HOME", str(home))
    monkeypatch.delenv("RMA_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(home) == 0o700 and mode(home / "rma.sqlite") == 0o600
    for suffix in ("", "-wal", "-shm"):  # an older station's database, world-readable
        path = Path(f"{home / 'rma.sqlite'}{suffix}")
        if path.exists():
            path.chmod(0o644)
    assert main(["user", "list"]) == 0
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{home / 'rma.sqlite'}{suffix}")
        assert not path.exists() or mode(path) == 0o600, path
    from rma import config

    assert mode(config.attachments_path()) == 0o700 and mode(config.ui_storage_path()) == 0o700
    config.session_secret()
    assert mode(home / config.SECRET_FILE) == 0o600
    (home / config.SECRET_FILE).chmod(0o644)
    config.session_secret()
    assert mode(home / config.SECRET_FILE) == 0o600
    capsys.readouterr()
