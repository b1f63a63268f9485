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


def xlsx_bytes(sheets: Iterable[tuple[str, list[str], Iterable[Mapping[str, Any]]]]) -> bytes:
    """A workbook (openpyxl, written row by row): one sheet per (title, columns, rows).

    A text cell is written as text, never as a formula (a leading ``=`` stays visible); a
    plain number is written as a number, so the spreadsheet can add it up.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "sheet")
        sheet.append(columns)
        for row in rows:
            cells = []
            for c in columns:
                value = row.get(c)
                if isinstance(value, str) and c not in XLSX_TEXT_COLUMNS and _PLAIN_NUMBER.match(value):
                    value = float(value) if any(ch in value for ch in ".eE") else int(value)
                cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
                if isinstance(value, str):
                    cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, (int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return _XLSX_ILLEGAL.sub("", text)


# Keys that name something: kept as text even when they look like a number ("7851", "0042").
XLSX_TEXT_COLUMNS = frozenset({"part_number", "bin", "tag", "code", "designator", "job", "model", "serial",
                               "waybill", "supplier", "delivery_note", "from", "to", "month"})
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what an .xlsx cannot hold at all
