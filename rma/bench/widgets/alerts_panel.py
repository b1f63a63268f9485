"""The card's interception alerts: each one marked done (what was done) or waived (why) before the unit
may leave for test or programming. A technician's waiver goes to the lead for approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.ui.widgets import when

Mark = Callable[[int, str, bool], Awaitable[None]]
STATUS = {"open": ("Open", "bg-red-700"), "done": ("Done", "bg-green-700"), "waived": ("Waived", "bg-slate-600")}


def alerts_panel(card: dict[str, Any], *, can_work: bool, may_waive: bool, mark: Mark) -> None:
    if not card["alerts"]:
        return
    asked = {r["alert"]["id"] for r in card["requests"] if r["kind"] == "waiver" and r["status"] == "pending"
             and r["alert"]}
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=alerts-panel"):
        for a in card["alerts"]:
            status = "asked" if a["status"] == "open" and a["id"] in asked else a["status"]
            text, colour = STATUS.get(a["status"], STATUS["open"])
            with ui.card().classes("w-full gap-2 " + ("border-2 border-red-600" if a["status"] == "open" else "")).props(
                    f"flat bordered data-testid=alert data-alert={a['id']} data-status={status}"):
                with ui.row().classes("w-full items-center gap-3 no-wrap"):
                    ui.icon("report", size="sm").classes("text-red-700")
                    ui.label(_("Interception:")).classes("font-bold whitespace-nowrap")
                    ui.label(a["action"]).classes("grow text-base font-medium")
                    ui.label(_(text)).classes(f"{colour} text-white rounded-full px-2 py-0.5 text-sm")
                if a["status"] != "open":
                    ui.label(_("{who}, {when}: {note}").format(who=a["by"], when=when(a["at"]), note=a["note"])).classes(
                        "text-slate-600")
                    continue
                if status == "asked":
                    ui.label(_("A waiver was asked of the lead.")).classes("text-amber-800")
                if not can_work:
                    continue
                with ui.row().classes("w-full items-end gap-2"):
                    note = ui.input(_("What was done, or why it may be waived")).props(
                        f"outlined dense data-testid=alert-note-{a['id']}").classes("grow")
                    note.on("keydown.enter", lambda a=a, note=note: mark(a["id"], note.value or "", False))
                    ui.button(_("Done"), icon="check", on_click=lambda a=a, note=note: mark(a["id"], note.value or "", False)).props(
                        f"unelevated no-caps color=green-8 data-testid=alert-done-{a['id']}")
                    if status != "asked":
                        ui.button(_("Waive") if may_waive else _("Ask the lead to waive"), icon="do_not_disturb",
                                  on_click=lambda a=a, note=note: mark(a["id"], note.value or "", True)).props(
                            f"flat no-caps data-testid=alert-waive-{a['id']}")
