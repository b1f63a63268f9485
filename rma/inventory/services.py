"""The stores' use cases around a tag or a programming job: verbs over plain values.

What other areas call (each takes a unit of work first; changing ones the acting user next;
all of them refuse bad input with a ``DomainError`` and change nothing then):

- ``bom_of_model(uow, model_code) -> list[dict]``: the model's parts list, each
  ``{designator, part_number, name_zh, name_en, quantity, uom, category}`` (quantity per unit).
- ``request_parts(uow, actor, tag, lines, *, note=None) -> list[dict]``: a technician or lead
  asks for parts for an open visit in ``in_repair`` (or ``awaiting_parts``); ``lines`` are
  ``(part_number, quantity)`` or ``(part_number, quantity, designator)``. One requisition line
  each (see ``line_dict``), and one ``parts_requested`` event on the visit.
- ``issue_to_tag(uow, actor, *, tag, part_number, bin_code, quantity=None) -> dict``: the
  materials clerk issues from a bin to the bench for that tag. It fills the oldest open
  requisition lines of that part for that tag (``quantity`` defaults to what they still ask,
  or what the bin holds if less); a line left short is a backorder and the visit goes to
  ``awaiting_parts``; when no backorder is left the visit goes back to ``in_repair``.
- ``fit_part(uow, actor, tag, part_number, quantity, designator, *, note=None) -> dict``: a part
  the tag holds is fitted in the unit (bench → consumed in unit), at its reference designator.
- ``return_part(uow, actor, tag, part_number, quantity, bin_code) -> dict``: unused, back to a
  bin; never more than the tag holds (also after the visit closed).
- ``remove_old_part(uow, actor, tag, part_number, quantity, *, designator=None, note=None) -> dict``:
  a faulty part taken out of a warranty repair goes to old parts (旧件), with the tag.
- ``tag_parts(uow, tag) -> dict``: for the bench card and the unit page: per part requested,
  issued, fitted (with designators), returned, old, backordered and on the bench; the
  requisition lines; and every move of the tag.
- IC programming jobs (a job is the programming area's job number, any text up to 40):
  ``add_programmed_part(uow, actor, *, blank_part_number, firmware_sha256, firmware_version,
  part_number=None, name_zh=None, name_en=None) -> dict`` (the part number of a programmed IC,
  naming its blank and firmware; the same pair again returns the same part, ``created`` false);
  ``issue_to_job(uow, actor, *, job, part_number, bin_code, quantity) -> dict`` (bin → the
  programming room, for the job); ``book_job_result(uow, actor, *, job, blank_part_number,
  programmed_part_number, good, failed, bin_code) -> dict`` (good blanks become programmed parts
  in the bin, failed ones go to scrap, all through the ledger); ``return_from_job(uow, actor, *,
  job, part_number, bin_code, quantity) -> dict``; ``job_stock(uow, job) -> dict`` (per part
  issued, good, failed, returned and in progress, all from the ledger).
- ``refurbish_into_stock(uow, actor, tag) -> dict``: a passed visit ends ``refurbished`` and its
  unit goes into the refurbished-unit store (by model); ``unit_leaves_stock`` takes it out when
  ``rma.intake.services.ship_unit`` sends it to a dealer.

Quantities are given as people type them (``"2"``, ``Decimal("0.5")``, ``3``) and come back as
text with the part's decimals; money comes back as yuan text. Every move of a visit is also an
event on its returns-ledger timeline (``rma.inventory.sentences``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from rma.core.ledger import record_visit_event
from rma.core.models import Role, User, Visit
from rma.core.parse import clean_key, clean_text
from rma.core.services import find_visit, require_role, transition
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import money_text, parse_qty, qty_text, unit_cost, value_of
from rma.inventory.catalogue import (
    add_programmed_part,
    bom_at,
    bom_of_model,
    designator_of,
    unit_part,
)
from rma.inventory.ledger import (
    balance,
    book,
    find_bin,
    find_part,
    holding,
    insufficient,
    lock_parts,
    store_totals,
    virtual,
)
from rma.inventory.models import (
    LocationKind,
    MoveKind,
    Part,
    RequisitionLine,
    StockLocation,
    StockMove,
)

__all__ = [
    "add_programmed_part", "bom_of_model", "book_job_result", "backorder", "cancel_request", "fit_part",
    "issue_to_job", "issue_to_tag", "job_stock", "move_dict", "refurbish_into_stock", "remove_old_part",
    "request_parts", "return_from_job", "return_part", "tag_parts", "unit_leaves_stock",
]

MATERIALS = (Role.MATERIALS,)
BENCH = (Role.TECHNICIAN, Role.LEAD)
REPAIR_STATES = (VisitState.IN_REPAIR, VisitState.AWAITING_PARTS)
FIT_STATES = (VisitState.IN_REPAIR, VisitState.AWAITING_PARTS, VisitState.PROGRAMMING)
MAX_LINES = 50


# ---------------------------------------------------------------- small helpers

def _visit(uow: UnitOfWork, tag: str, *, states: Sequence[VisitState] | None = REPAIR_STATES) -> Visit:
    """The tag's visit: open, and in one of ``states`` (None: any state, closed too)."""
    visit = find_visit(uow, tag)
    if states is None:
        return visit
    if visit.closed_at is not None:
        raise DomainError("visit_closed", "visit {tag} is closed ({state}): parts no longer go to it",
                          tag=visit.tag, state=visit.state.value)
    if visit.state not in states:
        raise DomainError("not_in_repair", "visit {tag} is {state}, not in repair: parts go only to a unit "
                          "at the bench", tag=visit.tag, state=visit.state.value)
    return visit


def _lock_visit(uow: UnitOfWork, visit: Visit) -> None:
    """After the parts: the visit's row, read again, so its state and lines are decided once."""
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(select(Visit.id).where(Visit.id == visit.id).with_for_update())
        uow.session.refresh(visit, ["state", "closed_at", "version"])


def _qty(part: Part, raw: Any) -> int:
    return parse_qty(raw, decimals=part.decimals, uom=part.uom, part=part.part_number)


def _part_words(part: Part, qty_milli: int | None = None) -> dict[str, Any]:
    """How an event names a part: its number and both names, so a sentence reads in either language."""
    words: dict[str, Any] = {"part": part.part_number, "name_zh": part.name_zh, "name_en": part.name_en,
                             "uom": part.uom}
    if qty_milli is not None:
        words["qty"] = qty_text(qty_milli, part.decimals)
    return words


def _job(raw: str | None) -> str:
    job = clean_key(raw, "job")
    if not job or len(job) > 40:
        raise DomainError("bad_job", "{job!r} is not a programming job number (1-40 characters)", job=(raw or "")[:40])
    return job


def line_dict(line: RequisitionLine, tag: str) -> dict[str, Any]:
    p = line.part
    return {"id": line.id, "tag": tag, "part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en,
            "uom": p.uom, "quantity": qty_text(line.qty_milli, p.decimals),
            "issued": qty_text(line.issued_milli, p.decimals),
            "remaining": qty_text(max(0, line.qty_milli - line.issued_milli), p.decimals),
            "status": line.status, "backordered": line.backordered, "first_fill": line.first_fill,
            "designator": line.designator, "note": line.note, "requested_by": line.requested_by.username,
            "requested_at": line.requested_at.isoformat(),
            "backordered_at": line.backordered_at.isoformat() if line.backordered_at else None}


def move_dict(m: StockMove, tag: str | None = None) -> dict[str, Any]:
    p = m.part
    return {"id": m.id, "at": m.at.isoformat(), "month": m.month, "kind": m.kind, "part_number": p.part_number,
            "name_zh": p.name_zh, "name_en": p.name_en, "uom": p.uom, "quantity": qty_text(m.qty_milli, p.decimals),
            "value": money_text(m.value_e4), "from": m.source.code, "to": m.target.code, "tag": tag,
            "job": m.job, "designator": m.designator, "note": m.note, "actor": m.actor.username,
            "corrects": m.corrects_id, "store_sign": m.store_sign}


def _open_lines(uow: UnitOfWork, visit: Visit, part: Part | None = None) -> list[RequisitionLine]:
    # who asked is shown by name; their roles are not read here (loaded only if asked for)
    q = (select(RequisitionLine).options(joinedload(RequisitionLine.requested_by).lazyload(User.role_rows))
         .where(RequisitionLine.visit_id == visit.id, RequisitionLine.status == "open"))
    if part is not None:
        q = q.where(RequisitionLine.part_id == part.id)
    return list(uow.session.scalars(q.order_by(RequisitionLine.requested_at, RequisitionLine.id)))


def _backorders_left(uow: UnitOfWork, visit: Visit) -> bool:
    return uow.session.scalar(select(func.count()).select_from(RequisitionLine).where(
        RequisitionLine.visit_id == visit.id, RequisitionLine.status == "open", RequisitionLine.backordered)) > 0


def _after_lines(uow: UnitOfWork, actor: User, visit: Visit, event: str, details: dict[str, Any]) -> None:
    """The visit's event; a backorder sends it to awaiting parts, none left brings it back to repair."""
    short = _backorders_left(uow, visit)
    if short and visit.state is VisitState.IN_REPAIR:
        transition(uow, actor, visit, VisitState.AWAITING_PARTS, event=event, details=details)
    elif not short and visit.state is VisitState.AWAITING_PARTS:
        transition(uow, actor, visit, VisitState.IN_REPAIR, event=event, details=details)
    else:
        record_visit_event(uow, visit, actor, event, details=details)


# ---------------------------------------------------------------- requisitions

def request_parts(uow: UnitOfWork, actor: User, tag: str, lines: Sequence[Sequence[Any]], *,
                  note: str | None = None) -> list[dict[str, Any]]:
    """A technician asks for parts for a unit at the bench (申领): one requisition line each."""
    require_role(actor, *BENCH, action="request parts")
    visit = _visit(uow, tag)
    if not lines:
        raise DomainError("no_lines", "say which parts, and how many")
    if len(lines) > MAX_LINES:
        raise DomainError("too_many_lines", "at most {n} parts in one request", n=MAX_LINES)
    note = clean_text(note, "note", column=RequisitionLine.note)
    made: list[RequisitionLine] = []
    words = []
    for item in lines:
        if isinstance(item, (str, bytes)) or len(item) not in (2, 3):
            raise DomainError("bad_line", "a requested line is a part and a quantity")
        part = find_part(uow, item[0])
        qty = _qty(part, item[1])
        designator = designator_of(item[2], required=False) if len(item) == 3 else None
        if designator:
            _check_designator(uow, visit, part, designator)
        line = RequisitionLine(visit_id=visit.id, part_id=part.id, qty_milli=qty, issued_milli=0, status="open",
                               backordered=False, designator=designator, note=note, requested_by_id=actor.id,
                               requested_at=uow.now())
        uow.session.add(line)
        made.append(line)
        words.append({**_part_words(part, qty), **({"designator": designator} if designator else {})})
    uow.session.flush()
    record_visit_event(uow, visit, actor, "parts_requested", details={"lines": words, **({"note": note} if note else {})})
    return [line_dict(line, visit.tag) for line in made]


def _check_designator(uow: UnitOfWork, visit: Visit, part: Part, designator: str) -> None:
    """A designator the model's BOM gives to another part is a mistake (the part at U12 is that one)."""
    line = bom_at(uow, visit.unit.model_id, designator)
    if line is not None and line.part_id != part.id and line.part.id != part.blank_part_id \
            and line.part.blank_part_id != part.id:
        raise DomainError("wrong_part_for_designator", "{designator} of {model} takes {expected}, not {part}",
                          designator=designator, model=visit.unit.model.code, expected=line.part.part_number,
                          part=part.part_number)


def issue_to_tag(uow: UnitOfWork, actor: User, *, tag: str, part_number: str, bin_code: str,
                 quantity: Any = None) -> dict[str, Any]:
    """Bin → bench for a tag, against its oldest open requisition lines of the part."""
    require_role(actor, *MATERIALS, action="issue parts")
    visit = _visit(uow, tag)
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    lock_parts(uow, [part.id])
    _lock_visit(uow, visit)
    if visit.closed_at is not None or visit.state not in REPAIR_STATES:
        _visit(uow, visit.tag)  # moved by someone else meanwhile: say so
    lines = _open_lines(uow, visit, part)
    wanted = sum(max(0, ln.qty_milli - ln.issued_milli) for ln in lines)
    if not wanted:
        raise DomainError("not_requested", "tag {tag} has no open request for {part}; the technician asks for it "
                          "first", tag=visit.tag, part=part.part_number)
    held, _ = balance(uow, part.id, bin_.id)
    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        qty = min(wanted, held)
        if qty <= 0:
            raise insufficient(part, bin_.code, held, wanted)
    else:
        qty = _qty(part, quantity)
        if qty > wanted:
            raise DomainError("more_than_requested", "tag {tag} asks for {wanted} {uom} of {part}, not {qty}",
                              tag=visit.tag, wanted=qty_text(wanted, part.decimals), uom=part.uom,
                              part=part.part_number, qty=qty_text(qty, part.decimals))
        if qty > held:
            raise insufficient(part, bin_.code, held, qty)
    store_qty, store_value = store_totals(uow, part.id)
    move = book(uow, actor, part, MoveKind.ISSUE.value, bin_, virtual(uow, LocationKind.BENCH), qty,
                value_of(qty, store_qty, store_value), visit=visit)
    left = qty
    for line in lines:
        need = line.qty_milli - line.issued_milli
        take = min(left, need)
        if line.issued_milli == 0 and line.first_fill is None:
            line.first_fill = take == line.qty_milli and not line.backordered
        line.issued_milli += take
        left -= take
        if line.issued_milli >= line.qty_milli:
            line.status, line.closed_at = "filled", uow.now()
        elif not line.backordered:
            line.backordered, line.backordered_at = True, uow.now()
    uow.session.flush()
    short = wanted - qty
    details = {**_part_words(part, qty), "bin": bin_.code, **({"backordered": qty_text(short, part.decimals)}
                                                              if short else {})}
    _after_lines(uow, actor, visit, "parts_issued", details)
    return {"tag": visit.tag, "state": visit.state.value, "part_number": part.part_number, "bin": bin_.code,
            "quantity": qty_text(qty, part.decimals), "value": money_text(move.value_e4), "move": move.id,
            "backordered": qty_text(short, part.decimals) if short else None, "lines": [line_dict(ln, visit.tag) for ln in lines]}


def backorder(uow: UnitOfWork, actor: User, tag: str, part_number: str) -> dict[str, Any]:
    """None to issue: the tag's open lines of the part wait for a receipt, the unit for its parts."""
    require_role(actor, *MATERIALS, action="issue parts")
    visit = _visit(uow, tag)
    part = find_part(uow, part_number)
    lock_parts(uow, [part.id])
    _lock_visit(uow, visit)
    lines = _open_lines(uow, visit, part)
    if not lines:
        raise DomainError("not_requested", "tag {tag} has no open request for {part}; the technician asks for it "
                          "first", tag=visit.tag, part=part.part_number)
    fresh = [ln for ln in lines if not ln.backordered]
    for line in fresh:
        line.backordered, line.backordered_at = True, uow.now()
        if line.issued_milli == 0 and line.first_fill is None:
            line.first_fill = False
    uow.session.flush()
    if fresh:
        short = sum(ln.qty_milli - ln.issued_milli for ln in fresh)
        _after_lines(uow, actor, visit, "parts_backordered", _part_words(part, short))
    return {"tag": visit.tag, "state": visit.state.value, "lines": [line_dict(ln, visit.tag) for ln in lines]}


def cancel_request(uow: UnitOfWork, actor: User, tag: str, part_number: str) -> dict[str, Any]:
    """The part is no longer needed: its open lines close unfilled (the unit may go back to repair)."""
    require_role(actor, *BENCH, *MATERIALS, action="cancel requests")
    visit = _visit(uow, tag)
    part = find_part(uow, part_number)
    lock_parts(uow, [part.id])
    _lock_visit(uow, visit)
    lines = _open_lines(uow, visit, part)
    if not lines:
        raise DomainError("not_requested", "tag {tag} has no open request for {part}; the technician asks for it "
                          "first", tag=visit.tag, part=part.part_number)
    for line in lines:
        line.status, line.closed_at = "cancelled", uow.now()
    uow.session.flush()
    short = sum(ln.qty_milli - ln.issued_milli for ln in lines)
    _after_lines(uow, actor, visit, "request_cancelled", _part_words(part, short))
    return {"tag": visit.tag, "state": visit.state.value, "lines": [line_dict(ln, visit.tag) for ln in lines]}


# ---------------------------------------------------------------- at the bench

def _held_by_tag(uow: UnitOfWork, visit: Visit, part: Part, qty: int) -> tuple[StockLocation, int]:
    """The bench and the value of ``qty`` of the part the tag holds; refused beyond what it holds."""
    bench = virtual(uow, LocationKind.BENCH)
    held, held_value = holding(uow, part.id, location=bench, visit_id=visit.id)
    if held <= 0:
        raise DomainError("not_issued_to_tag", "{part} was not issued to tag {tag}, or none of it is left there",
                          part=part.part_number, tag=visit.tag)
    if qty > held:
        raise DomainError("more_than_held", "tag {tag} holds {held} {uom} of {part}, not {qty}", tag=visit.tag,
                          held=qty_text(held, part.decimals), uom=part.uom, part=part.part_number,
                          qty=qty_text(qty, part.decimals))
    return bench, value_of(qty, held, held_value)


def fit_part(uow: UnitOfWork, actor: User, tag: str, part_number: str, quantity: Any, designator: str, *,
             note: str | None = None) -> dict[str, Any]:
    """A part the tag holds is fitted in the unit, at its reference designator."""
    require_role(actor, *BENCH, action="fit parts")
    visit = _visit(uow, tag, states=FIT_STATES)
    part = find_part(uow, part_number)
    qty = _qty(part, quantity)
    ref = designator_of(designator)
    _check_designator(uow, visit, part, ref)
    lock_parts(uow, [part.id])
    bench, value = _held_by_tag(uow, visit, part, qty)
    move = book(uow, actor, part, MoveKind.FIT.value, bench, virtual(uow, LocationKind.CONSUMED), qty, value,
                visit=visit, designator=ref, note=note)
    record_visit_event(uow, visit, actor, "part_fitted", details={**_part_words(part, qty), "designator": ref,
                                                                  **({"note": move.note} if move.note else {})})
    return {"tag": visit.tag, "part_number": part.part_number, "quantity": qty_text(qty, part.decimals),
            "designator": ref, "value": money_text(value), "move": move.id}


def return_part(uow: UnitOfWork, actor: User, tag: str, part_number: str, quantity: Any, bin_code: str) -> dict[str, Any]:
    """Unused parts of a tag back to a bin (退料), never more than the tag holds."""
    require_role(actor, *MATERIALS, *BENCH, action="return parts")
    visit = _visit(uow, tag, states=None)
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    qty = _qty(part, quantity)
    lock_parts(uow, [part.id])
    bench, value = _held_by_tag(uow, visit, part, qty)
    move = book(uow, actor, part, MoveKind.RETURN.value, bench, bin_, qty, value, visit=visit)
    record_visit_event(uow, visit, actor, "part_returned", details={**_part_words(part, qty), "bin": bin_.code})
    return {"tag": visit.tag, "part_number": part.part_number, "quantity": qty_text(qty, part.decimals),
            "bin": bin_.code, "value": money_text(value), "move": move.id}


def remove_old_part(uow: UnitOfWork, actor: User, tag: str, part_number: str, quantity: Any, *,
                    designator: str | None = None, note: str | None = None) -> dict[str, Any]:
    """A faulty part taken out of a warranty repair: kept as an old part (旧件) with its tag for the claim."""
    from rma.intake.models import IntakeRecord, Warranty

    require_role(actor, *BENCH, action="remove old parts")
    visit = _visit(uow, tag, states=FIT_STATES)
    part = find_part(uow, part_number)
    qty = _qty(part, quantity)
    ref = designator_of(designator, required=False)
    if ref:
        _check_designator(uow, visit, part, ref)
    record = uow.session.get(IntakeRecord, visit.id)
    if record is not None and record.warranty is Warranty.OUT:
        raise DomainError("not_warranty", "visit {tag} is out of warranty: its faulty parts are not kept for a "
                          "supplier claim", tag=visit.tag)
    lock_parts(uow, [part.id])
    move = book(uow, actor, part, MoveKind.OLD_PART.value, virtual(uow, LocationKind.FIELD),
                virtual(uow, LocationKind.OLD_PARTS), qty, 0, visit=visit, designator=ref, note=note)
    record_visit_event(uow, visit, actor, "old_part_removed", details={
        **_part_words(part, qty), **({"designator": ref} if ref else {}), **({"note": move.note} if move.note else {})})
    return {"tag": visit.tag, "part_number": part.part_number, "quantity": qty_text(qty, part.decimals),
            "designator": ref, "move": move.id}


def tag_parts(uow: UnitOfWork, tag: str) -> dict[str, Any]:
    """Everything the stores know of a tag: per part, its requisition lines, and its moves."""
    visit = find_visit(uow, tag)
    m = StockMove
    sign = case((m.corrects_id.is_(None), 1), else_=-1)
    sums = uow.session.execute(
        select(m.part_id, m.kind, func.sum(sign * m.qty_milli), func.sum(sign * m.value_e4))
        .where(m.visit_id == visit.id).group_by(m.part_id, m.kind)).all()
    moves = list(uow.session.scalars(select(m).where(m.visit_id == visit.id).order_by(m.id)))
    lines = list(uow.session.scalars(select(RequisitionLine).where(RequisitionLine.visit_id == visit.id)
                                     .order_by(RequisitionLine.requested_at, RequisitionLine.id)))
    parts: dict[int, Part] = {ln.part_id: ln.part for ln in lines} | {mv.part_id: mv.part for mv in moves}
    per: dict[int, dict[str, Any]] = {}
    for pid, part in parts.items():
        per[pid] = {"requested": 0, "issued": 0, "fitted": 0, "returned": 0, "old": 0, "backordered": 0,
                    "fitted_value": 0, "designators": []}
    for ln in lines:
        row = per[ln.part_id]
        row["requested"] += ln.issued_milli if ln.status == "cancelled" else ln.qty_milli
        if ln.status == "open" and ln.backordered:
            row["backordered"] += ln.qty_milli - ln.issued_milli
    for pid, kind, qty, value in sums:
        row = per[pid]
        key = {"issue": "issued", "fit": "fitted", "return": "returned", "old_part": "old"}.get(kind)
        if key:
            row[key] += int(qty)
        if kind == "fit":
            row["fitted_value"] += int(value)
    for mv in moves:
        if mv.kind == "fit" and mv.designator and mv.corrects_id is None:
            per[mv.part_id]["designators"].append(mv.designator)
    rows = []
    for pid, part in sorted(parts.items(), key=lambda kv: kv[1].part_number):
        r = per[pid]
        on_bench = r["issued"] - r["fitted"] - r["returned"]
        rows.append({"part_number": part.part_number, "name_zh": part.name_zh, "name_en": part.name_en,
                     "uom": part.uom, **{k: qty_text(r[k], part.decimals) for k in
                                         ("requested", "issued", "fitted", "returned", "old", "backordered")},
                     "on_bench": qty_text(on_bench, part.decimals), "designators": r["designators"],
                     "fitted_value": money_text(r["fitted_value"])})
    return {"tag": visit.tag, "state": visit.state.value, "closed": visit.closed_at is not None, "parts": rows,
            "fitted_value": money_text(sum(per[p]["fitted_value"] for p in per)),
            "lines": [line_dict(ln, visit.tag) for ln in lines],
            "moves": [move_dict(mv, visit.tag) for mv in moves]}


# ---------------------------------------------------------------- refurbished units

def refurbish_into_stock(uow: UnitOfWork, actor: User, tag: str) -> dict[str, Any]:
    """A passed unit is refurbished into stock (翻新入库): the visit ends, the unit is in the
    refurbished-unit store of its model, valued at the parts fitted in this visit."""
    require_role(actor, *BENCH, *MATERIALS, action="put refurbished units into stock")
    visit = find_visit(uow, tag)
    model = visit.unit.model
    part = unit_part(uow, actor, model)
    lock_parts(uow, [part.id])
    store = virtual(uow, LocationKind.UNIT_STORE)
    m = StockMove
    fitted = uow.session.scalar(select(func.coalesce(func.sum(
        case((m.corrects_id.is_(None), m.value_e4), else_=-m.value_e4)), 0)).where(
        m.visit_id == visit.id, m.kind == MoveKind.FIT.value)) or 0
    transition(uow, actor, visit, VisitState.REFURBISHED, event="refurbished_into_stock",
               details={"location": store.code, "model": model.code})
    move = book(uow, actor, part, MoveKind.REFURB_IN.value, virtual(uow, LocationKind.WORKSHOP), store, 1000,
                int(fitted), visit=visit)
    return {"tag": visit.tag, "serial": visit.unit.serial, "model": model.code, "part_number": part.part_number,
            "location": store.code, "value": money_text(move.value_e4), "move": move.id}


def unit_leaves_stock(uow: UnitOfWork, actor: User, visit: Visit, *, customer: str) -> dict[str, Any] | None:
    """A refurbished unit shipped to a dealer leaves the refurbished-unit store (None: it was not in it)."""
    part = uow.session.scalar(select(Part).where(Part.model_id == visit.unit.model_id))
    if part is None:
        return None
    lock_parts(uow, [part.id])
    m = StockMove
    held, value = uow.session.execute(select(
        func.coalesce(func.sum(m.store_sign * m.qty_milli), 0), func.coalesce(func.sum(m.store_sign * m.value_e4), 0))
        .where(m.visit_id == visit.id, m.part_id == part.id)).one()
    if held <= 0:
        return None
    store = virtual(uow, LocationKind.UNIT_STORE)
    move = book(uow, actor, part, MoveKind.REFURB_OUT.value, store, virtual(uow, LocationKind.CUSTOMER), int(held),
                int(value), visit=visit, note=customer)
    return {"tag": visit.tag, "part_number": part.part_number, "move": move.id}


def refurbished_on_hand(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Refurbished units in the store, by model, with each unit."""
    from rma.core.models import ProductModel, Unit

    m = StockMove
    units = select(m.visit_id, m.part_id, func.sum(m.store_sign * m.qty_milli).label("held"),
                   func.sum(m.store_sign * m.value_e4).label("value"), func.max(m.at).label("since")) \
        .where(m.kind.in_([MoveKind.REFURB_IN.value, MoveKind.REFURB_OUT.value])) \
        .group_by(m.visit_id, m.part_id).having(func.sum(m.store_sign * m.qty_milli) > 0).subquery()
    rows = uow.session.execute(
        select(ProductModel.code, ProductModel.name, Unit.serial, Visit.tag, units.c.value, units.c.since)
        .join(Visit, Visit.id == units.c.visit_id).join(Unit, Unit.id == Visit.unit_id)
        .join(ProductModel, ProductModel.id == Unit.model_id).order_by(ProductModel.code, units.c.since)).all()
    out: dict[str, dict[str, Any]] = {}
    for code, name, serial, tag, value, since in rows:
        group = out.setdefault(code, {"model": code, "name": name, "units": [], "on_hand": 0, "value_e4": 0})
        group["units"].append({"serial": serial, "tag": tag, "since": since.isoformat(), "value": money_text(value)})
        group["on_hand"] += 1
        group["value_e4"] += int(value)
    return [{**g, "value": money_text(g.pop("value_e4"))} for g in out.values()]


# ---------------------------------------------------------------- IC programming jobs

def _job_holding(uow: UnitOfWork, job: str, part: Part, qty: int) -> tuple[StockLocation, int]:
    room = virtual(uow, LocationKind.PROGRAMMING)
    held, value = holding(uow, part.id, location=room, job=job)
    if qty > held:
        raise DomainError("more_than_job_holds", "job {job} holds {held} {uom} of {part}, not {qty}", job=job,
                          held=qty_text(held, part.decimals), uom=part.uom, part=part.part_number,
                          qty=qty_text(qty, part.decimals))
    return room, value_of(qty, held, value)


def issue_to_job(uow: UnitOfWork, actor: User, *, job: str, part_number: str, bin_code: str,
                 quantity: Any) -> dict[str, Any]:
    """Blank ICs from a bin to the programming room, for a job."""
    require_role(actor, *MATERIALS, action="issue parts")
    job = _job(job)
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    qty = _qty(part, quantity)
    lock_parts(uow, [part.id])
    held, _ = balance(uow, part.id, bin_.id)
    if qty > held:
        raise insufficient(part, bin_.code, held, qty)
    store_qty, store_value = store_totals(uow, part.id)
    move = book(uow, actor, part, MoveKind.JOB_ISSUE.value, bin_, virtual(uow, LocationKind.PROGRAMMING), qty,
                value_of(qty, store_qty, store_value), job=job)
    return {"job": job, "part_number": part.part_number, "bin": bin_.code, "quantity": qty_text(qty, part.decimals),
            "value": money_text(move.value_e4), "move": move.id}


def book_job_result(uow: UnitOfWork, actor: User, *, job: str, blank_part_number: str, programmed_part_number: str,
                    good: Any, failed: Any, bin_code: str) -> dict[str, Any]:
    """A job's devices: the good blanks become programmed parts in the bin, the failed ones go to scrap."""
    require_role(actor, *MATERIALS, *BENCH, action="book programming results")
    job = _job(job)
    blank = find_part(uow, blank_part_number)
    programmed = find_part(uow, programmed_part_number)
    if programmed.blank_part_id != blank.id:
        raise DomainError("not_programmed_from", "{programmed} is not programmed from {blank}",
                          programmed=programmed.part_number, blank=blank.part_number)
    bin_ = find_bin(uow, bin_code)
    good_q = parse_qty(good, decimals=blank.decimals, uom=blank.uom, part=blank.part_number, allow_zero=True)
    failed_q = parse_qty(failed, decimals=blank.decimals, uom=blank.uom, part=blank.part_number, allow_zero=True)
    if good_q + failed_q <= 0:
        raise DomainError("nothing_to_book", "a result needs good or failed devices")
    lock_parts(uow, [blank.id, programmed.id])
    room, _ = _job_holding(uow, job, blank, good_q + failed_q)
    held, held_value = holding(uow, blank.id, location=room, job=job)
    good_value = value_of(good_q, held, held_value)
    moves = []
    if good_q:
        converted = virtual(uow, LocationKind.CONVERTED)
        moves.append(book(uow, actor, blank, MoveKind.PROGRAM.value, room, converted, good_q, good_value, job=job))
        moves.append(book(uow, actor, programmed, MoveKind.PROGRAM.value, converted, bin_, good_q, good_value, job=job))
        s_qty, s_value = store_totals(uow, programmed.id)
        programmed.unit_cost_e4 = unit_cost(s_qty, s_value)
    if failed_q:
        _, failed_value = _job_holding(uow, job, blank, failed_q)
        moves.append(book(uow, actor, blank, MoveKind.JOB_SCRAP.value, room, virtual(uow, LocationKind.SCRAP),
                          failed_q, failed_value, job=job))
    return {"job": job, "blank_part_number": blank.part_number, "programmed_part_number": programmed.part_number,
            "good": qty_text(good_q, blank.decimals), "failed": qty_text(failed_q, blank.decimals), "bin": bin_.code,
            "moves": [mv.id for mv in moves]}


def return_from_job(uow: UnitOfWork, actor: User, *, job: str, part_number: str, bin_code: str,
                    quantity: Any) -> dict[str, Any]:
    """Unused blanks (or programmed parts left over) from the programming room back to a bin."""
    require_role(actor, *MATERIALS, *BENCH, action="return parts")
    job = _job(job)
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    qty = _qty(part, quantity)
    lock_parts(uow, [part.id])
    room, value = _job_holding(uow, job, part, qty)
    move = book(uow, actor, part, MoveKind.JOB_RETURN.value, room, bin_, qty, value, job=job)
    return {"job": job, "part_number": part.part_number, "bin": bin_.code, "quantity": qty_text(qty, part.decimals),
            "move": move.id}


def job_stock(uow: UnitOfWork, job: str) -> dict[str, Any]:
    """Per part of a job: issued, good, failed, returned and still in progress, from the ledger."""
    job = _job(job)
    m = StockMove
    room = virtual(uow, LocationKind.PROGRAMMING, create=False)
    if room is None:
        return {"job": job, "parts": []}
    sign = case((m.corrects_id.is_(None), 1), else_=-1)
    rows = uow.session.execute(
        select(m.part_id, m.kind, m.from_id, func.sum(sign * m.qty_milli))
        .where(m.job == job).group_by(m.part_id, m.kind, m.from_id)).all()
    parts = {p.id: p for p in uow.session.scalars(select(Part).where(Part.id.in_({r[0] for r in rows})))}
    per: dict[int, dict[str, int]] = {}
    for pid, kind, source, qty in rows:
        out_of_room = source == room.id
        r = per.setdefault(pid, {"issued": 0, "good": 0, "failed": 0, "returned": 0, "programmed_in": 0})
        if kind == MoveKind.JOB_ISSUE.value:
            r["issued"] += qty
        elif kind == MoveKind.JOB_RETURN.value:
            r["returned"] += qty
        elif kind == MoveKind.JOB_SCRAP.value:
            r["failed"] += qty
        elif kind == MoveKind.PROGRAM.value and out_of_room:
            r["good"] += qty
        elif kind == MoveKind.PROGRAM.value:
            r["programmed_in"] += qty
    out = []
    for pid, r in sorted(per.items(), key=lambda kv: parts[kv[0]].part_number):
        p = parts[pid]
        in_progress = r["issued"] - r["good"] - r["failed"] - r["returned"]
        out.append({"part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en, "uom": p.uom,
                    "issued": qty_text(r["issued"], p.decimals), "good": qty_text(r["good"], p.decimals),
                    "failed": qty_text(r["failed"], p.decimals), "returned": qty_text(r["returned"], p.decimals),
                    "programmed": qty_text(r["programmed_in"], p.decimals),
                    "in_progress": qty_text(in_progress, p.decimals)})
    return {"job": job, "parts": out}
