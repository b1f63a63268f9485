"""The ``rma`` command: thin over the services, for admins and scripts.

Contract: exit 0 on success, 1 on a domain error (message on stderr; with ``--json`` also
``{"error": {"code", "message"}}`` on stdout), 2 on a usage error. ``--json`` on every read
command prints machine-readable output whose keys are a stable contract.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from rma import __version__, config
from rma.clikit import (
    JSON_FLAG,
    Context,
    Parser,
    add_as,
    json_text,
    one_line,
    read_password,
)
from rma.clikit import add_command as cmd
from rma.errors import DomainError

# ---------------------------------------------------------------- commands

def cmd_db_upgrade(ctx: Context) -> int:
    from rma import migrate

    db = ctx.database(require_current=False)
    before, after = migrate.upgrade(db.engine)
    db.refresh_statistics()
    ctx.out({"from": before, "to": after},
            f"database {config.mask_url(config.database_url())}: schema {before or 'empty'} -> {after}")
    return 0


def cmd_db_check(ctx: Context) -> int:
    from rma import migrate

    db = ctx.database(require_current=False)
    diffs = migrate.drift(db.engine)
    ctx.out({"revision": migrate.current_revision(db.engine), "drift": diffs},
            lambda: "no drift: models and migrations agree" if not diffs
            else "drift between models and migrations:\n" + "\n".join(f"  {d}" for d in diffs))
    return 1 if diffs else 0


def cmd_db_revision(ctx: Context) -> int:
    from rma import migrate

    paths = migrate.new_revision(ctx.database(require_current=False).engine, ctx.args.message)
    ctx.out({"files": paths}, "\n".join(f"wrote {p} - review it before committing" for p in paths))
    return 0


def _user_dict(u) -> dict[str, Any]:  # noqa: ANN001
    return {"username": u.username, "display_name": u.display_name,
            "roles": sorted(r.value for r in u.roles), "active": u.active}


def cmd_user_add(ctx: Context) -> int:
    from rma.core import services

    password = read_password(ctx)
    roles = [services.parse_role(r) for r in ctx.args.role]
    with ctx.database().uow() as uow:
        actor = services.get_actor(uow, ctx.actor_name()) if ctx.actor_name() else None
        user = services.add_user(uow, actor, username=ctx.args.name, password=password, roles=roles,
                                 display_name=ctx.args.display_name)
        data = _user_dict(user)
    ctx.out(data, f"added user {data['username']} ({', '.join(data['roles'])})")
    return 0


def cmd_user_list(ctx: Context) -> int:
    from rma.core import services

    with ctx.database().uow(readonly=True) as uow:
        users = [_user_dict(u) for u in services.list_users(uow)]

    def text() -> str:
        lines = [f"{'USER':<16} {'ACTIVE':<7} {'ROLES':<30} NAME"]
        lines += [f"{u['username']:<16} {'yes' if u['active'] else 'no':<7} {','.join(u['roles']):<30} {u['display_name']}"
                  for u in users]
        return "\n".join(lines)

    ctx.out(users, text)
    return 0


def _admin_user_change(ctx: Context, change: Callable, verb: str) -> int:
    from rma.core import services

    with ctx.database().uow() as uow:
        actor = services.get_actor(uow, ctx.actor_name())
        user = change(uow, actor)
        data = _user_dict(user)
    ctx.out(data, f"{verb} {data['username']}")
    return 0


def cmd_user_passwd(ctx: Context) -> int:
    from rma.core import services

    password = read_password(ctx)
    return _admin_user_change(
        ctx, lambda uow, actor: services.reset_password(uow, actor, ctx.args.name, password), "password reset for")


def cmd_user_enable(ctx: Context) -> int:
    from rma.core import services

    return _admin_user_change(ctx, lambda uow, a: services.set_user_active(uow, a, ctx.args.name, True), "enabled")


def cmd_user_disable(ctx: Context) -> int:
    from rma.core import services

    return _admin_user_change(ctx, lambda uow, a: services.set_user_active(uow, a, ctx.args.name, False), "disabled")


def cmd_user_roles(ctx: Context) -> int:
    from rma.core import services

    roles = [services.parse_role(r) for r in ctx.args.role]
    return _admin_user_change(ctx, lambda uow, a: services.set_user_roles(uow, a, ctx.args.name, roles), "roles set for")


def cmd_serve(ctx: Context) -> int:
    ctx.database()  # refuse an unreachable, outdated or too-new database before starting
    from rma.ui.app import serve

    print(f"rma {__version__} serving on http://{ctx.args.host}:{ctx.args.port}/ "
          f"(database {config.mask_url(config.database_url())})", flush=True)
    serve(ctx.args.host, ctx.args.port)
    return 0


def cmd_demo(ctx: Context) -> int:
    from rma.demo import load_demo

    result = load_demo(ctx.database())
    ctx.database().refresh_statistics()
    data = {"created": result.created, "models": result.models, "customers": result.customers,
            "visits": result.visits, "test_runs": result.test_runs,
            "users": [{"username": u, "password": p, "roles": r} for u, p, r in result.users]}

    def text() -> str:
        head = ("demo data loaded" if result.created else "demo data already present; nothing added")
        lines = [f"{head}: {result.models} models, {result.customers} customers, {result.visits} visits, "
                 f"{result.test_runs} test runs", "",
                 "demo logins (user / password / roles):"]
        lines += [f"  {u:<12} {p:<18} {', '.join(r)}" for u, p, r in result.users]
        return "\n".join(lines)

    ctx.out(data, text)
    return 0


def cmd_check(ctx: Context) -> int:
    from rma.core.checks import run_checks

    report = run_checks(ctx.database())
    data = report.as_dict()

    def listed(kind: str, counts: dict[str, int], found: list) -> list[str]:  # noqa: ANN001
        total = sum(counts.values())
        lines = [f"{total} {kind}(s): " + ", ".join(f"{code} {n}" for code, n in sorted(counts.items()))]
        lines += [f"  [{v.code}] {v.message}" for v in found]
        if len(found) < total:
            lines.append(f"  … {total - len(found)} more not listed (see the counts above)")
        return lines

    def text() -> str:
        lines = (["all ledger invariants hold; every ledger's seals and guards are intact"] if report.ok
                 else listed("violation", report.counts, report.violations))
        if report.warning_counts:  # listed, but they break nothing
            lines += listed("warning", report.warning_counts, report.warnings)
        return "\n".join(lines)

    ctx.out(data, text)
    return 0 if report.ok else 1


def cmd_settings_list(ctx: Context) -> int:
    from rma.core import settings

    with ctx.database().uow(readonly=True) as uow:
        rows = settings.list_settings(uow)
    ctx.out(rows, lambda: "\n".join(
        f"{r['key']:<38} {r['value']!s:>8} {r['unit']:<16} (default {r['default']}, {r['low']}–{r['high']})"
        + (f"  set by {r['changed_by']} {_local(r['changed_at'])}" if r["changed_by"] else "") for r in rows))
    return 0


def cmd_settings_set(ctx: Context) -> int:
    from rma.core import services, settings

    with ctx.database().uow() as uow:
        data = settings.set_value(uow, services.get_actor(uow, ctx.actor_name()), ctx.args.key, ctx.args.value)
    ctx.out(data, f"{data['key']}: {data['was']} -> {data['value']}")
    return 0


def _local(iso: str | None, width: int = 16) -> str:
    """An ISO timestamp from the ledger in this station's local time, for people."""
    if not iso:
        return "-"
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")[:width]


def _unit_text(r: dict[str, Any], look: Any = None) -> str:
    """``rma unit show`` for people: states by their names, every ledger event as a sentence."""
    from rma.sentences import entry_sentence, words

    state = words().state
    lines = [
        f"unit {r['serial']}  {r['model']['code']} {r['model']['name']} ({r['model']['family']})",
        f"made {r['manufactured_on'] or '?'}  sold {r['sold_on'] or '?'}",
        f"state: {state(r['state']) if r['state'] else '-'}" + (
            f"  (open visit {r['open_visit']})" if r["open_visit"] else ""),
        "", "visits:",
    ]
    for v in r["visits"]:
        lines.append(f"  {v['tag']}  {state(v['state']):<22} opened {_local(v['opened_at'])}  "
                     f"closed {_local(v['closed_at']):<16}  {v['customer'] or '-'}  {v['return_reason'] or ''}")
    lines += ["", "timeline:"]
    for e in r["timeline"]:
        move = f"  ({state(e['from_state']) if e['from_state'] else '·'} → {state(e['to_state'])})" \
            if e["to_state"] else ""
        lines.append(f"  {_local(e['at'], 19)}  {e['tag']}  {e['actor']:<12} {entry_sentence(e, look)}{move}")
    return "\n".join(lines)


def cmd_unit_show(ctx: Context) -> int:
    from rma import sentences
    from rma.core import services

    with ctx.database().uow(readonly=True) as uow:
        report = services.unit_report(uow, ctx.args.key)
        look = sentences.lookups(uow, report["timeline"])
    ctx.out(report, lambda: _unit_text(report, look))
    return 0


def cmd_visit_move(ctx: Context) -> int:
    from rma.core import services
    from rma.core.states import parse_state

    to_state = parse_state(ctx.args.to)
    with ctx.database().uow() as uow:
        actor = services.get_actor(uow, ctx.actor_name())
        entry = services.move_visit(uow, actor, ctx.args.tag, to_state, ctx.args.reason)
        data = services.ledger_entry_dict(entry, entry.visit.tag)
    ctx.out(data, f"{data['tag']}: {data['from_state']} -> {data['to_state']} (ledger entry {data['id']})")
    return 0


def cmd_sim_scanner(ctx: Context) -> int:
    from drivers.scanner_sim import main as simulate

    argv = ["--tcp"] if ctx.args.tcp else []
    if ctx.args.port:
        argv += ["--port", str(ctx.args.port)]
    if ctx.args.aim:
        argv += ["--aim", ctx.args.aim]
    argv += ["--terminator", ctx.args.terminator]
    if ctx.args.serve:
        argv.append("--serve")
    return simulate(argv) or 0


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="rma", description="rma: the returned-unit repair depot")
    p.add_argument("--version", action="version", version=f"rma {__version__}")
    add_as(p, after_command=False)
    p.add_argument(JSON_FLAG, dest="json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    dbp = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    cmd(dbp, "upgrade", cmd_db_upgrade, "create or upgrade the database schema (idempotent)")
    cmd(dbp, "check", cmd_db_check, "exit 1 if the models and the migrations disagree")
    rev = cmd(dbp, "revision", cmd_db_revision, "developers: autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)

    up = sub.add_parser("user", help="users and roles").add_subparsers(dest="user_command", required=True)
    a = cmd(up, "add", cmd_user_add, "add a user (admin; the very first user needs no --as)")
    a.add_argument("name")
    a.add_argument("--role", action="append", required=True, metavar="ROLE")
    a.add_argument("--display-name")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    cmd(up, "list", cmd_user_list, "list users")
    pw = cmd(up, "passwd", cmd_user_passwd, "reset a user's password (admin)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    for name, fn, text in (("enable", cmd_user_enable, "enable a user (admin)"),
                           ("disable", cmd_user_disable, "disable a user (admin)")):
        cmd(up, name, fn, text).add_argument("name")
    r = cmd(up, "roles", cmd_user_roles, "set a user's roles (admin)")
    r.add_argument("name")
    r.add_argument("--role", action="append", required=True, metavar="ROLE")

    s = cmd(sub, "serve", cmd_serve, "start the web app of this station", json_out=False)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    cmd(sub, "demo", cmd_demo, "load demo data (idempotent) and print the demo logins")
    cmd(sub, "check", cmd_check, "verify every ledger invariant; exit 1 with the violations")

    st = sub.add_parser("settings", help="department settings").add_subparsers(dest="settings_command", required=True)
    cmd(st, "list", cmd_settings_list, "the department's settings, their values, defaults and ranges")
    ss = cmd(st, "set", cmd_settings_set, "change a department setting (supervisor, admin)")
    ss.add_argument("key")
    ss.add_argument("value")

    unit = sub.add_parser("unit", help="units").add_subparsers(dest="unit_command", required=True)
    cmd(unit, "show", cmd_unit_show, "a unit, its visits and its ledger timeline").add_argument(
        "key", help="a serial number or a tag")

    visit = sub.add_parser("visit", help="visits").add_subparsers(dest="visit_command", required=True)
    mv = cmd(visit, "move", cmd_visit_move, "move a visit by hand along the transition table (lead, supervisor)")
    mv.add_argument("tag")
    mv.add_argument("--to", required=True, metavar="STATE")
    mv.add_argument("--reason", required=True)
    sim = sub.add_parser("sim", help="hardware simulators").add_subparsers(dest="sim_command", required=True)
    sc = cmd(sim, "scanner", cmd_sim_scanner, "a simulated serial barcode scanner: prints its URL; each line typed is a scan",
             json_out=False)
    sc.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 (socket://) instead of a pty")
    sc.add_argument("--port", type=int)
    sc.add_argument("--aim", help="AIM symbology prefix to send, e.g. ]C0")
    sc.add_argument("--terminator", default="CR", choices=["CR", "LF", "CRLF"])
    sc.add_argument("--serve", action="store_true",
                    help="run on after end of input until SIGTERM or SIGINT (in the background)")

    from rma.intake.cli import register as register_intake

    register_intake(sub)
    from rma.bench.cli import register as register_bench

    register_bench(sub)
    from rma.test_station.cli import register as register_test_station

    register_test_station(sub)
    from rma.programming.cli import register as register_programming

    register_programming(sub)
    from rma.inventory.cli import register as register_stores

    register_stores(sub)
    from rma.station.cli import register as register_station

    register_station(sub)
    from rma.reports.cli import register as register_reports

    register_reports(sub)
    return p


def report_error(ctx: Context, err: DomainError) -> int:
    """A refused command: one line ``rma: message`` on stderr, and the error as JSON with --json."""
    print(one_line(f"rma: {err.message}"), file=sys.stderr)
    if ctx.json:
        print(json_text(err.as_json()))
    return 1


def internal_error(exc: BaseException) -> DomainError:
    """What went wrong that no rule of ours foresaw: one line; the traceback with RMA_DEBUG=1."""
    return DomainError("internal_error", "internal error: {error} (run again with RMA_DEBUG=1 for the details)",
                       error=f"{type(exc).__name__}: {str(exc)[:200]}".rstrip(": "))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = Context(args)
    try:
        return args.func(ctx)
    except DomainError as exc:
        return report_error(ctx, exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rma … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: never a traceback for people
        from sqlalchemy.exc import DBAPIError

        from rma.db import database_error

        if os.environ.get("RMA_DEBUG") == "1":
            traceback.print_exc()
        # A database that went away mid-command still gets one clear line.
        return report_error(ctx, database_error(exc) if isinstance(exc, DBAPIError) else internal_error(exc))


if __name__ == "__main__":
    raise SystemExit(main())
