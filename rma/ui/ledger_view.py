"""One way to show a ledger: filter → the newest rows, a page at a time → export them all.

A ledger page gives its columns and three functions over its own filter type ``F``:

- ``count(uow, f) -> int``: how many rows the filter matches, counted in the database;
- ``page(uow, f, limit, offset) -> list[dict]``: one page of rows, newest first, paged in the
  database (nothing beyond the page is loaded);
- ``export(uow, f) -> Iterable[dict]``: every row, streamed from the database to the browser as
  CSV (``rma.exports.csv_lines``: formula-looking cells defused) under ``export_columns``, through a
  one-time link for the signed-in user (``offer_download``).

The page builds the filter from its fields (``current()``) and calls ``show()`` when they change.
The returns ledger (``rma/intake/pages_ledger.py``) and the test ledger
(``rma/test_station/pages_ledger.py``) use it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from nicegui import app, ui

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.exports import csv_lines
from rma.i18n import _, error_message
from rma.ui import runtime
from rma.ui.banner import notify_problem

F = TypeVar("F")

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
    """One column: its header, its cell from a row as HTML (built with the helpers below, which
    escape every text), and whether its cells may wrap (codes, tags and dates never do)."""

    header: str
    cell: Callable[[dict[str, Any]], str]
    nowrap: bool = True
    key: str = ""  # the column's name, as data-col on its cells
    fill: bool = False  # takes the width the other columns leave; its text is cut (shown whole when hovered)


# The table is one piece of HTML, not a NiceGUI element per cell: a page of a hundred visits is
# then one message to the browser instead of a few thousand components (the page shows at once).
def text(value: Any, *, classes: str = "", title: str | None = None, attrs: str = "") -> str:
    """A cell's text (a dash when empty), escaped; ``title`` shows when hovered."""
    shown = "—" if value is None or value == "" else str(value)
    more = f' title="{escape(title)}"' if title else ""
    cls = f' class="{classes}"' if classes else ""
    return f"<div{cls}{more}{(' ' + attrs) if attrs else ''}>{escape(shown)}</div>"


def link(label: str | None, href: str, *, classes: str = "font-mono", attrs: str = "") -> str:
    if not label:
        return text(None)
    extra = f" {attrs}" if attrs else ""
    return f'<a class="nicegui-link {classes}" href="{escape(href)}"{extra}>{escape(label)}</a>'


def badge(label: str, classes: str, *, title: str | None = None, attrs: str = "") -> str:
    more = f' title="{escape(title)}"' if title else ""
    extra = f" {attrs}" if attrs else ""
    return f'<span class="inline-block {classes}"{more}{extra}>{escape(label)}</span>'


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
        head = "".join(f'<th class="{"rma-fill" if c.fill else ""}">{escape(c.header)}</th>' for c in self.columns)
        if rows:
            body = "".join(
                "<tr>" + "".join(
                    f'<td class="{" ".join(x for x in ("rma-nowrap" if c.nowrap else "", "rma-fill" if c.fill else "") if x)}"'
                    + (f' data-col="{c.key}"' if c.key else "") + f">{c.cell(row)}</td>" for c in self.columns)
                + "</tr>" for row in rows)
        else:
            body = (f'<tr><td colspan="{len(self.columns)}"><div class="text-slate-500 italic py-2">'
                    f"{escape(self.empty)}</div></td></tr>")
        ui.html(
            '<div class="q-markup-table q-table__container q-table__card q-table--horizontal-separator '
            f'q-table--flat q-table--bordered q-table--dense w-full rma-ledger" data-testid="{self.testid}-table">'
            f'<table class="q-table"><thead><tr class="bg-slate-100">{head}</tr></thead><tbody>{body}</tbody></table>'
            "</div>", sanitize=False).classes("w-full")  # every text in it is escaped by the helpers above

    async def export(self) -> None:
        try:
            f = self.current()
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        rows, columns = self.export_rows, self.export_columns
        token = offer_download(lambda uow: rows(uow, f), columns)
        ui.download(f"{EXPORT_PATH}/{token}/{quote(self.file_name())}")


# ---------------------------------------------------------------- streamed exports

EXPORT_PATH = "/export"
EXPORT_TTL_S = 120  # a download link is good for one download, within two minutes
_offers: dict[str, tuple[float, int, Callable[[UnitOfWork], Iterable[dict[str, Any]]], list[str]]] = {}
_offers_lock = threading.Lock()


def offer_download(rows: Callable[[UnitOfWork], Iterable[dict[str, Any]]], columns: list[str]) -> str:
    """A one-time link to a CSV of ``rows``, for the signed-in user of this page, streamed from the
    database as the browser reads it (a million visits never sit in the station's memory)."""
    user_id = app.storage.user.get("user_id")
    token = secrets.token_urlsafe(24)
    now = time.monotonic()
    with _offers_lock:
        for old in [t for t, (at, *_rest) in _offers.items() if now - at > EXPORT_TTL_S]:
            del _offers[old]
        _offers[token] = (now, user_id, rows, columns)
    return token


def register_exports() -> None:
    """The route that streams an offered export (``rma.ui.app`` registers it with the pages)."""

    @app.get(EXPORT_PATH + "/{token}/{name}")
    def export_csv(token: str, name: str) -> Response:
        with _offers_lock:
            offer = _offers.pop(token, None)
        if offer is None or time.monotonic() - offer[0] > EXPORT_TTL_S or offer[1] is None \
                or app.storage.user.get("user_id") != offer[1]:
            return PlainTextResponse("This download link has expired; export again.", status_code=404)
        _at, _user, rows, columns = offer

        def lines() -> Iterator[bytes]:  # Starlette walks a plain iterator in a worker thread
            yield "\ufeff".encode()
            with runtime.database().uow(readonly=True) as uow:
                for line in csv_lines(rows(uow), columns):
                    yield line.encode("utf-8")

        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
