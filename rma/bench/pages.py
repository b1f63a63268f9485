"""The bench area: its pages (NiceGUI)."""

from __future__ import annotations

from nicegui import ui

from rma.i18n import _
from rma.ui.areas import BENCH
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import not_built_yet


def register() -> None:
    @protected_page(BENCH.path, area=BENCH, title="Bench")
    def bench_page(user: SessionUser) -> None:
        ui.label(_("Bench")).classes("text-2xl font-semibold")
        not_built_yet(_("The repair bench is not built yet."))
