"""The stores area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import STORES
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(STORES.path, area=STORES, title="Stores")
    def stores_page(user: SessionUser) -> None:
        ui.label(_("Stores")).classes("text-2xl font-semibold")
        not_built_yet(_("The stores are not built yet."))
