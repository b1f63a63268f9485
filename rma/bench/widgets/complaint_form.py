"""The customer's complaint as codes (Alt+C): when it shows (condition), then what it is (a symptom,
found by its code or by words in either language), an optional note; Enter saves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma.bench.widgets.code_picker import code_select, options, words
from rma.bench.widgets.keyboard import focus_in, key_hint
from rma.i18n import _
from rma.ui.widgets import section_title

Save = Callable[[str | None, str | None, str], Awaitable[None]]


def complaint_form(card: dict[str, Any], codes: list[dict[str, Any]], *, can_work: bool, save: Save) -> None:
    complaint = card["complaint"]
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=complaint"):
        with ui.row().classes("items-center gap-4"):
            section_title(_("Complaint"))
            key_hint(("Alt+C",), _("code the complaint"))
        ui.label(_("Dealer's words: {text}").format(text=card["return_reason"] or "—")).classes("text-slate-600")
        if complaint["symptom"]:
            group = f"{words(complaint['group'])} › " if complaint["group"] else ""
            ui.label(f"{words(complaint['condition'])} · {group}{words(complaint['symptom'])}"
                     + (f" — {complaint['note']}" if complaint["note"] else "")).classes(
                "text-lg font-medium").props(f"data-testid=complaint-coded data-symptom={complaint['symptom']['code']}")
        if not can_work:
            return
        with ui.row().classes("w-full items-end gap-3"):
            condition = code_select(_("When it shows (condition)"), options(codes, "condition"), "complaint-condition",
                                    value=(complaint["condition"] or {}).get("code"),
                                    then=lambda: focus_in("complaint-symptom"), width="min-w-72")
            symptom = code_select(_("Symptom"), options(codes, "symptom", leaves_only=True), "complaint-symptom",
                                  value=(complaint["symptom"] or {}).get("code"),
                                  then=lambda: focus_in("complaint-note"), width="min-w-96")
            note = ui.input(_("Note (optional)"), value=complaint["note"] or "").props(
                "outlined dense data-testid=complaint-note").classes("grow")

            async def send() -> None:
                await save(condition.value, symptom.value, note.value or "")

            note.on("keydown.enter", send)
            ui.button(_("Save complaint"), icon="save", on_click=send).props(
                "unelevated no-caps data-testid=complaint-save")
