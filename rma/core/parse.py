"""Small parsers and cleaners of what people type, shared by the pages, the commands and the services.

Every free text that is stored goes through :func:`clean_text`: no control characters (an
ANSI escape in a customer name would repaint a terminal; a NUL is refused by PostgreSQL
and kept by SQLite), and no longer than its column, read from the model
(:func:`text_limit`), so both databases give the same answer to the same input.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rma.errors import DomainError

# Control characters (C0 but TAB/LF, DEL, C1), bidirectional overrides and isolates (they
# reorder what a reader sees), the Unicode line separators, and lone surrogates (bytes that
# were not UTF-8 on the command line).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_CONTROL = re.compile("[\t\n]")
FREE_TEXT_LIMIT = 2000  # a free text kept in a Text column (a complaint, an action, a reason)

DATE_MIN = date(1900, 1, 1)  # no unit of ours was made, sold or received outside these
DATE_MAX = date(2999, 12, 31)
MAX_ID = 2**31 - 1  # the largest id an Integer column holds on PostgreSQL


def text_limit(column: Any) -> int | None:
    """The length of a ``String(n)`` column (``Customer.name`` or a ``Column``); None for Text."""
    col = getattr(column, "property", None)
    if col is not None and hasattr(col, "columns"):
        column = col.columns[0]
    return getattr(getattr(column, "type", None), "length", None)


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character in ``text``, shown as an escape (``\\x1b``), or None."""
    m = _CONTROL.search(text) or (None if multiline else _LINE_CONTROL.search(text))
    if m is None:
        return None
    return m.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def clean_text(
    value: str | None, field: str, *, column: Any = None, limit: int | None = None,
    required: bool = False, multiline: bool = False,
) -> str | None:
    """A free text as it may be stored: stripped, no control characters, not longer than its column.

    ``field`` names it for people ("customer name"); an empty text is None (or refused when
    ``required``). ``column`` is the model attribute it is stored in; ``limit`` overrides it
    (a Text column gets :data:`FREE_TEXT_LIMIT`).
    """
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.replace("\r\n", "\n") if multiline else value
        text = text.strip()
    else:
        raise DomainError("bad_text", "{field} must be a text", field=field)
    if not text:
        if required:
            raise DomainError("text_required", "{field} is required", field=field)
        return None
    bad = control_character(text, multiline=multiline)
    if bad is not None:
        raise DomainError("bad_text", "{field} contains a control character ({char}); type it again without it",
                          field=field, char=bad)
    most = limit if limit is not None else (text_limit(column) if column is not None else None)
    if most is None and column is not None:
        most = FREE_TEXT_LIMIT
    if most is not None and len(text) > most:
        raise DomainError("text_too_long", "{field} is longer than {limit} characters ({length})",
                          field=field, limit=most, length=len(text))
    return text


def clean_key(value: str | None, field: str) -> str:
    """A code someone typed to filter by (a model, a customer, a tag): trimmed, upper case.

    Control characters are refused here, before any database sees them.
    """
    text = (value or "").strip().upper()
    bad = control_character(text)
    if bad is not None:
        raise DomainError("bad_text", "{field} contains a control character ({char}); type it again without it",
                          field=field, char=bad)
    return text


def check_day(day: date | None, field: str = "date") -> date | None:
    """A date within the years a depot deals with; far dates (0001, 9999) are refused."""
    if day is not None and not DATE_MIN <= day <= DATE_MAX:
        raise DomainError("bad_date", "{field} {value} is out of range ({low} to {high})", field=field,
                          value=day.isoformat(), low=DATE_MIN.isoformat(), high=DATE_MAX.isoformat())
    return day


def parse_day(text: str | None) -> date | None:
    """``YYYY-MM-DD`` or nothing; anything else is a clear ``bad_date``."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("bad_date", "{value!r} is not a date (YYYY-MM-DD)", value=text[:40]) from None
    return check_day(day)


def parse_month(text: str | None) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month), within the years of :func:`check_day`."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise DomainError("bad_month", "{month!r} is not a month (YYYY-MM)", month=(text or "")[:40])
    year, month = int(m.group(1)), int(m.group(2))
    if not DATE_MIN.year <= year <= DATE_MAX.year:
        raise DomainError("bad_month", "month {month} is out of range ({low} to {high})", month=m.group(0),
                          low=f"{DATE_MIN:%Y-%m}", high=f"{DATE_MAX:%Y-%m}")
    return year, month


def check_limit(limit: int | None, most: int = 1_000_000) -> int | None:
    """How many rows a listing may show: None (all), or 1 to ``most``."""
    if limit is None:
        return None
    if not 1 <= limit <= most:
        raise DomainError("bad_limit", "a limit is a number of rows from 1 to {most}, not {limit}",
                          most=most, limit=str(limit)[:30])
    return limit


def known_id(value: int) -> bool:
    """Whether ``value`` can be a row id at all (a 25-digit number cannot: no database call needed)."""
    return isinstance(value, int) and 1 <= value <= MAX_ID
