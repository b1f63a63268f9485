"""How the unit leaves the bench: to test (Alt+T), to programming (Alt+P), scrap (the lead approves
a technician's proposal) or return unrepaired (with the reason); and what waits for the lead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.ui.widgets import section_title, table, when

Decide = Callable[[str, str | None], Awaitable[None]]
Answer = Callable[[int, bool, str | None], Awaitable[None]]
KINDS = {"damage": "Human damage", "scrap": "Scrap proposal", "waiver": "Waiver"}
STATUS = {"pending": "Pending", "approved": "Approved", "rejected": "Rejected"}
DECIDED = {"test": "Sent to test", "programming": "Sent to programming", "scrap": "Scrapped",
           "return": "Returned unrepaired"}


def decision_bar(card: dict[str, Any], *, can_work: bool, lead: bool, decide: Decide) -> None:
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=decision-section"):
        section_title(_("Decision"))
        if card["decision"]:
            ui.label(_("Last decision: {what} by {who}, {when}").format(
                what=_(DECIDED.get(card["decision"]["decision"], card["decision"]["decision"])),
                who=card["decision"]["by"], when=when(card["decision"]["at"]))).classes("text-slate-600").props(
                "data-testid=last-decision")
        if not can_work or card["state"] not in ("in_repair", "awaiting_parts"):
            return
        with ui.row().classes("w-full items-end gap-2"):
            if card["state"] == "in_repair":
                ui.button(_("To test (Alt+T)"), icon="fact_check", on_click=lambda: decide("test", None)).props(
                    "unelevated no-caps color=green-8 size=lg data-testid=decide-test")
                ui.button(_("To programming (Alt+P)"), icon="memory",
                          on_click=lambda: decide("programming", None)).props(
                    "unelevated no-caps color=deep-purple-7 size=lg data-testid=decide-programming")
            reason = ui.input(_("Reason (scrap, return unrepaired)")).props(
                "outlined dense data-testid=decide-reason").classes("grow")
            ui.button(_("Scrap") if lead else _("Propose scrap"), icon="delete_forever",
                      on_click=lambda: decide("scrap", reason.value or None)).props(
                "flat no-caps color=red-8 data-testid=decide-scrap")
            ui.button(_("Return unrepaired"), icon="undo", on_click=lambda: decide("return", reason.value or None)).props(
                "flat no-caps data-testid=decide-return")


def requests_table(requests: list[dict[str, Any]], *, lead: bool, answer: Answer, testid: str) -> None:
    """Requests for the lead: human damage, scrap, waivers; the lead approves or rejects (with why)."""
    def buttons(r: dict[str, Any]):  # noqa: ANN202
        def build() -> None:
            if not lead or r["status"] != "pending":
                ui.label(_(STATUS[r["status"]]) + (f" · {r['decided_by']}" if r["decided_by"] else ""))
                return
            with ui.row().classes("items-center gap-1 no-wrap"):
                note = ui.input(_("Note (a rejection says why)")).props(
                    f"outlined dense data-testid=request-note-{r['id']}").classes("w-56")
                ui.button(_("Approve"), icon="check", on_click=lambda: answer(r["id"], True, note.value or None)).props(
                    f"unelevated dense no-caps color=green-8 data-testid=request-approve-{r['id']}")
                ui.button(_("Reject"), icon="close", on_click=lambda: answer(r["id"], False, note.value or None)).props(
                    f"flat dense no-caps color=red-8 data-testid=request-reject-{r['id']}")
        return build

    table([_("Tag"), _("Request"), _("Reason"), _("Asked by"), _("When"), ""],
          [[r["tag"], _(KINDS[r["kind"]]) + (f": {r['alert']['action']}" if r["alert"] else ""), r["reason"],
            r["requested_by_name"], when(r["requested_at"]), buttons(r)] for r in requests],
          empty=_("Nothing waits for approval."), testid=testid)
