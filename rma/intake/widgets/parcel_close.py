"""Closing a parcel: the question (declared against scanned, said before it is closed) and what
closing found, a short or over delivery in amber, or its units handed to the bench."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.i18n import _


def discrepancy_line(declared: int, scanned: int) -> None:
    if scanned < declared:
        text = _("SHORT delivery: {n} unit(s) missing").format(n=declared - scanned)
    else:
        text = _("OVER delivery: {n} unit(s) more than declared").format(n=scanned - declared)
    with ui.row().classes("items-center gap-2 bg-amber-500 text-white rounded px-3 py-2").props(
        "data-testid=discrepancy"
    ):
        ui.icon("warning", size="md")
        ui.label(text).classes("text-xl font-bold")


async def confirm_close(waybill: str, declared: int | None, scanned: int) -> bool:
    """Enter closes it, Esc (or a click beside it) goes back to scanning."""
    with ui.dialog() as dialog, ui.card().classes("w-[34rem] gap-4").props("data-testid=close-dialog"):
        ui.label(_("Close parcel {waybill}?").format(waybill=waybill)).classes("text-2xl font-semibold")
        ui.label(_("Declared {declared}, scanned {scanned}.").format(
            declared="—" if declared is None else declared, scanned=scanned)).classes("text-xl")
        if declared is not None and declared != scanned:
            discrepancy_line(declared, scanned)
        ui.label(_("Enter closes it, Esc goes back to scanning.")).classes("text-slate-500")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(_("Back to scanning"), on_click=lambda: dialog.submit(False)).props(
                "flat no-caps data-testid=close-cancel")
            ui.button(_("Close parcel"), icon="inventory", on_click=lambda: dialog.submit(True)).props(
                "unelevated no-caps size=lg autofocus data-testid=close-confirm")
    confirmed = await dialog
    dialog.delete()
    return bool(confirmed)


def closed_card(waybill: str, closed: dict[str, Any]) -> None:
    """What closing found: declared and scanned, and a short or over delivery."""
    colour = "border-amber-500 bg-amber-50" if closed["discrepancy"] else "border-green-600 bg-green-50"
    with ui.card().classes(f"w-full gap-2 border-2 {colour}").props("flat data-testid=closed-parcel"):
        ui.label(_("Parcel {waybill} closed: declared {declared}, scanned {scanned}.").format(
            waybill=waybill, declared="—" if closed["declared"] is None else closed["declared"],
            scanned=closed["scanned"])).classes("text-xl font-semibold")
        if closed["discrepancy"]:
            discrepancy_line(closed["declared"], closed["scanned"])
        else:
            ui.label(_("Its units went to the bench queue.")).classes("text-slate-700")
