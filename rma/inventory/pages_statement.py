"""The monthly statement (``/stores/statement``) and the stores' reports (``/stores/reports``):
reorder, slow and dead stock, stock turns, first-time fill rate, parts cost per repaired unit,
refurbished units in stock. Each downloads as CSV or Excel."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.core.models import Role
from rma.i18n import _
from rma.inventory import reports, services
from rma.inventory.widgets.common import (
    act,
    category_word,
    downloads,
    part_name,
    stores_page,
    uom_word,
)
from rma.ui import runtime
from rma.ui.frame import SessionUser
from rma.ui.widgets import table, when

CLOSERS = {Role.MATERIALS, Role.SUPERVISOR}


def _num(value: Any):  # noqa: ANN202
    return lambda: ui.label("—" if value in (None, "") else str(value)).classes("rma-num")


async def statement_page(user: SessionUser, month: str | None) -> None:
    stores_page(_("Monthly statement"), "/stores/statement")
    months = await runtime.read(reports.months)
    if not months:
        ui.label(_("No moves yet.")).classes("text-slate-500 italic")
        return
    # by default the last month that ended: the one the report is made of
    chosen = month if month in {m["month"] for m in months} else months[min(1, len(months) - 1)]["month"]
    with ui.row().classes("items-center gap-3"):
        ui.select({m["month"]: m["month"] + ("" if m["closed"] else " · " + _("open")) for m in months},
                  value=chosen, label=_("Month"),
                  on_change=lambda e: ui.navigate.to(f"/stores/statement?month={e.value}")).props(
            "outlined dense data-testid=statement-month").classes("w-48")
        r = await runtime.read(lambda uow: reports.statement(uow, chosen))
        ui.label(_("Closed on {date}: read from its snapshot").format(date=when(r["closed_at"])) if r["closed"]
                 else _("Open: computed from the last closed month and the moves since")).classes(
            "text-slate-600").props("data-testid=statement-state")
        ui.space()
        downloads(f"statement-{chosen}", lambda uow: (reports.statement(uow, chosen)["rows"],
                                                      reports.STATEMENT_COLUMNS), testid="statement")
        following = next((m for m in reversed(months) if not m["closed"]), None)
        if user.roles & CLOSERS and following and following["month"] < months[0]["month"]:
            ui.button(_("Close {month}").format(month=following["month"]), icon="lock",
                      on_click=lambda: _close(user, following["month"])).props(
                "outline dense no-caps data-testid=statement-close")
    t = r["totals"]
    ui.label(_("Opening {o} + receipts {r} − issues {i} + returns {re} + adjustments {a} − scrapped {s} + other {x} "
               "= closing {c} yuan; fitted in units {f}").format(
        o=t["opening_value"], r=t["receipts_value"], i=t["issues_value"], re=t["returns_value"], a=t["adjust_value"],
        s=t["scrap_value"], x=t["other_value"], c=t["closing_value"], f=t["fitted_value"])).classes(
        "text-base font-medium").props("data-testid=statement-totals")
    heads = [_("Opening"), _("Receipts"), _("Issues"), _("Returns"), _("Adjustments"), _("Scrapped parts"), _("Other"),
             _("Closing"), _("Closing value"), _("Fitted")]
    table([_("Part"), _("Name"), _("Unit of measure"), *heads],
          [[(lambda x=x: ui.link(x["part_number"], f"/stores/part/{x['part_number']}").classes("font-mono")),
            part_name(x), uom_word(x["uom"]), *[_num(x[f"{c}_qty"]) for c in reports.COLUMNS[:-1]],
            _num(x["closing_value"]), _num(x["fitted_qty"])] for x in r["rows"]],
          empty=_("No stock and no moves in this month."), testid="statement")


async def _close(user: SessionUser, month: str) -> None:
    if await act(user, lambda uow, actor: reports.close_month(uow, actor, month)) is not None:
        ui.navigate.to(f"/stores/statement?month={month}")


async def reports_page(user: SessionUser) -> None:
    stores_page(_("Reports"), "/stores/reports")
    with ui.tabs().props("align=left no-caps") as tabs:
        names = {"reorder": _("Reorder"), "slow": _("Slow and dead stock"), "turns": _("Stock turns"),
                 "fill": _("First-time fill rate"), "cost": _("Parts cost per repaired unit"),
                 "units": _("Refurbished units")}
        tab = {k: ui.tab(k, label).props(f"data-testid=report-tab-{k}") for k, label in names.items()}
    with ui.tab_panels(tabs, value=tab["reorder"]).classes("w-full"):
        with ui.tab_panel(tab["reorder"]):
            r = await runtime.read(reports.reorder)
            ui.label(_("Safety stock: the part's own, or {factor} × the average monthly issue of {first} to {last}")
                     .format(factor=r["factor"], first=r["months"][0], last=r["months"][1])).classes("text-slate-600")
            downloads("reorder", lambda uow: (reports.reorder(uow)["rows"], reports.REORDER_COLUMNS), testid="reorder")
            table([_("Part"), _("Name"), _("Class"), _("On hand"), _("Open requests"), _("Monthly issue"),
                   _("Safety stock"), _("Order"), _("Order value")],
                  [[x["part_number"], part_name(x), x["abc"], _num(x["on_hand"]), _num(x["requested_open"]),
                    _num(x["monthly_issue"]), _num(x["safety_stock"]), _num(x["order"]), _num(x["order_value"])]
                   for x in r["rows"]], empty=_("Nothing to reorder."), testid="reorder")
        with ui.tab_panel(tab["slow"]):
            r = await runtime.read(reports.slow_stock)
            ui.label(_("Slow (no issue for 6 months): {slow} yuan · dead (12 months): {dead} yuan").format(
                **r["value"])).classes("text-slate-600")
            downloads("slow-stock", lambda uow: (reports.slow_stock(uow)["rows"], reports.SLOW_COLUMNS), testid="slow")
            table([_("Part"), _("Name"), _("On hand"), _("Value (yuan)"), _("Last issue"), _("Idle months"), _("Status")],
                  [[x["part_number"], part_name(x), _num(x["on_hand"]), _num(x["value"]), x["last_issue"] or _("never"),
                    _num(x["idle_months"]), _("dead") if x["status"] == "dead" else _("slow")] for x in r["rows"]],
                  empty=_("No slow or dead stock."), testid="slow")
        with ui.tab_panel(tab["turns"]):
            r = await runtime.read(reports.stock_turns)
            ui.label(_("Issues at cost ÷ average month-end stock, {first} to {last}: {turns} a year").format(
                first=r["months"][0], last=r["months"][1], turns=r["turns"] or "—")).classes("text-slate-600")
            table([_("Category"), _("Issued at cost"), _("Average stock"), _("Turns a year")],
                  [[category_word(x["category"]), _num(x["issues_value"]), _num(x["average_stock_value"]), _num(x["turns"])]
                   for x in r["rows"]], empty=_("No stock yet."), testid="turns")
        with ui.tab_panel(tab["fill"]):
            r = await runtime.read(lambda uow: reports.fill_rate(uow, months=6))
            ui.label(_("Lines filled in full at the first issue ÷ lines asked: {rate}").format(
                rate=r["rate"] or "—")).classes("text-slate-600")
            table([_("Month"), _("Lines asked"), _("Filled at once"), _("Rate")],
                  [[x["month"], _num(x["lines"]), _num(x["filled_first"]), _num(x["rate"])] for x in r["rows"]],
                  empty=_("No requests yet."), testid="fill-rate")
        with ui.tab_panel(tab["cost"]):
            month = await runtime.read(reports.last_month)
            r = await runtime.read(lambda uow: reports.parts_cost(uow, month))
            ui.label(_("{month}: {per_unit} yuan of parts per repaired unit ({units} units)").format(
                month=r["month"], per_unit=r["per_unit"] or "—", units=r["units"])).classes("text-slate-600")
            table([_("Model"), _("Units repaired"), _("With parts"), _("Parts value"), _("Per unit")],
                  [[x["model"], _num(x["units"]), _num(x["with_parts"]), _num(x["parts_value"]), _num(x["per_unit"])]
                   for x in r["rows"]], empty=_("No unit left repaired in that month."), testid="parts-cost")
        with ui.tab_panel(tab["units"]):
            groups = await runtime.read(services.refurbished_on_hand)
            table([_("Model"), _("On hand"), _("Value (yuan)"), _("Units")],
                  [[g["model"], _num(g["on_hand"]), _num(g["value"]), ", ".join(u["serial"] for u in g["units"])]
                   for g in groups], empty=_("No refurbished units in stock."), testid="refurbished")
