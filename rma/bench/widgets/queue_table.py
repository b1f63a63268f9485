"""The bench queue as a table: oldest first, with what matters at a glance (age, model, warranty,
REPEAT with the earlier visit, interception holds, rework, who has it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import ui

from rma.i18n import _
from rma.intake.pages_common import repeat_badge, warranty_badge
from rma.ui.widgets import state_badge, table


def card_url(tag: str) -> str:
    return "/bench/card/" + quote(tag, safe="")


def _flags(r: dict[str, Any]):  # noqa: ANN202
    def build() -> None:
        with ui.row().classes("items-center gap-1"):
            if r["repeat_of"]:
                repeat_badge(r["repeat_of"])
            if r["open_alerts"]:
                ui.label(_("HOLD: {n} interception").format(n=r["open_alerts"])).classes(
                    "bg-red-700 text-white rounded-full px-2 py-0.5 text-sm font-semibold").props("data-flag=hold")
            if r["rework"]:
                ui.label(_("Rework ×{n}").format(n=r["rework"])).classes(
                    "bg-amber-600 text-white rounded-full px-2 py-0.5 text-sm").props("data-flag=rework")
            if r["pending_requests"]:
                ui.label(_("Waits for the lead")).classes("bg-slate-600 text-white rounded-full px-2 py-0.5 text-sm")
    return build


def queue_table(rows: list[dict[str, Any]], *, testid: str, empty: str) -> None:
    table([_("Tag"), _("Serial"), _("Model"), _("State"), _("Age"), _("Warranty"), _("Technician"), _("Flags")],
          [[(lambda r=r: ui.link(r["tag"], card_url(r["tag"])).classes("font-mono font-semibold").props(
              f"data-testid=queue-tag data-tag={r['tag']}")), r["serial"], r["model"],
            (lambda r=r: state_badge(r["state"])), _("{n} d").format(n=r["age_days"]),
            (lambda r=r: warranty_badge(r["warranty"], None)), r["technician_name"] or "—", _flags(r)]
           for r in rows], empty=empty, testid=testid)
