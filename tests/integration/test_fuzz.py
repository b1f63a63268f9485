"""Garbage into every option of every command, and into the scan and text fields of the services.

The command line is walked from its own argparse parser, so a new command or option is fuzzed
without touching this file. Every answer must be what the contract says: exit 0, 1 (one
``rma: …`` line per problem) or 2 (usage), 3 only for a test run that did not pass; never a
traceback, never an internal error, and never a database error (the database refusing an
input means a service let it through unchecked).
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
from collections.abc import Iterator

import pytest

from rma import cli, clikit
from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.errors import DomainError
from tests.factories import receive_unit, seed_basics

GARBAGE = [
    "\x1b[2J\x1b[31mX\x1b[0m",  # ANSI: clear the screen, red
    "a\x00b",  # NUL: PostgreSQL refuses it in text
    "\r\n\t",
    "\x7f\x9b\u202e\u2028",  # DEL, 8-bit CSI, right-to-left override, line separator
    "\udcff",  # a byte that was not UTF-8 on the command line
    "x" * 100_000,
    "NaN",
    "-inf",
    "0001-01-01",
    "9999-12-31",
    "9999-12",
    "-1",
    "99999999999999999999999999",
    "",
]
# Commands that serve, simulate hardware until stopped, load the demo or write into the source tree.
NOT_FUZZED = {("serve",), ("sim", "scanner"), ("sim", "fixture"), ("demo",), ("db", "revision")}
NO_VALUE = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._StoreConstAction,  # noqa: SLF001
            argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)  # noqa: SLF001


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield from leaves(sub, (*path, name))
            return
    yield path, parser


@pytest.fixture
def depot(db, rma_env, tmp_path, monkeypatch):
    """A depot with a super user, a visit awaiting test and one received; the CLI reuses one engine."""
    monkeypatch.chdir(tmp_path)  # a garbage --out is a file name: it lands here, never in the source tree
    seed_basics(db)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="fuzz", password="fuzz-pass", roles=list(Role))
        core.add_user(uow, admin, username="victim", password="victim-pass", roles=[Role.CLERK])
    tested = receive_unit(db, "HU88000001")
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test"):
            core.move_visit(uow, lead, tested, VisitState(to), "repaired")
    received = receive_unit(db, "HU88000002")
    csv = tmp_path / "records.csv"
    csv.write_text("serial,model\nHU88000003,HU-8800\n", encoding="utf-8")
    shared = Database.from_url(rma_env["RMA_DATABASE_URL"])
    monkeypatch.setattr(clikit.Context, "database", lambda self, require_current=True: shared)
    parser = cli.build_parser()  # built once: argparse spends most of a short command building it
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setenv("RMA_USER", "fuzz")
    fresh = itertools.count(100)  # a new waybill, code or serial each time: garbage reaches what a new one checks
    valid = {
        "waybill": lambda: f"SF{next(fresh):010d}", "courier": "SF", "customer": "SH-PD01",
        "serial": lambda: f"HU88{next(fresh):06d}", "key": tested,
        "tag": tested, "role": "clerk", "to": "awaiting_bench", "reason": "fuzz", "text": "fuzz text",
        "code": lambda: f"FZ{next(fresh)}", "serial_pattern": "^FZ\\d+$", "warranty_months": "12", "month": "2026-11", "file": str(csv),
        "run_id": "1", "port": "socket://127.0.0.1:9", "action": "check it", "model": "HU-8800", "name": "victim",
        "out": str(tmp_path / "label.png"), "as_user": "fuzz", "answer": "display_red=yes",
    }
    yield parser, valid, received
    shared.dispose()


def argv_for(path, parser, valid, dest=None, value=None):  # noqa: ANN001, ANN201
    """The command with its required arguments valid, and ``value`` in the argument ``dest``."""
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, NO_VALUE) or action.dest in ("json",):
            continue
        if action.dest == dest:
            given = value
        elif action.required or not action.option_strings:
            given = valid.get(action.dest, "FUZZ")
            given = given() if callable(given) else given
        else:
            continue
        if action.option_strings:
            options.append(f"{action.option_strings[-1]}={given}")
        else:
            positionals.append(given)
    return [*path, *options, "--json", "--", *positionals] if positionals else [*path, *options, "--json"]


def check(argv: list[str], code: int | None, err: str, problems: list[str]) -> None:
    shown = [a if len(a) < 60 else f"{a[:20]}…({len(a)} chars)" for a in argv]
    if code not in (0, 1, 2, 3) or (code == 3 and argv[:2] not in (["test", "run"], ["program", "unit"])
                                    and argv[:3] not in (["program", "job", "run"], ["program", "job", "resume"])):
        problems.append(f"{shown}: exit {code}")
    bad = [w for w in ("Traceback", "internal error", "database error") if w in err]
    if bad:
        problems.append(f"{shown}: {bad[0]}: {err.strip().splitlines()[-1][:300]}")
    if code == 1 and not all(line.startswith("rma: ") for line in err.strip().splitlines()):
        problems.append(f"{shown}: not one 'rma:' line per problem: {err[:300]!r}")


def run(argv: list[str], capsys, monkeypatch, stdin: str = "a-good-password\n") -> tuple[int | None, str]:  # noqa: ANN001
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 - what this test is looking for
        code, err = None, f"Traceback: {type(exc).__name__}: {exc}"
        capsys.readouterr()
        return code, err
    return code, capsys.readouterr().err


def test_every_option_of_every_command_takes_garbage_without_a_traceback(depot, capsys, monkeypatch):
    parser, valid, _ = depot
    problems: list[str] = []
    commands = [(p, sub) for p, sub in leaves(parser) if p not in NOT_FUZZED]
    assert len(commands) > 35
    tried = 0
    for path, sub in commands:
        fuzzable = [a for a in sub._actions if not isinstance(a, NO_VALUE) and a.dest != "json"]  # noqa: SLF001
        for action in fuzzable:
            for value in GARBAGE:
                argv = argv_for(list(path), sub, valid, action.dest, value)
                check(argv, *run(argv, capsys, monkeypatch), problems)
                tried += 1
        if any(getattr(a, "dest", "") == "password_stdin" for a in sub._actions):  # noqa: SLF001
            for value in GARBAGE:
                argv = argv_for(list(path), sub, valid) + ["--password-stdin"]
                check(argv, *run(argv, capsys, monkeypatch, stdin=value + "\n"), problems)
    for value in GARBAGE:  # the global --as
        argv = ["--as=" + value, "customer", "add", "FZ9", "--name", "x", "--json"]
        check(argv, *run(argv, capsys, monkeypatch), problems)
    assert tried > 1000
    assert not problems, f"{len(problems)} answers broke the contract:\n" + "\n".join(problems[:60])


def test_every_scan_and_text_field_of_the_services_takes_garbage(depot, db, tmp_path):
    """What the pages hand to the services: scans, typed texts, uploads, answers, plan files."""
    from rma.intake import imports
    from rma.intake import services as intake
    from rma.test_station import plans
    from rma.test_station import services as testing

    _, valid, received = depot
    problems: list[str] = []

    def attempt(what: str, fn, *args, **kwargs) -> None:  # noqa: ANN001
        try:
            with db.uow() as uow:
                actor = core.get_actor(uow, "fuzz")
                fn(uow, actor, *args, **kwargs) if fn.__code__.co_varnames[:2] == ("uow", "actor") else \
                    fn(uow, *args, **kwargs)
        except DomainError:
            pass
        except Exception as exc:  # noqa: BLE001 - what this test is looking for
            problems.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")

    for g in GARBAGE:
        attempt("find_unit", core.find_unit, g)
        attempt("find_visit", core.find_visit, g)
        attempt("authenticate", lambda uow, name: core.authenticate(uow, name, g), g)
        attempt("move_visit reason", core.move_visit, received, VisitState.AWAITING_BENCH, g)
        attempt("receive_parcel courier", intake.receive_parcel, courier=g, waybill="SF1000000002",
                customer_code="SH-PD01")
        attempt("receive_parcel waybill", intake.receive_parcel, courier="SF", waybill=g, customer_code=g, cost=g)
        attempt("ship cost", intake.ship_unit, received, courier="SF", waybill="SF3000000001", cost=g)
        attempt("record_accessories", intake.record_accessories, received, [g])
        attempt("add_reason", intake.add_reason, "FZ2", g)
        attempt("add_interception", intake.add_interception, model_code="HU-8800", action=g, firmware=g)
        attempt("courier_costs", intake.courier_costs, g)
        attempt("parcel_report", intake.parcel_report, g, g)
        attempt("attachment", intake.attach_to_parcel, "SF1000000001", filename=g, data=b"%PDF-1.4 fuzz",
                content_type=g)
        attempt("guess_courier", lambda uow, w: intake.guess_courier(w), g)
        attempt("list_runs", lambda uow, v: testing.list_runs(uow, testing.RunFilter(
            model=v, station=v, tag=v, failed_step=v)), g)
        attempt("list_visits", lambda uow, v: intake.list_visits(uow, intake.VisitFilter(customer=v, model=v)), g)
        for row in (f"{g},HU-8800", f"HU88000005,{g}", f"HU88000006,HU-8800,{g},{g},{g},{g}"):
            data = f"serial,model,manufactured_on,shipped_on,customer,firmware\n{row}\n".encode("utf-8", "surrogatepass")
            try:
                imports.import_units(db, "fuzz", data)
            except DomainError:
                pass
            except Exception as exc:  # noqa: BLE001
                problems.append(f"import {row[:40]!r}: {type(exc).__name__}: {str(exc)[:200]}")
        try:
            plans.parse_plan(f'[plan]\nmodel = "HU-8800"\nname = "x"\n[[step]]\nid = "a"\nsend = "{g[:300]}"\n'
                             f'equals = "OK"\n', "fuzz.toml")
        except DomainError:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"plan send {g[:20]!r}: {type(exc).__name__}: {exc}")
        try:
            testing.run_test(db, "fuzz", valid["tag"], port=g or "socket://127.0.0.1:9",
                             answers={"display_red": g, "harness_id": g}, accessories_ok=True)
        except DomainError:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"run_test {g[:20]!r}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not problems, "\n".join(problems)
