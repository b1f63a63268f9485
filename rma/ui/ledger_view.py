"""One way to show a ledger: filter → the newest rows, a page at a time → export them all.

A ledger page gives its columns and three functions over its own filter type ``F``:

- ``count(uow, f) -> int``: how many rows the filter matches, counted in the database;
- ``page(uow, f, limit, offset) -> list[dict]``: one page of rows, newest first, paged in the
  database (nothing beyond the page is loaded);
- ``export(uow, f) -> Iterable[dict]``: every row, streamed, written with ``rma.exports.csv_bytes``
  (formula-looking cells defused) under ``export_columns``.

The page builds the filter from its fields (``current()``) and calls ``show()`` when they change.
The returns ledger uses it (``rma/intake/pages_ledger.py``); the test ledger can, with its run
filter and its services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nicegui import ui

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.exports import csv_bytes
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.banner import notify_problem

F = TypeVar("F")
Cell = str | int | None | Callable[[], Any]

LEDGER_STYLE = """
<style>
  .rma-ledger table { width: 100%; }
  .rma-ledger th { font-weight: 600; text-align: left; white-space: nowrap; }
  .rma-ledger th, .rma-ledger td { padding: 3px 5px !important; vertical-align: middle; height: auto !important;
                                   font-size: 13px !important; line-height: 1.25rem; }
  .rma-ledger td.rma-nowrap, .rma-ledger td.rma-nowrap * { white-space: nowrap; }
  /* the one column that takes the room the others leave, and cuts its text to it */
  .rma-ledger .rma-fill { width: 100%; max-width: 0; overflow: hidden; text-overflow: ellipsis; }
</style>
"""


@dataclass(frozen=True)
class Column:
    """One column: its header, its cell from a row (text, or a function that builds the cell), and
    whether its cells may wrap (codes, tags and dates never do)."""

    header: str
    cell: Callable[[dict[str, Any]], Cell]
    nowrap: bool = True
    key: str = ""  # the column's name, as data-col on its cells
    fill: bool = False  # takes the width the other columns leave; its text is cut (shown whole when hovered)


class LedgerView(Generic[F]):
    def __init__(self, *, columns: list[Column], current: Callable[[], F],
                 count: Callable[[UnitOfWork, F], int],
                 page: Callable[[UnitOfWork, F, int, int], list[dict[str, Any]]],
                 export: Callable[[UnitOfWork, F], Iterable[dict[str, Any]]], export_columns: list[str],
                 file_name: Callable[[], str], empty: str, all_shown: str, paged: str,
                 page_size: int = 100, testid: str = "ledger") -> None:
        """``all_shown`` ("Visits: {total}") and ``paged`` ("Visits {first}–{last} of {total} …") are the
        count line, already translated."""
        self.columns, self.current, self.count, self.page = columns, current, count, page
        self.export_rows, self.export_columns, self.file_name = export, export_columns, file_name
        self.empty, self.all_shown, self.paged = empty, all_shown, paged
        self.page_size, self.testid = page_size, testid
        self.offset = 0
        self.total = 0
        self.generation = 0
        ui.add_head_html(LEDGER_STYLE)
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            self.summary = ui.label().classes("text-slate-600").props(f"data-testid={testid}-count")
            ui.space()
            self.newer = ui.button(_("Newer"), icon="chevron_left", on_click=lambda: self.turn(-1)).props(
                f"flat dense no-caps data-testid={testid}-newer")
            self.older = ui.button(_("Older"), icon="chevron_right", on_click=lambda: self.turn(1)).props(
                f"flat dense no-caps data-testid={testid}-older")
        self.results = ui.column().classes("w-full")

    def export_button(self) -> ui.button:
        return ui.button(_("Export CSV"), icon="download", on_click=self.export).props(
            f"outline no-caps data-testid={self.testid}-export")

    async def show(self) -> None:
        """The filter changed: back to the newest rows."""
        self.offset = 0
        await self._load()

    async def turn(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * self.page_size)
        await self._load()

    async def _load(self) -> None:
        self.generation += 1
        generation, offset, size = self.generation, self.offset, self.page_size
        try:
            f = self.current()
            total, rows = await runtime.read(lambda uow: (self.count(uow, f), self.page(uow, f, size, offset)))
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        if generation != self.generation:
            return  # a newer filter or page is on its way
        self.total = total
        if total <= size and offset == 0:
            self.summary.set_text(self.all_shown.format(total=total))
        else:
            self.summary.set_text(self.paged.format(first=offset + 1 if rows else 0, last=offset + len(rows),
                                                    total=total))
        self.newer.set_visibility(offset > 0 or total > size)
        self.older.set_visibility(offset > 0 or total > size)
        self.newer.set_enabled(offset > 0)
        self.older.set_enabled(offset + len(rows) < total)
        self.results.clear()
        with self.results:
            self._table(rows)

    def _table(self, rows: list[dict[str, Any]]) -> None:
        with ui.element("q-markup-table").props(
            f"flat bordered dense separator=horizontal data-testid={self.testid}-table"
        ).classes("w-full rma-ledger"):
            with ui.element("thead"), ui.element("tr").classes("bg-slate-100"):
                for c in self.columns:
                    with ui.element("th").classes("rma-fill" if c.fill else ""):
                        ui.label(c.header).classes("truncate" if c.fill else "")
            with ui.element("tbody"):
                if not rows:
                    with ui.element("tr"), ui.element("td").props(f"colspan={len(self.columns)}"):
                        ui.label(self.empty).classes("text-slate-500 italic py-2")
                for row in rows:
                    with ui.element("tr"):
                        for c in self.columns:
                            with ui.element("td").classes(
                                " ".join(x for x in ("rma-nowrap" if c.nowrap else "", "rma-fill" if c.fill else "")
                                         if x)
                            ).props(
                                f"data-col={c.key}" if c.key else ""
                            ):
                                cell = c.cell(row)
                                if callable(cell):
                                    cell()
                                else:
                                    ui.label("—" if cell is None or cell == "" else str(cell))

    async def export(self) -> None:
        try:
            f = self.current()
            data = await runtime.read(lambda uow: csv_bytes(self.export_rows(uow, f), self.export_columns))
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        ui.download.content(data, self.file_name(), "text/csv")
