"""IC batch jobs (IC程序委托烧录): what the materials clerk opens, issues, reads and labels.

A job is a released image, a blank IC part and a quantity of good ICs wanted. Opening it makes
(or finds) the stores' programmed part (the blank part + the image) and names the bin its good
ICs go to. The clerk issues blank ICs to it from stores (``rma.inventory.services.issue_to_job``);
``rma.programming.job_runner`` programs them socket by socket, each attempt in the programming
ledger, each IC's move booked by the stores' services in the same transaction as its result.

Counts are never kept: issued and returned come from the parts ledger, good and failed from the
results of the job's attempts (and the stores' moves of the job agree with them: ``rma check``),
in progress from the attempts without a result, left from what the job still holds.

Services (a unit of work first, the acting user next for changing ones):

- ``new_job(uow, actor, *, image, part_number, quantity, bin_code=None, note=None) -> dict``
- ``issue(uow, actor, key, *, bin_code, quantity) -> dict`` / ``return_blanks(…)``: through the stores
- ``switch_socket(uow, actor, key, socket, *, on, reason=None, by_system=False) -> dict``
- ``show_job(uow, key) -> dict``: the job, its counts, each socket (on/off, good, failed, yield)
- ``list_jobs(uow, *, limit=None) -> list[dict]``
- ``job_label(uow, key, *, count=None, fmt="png", dpi=203) -> bytes``: a tray or bag of good ICs
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from rma.core.models import Role, User
from rma.core.parse import check_limit, clean_text
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory import services as stores
from rma.inventory.amounts import parse_qty
from rma.inventory.ledger import find_bin, find_part
from rma.inventory.models import Part, StockLocation
from rma.programming import registry
from rma.programming.job_models import (
    JOB_PREFIX,
    IcJob,
    IcJobAttempt,
    IcJobEvent,
    IcJobLock,
    JobEventKind,
    job_number,
)
from rma.programming.models import (
    AttemptResult,
    FirmwareImage,
    ProgrammingAttempt,
    ProgrammingResult,
)

OPENERS = (Role.MATERIALS, Role.LEAD)
RUNNERS = (Role.MATERIALS, Role.TECHNICIAN, Role.LEAD)
MAX_QUANTITY = 100_000
MAX_SOCKETS = 16
_KEY_RE = re.compile(r"^(?:ICJ-?)?0*(\d{1,9})$")


def find_job(uow: UnitOfWork, key: str | int | None, *, lock: bool = False) -> IcJob:
    """A job by its number (``ICJ-000012``) or id (``12``)."""
    m = _KEY_RE.match(str(key or "").strip().upper())
    job = uow.session.get(IcJob, int(m.group(1))) if m and int(m.group(1)) > 0 else None
    if job is None:
        raise DomainError("unknown_job", "no IC programming job {job}", job=str(key or "")[:40])
    return job


def _quantity(raw: Any) -> int:
    try:
        value = Decimal(str(raw).strip())
        ok = value == value.to_integral_value() and 1 <= value <= MAX_QUANTITY
    except (ArithmeticError, ValueError):
        ok = False
    if not ok:
        raise DomainError("bad_job_quantity", "a job's quantity is a whole number from 1 to {most}, not {qty}",
                          most=MAX_QUANTITY, qty=str(raw)[:20])
    return int(value)


def check_job_socket(socket: Any) -> int:
    try:
        number = int(str(socket).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_SOCKETS:
        raise DomainError("bad_job_socket", "a programmer's socket is a number from 1 to {most}, not {socket}",
                          most=MAX_SOCKETS, socket=str(socket)[:20])
    return number


# ---------------------------------------------------------------- opening and issuing

def new_job(uow: UnitOfWork, actor: User, *, image: str, part_number: str, quantity: Any,
            bin_code: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Open a job: a released image for the blank part, the good ICs wanted, the bin they go to."""
    require_role(actor, *OPENERS, action="open IC programming jobs")
    qty = _quantity(quantity)
    blank = find_part(uow, part_number)
    img = registry.find_image(uow, image)
    registry.require_programmable(img, registry.state_of(uow, img.id))
    if blank.blank_part_id is not None:
        raise DomainError("not_a_blank", "{part} is itself a programmed part; name its blank part",
                          part=blank.part_number)
    if (img.part_number or "").upper() != blank.part_number.upper():
        raise DomainError("firmware_not_for_part", "firmware {version} ({sha}) is not for {part} (it is for "
                          "{target})", version=img.version, sha=img.sha256[:12], part=blank.part_number,
                          target=img.part_number or "models only")
    if bin_code:
        bin_ = find_bin(uow, bin_code)
    elif blank.home_bin_id is not None:
        bin_ = uow.session.get(StockLocation, blank.home_bin_id)
    else:
        raise DomainError("job_needs_bin", "{part} has no home bin: name the bin the programmed ICs go to",
                          part=blank.part_number)
    note = clean_text(note, "note", column=IcJob.note) if note else None
    programmed = stores.add_programmed_part(uow, actor, blank_part_number=blank.part_number,
                                            firmware_sha256=img.sha256, firmware_version=img.version)
    job = IcJob(image_id=img.id, blank_part_id=blank.id,
                programmed_part_id=find_part(uow, programmed["part_number"]).id, bin_id=bin_.id, quantity=qty,
                note=note, created_by_id=actor.id, created_at=uow.now())
    uow.session.add(job)
    uow.session.flush()
    return show_job(uow, job.number)


def issue(uow: UnitOfWork, actor: User, key: str, *, bin_code: str, quantity: Any) -> dict[str, Any]:
    """Blank ICs from a bin to the job, through the stores."""
    job = find_job(uow, key)
    blank = uow.session.get(Part, job.blank_part_id)
    return stores.issue_to_job(uow, actor, job=job.number, part_number=blank.part_number, bin_code=bin_code,
                               quantity=quantity)


def return_blanks(uow: UnitOfWork, actor: User, key: str, *, bin_code: str, quantity: Any) -> dict[str, Any]:
    """Blank ICs the job holds back to a bin (never an IC in a socket now), through the stores."""
    job = find_job(uow, key)
    blank = uow.session.get(Part, job.blank_part_id)
    qty = parse_qty(quantity, decimals=blank.decimals, uom=blank.uom, part=blank.part_number)
    busy = _unfinished(uow, job.id)
    if busy and qty > held_milli(uow, job) - busy * one(blank):
        raise DomainError("job_ic_in_progress", "job {job} has {n} IC(s) in progress in a socket: those cannot "
                          "go back to a bin", job=job.number, n=busy)
    return stores.return_from_job(uow, actor, job=job.number, part_number=blank.part_number, bin_code=bin_code,
                                  quantity=quantity)


def switch_socket(uow: UnitOfWork, actor: User, key: str, socket: Any, *, on: bool, reason: str | None = None,
                  by_system: bool = False) -> dict[str, Any]:
    """Switch one of the programmer's sockets off for this job (or on again); the job goes on."""
    require_role(actor, *RUNNERS, action="run IC programming jobs")
    job = find_job(uow, key)
    number = check_job_socket(socket)
    reason = clean_text(reason, "reason", column=IcJobEvent.reason) if reason else None
    if (number in sockets_off(uow, job.id)) != on:  # already so: nothing to write
        return show_job(uow, job.number)
    uow.session.add(IcJobEvent(job_id=job.id, kind=JobEventKind.SOCKET_ON if on else JobEventKind.SOCKET_OFF,
                               socket=number, reason=reason, by_system=by_system, actor_id=actor.id, at=uow.now()))
    uow.session.flush()
    return show_job(uow, job.number)


# ---------------------------------------------------------------- reading a job from its ledgers

def one(part: Part) -> int:
    """One IC in the part's thousandths."""
    return parse_qty(1, decimals=part.decimals, uom=part.uom, part=part.part_number)


def held_milli(uow: UnitOfWork, job: IcJob) -> int:
    """Blank ICs the job holds now (issued - good - failed - returned), from the parts ledger."""
    from rma.inventory.ledger import holding, virtual
    from rma.inventory.models import LocationKind

    room = virtual(uow, LocationKind.PROGRAMMING, create=False)
    if room is None:
        return 0
    return holding(uow, job.blank_part_id, location=room, job=job.number)[0]


def _unfinished(uow: UnitOfWork, job_id: int) -> int:
    return uow.session.scalar(
        select(func.count()).select_from(IcJobAttempt)
        .outerjoin(ProgrammingResult, ProgrammingResult.attempt_id == IcJobAttempt.attempt_id)
        .where(IcJobAttempt.job_id == job_id, ProgrammingResult.attempt_id.is_(None))) or 0


def unfinished_attempts(uow: UnitOfWork, job_id: int) -> list[ProgrammingAttempt]:
    """The job's attempts without a result: ICs left in progress by a station that stopped."""
    return list(uow.session.scalars(
        select(ProgrammingAttempt).join(IcJobAttempt, IcJobAttempt.attempt_id == ProgrammingAttempt.id)
        .outerjoin(ProgrammingResult, ProgrammingResult.attempt_id == ProgrammingAttempt.id)
        .where(IcJobAttempt.job_id == job_id, ProgrammingResult.attempt_id.is_(None))
        .order_by(ProgrammingAttempt.id)))


def sockets_off(uow: UnitOfWork, job_id: int) -> set[int]:
    """Sockets whose last event in this job switched them off."""
    last = (select(IcJobEvent.socket, func.max(IcJobEvent.id).label("id"))
            .where(IcJobEvent.job_id == job_id).group_by(IcJobEvent.socket).subquery())
    return set(uow.session.scalars(select(IcJobEvent.socket).join(last, last.c.id == IcJobEvent.id)
                                   .where(IcJobEvent.kind == JobEventKind.SOCKET_OFF)))


def _per_socket(uow: UnitOfWork, job_ids: list[int]) -> dict[int, dict[int, dict[str, int]]]:
    """job id -> socket -> {ok, failed, error, aborted, abandoned, unfinished}: one GROUP BY."""
    result = ProgrammingResult.result
    rows = uow.session.execute(
        select(IcJobAttempt.job_id, ProgrammingAttempt.socket, result, func.count())
        .join(ProgrammingAttempt, ProgrammingAttempt.id == IcJobAttempt.attempt_id)
        .outerjoin(ProgrammingResult, ProgrammingResult.attempt_id == IcJobAttempt.attempt_id)
        .where(IcJobAttempt.job_id.in_(job_ids))
        .group_by(IcJobAttempt.job_id, ProgrammingAttempt.socket, result)).all() if job_ids else []
    out: dict[int, dict[int, dict[str, int]]] = {}
    for job_id, socket, res, n in rows:
        key = AttemptResult(res).value if res is not None else "unfinished"
        out.setdefault(job_id, {}).setdefault(socket, {}).setdefault(key, 0)
        out[job_id][socket][key] += n
    return out


def _stock(uow: UnitOfWork, numbers: list[str], blank_ids: dict[str, int]) -> dict[str, dict[str, int]]:
    """job number -> issued, returned, good, failed of its blank part, in ICs, from the parts ledger."""
    from rma.inventory.ledger import virtual
    from rma.inventory.models import LocationKind, MoveKind, StockMove

    room = virtual(uow, LocationKind.PROGRAMMING, create=False)
    out = {n: {"issued": 0, "returned": 0, "good": 0, "failed": 0} for n in numbers}
    if room is None or not numbers:
        return out
    m = StockMove
    sign = case((m.corrects_id.is_(None), 1), else_=-1)
    kinds = {MoveKind.JOB_ISSUE.value: "issued", MoveKind.JOB_RETURN.value: "returned",
             MoveKind.JOB_SCRAP.value: "failed", MoveKind.PROGRAM.value: "good"}
    parts = {p.id: p for p in uow.session.scalars(select(Part).where(Part.id.in_(set(blank_ids.values()))))}
    for number, part_id, kind, qty in uow.session.execute(
            select(m.job, m.part_id, m.kind, func.sum(sign * m.qty_milli))
            .where(m.job.in_(numbers), m.from_id.in_([room.id]) | (m.kind == MoveKind.JOB_ISSUE.value))
            .group_by(m.job, m.part_id, m.kind)):
        if part_id != blank_ids.get(number) or kind not in kinds:
            continue
        out[number][kinds[kind]] += int(qty) // one(parts[part_id])
    return out


def _job_rows(uow: UnitOfWork, jobs: list[IcJob]) -> list[dict[str, Any]]:
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    images = {i.id: i for i in uow.session.scalars(select(FirmwareImage).where(
        FirmwareImage.id.in_({j.image_id for j in jobs})))}
    parts = {p.id: p for p in uow.session.scalars(select(Part).where(
        Part.id.in_({j.blank_part_id for j in jobs} | {j.programmed_part_id for j in jobs})))}
    bins = {b.id: b.code for b in uow.session.scalars(select(StockLocation).where(
        StockLocation.id.in_({j.bin_id for j in jobs})))}
    stock = _stock(uow, [j.number for j in jobs], {j.number: j.blank_part_id for j in jobs})
    sockets = _per_socket(uow, ids)
    locks = {lk.job_id: lk for lk in uow.session.scalars(select(IcJobLock).where(IcJobLock.job_id.in_(ids)))}
    out = []
    for j in jobs:
        img, per = images[j.image_id], sockets.get(j.id, {})
        good = sum(s.get("ok", 0) for s in per.values())
        failed = sum(s.get("failed", 0) for s in per.values())
        in_progress = sum(s.get("unfinished", 0) for s in per.values())
        st = stock[j.number]
        left = st["issued"] - st["returned"] - good - failed  # the blanks the job still holds
        state = "complete" if good >= j.quantity else ("running" if j.id in locks else "open")
        out.append({
            "job": j.number, "id": j.id, "state": state, "quantity": j.quantity,
            "image_id": img.id, "firmware_version": img.version, "firmware_sha256": img.sha256,
            "sha8": img.sha256[:8], "memory": img.memory, "chip_id": img.chip_id, "size": img.size,
            "blank_part": parts[j.blank_part_id].part_number, "programmed_part": parts[j.programmed_part_id].part_number,
            "name_zh": parts[j.programmed_part_id].name_zh, "name_en": parts[j.programmed_part_id].name_en,
            "bin": bins[j.bin_id], "note": j.note, "created_by": j.created_by.username,
            "created_at": j.created_at.isoformat(),
            "issued": st["issued"], "returned": st["returned"], "good": good, "failed": failed,
            "in_progress": in_progress, "left": left, "to_program": max(0, min(left - in_progress,
                                                                               j.quantity - good)),
            "stock_good": st["good"], "stock_failed": st["failed"],
            "station": locks[j.id].station if j.id in locks else None,
        })
    return out


def _yield(ok: int, failed: int) -> str | None:
    return None if ok + failed == 0 else f"{100 * ok / (ok + failed):.1f}"


def show_job(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """A job: what it is, its counts from the ledgers, and each socket: on or off, good, failed, yield."""
    job = find_job(uow, key)
    row = _job_rows(uow, [job])[0]
    per = _per_socket(uow, [job.id]).get(job.id, {})
    off = sockets_off(uow, job.id)
    events = list(uow.session.scalars(select(IcJobEvent).where(IcJobEvent.job_id == job.id).order_by(IcJobEvent.id)))
    numbers = sorted(set(per) | off | {e.socket for e in events} | {1, 2, 3, 4})
    row["sockets"] = [{"socket": s, "on": s not in off, "good": per.get(s, {}).get("ok", 0),
                       "failed": per.get(s, {}).get("failed", 0), "errors": per.get(s, {}).get("error", 0),
                       "in_progress": per.get(s, {}).get("unfinished", 0),
                       "yield": _yield(per.get(s, {}).get("ok", 0), per.get(s, {}).get("failed", 0))}
                      for s in numbers]
    row["yield"] = _yield(row["good"], row["failed"])
    row["events"] = [{"at": e.at.isoformat(), "kind": e.kind.value, "socket": e.socket, "reason": e.reason,
                      "by": "system" if e.by_system else e.actor.username} for e in events]
    row["attempts"] = job_attempts(uow, job.id)
    return row


def job_attempts(uow: UnitOfWork, job_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    """The job's attempts, newest first: socket, chip, result, first bad address, seconds."""
    rows = uow.session.execute(
        select(ProgrammingAttempt, ProgrammingResult)
        .join(IcJobAttempt, IcJobAttempt.attempt_id == ProgrammingAttempt.id)
        .outerjoin(ProgrammingResult, ProgrammingResult.attempt_id == ProgrammingAttempt.id)
        .where(IcJobAttempt.job_id == job_id).order_by(ProgrammingAttempt.id.desc()).limit(limit)).all()
    return [{"attempt_id": a.id, "socket": a.socket, "station": a.station, "operator": a.operator.username,
             "chip_id": a.chip_id, "started_at": a.started_at.isoformat(),
             "result": r.result.value if r else "unfinished", "code": r.code if r else None,
             "reason": r.reason if r else None, "verified": r.verified if r else False,
             "first_bad_address": None if not r or r.first_bad_address is None else f"0x{r.first_bad_address:08X}",
             "seconds": r.seconds if r else None} for a, r in rows]


def list_jobs(uow: UnitOfWork, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Jobs, newest first, with their counts."""
    q = select(IcJob).order_by(IcJob.id.desc())
    limit = check_limit(limit)
    if limit:
        q = q.limit(limit)
    return _job_rows(uow, list(uow.session.scalars(q)))


# ---------------------------------------------------------------- the tray label

def job_label(uow: UnitOfWork, key: str, *, count: Any = None, dpi: int = 203, fmt: str = "png") -> bytes:
    """The label of a tray or bag of the job's good ICs: part, firmware version, SHA-256's first 8, count."""
    from labels.errors import LabelError
    from labels.render import render, to_pdf, to_png, to_zpl

    row = show_job(uow, key)
    if count is None or str(count).strip() == "":
        n = row["good"]
    else:
        try:
            n = int(str(count).strip())
        except ValueError:
            n = -1
    if not 1 <= n <= max(row["good"], 0):
        raise DomainError("bad_label_count", "a tray label counts 1 to {good} good ICs of job {job}, not {count}",
                          good=row["good"], job=row["job"], count=str(count)[:20])
    fields = {"part_number": row["programmed_part"], "firmware": row["firmware_version"], "sha8": row["sha8"],
              "count": str(n), "job": row["job"], "description": row["name_zh"]}
    try:
        image = render("ic_tray", fields, dpi)
        if fmt == "pdf":
            return to_pdf([image])
        if fmt == "zpl":
            return to_zpl(image)
        return to_png(image)
    except LabelError as exc:
        raise DomainError("label_error", "the label cannot be made: {reason}", reason=str(exc)) from None


__all__ = ["JOB_PREFIX", "find_job", "issue", "job_label", "job_number", "list_jobs", "new_job", "return_blanks",
           "show_job", "switch_socket"]
