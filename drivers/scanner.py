"""Barcode scanners on a serial line: USB-CDC (``/dev/ttyACM0``), RS-232 (``/dev/ttyUSB0``) or a
serial device server (``socket://host:port``).

A scanner sends each scan as ASCII bytes followed by a terminator (CR by default, LF or CRLF
if so programmed), optionally led by an AIM symbology identifier (``]C0``). It never
answers anything; the station only listens.

What a reader gets, one at a time (a :data:`ScannerReport`):

- :class:`ScanResult`: one complete scan, cleaned by :func:`drivers.scan.clean_scan`;
  ``value`` when good, ``error`` (a :class:`~drivers.scan.ScanError`) when not. A bad scan is
  reported, never dropped and never fatal.
- :class:`ScannerConnected`, :class:`ScannerDisconnected` (once per outage),
  :class:`ScannerReconnected`: the line came, went, came back. While it is away the driver
  retries every ``reconnect_interval`` until it returns or :meth:`Scanner.close` is called.

Three ways to read: ``read_report(timeout)`` / ``read_scan(timeout)`` one at a time,
``for report in scanner`` (a generator that ends on ``close()``), or :class:`ScannerThread`,
which calls a function for each report from a background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import serial

from drivers.scan import (
    DEFAULT_MAX_LENGTH,
    ScanError,
    clean_scan,
    incomplete_scan_error,
    runaway_scan_error,
)

log = logging.getLogger(__name__)

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
# Room beyond max_length for an AIM identifier and stray whitespace before a frame is runaway.
FRAME_SLACK = 64
MAX_READ = 4096


@dataclass(frozen=True)
class ScanResult:
    """One complete scan: ``value`` if it is a label, else ``error``; ``raw`` as received."""

    value: str | None
    error: ScanError | None
    raw: bytes

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ScannerConnected:
    """The line was opened for the first time."""

    url: str


@dataclass(frozen=True)
class ScannerDisconnected:
    """The line is gone (or could not be opened); reported once until it comes back."""

    url: str
    reason: str


@dataclass(frozen=True)
class ScannerReconnected:
    """The line is back after a :class:`ScannerDisconnected`."""

    url: str


ScannerEvent = ScannerConnected | ScannerDisconnected | ScannerReconnected
ScannerReport = ScanResult | ScannerEvent


def parse_terminator(terminator: bytes | str) -> bytes:
    """``b"\\r"``, ``"CR"``, ``"LF"``, ``"CRLF"`` or any non-empty byte string, as bytes."""
    if isinstance(terminator, str):
        terminator = TERMINATORS.get(terminator.upper()) or terminator.encode("ascii")
    if not isinstance(terminator, bytes) or not terminator:
        raise ValueError(f"a scan terminator must be a non-empty byte string, not {terminator!r}")
    return terminator


class Scanner(ABC):
    """A source of scans. Implementations provide :meth:`read_report` and :meth:`close`."""

    @abstractmethod
    def read_report(self, timeout: float | None) -> ScannerReport | None:
        """The next scan or line event, or None if ``timeout`` seconds pass first or once closed.

        ``timeout=None`` waits until something happens or :meth:`close` is called.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop reading and release the line; safe to call from any thread, more than once."""

    @property
    @abstractmethod
    def closed(self) -> bool: ...

    def read_scan(self, timeout: float | None) -> str | None:
        """The next good scan's value, or None after ``timeout`` seconds or once closed.

        A bad scan raises its :class:`~drivers.scan.ScanError`; line events are skipped.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            report = self.read_report(left)
            if report is None:
                return None
            if isinstance(report, ScanResult):
                if report.error is not None:
                    raise report.error
                return report.value
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def __iter__(self) -> Iterator[ScannerReport]:
        """Every report (scans, good or bad, and line events) until :meth:`close`."""
        while not self.closed:
            report = self.read_report(None)
            if report is None:
                return
            yield report

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class ScanFramer:
    """Cuts a byte stream into scans. Pure: bytes and the time they arrived in, reports out.

    A frame ends at ``terminator``. A half scan followed by ``partial_timeout`` seconds of
    silence is reported as ``garbled_scan``. The buffer never holds more than
    ``max_length + FRAME_SLACK`` bytes: past that the frame is reported as ``scan_too_long``
    and the rest of it, up to the next terminator or silence, is discarded.
    """

    def __init__(self, terminator: bytes | str = b"\r", *, max_length: int = DEFAULT_MAX_LENGTH,
                 partial_timeout: float = 0.5) -> None:
        if max_length < 1 or partial_timeout <= 0:
            raise ValueError("max_length must be at least 1 and partial_timeout positive")
        self.terminator = parse_terminator(terminator)
        self.max_length = max_length
        self.partial_timeout = partial_timeout
        self.max_frame = max_length + FRAME_SLACK
        self._buffer = bytearray()
        self._discarding = False  # inside a runaway frame that was already reported
        self._last_byte_at = 0.0

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def feed(self, data: bytes, now: float) -> list[ScanResult]:
        results = self.expire(now)
        if not data:
            return results
        self._last_byte_at = now
        self._buffer += data
        while (end := self._buffer.find(self.terminator)) >= 0:
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + len(self.terminator)]
            if self._discarding:
                self._discarding = False
                continue
            results.extend(self._scan(frame))
        if len(self._buffer) > self.max_frame and not self._discarding:
            results.append(ScanResult(None, runaway_scan_error(_text(self._buffer[: self.max_frame]),
                                                               limit=self.max_frame),
                                      bytes(self._buffer[: self.max_frame])))
            self._discarding = True
        if self._discarding:
            # Keep only what could be the start of a terminator split across reads.
            keep = len(self.terminator) - 1
            del self._buffer[: len(self._buffer) - keep]
        return results

    def expire(self, now: float) -> list[ScanResult]:
        """Report a half scan after ``partial_timeout`` seconds of silence, and forget it."""
        if not (self._buffer or self._discarding) or now - self._last_byte_at < self.partial_timeout:
            return []
        return self.flush(f"nothing more for {self.partial_timeout:g} s")

    def flush(self, reason: str) -> list[ScanResult]:
        """Report and forget the half scan in the buffer (e.g. because the line went away)."""
        frame, discarding = bytes(self._buffer), self._discarding
        self._buffer.clear()
        self._discarding = False
        if discarding or not frame.strip(b" \t\r\n"):
            return []  # already reported as runaway, or only the LF of a CRLF under a CR setting
        return [ScanResult(None, incomplete_scan_error(_text(frame), reason=reason), frame)]

    def _scan(self, frame: bytes) -> list[ScanResult]:
        if not frame.strip(b" \t\r\n"):
            return []  # consecutive terminators are framing, not a scan
        try:
            return [ScanResult(clean_scan(_text(frame), max_length=self.max_length), None, frame)]
        except ScanError as error:
            return [ScanResult(None, error, frame)]


def _text(raw: bytes | bytearray) -> str:
    # latin-1 maps every byte to one character, so clean_scan sees (and names) each bad byte.
    return bytes(raw).decode("latin-1")


class SerialScanner(Scanner):
    """A scanner on any pyserial URL: a device path, ``socket://host:port``, ``loop://``, ``spy://``.

    The line is opened on the first read, not in the constructor, so a station starts even
    with its scanner unplugged. One thread reads at a time; :meth:`close` may come from any
    thread and returns within about ``read_timeout`` (every port read has that timeout).
    """

    def __init__(self, url: str, *, baudrate: int = 9600, terminator: bytes | str = b"\r",
                 read_timeout: float = 0.2, reconnect_interval: float = 1.0,
                 partial_timeout: float = 0.5, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if read_timeout <= 0 or reconnect_interval <= 0:
            raise ValueError("read_timeout and reconnect_interval must be positive")
        self.url = url
        self.read_timeout = read_timeout
        self.reconnect_interval = reconnect_interval
        self._framer = ScanFramer(terminator, max_length=max_length, partial_timeout=partial_timeout)
        # A malformed URL fails here, at start-up, instead of being retried forever.
        self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=read_timeout,
                                           write_timeout=read_timeout, do_not_open=True)
        self._reports: deque[ScannerReport] = deque()
        self._io = threading.Lock()
        self._closing = threading.Event()
        self._ever_opened = False
        self._outage_reported = False
        self._next_open_at = 0.0

    @property
    def closed(self) -> bool:
        return self._closing.is_set()

    @property
    def connected(self) -> bool:
        return self._port.is_open and not self.closed

    @property
    def terminator(self) -> bytes:
        return self._framer.terminator

    def read_report(self, timeout: float | None) -> ScannerReport | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._io:
            try:
                while not self._closing.is_set():
                    if self._reports:
                        return self._reports.popleft()
                    if not self._port.is_open:
                        self._try_open(deadline)
                    else:
                        self._read_once()
                    if not self._reports and deadline is not None and time.monotonic() >= deadline:
                        return None
                return None
            finally:
                if self._closing.is_set():
                    self._close_port()

    def close(self) -> None:
        self._closing.set()
        # If a reader is inside read_report it closes the port itself on its way out.
        if self._io.acquire(timeout=self.read_timeout + 0.5):
            try:
                self._close_port()
            finally:
                self._io.release()

    def _try_open(self, deadline: float | None) -> None:
        now = time.monotonic()
        if now < self._next_open_at:
            wait = self._next_open_at - now
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - now))
            self._closing.wait(wait)
            return
        try:
            self._port.open()
        except (serial.SerialException, OSError) as error:
            self._next_open_at = time.monotonic() + self.reconnect_interval
            self._lost(f"cannot open: {error}")
            return
        if self._ever_opened:
            log.info("scanner %s is back", self.url)
            self._reports.append(ScannerReconnected(self.url))
        else:
            self._reports.append(ScannerConnected(self.url))
        self._ever_opened = True
        self._outage_reported = False

    def _read_once(self) -> None:
        try:
            data = self._port.read(min(MAX_READ, max(1, self._port.in_waiting)))
        except (serial.SerialException, OSError) as error:
            self._reports.extend(self._framer.flush("the scanner went away"))
            self._close_port()
            self._next_open_at = time.monotonic() + self.reconnect_interval
            self._lost(f"went away: {error}")
            return
        self._reports.extend(self._framer.feed(data, time.monotonic()))

    def _lost(self, reason: str) -> None:
        if not self._outage_reported:
            log.warning("scanner %s disconnected: %s", self.url, reason)
            self._reports.append(ScannerDisconnected(self.url, reason))
            self._outage_reported = True

    def _close_port(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            # The device may already be gone; a port that is closed is all we need.
            log.debug("closing %s failed", self.url, exc_info=True)


class ScannerThread:
    """Reads a scanner in a background thread and calls ``on_report`` for every report.

    ``on_report`` runs in this thread: a web page hands the report to its event loop instead
    of touching the UI here. An exception in ``on_report`` is logged and reading goes on.
    """

    def __init__(self, scanner: Scanner, on_report: Callable[[ScannerReport], object], *,
                 name: str = "scanner") -> None:
        self.scanner = scanner
        self.on_report = on_report
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ScannerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Close the scanner and wait up to ``timeout`` s for the thread; True if it ended."""
        self.scanner.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> ScannerThread:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        for report in self.scanner:
            try:
                self.on_report(report)
            except Exception:
                log.exception("scanner callback failed on %r", report)
