"""The test station area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import TEST_STATION
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(TEST_STATION.path, area=TEST_STATION, title="Test station")
    def test_station_page(user: SessionUser) -> None:
        ui.label(_("Test station")).classes("text-2xl font-semibold")
        not_built_yet(_("The test station is not built yet."))
