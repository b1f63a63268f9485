"""What ``rma check`` verifies of the stores, each one set-based query returning only what breaks:

- per part, the balances over all locations sum to zero (double entry);
- every balance equals the sum of its moves (read from the ``ix_stock_moves_flows`` index alone);
- no location that is not a counterpart is below zero;
- per part, what the store holds is what the moves brought in and took out of it;
- every closed month's snapshot agrees with the moves: its flows are the month's moves, its
  closing is its opening plus its flows, and its opening is the month before's closing (so
  each closing equals the moves up to the month's end, by induction from the first month);
- at no point did a tag hold less than nothing of a part (every fitted or returned part was
  issued to that tag first), nor a programming job.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select, text

from rma.core.checks import Violation, register_check
from rma.core.models import Visit
from rma.db import UnitOfWork
from rma.inventory.amounts import money_text, month_text, qty_text
from rma.inventory.ledger import last_closed_month
from rma.inventory.models import (
    MONTH_SPAN,
    SIGNED_KINDS,
    STORE_KINDS,
    VIRTUAL_CODES,
    LocationKind,
    Part,
)
from rma.inventory.reports import COLUMN_OF, FLOWS

LEDGER = "stock_moves"
_STORE = ", ".join(f"'{k.value}'" for k in STORE_KINDS)


def _names(uow: UnitOfWork, part_ids: set[int]) -> dict[int, tuple[str, int]]:
    if not part_ids:
        return {}
    return {pid: (pn, d) for pid, pn, d in uow.session.execute(
        select(Part.id, Part.part_number, Part.decimals).where(Part.id.in_(part_ids)))}


def _location_codes(uow: UnitOfWork) -> dict[int, str]:
    return dict(uow.session.execute(text("SELECT id, code FROM stock_locations")).all())


def check_balances(uow: UnitOfWork) -> Iterator[Violation]:
    s = uow.session
    per_part = s.execute(text(
        "SELECT part_id, sum(qty_milli), sum(value_e4) FROM stock_balances GROUP BY part_id "
        "HAVING sum(qty_milli) <> 0 OR sum(value_e4) <> 0")).all()
    below = s.execute(text("SELECT part_id, location_id, qty_milli FROM stock_balances "
                           "WHERE qty_milli < 0 AND NOT signed")).all()
    wrongly_signed = s.execute(text(
        "SELECT b.part_id, l.code FROM stock_balances b JOIN stock_locations l ON l.id = b.location_id "
        f"WHERE b.signed <> (l.kind IN ({', '.join(repr(k.value) for k in SIGNED_KINDS)}))")).all()
    # One pass over the flows index: per part, month, kind and pair of locations; then per location.
    mismatched = s.execute(text(f"""
        WITH g AS (
            SELECT seal_key / {MONTH_SPAN} AS part_id, from_id, to_id, sum(qty_milli) AS q, sum(value_e4) AS v
            FROM stock_moves GROUP BY seal_key, kind, store_sign, from_id, to_id
        ), d AS (
            SELECT part_id, to_id AS loc, q, v FROM g
            UNION ALL SELECT part_id, from_id, -q, -v FROM g
            UNION ALL SELECT part_id, location_id, -qty_milli, -value_e4 FROM stock_balances
        )
        SELECT part_id, loc, sum(q), sum(v) FROM d GROUP BY part_id, loc HAVING sum(q) <> 0 OR sum(v) <> 0
    """)).all()
    names = _names(uow, {r[0] for r in (*per_part, *below, *wrongly_signed, *mismatched)})
    codes = _location_codes(uow) if below or mismatched else {}
    for pid, q, v in per_part:
        pn, dec = names.get(pid, (f"part id {pid}", 3))
        yield Violation("stock_not_double_entry", pn, f"the balances of {pn} sum to {qty_text(q, dec)} "
                        f"(value {money_text(v)}) over all locations, not 0", LEDGER)
    for pid, loc, q in below:
        pn, dec = names.get(pid, (f"part id {pid}", 3))
        yield Violation("stock_below_zero", f"{pn} {codes.get(loc, loc)}",
                        f"{codes.get(loc, loc)} holds {qty_text(q, dec)} of {pn}: below zero", LEDGER)
    for pid, code in wrongly_signed:
        pn, _dec = names.get(pid, (f"part id {pid}", 3))
        yield Violation("stock_balance_mismatch", f"{pn} {code}",
                        f"the balance of {pn} at {code} is marked as a counterpart's wrongly", LEDGER)
    for pid, loc, dq, dv in mismatched:
        pn, dec = names.get(pid, (f"part id {pid}", 3))
        yield Violation("stock_balance_mismatch", f"{pn} {codes.get(loc, loc)}",
                        f"the balance of {pn} at {codes.get(loc, loc)} differs from the sum of its moves by "
                        f"{qty_text(dq, dec)} (value {money_text(dv)})", LEDGER)


def _flow_sums() -> str:
    """Per part and month (seal key): what the store gained, and each statement column's flow."""
    parts = ["sum(store_sign * qty_milli) AS dq", "sum(store_sign * value_e4) AS dv"]
    for column in FLOWS:
        kinds = [k for k, (c, _s) in COLUMN_OF.items() if c == column]
        sign = -1 if column in ("issues", "scrap") else 1
        cond = (f"kind NOT IN ({', '.join(repr(k) for k in COLUMN_OF)})" if column == "other"
                else f"kind IN ({', '.join(repr(k) for k in kinds)})")
        for unit, col in (("qty", "qty_milli"), ("value", "value_e4")):
            parts.append(f"sum(CASE WHEN {cond} THEN {sign} * store_sign * {col} ELSE 0 END) AS {column}_{unit}")
    for unit, col in (("qty", "qty_milli"), ("value", "value_e4")):
        parts.append(f"sum(CASE WHEN kind = 'fit' THEN (CASE WHEN corrects_id IS NULL THEN 1 ELSE -1 END) * {col} "
                     f"ELSE 0 END) AS fitted_{unit}")
    return (f"SELECT seal_key / {MONTH_SPAN} AS part_id, seal_key % {MONTH_SPAN} AS month, {', '.join(parts)} "
            f"FROM stock_moves GROUP BY seal_key")


def _prev(col: str) -> str:
    return f"(CASE WHEN {col} % 100 = 1 THEN {col} - 89 ELSE {col} - 1 END)"


def _next(col: str) -> str:
    return f"(CASE WHEN {col} % 100 = 12 THEN {col} + 89 ELSE {col} + 1 END)"


def check_store_and_snapshots(uow: UnitOfWork) -> Iterator[Violation]:
    s = uow.session
    closed = last_closed_month(uow)
    flows = [f"{c}_{u}" for c in (*FLOWS, "fitted") for u in ("qty", "value")]
    found: list[tuple[str, int, int | None, str]] = []  # code, part, month, detail
    # Per part, what the moves brought into the store less what its balances hold; UNION ALL and
    # GROUP BY rather than a FULL JOIN, which SQLite runs as a nested loop over two unindexed sides.
    rows = s.execute(text(f"""
        SELECT part_id, sum(q), sum(v) FROM (
            SELECT seal_key / {MONTH_SPAN} AS part_id, store_sign * qty_milli AS q, store_sign * value_e4 AS v
            FROM stock_moves WHERE store_sign <> 0
            UNION ALL
            SELECT b.part_id, -b.qty_milli, -b.value_e4 FROM stock_balances b
            JOIN stock_locations l ON l.id = b.location_id WHERE l.kind IN ({_STORE})) d
        GROUP BY part_id HAVING sum(q) <> 0 OR sum(v) <> 0
    """)).all()
    found += [("stock_store_mismatch", pid, None, f"{q}|{v}") for pid, q, v in rows]
    if closed is not None:
        # Each closed month's flows from the moves less its snapshot's, per part and month (as above,
        # no FULL JOIN): a line that does not come to zero differs; one with no snapshot is missing.
        rows = s.execute(text(f"""
            SELECT part_id, month, max(snap) = 0 FROM (
                SELECT part_id, month, 0 AS snap, {", ".join(flows)} FROM ({_flow_sums()}) c WHERE month <= :closed
                UNION ALL
                SELECT part_id, month, 1, {", ".join("-" + f for f in flows)} FROM stock_snapshots) d
            GROUP BY part_id, month HAVING {" OR ".join(f"sum({f}) <> 0" for f in flows)}
        """), {"closed": closed}).all()
        found += [("stock_snapshot_mismatch", pid, m, "missing" if missing else "flows") for pid, m, missing in rows]
        rows = s.execute(text(f"""
            SELECT s.part_id, s.month, 'arithmetic' FROM stock_snapshots s WHERE s.closing_qty <> s.opening_qty
                + s.receipts_qty - s.issues_qty + s.returns_qty + s.adjust_qty - s.scrap_qty + s.other_qty
                OR s.closing_value <> s.opening_value + s.receipts_value - s.issues_value + s.returns_value
                + s.adjust_value - s.scrap_value + s.other_value
            UNION ALL
            SELECT s.part_id, s.month, 'opening' FROM stock_snapshots s
            LEFT JOIN stock_snapshots p ON p.part_id = s.part_id AND p.month = {_prev('s.month')}
            WHERE s.opening_qty <> coalesce(p.closing_qty, 0) OR s.opening_value <> coalesce(p.closing_value, 0)
            UNION ALL
            SELECT s.part_id, {_next('s.month')}, 'missing' FROM stock_snapshots s
            LEFT JOIN stock_snapshots n ON n.part_id = s.part_id AND n.month = {_next('s.month')}
            WHERE n.id IS NULL AND {_next('s.month')} <= :closed AND (s.closing_qty <> 0 OR s.closing_value <> 0)
            UNION ALL
            SELECT s.part_id, s.month, 'open' FROM stock_snapshots s
            WHERE NOT EXISTS (SELECT 1 FROM stock_month_closes m WHERE m.month = s.month)
        """), {"closed": closed}).all()
        found += [("stock_snapshot_mismatch", pid, m, why) for pid, m, why in rows]
    names = _names(uow, {pid for _c, pid, _m, _d in found})
    for code, pid, month, detail in found:
        pn, dec = names.get(pid, (f"part id {pid}", 3))
        if code == "stock_store_mismatch":
            q, v = (int(x) for x in detail.split("|"))
            yield Violation(code, pn, f"the store's balances of {pn} differ from what its moves brought in and took "
                            f"out by {qty_text(q, dec)} (value {money_text(v)})", LEDGER)
            continue
        what = {"missing": "has moves or stock but no snapshot", "flows": "has flows that are not its moves'",
                "arithmetic": "does not add up: opening and flows are not its closing",
                "opening": "opens with other than the month before's closing",
                "open": "is a snapshot of a month that was never closed"}[detail]
        yield Violation(code, f"{pn} {month_text(month)}", f"the closed month {month_text(month)} of {pn} {what}",
                        "stock_snapshots")


def check_holdings(uow: UnitOfWork) -> Iterator[Violation]:
    s = uow.session
    ids = dict(s.execute(text("SELECT code, id FROM stock_locations WHERE code IN (:b, :p)"),
                         {"b": VIRTUAL_CODES[LocationKind.BENCH], "p": VIRTUAL_CODES[LocationKind.PROGRAMMING]}).all())
    bench, room = ids.get(VIRTUAL_CODES[LocationKind.BENCH]), ids.get(VIRTUAL_CODES[LocationKind.PROGRAMMING])
    found = []
    for holder, loc, what in (("visit_id", bench, "tag"), ("job", room, "job")):
        if loc is None:
            continue
        found += [(what, *r) for r in s.execute(text(f"""
            SELECT {holder}, part_id, id FROM (
                SELECT {holder}, part_id, id, sum(CASE WHEN to_id = :loc THEN qty_milli ELSE -qty_milli END)
                    OVER (PARTITION BY {holder}, part_id ORDER BY id) AS held
                FROM stock_moves WHERE {holder} IS NOT NULL AND (to_id = :loc OR from_id = :loc)) t
            WHERE held < 0"""), {"loc": loc}).all()]
    if not found:
        return
    names = _names(uow, {r[2] for r in found})
    tags = dict(s.execute(select(Visit.id, Visit.tag).where(
        Visit.id.in_([r[1] for r in found if r[0] == "tag"]))).all())
    for what, holder, pid, move in found:
        pn, _dec = names.get(pid, (f"part id {pid}", 3))
        who = tags.get(holder, holder) if what == "tag" else holder
        yield Violation("stock_not_issued", f"{who} {pn}", f"move {move} takes {pn} from {what} {who}, which did not "
                        f"hold it then: it was fitted or returned without being issued", LEDGER, (move,))


register_check(check_balances)
register_check(check_store_and_snapshots)
register_check(check_holdings)
