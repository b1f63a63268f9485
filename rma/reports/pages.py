"""The dashboard area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import DASHBOARD
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(DASHBOARD.path, area=DASHBOARD, title="Dashboard")
    def dashboard_page(user: SessionUser) -> None:
        ui.label(_("Dashboard")).classes("text-2xl font-semibold")
        not_built_yet(_("The dashboard is not built yet."))
