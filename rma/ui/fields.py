"""Keyboard fields for the floor: the scan field, plain fields whose value lives in the browser,
and the small moves between them (focus, set a value, pick the first match on Enter).

A scanner types faster than the page's socket: these fields are plain ``<input>`` elements read
by the browser on Enter, never synced key by key, so no character is lost or mixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from nicegui import ui

from rma.i18n import CHINESE, current_language
from rma.ui.widgets import SCAN_FIELD_JS


def scan_field(testid: str, placeholder: str, on_scan: Callable[[Any], Any], *, large: bool = True) -> ui.element:
    """A plain <input> for scans and typed keys: Enter or Tab ends one; nothing is synced while typing."""
    size = "text-2xl px-4 py-3" if large else "text-lg px-3 py-2"
    field = ui.element("input").classes(
        f"rma-scan w-full rounded-md border-2 border-slate-400 bg-white text-slate-900 {size} "
        "focus:border-blue-700"
    )
    field.props.update({
        "type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
        "data-testid": testid, "placeholder": placeholder, "aria-label": placeholder,
    })
    field.on("keydown", on_scan, js_handler=SCAN_FIELD_JS)
    return field


def plain_field(label: str, testid: str, *, value: str = "", width: str = "w-40", **attributes: Any) -> ui.element:
    """A labelled plain <input> whose value lives in the browser until a form is sent."""
    with ui.element("label").classes(f"{width} flex flex-col gap-1"):
        ui.label(label).classes("text-sm text-slate-600")
        field = ui.element("input").classes(
            "w-full rounded border border-slate-400 bg-white px-3 py-2 text-lg "
            "focus:outline-none focus:ring-2 focus:ring-blue-700"
        )
    # No "value" prop: Vue writes a value prop into the field at every redraw of the page, which
    # would wipe what was typed. The browser owns the value; set_field() changes it there.
    field.props.update({"type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
                        "data-testid": testid, **attributes})
    if value:
        set_field(field, value)
    return field


def values_js(fields: Mapping[str, ui.element]) -> str:
    """A JS object of the fields' values as the browser holds them now."""
    return "{" + ", ".join(f"{k}: getHtmlElement({f.id}).value" for k, f in fields.items()) + "}"


def focus(element: ui.element, *, select: bool = False) -> None:
    """Focus a field (or the input inside a Quasar field) once the browser has drawn it;
    ``select`` selects its text, so typing replaces it and Enter accepts it."""
    ui.run_javascript(f"""(() => {{
        let tries = 0;
        const go = () => {{
            const root = getHtmlElement({element.id});
            const el = root && (root.matches('input, textarea, button') ? root
                : root.querySelector('input, textarea, [tabindex]:not([tabindex="-1"])'));
            if (el) {{ el.focus(); if ({'true' if select else 'false'} && el.select) el.select(); }}
            else if (tries++ < 40) setTimeout(go, 25);
        }};
        go();
    }})()""")


def set_field(element: ui.element, value: str) -> None:
    """Set a plain field's value in the browser, once the browser has drawn it."""
    ui.run_javascript(f"""(() => {{
        let tries = 0;
        const go = () => {{
            const el = getHtmlElement({element.id});
            if (el) el.value = {json.dumps(value)}; else if (tries++ < 40) setTimeout(go, 25);
        }};
        go();
    }})()""")


def pick_first_on_enter(select: ui.select, then: Callable[[], Any] | None = None,
                        unmatched: Callable[[str], Any] | None = None) -> None:
    """Type to filter, Enter takes the first match (an option picked with the arrows wins).

    Text that matches no option is handed to ``unmatched`` (a scan that landed in the wrong
    field goes where it belongs) instead of being dropped.
    """

    def picked(e) -> None:  # noqa: ANN001
        typed = str(e.args or "").strip()
        if typed:
            match = next((k for k, label in select.options.items() if typed.lower() in str(label).lower()), None)
            select.run_method("hidePopup")
            if match is None:
                select.run_method("updateInputValue", "", True)
                if unmatched is not None:
                    unmatched(typed)
                return
            select.value = match
            select.run_method("updateInputValue", str(select.options[match]), True)  # show the whole choice
        if then is not None and select.value is not None:
            then()

    select.on("keydown.capture", picked, js_handler="""(e) => {
        if (e.key !== 'Enter' || e.isComposing || e.ctrlKey || e.altKey) return;
        if (document.querySelector('.q-menu .q-manual-focusable--focused')) return;
        const input = e.target.closest('.q-field').querySelector('input');
        e.preventDefault(); e.stopPropagation();
        emit(input ? input.value : '');
    }""")


# q-date's words in Chinese; its English ones are Quasar's own.
_ZH_DATE_LOCALE = {
    "days": "星期日_星期一_星期二_星期三_星期四_星期五_星期六".split("_"),
    "daysShort": "日_一_二_三_四_五_六".split("_"),
    "months": [f"{n}月" for n in range(1, 13)],
    "monthsShort": [f"{n}月" for n in range(1, 13)],
    "firstDayOfWeek": 1,
}


def date_field(label: str, testid: str, on_change: Callable[[str | None], Any]) -> ui.input:
    """A date typed as YYYY-MM-DD in every language (a native date input shows mm/dd/yyyy in an
    English browser), or picked from a calendar. ``on_change`` gets the date when it is whole or
    emptied, never a half-typed one."""
    def changed(value: str | None) -> Any:
        value = (value or "").strip()
        if not value or len(value) == 10:
            return on_change(value or None)
        return None

    field = ui.input(label, on_change=lambda e: changed(e.value)).props(
        f'mask="####-##-##" placeholder=YYYY-MM-DD outlined dense stack-label clearable data-testid={testid}'
    ).classes("w-44")
    with field:
        with ui.menu().props("no-parent-event") as menu:
            picker = ui.date(mask="YYYY-MM-DD", on_change=lambda e: (field.set_value(e.value), menu.close()))
            if current_language() == CHINESE:
                picker.props["locale"] = _ZH_DATE_LOCALE
        with field.add_slot("append"):
            ui.icon("event").classes("cursor-pointer").props(f"data-testid={testid}-calendar").on("click", menu.open)
    return field
