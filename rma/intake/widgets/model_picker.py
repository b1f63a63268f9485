"""Which model is this serial? Asked when no model's pattern knows it (or several do).

A serial no pattern knows is most often mistyped, and a mistyped serial rarely repeats: so it is
never received by one keystroke. Nothing is preselected; the models closest to the serial come
first (the service decides which, ``catalogue.closest_models``); and when no pattern matched, the
clerk scans or types the serial a second time before a model can be chosen. A second scan that
differs cancels, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, clean_scan
from rma.core.services import normalise_key
from rma.i18n import _
from rma.ui.banner import signal
from rma.ui.fields import focus, scan_field

# ↑/↓ move between the models that can be chosen; Enter (a native button) chooses.
LIST_KEYS_JS = """(e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const items = [...e.currentTarget.querySelectorAll('button[data-model]:not([disabled])')];
    if (!items.length) return;
    e.preventDefault();
    const at = items.indexOf(document.activeElement);
    const next = at < 0 ? (e.key === 'ArrowDown' ? 0 : items.length - 1)
        : Math.min(items.length - 1, Math.max(0, at + (e.key === 'ArrowDown' ? 1 : -1)));
    items[next].focus();
}"""
OPTION = ("w-full text-left rounded border-2 px-3 py-2 flex items-baseline gap-3 "
          "disabled:opacity-40 disabled:cursor-not-allowed enabled:hover:bg-blue-50 "
          "focus:outline-none focus:border-blue-700 focus:bg-blue-100")


@dataclass(frozen=True)
class Picked:
    """What the clerk did: chose ``model``, or a ``second_scan`` that did not match, or neither."""

    model: str | None = None
    second_scan: str | None = None  # raw text of a second scan that did not match


async def pick_model(serial: str, problem: str, guesses: list[dict[str, Any]], *, confirm: bool) -> Picked:
    """The question as a dialog; ``confirm``: the serial must be scanned a second time first."""
    signal("warn")
    with ui.dialog() as dialog, ui.card().classes("w-[40rem] gap-3").props("data-testid=model-dialog"):
        ui.label(_("Which model is {serial}?").format(serial=serial)).classes("text-2xl font-semibold")
        ui.label(problem).classes("text-lg text-slate-700")
        if confirm:
            with ui.column().classes("w-full gap-1 rounded bg-amber-50 border border-amber-300 p-3") as step:
                ui.label(_("A serial no model knows is often mistyped. Scan (or type) it a second time "
                           "to confirm it.")).classes("text-base text-amber-900")
                second = scan_field("model-confirm-scan", _("Scan the serial again"),
                                    lambda e: check(e.args), large=False)
        done = ui.label(_("Serial confirmed: choose its model.")).classes(
            "text-base font-semibold text-green-800").props("data-testid=model-confirmed")
        done.set_visibility(False)
        with ui.element("div").classes("w-full flex flex-col gap-1 max-h-80 overflow-y-auto outline-none").props(
            "tabindex=-1 role=listbox data-testid=model-choice"
        ) as options:
            buttons = []
            for g in guesses:
                button = ui.element("button").classes(OPTION + (" border-blue-300" if g["shared"] else
                                                                " border-slate-200"))
                button.props.update({"type": "button", "data-model": g["code"], "role": "option",
                                     "disabled": confirm})
                with button:
                    ui.label(g["code"]).classes("font-mono font-bold text-lg")
                    ui.label(g["name"]).classes("text-slate-700")
                    if g["prefix"]:
                        ui.label(_("starts with {prefix}").format(prefix=g["prefix"])).classes(
                            "ml-auto text-sm " + ("text-blue-800 font-semibold" if g["shared"] else "text-slate-500"))
                button.on("click", lambda code=g["code"]: dialog.submit(Picked(model=code)))
                buttons.append(button)
        options.on("keydown", js_handler=LIST_KEYS_JS)
        ui.label(_("↑/↓ choose, Enter receives it as that model, Esc: do not receive it")).classes("text-slate-500")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(_("Cancel"), on_click=lambda: dialog.submit(Picked())).props(
                "flat no-caps data-testid=model-cancel")

    def open_choice() -> None:
        for button in buttons:
            button.props["disabled"] = False
            button.update()
        _focus_list(options)

    def check(raw: Any) -> None:
        text = raw if isinstance(raw, str) else str(raw or "")
        try:
            same = normalise_key(clean_scan(text)) == serial
        except ScanError:
            same = False
        if not same:
            dialog.submit(Picked(second_scan=text))
            return
        step.set_visibility(False)
        done.set_visibility(True)
        signal("ok")
        open_choice()

    dialog.open()
    if confirm:
        focus(second)
    else:
        _focus_list(options)
    picked = await dialog
    dialog.delete()
    return picked if isinstance(picked, Picked) else Picked()


def _focus_list(options: ui.element) -> None:
    """The list itself takes the keys, with no model highlighted: ↓ goes to the first."""
    ui.run_javascript(f"""(() => {{
        let tries = 0;
        const go = () => {{
            const el = getHtmlElement({options.id});
            if (el && !el.querySelector('button[data-model][disabled]')) el.focus();
            else if (tries++ < 40) setTimeout(go, 25);
        }};
        go();
    }})()""")
