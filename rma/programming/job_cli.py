"""``rma program job …``: IC batch jobs from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rma.clikit import Context, one_line
from rma.clikit import add_command as cmd
from rma.errors import DomainError

GOOD_STOPS = ("complete", "nothing_left", "rounds", "stopped")


def _actor(ctx: Context, uow):  # noqa: ANN001, ANN202
    from rma.core.services import get_actor

    return get_actor(uow, ctx.actor_name())


def _job_line(r: dict[str, Any]) -> str:
    return (f"{r['job']}  {r['state']:<8} {r['programmed_part']:<24} fw {r['firmware_version']} ({r['sha8']})  "
            f"wanted {r['quantity']}: issued {r['issued']}, good {r['good']}, failed {r['failed']}, returned "
            f"{r['returned']}, in progress {r['in_progress']}, left {r['left']}"
            + (f"  [running at {r['station']}]" if r["station"] else ""))


def _job_text(r: dict[str, Any]) -> str:
    lines = [_job_line(r),
             f"  image {r['image_id']} {r['firmware_version']} for {r['blank_part']} ({r['memory']} {r['chip_id']}, "
             f"{r['size']:,} bytes), sha256 {r['firmware_sha256']}",
             f"  good ICs go to bin {r['bin']} as {r['programmed_part']}; opened by {r['created_by']} "
             f"{r['created_at'][:16]}; yield {r['yield'] or '-'} %"]
    for s in r["sockets"]:
        lines.append(f"  socket {s['socket']}: {'on ' if s['on'] else 'OFF'}  good {s['good']}, failed {s['failed']}, "
                     f"errors {s['errors']}, yield {s['yield'] or '-'} %")
    for e in r["events"]:
        lines.append(f"  {e['at'][:16]}  socket {e['socket']} {e['kind'].removeprefix('socket_')} by {e['by']}"
                     + (f": {e['reason']}" if e["reason"] else ""))
    return "\n".join(lines)


def cmd_job_new(ctx: Context) -> int:
    from rma.programming import jobs

    a = ctx.args
    with ctx.database().uow() as uow:
        r = jobs.new_job(uow, _actor(ctx, uow), image=a.image, part_number=a.part, quantity=a.quantity,
                         bin_code=a.bin, note=a.note)
    ctx.out(r, lambda: f"opened {r['job']}: {r['quantity']} × {r['programmed_part']} into {r['bin']} "
                       f"(issue the blanks: rma program job issue {r['job']} --bin BIN --quantity N)")
    return 0


def cmd_job_issue(ctx: Context) -> int:
    from rma.programming import jobs

    a = ctx.args
    with ctx.database().uow() as uow:
        r = jobs.issue(uow, _actor(ctx, uow), a.job, bin_code=a.bin, quantity=a.quantity)
    ctx.out(r, lambda: f"issued {r['quantity']} × {r['part_number']} from {r['bin']} to job {r['job']}")
    return 0


def cmd_job_return(ctx: Context) -> int:
    from rma.programming import jobs

    a = ctx.args
    with ctx.database().uow() as uow:
        r = jobs.return_blanks(uow, _actor(ctx, uow), a.job, bin_code=a.bin, quantity=a.quantity)
    ctx.out(r, lambda: f"returned {r['quantity']} × {r['part_number']} from job {r['job']} to {r['bin']}")
    return 0


def cmd_job_socket(ctx: Context) -> int:
    from rma.programming import jobs

    a = ctx.args
    with ctx.database().uow() as uow:
        r = jobs.switch_socket(uow, _actor(ctx, uow), a.job, a.socket, on=a.state == "on", reason=a.reason)
    ctx.out(r, lambda: _job_text(r))
    return 0


def cmd_job_show(ctx: Context) -> int:
    from rma.programming import jobs

    with ctx.database().uow(readonly=True) as uow:
        r = jobs.show_job(uow, ctx.args.job)
    ctx.out(r, lambda: _job_text(r))
    return 0


def cmd_job_list(ctx: Context) -> int:
    from rma.programming import jobs

    with ctx.database().uow(readonly=True) as uow:
        rows = jobs.list_jobs(uow, limit=ctx.args.limit)
    ctx.out(rows, lambda: "\n".join(_job_line(r) for r in rows) or "no IC programming jobs")
    return 0


def cmd_job_label(ctx: Context) -> int:
    from rma.programming import jobs

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        data = jobs.job_label(uow, a.job, count=a.count, dpi=a.dpi, fmt=a.format)
    try:
        Path(a.out).write_bytes(data)
    except (OSError, ValueError) as exc:
        raise DomainError("unwritable_file", "cannot write {path}: {reason}", path=str(a.out)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None
    ctx.out({"file": a.out, "bytes": len(data)}, f"wrote {a.out} ({len(data)} bytes)")
    return 0


def _run(ctx: Context, *, resume: bool) -> int:
    from rma.programming import job_runner
    from rma.programming.cli import ProgressBar

    a = ctx.args
    bar = ProgressBar()
    interactive = sys.stdin.isatty() and not ctx.json

    def show(event: Any) -> None:
        if isinstance(event, job_runner.JobProgress):
            bar.show(event)
        elif isinstance(event, job_runner.SocketEvent) and event.state != "busy":
            bar.end()
            bar.phase = ""
            where = f" at 0x{event.first_bad_address:08X}" if event.first_bad_address is not None \
                and f"{event.first_bad_address:08X}" not in (event.reason or "") else ""
            print(one_line(f"socket {event.socket}: {event.state.upper()}"
                           + (f" attempt {event.attempt_id}" if event.attempt_id else "")
                           + (f" — {event.reason}{where}" if event.reason and event.state != "ok" else "")),
                  file=sys.stderr, flush=True)
        elif isinstance(event, job_runner.RoundDone):
            c = event.counts
            print(f"round {event.round}: good {c['good']}, failed {c['failed']}, left {c['left']} of "
                  f"{c['issued']} issued ({c['quantity']} wanted)", file=sys.stderr, flush=True)

    def next_round(n: int) -> bool:
        if not interactive:
            return True
        print("take the ICs out (good to the tray, failed to scrap), put blank ones in, Enter to go on, "
              "q Enter to stop: ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        return bool(line) and line.strip().lower() not in ("q", "quit", "stop")

    try:
        run = job_runner.run_job(ctx.database(), ctx.actor_name() or "", a.job, port=a.port, station=None,
                                 resume=resume, on_event=show, next_round=next_round, rounds=a.rounds)
    finally:
        bar.end()
    data = run.as_dict()
    ctx.out(data, lambda: f"{run.job}: {run.stopped} — {run.message}\n{_job_text(run.counts)}")
    return 0 if run.stopped in GOOD_STOPS else 3


def cmd_job_run(ctx: Context) -> int:
    return _run(ctx, resume=False)


def cmd_job_resume(ctx: Context) -> int:
    return _run(ctx, resume=True)


def register(pr) -> None:  # noqa: ANN001
    job = pr.add_parser("job", help="IC batch jobs: blank ICs programmed into stores") \
        .add_subparsers(dest="job_command", required=True)
    p = cmd(job, "new", cmd_job_new, "open a job: a released image, a blank IC part, a quantity (materials, lead)")
    p.add_argument("--image", required=True, help="the image's number or the start of its SHA-256")
    p.add_argument("--part", required=True, help="the blank IC's part number (the image must be for it)")
    p.add_argument("--quantity", required=True, help="good ICs wanted")
    p.add_argument("--bin", help="where the programmed ICs go (default: the blank part's home bin)")
    p.add_argument("--note")
    for name, fn, text in (("issue", cmd_job_issue, "blank ICs from a bin to the job (materials)"),
                           ("return", cmd_job_return, "blank ICs the job holds back to a bin")):
        p = cmd(job, name, fn, text)
        p.add_argument("job")
        p.add_argument("--bin", required=True)
        p.add_argument("--quantity", required=True)
    for name, fn, text in (("run", cmd_job_run, "program the job's ICs socket by socket, round after round; exit 0 "
                            "when it stopped cleanly, 3 when the programmer or the sockets stopped it"),
                           ("resume", cmd_job_resume, "after a station stopped: check the IC left in progress by "
                            "its hash (good, or erased and done again), then run on")):
        p = cmd(job, name, fn, text)
        p.add_argument("job")
        p.add_argument("--port", required=True, help="the programmer: /dev/ttyUSB0, socket://host:port, …")
        p.add_argument("--rounds", type=int, help="stop after this many rounds (default: until done)")
    p = cmd(job, "socket", cmd_job_socket, "switch a socket off (or on again) for the job")
    p.add_argument("job")
    p.add_argument("socket")
    p.add_argument("state", choices=["on", "off"])
    p.add_argument("--reason")
    p = cmd(job, "show", cmd_job_show, "a job: counts from the ledgers, sockets, yield per socket")
    p.add_argument("job")
    p = cmd(job, "list", cmd_job_list, "IC programming jobs, newest first")
    p.add_argument("--limit", type=int)
    p = cmd(job, "label", cmd_job_label, "a tray or bag label of good ICs (part, firmware, SHA-256's first 8, "
            "count) to a file")
    p.add_argument("job")
    p.add_argument("--count", help="ICs in the tray or bag (default: all the good ones)")
    p.add_argument("--out", required=True)
    p.add_argument("--dpi", type=int, choices=[203, 300], default=203)
    p.add_argument("--format", choices=["png", "pdf", "zpl"], default="png")
