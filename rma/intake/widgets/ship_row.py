"""A unit that left (or a scan that could not ship), newest on top, with its parcel label."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import background_tasks, ui

from rma.i18n import _
from rma.intake.pages_common import escaped
from rma.intake.widgets.label_status import LabelStatus, print_now
from rma.ui.banner import notify_problem, signal
from rma.ui.frame import unit_url
from rma.ui.widgets import state_badge


class ShipRows:
    def __init__(self) -> None:
        self.box = ui.column().classes("w-full gap-2").props("data-testid=ship-results")
        self.print_lock = asyncio.Lock()  # parcel labels print one at a time, in order

    def _card(self, classes: str, props: str) -> ui.card:
        with self.box:
            card = ui.card().classes(f"w-full gap-2 border-l-8 {classes}").props(f"flat bordered {props}")
        card.move(target_index=0)
        return card

    def problem(self, message: str, raw: str) -> None:
        with self._card("border-red-700 bg-red-50", "data-testid=ship-row data-kind=error"):
            with ui.row().classes("items-center gap-3 no-wrap"):
                ui.icon("error", size="md").classes("text-red-700")
                ui.label(message).classes("text-xl font-semibold text-red-900").props("data-testid=row-error")
            if raw:
                ui.label(_("Scanned: {scan}").format(scan=escaped(raw))).classes("font-mono text-slate-800")
        signal("error")
        notify_problem(message)

    async def _print(self, job: int, status: LabelStatus) -> None:
        async with self.print_lock:
            status.set("printing", _("Printing…"))
            result = await print_now(job)
        status.show_result(result)

    def shipped(self, data: dict[str, Any]) -> None:
        border = "border-teal-600" if data["created"] else "border-amber-500"
        with self._card(border, f"data-testid=ship-row data-kind=shipped data-serial={data['serial']}"):
            with ui.row().classes("w-full items-center gap-x-6 gap-y-2"):
                ui.link(data["serial"], unit_url(data["serial"])).classes("text-2xl font-mono font-bold")
                if data["tag"]:
                    ui.link(data["tag"], unit_url(data["tag"])).classes("text-xl font-mono")
                if data["state"]:
                    state_badge(data["state"], large=True)
                ui.label(_("to {customer} by {courier} {waybill}").format(
                    customer=data["customer"], courier=data["courier"], waybill=data["waybill"])).classes("text-xl")
                ui.label(_("cost {cost}").format(cost=data["cost"]) if data.get("cost") else _("no cost")).classes(
                    "text-lg text-slate-700").props("data-testid=ship-cost-shown")
                ui.space()
                status = LabelStatus(_("Label queued…") if data["job"] else None)
                if data["job"]:
                    ui.button(_("Reprint"), icon="print",
                              on_click=lambda: self._print(data["job"], status)).props("outline dense no-caps")
            if not data["created"]:
                ui.label(_("Already in this parcel: nothing changed.")).classes("text-lg text-amber-800")
        signal("ok" if data["created"] else "warn")
        if data["job"]:
            background_tasks.create(self._print(data["job"], status), name="shipping-label")
