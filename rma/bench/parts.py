"""Parts at the bench: what the repair card asks of the stores, and what it says of them.

Every move of a part is the stores' (``rma.inventory.services``: requisitions, issue, fit, return,
old parts, and their rules: the BOM's part at a designator, never more than the tag holds, a
backorder moving the visit to ``awaiting_parts``). The bench adds only its own rules around them:

- the card's holder (or the lead) asks, fits and returns, as for every other change of the card;
- a part asked for by its reference designator is the part the model's BOM has there;
- a part is fitted where a standing finding of the card says what was wrong (the finding first,
  then the part: ``fit_without_finding``), and a card with no fault found fits nothing;
- the card leaves the bench only when every designator a part was fitted at still has its finding
  (``check_fits_have_findings``, from the decision).

A finding's designator is checked against the model's BOM where the model has one
(``check_designator``): one not on the board is refused unless the finding's note says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select

from rma.core.models import User, Visit
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory import services as stores
from rma.inventory.catalogue import DESIGNATOR_RE
from rma.inventory.models import BomLine, MoveKind, RequisitionLine, StockMove

MAX_OFFERED = 400  # parts offered by type-ahead besides the model's BOM


# ---------------------------------------------------------------- the model's BOM

def bom_designators(uow: UnitOfWork, model_id: int) -> set[str]:
    """The reference designators of the model's bill of materials (empty: the model has none)."""
    return set(uow.session.scalars(select(BomLine.designator).where(BomLine.model_id == model_id)))


def check_designator(uow: UnitOfWork, visit: Visit, designator: str | None, note: str | None) -> bool:
    """Whether ``designator`` is on the model's board; one that is not is refused without a note.

    A model without a BOM in the stores says nothing either way (True)."""
    if not designator:
        return True
    on_board = bom_designators(uow, visit.unit.model_id)
    if not on_board or designator in on_board:
        return True
    if not note:
        raise DomainError("designator_not_on_board", "{designator} is not on the parts list of {model}: check the "
                          "board, or say in the note why it is recorded anyway", designator=designator,
                          model=visit.unit.model.code)
    return False


def _resolve(uow: UnitOfWork, visit: Visit, key: str) -> tuple[str, str | None]:
    """A part as the technician names it: a designator of the model's BOM (its part, there), a part
    number or a supplier's barcode (the stores find it)."""
    ref = (key or "").strip().upper()
    line = uow.session.scalar(select(BomLine).where(BomLine.model_id == visit.unit.model_id,
                                                    BomLine.designator == ref)) if DESIGNATOR_RE.match(ref) else None
    if line is not None:
        return line.part.part_number, line.designator
    return key, None


# ---------------------------------------------------------------- what the card does

def request(uow: UnitOfWork, actor: User, key: str, lines: Sequence[Sequence[Any]], *,
            note: str | None = None) -> list[dict[str, Any]]:
    """Ask the stores for parts for the card's unit: each line ``(part, quantity)`` or ``(part, quantity,
    designator)``, the part a part number, a supplier's barcode or a designator of the model's BOM."""
    from rma.bench.services import working_card

    _, visit = working_card(uow, actor, key, action="request parts")
    asked = []
    for item in lines:
        if isinstance(item, (str, bytes)) or len(item) not in (2, 3):
            raise DomainError("bad_line", "a requested line is a part and a quantity")
        number, ref = _resolve(uow, visit, str(item[0] or ""))
        designator = item[2] if len(item) == 3 and item[2] else ref
        asked.append((number, item[1], designator) if designator else (number, item[1]))
    return stores.request_parts(uow, actor, visit.tag, asked, note=note)


def fitted_designators(uow: UnitOfWork, visit_id: int) -> set[str]:
    """The designators the visit has parts fitted at (a corrected fit no longer counts)."""
    m = StockMove
    sign = case((m.corrects_id.is_(None), 1), else_=-1)
    rows = uow.session.execute(select(m.designator).where(
        m.visit_id == visit_id, m.kind == MoveKind.FIT.value, m.designator.is_not(None))
        .group_by(m.designator).having(func.sum(sign * m.qty_milli) > 0)).scalars()
    return set(rows)


def found_at(uow: UnitOfWork, visit_id: int) -> tuple[set[str], bool]:
    """The designators the visit's standing findings name, and whether no fault was found."""
    from rma.bench.services import active_findings

    found = active_findings(uow, visit_id)
    return {f.designator for f in found if f.designator and not f.nff}, any(f.nff for f in found)


def fit(uow: UnitOfWork, actor: User, key: str, part: str, quantity: Any, designator: str | None, *,
        note: str | None = None) -> dict[str, Any]:
    """A part the tag holds fitted at a designator a finding of the card names."""
    from rma.bench.services import clean_designator, working_card

    _, visit = working_card(uow, actor, key, action="fit parts")
    number, ref = _resolve(uow, visit, part)
    where = clean_designator(designator) if designator else ref
    if not where:
        raise DomainError("designator_required", "say where the part is fitted: its reference designator")
    named, nff = found_at(uow, visit.id)
    if nff:
        raise DomainError("fit_after_nff", "visit {tag} has no fault found recorded: it has nothing to replace",
                          tag=visit.tag)
    if where not in named:
        raise DomainError("fit_without_finding", "no finding of {tag} names {designator}: record what was found "
                          "there before fitting a part at it", tag=visit.tag, designator=where)
    return stores.fit_part(uow, actor, visit.tag, number, quantity, where, note=note)


def remove_old(uow: UnitOfWork, actor: User, key: str, part: str, quantity: Any, designator: str | None, *,
               note: str | None = None) -> dict[str, Any]:
    """The faulty part taken out (a warranty repair's old part, 旧件, kept with the tag)."""
    from rma.bench.services import clean_designator, working_card

    _, visit = working_card(uow, actor, key, action="remove old parts")
    number, ref = _resolve(uow, visit, part)
    where = clean_designator(designator) if designator else ref
    return stores.remove_old_part(uow, actor, visit.tag, number, quantity, designator=where, note=note)


def give_back(uow: UnitOfWork, actor: User, key: str, part: str, quantity: Any, bin_code: str) -> dict[str, Any]:
    """Parts the tag holds and did not use, back to a bin."""
    from rma.bench.services import working_card

    _, visit = working_card(uow, actor, key, action="return parts")
    number, _ref = _resolve(uow, visit, part)
    return stores.return_part(uow, actor, visit.tag, number, quantity, bin_code)


def cancel(uow: UnitOfWork, actor: User, key: str, part: str) -> dict[str, Any]:
    """The card no longer needs a part it asked for."""
    from rma.bench.services import working_card

    _, visit = working_card(uow, actor, key, action="cancel requests")
    number, _ref = _resolve(uow, visit, part)
    return stores.cancel_request(uow, actor, visit.tag, number)


def check_fits_have_findings(uow: UnitOfWork, visit: Visit) -> None:
    """Before a decision: every designator a part was fitted at has a standing finding."""
    fitted = fitted_designators(uow, visit.id)
    if not fitted:
        return
    named, _nff = found_at(uow, visit.id)
    missing = sorted(fitted - named)
    if missing:
        raise DomainError("fit_without_finding", "no finding of {tag} names {designator}: record what was found "
                          "there before fitting a part at it", tag=visit.tag, designator=", ".join(missing))


# ---------------------------------------------------------------- what the card shows

def card_parts(uow: UnitOfWork, visit: Visit) -> dict[str, Any]:
    """The card's parts: the stores' account of the tag (per part requested, issued, backordered,
    fitted, returned, old and on the bench; the lines; the moves) and the model's BOM."""
    report = stores.tag_parts(uow, visit.tag)
    return {**report, "bom": model_bom(uow, visit.unit.model_id)}


def parts_version(uow: UnitOfWork, tag: str) -> tuple[Any, ...]:
    """What changes when anyone (the stores, another bench) moves the tag's parts or its lines, or
    its state: the newest move of the tag, its lines by status, the visit's state. One small read
    by indexes, for a card that stays open to notice it."""
    visit = uow.session.execute(select(Visit.id, Visit.state).where(Visit.tag == tag)).first()
    if visit is None:
        return ()
    visit_id, state = visit
    newest = uow.session.scalar(select(func.max(StockMove.id)).where(StockMove.visit_id == visit_id))
    lines = uow.session.execute(
        select(RequisitionLine.status, func.count()).where(RequisitionLine.visit_id == visit_id)
        .group_by(RequisitionLine.status).order_by(RequisitionLine.status)).all()
    return (str(state), newest, *(tuple(r) for r in lines))


def model_bom(uow: UnitOfWork, model_id: int) -> list[dict[str, Any]]:
    """The model's BOM as ``bom_of_model`` gives it, read in one query (a card opens often)."""
    from rma.inventory.amounts import qty_text
    from rma.inventory.catalogue import _designator_order
    from rma.inventory.models import Part

    rows = uow.session.execute(
        select(BomLine.designator, Part.part_number, Part.name_zh, Part.name_en, BomLine.qty_milli, Part.decimals,
               Part.uom, Part.category).join(Part, Part.id == BomLine.part_id).where(BomLine.model_id == model_id))
    out = [{"designator": d, "part_number": n, "name_zh": zh, "name_en": en, "quantity": qty_text(q, dec), "uom": uom,
            "category": cat} for d, n, zh, en, q, dec, uom, cat in rows]
    return sorted(out, key=lambda r: _designator_order(r["designator"]))


def offered_parts(uow: UnitOfWork, model_code: str) -> list[dict[str, Any]]:
    """What the card's type-ahead offers: the model's BOM first (by designator), then the catalogue."""
    from rma.inventory.catalogue import list_parts

    bom = stores.bom_of_model(uow, model_code)
    on_board = {b["part_number"] for b in bom}
    rest = [p for p in list_parts(uow, limit=MAX_OFFERED) if p["part_number"] not in on_board]
    return ([{"key": b["designator"], "designator": b["designator"], "part_number": b["part_number"],
              "name_zh": b["name_zh"], "name_en": b["name_en"]} for b in bom]
            + [{"key": p["part_number"], "designator": None, "part_number": p["part_number"],
                "name_zh": p["name_zh"], "name_en": p["name_en"]} for p in rest])


def history_parts(uow: UnitOfWork, visit_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The parts fitted in each of the visits (for a card's history): part, quantity, designators."""
    if not visit_ids:
        return {}
    from rma.inventory.amounts import qty_text
    from rma.inventory.models import Part

    m = StockMove
    sign = case((m.corrects_id.is_(None), 1), else_=-1)
    rows = uow.session.execute(
        select(m.visit_id, Part.part_number, Part.name_zh, Part.name_en, Part.decimals, m.designator,
               func.sum(sign * m.qty_milli))
        .join(Part, Part.id == m.part_id)
        .where(m.visit_id.in_(list(visit_ids)), m.kind == MoveKind.FIT.value)
        .group_by(m.visit_id, Part.part_number, Part.name_zh, Part.name_en, Part.decimals, m.designator)
        .having(func.sum(sign * m.qty_milli) > 0)
        .order_by(m.visit_id, m.designator, Part.part_number)).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for visit_id, number, zh, en, decimals, designator, qty in rows:
        out.setdefault(visit_id, []).append({"part_number": number, "name_zh": zh, "name_en": en,
                                             "designator": designator, "quantity": qty_text(int(qty), decimals)})
    return out


__all__ = ["bom_designators", "cancel", "card_parts", "check_designator", "check_fits_have_findings", "fit",
           "fitted_designators", "found_at", "give_back", "history_parts", "offered_parts", "remove_old", "request"]
