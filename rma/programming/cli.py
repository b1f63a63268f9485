"""Programming commands: the firmware registry, unit reflash, the programming ledger, the simulator."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from rma.clikit import Context, one_line, terminal_safe
from rma.clikit import add_command as cmd
from rma.errors import DomainError
from rma.exports import csv_text
from rma.programming import job_cli

# ---------------------------------------------------------------- the firmware registry


def _read_image(path_text: str) -> tuple[bytes, str]:
    from rma.programming.registry import MAX_IMAGE_BYTES

    path = Path(path_text)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise DomainError("unreadable_file", "cannot read {path}: {reason}", path=str(path)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=str(path)[:200],
                          mb=MAX_IMAGE_BYTES // 2**20)
    return data, path.name


def _image_line(r: dict[str, Any]) -> str:
    target = ", ".join(r["models"] + ([r["part_number"]] if r["part_number"] else []))
    current = f"  current for {', '.join(r['current_for'])}" if r["current_for"] else ""
    return (f"{r['id']:>4}  {r['version']:<12} {r['state']:<9} {target:<22} {r['memory']} {r['chip_id']} "
            f"@0x{r['base']:X}  {r['size']:>9,} B  {r['sha256'][:12]}{current}")


def _image_text(r: dict[str, Any]) -> str:
    lines = [_image_line(r),
             f"      file {r['filename']}" + (f" ({r['file']})" if "file" in r else "")
             + f", added by {r['added_by']} {r['added_at'][:16]}",
             f"      sha256 {r['sha256']}"]
    if r["notes"]:
        lines.append(f"      notes: {r['notes']}")
    for e in r.get("events", []):
        lines.append(f"      {e['at'][:16]}  {e['event']:<12} {e['by']}" + (f"  {e['model']}" if e["model"] else "")
                     + (f"  {e['note']}" if e["note"] else ""))
    return "\n".join(lines)


def cmd_firmware_add(ctx: Context) -> int:
    from rma.core.services import get_actor
    from rma.programming import registry

    a = ctx.args
    data, name = _read_image(a.file)
    with ctx.database().uow() as uow:
        image = registry.add_image(uow, get_actor(uow, ctx.actor_name()), data=data, filename=name, version=a.version,
                                   models=a.model, part_number=a.part, memory=a.memory, chip_id=a.chip_id,
                                   base=_address(a.base), notes=a.notes)
        row = registry.show_image(uow, str(image.id))
    ctx.out(row, lambda: f"added as a draft (the lead releases it):\n{_image_text(row)}")
    return 0


def _address(text: str | None) -> int:
    try:
        return int(str(text or "0").strip(), 0)
    except ValueError:
        raise DomainError("bad_base", "the base address is a number from 0 to {most}, not {base}",
                          most=2**31 - 1, base=str(text)[:30]) from None


def cmd_firmware_release(ctx: Context) -> int:
    from rma.core.services import get_actor
    from rma.programming import registry

    with ctx.database().uow() as uow:
        row = registry.release_image(uow, get_actor(uow, ctx.actor_name()), ctx.args.key,
                                     make_current=not ctx.args.keep_current, note=ctx.args.note)
    ctx.out(row, lambda: f"released:\n{_image_text(row)}")
    return 0


def cmd_firmware_retire(ctx: Context) -> int:
    from rma.core.services import get_actor
    from rma.programming import registry

    with ctx.database().uow() as uow:
        row = registry.retire_image(uow, get_actor(uow, ctx.actor_name()), ctx.args.key, reason=ctx.args.reason)
    ctx.out(row, lambda: f"retired:\n{_image_text(row)}")
    return 0


def cmd_firmware_list(ctx: Context) -> int:
    from rma.programming import registry

    with ctx.database().uow(readonly=True) as uow:
        rows = registry.list_images(uow, model=ctx.args.model, state=ctx.args.state)
    ctx.out(rows, lambda: "\n".join(_image_line(r) for r in rows) or "no firmware images")
    return 0


def cmd_firmware_show(ctx: Context) -> int:
    from rma.programming import registry

    with ctx.database().uow(readonly=True) as uow:
        row = registry.show_image(uow, ctx.args.key)
    ctx.out(row, lambda: _image_text(row))
    return 0


# ---------------------------------------------------------------- unit reflash

class ProgressBar:
    """A live bar on stderr: bytes written or verified, bytes per second, time left.

    On a terminal it redraws in place at most 10 times a second; into a file or a pipe it
    writes a line at each quarter and at each change of phase, so a log stays short.
    """

    WIDTH = 30

    def __init__(self, stream=None) -> None:  # noqa: ANN001
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = 0.0
        self.phase = ""
        self.quarter = -1

    def show(self, p: Any) -> None:
        now = time.monotonic()
        finished = p.done >= p.total
        quarter = 4 * p.done // max(1, p.total)
        if self.tty and not finished and p.phase == self.phase and now - self.shown < 0.1:
            return
        if not self.tty and p.phase == self.phase and quarter == self.quarter:
            return
        new_phase = p.phase != self.phase and self.phase
        self.shown, self.quarter = now, quarter
        filled = int(self.WIDTH * p.done / p.total) if p.total else self.WIDTH
        left = f"{p.seconds_left:.0f} s left" if p.seconds_left is not None and not finished else ""
        rate = f"{p.bytes_per_second / 1000:7.1f} kB/s" if p.bytes_per_second else " " * 12
        line = (f"{p.phase:<6} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {p.done // 1024:>6}/{p.total // 1024} KiB"
                f"  {rate}  {left}")
        if self.tty:
            self.stream.write(("\n" if new_phase else "") + "\r" + line.ljust(78))
        else:
            self.stream.write(line.rstrip() + "\n")
        self.phase = p.phase
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.phase:
            self.stream.write("\n")
            self.stream.flush()


def _result_text(r: dict[str, Any]) -> str:
    from rma.programming.sentences import problem, where_it_stopped
    from rma.sentences import words

    _ = words("en")
    head = f"attempt {r['attempt_id']} on {r['tag']}: {r['result'].upper()}"
    if r["result"] == "ok":
        rate = f", {r['bytes_per_second']:,} B/s" if r["bytes_per_second"] else ""
        return (f"{head} — firmware {r['old_version'] or r['from_version'] or '?'} -> {r['new_version']}, verified "
                f"({r['written']:,} bytes in {r['seconds']:.1f} s{rate}); visit now {r['visit_state']}"
                + (f"; {len(r['alerts_done'])} interception alert(s) done" if r["alerts_done"] else ""))
    why = problem(r["code"], _, expected=r["expected_chip"], actual=r["chip_id"])
    where = where_it_stopped(r["code"], r["first_bad_address"], _, failed=r["result"] == "failed")
    return (f"{head} — {why}" + (f"; {where}" if where else "") + (f"; visit now {r['visit_state']}"
                                                                   if r["visit_state"] else "")
            + (f"\n  ({r['reason']})" if r["reason"] else ""))


def cmd_program_unit(ctx: Context) -> int:
    from rma.programming import services

    a = ctx.args
    bar = ProgressBar()

    def progress(event: Any) -> None:
        if isinstance(event, services.ReflashStarted):
            print(one_line(f"attempt {event.attempt_id}: {event.tag} {event.serial} {event.model}, chip "
                           f"{event.chip_name} {event.chip_id} in socket {event.socket} of {event.programmer}; "
                           f"firmware {event.old_version or 'unknown (' + (event.old_sha256 or '?')[:12] + ')'} "
                           f"-> {event.image_version}"), file=sys.stderr, flush=True)
        elif isinstance(event, services.ReflashProgress):
            bar.show(event)

    try:
        result = services.reflash_unit(ctx.database(), ctx.actor_name() or "", a.tag, port=a.port, socket=a.socket,
                                       on_event=progress)
    finally:
        bar.end()
    data = result.as_dict()
    ctx.out(data, lambda: _result_text(data))
    if not result.durable:
        print(one_line(f"rma: {result.reason}"), file=sys.stderr)
        return 1
    return 0 if result.ok else 3


# ---------------------------------------------------------------- the programming ledger

def _attempt_line(r: dict[str, Any]) -> str:
    where = f"  at {r['first_bad_address']}" if r["first_bad_address"] else ""
    return (f"{r['attempt_id']:>5} {r['started_at'][:16]}  {r['tag'] or '-':<11} {r['serial'] or '-':<14} "
            f"{r['station']:<10} {r['old_version'] or '?':>8} -> {r['image_version']:<8} {r['result'].upper():<10}"
            f" {r['code'] or ''}{where}")


def cmd_program_log(ctx: Context) -> int:
    from rma.core.parse import parse_day
    from rma.programming import services

    a = ctx.args
    f = services.AttemptFilter(tag=a.tag, serial=a.serial, station=a.station, result=a.result,
                               date_from=parse_day(a.date_from), date_to=parse_day(a.date_to), limit=a.limit)
    with ctx.database().uow(readonly=True) as uow:
        rows = services.list_attempts(uow, f)
    if a.csv:
        sys.stdout.write(terminal_safe(csv_text(rows, services.ATTEMPT_COLUMNS)))
        return 0
    ctx.out(rows, lambda: "\n".join(_attempt_line(r) for r in rows) or "no programming attempts")
    return 0


def cmd_program_show(ctx: Context) -> int:
    from rma.programming import services

    with ctx.database().uow(readonly=True) as uow:
        r = services.show_attempt(uow, ctx.args.attempt_id)
    ctx.out(r, lambda: "\n".join([
        _attempt_line(r),
        f"  operator {r['operator']}, programmer {r['programmer'] or '?'} {r['programmer_serial'] or ''} "
        f"(firmware {r['programmer_firmware'] or '?'}) on {r['port']}, socket {r['socket']}, {r['tool_version']}",
        f"  chip {r['chip_name'] or '?'} {r['chip_id'] or '(none answered)'}; image {r['image_id']} "
        f"{r['image_version']} at {r['base']}, {r['size']:,} bytes, sha256 {r['image_sha256']}",
        f"  before: {r['old_version'] or 'unknown'} (sha256 {r['old_sha256'] or '-'})",
        f"  {r['blocks']} blocks acknowledged ({r['written'] or 0:,} bytes); verified {r['verified']}; "
        f"chip sha256 {r['chip_sha256'] or '-'}; {r['seconds'] if r['seconds'] is not None else '-'} s; "
        f"ended {r['ended_at'] or 'never'}",
        *([f"  reason: {r['reason']}"] if r["reason"] else [])]))
    return 0


# ---------------------------------------------------------------- the simulator

def cmd_sim_programmer(ctx: Context) -> int:
    from drivers import programmer_sim

    a = ctx.args
    argv: list[str] = []
    for socket in a.socket:
        argv += ["--socket", socket]
    for fault in a.fault:
        argv += ["--fault", fault]
    if a.tcp:
        argv.append("--tcp")
    if a.port:
        argv += ["--port", str(a.port)]
    if a.no_pace:
        argv.append("--no-pace")
    argv += ["--baudrate", str(a.baudrate), "--latency-ms", str(a.latency_ms), "--chip-time", str(a.chip_time)]
    return programmer_sim.main(argv) or 0


def register(sub) -> None:  # noqa: ANN001
    fw = sub.add_parser("firmware", help="the firmware registry").add_subparsers(dest="firmware_command",
                                                                              required=True)
    add = cmd(fw, "add", cmd_firmware_add, "upload a firmware image as a draft (technician, lead, materials, "
              "supervisor)")
    add.add_argument("file", help="the image file (a raw binary, programmed as it is)")
    add.add_argument("--version", required=True, help="the firmware version, as the unit reports it (e.g. 5.0.3)")
    add.add_argument("--model", action="append", default=[], metavar="MODEL", help="a model it is for (repeatable)")
    add.add_argument("--part", metavar="PART_NUMBER", help="an IC part number it is for")
    add.add_argument("--memory", required=True, help="the memory it targets, e.g. W25Q16")
    add.add_argument("--chip-id", required=True, help="that memory's ID in hex, e.g. EF4015")
    add.add_argument("--base", default="0", help="the address it starts at (default 0; 0x… allowed)")
    add.add_argument("--notes", help="release notes")
    rel = cmd(fw, "release", cmd_firmware_release, "release a draft: it becomes its models' current firmware "
              "(lead, supervisor)")
    rel.add_argument("key", help="the image's number or the start of its SHA-256")
    rel.add_argument("--keep-current", action="store_true", help="leave the models' current firmware as it is")
    rel.add_argument("--note", help="a note kept with the release")
    ret = cmd(fw, "retire", cmd_firmware_retire, "retire an image: never programmed again (lead, supervisor)")
    ret.add_argument("key", help="the image's number or the start of its SHA-256")
    ret.add_argument("--reason", required=True)
    ls = cmd(fw, "list", cmd_firmware_list, "the firmware registry, newest first")
    ls.add_argument("--model")
    ls.add_argument("--state", help="draft, released or retired")
    show = cmd(fw, "show", cmd_firmware_show, "one image: its file checked now, and its history")
    show.add_argument("key", help="the image's number or the start of its SHA-256")

    pr = sub.add_parser("program", help="programming: unit reflash and the programming ledger") \
        .add_subparsers(dest="program_command", required=True)
    unit = cmd(pr, "unit", cmd_program_unit, "reflash a unit in programming with its model's current firmware "
               "(technician, lead); exit 0 when programmed and verified, 3 when not, 1 if it could not start")
    unit.add_argument("tag", help="the visit's tag, or the unit's serial")
    unit.add_argument("--port", required=True, help="the programmer: /dev/ttyUSB0, socket://host:port, …")
    unit.add_argument("--socket", default="1", help="the programmer's socket the unit is on (default 1)")
    log = cmd(pr, "log", cmd_program_log, "the programming ledger (IC烧录记录), newest first")
    log.add_argument("--tag")
    log.add_argument("--serial")
    log.add_argument("--station")
    log.add_argument("--result", help="ok, failed, error, aborted, abandoned or unfinished")
    log.add_argument("--from", dest="date_from")
    log.add_argument("--to", dest="date_to")
    log.add_argument("--limit", type=int)
    log.add_argument("--csv", action="store_true")
    sh = cmd(pr, "show", cmd_program_show, "one programming attempt")
    sh.add_argument("attempt_id", type=int)
    job_cli.register(pr)

    sim = next(a for a in sub._name_parser_map["sim"]._actions if a.dest == "sim_command")  # noqa: SLF001
    p = cmd(sim, "programmer", cmd_sim_programmer, "a simulated 4-socket gang programmer: prints its URL",
            json_out=False)
    p.add_argument("--socket", action="append", default=[], metavar="N=CHIP",
                   help="the chip in socket N: W25Q16 (default in all four), W25Q32, 24C64, STM32F103CB; "
                        "N= leaves it empty")
    p.add_argument("--fault", action="append", default=[], metavar="NAME[=VALUE][@SOCKET]",
                   help="no_target, wrong_chip_id[=HEX], nack_at_block=N, write_protect, verify_mismatch_at=N, "
                        "timeout[=N], link_drop_at_byte=K, corrupt_frame[=N], power_loss_mid_block[=N], "
                        "bad_socket=S; @SOCKET limits a chip's fault to one socket")
    p.add_argument("--tcp", action="store_true", help="a loopback TCP port (socket://) instead of a pty")
    p.add_argument("--port", type=int, default=0, help="the TCP port with --tcp (default: any free port)")
    p.add_argument("--no-pace", action="store_true", help="answer at once instead of at the serial line rate")
    p.add_argument("--baudrate", type=int, default=921600, help="the line rate it is paced at (921600)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added to every reply (a USB bridge's latency)")
    p.add_argument("--chip-time", type=float, default=0.0,
                   help="scale of the chips' datasheet erase/program times (0: instant, 1: typical)")
