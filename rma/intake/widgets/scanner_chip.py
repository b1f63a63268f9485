"""The station's serial scanner: a chip that says whether it is connected, and the one intake page
that listens to it (the one that connected last, so a scan is received once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nicegui import run, ui

from drivers.scanner import (
    ScannerConnected,
    ScannerDisconnected,
    ScannerReconnected,
    ScanResult,
)
from rma import config
from rma.i18n import _
from rma.intake import station_scanner
from rma.ui.banner import notify_aside

CHIP = "rounded-full px-3 py-1 text-sm font-medium"

# The chip of the intake page the station's serial scanner feeds.
_listening: ScannerChip | None = None


class ScannerChip:
    """Hidden on a station with a keyboard-wedge scanner; ``deliver`` gets every serial scan."""

    def __init__(self, root: ui.element, deliver: Callable[[ScanResult], None]) -> None:
        self.root, self.deliver = root, deliver
        self.unsubscribe: Callable[[], None] | None = None
        self.chip = ui.label().classes(CHIP).props("data-testid=scanner-chip")
        self.chip.set_visibility(False)

    async def connect(self) -> None:
        settings = await run.io_bound(config.station_settings)
        scanner = station_scanner.station_scanner(settings.scanner)
        if scanner is None:
            return
        loop = asyncio.get_running_loop()
        client = ui.context.client
        self._show(scanner.connected, scanner.last_problem)

        def listener(report: Any) -> None:  # in the scanner's thread: hand over to the page's loop
            loop.call_soon_threadsafe(self._report, report)

        def subscribe() -> None:
            global _listening
            if _listening is not None and _listening is not self:
                _listening.release()  # one page at a time: a scan is received once
            _listening = self
            if self.unsubscribe is None:
                self.unsubscribe = scanner.subscribe(listener)
            # the line may have come up before this page listened: show how it is now
            self._show(scanner.connected, scanner.last_problem)

        client.on_connect(subscribe)
        client.on_disconnect(lambda: self.release(taken=False))

    def release(self, taken: bool = True) -> None:
        """Stop listening (this tab went away, or another intake tab took the scanner)."""
        global _listening
        if self.unsubscribe is not None:
            self.unsubscribe()
            self.unsubscribe = None
        if _listening is self:
            _listening = None
        if taken:
            self.chip.set_text(_("Scanner in use by another intake page; reload to take it back"))
            self.chip.classes(replace=f"{CHIP} bg-amber-100 text-amber-900")
            self.chip.props("data-connected=elsewhere")

    def _report(self, report: Any) -> None:
        with self.root:
            if isinstance(report, ScanResult):
                self.deliver(report)
            elif isinstance(report, (ScannerConnected, ScannerReconnected)):
                self._show(True, None)
            elif isinstance(report, ScannerDisconnected):
                self._show(False, report.reason)
                notify_aside(_("Scanner disconnected: {reason}").format(reason=report.reason))

    def _show(self, connected: bool, problem: str | None) -> None:
        if connected:
            text, colour = _("Scanner connected"), "bg-green-100 text-green-900"
        elif problem:
            text, colour = _("Scanner disconnected ({reason})").format(reason=problem), "bg-red-100 text-red-900"
        else:
            text, colour = _("Scanner connecting…"), "bg-slate-100 text-slate-700"
        self.chip.set_text(text)
        self.chip.classes(replace=f"{CHIP} {colour}")
        self.chip.props(f"data-connected={'yes' if connected else 'no'}")
        self.chip.set_visibility(True)
