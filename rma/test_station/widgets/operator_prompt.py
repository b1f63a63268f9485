"""The operator prompt: a step that asks the tester, yes or no (Y / N / Enter) or a scanned value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, clean_scan
from rma.i18n import _, error_message
from rma.test_station.plans import Step
from rma.test_station.widgets.keyboard import key_hint
from rma.ui.widgets import SCAN_FIELD_JS


def operator_prompt(step: Step, *, reply: Callable[[str], None], abort: Callable[[], None]) -> ui.dialog:
    """Open the prompt of ``step``; ``reply`` gets the one answer, and the dialog closes."""
    answered = False

    def answer(value: str) -> None:
        nonlocal answered
        if answered:
            return
        answered = True
        dialog.close()
        reply(value)

    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-[40rem] max-w-full gap-4 p-6").props(
        f"data-testid=prompt-dialog data-answer={step.answer or 'yes_no'} data-step={step.id}"
    ):
        ui.label(step.name).classes("text-sm uppercase tracking-wide text-slate-500")
        ui.label(step.prompt or "").classes("text-2xl font-semibold text-slate-900 leading-snug").props(
            "data-testid=prompt-text")
        if step.answer == "scan":
            _scan_answer(answer, abort)
        else:
            _yes_no_answer(answer, abort)
    dialog.open()
    ui.run_javascript(f"window.rmaTest.focusIn('{'prompt-scan' if step.answer == 'scan' else 'prompt-yes'}')")
    return dialog


def _scan_answer(answer: Callable[[str], None], abort: Callable[[], None]) -> None:
    scan = ui.element("input").classes(
        "rma-scan w-full rounded-md border-2 border-slate-400 bg-white text-2xl px-4 py-3 focus:border-blue-700")
    scan.props.update({"type": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false",
                       "data-testid": "prompt-scan", "data-autofocus": "",
                       "placeholder": _("Scan the barcode"), "aria-label": _("Scan the barcode")})
    problem = ui.label("").classes("text-red-800 font-medium").props("data-testid=prompt-problem")

    def scanned(e: Any) -> None:
        try:
            answer(clean_scan(str(e.args or "")))
        except ScanError as exc:
            problem.set_text(error_message(exc))  # type: ignore[arg-type]
            ui.run_javascript("window.rmaTest.focusIn('prompt-scan')")

    scan.on("keydown", scanned, js_handler=SCAN_FIELD_JS)
    with ui.row().classes("w-full items-center text-sm text-slate-500"):
        key_hint(("Enter", "Tab"), _("ends a scan"))
        ui.space()
        ui.button(_("Abort the test"), icon="stop", on_click=abort).props(
            "flat no-caps color=grey-8 data-testid=prompt-abort")


def _yes_no_answer(answer: Callable[[str], None], abort: Callable[[], None]) -> None:
    with ui.row().classes("w-full gap-4 no-wrap"):
        ui.button(_("Yes"), icon="check", on_click=lambda: answer("yes")).props(
            "unelevated size=xl color=positive no-caps data-autofocus data-testid=prompt-yes").classes("grow")
        ui.button(_("No"), icon="close", on_click=lambda: answer("no")).props(
            "unelevated size=xl color=negative no-caps data-testid=prompt-no").classes("grow")
    with ui.row().classes("w-full items-center gap-4 text-sm text-slate-500"):
        key_hint(("Y", "Enter"), _("yes"))
        key_hint(("N",), _("no"))
        ui.space()
        ui.button(_("Abort the test"), icon="stop", on_click=abort).props(
            "flat no-caps color=grey-8 data-testid=prompt-abort")
