"""The programming area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import PROGRAMMING
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(PROGRAMMING.path, area=PROGRAMMING, title="Programming")
    def programming_page(user: SessionUser) -> None:
        ui.label(_("Programming")).classes("text-2xl font-semibold")
        not_built_yet(_("Programming is not built yet."))
