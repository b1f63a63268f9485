"""The dashboard area (lead, supervisor):

- ``/dashboard``        the month's figures as tiles and charts, filtered by month (or months
                        ``month``..``to``, a year at most), model and customer; every number and bar clicks through to its list; it refreshes
                        while open; the monthly report (售后月报表) downloads as XLSX or PDF
- ``/dashboard/list``   the visits, test runs, parts moves or programming attempts behind a figure
- ``/settings``         the department's settings (pages_settings.py)
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nicegui import ui

from rma.core import catalogue
from rma.errors import DomainError
from rma.i18n import CHINESE, _, current_language, error_message
from rma.reports import figures as F
from rma.reports import monthly
from rma.reports.pages_list import register_list
from rma.reports.pages_settings import register_settings
from rma.reports.widgets.charts import (
    bar_options,
    chart,
    pareto_options,
    trend_options,
    wip_options,
)
from rma.reports.widgets.links import drill_url, report_name
from rma.reports.widgets.tiles import percent, tile, tiles
from rma.ui import runtime
from rma.ui.areas import DASHBOARD
from rma.ui.banner import notify_problem
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import section_title, table

REFRESH_SECONDS = 60
TREND_MONTHS = 12


def _load(uow: Any, month: str | None, to: str | None, model: str | None, customer: str | None,
          by: str) -> dict[str, Any]:
    f = F.page_filters(uow, month, to, model, customer)
    fig = F.all_figures(uow, f, paretos=(by,), trend_months=TREND_MONTHS)
    return {"month": F.month_text(f.first), "last": F.month_text(f.last), "fig": fig,
            "trend": fig["turnaround"].pop("trend")}


def _choices(uow: Any) -> dict[str, dict[str, str]]:
    return {"models": {"": _("all models"), **{m.code: m.code for m in catalogue.list_models(uow)}},
            "customers": {"": _("all customers"),
                          **{c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)}}}


def register() -> None:
    register_list()
    register_settings()

    @protected_page(DASHBOARD.path, area=DASHBOARD, title="Dashboard")
    async def dashboard_page(user: SessionUser, month: str | None = None, to: str | None = None,
                             model: str | None = None, customer: str | None = None) -> None:
        choices = await runtime.read(_choices)
        with ui.row().classes("w-full items-end gap-3"):
            ui.label(_("Dashboard")).classes("text-2xl font-semibold mr-4")
            month_in = ui.input(_("Month"), value=month or date.today().strftime("%Y-%m")).props(
                "type=month outlined dense stack-label data-testid=dash-month")
            to_in = ui.input(_("to month (optional)"), value=to or "").props(
                "type=month outlined dense stack-label clearable data-testid=dash-to")
            model_in = ui.select(choices["models"], value=model if model in choices["models"] else "",
                                 label=_("Model")).props("outlined dense data-testid=dash-model").classes("min-w-36")
            customer_in = ui.select(choices["customers"], value=customer if customer in choices["customers"] else "",
                                    label=_("Customer")).props("outlined dense data-testid=dash-customer").classes(
                "min-w-48")
            ui.space()
            ui.button(_("Monthly report (XLSX)"), icon="download", on_click=lambda: download("xlsx")).props(
                "outline no-caps data-testid=dash-xlsx")
            ui.button(_("Monthly report (PDF)"), icon="picture_as_pdf", on_click=lambda: download("pdf")).props(
                "outline no-caps data-testid=dash-pdf")
        content = ui.column().classes("w-full gap-4")
        state: dict[str, Any] = {"pareto_by": "defect"}

        def wanted() -> tuple[str | None, str | None, str | None, str | None]:
            return month_in.value or None, to_in.value or None, model_in.value or None, customer_in.value or None

        async def show() -> None:
            asked = wanted()
            try:
                data = await runtime.read(lambda uow: _load(uow, *asked, state["pareto_by"]))
            except DomainError as exc:
                notify_problem(error_message(exc))
                return
            if wanted() != asked:
                return  # the filters changed while this was counted: the newer answer draws
            state["data"] = data
            content.clear()
            with content:
                build(data)

        def link(figure: str, key: str | None = None, month: str | None = None) -> str:
            data = state["data"]  # a month of the trend, or the figures' window
            return drill_url(figure, key, month=month or data["month"], to=None if month else data["last"],
                             model=model_in.value or None, customer=customer_in.value or None)

        def go(figure: str, key: str | None = None, month: str | None = None) -> None:
            ui.navigate.to(link(figure, key, month))

        def build(data: dict[str, Any]) -> None:
            fig = data["fig"]
            ui.label(_("Figures of {month}").format(month=data["month"]) if data["month"] == data["last"] else
                     _("Figures of {first} to {last}").format(first=data["month"], last=data["last"])).classes("text-lg text-slate-600").props(
                "data-testid=dash-title")
            tiles(fig, lambda figure, key=None: link(figure, key))
            with ui.grid(columns=2).classes("w-full gap-4"):
                with ui.card().classes("w-full"):
                    section_title(_("Work in progress by days since received"))
                    wip_rows = fig["wip"]["rows"]
                    chart(wip_options(fig["wip"]), empty=not wip_rows, testid="wip-chart",
                          on_click=lambda s, i: go("wip", f"{wip_rows[i]['state']}:{F.BUCKETS[s]}"))
                with ui.card().classes("w-full"):
                    section_title(_("Turnaround by month (days)"))
                    trend = data["trend"]
                    chart(trend_options(trend), empty=not trend, testid="trend-chart",
                          on_click=lambda s, i: go("left", month=trend[i]["month"]))
                with ui.card().classes("w-full"):
                    pareto_card(fig)
                with ui.card().classes("w-full"):
                    section_title(_("Technicians: units done"))
                    techs = fig["technicians"]["rows"]
                    chart(bar_options([r["technician"] for r in techs], [r["units"] for r in techs], _("units")),
                          empty=not techs, testid="tech-chart", on_click=lambda s, i: go("technician",
                                                                                         techs[i]["technician"]))
                with ui.card().classes("w-full"):
                    section_title(_("Programming yield per socket (%)"))
                    sockets = fig["programming"]["by_socket"]
                    chart(bar_options([str(r["socket"]) for r in sockets],
                                      [round((r["yield"] or 0) * 100, 1) for r in sockets], _("yield")),
                          empty=not sockets, testid="socket-chart", on_click=lambda s, i: go("programming"))
                    with ui.row().classes("gap-2"):
                        g = fig["programming"]
                        tile(_("Programming attempts"), g["attempts"], link("programming"), "prog_attempts")
                        tile(_("Programming yield"), percent(g["yield"]), link("programming"), "prog_yield")
                        tile(_("Reflashes"), g["reflashes"], link("programming"), "reflashes")
                        tile(_("IC programming jobs"), g["jobs"], "/programming", "jobs")
                with ui.card().classes("w-full"):
                    section_title(_("Interception plans"))
                    rows = fig["interceptions"]["rows"]
                    table([_("Model"), _("Action"), _("Caught"), _("Done")],
                          [[r["model"], r["action"],
                            _cell_link(r["caught"], link("intercepted", str(r["plan"]))),
                            _cell_link(r["done"], link("intercepted_done", str(r["plan"])))] for r in rows],
                          empty=_("No interception plans."), testid="dash-interceptions")

        def pareto_card(fig: dict[str, Any]) -> None:
            with ui.row().classes("w-full items-center"):
                section_title(_("Fault Pareto"))
                ui.space()
                ui.toggle({"symptom": _("symptom"), "defect": _("defect"), "designator": _("designator")},
                          value=state["pareto_by"], on_change=lambda e: switch(e.value)).props(
                    "dense no-caps data-testid=pareto-by")
            by = state["pareto_by"]
            rows = fig["pareto"][by]["rows"]
            chart(pareto_options(fig["pareto"][by], current_language() != CHINESE), empty=not rows,
                  testid="pareto-chart", on_click=lambda s, i: go(by, rows[i]["key"]))

        async def switch(by: str) -> None:
            state["pareto_by"] = by
            await show()

        async def download(kind: str) -> None:
            asked = wanted()
            month_text = state.get("data", {}).get("last")  # a window's report is of its last month
            try:
                body = await runtime.read(lambda uow: _report(uow, month_text or asked[0], asked[2], asked[3], kind))
            except DomainError as exc:
                notify_problem(error_message(exc))
                return
            ui.download.content(body, report_name(month_text or "", kind),
                                "application/pdf" if kind == "pdf" else
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

        for element in (month_in, to_in, model_in, customer_in):
            element.on_value_change(show)
        ui.timer(REFRESH_SECONDS, show)  # the figures move while the page is open
        await show()


def _report(uow: Any, month: str | None, model: str | None, customer: str | None, kind: str) -> bytes:
    if not month:
        month = F.month_text(F.this_month(uow))
    report = monthly.month_report(uow, month, model=model, customer=customer)
    return monthly.pdf(report) if kind == "pdf" else monthly.xlsx(report)


def _cell_link(value: int, url: str) -> Any:
    def build() -> None:
        ui.link(str(value), url).classes("font-semibold")
    return build
