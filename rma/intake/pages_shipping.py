"""Shipping (``/shipping``): a unit leaves in an outbound parcel, from the keyboard alone.

Scan the unit (tag or serial), scan the waybill (the courier is guessed from it), type the
cost, Enter: the unit ships and the parcel label prints. The waybill, courier and cost stay
for the next unit of the same parcel, so a second unit is one scan and Enter.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import background_tasks, run, ui

from drivers.scan import ScanError, clean_scan
from rma.core import catalogue
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _
from rma.intake import labelling, services
from rma.intake.pages_common import (
    SIGNAL_HEAD,
    escaped,
    focus,
    notify_problem,
    pick_first_on_enter,
    plain_field,
    problem_text,
    set_field,
)
from rma.ui import runtime
from rma.ui.areas import SHIPPING
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.widgets import state_badge

FIELDS = ("unit", "waybill", "courier", "cost")


def _customers(uow: UnitOfWork) -> dict[str, str]:
    return {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)}


def _enter_js(field: str, ids: dict[str, int]) -> str:
    """Enter (or Tab after a scan) in one field: the browser sends every field as it is now.

    When the press ships a unit, the unit field is emptied at once, so the next scan starts clean.
    """
    values = ", ".join(f"{k}: getHtmlElement({i}).value" for k, i in ids.items())
    scan_field = field in ("unit", "waybill")
    return f"""(e) => {{
        if (e.isComposing || e.altKey || e.metaKey) return;
        if (e.key !== 'Enter' && !(e.key === 'Tab' && {'true' if scan_field else 'false'} && e.target.value.trim())) return;
        e.preventDefault();
        const v = {{{values}, field: '{field}'}};
        v.ship = e.ctrlKey || v.field === 'cost'
            || (v.field === 'unit' && !!v.unit.trim() && !!v.waybill.trim() && !!v.courier.trim());
        if (v.ship) getHtmlElement({ids['unit']}).value = '';
        emit(v);
    }}"""


def register() -> None:
    @protected_page(SHIPPING.path, area=SHIPPING, title="Shipping")
    async def shipping_page(user: SessionUser) -> None:
        customers = await runtime.read(_customers)
        ship_lock, print_lock = asyncio.Lock(), asyncio.Lock()
        ui.add_head_html(SIGNAL_HEAD)

        ui.label(_("Ship units out")).classes("text-2xl font-semibold")
        with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
            "flat data-testid=ship-form data-signal-area"
        ):
            with ui.row().classes("w-full items-end gap-3"):
                unit = plain_field(_("Unit: tag or serial"), "ship-unit", width="w-96", autofocus=True)
                unit.classes("rma-scan")
                waybill = plain_field(_("Waybill"), "ship-waybill", width="w-72")
                waybill.classes("rma-scan")
                courier = plain_field(_("Courier"), "ship-courier", width="w-32")
                cost = plain_field(_("Courier cost"), "ship-cost", width="w-32", inputmode="decimal")
            with ui.row().classes("w-full items-end gap-3"):
                customer = ui.select(customers, with_input=True, clearable=True,
                                     label=_("To customer (optional: else back to the sender)")).props(
                    "outlined dense data-testid=ship-customer").classes("min-w-96")
                ship_button = ui.button(_("Ship"), icon="local_shipping").props(
                    "unelevated no-caps size=lg data-testid=ship")
                ui.button(_("New parcel"), icon="add_box", on_click=lambda: new_parcel()).props(
                    "flat no-caps data-testid=ship-new-parcel")
                pending = ui.label().classes("text-blue-900 text-base").props("data-testid=ship-pending")
            ui.label(_("Enter moves to the next field; in the cost field it ships. The waybill stays for the next "
                       "unit of the same parcel: then a scan of the unit and Enter ship it.")).classes(
                "text-sm text-slate-500")
        results = ui.column().classes("w-full gap-2").props("data-testid=ship-results")
        ids = {"unit": unit.id, "waybill": waybill.id, "courier": courier.id, "cost": cost.id}
        waiting = 0

        def show_waiting() -> None:
            pending.set_text(_("Processing {n}…").format(n=waiting) if waiting else "")

        def new_parcel() -> None:
            for field in (waybill, courier, cost):
                set_field(field, "")
            customer.value = None
            focus(unit)

        def result_card(border: str) -> ui.card:
            with results:
                card = ui.card().classes(f"w-full gap-2 border-l-8 {border}").props("flat bordered")
            card.move(target_index=0)
            return card

        def problem(message: str, raw: str) -> None:
            with result_card("border-red-700 bg-red-50").props("data-testid=ship-row data-kind=error"):
                with ui.row().classes("items-center gap-3 no-wrap"):
                    ui.icon("error", size="md").classes("text-red-700")
                    ui.label(message).classes("text-xl font-semibold text-red-900").props("data-testid=row-error")
                if raw:
                    ui.label(_("Scanned: {scan}").format(scan=escaped(raw))).classes("font-mono text-slate-800")
            ui.run_javascript("rmaSignal('error')")
            notify_problem(message)

        async def print_label(job: int, status: ui.label) -> None:
            async with print_lock:
                status.set_text(_("Printing…"))
                result = await run.io_bound(labelling.print_job, runtime.database(), job)
            if result["status"] == "printed":
                status.set_text(_("Label printed"))
                status.classes(replace="text-base text-green-800")
            else:
                status.set_text(_("Label failed: {reason}").format(reason=result["error"]))
                status.classes(replace="text-base text-red-800 font-semibold")
            status.props(f"data-status={result['status']}")

        def shipped(data: dict[str, Any]) -> None:
            border = "border-teal-600" if data["created"] else "border-amber-500"
            with result_card(border).props(f"data-testid=ship-row data-kind=shipped data-serial={data['serial']}"):
                with ui.row().classes("w-full items-center gap-x-6 gap-y-2"):
                    ui.link(data["serial"], unit_url(data["serial"])).classes("text-2xl font-mono font-bold")
                    if data["tag"]:
                        ui.link(data["tag"], unit_url(data["tag"])).classes("text-xl font-mono")
                    if data["state"]:
                        state_badge(data["state"], large=True)
                    ui.label(_("to {customer} by {courier} {waybill}").format(
                        customer=data["customer"], courier=data["courier"], waybill=data["waybill"])).classes(
                        "text-xl")
                    ui.space()
                    status = ui.label(_("Label queued…") if data["job"] else "").classes("text-base text-slate-600")\
                        .props("data-testid=label-status")
                    if data["job"]:
                        ui.button(_("Reprint"), icon="print",
                                  on_click=lambda: print_label(data["job"], status)).props("outline dense no-caps")
                if not data["created"]:
                    ui.label(_("Already in this parcel: nothing changed.")).classes("text-lg text-amber-800")
            ui.run_javascript(f"rmaSignal({'ok' if data['created'] else 'warn'!r})")
            if data["job"]:
                background_tasks.create(print_label(data["job"], status), name="shipping-label")

        async def ship(v: dict[str, str]) -> None:
            nonlocal waiting
            raw_unit, raw_waybill = v.get("unit", ""), v.get("waybill", "")
            try:
                key = clean_scan(raw_unit)
            except ScanError as exc:
                problem(problem_text(exc), raw_unit)
                return
            try:
                waybill_no = clean_scan(raw_waybill) if raw_waybill.strip() else ""
            except ScanError as exc:
                problem(problem_text(exc), raw_waybill)
                return
            courier_name, cost_text, to = v.get("courier", ""), v.get("cost", "").strip() or None, customer.value

            def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
                result = services.ship_unit(uow, actor, key, courier=courier_name, waybill=waybill_no, cost=cost_text,
                                            customer_code=to or None)
                job = labelling.queue_parcel_label(uow, actor, result.parcel).id if result.created else None
                return {**result.as_dict(), "job": job}

            waiting += 1
            show_waiting()
            try:
                async with ship_lock:  # one at a time, in the order they were sent
                    data = await user.act(work)
            except DomainError as exc:
                problem(problem_text(exc), raw_unit)
                focus(unit)
                return
            finally:
                waiting -= 1
                show_waiting()
            shipped(data)
            focus(unit)

        async def entered(e) -> None:  # noqa: ANN001
            args = e.args if isinstance(e.args, dict) else {}
            v = {k: str(args.get(k) or "") for k in FIELDS}
            if args.get("ship"):
                await ship(v)
                return
            field = args.get("field")
            if field == "unit":
                if v.get("unit", "").strip():
                    focus(waybill)
            elif field == "waybill":
                guess = services.guess_courier(v.get("waybill", ""))
                if guess and not v.get("courier", "").strip():
                    set_field(courier, guess)
                    focus(cost)
                else:
                    focus(courier if not v.get("courier", "").strip() else cost)
            elif field == "courier":
                focus(cost)

        for name, field in (("unit", unit), ("waybill", waybill), ("courier", courier), ("cost", cost)):
            field.on("keydown", entered, js_handler=_enter_js(name, ids))
        values = ", ".join(f"{k}: getHtmlElement({i}).value" for k, i in ids.items())
        ship_button.on("click", entered, js_handler=f"""() => {{
            const v = {{{values}, field: 'button', ship: true}};
            getHtmlElement({unit.id}).value = '';
            emit(v);
        }}""")
        pick_first_on_enter(customer, then=lambda: focus(cost))
        unit.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
        show_waiting()
