"""Small parsers of what people type, shared by the pages and the commands."""

from __future__ import annotations

from datetime import date

from rma.errors import DomainError


def parse_day(text: str | None) -> date | None:
    """``YYYY-MM-DD`` or nothing; anything else is a clear ``bad_date``."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("bad_date", "{value!r} is not a date (YYYY-MM-DD)", value=text) from None
