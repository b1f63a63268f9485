"""The station's self-check: what this PC lacks before the first scan finds out.

``check_station()`` looks at what the station's work needs and returns what is missing: a
font with Chinese glyphs for the labels, a label printer that answers (or a folder the
labels can be written to), the test fixture's port and a serial scanner's port named in
``rma.toml``. It changes nothing and is quick: every probe has a short timeout and they run
side by side. ``rma serve`` prints it at start (and starts anyway), the admin page shows it,
``rma station check`` prints it.

A network port of the fixture or the scanner (``socket://host:port``) is only looked up,
never connected to: a serial device server serves one station at a time, and a probe
would push the station's own connection off.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labels import LabelError, PrinterError, find_cjk_font, printer_from_settings
from labels.fonts import CJK_FONT_CANDIDATES, DEBIAN_PACKAGE
from labels.printers import CupsPrinter, FolderPrinter, RawTcpPrinter
from rma import config
from rma.errors import DomainError

PROBE_TIMEOUT_S = 1.0  # a printer that has not answered in a second is off for a clerk

#: Every problem the check can find: its code and its English message (the translation key).
MESSAGES: dict[str, str] = {
    "font_missing": "No font for Chinese text: labels cannot be printed. Install the Debian package {package} "
                    "(./scripts/run installs it).",
    "printer_settings": "The [printer] settings in rma.toml are not usable: {reason}",
    "printer_refused": "Label printer {printer} refuses the connection: is it switched on, and is {port} its raw port?",
    "printer_no_answer": "Label printer {printer} does not answer within {seconds} s: is it switched on and on the network?",
    "printer_unreachable": "Label printer {printer} cannot be reached: {reason}",
    "printer_folder": "Labels cannot be saved in the folder {path}: {reason}",
    "printer_command_missing": "The print command {command} is not installed: install the Debian package cups-client.",
    "fixture_port_missing": "The test fixture port {port} does not exist: is the fixture plugged in?",
    "fixture_port_denied": "The test fixture port {port} may not be opened by this user: add the user to the group {group}.",
    "fixture_port_bad": "The test fixture port {port} is not usable: {reason}",
    "fixture_port_form": "The test fixture port {port} is neither a device path nor a socket://host:port address.",
    "scanner_port_missing": "The scanner port {port} does not exist: is the scanner plugged in?",
    "scanner_port_denied": "The scanner port {port} may not be opened by this user: add the user to the group {group}.",
    "scanner_port_bad": "The scanner port {port} is not usable: {reason}",
    "scanner_port_form": "The scanner port {port} is neither a device path nor a socket://host:port address.",
    "scanner_url_missing": "The serial scanner has no url in rma.toml ([scanner] url = \"/dev/ttyACM0\").",
    "setting_moved": "rma.toml sets {key}, which is now a department setting kept in the database and is not "
                     "read here: set it once with rma settings set {key} VALUE and remove it from rma.toml.",
}

_SERIAL_GROUP = "dialout"  # Debian's owner group of /dev/ttyUSB*, /dev/ttyACM*


@dataclass(frozen=True)
class StationProblem:
    """One thing the station lacks: a stable ``code`` and a message template with its values."""

    code: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format(**self.params)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _problem(code: str, **params: Any) -> StationProblem:
    return StationProblem(code, MESSAGES[code], params)


def check_station(
    *, font_candidates: Iterable[str | Path] = CJK_FONT_CANDIDATES, use_fontconfig: bool = True,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> list[StationProblem]:
    """What this station lacks, in a fixed order (font, printer, fixture, scanner); empty when all is well.

    ``font_candidates`` and ``use_fontconfig`` say where a Chinese font is looked for (as
    ``labels.find_cjk_font``). Takes at most about ``timeout_s`` plus the font lookup.
    """
    problems = _font_problems(font_candidates, use_fontconfig)
    try:
        settings = config.station_settings()
    except DomainError as exc:  # a broken rma.toml: nothing else in it can be checked
        return problems + [StationProblem(exc.code, exc.template, dict(exc.params))]
    intake = settings.raw.get("intake", {})
    if isinstance(intake, dict):
        problems += [_problem("setting_moved", key=key) for key in intake if key == "repeat_window_days"]
    fixture = settings.raw.get("test_station", {})
    fixture_port = str(fixture.get("port") or "").strip() if isinstance(fixture, dict) else ""
    probes: list[tuple[Callable[[], list[StationProblem]], StationProblem]] = [
        (lambda: _printer_problems(timeout_s),
         _problem("printer_no_answer", printer=_printer_name(), seconds=f"{timeout_s:g}"))]
    if fixture_port:
        probes.append((lambda: _port_problems(fixture_port, "fixture"),
                       _problem("fixture_port_bad", port=fixture_port, reason=os.strerror(errno.ETIMEDOUT))))
    if (settings.scanner or {}).get("kind") == "serial":
        scanner_url = str(settings.scanner.get("url") or "").strip()
        probes.append((lambda: _port_problems(scanner_url, "scanner"),
                       _problem("scanner_port_bad", port=scanner_url, reason=os.strerror(errno.ETIMEDOUT))))
    return problems + _side_by_side(probes, timeout_s)


def _side_by_side(
    probes: list[tuple[Callable[[], list[StationProblem]], StationProblem]], timeout_s: float,
) -> list[StationProblem]:
    """Run the probes in threads, so the check takes as long as the slowest; a probe still
    running after ``timeout_s`` (a name service that does not answer) counts as its problem."""
    results: list[list[StationProblem] | None] = [None] * len(probes)

    def run(i: int) -> None:
        results[i] = probes[i][0]()

    threads = [threading.Thread(target=run, args=(i,), daemon=True, name="station-check") for i in range(len(probes))]
    deadline = time.monotonic() + timeout_s + 0.5
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [p for (_probe, late), found in zip(probes, results) for p in (found if found is not None else [late])]


# ---------------------------------------------------------------- font

def _font_problems(candidates: Iterable[str | Path], use_fontconfig: bool) -> list[StationProblem]:
    try:
        find_cjk_font(candidates, use_fontconfig=use_fontconfig)
    except LabelError:
        return [_problem("font_missing", package=DEBIAN_PACKAGE)]
    return []


# ---------------------------------------------------------------- printer

def _printer_name() -> str:
    from rma.intake.labelling import printer_settings

    settings = printer_settings()
    if settings.get("kind") == "tcp":
        return f"{settings.get('host')}:{settings.get('port', 9100)}"
    return str(settings.get("path") or settings.get("queue") or settings.get("kind"))


def _printer_problems(timeout_s: float) -> list[StationProblem]:
    from rma.intake.labelling import printer_settings

    try:
        printer = printer_from_settings(printer_settings())
    except PrinterError as exc:
        return [_problem("printer_settings", reason=exc.message)]
    if isinstance(printer, RawTcpPrinter):
        return _tcp_printer_problems(printer, min(timeout_s, printer.timeout))
    if isinstance(printer, FolderPrinter):
        reason = _unwritable(printer.path)
        return [_problem("printer_folder", path=str(printer.path), reason=reason)] if reason else []
    if isinstance(printer, CupsPrinter) and shutil.which(printer.lp) is None:
        return [_problem("printer_command_missing", command=printer.lp)]
    return []


def _tcp_printer_problems(printer: RawTcpPrinter, timeout_s: float) -> list[StationProblem]:
    """Connect and hang up: a raw port takes an empty job without printing anything."""
    try:
        with socket.create_connection((printer.host, printer.port), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        return [_problem("printer_refused", printer=printer.where, port=printer.port)]
    except TimeoutError:
        return [_problem("printer_no_answer", printer=printer.where, seconds=f"{timeout_s:g}")]
    except OSError as exc:
        return [_problem("printer_unreachable", printer=printer.where, reason=exc.strerror or str(exc))]
    return []


def _unwritable(folder: Path) -> str | None:
    """Why labels cannot be written into ``folder`` (created on the first label), or None."""
    if folder.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".rma-check-"):
                return None
        except OSError as exc:
            return exc.strerror or str(exc)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing}: {os.strerror(errno.ENOTDIR)}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing}: {os.strerror(errno.EACCES)}"
    return None


# ---------------------------------------------------------------- serial ports

def _port_problems(url: str, device: str) -> list[StationProblem]:
    """A device path must exist and be openable; a network URL's host must resolve; loop:// is fine."""
    if not url:
        return [_problem("scanner_url_missing")]
    scheme, _, rest = url.partition("://") if "://" in url else ("", "", url)
    scheme = scheme.lower()
    if scheme in {"socket", "rfc2217"}:
        return _network_port_problems(url, rest, device)
    if scheme == "spy":  # spy:///dev/ttyUSB0?file=… wraps a device
        rest = urllib.parse.urlsplit(url).path
        scheme = ""
    if scheme == "loop":
        return []
    if scheme:
        return [_problem(f"{device}_port_form", port=url)]
    path = Path(rest)
    if not path.exists():
        return [_problem(f"{device}_port_missing", port=url)]
    if not os.access(path, os.R_OK | os.W_OK):
        return [_problem(f"{device}_port_denied", port=url, group=_SERIAL_GROUP)]
    return []


def _network_port_problems(url: str, rest: str, device: str) -> list[StationProblem]:
    where = urllib.parse.urlsplit(f"//{rest}")
    try:
        host, port = where.hostname, where.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        return [_problem(f"{device}_port_form", port=url)]
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return [_problem(f"{device}_port_bad", port=url, reason=f"host {host}: {exc.strerror or exc}")]
    return []
