"""The store's own moves (receipts, transfers, scrap, corrections) and what the clerk reads
(on hand, the pick list, a part's page, a scan's meaning)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import case, func, select

from rma.core.ledger import record_visit_event
from rma.core.models import Role, User, Visit
from rma.core.parse import clean_key, clean_text, known_id, parse_month
from rma.core.services import looks_like_tag, normalise_key, require_role, usable_key
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import (
    cost_value,
    money_text,
    month_of,
    parse_cost,
    parse_qty,
    qty_text,
    unit_cost,
    value_of,
)
from rma.inventory.catalogue import find_supplier, part_dict, where_used
from rma.inventory.ledger import (
    STORE_KIND_VALUES,
    balance,
    book,
    current_month,
    find_bin,
    find_location,
    find_part,
    insufficient,
    lock_parts,
    moves_filter,
    store_totals,
    virtual,
)
from rma.inventory.models import (
    LocationKind,
    MoveKind,
    Part,
    RequisitionLine,
    StockBalance,
    StockLocation,
    StockMove,
)
from rma.inventory.services import MATERIALS, REPAIR_STATES, move_dict

NOTE_RE = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,39}$")
REVERSIBLE = {MoveKind.RECEIPT.value, MoveKind.TRANSFER.value, MoveKind.SCRAP.value, MoveKind.FIT.value,
              MoveKind.OLD_PART.value, MoveKind.COUNT.value}
CORRECTORS = (Role.MATERIALS, Role.LEAD, Role.SUPERVISOR)


def _qty(part: Part, raw: Any) -> int:
    return parse_qty(raw, decimals=part.decimals, uom=part.uom, part=part.part_number)


def booking_month(uow: UnitOfWork, raw: str | None) -> int | None:
    """A month named for a late booking (YYYY-MM): not in the future; a closed one is refused by the ledger."""
    if raw is None or not str(raw).strip():
        return None
    year, number = parse_month(raw)
    month = month_of(year, number)
    if month > current_month(uow):
        raise DomainError("bad_month", "month {month} is in the future", month=str(raw).strip())
    return month


def _refresh_cost(uow: UnitOfWork, part: Part) -> None:
    qty, value = store_totals(uow, part.id)
    if qty > 0:
        part.unit_cost_e4 = unit_cost(qty, value)


# ---------------------------------------------------------------- receipts

def receive(uow: UnitOfWork, actor: User, *, supplier: str, delivery_note: str, line: Any, part_number: str,
            bin_code: str, quantity: Any, unit_cost: Any = None, month: str | None = None) -> dict[str, Any]:
    """Parts in from a supplier's delivery note; one line of a note is booked once."""
    require_role(actor, *MATERIALS, action="receive parts")
    sup = find_supplier(uow, supplier)
    note = clean_key(delivery_note, "delivery note")
    if not NOTE_RE.match(note):
        raise DomainError("bad_delivery_note", "{note!r} is not a delivery note number (1-40 characters: A-Z, 0-9, "
                          "/ _ . -)", note=(delivery_note or "")[:40])
    number = _line_number(line)
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    qty = _qty(part, quantity)
    if unit_cost is None or (isinstance(unit_cost, str) and not unit_cost.strip()):
        if not part.unit_cost_e4:
            raise DomainError("cost_required", "{part} has no cost yet: give the unit cost of this delivery",
                              part=part.part_number)
        cost = part.unit_cost_e4
    else:
        cost = parse_cost(unit_cost)
    booked_month = booking_month(uow, month)
    key = f"{sup.code}|{note}|{number}"
    earlier = uow.session.scalar(select(StockMove).where(StockMove.delivery_line == key))
    if earlier is not None:
        raise DomainError("delivery_line_booked", "line {line} of delivery note {note} from {supplier} was booked "
                          "already on {date} ({qty} × {part}); a line is booked once", line=number, note=note,
                          supplier=sup.code, date=earlier.at.astimezone().strftime("%Y-%m-%d %H:%M"),
                          qty=qty_text(earlier.qty_milli, earlier.part.decimals), part=earlier.part.part_number)
    lock_parts(uow, [part.id])
    move = book(uow, actor, part, MoveKind.RECEIPT.value, virtual(uow, LocationKind.SUPPLIER), bin_, qty,
                cost_value(qty, cost), month=booked_month, delivery_line=key)
    _refresh_cost(uow, part)
    return {"supplier": sup.code, "delivery_note": note, "line": number, "part_number": part.part_number,
            "bin": bin_.code, "quantity": qty_text(qty, part.decimals), "unit_cost": money_text(cost, 4),
            "value": money_text(move.value_e4), "month": move.month, "move": move.id,
            "average_cost": money_text(part.unit_cost_e4, 4)}


def _line_number(raw: Any) -> int:
    text = str(raw).strip() if raw is not None else ""
    if not text.isdigit() or not 1 <= int(text) <= 9999 or isinstance(raw, bool):
        raise DomainError("bad_line", "{line!r} is not a delivery note line number (1-9999)", line=text[:20])
    return int(text)


# ---------------------------------------------------------------- inside the store

def transfer(uow: UnitOfWork, actor: User, *, part_number: str, from_bin: str, to_bin: str, quantity: Any,
             note: str | None = None) -> dict[str, Any]:
    """Parts from one bin to another."""
    require_role(actor, *MATERIALS, action="move parts between bins")
    part = find_part(uow, part_number)
    src, dst = find_bin(uow, from_bin), find_bin(uow, to_bin)
    if src.id == dst.id:
        raise DomainError("same_bin", "from and to are the same bin {bin}", bin=src.code)
    qty = _qty(part, quantity)
    lock_parts(uow, [part.id])
    held, _ = balance(uow, part.id, src.id)
    if qty > held:
        raise insufficient(part, src.code, held, qty)
    s_qty, s_value = store_totals(uow, part.id)
    move = book(uow, actor, part, MoveKind.TRANSFER.value, src, dst, qty, value_of(qty, s_qty, s_value), note=note)
    return {"part_number": part.part_number, "from": src.code, "to": dst.code, "quantity": qty_text(qty, part.decimals),
            "move": move.id}


def scrap(uow: UnitOfWork, actor: User, *, part_number: str, bin_code: str, quantity: Any, reason: str) -> dict[str, Any]:
    """Parts from a bin to scrap (报废), with the reason."""
    require_role(actor, *MATERIALS, action="scrap parts")
    part = find_part(uow, part_number)
    bin_ = find_bin(uow, bin_code)
    qty = _qty(part, quantity)
    reason = clean_text(reason, "scrap reason", column=StockMove.note, required=True)
    lock_parts(uow, [part.id])
    held, _ = balance(uow, part.id, bin_.id)
    if qty > held:
        raise insufficient(part, bin_.code, held, qty)
    s_qty, s_value = store_totals(uow, part.id)
    move = book(uow, actor, part, MoveKind.SCRAP.value, bin_, virtual(uow, LocationKind.SCRAP), qty,
                value_of(qty, s_qty, s_value), note=reason)
    return {"part_number": part.part_number, "bin": bin_.code, "quantity": qty_text(qty, part.decimals),
            "value": money_text(move.value_e4), "move": move.id}


def correct_move(uow: UnitOfWork, actor: User, move_id: Any, reason: str) -> dict[str, Any]:
    """A mistake undone by the reversing move, booked now (in the open month), pointing back at it."""
    require_role(actor, *CORRECTORS, action="correct stock moves")
    reason = clean_text(reason, "correction reason", column=StockMove.note, required=True)
    try:
        number = int(str(move_id).strip())
    except ValueError:
        number = 0
    original = uow.session.get(StockMove, number) if known_id(number) else None
    if original is None:
        raise DomainError("unknown_move", "no stock move {move}", move=str(move_id)[:20])
    if original.corrects_id is not None:
        raise DomainError("not_reversible", "move {move} is itself a correction; it stands", move=original.id)
    if original.kind not in REVERSIBLE:
        raise DomainError("not_reversible", "move {move} ({kind}) is undone by its own flow (a return, an issue), "
                          "not by a correction", move=original.id, kind=original.kind)
    if uow.session.scalar(select(StockMove.id).where(StockMove.corrects_id == original.id)) is not None:
        raise DomainError("already_corrected", "move {move} was corrected already", move=original.id)
    part = original.part
    lock_parts(uow, [part.id])
    src, dst = original.target, original.source
    if src.kind not in (LocationKind.SUPPLIER.value, LocationKind.COUNT.value, LocationKind.FIELD.value):
        held, _ = balance(uow, part.id, src.id)
        if original.qty_milli > held:
            raise insufficient(part, src.code, held, original.qty_milli)
    visit = uow.session.get(Visit, original.visit_id) if original.visit_id else None
    move = book(uow, actor, part, original.kind, src, dst, original.qty_milli, original.value_e4, visit=visit,
                job=original.job, designator=original.designator, note=reason, corrects=original,
                count_line_id=original.count_line_id)
    if original.kind == MoveKind.RECEIPT.value:
        _refresh_cost(uow, part)
    if visit is not None:
        record_visit_event(uow, visit, actor, "part_move_corrected", details={
            "part": part.part_number, "name_zh": part.name_zh, "name_en": part.name_en,
            "qty": qty_text(original.qty_milli, part.decimals), "uom": part.uom, "kind": original.kind,
            "note": reason})
    return {"move": move.id, "corrects": original.id, "kind": original.kind, "part_number": part.part_number,
            "quantity": qty_text(original.qty_milli, part.decimals), "month": move.month}


# ---------------------------------------------------------------- reading

def on_hand(uow: UnitOfWork, *, part_number: str | None = None, bin_code: str | None = None) -> list[dict[str, Any]]:
    """What each bin holds of each part, with the part's average cost."""
    b, loc = StockBalance, StockLocation
    q = (select(Part, loc.code, b.qty_milli).join(b, b.part_id == Part.id).join(loc, loc.id == b.location_id)
         .where(loc.kind.in_(STORE_KIND_VALUES), b.qty_milli != 0).order_by(Part.part_number, loc.code))
    if part_number:
        q = q.where(Part.id == find_part(uow, part_number).id)
    if bin_code:
        q = q.where(loc.id == find_bin(uow, bin_code).id)
    return [{"part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en, "category": p.category,
             "abc": p.abc, "uom": p.uom, "bin": code, "quantity": qty_text(qty, p.decimals),
             "unit_cost": money_text(p.unit_cost_e4, 4), "value": money_text(cost_value(qty, p.unit_cost_e4))}
            for p, code, qty in uow.session.execute(q)]


def pick_list(uow: UnitOfWork, *, limit: int = 300) -> list[dict[str, Any]]:
    """Open requisition lines of units at the bench, oldest first, with the bins that hold the part."""
    r = RequisitionLine
    rows = uow.session.execute(
        select(r, Visit.tag, Visit.state).join(Visit, Visit.id == r.visit_id)
        .where(r.status == "open", Visit.closed_at.is_(None), Visit.state.in_(REPAIR_STATES))
        .order_by(r.requested_at, r.id).limit(limit)).all()
    part_ids = {line.part_id for line, _tag, _state in rows}
    bins: dict[int, list[dict[str, Any]]] = {}
    if part_ids:
        for pid, code, qty in uow.session.execute(
                select(StockBalance.part_id, StockLocation.code, StockBalance.qty_milli)
                .join(StockLocation, StockLocation.id == StockBalance.location_id)
                .where(StockBalance.part_id.in_(part_ids), StockLocation.kind == LocationKind.BIN.value,
                       StockBalance.qty_milli > 0).order_by(StockLocation.code)):
            bins.setdefault(pid, []).append({"bin": code, "qty_milli": qty})
    out = []
    for line, tag, state in rows:
        p = line.part
        out.append({"id": line.id, "tag": tag, "state": state.value, "part_number": p.part_number,
                    "name_zh": p.name_zh, "name_en": p.name_en, "uom": p.uom,
                    "quantity": qty_text(line.qty_milli, p.decimals),
                    "remaining": qty_text(line.qty_milli - line.issued_milli, p.decimals),
                    "backordered": line.backordered, "designator": line.designator,
                    "requested_at": line.requested_at.isoformat(), "requested_by": line.requested_by.username,
                    "bins": [{"bin": b["bin"], "quantity": qty_text(b["qty_milli"], p.decimals)}
                             for b in bins.get(p.id, [])]})
    return out


def part_moves(uow: UnitOfWork, part_number: str, *, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
    """A part's moves, newest first (``before``: older than that move id)."""
    part = find_part(uow, part_number)
    q = select(StockMove).where(moves_filter(part_id=part.id)).order_by(StockMove.id.desc()).limit(min(limit, 1000))
    if before is not None:
        q = q.where(StockMove.id < before)
    moves = list(uow.session.scalars(q))
    tags = dict(uow.session.execute(select(Visit.id, Visit.tag).where(
        Visit.id.in_({m.visit_id for m in moves if m.visit_id}))).all()) if moves else {}
    return [move_dict(m, tags.get(m.visit_id)) for m in moves]


def part_report(uow: UnitOfWork, part_number: str, *, moves: int = 50) -> dict[str, Any]:
    """A part's page: what it is, where it lies, who holds it, where it is used, what moved it."""
    part = find_part(uow, part_number)
    b, loc = StockBalance, StockLocation
    places = uow.session.execute(select(loc.code, loc.kind, b.qty_milli, b.value_e4).join(b, b.location_id == loc.id)
                                 .where(b.part_id == part.id, b.qty_milli != 0).order_by(loc.kind, loc.code)).all()
    qty, value = store_totals(uow, part.id)
    bench = virtual(uow, LocationKind.BENCH, create=False)
    bench_id = bench.id if bench is not None else 0
    sign = func.sum(case((StockMove.to_id == bench_id, StockMove.qty_milli), else_=-StockMove.qty_milli))
    on_bench = uow.session.execute(
        select(Visit.tag, sign).join(Visit, Visit.id == StockMove.visit_id)
        .where(moves_filter(part_id=part.id), (StockMove.to_id == bench_id) | (StockMove.from_id == bench_id))
        .group_by(Visit.tag).having(sign != 0).order_by(Visit.tag)).all()
    waiting = uow.session.scalar(select(func.coalesce(func.sum(RequisitionLine.qty_milli - RequisitionLine.issued_milli), 0))
                                 .where(RequisitionLine.part_id == part.id, RequisitionLine.status == "open"))
    blank = uow.session.get(Part, part.blank_part_id) if part.blank_part_id else None
    return {
        **part_dict(part), "blank_part": blank.part_number if blank else None,
        "store": {"quantity": qty_text(qty, part.decimals), "value": money_text(value),
                  "unit_cost": money_text(part.unit_cost_e4, 4)},
        "bins": [{"bin": c, "quantity": qty_text(q, part.decimals)} for c, k, q, _v in places
                 if k in STORE_KIND_VALUES],
        "elsewhere": [{"location": c, "kind": k, "quantity": qty_text(q, part.decimals)} for c, k, q, _v in places
                      if k not in STORE_KIND_VALUES],
        "on_bench": [{"tag": t, "quantity": qty_text(q, part.decimals)} for t, q in on_bench],
        "requested_open": qty_text(int(waiting or 0), part.decimals),
        "where_used": where_used(uow, part), "moves": part_moves(uow, part.part_number, limit=moves),
    }


def classify_scan(uow: UnitOfWork, raw: str) -> dict[str, Any]:
    """What a scan at the stores names: a tag, a bin, a part (number or supplier barcode), or nothing."""
    key = normalise_key(raw)
    if not usable_key(key):
        return {"kind": "unknown", "key": key[:40]}
    if looks_like_tag(key):  # a bin or a part number is not looked up among a million visits first
        visit = uow.session.execute(select(Visit.tag, Visit.state, Visit.closed_at).where(Visit.tag == key)).first()
        if visit is not None:
            return {"kind": "tag", "key": visit.tag, "state": visit.state.value, "closed": visit.closed_at is not None}
    loc = find_location(uow, key)
    if loc is not None and loc.kind in STORE_KIND_VALUES:
        return {"kind": "bin", "key": loc.code}
    try:
        part = find_part(uow, key)
    except DomainError:
        return {"kind": "unknown", "key": key[:40]}
    return {"kind": "part", "key": part.part_number, "name_zh": part.name_zh, "name_en": part.name_en,
            "uom": part.uom, "decimals": part.decimals}



def recent_receipts(uow: UnitOfWork, *, limit: int = 30) -> list[dict[str, Any]]:
    """The newest receipts, with their supplier, delivery note and line."""
    moves = uow.session.scalars(select(StockMove).where(StockMove.kind == MoveKind.RECEIPT.value)
                                .order_by(StockMove.id.desc()).limit(limit))
    out = []
    for m in moves:
        row = move_dict(m)
        supplier, note, line = (m.delivery_line or "||").split("|")
        out.append({**row, "supplier": supplier or None, "delivery_note": note or None, "line": line or None})
    return out
