"""The card's findings: what was found where and what was done, the form to add one (Alt+F), no fault
found (Alt+N), and the suggestions (1–5 take one into the form, Enter records it).

The form goes section → designator → defect → repair → note, Enter moving on; the defects offered
are those that can be found in the chosen section.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from rma import sentences
from rma.bench.widgets.code_picker import code_select, options, words
from rma.bench.widgets.keyboard import focus_in, key_hint
from rma.i18n import _
from rma.ui.widgets import section_title, table, when

Add = Callable[[dict[str, Any]], Awaitable[None]]
Withdraw = Callable[[int], Awaitable[None]]


def finding_text(f: dict[str, Any]) -> str:
    """section designator: defect → repair, in the reader's language (and punctuation)."""
    if f["nff"]:
        return _("No fault found")
    where = " ".join(x for x in (words(f["section"]), f["designator"]) if x)
    return f"{where}{sentences.words().colon}{words(f['defect'])} → {words(f['repair'])}"


def findings_list(card: dict[str, Any], *, can_work: bool, withdraw: Withdraw) -> None:
    rows = []
    for f in card["findings"]:
        def actions(f: dict[str, Any] = f) -> None:
            if can_work:
                ui.button(_("Withdraw"), icon="undo", on_click=lambda: withdraw(f["id"])).props(
                    f"flat dense no-caps data-testid=finding-withdraw-{f['id']}")
        off = f.get("on_board") is False  # a designator the model's parts list does not have
        rows.append([finding_text(f) + (f" ({_('not on the parts list')})" if off else ""), f["note"],
                     f["technician_name"], when(f["at"]), actions])
    table([_("Finding"), _("Note"), _("Who"), _("When"), ""], rows, empty=_("No findings yet."), testid="findings")
    if any(f["nff"] for f in card["findings"]):
        ui.label(_("No fault found: the outgoing test must pass to confirm it.")).classes(
            "text-amber-800 font-medium").props("data-testid=nff-note")


def finding_form(card: dict[str, Any], codes: list[dict[str, Any]], *, add: Add) -> None:
    defects = {c["code"]: c for c in codes if c["kind"] == "defect"}

    def allowed(section: str | None) -> list[str]:
        return [code for code, c in defects.items() if not section or not c["sections"] or section in c["sections"]]

    with ui.row().classes("w-full items-end gap-2").props("data-testid=finding-form"):
        section = code_select(_("Section"), options(codes, "section"), "finding-section",
                              then=lambda: focus_in("finding-designator"), width="min-w-56")
        designator = ui.input(_("Designator (U12, C45…)")).props(
            "outlined dense data-testid=finding-designator").classes("w-36")
        defect = code_select(_("Defect"), options(codes, "defect"), "finding-defect",
                             then=lambda: focus_in("finding-repair"), width="min-w-72")
        repair = code_select(_("Repair"), options(codes, "repair"), "finding-repair",
                             then=lambda: focus_in("finding-note"), width="min-w-56")
        note = ui.input(_("Note (“other” needs one)")).props("outlined dense data-testid=finding-note").classes(
            "grow min-w-40")

        def narrow(e: Any) -> None:
            keep = defect.value if defect.value in allowed(e.value) else None
            defect.set_options(options(codes, "defect", allowed=allowed(e.value)), value=keep)

        section.on_value_change(narrow)
        designator.on("keydown.enter", lambda: focus_in("finding-defect"))

        async def send() -> None:
            await add({"section": section.value, "designator": designator.value or None, "defect": defect.value,
                       "repair": repair.value, "note": note.value or None})

        note.on("keydown.enter", send)
        ui.button(_("Add finding"), icon="add", on_click=send).props("unelevated no-caps data-testid=finding-add")

    async def nff() -> None:
        await add({"nff": True, "note": note.value or None})

    with ui.row().classes("items-center gap-4"):
        ui.button(_("No fault found (Alt+N)"), icon="search_off", on_click=nff).props(
            "outline no-caps data-testid=finding-nff")
        key_hint(("Alt+F",), _("a new finding"))
        key_hint(("Enter",), _("next field; in the note: add"))

    def take(s: dict[str, Any]) -> None:
        section.value = s["section"]["code"]
        defect.set_options(options(codes, "defect", allowed=allowed(s["section"]["code"])),
                           value=s["defect"]["code"])
        repair.value = s["repair"]["code"]
        designator.value = s["designator"] or ""
        focus_in("finding-note")

    suggestions(card, take)


def suggestions(card: dict[str, Any], take: Callable[[dict[str, Any]], None]) -> None:
    if not card["complaint"]["symptom"]:
        return
    with ui.column().classes("w-full gap-1").props("data-testid=suggestions"):
        with ui.row().classes("items-center gap-4"):
            ui.label(_("What fixed this symptom on this model before")).classes("font-semibold text-slate-700")
            if card["suggestions"]:
                key_hint(("1", "5"), _("take one into the form"))
        if not card["suggestions"]:
            ui.label(_("Nothing like it was repaired before.")).classes("text-slate-500 italic")
        for s in card["suggestions"]:
            with ui.row().classes("items-center gap-3").props(f"data-testid=suggestion data-key={s['key']}"):
                ui.button(str(s["key"]), on_click=lambda s=s: take(s)).props(
                    f"dense unelevated color=blue-9 data-testid=suggestion-take-{s['key']}").classes("w-8")
                ui.label(finding_text({**s, "nff": False})).classes("text-base")
                ui.label(_("{n} times").format(n=s["count"])).classes("text-slate-500")


def findings_section(card: dict[str, Any], codes: list[dict[str, Any]], *, can_work: bool, add: Add,
                     withdraw: Withdraw) -> None:
    with ui.column().classes("w-full gap-2 rma-bench-section").props("data-testid=findings-section"):
        section_title(_("Findings"))
        findings_list(card, can_work=can_work, withdraw=withdraw)
        if can_work and card["state"] in ("in_repair", "awaiting_parts"):
            finding_form(card, codes, add=add)
        elif card["complaint"]["symptom"]:
            suggestions(card, lambda s: None)
