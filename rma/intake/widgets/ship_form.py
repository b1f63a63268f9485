"""The shipping form, from the keyboard alone, in one fixed order:

unit (scan) → waybill (scan) → courier (guessed from the waybill: Enter accepts it) → cost
(typed; Enter ships) → back to the unit for the next one.

A unit never ships without a cost unless "no cost" is ticked (Alt+N): Enter on an empty cost says
so and stays there. The waybill, courier and cost stay for the next unit of the same parcel, so a
second unit is one scan and Enter. An amount typed into the unit field (``18.00``) is a cost that
went astray, never a unit to look up: it goes to the cost field.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, clean_scan
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import labelling, services
from rma.intake.widgets.ship_row import ShipRows
from rma.ui.banner import signal
from rma.ui.fields import focus, pick_first_on_enter, plain_field, set_field
from rma.ui.frame import SessionUser

FIELDS = ("unit", "waybill", "courier", "cost")
# An amount of money, not a unit: decimals, or 1-3 digits (no serial or tag is that short).
MONEY = r"^\d{1,7}[.,]\d{1,2}$|^\d{1,3}$"
MONEY_RE = re.compile(MONEY)


def looks_like_cost(text: str) -> bool:
    return bool(MONEY_RE.match((text or "").strip()))


def _enter_js(field: str, ids: dict[str, int], no_cost: int) -> str:
    """Enter (or Tab after a scan) in one field: the browser sends every field as it is now, and
    whether this press ships. When it ships, the unit field is emptied at once, so the next scan
    starts clean."""
    values = ", ".join(f"{k}: getHtmlElement({i}).value" for k, i in ids.items())
    scan = "true" if field in ("unit", "waybill") else "false"
    return f"""(e) => {{
        if (e.isComposing || e.altKey || e.metaKey) return;
        if (e.key !== 'Enter' && !(e.key === 'Tab' && {scan} && e.target.value.trim())) return;
        e.preventDefault();
        const v = {{{values}, no_cost: getHtmlElement({no_cost}).checked, field: '{field}'}};
        const money = new RegExp({json.dumps(MONEY)}).test(v.unit.trim());
        const ready = !!(v.waybill.trim() && v.courier.trim() && (v.cost.trim() || v.no_cost));
        v.ship = !!(v.unit.trim() && !money && ready && (e.ctrlKey || v.field === 'cost' || v.field === 'unit'));
        if (v.ship || money) getHtmlElement({ids['unit']}).value = '';
        emit(v);
    }}"""


# Alt+N ticks or clears "no cost" from any field of the form.
NO_COST_KEY_JS = """(e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.code !== 'KeyN') return;
    e.preventDefault();
    const box = e.currentTarget.querySelector('input[data-testid="ship-no-cost"]');
    if (box) box.click();
}"""


class ShipForm:
    def __init__(self, user: SessionUser, customers: dict[str, str]) -> None:
        self.user = user
        self.lock = asyncio.Lock()  # one shipment at a time, in the order they were sent
        self.waiting = 0
        with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
            "flat data-testid=ship-form data-signal-area"
        ) as form:
            with ui.row().classes("w-full items-end gap-3"):
                self.unit = plain_field(_("Unit: tag or serial"), "ship-unit", width="w-80", autofocus=True)
                self.unit.classes("rma-scan")
                self.waybill = plain_field(_("Waybill"), "ship-waybill", width="w-64")
                self.waybill.classes("rma-scan")
                self.courier = plain_field(_("Courier"), "ship-courier", width="w-32")
                self.cost = plain_field(_("Courier cost"), "ship-cost", width="w-32", inputmode="decimal")
                with ui.element("label").classes("flex items-center gap-2 text-base cursor-pointer pb-2"):
                    self.no_cost = ui.element("input").classes("rma-check w-5 h-5")
                    self.no_cost.props.update({"type": "checkbox", "data-testid": "ship-no-cost"})
                    ui.label(_("No cost (Alt+N)"))
            with ui.row().classes("w-full items-end gap-3"):
                self.customer = ui.select(customers, with_input=True, clearable=True,
                                          label=_("To customer (optional: else back to the sender)")).props(
                    "outlined dense data-testid=ship-customer").classes("min-w-96")
                ship_button = ui.button(_("Ship"), icon="local_shipping").props(
                    "unelevated no-caps size=lg data-testid=ship")
                ui.button(_("New parcel"), icon="add_box", on_click=self.new_parcel).props(
                    "flat no-caps data-testid=ship-new-parcel")
                self.pending = ui.label().classes("text-blue-900 text-base").props("data-testid=ship-pending")
            self.hint = ui.label().classes("text-lg font-semibold text-amber-800").props("data-testid=ship-hint")
            self.hint.set_visibility(False)
            ui.label(_("Scan the unit, Enter; scan the waybill, Enter; the courier is guessed from the waybill: "
                       "Enter accepts it; type the cost, Enter ships. No cost? Alt+N ticks it. Ctrl+Enter ships "
                       "from any field. The waybill, courier and cost stay for the next unit of the same parcel: "
                       "then a scan of the unit and Enter ship it.")).classes("text-sm text-slate-500")
        form.on("keydown", js_handler=NO_COST_KEY_JS)
        self.rows = ShipRows()
        ids = {"unit": self.unit.id, "waybill": self.waybill.id, "courier": self.courier.id, "cost": self.cost.id}
        for name in FIELDS:
            getattr(self, name).on("keydown", self.entered, js_handler=_enter_js(name, ids, self.no_cost.id))
        values = ", ".join(f"{k}: getHtmlElement({i}).value" for k, i in ids.items())
        ship_button.on("click", self.entered, js_handler=f"""() => {{
            const v = {{{values}, no_cost: getHtmlElement({self.no_cost.id}).checked, field: 'button', ship: true}};
            emit(v);
        }}""")
        pick_first_on_enter(self.customer, then=lambda: focus(self.cost, select=True))
        self.unit.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")

    def new_parcel(self) -> None:
        for field in (self.waybill, self.courier, self.cost):
            set_field(field, "")
        ui.run_javascript(f"getHtmlElement({self.no_cost.id}).checked = false")
        self.customer.value = None
        self.say(None)
        focus(self.unit)

    def say(self, text: str | None) -> None:
        """The one hint under the fields: what the form waits for."""
        self.hint.set_text(text or "")
        self.hint.set_visibility(bool(text))
        if text:
            signal("warn")

    def _show_waiting(self) -> None:
        self.pending.set_text(_("Processing {n}…").format(n=self.waiting) if self.waiting else "")

    async def entered(self, e) -> None:  # noqa: ANN001
        args = e.args if isinstance(e.args, dict) else {}
        v = {k: str(args.get(k) or "").strip() for k in FIELDS}
        no_cost, field = bool(args.get("no_cost")), args.get("field")
        if looks_like_cost(v["unit"]):  # a cost typed where the unit goes: it is a cost
            if not v["cost"]:
                set_field(self.cost, v["unit"])
                self.say(_("{amount} is an amount, not a unit: it went into the cost field.").format(amount=v["unit"]))
            else:
                self.say(_("{amount} is an amount, not a unit; the cost is {cost}.").format(amount=v["unit"],
                                                                                          cost=v["cost"]))
            focus(self.cost, select=True)
            return
        if args.get("ship"):
            await self._ship(v, no_cost, clear_unit=field == "button")
            return
        missing = self._next_missing(v, no_cost)
        if field == "waybill" and v["waybill"] and not v["courier"]:
            guess = services.guess_courier(v["waybill"])
            if guess:
                set_field(self.courier, guess)
                self.say(None)
                focus(self.courier, select=True)  # guessed: Enter accepts it, typing replaces it
                return
        if field == "cost" and missing == "cost":
            self.say(_("Type the courier cost, or tick “No cost” (Alt+N): a parcel does not ship without one."))
            focus(self.cost)
            return
        self.say(None)
        if missing is not None:
            focus(getattr(self, missing), select=missing == "courier")

    @staticmethod
    def _next_missing(v: dict[str, str], no_cost: bool) -> str | None:
        """The first field, in the form's order, still waiting for its value."""
        for name in FIELDS:
            if not v[name] and not (name == "cost" and no_cost):
                return name
        return None

    async def _ship(self, v: dict[str, str], no_cost: bool, *, clear_unit: bool = False) -> None:
        """Ship the unit in ``v``. A key press already emptied the unit field in the browser (a scan
        typed meanwhile is the next one); after the button it is emptied here, once shipped."""
        missing = self._next_missing(v, no_cost)
        if missing == "cost":
            self.say(_("Type the courier cost, or tick “No cost” (Alt+N): a parcel does not ship without one."))
            focus(self.cost)
            return
        if missing is not None:
            focus(getattr(self, missing))
            return
        self.say(None)
        try:
            key = clean_scan(v["unit"])
        except ScanError as exc:
            self.rows.problem(error_message(exc), v["unit"])
            focus(self.unit)
            return
        try:
            waybill = clean_scan(v["waybill"])
        except ScanError as exc:
            self.rows.problem(error_message(exc), v["waybill"])
            focus(self.waybill)
            return
        courier, cost, to = v["courier"], None if no_cost else v["cost"], self.customer.value

        def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
            result = services.ship_unit(uow, actor, key, courier=courier, waybill=waybill, cost=cost,
                                        customer_code=to or None)
            job = labelling.queue_parcel_label(uow, actor, result.parcel).id if result.created else None
            return {**result.as_dict(), "job": job}

        self.waiting += 1
        self._show_waiting()
        try:
            async with self.lock:
                data = await self.user.act(work)
        except DomainError as exc:
            self.rows.problem(error_message(exc), v["unit"])
            focus(self.cost if exc.code == "bad_cost" else self.unit)
            return
        finally:
            self.waiting -= 1
            self._show_waiting()
        self.rows.shipped(data)
        if clear_unit:
            set_field(self.unit, "")
        focus(self.unit)
