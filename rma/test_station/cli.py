"""Test-station commands: run a plan, the test ledger, plans, and the fixture simulator."""

from __future__ import annotations

import sys
from typing import Any

from rma.clikit import Context, echo, one_line, terminal_safe
from rma.clikit import add_command as cmd
from rma.errors import DomainError
from rma.exports import csv_text


def _answers(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise DomainError("bad_answer", "an answer is STEP=VALUE, got {pair!r}", pair=pair)
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _step_line(s: dict[str, Any]) -> str:
    lim = s.get("limits") or {}
    if "min" in lim:
        limits = f"[{lim['min']:g} .. {lim['max']:g}{' ' + lim['unit'] if lim.get('unit') else ''}]"
    elif "equals" in lim:
        limits = f"= {lim['equals']!r}"
    elif "regex" in lim:
        limits = f"~ /{lim['regex']}/"
    else:
        limits = ""
    return (f"  {s['seq']:>3} {s['verdict'].upper():<5} {s['step']:<18} {str(s['value'])[:28]:<28} {limits}"
            + (f"  ({s['message']})" if s.get("message") else "") + (f"  tries {s['attempts']}" if s["attempts"] > 1 else ""))


def cmd_test_run(ctx: Context) -> int:
    from rma.test_station import services

    a = ctx.args
    db = ctx.database()

    def progress(event: Any) -> None:
        if not ctx.json and isinstance(event, services.StepOutcome):
            echo(_step_line(event.as_dict()), flush=True)

    result = services.run_test(db, ctx.actor_name() or "", a.tag, port=a.port, incoming=a.incoming,
                               answers=_answers(a.answer), accessories_ok=a.accessories_ok, missing=a.missing,
                               on_event=progress)
    data = result.as_dict()
    if ctx.json:
        ctx.out(data, "")
    else:
        echo(f"run {result.run_id} of {result.tag}: {result.outcome.value.upper()}"
              + (f" — {result.reason}" if result.reason else "")
              + ("" if result.durable else "  (NOT in the ledger)"))
    if not result.durable:
        print(one_line(f"rma: {result.reason}"), file=sys.stderr)
        return 1
    return 0 if result.outcome.value == "pass" else 3


def cmd_test_show(ctx: Context) -> int:
    from rma.test_station import services

    with ctx.database().uow(readonly=True) as uow:
        run = services.show_run(uow, ctx.args.run_id)
    ctx.out(run, lambda: "\n".join(
        [f"run {run['run_id']}  {run['tag']} {run['serial']} {run['model']}  {run['kind']} #{run['attempt']}  "
         f"{run['outcome'].upper()}" + (f" — {run['reason']}" if run["reason"] else ""),
         f"station {run['station']} ({run['port']})  operator {run['operator']}  fixture {run['fixture'] or '-'}",
         f"plan {run['plan']} v{run['plan_version']} sha256 {run['plan_sha256'][:16]}…  "
         f"{run['started_at'][:19]} → {(run['ended_at'] or 'incomplete')[:19]}"]
        + [_step_line(s) for s in run["steps"]]
        + (["  checklist: " + ", ".join(f"{k} {'✓' if v else '✗'}" for k, v in run["checklist"].items())]
           if run["checklist"] else [])))
    return 0


def cmd_test_runs(ctx: Context) -> int:
    from rma.core.parse import parse_day
    from rma.test_station import services

    a = ctx.args

    f = services.RunFilter(date_from=parse_day(a.date_from), date_to=parse_day(a.date_to), model=a.model, station=a.station,
                           outcome=a.outcome, failed_step=a.failed_step, tag=a.tag, limit=a.limit)
    with ctx.database().uow(readonly=True) as uow:
        rows = services.list_runs(uow, f)
    if a.csv:
        sys.stdout.write(terminal_safe(csv_text(({**r, "failed_steps": " ".join(r["failed_steps"])} for r in rows),
                                                services.RUN_COLUMNS)))
        return 0
    ctx.out(rows, lambda: "\n".join(
        f"{r['run_id']:>5} {r['started_at'][:16]}  {r['tag']}  {r['model']:<8} {r['kind']:<8} #{r['attempt']} "
        f"{r['station']:<10} {r['outcome'].upper():<10} {' '.join(r['failed_steps'])}" for r in rows) or "no runs")
    return 0


def cmd_test_yield(ctx: Context) -> int:
    from rma.test_station import services

    with ctx.database().uow(readonly=True) as uow:
        rows = services.first_pass_yield(uow)
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f}%"

    ctx.out(rows, lambda: "\n".join(
        f"{r['model']:<9} first tests {r['first_tests']:>4}  passed {r['first_pass']:>4}  "
        f"yield {pct(r['yield'])}  re-tests {r['retests']}" for r in rows) or "no finished outgoing tests yet")
    return 0


def cmd_plan_check(ctx: Context) -> int:
    from rma.test_station.plans import load_plan_file

    plan = load_plan_file(ctx.args.file)
    data = {"model": plan.model, "name": plan.name, "version": plan.version, "sha256": plan.sha256,
            "steps": [s.id for s in plan.steps], "prompts": [s.id for s in plan.prompts],
            "packaging": list(plan.packaging)}
    ctx.out(data, f"{ctx.args.file}: ok — {plan.model} {plan.name} v{plan.version}, {len(plan.steps)} steps, "
                  f"sha256 {plan.sha256[:16]}…")
    return 0


def cmd_plan_list(ctx: Context) -> int:
    from rma.test_station.plans import plans_in_use

    entries = plans_in_use()
    rows = [{"model": e.model, "name": e.plan.name if e.plan else None, "version": e.plan.version if e.plan else None,
             "steps": len(e.plan.steps) if e.plan else None, "source": str(e.path),
             "sha256": e.plan.sha256 if e.plan else None, "error": e.error.message if e.error else None}
            for e in entries]

    def line(e) -> str:  # noqa: ANN001
        if e.error is not None:
            return f"{e.model or '?':<9} BROKEN  {e.error.params.get('where', e.path)}: {e.error.params.get('reason', '')}"
        return f"{e.model:<9} v{e.plan.version:<3} {len(e.plan.steps):>3} steps  {e.path}"

    ctx.out(rows, lambda: "\n".join(line(e) for e in entries) or "no test plans")
    return 1 if any(e.error for e in entries) else 0


def cmd_sim_fixture(ctx: Context) -> int:
    from drivers import fixture_sim

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        from rma.core.catalogue import get_model

        model = get_model(uow, a.model)
        family, firmware = model.family, model.firmware_version or "1.0.0"
    argv = ["--profile", family, "--firmware", firmware]
    for fault in a.fault:
        argv += ["--fault", fault]
    if a.tcp:
        argv.append("--tcp")
    if a.no_pace:
        argv.append("--no-pace")
    if a.serve:
        argv.append("--serve")
    return fixture_sim.main(argv) or 0


def register(sub) -> None:  # noqa: ANN001
    test = sub.add_parser("test", help="the functional test station").add_subparsers(dest="test_command", required=True)
    r = cmd(test, "run", cmd_test_run, "run the model's test plan on a visit (tester, lead); exit 0 PASS, 3 not PASS")
    r.add_argument("tag")
    r.add_argument("--port", required=True, help="the fixture: /dev/ttyUSB0, socket://host:port, …")
    r.add_argument("--incoming", action="store_true", help="an incoming test of a unit just received")
    r.add_argument("--accessories-ok", action="store_true", help="every accessory and the packaging are there")
    r.add_argument("--missing", action="append", default=[], metavar="ITEM", help="an accessory or packaging item missing")
    r.add_argument("--answer", action="append", default=[], metavar="STEP=VALUE", help="answer an operator prompt")
    s = cmd(test, "show", cmd_test_show, "a test run with every step and raw reply")
    s.add_argument("run_id", type=int)
    rs = cmd(test, "runs", cmd_test_runs, "the test ledger (测试台账) with filters")
    rs.add_argument("--from", dest="date_from")
    rs.add_argument("--to", dest="date_to")
    rs.add_argument("--model")
    rs.add_argument("--station")
    rs.add_argument("--outcome", choices=["pass", "fail", "error", "aborted", "incomplete"])
    rs.add_argument("--failed-step", help="runs where this step did not pass")
    rs.add_argument("--tag")
    rs.add_argument("--limit", type=int)
    rs.add_argument("--csv", action="store_true")
    cmd(test, "yield", cmd_test_yield, "first-pass yield per model, from the ledger")
    plan = test.add_parser("plan", help="test plans").add_subparsers(dest="plan_command", required=True)
    pc = cmd(plan, "check", cmd_plan_check, "validate a plan file")
    pc.add_argument("file")
    cmd(plan, "list", cmd_plan_list, "the plans this station uses")

    sim = next(a for a in sub._name_parser_map["sim"]._actions if a.dest == "sim_command")  # noqa: SLF001
    fx = cmd(sim, "fixture", cmd_sim_fixture, "a simulated test fixture for a model: prints its URL", json_out=False)
    fx.add_argument("--model", required=True)
    fx.add_argument("--fault", action="append", default=[], help="dead_rail, low_rail, no_gps_fix, wrong_firmware, "
                    "dead_audio, slow_replies, line_noise, nan_reply, half_line, disconnect_after=N")
    fx.add_argument("--tcp", action="store_true", help="a loopback TCP port instead of a pty")
    fx.add_argument("--no-pace", action="store_true", help="do not pace replies at the serial line rate")
    fx.add_argument("--serve", action="store_true",
                    help="run until SIGTERM or SIGINT instead of until end of input (in the background)")
