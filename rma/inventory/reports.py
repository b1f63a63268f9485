"""The stores' figures: the monthly statement and the closed months behind it, reorder, slow
and dead stock, stock turns, first-time fill rate, parts cost per repaired unit.

Every figure is computed where the data is. A statement reads one closed month's snapshot and
the moves since (per part, through the ``ix_stock_moves_flows`` index, which holds every column
it needs); a closed month's own statement is its snapshot. What a move does to the store is its
``store_sign`` (+1 in, -1 out, 0 neither); a column of the statement is the sum of
``store_sign × quantity`` over the moves of its kinds:

    closing = opening + receipts − issues + returns + adjustments − scrapped + other

(issues and scrapped are shown as positive amounts; *other* is programmed ICs in, refurbished
units in and out; transfers between bins add nothing). *Fitted* is a memo column: parts fitted
in units that month, from the bench.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, delete, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rma.core import settings
from rma.core.ledger import record_audit
from rma.core.models import ProductModel, ReturnsLedgerEntry, Role, Unit, User, Visit
from rma.core.parse import parse_month
from rma.core.services import require_role
from rma.core.sqlplan import unindexed
from rma.core.states import VisitState
from rma.db import SQLITE_BUSY_TIMEOUT_MS, UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import (
    MILLI,
    add_months,
    money_text,
    month_of,
    month_range,
    month_text,
    qty_text,
)
from rma.inventory.ledger import STORE_KIND_VALUES, current_month, last_closed_month, month_of_time, virtual
from rma.inventory.models import (
    MONTH_SPAN,
    LocationKind,
    MoveKind,
    Part,
    PartsCostMonth,
    RequisitionLine,
    StockBalance,
    StockLocation,
    StockMonthClose,
    StockMove,
    StockSnapshot,
)

CLOSERS = (Role.MATERIALS, Role.SUPERVISOR)
FLOWS = ("receipts", "issues", "returns", "adjust", "scrap", "other")
COLUMNS = ("opening", *FLOWS, "closing", "fitted")
# Which statement column a kind of move counts in, and its sign there (issues and scrap shown positive).
COLUMN_OF = {
    MoveKind.RECEIPT.value: ("receipts", 1), MoveKind.ISSUE.value: ("issues", -1),
    MoveKind.JOB_ISSUE.value: ("issues", -1), MoveKind.RETURN.value: ("returns", 1),
    MoveKind.JOB_RETURN.value: ("returns", 1), MoveKind.COUNT.value: ("adjust", 1),
    MoveKind.SCRAP.value: ("scrap", -1),
}
SLOW_MONTHS, DEAD_MONTHS = 6, 12


def parse_month_arg(raw: str | None) -> int:
    year, month = parse_month(raw)
    return month_of(year, month)


# ---------------------------------------------------------------- per part and month, from the moves

def _flow_columns(month_expr: Any, month: int) -> list[Any]:
    """The aggregates of one month's flows (and what came before it) over the moves in the join."""
    m = StockMove
    qty, value = m.store_sign * m.qty_milli, m.store_sign * m.value_e4
    cols = [func.sum(case((month_expr < month, qty), else_=0)).label("before_qty"),
            func.sum(case((month_expr < month, value), else_=0)).label("before_value")]
    for column in FLOWS:
        kinds = [k for k, (c, _s) in COLUMN_OF.items() if c == column]
        sign = next((s for k, (c, s) in COLUMN_OF.items() if c == column), 1)
        if column == "other":
            cond = and_(month_expr == month, m.kind.not_in(list(COLUMN_OF)))
        else:
            cond = and_(month_expr == month, m.kind.in_(kinds))
        cols.append(func.sum(case((cond, qty * sign), else_=0)).label(f"{column}_qty"))
        cols.append(func.sum(case((cond, value * sign), else_=0)).label(f"{column}_value"))
    fit = and_(month_expr == month, m.kind == MoveKind.FIT.value)
    back = case((m.corrects_id.is_(None), 1), else_=-1)
    cols.append(func.sum(case((fit, m.qty_milli * back), else_=0)).label("fitted_qty"))
    cols.append(func.sum(case((fit, m.value_e4 * back), else_=0)).label("fitted_value"))
    return cols


def _moves_by_part(uow: UnitOfWork, first: int, month: int) -> dict[int, dict[str, int]]:
    """Per part: the store's change over months ``first``..``month``-1, and ``month``'s flows.

    Joined per part on the seal key's range, so the index hands each part's months over alone."""
    m = StockMove
    key = cast(Part.id, BigInteger) * MONTH_SPAN  # 64-bit: part ids from 2,148 on overflow 32 bits
    month_expr = m.seal_key - key
    # One month (the month after a closed one) is one seal key per part: an equality, which the
    # planner estimates well; a range of them it estimates as a large share of the ledger.
    on = m.seal_key == key + month if first == month else and_(m.seal_key >= key + first, m.seal_key <= key + month)
    q = select(Part.id, *_flow_columns(month_expr, month)).join(m, on).group_by(Part.id)
    if uow.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL would compile this query to machine code (JIT) for longer than it runs.
        uow.session.execute(text("SET LOCAL jit = off"))
    out = {}
    for row in uow.session.execute(q):
        out[row[0]] = {k: int(v or 0) for k, v in row._mapping.items() if k != "id"}
    return out


def _computed_month(uow: UnitOfWork, month: int) -> dict[int, dict[str, int]]:
    """A month not closed: the last closed month's closing, the moves since, and the month's flows."""
    closed = last_closed_month(uow)
    base = closed if closed is not None and closed < month else None
    opening: dict[int, tuple[int, int]] = {}
    if base is not None:
        opening = {pid: (q, v) for pid, q, v in uow.session.execute(
            select(StockSnapshot.part_id, StockSnapshot.closing_qty, StockSnapshot.closing_value)
            .where(StockSnapshot.month == base))}
    first = add_months(base, 1) if base is not None else 0
    moves = _moves_by_part(uow, first, month)
    lines: dict[int, dict[str, int]] = {}
    for pid in set(opening) | set(moves):
        mv = moves.get(pid, {})
        q0, v0 = opening.get(pid, (0, 0))
        line = {"opening_qty": q0 + mv.get("before_qty", 0), "opening_value": v0 + mv.get("before_value", 0)}
        for column in (*FLOWS, "fitted"):
            line[f"{column}_qty"] = mv.get(f"{column}_qty", 0)
            line[f"{column}_value"] = mv.get(f"{column}_value", 0)
        for unit in ("qty", "value"):
            line[f"closing_{unit}"] = (line[f"opening_{unit}"] + line[f"receipts_{unit}"] - line[f"issues_{unit}"]
                                       + line[f"returns_{unit}"] + line[f"adjust_{unit}"] - line[f"scrap_{unit}"]
                                       + line[f"other_{unit}"])
        if any(line.values()):
            lines[pid] = line
    return lines


def _snapshot_month(uow: UnitOfWork, month: int) -> dict[int, dict[str, int]]:
    cols = [c.name for c in StockSnapshot.__table__.columns if c.name.endswith(("_qty", "_value"))]
    rows = uow.session.execute(select(StockSnapshot.part_id, *[StockSnapshot.__table__.c[c] for c in cols])
                               .where(StockSnapshot.month == month))
    return {r[0]: dict(zip(cols, (int(x) for x in r[1:]), strict=True)) for r in rows}


def month_lines(uow: UnitOfWork, month: int) -> tuple[dict[int, dict[str, int]], bool]:
    """Every part's statement line of ``month`` (kept whole numbers), and whether the month is closed."""
    closed = last_closed_month(uow)
    if closed is not None and month <= closed:
        return _snapshot_month(uow, month), True
    return _computed_month(uow, month), False


# ---------------------------------------------------------------- the statement and closing a month

def statement(uow: UnitOfWork, month_raw: str) -> dict[str, Any]:
    """The monthly statement (进销存月报): per part opening, receipts, issues, returns, adjustments,
    scrapped, other, closing (quantity and value), fitted; and the totals."""
    month = parse_month_arg(month_raw)
    if month > current_month(uow):
        raise DomainError("bad_month", "month {month} is in the future", month=month_text(month))
    lines, closed = month_lines(uow, month)
    # The columns a line shows, not whole catalogue entries (with their bins and models): 5,000 parts read quickly.
    parts = {p.id: p for p in uow.session.execute(
        select(Part.id, Part.part_number, Part.name_zh, Part.name_en, Part.category, Part.uom, Part.decimals)
        .where(Part.id.in_(list(lines))))} if lines else {}
    rows = []
    totals = dict.fromkeys(COLUMNS, 0)
    for pid, line in sorted(lines.items(), key=lambda kv: parts[kv[0]].part_number):
        p = parts[pid]
        row = {"part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en, "category": p.category,
               "uom": p.uom}
        for column in COLUMNS:
            row[f"{column}_qty"] = qty_text(line[f"{column}_qty"], p.decimals)
            row[f"{column}_value"] = money_text(line[f"{column}_value"])
            totals[column] += line[f"{column}_value"]
        rows.append(row)
    close = uow.session.get(StockMonthClose, month) if closed else None
    return {"month": month_text(month), "closed": closed,
            "closed_at": close.closed_at.isoformat() if close else None,
            "totals": {f"{c}_value": money_text(v) for c, v in totals.items()}, "rows": rows}


STATEMENT_COLUMNS = ["part_number", "name_zh", "name_en", "category", "uom",
                     *[f"{c}_{u}" for c in COLUMNS for u in ("qty", "value")]]


def close_month(uow: UnitOfWork, actor: User, month_raw: str) -> dict[str, Any]:
    """Close a month that has ended: its snapshot is written and it takes no more moves."""
    require_role(actor, *CLOSERS, action="close a stores month")
    month = parse_month_arg(month_raw)
    now = current_month(uow)
    if month >= now:
        raise DomainError("month_not_over", "month {month} is not over yet", month=month_text(month))
    closed = last_closed_month(uow)
    if closed is not None and month <= closed:
        raise DomainError("month_closed", "month {month} is closed; book it in the open month {open}, pointing back "
                          "to what it corrects", month=month_text(month), open=month_text(now))
    earlier = add_months(month, -1)
    if closed != earlier:
        first = uow.session.scalar(select(func.min(StockMove.month)))
        if first is not None and first < month:
            raise DomainError("close_earlier_first", "close month {earlier} first: months close in order",
                              earlier=month_text(closed and add_months(closed, 1) or first))
    if uow.session.get_bind().dialect.name == "postgresql":
        # Writers that started before wait to be counted; new ones wait, then find the month closed.
        uow.session.execute(text("LOCK TABLE stock_moves IN SHARE MODE"))
    lines = _computed_month(uow, month)
    now_at = uow.now()
    uow.session.add_all([StockSnapshot(month=month, part_id=pid, **line) for pid, line in sorted(lines.items())])
    value = sum(line["closing_value"] for line in lines.values())
    uow.session.add(StockMonthClose(month=month, closed_at=now_at, closed_by_id=actor.id, parts=len(lines),
                                    closing_value_e4=value))
    uow.session.flush()
    record_audit(uow, actor, "stores_month_closed", month_text(month), {"parts": len(lines),
                                                                       "closing_value": money_text(value)})
    return {"month": month_text(month), "parts": len(lines), "closing_value": money_text(value)}


def months(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The months the stores have moves in, newest first, closed or open."""
    first = uow.session.scalar(select(func.min(StockMove.month)))
    now = current_month(uow)
    closes = {c.month: c for c in uow.session.scalars(select(StockMonthClose))}
    out = []
    m = now
    while first is not None and m >= first:
        c = closes.get(m)
        out.append({"month": month_text(m), "closed": c is not None,
                    "closed_at": c.closed_at.isoformat() if c else None,
                    "closing_value": money_text(c.closing_value_e4) if c else None})
        m = add_months(m, -1)
    return out


# ---------------------------------------------------------------- months in a window, closed or not

def _window_lines(uow: UnitOfWork, first: int, last: int) -> Iterable[tuple[int, dict[int, dict[str, int]]]]:
    """(month, lines) for every month from ``first`` to ``last``: snapshots, or computed when open."""
    m = first
    while m <= last:
        yield m, month_lines(uow, m)[0]
        m = add_months(m, 1)


def _store_on_hand(uow: UnitOfWork) -> dict[int, tuple[int, int]]:
    b = StockBalance
    rows = uow.session.execute(select(b.part_id, func.sum(b.qty_milli), func.sum(b.value_e4))
                               .join(StockLocation, StockLocation.id == b.location_id)
                               .where(StockLocation.kind.in_(STORE_KIND_VALUES)).group_by(b.part_id))
    return {pid: (int(q), int(v)) for pid, q, v in rows}


def _net_issues(uow: UnitOfWork, first: int, last: int) -> dict[int, int]:
    """Per part: issues less returns over the months, from the closed snapshots and the open months' moves."""
    closed = last_closed_month(uow)
    out: dict[int, int] = {}
    top = min(last, closed) if closed is not None else first - 1
    if top >= first:
        for pid, q in uow.session.execute(
                select(StockSnapshot.part_id, func.sum(StockSnapshot.issues_qty - StockSnapshot.returns_qty))
                .where(StockSnapshot.month.between(first, top)).group_by(StockSnapshot.part_id)):
            out[pid] = int(q)
    m = max(first, add_months(top, 1)) if top >= first else first
    while m <= last:
        for pid, line in _computed_flows(uow, m).items():
            out[pid] = out.get(pid, 0) + line["issues_qty"] - line["returns_qty"]
        m = add_months(m, 1)
    return out


def _computed_flows(uow: UnitOfWork, month: int) -> dict[int, dict[str, int]]:
    return _moves_by_part(uow, month, month)


def reorder(uow: UnitOfWork) -> dict[str, Any]:
    """Parts below their safety stock: their own, or the factor × the average monthly issue (less
    returns) of the last three complete months. Suggested order: enough to be back at the safety
    stock with every open request served, at least the part's reorder quantity."""
    factor = Decimal(str(settings.value(uow, "safety_stock_factor")))
    now = current_month(uow)
    first, last = add_months(now, -3), add_months(now, -1)
    issued = _net_issues(uow, first, last)
    held = _store_on_hand(uow)
    waiting = dict(uow.session.execute(
        select(RequisitionLine.part_id, func.sum(RequisitionLine.qty_milli - RequisitionLine.issued_milli))
        .where(RequisitionLine.status == "open").group_by(RequisitionLine.part_id)).all())
    ids = {pid for pid in set(issued) | set(waiting) if issued.get(pid, 0) > 0 or waiting.get(pid)}
    ids |= set(uow.session.scalars(select(Part.id).where(Part.safety_stock_milli > 0)))
    parts = {p.id: p for p in uow.session.scalars(select(Part).where(Part.id.in_(ids), Part.active,
                                                                     Part.category != "unit"))} if ids else {}
    rows = []
    for pid, p in parts.items():
        avg = Decimal(max(issued.get(pid, 0), 0)) / 3
        step = 10 ** (3 - p.decimals)  # the smallest quantity of its unit, in thousandths
        own = p.safety_stock_milli is not None
        safety = p.safety_stock_milli if own else int(math.ceil(avg * factor / step) * step)
        on_hand = held.get(pid, (0, 0))[0]
        want = int(waiting.get(pid) or 0)
        if on_hand - want >= safety and not (want and on_hand < want):
            continue
        shortfall = safety + want - on_hand
        order = max(shortfall, p.reorder_qty_milli or 0)
        order = int(math.ceil(order / step) * step)
        rows.append({"part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en, "abc": p.abc,
                     "category": p.category, "uom": p.uom, "on_hand": qty_text(on_hand, p.decimals),
                     "requested_open": qty_text(want, p.decimals),
                     "monthly_issue": qty_text(int(avg.to_integral_value()), p.decimals),
                     "safety_stock": qty_text(safety, p.decimals), "safety_from": "part" if own else "issues",
                     "order": qty_text(order, p.decimals), "unit_cost": money_text(p.unit_cost_e4, 4),
                     "order_value": money_text(order * p.unit_cost_e4 // MILLI)})
    rows.sort(key=lambda r: (r["abc"], r["part_number"]))
    return {"months": [month_text(first), month_text(last)], "factor": float(factor), "rows": rows}


REORDER_COLUMNS = ["part_number", "name_zh", "name_en", "abc", "category", "uom", "on_hand", "requested_open",
                   "monthly_issue", "safety_stock", "safety_from", "order", "unit_cost", "order_value"]


def _last_issue_months(uow: UnitOfWork) -> dict[int, int]:
    """Per part, the last month with an issue (closed snapshots, then the open months' moves)."""
    out = dict(uow.session.execute(select(StockSnapshot.part_id, func.max(StockSnapshot.month))
                                   .where(StockSnapshot.issues_qty > 0).group_by(StockSnapshot.part_id)).all())
    closed = last_closed_month(uow)
    m = add_months(closed, 1) if closed is not None else None
    now = current_month(uow)
    if m is None:
        first = uow.session.scalar(select(func.min(StockMove.month)))
        m = first if first is not None else now + 1
    while m <= now:
        for pid, line in _computed_flows(uow, m).items():
            if line["issues_qty"] > 0:
                out[pid] = max(out.get(pid, 0), m)
        m = add_months(m, 1)
    return out


def _first_stock_months(uow: UnitOfWork, part_ids: list[int]) -> dict[int, int]:
    """Per part of ``part_ids``, the first month it was in stock: its first closed month's
    snapshot, else its first receipt, read from the part's own range of the flows index (its
    seal key), never from the whole ledger."""
    if not part_ids:
        return {}
    out = dict(uow.session.execute(select(StockSnapshot.part_id, func.min(StockSnapshot.month))
                                   .where(StockSnapshot.part_id.in_(part_ids)).group_by(StockSnapshot.part_id)).all())
    rest = [pid for pid in part_ids if pid not in out]
    if rest:
        m = StockMove
        key = cast(Part.id, BigInteger) * MONTH_SPAN
        first_receipt = (select(func.min(m.seal_key))
                         .where(m.seal_key >= key, m.seal_key < key + MONTH_SPAN, m.kind == MoveKind.RECEIPT.value)
                         .scalar_subquery())
        for pid, first in uow.session.execute(select(Part.id, first_receipt).where(Part.id.in_(rest))):
            if first is not None:
                out[pid] = int(first) - pid * MONTH_SPAN
    return out


def _months_between(a: int, b: int) -> int:
    return (b // 100 - a // 100) * 12 + (b % 100 - a % 100)


def slow_stock(uow: UnitOfWork) -> dict[str, Any]:
    """Parts in stock with no issue for 6 months (slow) or 12 (dead); never issued: since they came in."""
    now = current_month(uow)
    held = _store_on_hand(uow)
    last = _last_issue_months(uow)
    ids = [pid for pid, (q, _v) in held.items() if q > 0]
    first = _first_stock_months(uow, [pid for pid in ids if pid not in last])  # since when a never-issued part idles
    parts = {p.id: p for p in uow.session.scalars(select(Part).where(Part.id.in_(ids), Part.category != "unit"))}
    rows = []
    for pid, p in parts.items():
        since = last.get(pid) or first.get(pid) or now
        idle = _months_between(since, now)
        if idle < SLOW_MONTHS:
            continue
        q, v = held[pid]
        rows.append({"part_number": p.part_number, "name_zh": p.name_zh, "name_en": p.name_en, "abc": p.abc,
                     "category": p.category, "uom": p.uom, "on_hand": qty_text(q, p.decimals), "value": money_text(v),
                     "last_issue": month_text(last[pid]) if pid in last else None, "idle_months": idle,
                     "status": "dead" if idle >= DEAD_MONTHS else "slow"})
    rows.sort(key=lambda r: (-r["idle_months"], r["part_number"]))
    value = {"slow": 0, "dead": 0}
    for pid, p in parts.items():
        idle = _months_between(last.get(pid) or first.get(pid) or now, now)
        if idle >= SLOW_MONTHS:
            value["dead" if idle >= DEAD_MONTHS else "slow"] += held[pid][1]
    return {"month": month_text(now), "rows": rows, "value": {k: money_text(v) for k, v in value.items()}}


SLOW_COLUMNS = ["part_number", "name_zh", "name_en", "abc", "category", "uom", "on_hand", "value", "last_issue",
                "idle_months", "status"]


def stock_turns(uow: UnitOfWork, *, months: int = 12) -> dict[str, Any]:
    """Per category over the last complete months: issues at cost (less returns) ÷ the average
    month-end stock value, scaled to a year."""
    if not 1 <= months <= 36:
        raise DomainError("bad_limit", "a limit is a number of rows from 1 to {most}, not {limit}", most=36,
                          limit=str(months))
    now = current_month(uow)
    first, last = add_months(now, -months), add_months(now, -1)
    category = dict(uow.session.execute(select(Part.id, Part.category)).all())
    issued: dict[str, int] = {}
    stock: dict[str, int] = {}
    for _m, lines in _window_lines(uow, first, last):
        for pid, line in lines.items():
            c = category.get(pid, "?")
            issued[c] = issued.get(c, 0) + line["issues_value"] - line["returns_value"]
            stock[c] = stock.get(c, 0) + line["closing_value"]
    rows = []
    for c in sorted(set(issued) | set(stock)):
        avg = Decimal(stock.get(c, 0)) / months
        turns = (Decimal(issued.get(c, 0)) / avg * 12 / months) if avg > 0 else None
        rows.append({"category": c, "issues_value": money_text(issued.get(c, 0)),
                     "average_stock_value": money_text(int(avg)),
                     "turns": f"{turns:.2f}" if turns is not None else None})
    total_avg = Decimal(sum(stock.values())) / months
    total = (Decimal(sum(issued.values())) / total_avg * 12 / months) if total_avg > 0 else None
    return {"months": [month_text(first), month_text(last)], "rows": rows,
            "turns": f"{total:.2f}" if total is not None else None}


def _month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1).astimezone()


def fill_rate(uow: UnitOfWork, *, months: int = 3) -> dict[str, Any]:
    """First-time fill rate per month: requisition lines filled in full at their first issue ÷
    lines asked and answered (issued or backordered: a line still waiting for the clerk, or
    cancelled before anything happened to it, is not counted yet)."""
    if not 1 <= months <= 36:
        raise DomainError("bad_limit", "a limit is a number of rows from 1 to {most}, not {limit}", most=36,
                          limit=str(months))
    now = current_month(uow)
    firsts = [add_months(now, -k) for k in range(months - 1, -1, -1)]
    starts = [_month_start(m) for m in firsts] + [_month_start(add_months(now, 1))]
    r = RequisitionLine
    bucket = case(*[(r.requested_at < starts[i + 1], i) for i in range(len(firsts))], else_=len(firsts))
    counted = r.first_fill.is_not(None)
    rows = dict((b, (n, f)) for b, n, f in uow.session.execute(
        select(bucket, func.count(), func.sum(case((r.first_fill.is_(True), 1), else_=0)))
        .where(r.requested_at >= starts[0], r.requested_at < starts[-1], counted).group_by(bucket)))
    out = []
    for i, m in enumerate(firsts):
        n, f = rows.get(i, (0, 0))
        out.append({"month": month_text(m), "lines": n, "filled_first": int(f or 0),
                    "rate": f"{(f or 0) / n:.3f}" if n else None})
    asked = sum(x["lines"] for x in out)
    filled = sum(x["filled_first"] for x in out)
    return {"rows": out, "lines": asked, "filled_first": filled, "rate": f"{filled / asked:.3f}" if asked else None}


def parts_cost(uow: UnitOfWork, month_raw: str) -> dict[str, Any]:
    """Parts cost per repaired unit: the fitted parts' value of the visits that left repaired in
    the month (shipped back or refurbished into stock), per model and in all."""
    month = parse_month_arg(month_raw)
    rows = parts_cost_by_month(uow, month, month)[month]
    out = [{"model": code, "units": n, "with_parts": k, "parts_value": money_text(v),
            "per_unit": money_text(v // n) if n else None} for code, n, v, k in rows]
    units = sum(r[1] for r in rows)
    value = sum(r[2] for r in rows)
    return {"month": month_text(month), "rows": out, "units": units, "parts_value": money_text(value),
            "per_unit": money_text(value // units) if units else None}


def parts_cost_by_month(uow: UnitOfWork, first: int, last: int) -> dict[int, list[tuple[str, int, int, int]]]:
    """``parts_cost``'s rows for every month ``first``..``last`` (YYYYMM): per month, sorted by
    model, (model, visits that left repaired, their fitted value in 1/10,000, those with a fitted
    part). A past month's rows are kept once computed (``PartsCostMonth``) and read back while no
    later row concerns its visits; the others are computed in one query."""
    months = month_range(first, last)
    now = current_month(uow)
    # read before the kept months are checked and the others computed: a row that either might
    # miss is after the marks
    marks = _ledger_marks(uow)
    kept = _kept_parts_cost(uow, [mo for mo in months if mo < now], marks)
    missing = [mo for mo in months if mo not in kept]
    computed: dict[int, list[tuple[int, int, int, int]]] = {}
    if missing:
        computed = _parts_cost_rows(uow, missing[0], missing[-1])
        _keep_parts_cost(uow, {mo: computed[mo] for mo in missing if mo < now}, marks)
    codes = dict(uow.session.execute(select(ProductModel.id, ProductModel.code)).all())
    return {mo: sorted((codes[model_id], n, v, k) for model_id, n, v, k in kept.get(mo, computed.get(mo, [])))
            for mo in months}


KEEP_WAIT_MS = 250  # keeping waits this long for another writer, then gives up (kept next time)
KEPT_MARKS_REFRESH = 20_000  # a kept month still right whose marks are this many rows behind gets new marks


def _ledger_marks(uow: UnitOfWork) -> tuple[int, int]:
    """The newest stock move and returns-ledger row."""
    return (uow.session.scalar(select(func.coalesce(func.max(StockMove.id), 0))),
            uow.session.scalar(select(func.coalesce(func.max(ReturnsLedgerEntry.id), 0))))


def _kept_parts_cost(uow: UnitOfWork, months: list[int],
                     marks: tuple[int, int]) -> dict[int, list[tuple[int, int, int, int]]]:
    """The kept rows of ``months`` that no later row makes stale: a fit (or its correction) of a
    visit that closed in the month, or a returns-ledger row of such a visit (a late closing in the
    month too), after the marks the rows were computed at. Reads only the rows after the oldest mark;
    a month still right whose marks are far behind ``marks`` (the newest rows now) gets them."""
    if not months:
        return {}
    kept = {k.month: k for k in uow.session.scalars(select(PartsCostMonth).where(PartsCostMonth.month.in_(months)))}
    if not kept:
        return {}
    start, end = _month_start(min(kept)), _month_start(add_months(max(kept), 1))
    # from the rows after the marks (a range of ids) to their visits, never from the months' visits
    closed = unindexed(Visit.closed_at)
    late_fits = uow.session.execute(
        select(Visit.closed_at, StockMove.id).select_from(StockMove)
        .join(Visit, Visit.id == unindexed(StockMove.visit_id))
        .where(StockMove.id > min(k.moves_upto for k in kept.values()), StockMove.kind == MoveKind.FIT.value,
               closed >= start, closed < end)).all()
    late_rows = uow.session.execute(
        select(Visit.closed_at, ReturnsLedgerEntry.id).select_from(ReturnsLedgerEntry)
        .join(Visit, Visit.id == unindexed(ReturnsLedgerEntry.visit_id))
        .where(ReturnsLedgerEntry.id > min(k.ledger_upto for k in kept.values()), closed >= start, closed < end)).all()
    stale: set[int] = set()
    for (at, move), upto in [*((r, "moves_upto") for r in late_fits), *((r, "ledger_upto") for r in late_rows)]:
        mo = month_of_time(at)
        if mo in kept and move > getattr(kept[mo], upto):
            stale.add(mo)
    behind = [mo for mo, k in kept.items() if mo not in stale
              and (marks[0] - k.moves_upto > KEPT_MARKS_REFRESH or marks[1] - k.ledger_upto > KEPT_MARKS_REFRESH)]
    if behind:
        _keep_parts_cost(uow, {mo: [tuple(r) for r in kept[mo].rows] for mo in behind}, marks)
    return {mo: [tuple(r) for r in k.rows] for mo, k in kept.items() if mo not in stale}


def _keep_parts_cost(uow: UnitOfWork, rows: dict[int, list[tuple[int, int, int, int]]], marks: tuple[int, int]) -> None:
    """Keep past months' rows, on a connection of their own (the figures only read, and a station's
    read never waits for the keeping): best effort, a failure (another station keeping the same
    month at once, a database busy writing) only means it is computed again next time."""
    if not rows or not uow.session.get_bind().get_execution_options().get("rma_readonly"):
        return  # inside a writing unit of work, a second writer would wait for it
    writer = uow.session.get_bind().execution_options(rma_readonly=False)
    try:
        with writer.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            raw = conn.connection.driver_connection  # no transaction begun yet
            if sqlite:  # wait for another writer briefly, not the 15 s a booking waits
                raw.execute(f"PRAGMA busy_timeout={KEEP_WAIT_MS}")
            try:
                with Session(bind=conn) as session, session.begin():
                    if not sqlite:
                        session.execute(text(f"SET LOCAL lock_timeout = '{KEEP_WAIT_MS}ms'"))
                    session.execute(delete(PartsCostMonth).where(PartsCostMonth.month.in_(list(rows))))
                    session.add_all(PartsCostMonth(month=mo, rows=[list(r) for r in month_rows],
                                                   moves_upto=marks[0], ledger_upto=marks[1], computed_at=uow.now())
                                    for mo, month_rows in rows.items())
            finally:
                if sqlite:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except SQLAlchemyError:
        pass


def _parts_cost_rows(uow: UnitOfWork, first: int, last: int) -> dict[int, list[tuple[int, int, int, int]]]:
    """Per month ``first``..``last``, (model id, visits that left repaired, their fitted value,
    those with a fitted part), in one query."""
    months = month_range(first, last)
    starts = [_month_start(mo) for mo in months] + [_month_start(add_months(last, 1))]
    m = StockMove
    left_repaired = [Visit.closed_at >= starts[0], Visit.closed_at < starts[-1],  # the window's range
                     unindexed(Visit.state).in_([VisitState.SHIPPED.value, VisitState.REFURBISHED.value])]
    # a fit is the one move into "consumed in a unit" (its correction, the one move out of it): read
    # so, a visit's fits come from the holdings index alone, not from a look-up of each of its moves
    # the ids of those visits span one range (a visit's id grows with its receipt): the moves are
    # read as that range of the holdings index, in visit order, not looked up visit by visit or
    # found by reading the whole ledger (PostgreSQL's choice for a year: 6.6 -> 2.3 s at 10 M moves)
    lo, hi = uow.session.execute(select(func.min(Visit.id), func.max(Visit.id)).where(*left_repaired)).one()
    if lo is None:
        return {mo: [] for mo in months}
    left_repaired.append(Visit.id.between(lo, hi))
    consumed = virtual(uow, LocationKind.CONSUMED, create=False)
    into = m.to_id == (consumed.id if consumed else 0)
    fitted = (select(m.visit_id, func.sum(case((into, m.value_e4), else_=-m.value_e4)).label("v"))
              .where(m.visit_id.between(lo, hi), or_(into, m.from_id == (consumed.id if consumed else 0)))
              .group_by(m.visit_id).subquery())
    month = case(*[(Visit.closed_at < starts[i + 1], mo) for i, mo in enumerate(months)], else_=months[-1])
    out: dict[int, list[tuple[int, int, int, int]]] = {mo: [] for mo in months}
    for mo, model_id, n, v, k in uow.session.execute(
            select(month, Unit.model_id, func.count(Visit.id), func.coalesce(func.sum(fitted.c.v), 0),
                   func.count(fitted.c.visit_id))
            .select_from(Visit).outerjoin(Unit, Unit.id == Visit.unit_id)
            .outerjoin(fitted, fitted.c.visit_id == Visit.id).where(*left_repaired)
            .group_by(month, Unit.model_id)):
        out[int(mo)].append((model_id, int(n), int(v), int(k)))
    return out


def last_month(uow: UnitOfWork) -> str:
    return month_text(add_months(current_month(uow), -1))


def this_month(uow: UnitOfWork) -> str:
    return month_text(current_month(uow))

