"""Quantities and money as people type them and as the stores keep them (whole numbers).

A quantity is kept in thousandths of the part's unit (``milli``); money in ten-thousandths of
a yuan (``e4``). Parsing refuses what a part's unit cannot hold (too many decimals), zero or
less, NaN and infinity, with a message that names the part and its unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from rma.errors import DomainError

MILLI = 1000
E4 = 10_000
MAX_QTY = Decimal(1_000_000_000)  # a billion of anything is a typing error
MAX_COST = Decimal(100_000_000)
MONTH_MIN, MONTH_MAX = 190001, 299912


def _decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def parse_qty(raw: Any, *, decimals: int, uom: str, part: str, allow_zero: bool = False) -> int:
    """A quantity of ``part`` in thousandths of its unit; refused with its unit and decimals."""
    value = _decimal(raw)
    ok = value is not None and (value >= 0 if allow_zero else value > 0) and value <= MAX_QTY
    if ok and value != value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN):
        ok = False
    if not ok:
        params = {"qty": str(raw)[:40], "part": part, "uom": uom, "decimals": decimals}
        if decimals and allow_zero:
            raise DomainError("bad_quantity", "{qty!r} is not a quantity of {part}: a number of 0 or more in {uom}, "
                              "with at most {decimals} decimals", **params)
        if decimals:
            raise DomainError("bad_quantity", "{qty!r} is not a quantity of {part}: a number above 0 in {uom}, "
                              "with at most {decimals} decimals", **params)
        if allow_zero:
            raise DomainError("bad_quantity", "{qty!r} is not a quantity of {part}: a whole number, 0 or more", **params)
        raise DomainError("bad_quantity", "{qty!r} is not a quantity of {part}: a whole number above 0", **params)
    return int(value * MILLI)


def parse_cost(raw: Any, *, field: str = "unit cost") -> int:
    """An amount of yuan (at most 4 decimals, 0 or more) in ten-thousandths of a yuan."""
    value = _decimal(raw)
    if value is None or value < 0 or value > MAX_COST or value != value.quantize(Decimal("0.0001")):
        raise DomainError("bad_cost", "{cost!r} is not an amount of money", cost=str(raw)[:40])
    return int(value * E4)


def qty_text(milli: int | None, decimals: int | None = None) -> str:
    """A kept quantity as people read it: ``2``, ``2.50`` (with the part's decimals, or as few as needed)."""
    if milli is None:
        return ""
    value = Decimal(milli) / MILLI
    if decimals is None:
        return f"{value.normalize():f}"
    return f"{value:.{decimals}f}"


def qty_number(milli: int | None) -> Decimal | None:
    return None if milli is None else (Decimal(milli) / MILLI).normalize()


def money_text(e4: int | None, places: int = 2) -> str:
    """Yuan with ``places`` decimals (the statement shows 2; a unit cost 4)."""
    if e4 is None:
        return ""
    value = (Decimal(e4) / E4).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{value:.{places}f}"


def value_of(qty_milli: int, total_qty_milli: int, total_value_e4: int) -> int:
    """The value of ``qty_milli`` taken from a holding of ``total_qty_milli`` worth ``total_value_e4``:
    its share at the holding's average, rounded half to even; the last of it takes what is left."""
    if total_qty_milli <= 0:
        return 0
    if qty_milli >= total_qty_milli:
        return total_value_e4
    share = Decimal(total_value_e4) * qty_milli / total_qty_milli
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def cost_value(qty_milli: int, unit_cost_e4: int) -> int:
    """The value of a quantity at a unit cost (both kept as whole numbers)."""
    return int((Decimal(qty_milli) * unit_cost_e4 / MILLI).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def unit_cost(qty_milli: int, value_e4: int) -> int:
    """Value per unit (e4 per whole unit) of a holding; 0 for nothing."""
    if qty_milli <= 0:
        return 0
    return int((Decimal(value_e4) * MILLI / qty_milli).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def month_of(year: int, month: int) -> int:
    return year * 100 + month


def month_text(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


def add_months(month: int, n: int) -> int:
    index = (month // 100) * 12 + (month % 100 - 1) + n
    return (index // 12) * 100 + index % 12 + 1


def month_range(first: int, last: int) -> list[int]:
    """The months ``first``..``last`` (YYYYMM), both included."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out
