"""CSV exports for people's spreadsheets: streamed, and with formulas neutralised.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is read
as a formula by Excel, LibreOffice and WPS; a dealer's complaint text must never run as
one. Such a text cell is written with a leading apostrophe (OWASP's advice), which the
spreadsheet shows as plain text. Plain numbers (``-80.5``) stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def csv_cell(value: Any) -> str | int | float:
    """One cell as it may go into a CSV file: ``None`` is empty, a formula-looking text is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Mapping[str, Any]], columns: list[str], *, lineterminator: str = "\r\n") -> Iterator[str]:
    """The header line, then one line per row, as the rows come: nothing is held in memory."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)

    def line(cells: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(cells)
        return out.getvalue()

    yield line(columns)
    for row in rows:
        yield line([csv_cell(row.get(c)) for c in columns])


def csv_text(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    """A whole CSV document for a terminal (``\\n`` line ends, no BOM)."""
    return "".join(csv_lines(rows, columns, lineterminator="\n"))


def csv_bytes(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> bytes:
    """A whole CSV file with a BOM, so spreadsheet programs on Chinese Windows read the UTF-8 right."""
    return ("\ufeff" + "".join(csv_lines(rows, columns))).encode("utf-8")
