"""Figures commands: the month's report (售后月报表) as XLSX and PDF, the figures of a window,
and the list of visits, runs, parts moves or programming attempts behind one figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rma.clikit import Context
from rma.clikit import add_command as cmd
from rma.errors import DomainError


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except (OSError, ValueError) as exc:
        raise DomainError("unwritable_file", "cannot write {path}: {reason}", path=str(path)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None


def _summary(fig: dict[str, Any]) -> str:
    u, q, t, p = fig["units"], fig["quality"], fig["testing"], fig["parts"]
    f = fig["filters"]
    window = f["from"] if f["from"] == f["to"] else f"{f['from']} to {f['to']}"
    rate = lambda v: "—" if v is None else f"{v * 100:.1f} %"  # noqa: E731
    turn = fig["turnaround"]["all"]
    return "\n".join([
        f"figures {window}" + (f" · model {f['model']}" if f["model"] else "")
        + (f" · customer {f['customer']}" if f["customer"] else ""),
        f"  received {u['received']}  repaired {u['repaired']} (refurbished {u['refurbished']}, shipped "
        f"{u['shipped']})  scrapped {u['scrapped']}  returned unrepaired {u['returned_unrepaired']}",
        f"  work in progress {fig['wip']['total']} ({fig['wip']['late']} past target turnaround)",
        f"  turnaround median {turn['median_days'] if turn['median_days'] is not None else '—'} d, "
        f"90th percentile {turn['p90_days'] if turn['p90_days'] is not None else '—'} d ({turn['units']} units)",
        f"  repeat-repair rate {rate(q['repeat_rate'])}  first-time-fix rate {rate(q['first_time_fix_rate'])}",
        f"  first-pass yield {rate(t['first_pass_yield'])}  re-tests per unit "
        f"{t['retests_per_unit'] if t['retests_per_unit'] is not None else '—'}  no fault found {rate(t['nff_rate'])}",
        f"  parts cost per repaired unit {p['cost_per_repaired_unit'] or '—'}  fill rate {rate(p['fill_rate'])}  "
        f"stock value {p['stock_value']}",
        f"  programming {fig['programming']['attempts']} attempts, yield {rate(fig['programming']['yield'])}  "
        f"courier costs {fig['couriers']['total']}  labour {fig['technicians']['hours']} h",
    ])


def cmd_report_month(ctx: Context) -> int:
    from rma.reports import monthly

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        report = monthly.month_report(uow, a.month, model=a.model, customer=a.customer)
    written = []
    if a.xlsx:
        _write(Path(a.xlsx), monthly.xlsx(report))
        written.append(a.xlsx)
    if a.pdf:
        _write(Path(a.pdf), monthly.pdf(report))
        written.append(a.pdf)
    ctx.out({**report, "files": written},
            lambda: _summary(report) + "".join(f"\nwrote {w}" for w in written))
    return 0


def cmd_report_figures(ctx: Context) -> int:
    from rma.reports import figures

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        f = figures.filters(uow, month=a.month, date_from=a.date_from, date_to=a.date_to, model=a.model,
                            customer=a.customer)
        fig = figures.all_figures(uow, f)
    ctx.out(fig, lambda: _summary(fig))
    return 0


def cmd_report_list(ctx: Context) -> int:
    from rma.reports import figures

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        f = figures.filters(uow, month=a.month, date_from=a.date_from, date_to=a.date_to, model=a.model,
                            customer=a.customer)
        if a.figure in figures.RUN_SETS:
            data = figures.drill_runs(uow, f, a.figure, limit=a.limit)
            text = lambda r: f"  run {r['run']}  {r['tag']}  {r['serial']}  attempt {r['attempt']}  {r['outcome']}"  # noqa: E731
        elif a.figure == "parts_cost":
            data = figures.drill_moves(uow, f, limit=a.limit)
            text = lambda r: f"  {r['at'][:10]}  {r['tag']}  {r['part_number']}  {r['qty']}  {r['value']}"  # noqa: E731
        elif a.figure == "programming":
            data = figures.drill_attempts(uow, f, limit=a.limit)
            text = lambda r: f"  attempt {r['attempt']}  {r['tag'] or '—'}  socket {r['socket']}  {r['result']}"  # noqa: E731
        else:
            data = figures.drill_visits(uow, f, a.figure, a.key, limit=a.limit)
            text = lambda r: f"  {r['tag']}  {r['serial']}  {r['model']}  {r['customer'] or '—'}  {r['state']}"  # noqa: E731
    ctx.out(data, lambda: "\n".join([f"{data['figure']}: {data['total']}"] + [text(r) for r in data["rows"]]))
    return 0


def _filters(p) -> None:  # noqa: ANN001
    p.add_argument("--model", help="one model's figures")
    p.add_argument("--customer", help="one customer's figures")


def _window(p) -> None:  # noqa: ANN001
    p.add_argument("--month", help="YYYY-MM (default: this month)")
    p.add_argument("--from", dest="date_from", help="first month, YYYY-MM")
    p.add_argument("--to", dest="date_to", help="last month, YYYY-MM (default: this month)")
    _filters(p)


def register(sub) -> None:  # noqa: ANN001
    report = sub.add_parser("report", help="the department's figures and the monthly report").add_subparsers(
        dest="report_command", required=True)
    m = cmd(report, "month", cmd_report_month, "a month's figures; --xlsx/--pdf write the monthly report (售后月报表)")
    m.add_argument("month", help="YYYY-MM")
    m.add_argument("--xlsx", metavar="FILE", help="the report as an Excel workbook, one sheet per area")
    m.add_argument("--pdf", metavar="FILE", help="the report as a PDF")
    _filters(m)
    f = cmd(report, "figures", cmd_report_figures, "every figure of a month or a window of months")
    _window(f)
    lst = cmd(report, "list", cmd_report_list, "the visits, test runs, parts moves or attempts behind a figure")
    lst.add_argument("figure", help="received, repaired, shipped, repeat, wip, late, defect, …; first, retest, …; "
                                    "parts_cost; programming")
    lst.add_argument("key", nargs="?", help="the bar: a state (wip), a code (symptom, defect, designator), a plan, "
                                            "a technician")
    lst.add_argument("--limit", type=int, default=500)
    _window(lst)
