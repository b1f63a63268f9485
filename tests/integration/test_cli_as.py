"""`--as NAME`, like `--json`, goes before or after the subcommand; given in both places, both must agree."""

import io
import json
import sys

import pytest

from rma.cli import main
from tests.factories import receive_unit, seed_basics


@pytest.fixture
def rma(rma_env, capsys, monkeypatch):
    def run(*argv, stdin=None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _users(rma) -> dict[str, list[str]]:
    code, out, _ = rma("user", "list", "--json")
    assert code == 0
    return {u["username"]: u["roles"] for u in json.loads(out)}


def test_user_add_acts_as_the_admin_named_before_or_after_the_subcommand(rma, db):
    seed_basics(db)
    assert rma("--as", "admin", "user", "add", "kim", "--role", "clerk", "--password-stdin", stdin="kim-pass1\n")[0] == 0
    assert rma("user", "add", "lee", "--role", "tester", "--password-stdin", "--as", "admin", stdin="lee-pass1\n")[0] == 0
    code, _, err = rma("user", "add", "max", "--role", "clerk", "--password-stdin", "--as", "kim", stdin="max-pass1\n")
    assert code == 1 and "admin" in err  # kim, a clerk, may not: the flag after the command was heard
    assert _users(rma)["lee"] == ["tester"] and "max" not in _users(rma)


def test_visit_move_by_the_user_after_the_subcommand_and_it_wins_over_rma_user(rma, db, monkeypatch):
    seed_basics(db)
    tag = receive_unit(db, "HU88000042")
    code, out, _ = rma("visit", "move", tag, "--to", "awaiting_bench", "--reason", "x", "--as", "clerk", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "forbidden"
    monkeypatch.setenv("RMA_USER", "clerk")
    code, out, _ = rma("visit", "move", tag, "--to", "awaiting_bench", "--reason", "sorted", "--json", "--as", "lead")
    assert code == 0 and json.loads(out)["actor"] == "lead"


def test_the_same_name_in_both_places_is_fine(rma, db):
    seed_basics(db)
    code, out, _ = rma("--as", "boss", "reason", "add", "NOPWR", "--text", "不开机", "--as", "boss", "--json")
    assert code == 0, out
    code, out, _ = rma("reason", "list", "--json")
    assert [r["code"] for r in json.loads(out)] == ["NOPWR"]


def test_two_different_names_are_a_usage_error_and_nothing_is_done(rma, db, capsys):
    seed_basics(db)
    with pytest.raises(SystemExit) as e:
        rma("--as", "admin", "user", "add", "kim", "--role", "clerk", "--password-stdin", "--as", "clerk",
            stdin="kim-pass1\n")
    assert e.value.code == 2
    assert "--as admin and --as clerk disagree" in capsys.readouterr().err
    assert "kim" not in _users(rma)
