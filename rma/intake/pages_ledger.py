"""The returns ledger (``/ledger``, 返厂机器台账) and the courier costs of a month (``/couriers``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from html import escape
from typing import Any

from nicegui import ui

from rma.core import catalogue
from rma.core.parse import parse_day
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.exports import csv_bytes
from rma.i18n import _, state_label
from rma.intake import services
from rma.intake.models import Warranty
from rma.intake.pages_common import (
    WARRANTY_LOOK,
    direction_label,
    problem_text,
    this_month,
)
from rma.ui import runtime
from rma.ui.areas import COURIERS, LEDGER
from rma.ui.banner import notify_problem
from rma.ui.fields import date_field, pick_first_on_enter
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.ledger_view import Column, LedgerView, badge, link, text
from rma.ui.widgets import STATE_COLOURS, section_title, table, when

PAGE_ROWS = 100  # on the page, newest first; older pages on demand; the CSV export has them all
COST_COLUMNS = ["date", "courier", "waybill", "direction", "customer", "cost"]


def _choices(uow: UnitOfWork) -> dict[str, dict[str, str]]:
    return {"customers": {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)},
            "models": {m.code: f"{m.code} · {m.name}" for m in catalogue.list_models(uow)}}


WARRANTY_SHORT = {"in": "In", "out": "Out", "unknown": "Unknown"}  # a narrow column; the whole word when hovered


def _day(iso: str | None) -> str:
    """The date in the cell, the time when hovered."""
    return text(when(iso)[:10], title=when(iso)) if iso else text(None)


def _warranty(r: dict[str, Any]) -> str:
    if not r["warranty"]:
        return text(None)
    words, colour = WARRANTY_LOOK.get(r["warranty"], WARRANTY_LOOK["unknown"])
    until = _(words) + (" " + _("until {date}").format(date=r["warranty_until"]) if r["warranty_until"] else "")
    return badge(_(WARRANTY_SHORT.get(r["warranty"], "Unknown")),
                 f"{colour} text-white text-xs rounded-full px-2 py-0.5 font-semibold", title=until,
                 attrs=f'data-warranty="{escape(r["warranty"])}"')


def _state(state: str) -> str:
    """A state on one line, however long its words."""
    colour = STATE_COLOURS.get(VisitState(state), "bg-slate-500")
    return badge(state_label(state), f"{colour} text-white rounded-full font-medium px-2 py-0.5 text-xs "
                 "leading-tight whitespace-nowrap", attrs=f'data-state="{escape(state)}"')


def _flags(r: dict[str, Any]) -> str:
    """A repeat return (the earlier tag) and the number of interception alerts, or a dash."""
    if not r["repeat_of"] and not r["interceptions"]:
        return text(None, classes="text-slate-400")
    parts = []
    if r["repeat_of"]:
        parts.append(link(r["repeat_of"], unit_url(r["repeat_of"]), attrs=f'data-repeat-of="{escape(r["repeat_of"])}"'))
    if r["interceptions"]:
        parts.append(badge(str(r["interceptions"]), "bg-red-700 text-white rounded-full px-2 font-bold",
                           title=_("Interception alerts: {n}").format(n=r["interceptions"]), attrs="data-alerts"))
    return f'<div class="flex items-center gap-1 no-wrap">{"".join(parts)}</div>'


def _reason(words: str | None) -> str:
    """Long complaints are cut to the column; the whole text shows when hovered."""
    return text(words, classes="truncate", title=words) if words else text(None)


def ledger_columns() -> list[Column]:
    return [
        Column(_("Tag"), lambda r: link(r["tag"], unit_url(r["tag"])), key="tag"),
        Column(_("Serial"), lambda r: text(r["serial"], classes="font-mono"), key="serial"),
        Column(_("Model"), lambda r: text(r["model"]), key="model"),
        Column(_("Customer"), lambda r: text(r["customer"]), key="customer"),
        Column(_("State"), lambda r: _state(r["state"]), nowrap=False, key="state"),
        Column(_("Opened"), lambda r: _day(r["opened_at"]), key="opened"),
        Column(_("Closed"), lambda r: _day(r["closed_at"]), key="closed"),
        Column(_("Warranty"), _warranty, key="warranty"),
        Column(_("Repeat · alerts"), _flags, key="flags"),
        Column(_("Return reason"), lambda r: _reason(r["reason"]), fill=True, key="reason"),
        Column(_("Waybill"), lambda r: text(r["waybill"], classes="font-mono"), key="waybill"),
    ]


def _page(uow: UnitOfWork, f: services.VisitFilter, limit: int, offset: int) -> list[dict[str, Any]]:
    return services.list_visits(uow, replace(f, limit=limit, offset=offset))


def register() -> None:
    @protected_page(LEDGER.path, area=LEDGER, title="Returns ledger")
    async def ledger_page(user: SessionUser) -> None:
        choices = await runtime.read(_choices)

        ui.label(_("Returns ledger")).classes("text-2xl font-semibold")
        with ui.card().classes("w-full gap-2").props("flat bordered data-testid=ledger-filters"):
            with ui.row().classes("w-full items-end gap-3"):
                date_from = date_field(_("From"), "f-from", lambda _day: show())
                date_to = date_field(_("To"), "f-to", lambda _day: show())
                customer = ui.select(choices["customers"], with_input=True, clearable=True, label=_("Customer"))\
                    .props("outlined dense data-testid=f-customer").classes("min-w-64")
                model = ui.select(choices["models"], with_input=True, clearable=True, label=_("Model"))\
                    .props("outlined dense data-testid=f-model").classes("min-w-48")
                state = ui.select({s.value: state_label(s) for s in VisitState}, clearable=True, label=_("State"))\
                    .props("outlined dense data-testid=f-state").classes("min-w-44")
                warranty = ui.select({w.value: _(WARRANTY_LOOK[w.value][0]) for w in Warranty}, clearable=True,
                                     label=_("Warranty")).props("outlined dense data-testid=f-warranty")\
                    .classes("min-w-44")
            with ui.row().classes("w-full items-center gap-4"):
                repeat = ui.checkbox(_("Repeat returns only")).props("data-testid=f-repeat")
                intercepted = ui.checkbox(_("Intercepted only")).props("data-testid=f-intercepted")
                ui.space()
                ui.button(_("Show"), icon="search", on_click=lambda: show()).props(
                    "unelevated no-caps data-testid=ledger-show")
                export_box = ui.row()

        def current() -> services.VisitFilter:
            return services.VisitFilter(
                date_from=parse_day(date_from.value), date_to=parse_day(date_to.value),
                customer=customer.value or None, model=model.value or None,
                state=VisitState(state.value) if state.value else None,
                warranty=Warranty(warranty.value) if warranty.value else None,
                repeat=True if repeat.value else None, intercepted=True if intercepted.value else None)

        view = LedgerView(
            columns=ledger_columns(), current=current, count=services.count_visits, page=_page,
            export=services.iter_visits, export_columns=services.VISIT_COLUMNS,
            file_name=lambda: f"returns-ledger-{date.today():%Y%m%d}.csv", empty=_("No visits match."),
            all_shown=_("Visits: {total}"),
            paged=_("Visits {first}–{last} of {total}, newest first; the export has them all."),
            page_size=PAGE_ROWS)
        with export_box:
            view.export_button()

        async def show() -> None:
            await view.show()

        for select in (customer, model):
            pick_first_on_enter(select)
        for element in (customer, model, state, warranty, repeat, intercepted):
            element.on_value_change(show)
        await show()

    @protected_page(COURIERS.path, area=COURIERS, title="Courier costs")
    async def couriers_page(user: SessionUser, month: str | None = None) -> None:
        ui.label(_("Courier costs")).classes("text-2xl font-semibold")
        with ui.row().classes("items-end gap-3"):  # ?month=YYYY-MM: the dashboard links a month's costs
            month = ui.input(_("Month"), value=month or this_month()).props(
                "type=month outlined dense stack-label data-testid=cost-month")
            ui.button(_("Export CSV"), icon="download", on_click=lambda: export()).props(
                "outline no-caps data-testid=cost-export")
        content = ui.column().classes("w-full gap-3")
        loaded: dict[str, Any] = {}

        async def show() -> None:
            wanted = month.value or this_month()
            try:
                report = await runtime.read(lambda uow: services.courier_costs(uow, wanted))
            except DomainError as exc:
                notify_problem(problem_text(exc))
                return
            if (month.value or this_month()) != wanted:
                return
            loaded["report"] = report
            content.clear()
            with content:
                ui.label(_("Total {month}: {total}").format(month=report["month"], total=report["total"])).classes(
                    "text-xl font-semibold").props("data-testid=cost-total")
                section_title(_("By courier"))
                table([_("Courier"), _("Direction"), _("Parcels"), _("Cost"), _("Parcels without a cost")],
                      [[r["courier"], direction_label(r["direction"]), r["parcels"], r["cost"], r["without_cost"] or "—"]
                       for r in report["by_courier"]], empty=_("No parcels this month."), testid="cost-by-courier")
                section_title(_("Every parcel"))
                table([_("Date"), _("Courier"), _("Waybill"), _("Direction"), _("Customer"), _("Cost")],
                      [[p["date"], p["courier"], p["waybill"], direction_label(p["direction"]), p["customer"],
                        p["cost"]] for p in report["parcels"]], empty=_("No parcels this month."),
                      testid="cost-parcels")

        def export() -> None:
            report = loaded.get("report")
            if report is None:
                return
            ui.download.content(csv_bytes(report["parcels"], COST_COLUMNS),
                                f"courier-costs-{report['month']}.csv", "text/csv")

        month.on_value_change(show)
        await show()
