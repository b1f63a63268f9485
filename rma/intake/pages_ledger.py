"""The returns ledger (``/ledger``, 返厂机器台账) and the courier costs of a month (``/couriers``)."""

from __future__ import annotations

from datetime import date
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
    warranty_badge,
)
from rma.ui import runtime
from rma.ui.areas import COURIERS, LEDGER
from rma.ui.banner import notify_problem
from rma.ui.fields import pick_first_on_enter
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.widgets import section_title, state_badge, table, when

SHOWN_ROWS = 500  # on the page; the CSV export has them all
COST_COLUMNS = ["date", "courier", "waybill", "direction", "customer", "cost"]


def _choices(uow: UnitOfWork) -> dict[str, dict[str, str]]:
    return {"customers": {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)},
            "models": {m.code: f"{m.code} · {m.name}" for m in catalogue.list_models(uow)}}


def _link(tag: str | None):  # noqa: ANN202
    return (lambda: ui.link(tag, unit_url(tag)).classes("font-mono whitespace-nowrap")) if tag else None


def _nowrap(text: str | None):  # noqa: ANN202
    return (lambda: ui.label(text).classes("whitespace-nowrap")) if text else None


def _ledger_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    def alerts(n: int):  # noqa: ANN202
        if not n:
            return lambda: ui.label("—").classes("text-slate-400")
        return lambda: ui.label(str(n)).classes("bg-red-700 text-white rounded-full px-2 font-bold inline-block")

    return [[_link(r["tag"]), r["serial"], _nowrap(r["model"]), _nowrap(r["customer"]), (lambda s=r["state"]: state_badge(s)),
             when(r["opened_at"]), when(r["closed_at"]) if r["closed_at"] else None,
             (lambda r=r: warranty_badge(r["warranty"], r["warranty_until"])) if r["warranty"] else None,
             _link(r["repeat_of"]), alerts(r["interceptions"]), r["reason"], r["waybill"]] for r in rows]


def register() -> None:
    @protected_page(LEDGER.path, area=LEDGER, title="Returns ledger")
    async def ledger_page(user: SessionUser) -> None:
        choices = await runtime.read(_choices)
        shown = {"generation": 0}

        ui.label(_("Returns ledger")).classes("text-2xl font-semibold")
        with ui.card().classes("w-full gap-2").props("flat bordered data-testid=ledger-filters"):
            with ui.row().classes("w-full items-end gap-3"):
                date_from = ui.input(_("From")).props("type=date outlined dense stack-label data-testid=f-from")
                date_to = ui.input(_("To")).props("type=date outlined dense stack-label data-testid=f-to")
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
                ui.button(_("Export CSV"), icon="download", on_click=lambda: export()).props(
                    "outline no-caps data-testid=ledger-export")
        summary = ui.label().classes("text-slate-600").props("data-testid=ledger-count")
        results = ui.column().classes("w-full")

        def current(limit: int | None) -> services.VisitFilter:
            return services.VisitFilter(
                date_from=parse_day(date_from.value), date_to=parse_day(date_to.value),
                customer=customer.value or None, model=model.value or None,
                state=VisitState(state.value) if state.value else None,
                warranty=Warranty(warranty.value) if warranty.value else None,
                repeat=True if repeat.value else None, intercepted=True if intercepted.value else None, limit=limit)

        async def show() -> None:
            shown["generation"] += 1
            generation = shown["generation"]
            try:
                f = current(SHOWN_ROWS + 1)
                rows = await runtime.read(lambda uow: services.list_visits(uow, f))
            except DomainError as exc:
                notify_problem(problem_text(exc))
                return
            if generation != shown["generation"]:
                return  # a newer filter is on its way
            more = len(rows) > SHOWN_ROWS
            rows = rows[:SHOWN_ROWS]
            summary.set_text(_("The newest {n} visits; the export has them all.").format(n=SHOWN_ROWS) if more
                             else _("Visits: {n}").format(n=len(rows)))
            results.clear()
            with results:
                table([_("Tag"), _("Serial"), _("Model"), _("Customer"), _("State"), _("Opened at"), _("Closed at"),
                       _("Warranty"), _("Repeat of"), _("Alerts"), _("Return reason"), _("Waybill")],
                      _ledger_rows(rows), empty=_("No visits match."), testid="ledger-table")

        async def export() -> None:
            try:
                f = current(None)
                data = await runtime.read(lambda uow: csv_bytes(services.iter_visits(uow, f), services.VISIT_COLUMNS))
            except DomainError as exc:
                notify_problem(problem_text(exc))
                return
            ui.download.content(data,
                                f"returns-ledger-{date.today():%Y%m%d}.csv", "text/csv")

        for select in (customer, model):
            pick_first_on_enter(select)
        for element in (date_from, date_to, customer, model, state, warranty, repeat, intercepted):
            element.on_value_change(show)
        await show()

    @protected_page(COURIERS.path, area=COURIERS, title="Courier costs")
    async def couriers_page(user: SessionUser) -> None:
        ui.label(_("Courier costs")).classes("text-2xl font-semibold")
        with ui.row().classes("items-end gap-3"):
            month = ui.input(_("Month"), value=this_month()).props(
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
