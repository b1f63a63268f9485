"""The one writer of the parts ledger, and what it stands on: locations, parts, balances, months.

``book`` writes one move and updates both balances in the caller's transaction. Every move of a
part first locks the part's row (``lock_parts``, in id order when a transaction moves several
parts), so two clerks issuing the last units of a part queue: the second sees what the first
left, and is told. The balance table's CHECK is the last word: a real location never goes
below zero, even for a writer that forgot to look.

The booking month is the station's local month of the move (or a month named for a late
receipt); a closed month takes no move. Closing a month (``rma.inventory.reports.close_month``)
locks the ledger against writers while it takes its snapshot, and a writer checks the month
again after its insert, so no move slips into a month as it closes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from rma.core.models import User, Visit
from rma.core.parse import clean_key, clean_text
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import MONTH_MAX, MONTH_MIN, month_of, month_text, qty_text
from rma.inventory.models import (
    MONTH_SPAN,
    SIGNED_KINDS,
    STORE_KINDS,
    VIRTUAL_CODES,
    LocationKind,
    Part,
    StockBalance,
    StockLocation,
    StockMonthClose,
    StockMove,
)

PART_KEY_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/+#-]{0,63}$")
STORE_KIND_VALUES = tuple(k.value for k in STORE_KINDS)


# ---------------------------------------------------------------- months

def month_of_time(at: datetime) -> int:
    local = at.astimezone()  # the depot's local month
    return month_of(local.year, local.month)


def current_month(uow: UnitOfWork) -> int:
    return month_of_time(uow.now())


def last_closed_month(uow: UnitOfWork) -> int | None:
    return uow.session.scalar(select(func.max(StockMonthClose.month)))


def check_open_month(uow: UnitOfWork, month: int) -> None:
    """Refuse a month that is closed (a late correction goes into the open month, pointing back)."""
    closed = last_closed_month(uow)
    if closed is not None and month <= closed:
        raise DomainError("month_closed", "month {month} is closed; book it in the open month {open}, "
                          "pointing back to what it corrects", month=month_text(month),
                          open=month_text(max(current_month(uow), _next(closed))))
    if not MONTH_MIN <= month <= MONTH_MAX:
        raise DomainError("bad_month", "{month!r} is not a month (YYYY-MM)", month=str(month))


def _next(month: int) -> int:
    return month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1


# ---------------------------------------------------------------- parts and locations

def part_key(raw: str | None) -> str:
    """A part number or supplier barcode as scanned: trimmed, upper case, control characters refused."""
    return clean_key(raw, "part number")


def find_part(uow: UnitOfWork, key: str | None) -> Part:
    """A part by its part number or its supplier's barcode."""
    code = part_key(key)
    part = None
    if code and len(code) <= 64:
        part = uow.session.scalar(select(Part).where(Part.part_number == code))
        if part is None:
            part = uow.session.scalar(select(Part).where(Part.supplier_barcode == code))
    if part is None:
        raise DomainError("unknown_part", "no part with number or barcode {part!r}", part=(key or "")[:40])
    return part


def find_location(uow: UnitOfWork, code: str | None) -> StockLocation | None:
    key = clean_key(code, "bin")
    if not key or len(key) > 32:
        return None
    return uow.session.scalar(select(StockLocation).where(StockLocation.code == key))


def find_bin(uow: UnitOfWork, code: str | None) -> StockLocation:
    """A bin of the store (or the refurbished-unit store)."""
    loc = find_location(uow, code)
    if loc is None or loc.kind not in STORE_KIND_VALUES or not loc.active:
        raise DomainError("unknown_bin", "no bin {bin!r} in the store", bin=(code or "")[:40])
    return loc


def virtual(uow: UnitOfWork, kind: LocationKind, *, create: bool = True) -> StockLocation | None:
    """The one location of a virtual kind, made the first time it is needed (a reader gets None then)."""
    code = VIRTUAL_CODES[kind]
    loc = uow.session.scalar(select(StockLocation).where(StockLocation.code == code))
    if loc is None and create:
        ins = (postgresql.insert if _dialect(uow) == "postgresql" else sqlite.insert)(StockLocation)
        uow.session.execute(ins.values(code=code, kind=kind.value, name=None, active=True,
                                       created_at=uow.now()).on_conflict_do_nothing())
        loc = uow.session.scalar(select(StockLocation).where(StockLocation.code == code))
    return loc


def _dialect(uow: UnitOfWork) -> str:
    return uow.session.get_bind().dialect.name


# ---------------------------------------------------------------- locks and balances

def lock_parts(uow: UnitOfWork, part_ids: list[int]) -> None:
    """Lock the parts' rows, in id order: every move of a part waits for the one before it."""
    ids = sorted(set(part_ids))
    if ids and _dialect(uow) == "postgresql":
        uow.session.execute(select(Part.id).where(Part.id.in_(ids)).order_by(Part.id).with_for_update())


def balance(uow: UnitOfWork, part_id: int, location_id: int) -> tuple[int, int]:
    """(quantity, value) a location holds of a part."""
    row = uow.session.execute(select(StockBalance.qty_milli, StockBalance.value_e4).where(
        StockBalance.part_id == part_id, StockBalance.location_id == location_id)).first()
    return (row.qty_milli, row.value_e4) if row else (0, 0)


def store_totals(uow: UnitOfWork, part_id: int) -> tuple[int, int]:
    """(quantity, value) of a part in the store: every bin and the refurbished-unit store."""
    row = uow.session.execute(
        select(func.coalesce(func.sum(StockBalance.qty_milli), 0), func.coalesce(func.sum(StockBalance.value_e4), 0))
        .join(StockLocation, StockLocation.id == StockBalance.location_id)
        .where(StockBalance.part_id == part_id, StockLocation.kind.in_(STORE_KIND_VALUES))).one()
    return int(row[0]), int(row[1])


def holding(uow: UnitOfWork, part_id: int, *, location: StockLocation, visit_id: int | None = None,
            job: str | None = None) -> tuple[int, int]:
    """(quantity, value) of a part a tag holds on the bench, or a job in programming: from its moves."""
    m = StockMove
    sign = case((m.to_id == location.id, 1), else_=-1)
    holder = m.visit_id == visit_id if visit_id is not None else m.job == job
    row = uow.session.execute(
        select(func.coalesce(func.sum(sign * m.qty_milli), 0), func.coalesce(func.sum(sign * m.value_e4), 0))
        .where(holder, m.part_id == part_id, or_(m.to_id == location.id, m.from_id == location.id))).one()
    return int(row[0]), int(row[1])


def insufficient(part: Part, where: str, held: int, asked: int) -> DomainError:
    return DomainError("insufficient_stock", "{where} holds {held} {uom} of {part}, not {asked}",
                       where=where, held=qty_text(held, part.decimals), uom=part.uom, part=part.part_number,
                       asked=qty_text(asked, part.decimals))


# ---------------------------------------------------------------- the writer

def book(uow: UnitOfWork, actor: User, part: Part, kind: str, src: StockLocation, dst: StockLocation,
         qty_milli: int, value_e4: int, *, month: int | None = None, visit: Visit | None = None,
         job: str | None = None, delivery_line: str | None = None, designator: str | None = None,
         note: str | None = None, corrects: StockMove | None = None, count_line_id: int | None = None) -> StockMove:
    """Write one move of ``qty_milli`` of ``part`` from ``src`` to ``dst`` and both balances.

    The caller has locked the part (``lock_parts``) and checked what ``src`` holds; the balance
    table's CHECK refuses a real location below zero all the same (``insufficient_stock``).
    """
    if qty_milli <= 0:
        raise DomainError("bad_quantity", "a move needs a quantity above 0")
    month = month or current_month(uow)
    check_open_month(uow, month)
    store_sign = (dst.kind in STORE_KIND_VALUES) - (src.kind in STORE_KIND_VALUES)
    move = StockMove(
        at=uow.now(), month=month, part_id=part.id, seal_key=part.id * MONTH_SPAN + month, kind=kind,
        from_id=src.id, to_id=dst.id, store_sign=store_sign, qty_milli=qty_milli, value_e4=value_e4,
        actor_id=actor.id, visit_id=visit.id if visit is not None else None, job=job, delivery_line=delivery_line,
        designator=designator, count_line_id=count_line_id,
        note=clean_text(note, "note", column=StockMove.note), corrects_id=corrects.id if corrects else None)
    uow.session.flush()  # what the caller changed before, outside the savepoint below
    try:
        with uow.session.begin_nested():
            uow.session.add(move)
            uow.session.flush()
            _add_to_balance(uow, part.id, src, -qty_milli, -value_e4)
            _add_to_balance(uow, part.id, dst, qty_milli, value_e4)
    except IntegrityError as exc:
        raise _integrity(uow, exc, part, src, qty_milli, delivery_line, corrects) from None
    # Read after the insert: a month closed meanwhile (the closing locks the ledger first) is seen here.
    check_open_month(uow, month)
    return move


def _add_to_balance(uow: UnitOfWork, part_id: int, loc: StockLocation, qty: int, value: int) -> None:
    """Add to a balance; its first move makes it (the part's lock keeps two from making it at once).

    An UPDATE, then an INSERT when there was nothing: an upsert would test the CHECK on the
    row it would insert (a negative quantity) before finding the row it updates."""
    b = StockBalance.__table__
    done = uow.session.execute(b.update().where(b.c.part_id == part_id, b.c.location_id == loc.id)
                               .values(qty_milli=b.c.qty_milli + qty, value_e4=b.c.value_e4 + value))
    if done.rowcount == 0:
        uow.session.execute(b.insert().values(part_id=part_id, location_id=loc.id, qty_milli=qty, value_e4=value,
                                              signed=LocationKind(loc.kind) in SIGNED_KINDS))


def _integrity(uow: UnitOfWork, exc: IntegrityError, part: Part, src: StockLocation, qty: int,
               delivery_line: str | None, corrects: StockMove | None) -> DomainError:
    why = str(exc.orig).lower()
    replaced = "replace refused" in why  # SQLite's guard meets an existing key before the unique index does
    if "delivery_line" in why or (replaced and delivery_line):
        return DomainError("delivery_line_booked", "delivery note line {line} was booked already; a line is "
                           "booked once", line=(delivery_line or "").replace("|", " "))
    if "corrects_id" in why or (replaced and corrects is not None):
        return DomainError("already_corrected", "move {move} was corrected already", move=corrects.id if corrects else "?")
    if "not_below_zero" in why or "check" in why:
        held, _ = balance(uow, part.id, src.id)
        return insufficient(part, src.code, held, qty)
    return DomainError("concurrent_change", "the stock of {part} was changed by someone else at the same moment; "
                       "look again and retry", part=part.part_number)


def moves_filter(*, part_id: int | None = None) -> Any:
    """The moves of one part, by its seal streams (the index serves it)."""
    if part_id is None:
        return text("1 = 1")
    return and_(StockMove.seal_key >= part_id * MONTH_SPAN, StockMove.seal_key < (part_id + 1) * MONTH_SPAN)


def valid_key(code: str) -> bool:
    return bool(PART_KEY_RE.match(code))
