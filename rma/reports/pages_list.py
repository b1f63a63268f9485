"""``/dashboard/list``: the rows behind one figure of the dashboard — visits (each a link to its
unit page), test runs, parts moves or programming attempts — counted by the same conditions."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.errors import DomainError
from rma.i18n import _, error_message, state_label
from rma.reports import figures as F
from rma.ui import runtime
from rma.ui.areas import DASHBOARD
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.widgets import error_panel, table, when

LIMIT = 500
TITLES = {  # English, shown through _()
    "received": "Units received", "repaired": "Units repaired", "refurbished": "Refurbished into stock",
    "shipped": "Shipped back", "scrapped": "Scrapped", "returned_unrepaired": "Returned unrepaired",
    "left": "Left the depot", "repeat": "Repeat returns", "first_time_fix": "Fixed first time",
    "with_findings": "Units with findings", "nff": "No fault found", "wip": "Work in progress",
    "late": "Past target turnaround", "symptom": "Symptom", "defect": "Defect", "designator": "Designator",
    "intercepted": "Caught by an interception plan", "intercepted_done": "Interception done",
    "technician": "Units done at the bench", "first": "First tests", "first_pass": "First tests passed",
    "first_fail": "First tests failed", "retest": "Re-tests", "parts_cost": "Parts fitted (value)",
    "programming": "Programming attempts",
}


def _load(uow: Any, figure: str, key: str | None, month: str | None, to: str | None, model: str | None,
          customer: str | None) -> dict[str, Any]:
    f = F.page_filters(uow, month, to, model, customer)
    if figure in F.RUN_SETS:
        return {"kind": "runs", **F.drill_runs(uow, f, figure, limit=LIMIT)}
    if figure == "parts_cost":
        return {"kind": "moves", **F.drill_moves(uow, f, limit=LIMIT)}
    if figure == "programming":
        return {"kind": "attempts", **F.drill_attempts(uow, f, limit=LIMIT)}
    return {"kind": "visits", **F.drill_visits(uow, f, figure, key, limit=LIMIT)}


def _tag(tag: str | None) -> Any:
    def build() -> None:
        if tag:
            ui.link(tag, unit_url(tag)).classes("font-mono")
        else:
            ui.label("—")
    return build


def _rows(data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rows = data["rows"]
    if data["kind"] == "runs":
        return ([_("Tag"), _("Serial"), _("Model"), _("Attempt"), _("Outcome"), _("Station"), _("Started")],
                [[_tag(r["tag"]), r["serial"], r["model"], r["attempt"], _(r["outcome"]), r["station"],
                  when(r["started_at"])] for r in rows])
    if data["kind"] == "moves":
        return ([_("Tag"), _("Part"), _("Designator"), _("Quantity"), _("Value"), _("When")],
                [[_tag(r["tag"]), f"{r['part_number']} {r['name_zh']}", r["designator"], r["qty"], r["value"],
                  when(r["at"])] for r in rows])
    if data["kind"] == "attempts":
        return ([_("Tag"), _("Serial"), _("Station"), _("Socket"), _("Firmware"), _("Result"), _("Started")],
                [[_tag(r["tag"]), r["serial"], r["station"], r["socket"], r["firmware"], r["result"],
                  when(r["started_at"])] for r in rows])
    return ([_("Tag"), _("Serial"), _("Model"), _("Customer"), _("State"), _("Received"), _("Closed")],
            [[_tag(r["tag"]), r["serial"], r["model"], r["customer"], state_label(r["state"]),
              when(r["opened_at"]), when(r["closed_at"])] for r in rows])


def register_list() -> None:
    @protected_page("/dashboard/list", area=DASHBOARD, title="Figure")
    async def list_page(user: SessionUser, figure: str = "received", key: str | None = None,
                        month: str | None = None, to: str | None = None, model: str | None = None,
                        customer: str | None = None) -> None:
        try:
            data = await runtime.read(lambda uow: _load(uow, figure, key, month, to, model, customer))
        except DomainError as exc:
            error_panel(error_message(exc))
            return
        title = _(TITLES.get(figure, figure))
        f = data["filters"]
        one_month = f["from"] == f["to"]
        back = "/dashboard?" + "&".join(f"{k}={v}" for k, v in (
            ("month", f["from"]), ("to", None if one_month else f["to"]), ("model", f["model"]),
            ("customer", f["customer"])) if v)
        with ui.row().classes("items-baseline gap-3"):
            ui.link(_("← Dashboard"), back).props("data-testid=list-back")
            ui.label(title + (f" · {key}" if key else "")).classes("text-2xl font-semibold").props(
                "data-testid=list-title")
        ui.label(_("{month} · model {model} · customer {customer}").format(
            month=f["from"] if one_month else _("{first} to {last}").format(first=f["from"], last=f["to"]),
            model=f["model"] or _("all"), customer=f["customer"] or _("all"))).classes(
            "text-slate-600").props("data-testid=list-filters")
        ui.label(_("{total} in all").format(total=data["total"]) + (
            " · " + _("the newest {shown} shown").format(shown=len(data["rows"]))
            if data["total"] > len(data["rows"]) else "")).classes("font-semibold").props("data-testid=list-total")
        headers, rows = _rows(data)
        table(headers, rows, empty=_("Nothing behind this figure."), testid="list-rows")
