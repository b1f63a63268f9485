"""The parcels still being received, newest first: a click on a waybill carries on with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.ui.widgets import table, when


def open_parcels_table(parcels: list[dict[str, Any]], on_pick: Callable[[str], None]) -> None:
    def waybill_cell(p: dict[str, Any]):  # noqa: ANN202
        return lambda: ui.button(p["waybill"], on_click=lambda: on_pick(p["waybill"])).props(
            f"flat dense no-caps data-open-parcel={p['waybill']}").classes("font-mono text-lg")

    table([_("Waybill"), _("Courier"), _("Customer"), _("Declared"), _("Scanned"), _("Opened at")],
          [[waybill_cell(p), p["courier"], " · ".join(x for x in (p["customer"], p["customer_name"]) if x),
            p["declared"], p["scanned"], when(p["opened_at"])] for p in parcels],
          empty=_("No open parcels."), testid="open-parcels")
