"""Small building blocks shared by the pages: state badges, tables, panels, times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from nicegui import ui

from rma.core.states import VisitState
from rma.i18n import state_label

Cell = str | int | None | Callable[[], None]

S = VisitState
STATE_COLOURS: dict[VisitState, str] = {
    S.RECEIVED: "bg-slate-600",
    S.AWAITING_BENCH: "bg-sky-700",
    S.IN_REPAIR: "bg-blue-700",
    S.AWAITING_PARTS: "bg-amber-600",
    S.PROGRAMMING: "bg-violet-700",
    S.AWAITING_TEST: "bg-indigo-600",
    S.IN_TEST: "bg-indigo-800",
    S.PASSED: "bg-green-700",
    S.REFURBISHED: "bg-emerald-700",
    S.SHIPPED: "bg-teal-700",
    S.SCRAPPED: "bg-red-700",
    S.RETURNED_UNREPAIRED: "bg-stone-500",
}


def when(iso: str | None) -> str:
    """An ISO timestamp from a service, in the station's local time, to the minute."""
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def state_badge(state: str | None, *, large: bool = False) -> ui.label:
    colour = STATE_COLOURS.get(VisitState(state), "bg-slate-500") if state else "bg-slate-400"
    size = "text-lg px-3 py-1" if large else "text-sm px-2 py-0.5"
    return ui.label(state_label(state)).classes(
        f"{colour} {size} text-white rounded-full font-medium whitespace-nowrap inline-block"
    ).props(f"data-state={state or ''}")


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, empty: str, testid: str) -> ui.element:
    """A plain, dense table; a cell is text or a function that builds the cell's content."""
    with ui.element("q-markup-table").props(
        f"flat bordered dense wrap-cells separator=horizontal data-testid={testid}"
    ).classes("w-full rma-table") as element:
        with ui.element("thead"), ui.element("tr").classes("bg-slate-100"):
            for header in headers:
                with ui.element("th"):
                    ui.label(header)
        with ui.element("tbody"):
            if not rows:
                with ui.element("tr"), ui.element("td").props(f"colspan={len(headers)}"):
                    ui.label(empty).classes("text-slate-500 italic py-2")
            for row in rows:
                with ui.element("tr"):
                    for cell in row:
                        with ui.element("td"):
                            if callable(cell):
                                cell()
                            else:
                                ui.label("—" if cell is None or cell == "" else str(cell))
    return element


def error_panel(message: str, hint: str | None = None, *, testid: str = "error-panel") -> None:
    with ui.card().classes("w-full bg-red-50 border-2 border-red-600").props(f"flat data-testid={testid}"):
        with ui.row().classes("items-center gap-3 no-wrap"):
            ui.icon("error", size="lg").classes("text-red-700")
            with ui.column().classes("gap-1"):
                ui.label(message).classes("text-xl font-semibold text-red-800").props("data-testid=error-message")
                if hint:
                    ui.label(hint).classes("text-red-900")


def section_title(text: str) -> None:
    ui.label(text).classes("text-lg font-semibold text-slate-700")


def not_built_yet(message: str) -> None:
    with ui.card().classes("w-full bg-slate-50").props("flat bordered data-testid=not-built"):
        with ui.row().classes("items-center gap-3"):
            ui.icon("construction", size="md").classes("text-slate-500")
            ui.label(message).classes("text-lg text-slate-700")


# The browser reads a plain field on Enter or Tab and clears it at once, so characters a
# scanner types while the page is busy go into the next scan, never into this one.
SCAN_FIELD_JS = """(e) => {
  if (e.isComposing || e.ctrlKey || e.altKey || e.metaKey || (e.key !== 'Enter' && e.key !== 'Tab')) return;
  const raw = e.target.value;
  if (e.key === 'Tab' && !raw.trim()) return;
  e.preventDefault();
  e.target.value = '';
  if (raw.trim()) emit(raw);
}"""
