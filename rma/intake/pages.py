"""The intake area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import INTAKE
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(INTAKE.path, area=INTAKE, title="Intake")
    def intake_page(user: SessionUser) -> None:
        ui.label(_("Intake")).classes("text-2xl font-semibold")
        not_built_yet(_("The intake station is not built yet."))
