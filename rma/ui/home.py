"""The home page: the user's areas and a small overview of the returns ledger."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from rma import sentences
from rma.core import services
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.i18n import _, role_label
from rma.intake import services as intake
from rma.ui import runtime
from rma.ui.areas import INTAKE, areas_for
from rma.ui.frame import SessionUser, protected_page, unit_url
from rma.ui.widgets import section_title, state_badge, table, when

RECENT_EVENTS = 15


def _overview(uow: UnitOfWork) -> tuple[dict[str, int], list[dict[str, Any]], sentences.Lookups]:
    events = services.recent_events(uow, RECENT_EVENTS)
    return services.count_by_state(uow), events, sentences.lookups(uow, events)


def _open_parcels(parcels: list[dict[str, Any]]) -> None:
    """A clerk's parcels still being received: one click carries on with one at the intake station."""
    section_title(_("Open parcels"))
    table(
        [_("Waybill"), _("Courier"), _("Customer"), _("Declared"), _("Scanned"), _("Opened at")],
        [[(lambda p=p: ui.link(p["waybill"], f"{INTAKE.path}?{urlencode({'parcel': p['waybill']})}").classes(
            "font-mono")), p["courier"], " · ".join(x for x in (p["customer"], p["customer_name"]) if x),
          p["declared"], p["scanned"], when(p["opened_at"])] for p in parcels],
        empty=_("No open parcels."), testid="home-open-parcels",
    )


def transition_cell(from_state: str | None, to_state: str | None):  # noqa: ANN201
    def build() -> None:
        with ui.row().classes("items-center gap-1 no-wrap"):
            if from_state:
                state_badge(from_state)
                ui.icon("arrow_forward").classes("text-slate-500")
            if to_state:
                state_badge(to_state)
            if not from_state and not to_state:
                ui.label("—")

    return build


def tag_link(tag: str):  # noqa: ANN201
    return lambda: ui.link(tag, unit_url(tag)).classes("font-mono")


def timeline_table(events: list[dict[str, Any]], look: sentences.Lookups, *, testid: str) -> None:
    """Returns-ledger events, newest or oldest first as given: each one a sentence in the reader's language."""
    table(
        [_("When"), _("Tag"), _("Who"), _("What happened"), _("State")],
        [[when(e["at"]), tag_link(e["tag"]), e["actor"], sentences.entry_sentence(e, look),
          transition_cell(e["from_state"], e["to_state"])] for e in events],
        empty=_("No events yet."), testid=testid,
    )


def register() -> None:
    @protected_page("/", title="Home")
    async def home_page(user: SessionUser) -> None:
        counts, events, look = await runtime.read(_overview)
        parcels = await runtime.read(intake.open_parcels) if Role.CLERK in user.roles else None

        with ui.row().classes("items-baseline gap-3"):
            ui.label(_("Welcome, {name}").format(name=user.display_name)).classes("text-2xl font-semibold")
            ui.label(", ".join(role_label(r) for r in sorted(user.roles))).classes("text-slate-500")

        section_title(_("Your areas"))
        with ui.row().classes("gap-3").props("data-testid=home-areas"):
            for area in areas_for(user.roles):
                with ui.link(target=area.path).classes("no-underline"):
                    with ui.card().classes("w-44 items-center gap-2 hover:bg-blue-50 cursor-pointer").props(
                        f"flat bordered data-area={area.key}"
                    ):
                        ui.icon(area.icon, size="lg").classes("text-blue-800")
                        ui.label(_(area.label)).classes("text-base font-medium text-slate-800")

        if parcels:
            _open_parcels(parcels)

        section_title(_("Visits by state"))
        with ui.row().classes("gap-2").props("data-testid=state-counts"):
            for state in VisitState:
                n = counts.get(state.value, 0)
                with ui.card().classes("px-3 py-2 gap-1 items-start" + ("" if n else " opacity-50")).props(
                    f"flat bordered data-state-count={state.value}"
                ):
                    state_badge(state.value)
                    ui.label(str(n)).classes("text-2xl font-bold text-slate-800")

        section_title(_("Recent ledger events"))
        timeline_table(events, look, testid="recent-events")
