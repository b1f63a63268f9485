"""The `rma` command's contract: exit codes, --json bodies, --as, and clear one-line errors."""

import json
import subprocess
import sys

import pytest

from rma.cli import main
from tests.factories import receive_unit, seed_basics


@pytest.fixture
def rma(rma_env, capsys, monkeypatch):
    def run(*argv, stdin=None):
        if stdin is not None:
            import io
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_first_user_then_admin_adds_users(rma):
    code, out, _ = rma("user", "add", "Boss", "--role", "admin", "--role", "supervisor",
                       "--password-stdin", "--json", stdin="first-pass\n")
    assert code == 0
    assert json.loads(out) == {"username": "boss", "display_name": "boss",
                               "roles": ["admin", "supervisor"], "active": True}
    code, _, err = rma("user", "add", "kim", "--role", "clerk", "--password-stdin", stdin="kim-pass1\n")
    assert code == 1 and "--as" in err
    assert rma("--as", "boss", "user", "add", "kim", "--role", "clerk", "--password-stdin", stdin="kim-pass1\n")[0] == 0
    code, _, err = rma("--as", "kim", "user", "add", "lee", "--role", "clerk", "--password-stdin", stdin="lee-pass1\n")
    assert code == 1 and "admin" in err
    code, out, _ = rma("user", "list", "--json")
    assert [(u["username"], u["roles"]) for u in json.loads(out)] == [("boss", ["admin", "supervisor"]), ("kim", ["clerk"])]


def test_bad_role_and_weak_password(rma):
    code, out, _ = rma("--json", "user", "add", "x1", "--role", "wizard", "--password-stdin", stdin="whatever1\n")
    assert code == 1 and json.loads(out)["error"]["code"] == "unknown_role"
    code, out, _ = rma("user", "add", "x1", "--role", "clerk", "--password-stdin", "--json", stdin="short\n")
    assert code == 1 and json.loads(out)["error"]["code"] == "weak_password"


def test_unit_show_and_unknown_unit(rma, db):
    seed_basics(db)
    tag = receive_unit(db, "HU88001234", reason="屏幕闪烁")
    code, out, _ = rma("unit", "show", tag, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["serial"] == "HU88001234" and data["state"] == "received" and data["open_visit"] == tag
    assert data["visits"][0]["return_reason"] == "屏幕闪烁"
    assert data["timeline"][0]["event"] == "opened" and data["timeline"][0]["actor"] == "clerk"
    code, out, _ = rma("unit", "show", "HU88001234")  # for people: states by name, each event a sentence
    assert code == 0 and tag in out and "state: Received" in out
    assert "Opened: return reason “屏幕闪烁”" in out and "{" not in out and "[" not in out
    code, out, err = rma("unit", "show", "NO-SUCH", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "unknown_unit" and "NO-SUCH" in err


def test_visit_move_roles_and_table(rma, db, monkeypatch):
    seed_basics(db)
    tag = receive_unit(db, "HU88000042")
    code, out, _ = rma("--as", "clerk", "--json", "visit", "move", tag, "--to", "awaiting_bench", "--reason", "x")
    assert code == 1 and json.loads(out)["error"]["code"] == "forbidden"
    code, out, _ = rma("--as", "lead", "visit", "move", tag, "--to", "passed", "--reason", "x", "--json")
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "illegal_transition" and "received" in err["message"] and "passed" in err["message"]
    monkeypatch.setenv("RMA_USER", "lead")
    code, out, _ = rma("visit", "move", tag, "--to", "awaiting_bench", "--reason", "sorted", "--json")
    assert code == 0 and json.loads(out)["to_state"] == "awaiting_bench"
    code, out, _ = rma("check", "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "counts": {}, "violations": [], "warning_counts": {}, "warnings": []}


def test_check_exits_1_with_violations(rma, db):
    seed_basics(db)
    tag = receive_unit(db, "HU88000042")
    from sqlalchemy import text
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE visits SET state = 'in_test' WHERE tag = :t"), {"t": tag})
    code, out, _ = rma("check", "--json")
    assert code == 1 and [v["code"] for v in json.loads(out)["violations"]] == ["state_mismatch"]


def test_usage_errors_exit_2(rma):
    with pytest.raises(SystemExit) as e:
        rma("visit", "move", "R26-000001")
    assert e.value.code == 2


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "rma", *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("url,shown", [
    ("postgresql+psycopg://rma:hunter22@127.0.0.1:9/rma", "postgresql+psycopg://rma:***@127.0.0.1:9/rma"),
    ("notadb://whatever", "notadb://whatever"),
    ("postgresql+psycopg://rma:hunter22@127.0.0.1:notaport/rma", "127.0.0.1"),
])
def test_unreachable_or_malformed_database_is_one_clear_line(tmp_path, url, shown):
    env = {"RMA_HOME": str(tmp_path), "RMA_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    for args in (("user", "list"), ("db", "upgrade"), ("check", "--json")):
        r = _run(env, *args)
        assert r.returncode == 1, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and shown in lines[0] and "hunter22" not in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert "hunter22" not in _run(env, "check", "--json").stdout


def test_version():
    r = subprocess.run([sys.executable, "-m", "rma", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("rma ")
