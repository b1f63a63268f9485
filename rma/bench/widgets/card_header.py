"""The top of a repair card: the unit, its state and warranty, repeat and interception flags, who has
it, the labour clock (Alt+L starts or pauses), and for the lead who it is assigned to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.intake.pages_common import repeat_badge, warranty_badge
from rma.ui.frame import unit_url
from rma.ui.widgets import state_badge

Action = Callable[..., Awaitable[None]]


def minutes(seconds: int) -> str:
    hours, mins = divmod(max(0, seconds) // 60, 60)
    return _("{h} h {m} min").format(h=hours, m=mins) if hours else _("{m} min").format(m=mins)


def _fact(label: str, value: str | None, testid: str) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label(value or "—").classes("text-base").props(f"data-testid={testid}")


def card_header(card: dict[str, Any], *, can_work: bool, labour: Action, assign: Action | None,
                technicians: dict[str, str]) -> None:
    with ui.card().classes("w-full gap-2 border-l-8 border-blue-700").props(
            f"flat bordered data-testid=card-header data-tag={card['tag']} data-state={card['state']}"):
        with ui.row().classes("w-full items-start justify-between"):
            with ui.column().classes("gap-1"):
                with ui.row().classes("items-baseline gap-3"):
                    ui.link(card["tag"], unit_url(card["tag"])).classes("text-3xl font-mono font-bold").props(
                        "data-testid=card-tag")
                    ui.label(card["serial"]).classes("text-xl font-mono text-slate-700").props("data-testid=card-serial")
                ui.label(f"{card['model']['code']} · {card['model']['name']}").classes("text-lg text-slate-700")
                with ui.row().classes("items-center gap-2"):
                    state_badge(card["state"], large=True).props("data-testid=card-state")
                    if card["warranty"]:
                        warranty_badge(card["warranty"], card["warranty_until"])
                    if card["damage"]:
                        ui.label(_("Human damage confirmed")).classes(
                            "bg-red-700 text-white rounded-full px-2 py-0.5 text-sm").props("data-testid=card-damage")
                    if card["repeat_of"]:
                        repeat_badge(card["repeat_of"])
                    if card["rework"]["count"]:
                        ui.label(_("Rework ×{n}").format(n=card["rework"]["count"])).classes(
                            "bg-amber-600 text-white rounded-full px-2 py-0.5 text-sm").props(
                            f"data-testid=card-rework data-count={card['rework']['count']}")
            with ui.column().classes("items-end gap-2"):
                holder = card["technician_name"] or _("nobody")
                ui.label(_("On the bench of {name}").format(name=holder)).classes("text-lg font-medium").props(
                    f"data-testid=card-technician data-technician={card['technician'] or ''}")
                total = card["labour"]["total_seconds"]
                with ui.row().classes("items-center gap-2"):
                    ui.icon("timer").classes("text-slate-500")
                    ui.label(_("Labour: {time}").format(time=minutes(total))).props(
                        f"data-testid=card-labour data-seconds={total}")
                    if can_work and card["state"] == "in_repair":
                        running = card["running_labour"]
                        ui.button(_("Pause (Alt+L)") if running else _("Start labour (Alt+L)"),
                                  icon="pause" if running else "play_arrow",
                                  on_click=lambda: labour("pause" if running else "start")).props(
                            f"unelevated no-caps dense color={'amber-8' if running else 'green-8'} "
                            f"data-testid=labour-toggle data-running={'yes' if running else 'no'}")
                        if running:
                            ui.button(_("Stop"), icon="stop", on_click=lambda: labour("stop")).props(
                                "flat no-caps dense data-testid=labour-stop")
        with ui.row().classes("gap-8"):
            _fact(_("Received on"), f"{card['opened_at'][:10]} · {_('{n} days ago').format(n=card['age_days'])}",
                  "card-age")
            _fact(_("Customer"), card["customer"], "card-customer")
            _fact(_("Return reason"), card["return_reason"], "card-reason")
            for t in card["labour"]["technicians"]:
                _fact(t["technician_name"], minutes(t["seconds"]) + (" ⏱" if t["running"] else ""), "card-labour-by")
        if assign is not None and card["on_bench"]:
            with ui.row().classes("items-center gap-2"):
                pick = ui.select({"": _("nobody (back to the queue)"), **technicians}, label=_("Assign to"),
                                 value=card["technician"] or "").props(
                    "outlined dense options-dense data-testid=card-assign").classes("min-w-64")
                ui.button(_("Assign"), icon="person_add", on_click=lambda: assign(pick.value or None)).props(
                    "flat no-caps data-testid=card-assign-save")
