"""The unit page: what a scan shows: the unit, its visits and its full ledger timeline."""

from __future__ import annotations

from nicegui import ui

from rma.core import services
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.i18n import _, error_message, event_label
from rma.ui import runtime
from rma.ui.frame import SessionUser, protected_page
from rma.ui.home import details_text, tag_link, transition_cell
from rma.ui.widgets import STATE_COLOURS, error_panel, section_title, state_badge, table, when


def _fact(label: str, value: str | None, testid: str) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-base").props(f"data-testid={testid}")


def register() -> None:
    # ":path" so that a serial with a slash still reaches this page.
    @protected_page("/unit/{key:path}", title="Unit")
    async def unit_page(user: SessionUser, key: str) -> None:
        try:
            report = await runtime.read(lambda uow: services.unit_report(uow, key))
        except DomainError as exc:
            error_panel(error_message(exc), _("Check the label and scan again."))
            return

        colour = STATE_COLOURS.get(VisitState(report["state"]), "bg-slate-400") if report["state"] else "bg-slate-400"
        with ui.card().classes(f"w-full border-l-8 {colour.replace('bg-', 'border-')}").props(
            "flat bordered data-testid=unit-card"
        ):
            with ui.row().classes("w-full items-start justify-between"):
                with ui.column().classes("gap-1"):
                    ui.label(_("Serial")).classes("text-xs uppercase text-slate-500")
                    ui.label(report["serial"]).classes("text-3xl font-bold font-mono").props(
                        "data-testid=unit-serial"
                    )
                    model = report["model"]
                    ui.label(f"{model['code']} · {model['name']}").classes("text-lg text-slate-700").props(
                        "data-testid=unit-model"
                    )
                with ui.column().classes("items-end gap-2"):
                    state_badge(report["state"], large=True).props("data-testid=unit-state")
                    with ui.row().classes("items-center gap-2"):
                        ui.label(_("Open visit")).classes("text-slate-500")
                        ui.label(report["open_visit"] or _("none")).classes("text-xl font-mono font-semibold").props(
                            "data-testid=open-visit"
                        )
            with ui.row().classes("gap-8"):
                _fact(_("Manufactured"), report["manufactured_on"], "unit-manufactured")
                _fact(_("Sold / shipped"), report["sold_on"], "unit-sold")
                _fact(_("Visits"), str(len(report["visits"])), "unit-visit-count")

        section_title(_("Visits"))
        table(
            [_("Tag"), _("State"), _("Opened at"), _("Closed at"), _("Customer"), _("Return reason")],
            [[tag_link(v["tag"]), (lambda s=v["state"]: state_badge(s)), when(v["opened_at"]),
              when(v["closed_at"]) if v["closed_at"] else "—",
              " · ".join(x for x in (v["customer"], v["customer_name"]) if x) or None, v["return_reason"]]
             for v in report["visits"]],
            empty=_("No visits yet."), testid="unit-visits",
        )

        section_title(_("Ledger timeline"))
        table(
            [_("When"), _("Tag"), _("Who"), _("Event"), _("State"), _("Details")],
            [[when(e["at"]), e["tag"], e["actor"], event_label(e["event"]),
              transition_cell(e["from_state"], e["to_state"]), details_text(e["details"])]
             for e in report["timeline"]],
            empty=_("No events yet."), testid="unit-timeline",
        )
