"""The intake station's scan area: which step it is, the scan field, what the last scan did, the
return reason for the next scans, the keys, and the chips for waiting scans and the serial scanner.
It flashes and beeps with every result (``data-signal-area``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from drivers.scanner import ScanResult
from rma.i18n import _
from rma.intake.widgets.reason_bar import ReasonBar
from rma.intake.widgets.scanner_chip import ScannerChip
from rma.ui.banner import ResultBanner
from rma.ui.fields import scan_field
from rma.ui.scan_queue import PendingChip


class ScanArea:
    def __init__(self, root: ui.element, reasons: dict[str, str], *, on_scan: Callable[[Any], None],
                 on_serial_scan: Callable[[ScanResult], None], stray_scan: Callable[[str], None]) -> None:
        with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
            "flat data-testid=scan-area data-signal-area data-signal=none"
        ):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                self.title = ui.label().classes("text-2xl font-semibold text-slate-800").props(
                    "data-testid=intake-step")
                with ui.row().classes("items-center gap-2 no-wrap"):
                    self.pending = PendingChip("intake-pending")
                    self.scanner = ScannerChip(root, on_serial_scan)
            self.field = scan_field("intake-scan", _("Scan the waybill"), on_scan)
            self.field.props["data-intake-scan"] = ""
            self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
            self.result = ResultBanner()
            self.reason = ReasonBar(reasons, stray_scan)
            self.hints = ui.html("", sanitize=False).classes("text-sm text-slate-500").props(
                "data-testid=intake-hints")

    def step(self, parcel_open: bool) -> None:
        """Step 1 (the waybill) or step 2 (the serials of an open parcel)."""
        self.reason.row.set_visibility(parcel_open)
        if parcel_open:
            self.title.set_text(_("Step 2: scan the serial of each unit"))
            self.field.props["placeholder"] = _("Scan a serial")
        else:
            self.title.set_text(_("Step 1: scan the courier waybill"))
            self.field.props["placeholder"] = _("Scan the waybill")
        self.field.update()
        keys = [("Enter", _("or Tab ends a scan"))]
        if parcel_open:
            keys += [("Ctrl+Enter", _("close the parcel")), ("Alt+R", _("reason")), ("Alt+T", _("free text")),
                     ("Alt+A", _("all accessories present")), ("Alt+1…9", _("tick accessory n of the newest unit")),
                     ("Esc", _("back to the scan field"))]
        self.hints.set_content(" · ".join(f"<kbd>{k}</kbd> {text}" for k, text in keys))
