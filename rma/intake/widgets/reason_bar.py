"""The return reason for the next scans: a reason code (type to filter, Enter takes the first match)
and the dealer's complaint in free text; every unit received after it carries them."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from rma.i18n import _
from rma.intake.widgets.keyboard import focus_scan
from rma.ui.fields import pick_first_on_enter


class ReasonBar:
    def __init__(self, reasons: dict[str, str], stray_scan: Callable[[str], None]) -> None:
        with ui.row().classes("w-full items-end gap-3") as self.row:
            self.code = ui.select(reasons, with_input=True, clearable=True,
                                  label=_("Return reason (for the next scans)"), on_change=focus_scan).props(
                "outlined dense options-dense data-testid=intake-reason"
            ).classes("min-w-80")
            pick_first_on_enter(self.code, then=focus_scan, unmatched=stray_scan)
            self.text = ui.input(_("Dealer's complaint, free text (optional)")).props(
                "outlined dense clearable data-testid=intake-reason-text"
            ).classes("grow")
            self.text.on("keydown.enter", js_handler="() => rmaIntake.focusScan()")
        self.row.set_visibility(False)

    def current(self) -> tuple[str | None, str | None]:
        """The reason code and the free text for the next unit."""
        return self.code.value or None, (self.text.value or "").strip() or None

    def set_choices(self, reasons: dict[str, str]) -> None:
        self.code.set_options(reasons, value=self.code.value if self.code.value in reasons else None)
