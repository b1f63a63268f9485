"""Stock counts (盘点): cycle counts by ABC class or a full count, blind, with recount and approval.

A count takes, when it starts, what each of its bins should hold of each part (hidden from the
counter: a blind count). The counter scans bin and part and enters what is on the shelf; it is
compared with the balance at that moment, so moves made during the count are accounted for. A
variance over the department's tolerance (``count_variance_percent`` of the quantity, or
``count_variance_value`` yuan) asks for a recount; still over, it waits for the lead or the
supervisor, who approves it with the reason (booked to or from count gain/loss) or sends it
back to be counted again. A variance within the tolerance is booked at once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from rma.core import settings
from rma.core.ledger import record_audit
from rma.core.models import Role, User
from rma.core.parse import FREE_TEXT_LIMIT, clean_key, clean_text
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import E4, cost_value, money_text, parse_qty, qty_text
from rma.inventory.ledger import (
    STORE_KIND_VALUES,
    balance,
    book,
    find_bin,
    find_part,
    insufficient,
    lock_parts,
    virtual,
)
from rma.inventory.models import (
    CountLine,
    LocationKind,
    MoveKind,
    Part,
    StockBalance,
    StockCount,
    StockLocation,
)

COUNTERS = (Role.MATERIALS,)
APPROVERS = (Role.LEAD, Role.SUPERVISOR)
SCOPES = ("A", "B", "C", "full")
SETTLED = ("matched", "booked", "not_counted")


def _count(uow: UnitOfWork, code: str | None, *, open_only: bool = True) -> StockCount:
    key = clean_key(code, "count")
    count = uow.session.scalar(select(StockCount).where(StockCount.code == key)) if key and len(key) <= 32 else None
    if count is None:
        raise DomainError("unknown_count", "no stock count {count!r}", count=(code or "")[:40])
    if open_only and count.state != "open":
        raise DomainError("count_closed", "stock count {count} is closed", count=count.code)
    return count


def open_count(uow: UnitOfWork) -> StockCount | None:
    return uow.session.scalar(select(StockCount).where(StockCount.state == "open"))


def start_count(uow: UnitOfWork, actor: User, scope: str) -> dict[str, Any]:
    """A count of the parts of an ABC class that are due (not counted for ``count_every_months``),
    or of every part in every bin (``full``)."""
    require_role(actor, *COUNTERS, action="count stock")
    scope = (scope or "").strip()
    scope = scope.upper() if scope.upper() in ("A", "B", "C") else scope.lower()
    if scope not in SCOPES:
        raise DomainError("bad_scope", "a count is of class A, B or C, or full, not {scope!r}", scope=scope[:20])
    running = open_count(uow)
    if running is not None:
        raise DomainError("count_open", "stock count {count} is still open: close it first", count=running.code)
    b, loc = StockBalance, StockLocation
    q = (select(b.part_id, b.location_id, b.qty_milli).join(loc, loc.id == b.location_id).join(Part, Part.id == b.part_id)
         .where(loc.kind.in_(STORE_KIND_VALUES), b.qty_milli != 0).order_by(loc.code, Part.part_number))
    if scope != "full":
        months = int(settings.value(uow, f"count_every_months.{scope}"))
        due_before = uow.now() - timedelta(days=round(months * 30.44))
        last = (select(CountLine.part_id, func.max(CountLine.counted_at).label("at"))
                .where(CountLine.status.in_(("matched", "booked"))).group_by(CountLine.part_id).subquery())
        q = q.outerjoin(last, last.c.part_id == b.part_id).where(
            Part.abc == scope, (last.c.at.is_(None)) | (last.c.at < due_before))
    rows = uow.session.execute(q).all()
    if not rows:
        raise DomainError("nothing_to_count", "no part of {scope} is due for counting", scope=scope)
    now = uow.now()
    local = now.astimezone()
    n = uow.session.scalar(select(func.count()).select_from(StockCount)) + 1
    count = StockCount(code=f"CNT-{local:%y%m%d}-{n:03d}", scope=scope, state="open", started_by_id=actor.id,
                       started_at=now)
    uow.session.add(count)
    uow.session.flush()
    uow.session.add_all([CountLine(count_id=count.id, bin_id=loc_id, part_id=pid, expected_milli=qty, status="pending")
                         for pid, loc_id, qty in rows])
    uow.session.flush()
    record_audit(uow, actor, "count_started", count.code, {"scope": scope, "lines": len(rows)})
    return count_sheet(uow, count.code)


def count_sheet(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """What the counter sees: the bins and parts to count and how far it is; never what should be there."""
    count = _count(uow, code, open_only=False)
    lines = _lines(uow, count)
    return {"code": count.code, "scope": count.scope, "state": count.state, "started_at": count.started_at.isoformat(),
            "lines": [{"bin": ln.bin.code, "part_number": ln.part.part_number, "name_zh": ln.part.name_zh,
                       "name_en": ln.part.name_en, "uom": ln.part.uom, "status": _counter_status(ln.status)}
                      for ln in lines],
            "done": sum(ln.status in SETTLED for ln in lines), "total": len(lines)}


def _counter_status(status: str) -> str:
    """A counter is told to count again or that it is settled, not why (the count stays blind)."""
    return {"approval": "counted", "booked": "counted", "matched": "counted"}.get(status, status)


def _lines(uow: UnitOfWork, count: StockCount) -> list[CountLine]:
    return list(uow.session.scalars(select(CountLine).join(StockLocation, StockLocation.id == CountLine.bin_id)
                                    .join(Part, Part.id == CountLine.part_id).where(CountLine.count_id == count.id)
                                    .order_by(StockLocation.code, Part.part_number)))


def _over_tolerance(uow: UnitOfWork, variance: int, book_qty: int, value_e4: int) -> bool:
    if variance == 0:
        return False
    pct = Decimal(str(settings.value(uow, "count_variance_percent")))
    yuan = Decimal(str(settings.value(uow, "count_variance_value")))
    by_qty = book_qty <= 0 or Decimal(abs(variance)) * 100 > pct * book_qty
    return by_qty or Decimal(abs(value_e4)) > yuan * E4


def enter_count(uow: UnitOfWork, actor: User, code: str, bin_code: str, part_number: str,
                quantity: Any) -> dict[str, Any]:
    """What is on the shelf of one part in one bin (scanned bin and part, typed quantity)."""
    require_role(actor, *COUNTERS, action="count stock")
    count = _count(uow, code)
    bin_ = find_bin(uow, bin_code)
    if uow.session.scalar(select(CountLine.id).where(CountLine.count_id == count.id, CountLine.bin_id == bin_.id)
                          .limit(1)) is None and count.scope != "full":
        raise DomainError("bin_not_in_count", "bin {bin} is not in count {count}", bin=bin_.code, count=count.code)
    part = find_part(uow, part_number)
    qty = parse_qty(quantity, decimals=part.decimals, uom=part.uom, part=part.part_number, allow_zero=True)
    lock_parts(uow, [part.id])
    line = uow.session.scalar(select(CountLine).where(CountLine.count_id == count.id, CountLine.bin_id == bin_.id,
                                                      CountLine.part_id == part.id))
    if line is None:
        if count.scope != "full":
            raise DomainError("part_not_in_count", "{part} in bin {bin} is not in count {count}", part=part.part_number,
                              bin=bin_.code, count=count.code)
        line = CountLine(count_id=count.id, bin_id=bin_.id, part_id=part.id, status="pending",
                         expected_milli=balance(uow, part.id, bin_.id)[0])  # found where nothing was expected
        uow.session.add(line)
        uow.session.flush()
    if line.status in SETTLED:
        raise DomainError("count_line_done", "{part} in bin {bin} is counted and settled in {count}",
                          part=part.part_number, bin=bin_.code, count=count.code)
    book_qty = balance(uow, part.id, bin_.id)[0]  # what the ledger says now: moves during the count included
    variance = qty - book_qty
    value = cost_value(abs(variance), part.unit_cost_e4) * (1 if variance >= 0 else -1)
    first = line.status == "pending"
    if first:
        line.counted_milli = qty
    else:
        line.recount_milli = qty
    line.counted_by_id, line.counted_at = actor.id, uow.now()
    line.book_milli, line.variance_milli, line.variance_e4 = book_qty, variance, value
    if variance == 0:
        line.status = "matched"
    elif not _over_tolerance(uow, variance, book_qty, value):
        _book_variance(uow, actor, line, part, bin_, "count variance within tolerance")
    else:
        line.status = "recount" if first else "approval"
    uow.session.flush()
    return {"count": count.code, "bin": bin_.code, "part_number": part.part_number, "status": _counter_status(line.status)}


def _book_variance(uow: UnitOfWork, actor: User, line: CountLine, part: Part, bin_: StockLocation, reason: str) -> None:
    variance = line.variance_milli or 0
    if variance:
        counterpart = virtual(uow, LocationKind.COUNT)
        if variance > 0:
            book(uow, actor, part, MoveKind.COUNT.value, counterpart, bin_, variance, abs(line.variance_e4 or 0),
                 count_line_id=line.id, note=reason[:200])
        else:
            held = balance(uow, part.id, bin_.id)[0]
            if -variance > held:
                raise insufficient(part, bin_.code, held, -variance)
            book(uow, actor, part, MoveKind.COUNT.value, bin_, counterpart, -variance, abs(line.variance_e4 or 0),
                 count_line_id=line.id, note=reason[:200])
    line.status = "booked"
    line.reason = reason


def _line(uow: UnitOfWork, count: StockCount, bin_code: str, part_number: str) -> tuple[CountLine, Part, StockLocation]:
    bin_ = find_bin(uow, bin_code)
    part = find_part(uow, part_number)
    line = uow.session.scalar(select(CountLine).where(CountLine.count_id == count.id, CountLine.bin_id == bin_.id,
                                                      CountLine.part_id == part.id))
    if line is None:
        raise DomainError("part_not_in_count", "{part} in bin {bin} is not in count {count}", part=part.part_number,
                          bin=bin_.code, count=count.code)
    return line, part, bin_


def approve_variance(uow: UnitOfWork, actor: User, code: str, bin_code: str, part_number: str,
                     reason: str) -> dict[str, Any]:
    """The lead or supervisor accepts a counted variance: it is booked to or from count gain/loss."""
    require_role(actor, *APPROVERS, action="approve count variances")
    count = _count(uow, code)
    reason = clean_text(reason, "variance reason", limit=FREE_TEXT_LIMIT, required=True, multiline=True)
    line, part, bin_ = _line(uow, count, bin_code, part_number)
    if line.status != "approval":
        raise DomainError("not_awaiting_approval", "{part} in bin {bin} does not wait for approval ({status})",
                          part=part.part_number, bin=bin_.code, status=line.status)
    lock_parts(uow, [part.id])
    _book_variance(uow, actor, line, part, bin_, reason)
    line.approved_by_id, line.approved_at = actor.id, uow.now()
    uow.session.flush()
    record_audit(uow, actor, "count_variance_approved", f"{count.code} {bin_.code} {part.part_number}",
                 {"variance": qty_text(line.variance_milli, part.decimals), "value": money_text(line.variance_e4),
                  "reason": reason})
    return _line_report(line)


def reject_variance(uow: UnitOfWork, actor: User, code: str, bin_code: str, part_number: str,
                    reason: str) -> dict[str, Any]:
    """Not accepted: the line is to be counted again."""
    require_role(actor, *APPROVERS, action="approve count variances")
    count = _count(uow, code)
    reason = clean_text(reason, "variance reason", limit=FREE_TEXT_LIMIT, required=True, multiline=True)
    line, part, bin_ = _line(uow, count, bin_code, part_number)
    if line.status != "approval":
        raise DomainError("not_awaiting_approval", "{part} in bin {bin} does not wait for approval ({status})",
                          part=part.part_number, bin=bin_.code, status=line.status)
    line.status, line.reason = "recount", reason
    uow.session.flush()
    return _line_report(line)


def close_count(uow: UnitOfWork, actor: User, code: str) -> dict[str, Any]:
    """The count ends: lines not counted stay as they were; none may still wait for a recount or approval."""
    require_role(actor, *COUNTERS, *APPROVERS, action="close stock counts")
    count = _count(uow, code)
    lines = _lines(uow, count)
    waiting = [ln for ln in lines if ln.status in ("recount", "approval")]
    if waiting:
        raise DomainError("count_unsettled", "{n} lines of count {count} still wait for a recount or approval",
                          n=len(waiting), count=count.code)
    for ln in lines:
        if ln.status == "pending":
            ln.status = "not_counted"
    count.state, count.closed_by_id, count.closed_at = "closed", actor.id, uow.now()
    uow.session.flush()
    report = _report(uow, count, lines)
    record_audit(uow, actor, "count_closed", count.code, {"lines": report["total"], "counted": report["counted"],
                                                          "variance_value": report["variance_value"]})
    return report


def _line_report(ln: CountLine) -> dict[str, Any]:
    p = ln.part
    return {"bin": ln.bin.code, "part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en,
            "uom": p.uom, "status": ln.status, "expected": qty_text(ln.expected_milli, p.decimals),
            "book": qty_text(ln.book_milli, p.decimals) or None, "counted": qty_text(ln.counted_milli, p.decimals) or None,
            "recount": qty_text(ln.recount_milli, p.decimals) or None,
            "variance": qty_text(ln.variance_milli, p.decimals) or None,
            "variance_value": money_text(ln.variance_e4) or None, "reason": ln.reason,
            "approved_at": ln.approved_at.isoformat() if ln.approved_at else None}


def _report(uow: UnitOfWork, count: StockCount, lines: list[CountLine]) -> dict[str, Any]:
    expected_value = sum(cost_value(ln.book_milli if ln.book_milli is not None else ln.expected_milli,
                                    ln.part.unit_cost_e4) for ln in lines)
    variance_value = sum(abs(ln.variance_e4 or 0) for ln in lines if ln.status == "booked")
    return {"code": count.code, "scope": count.scope, "state": count.state, "started_at": count.started_at.isoformat(),
            "closed_at": count.closed_at.isoformat() if count.closed_at else None,
            "total": len(lines), "counted": sum(ln.counted_milli is not None for ln in lines),
            "awaiting_approval": sum(ln.status == "approval" for ln in lines),
            "variance_value": money_text(variance_value),
            "variance_rate": f"{Decimal(variance_value) / expected_value * 100:.2f}" if expected_value else None,
            "lines": [_line_report(ln) for ln in lines]}


def count_report(uow: UnitOfWork, actor: User, code: str) -> dict[str, Any]:
    """The variance report (盘点盈亏表). While a count is open only the lead and the supervisor see
    what was expected: the counters count blind."""
    count = _count(uow, code, open_only=False)
    if count.state == "open":
        require_role(actor, *APPROVERS, action="see an open count's expected quantities")
    return _report(uow, count, _lines(uow, count))


def list_counts(uow: UnitOfWork, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(StockCount, func.count(CountLine.id), func.count(CountLine.counted_milli),
               func.sum(case((CountLine.status == "approval", 1), else_=0)))
        .outerjoin(CountLine, CountLine.count_id == StockCount.id).group_by(StockCount.id)
        .order_by(StockCount.id.desc()).limit(limit)).all()
    return [{"code": c.code, "scope": c.scope, "state": c.state, "started_at": c.started_at.isoformat(),
             "closed_at": c.closed_at.isoformat() if c.closed_at else None, "lines": n, "counted": k,
             "awaiting_approval": int(a or 0)} for c, n, k, a in rows]
