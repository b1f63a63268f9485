"""The new-parcel form: a waybill nobody has opened yet asks courier (guessed from the waybill),
sender, declared count and cost; Enter in any field opens the parcel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import services
from rma.intake.widgets.keyboard import focus_scan
from rma.ui.banner import signal
from rma.ui.fields import focus, pick_first_on_enter, plain_field, values_js
from rma.ui.frame import SessionUser


@dataclass
class OpenParcel:
    """The inbound parcel a station is receiving, as plain values."""

    courier: str
    waybill: str
    customer: str | None
    customer_name: str | None
    declared: int | None
    scanned: int

    @classmethod
    def of(cls, parcel: Any, scanned: int) -> OpenParcel:
        return cls(parcel.courier, parcel.waybill, parcel.customer.code if parcel.customer else None,
                   parcel.customer.name if parcel.customer else None, parcel.declared_count, scanned)

    @classmethod
    def from_report(cls, p: dict[str, Any]) -> OpenParcel:
        return cls(p["courier"], p["waybill"], p["customer"], p["customer_name"], p["declared"], p["scanned"])


class ParcelForm:
    """Shown in ``box`` while a new waybill waits for its details; later scans wait in the queue."""

    def __init__(self, box: ui.element, user: SessionUser, stray_scan: Callable[[str], None]) -> None:
        self.box, self.user, self.stray_scan = box, user, stray_scan
        self.answer: asyncio.Future[OpenParcel | None] | None = None
        self.busy = False

    def cancel(self) -> None:
        self._answer(None)

    def _answer(self, parcel: OpenParcel | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(parcel)

    async def ask(self, waybill: str, courier: str | None, customers: dict[str, str]) -> OpenParcel | None:
        self.box.clear()
        self.answer = asyncio.get_running_loop().create_future()
        with self.box:
            with ui.card().classes("w-full gap-3 border-2 border-blue-300 bg-blue-50").props(
                "flat data-testid=new-parcel-form"
            ) as form:
                form.on("keydown.esc", self.cancel)
                with ui.row().classes("items-baseline gap-3"):
                    ui.label(_("New parcel")).classes("text-xl font-semibold")
                    ui.label(waybill).classes("text-2xl font-mono font-bold").props("data-testid=new-parcel-waybill")
                    if courier:
                        ui.label(_("courier guessed from the waybill: {courier}").format(courier=courier)).classes(
                            "text-slate-600")
                with ui.row().classes("w-full items-end gap-3"):
                    courier_field = plain_field(_("Courier"), "new-parcel-courier", value=courier or "", width="w-32")
                    customer = ui.select(customers, with_input=True, label=_("Sender (customer)")).props(
                        "outlined data-testid=new-parcel-customer"
                    ).classes("min-w-96")
                    declared = plain_field(_("Declared units"), "new-parcel-declared", width="w-36",
                                           inputmode="numeric")
                    cost = plain_field(_("Courier cost"), "new-parcel-cost", width="w-36", inputmode="decimal")
                    open_button = ui.button(_("Open parcel"), icon="move_to_inbox").props(
                        "unelevated no-caps size=lg data-testid=open-parcel"
                    )
                    ui.button(_("Cancel"), on_click=self.cancel).props("flat no-caps data-testid=cancel-parcel")
                problem = ui.label().classes("text-red-800 text-lg font-medium").props("data-testid=new-parcel-error")
                problem.set_visibility(False)
                ui.label(_("Enter in any field opens the parcel; in the sender field it takes the first match."))\
                    .classes("text-sm text-slate-500")

        fields = {"courier": courier_field, "declared": declared, "cost": cost}

        async def submit(e) -> None:  # noqa: ANN001
            if self.busy or self.answer is None or self.answer.done():
                return
            given = e.args if isinstance(e.args, dict) else {}
            if not customer.value:
                problem.set_text(_("Choose the sender (customer) first."))
                problem.set_visibility(True)
                focus(customer)
                return
            self.busy = True
            open_button.props("loading")
            try:
                parcel = await self._open(waybill, str(given.get("courier") or ""), customer.value,
                                          str(given.get("declared") or ""), str(given.get("cost") or ""))
            except DomainError as exc:
                problem.set_text(error_message(exc))
                problem.set_visibility(True)
                signal("error")
                return
            finally:
                self.busy = False
                open_button.props(remove="loading")
            self._answer(parcel)

        enter_js = f"""(e) => {{
            if (e.key !== 'Enter' || e.isComposing || e.ctrlKey || e.altKey) return;
            e.preventDefault(); emit({values_js(fields)});
        }}"""
        for field in fields.values():
            field.on("keydown", submit, js_handler=enter_js)
        open_button.on("click", submit, js_handler=f"() => emit({values_js(fields)})")
        pick_first_on_enter(customer, then=lambda: focus(declared), unmatched=self.stray_scan)
        focus(courier_field if not courier else customer)
        try:
            return await self.answer
        finally:
            self.answer = None
            self.box.clear()
            focus_scan()

    async def _open(self, waybill: str, courier: str, customer: str | None, declared: str, cost: str) -> OpenParcel:
        declared = declared.strip()
        if declared and not declared.isdigit():
            raise DomainError("bad_count", "declared count {n} is not a number of units", n=declared)
        count = int(declared) if declared else None
        customer_code = customer or ""

        def work(uow: UnitOfWork, actor: Any) -> OpenParcel:
            parcel, _created = services.receive_parcel(uow, actor, courier=courier, waybill=waybill,
                                                       customer_code=customer_code, declared=count,
                                                       cost=cost.strip() or None)
            return OpenParcel.of(parcel, len(services.parcel_visits(uow, parcel)))

        return await self.user.act(work)
