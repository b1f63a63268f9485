"""The checklist: the accessories and packaging check (检查配件及包装) after the steps of an outgoing
test: Space ticks, A ticks all, Enter finishes; a missing item is said once before it fails the unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.sentences import words
from rma.test_station.widgets.keyboard import key_hint


def checklist(items: list[str], *, finish: Callable[[dict[str, bool]], None],
              abort: Callable[[], None]) -> ui.dialog:
    """Open the checklist of ``items``; ``finish`` gets every item with whether it is there."""
    armed: dict[str, Any] = {"missing": None, "done": False}
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[40rem] max-w-full gap-4 p-6").props(
        "data-testid=checklist-dialog"
    ):
        ui.label(_("Accessories and packaging check")).classes("text-2xl font-semibold text-slate-900")
        ui.label(_("Tick what is in the box.")).classes("text-slate-600")
        with ui.column().classes("w-full gap-1").props("data-checklist") as boxes:
            for n, item in enumerate(items):
                with ui.element("label").classes(
                    "w-full flex items-center gap-3 text-xl py-1 px-2 rounded cursor-pointer hover:bg-slate-50"
                ):
                    box = ui.element("input").classes("rma-check")
                    box.props.update({"type": "checkbox", "value": item, "data-testid": "checklist-item",
                                      **({"data-autofocus": ""} if n == 0 else {})})
                    ui.label(item)
        warning = ui.label("").classes("text-red-800 font-semibold").props("data-testid=checklist-warning")
        ticked_js = (f"() => emit([...getHtmlElement({boxes.id}).querySelectorAll('input[type=checkbox]')]"
                     ".filter((c) => c.checked).map((c) => c.value))")

        def finished(e: Any) -> None:
            if armed["done"]:
                return
            ticked = set(e.args if isinstance(e.args, list) else [])
            missing = [item for item in items if item not in ticked]
            if missing and armed["missing"] != missing:  # a missing item fails the unit: say so first
                armed["missing"] = missing
                warning.set_text(_("Missing: {items}. Finish again to record them: the unit fails.").format(
                    items=words().join(missing)))
                return
            armed["done"] = True
            dialog.close()
            finish({item: item in ticked for item in items})

        with ui.row().classes("w-full items-center gap-3"):
            ui.button(_("All present"), icon="done_all").props(
                "outline size=lg no-caps color=positive data-testid=checklist-all"
            ).on("click", js_handler=f"""() => {{
                getHtmlElement({boxes.id}).querySelectorAll('input[type=checkbox]').forEach((c) => c.checked = true);
                const f = document.querySelector('[data-testid="checklist-finish"]');
                if (f) f.focus();
            }}""")
            ui.button(_("Finish"), icon="task_alt").props(
                "unelevated size=lg no-caps color=primary data-testid=checklist-finish"
            ).on("click", finished, js_handler=ticked_js)
            ui.space()
            ui.button(_("Abort the test"), icon="stop", on_click=abort).props(
                "flat no-caps color=grey-8 data-testid=checklist-abort")
        with ui.row().classes("gap-4 text-sm text-slate-500"):
            key_hint((_("Space"),), _("ticks the item in focus"))
            key_hint(("A",), _("all present"))
            key_hint(("Enter",), _("finish"))
    dialog.open()
    ui.run_javascript("window.rmaTest.focusIn('checklist-item')")
    return dialog
