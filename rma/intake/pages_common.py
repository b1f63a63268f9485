"""What the logistics pages share: plain keyboard fields, badges, CSV exports, messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, shown
from rma.core.parse import parse_day  # noqa: F401  (the pages import it from here)
from rma.errors import DomainError
from rma.exports import csv_bytes  # noqa: F401  (the pages import it from here)
from rma.i18n import _, error_message
from rma.ui.frame import unit_url
from rma.ui.widgets import SCAN_FIELD_JS  # noqa: F401  (the pages import it from here)

# The unmistakable ok / warn / error signal: the scan area flashes green / amber / red and the
# station beeps (high and short: ok; two middle: look; two low: error). ``rmaSignal(kind)``.
SIGNAL_HEAD = """
<style>
  @keyframes rma-flash-ok { 0%, 35% { background-color: #86efac; } 100% { background-color: #ffffff; } }
  @keyframes rma-flash-warn { 0%, 35% { background-color: #fcd34d; } 100% { background-color: #ffffff; } }
  @keyframes rma-flash-error { 0%, 50% { background-color: #f87171; } 100% { background-color: #ffffff; } }
  .rma-flash-ok { animation: rma-flash-ok 1.2s ease-out; }
  .rma-flash-warn { animation: rma-flash-warn 1.4s ease-out; }
  .rma-flash-error { animation: rma-flash-error 1.8s ease-out; }
</style>
<script>
window.rmaSignal = (() => {
  let audio = null;
  const TONES = {  // [frequency Hz, start s, length s]
    ok: [[1760, 0, 0.09]],
    warn: [[1175, 0, 0.08], [1175, 0.13, 0.08]],
    error: [[220, 0, 0.17], [220, 0.25, 0.17]],
  };
  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
      const t0 = audio.currentTime + 0.01;
      for (const [freq, at, len] of TONES[kind] || TONES.error) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = kind === 'error' ? 'square' : 'sine';
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t0 + at);
        gain.gain.exponentialRampToValueAtTime(0.25, t0 + at + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + len);
        osc.connect(gain).connect(audio.destination);
        osc.start(t0 + at);
        osc.stop(t0 + at + len + 0.02);
      }
    } catch (err) { /* no sound device: the colour still says it */ }
  }
  return (kind) => {
    const area = document.querySelector('[data-signal-area]');
    if (area) {
      area.dataset.signal = kind;
      area.dataset.signals = String(Number(area.dataset.signals || 0) + 1);
      area.classList.remove('rma-flash-ok', 'rma-flash-warn', 'rma-flash-error');
      void area.offsetWidth;  // restart the animation
      area.classList.add('rma-flash-' + kind);
    }
    beep(kind);
  };
})();
</script>
"""

WARRANTY_LOOK = {  # badge text and colour of each warranty decision
    "in": ("In warranty", "bg-green-700"),
    "out": ("Out of warranty", "bg-orange-600"),
    "unknown": ("Warranty unknown", "bg-slate-500"),
}
DIRECTIONS = {"in": "Inbound", "out": "Outbound"}


def problem_text(exc: DomainError | ScanError) -> str:
    """A domain error or a bad scan in the worker's language (both carry template + params)."""
    return error_message(exc)  # type: ignore[arg-type]


def notify_problem(text: str) -> None:
    ui.notify(text, type="negative", position="top", close_button=True, timeout=8000)


def notify_done(text: str) -> None:
    ui.notify(text, type="positive", position="top")


def escaped(raw: str, limit: int = 80) -> str:
    """A scan as received, every odd character escaped, cut to about ``limit``: safe to show."""
    return shown(raw, limit)


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


def focus(element: ui.element) -> None:
    """Focus a field (or the input inside a Quasar field) once the browser has drawn it."""
    ui.run_javascript(f"""(() => {{
        let tries = 0;
        const go = () => {{
            const root = getHtmlElement({element.id});
            const el = root && (root.matches('input, textarea, button') ? root
                : root.querySelector('input, textarea, [tabindex]:not([tabindex="-1"])'));
            if (el) el.focus(); else if (tries++ < 40) setTimeout(go, 25);
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


def warranty_badge(warranty: str | None, until: str | None, *, large: bool = False) -> None:
    text, colour = WARRANTY_LOOK.get(warranty or "unknown", WARRANTY_LOOK["unknown"])
    size = "text-base px-3 py-1" if large else "text-sm px-2 py-0.5"
    with ui.row().classes("items-center gap-1 no-wrap"):
        ui.label(_(text)).classes(f"{colour} {size} text-white rounded-full font-semibold whitespace-nowrap").props(
            f"data-warranty={warranty or 'unknown'}"
        )
        if until:
            ui.label(_("until {date}").format(date=until)).classes("text-slate-600 whitespace-nowrap")


def repeat_badge(earlier_tag: str, *, large: bool = False) -> None:
    size = "text-base px-3 py-1" if large else "text-sm px-2 py-0.5"
    with ui.row().classes(f"items-center gap-1 no-wrap bg-purple-700 text-white rounded-full {size}").props(
        "data-testid=repeat-badge"
    ):
        ui.label(_("REPEAT")).classes("font-bold")
        ui.label(_("of")).classes("opacity-80")
        ui.link(earlier_tag, unit_url(earlier_tag)).classes("font-mono text-white underline")


def alert_lines(interceptions: Iterable[Mapping[str, Any]]) -> None:
    for alert in interceptions:
        with ui.row().classes("w-full items-center gap-2 no-wrap bg-red-700 text-white rounded px-3 py-1").props(
            "data-testid=interception-alert"
        ):
            ui.icon("report", size="sm")
            ui.label(_("Interception:")).classes("font-bold whitespace-nowrap")
            ui.label(str(alert.get("action") or "")).classes("text-base font-medium")


def direction_label(direction: str | None) -> str:
    return _(DIRECTIONS[direction]) if direction in DIRECTIONS else (direction or "—")


def this_month() -> str:
    return date.today().strftime("%Y-%m")


