"""A station's serial scanner, shared by the pages of one ``rma serve`` process.

The scanner is read in a background thread (``drivers.scanner.ScannerThread``); each
report goes to the page that listens (the intake station). A scan that arrives while no
page listens is kept (up to ``BACKLOG``) and handed to the next page that subscribes: a
scan is never lost because the clerk was looking at another screen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.scanner import ScannerConnected, ScannerDisconnected, ScannerReconnected, ScannerThread, SerialScanner

BACKLOG = 200
Listener = Callable[[Any], None]


@dataclass(frozen=True)
class ScannerSettings:
    url: str
    terminator: str = "CR"
    baudrate: int = 9600

    @classmethod
    def from_station(cls, scanner: dict[str, Any]) -> ScannerSettings | None:
        """The ``[scanner]`` table of rma.toml; None for a keyboard-wedge station."""
        if (scanner or {}).get("kind", "wedge") != "serial":
            return None
        return cls(url=str(scanner["url"]), terminator=str(scanner.get("terminator", "CR")),
                   baudrate=int(scanner.get("baudrate", 9600)))


class StationScanner:
    def __init__(self, settings: ScannerSettings) -> None:
        self.settings = settings
        self.connected = False
        self.last_problem: str | None = None
        self._listeners: list[Listener] = []
        self._backlog: deque[Any] = deque(maxlen=BACKLOG)
        self._lock = threading.Lock()
        self._thread = ScannerThread(
            SerialScanner(settings.url, baudrate=settings.baudrate, terminator=settings.terminator),
            self._on_report, name="station-scanner")

    def start(self) -> StationScanner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (in the scanner thread) for every report; gets the backlog first."""
        with self._lock:
            self._listeners.append(listener)
            pending = list(self._backlog)
            self._backlog.clear()
        for report in pending:
            listener(report)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    def _on_report(self, report: Any) -> None:
        if isinstance(report, (ScannerConnected, ScannerReconnected)):
            self.connected, self.last_problem = True, None
        elif isinstance(report, ScannerDisconnected):
            self.connected, self.last_problem = False, report.reason
        with self._lock:
            listeners = list(self._listeners)
            if not listeners and not isinstance(report, (ScannerConnected, ScannerReconnected, ScannerDisconnected)):
                self._backlog.append(report)
        for listener in listeners:
            listener(report)


_station: StationScanner | None = None


def station_scanner(scanner_table: dict[str, Any]) -> StationScanner | None:
    """The process-wide serial scanner of this station, started on first use; None for a wedge."""
    global _station
    settings = ScannerSettings.from_station(scanner_table)
    if settings is None:
        return None
    if _station is None:
        _station = StationScanner(settings).start()
    return _station
