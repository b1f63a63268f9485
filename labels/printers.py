"""Where labels go: a folder, a Zebra on a raw TCP port, or a CUPS queue.

Every transport takes bytes already encoded for the printer (ZPL, PDF or PNG) and
either returns a receipt (where they went) or raises ``PrinterError`` saying which
printer and why. It never waits forever: connecting, the status request, sending,
and ``lp`` all have a timeout. The caller keeps a label queued until it is taken.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping, Sequence

from PIL import Image

from labels.errors import LabelError, PrinterError
from labels.render import to_pdf, to_png, to_zpl

Format = Literal["zpl", "png", "pdf"]

DEFAULT_DPI = 203
DEFAULT_TCP_TIMEOUT_S = 5.0
DEFAULT_LP_TIMEOUT_S = 30.0
ZEBRA_HOST_STATUS = b"~HS"


def encode_labels(images: Sequence[Image.Image], fmt: Format, *, copies: int = 1) -> list[tuple[bytes, str]]:
    """The labels as printer payloads with their file extension.

    ZPL: one payload of concatenated formats (``^PQ`` for copies); PDF: one payload,
    a page per label; PNG: one payload per label (and per copy).
    """
    if fmt == "zpl":
        return [(b"".join(to_zpl(image, copies=copies) for image in images), "zpl")]
    if fmt == "pdf":
        return [(to_pdf([image for image in images for _ in range(copies)]), "pdf")]
    if fmt == "png":
        return [(to_png(image), "png") for image in images for _ in range(copies)]
    raise LabelError(f"unknown label format {fmt!r} (zpl, pdf or png)", code="bad_image")


class Printer(ABC):
    """A label printer: ``print_labels`` encodes the images in ``format`` and sends them."""

    formats: ClassVar[tuple[Format, ...]]

    def __init__(self, *, format: Format, dpi: int = DEFAULT_DPI) -> None:
        if format not in self.formats:
            raise PrinterError(
                f"{type(self).__name__} prints {', '.join(self.formats)}, not {format!r}",
                code="bad_settings", printer=self.where,
            )
        if not isinstance(dpi, int) or isinstance(dpi, bool) or dpi <= 0:
            raise PrinterError(f"dpi must be a whole number like 203 or 300, not {dpi!r}",
                               code="bad_settings", printer=self.where)
        self.format: Format = format
        self.dpi = dpi

    @property
    @abstractmethod
    def where(self) -> str:
        """The printer, for messages: ``10.0.0.5:9100``, a folder, ``CUPS queue zebra1``."""

    def print_labels(self, images: Sequence[Image.Image], *, job_name: str = "label", copies: int = 1) -> list[str]:
        """Print ``images`` (rendered at this printer's dpi); one receipt per payload sent.

        Raises ``PrinterError`` when the printer did not take them, ``LabelError`` when an
        image was rendered for another resolution.
        """
        for image in images:
            found = image.info.get("dpi")
            if found and round(found[0]) != self.dpi:
                raise LabelError(
                    f"label rendered at {round(found[0])} dpi, but {self.where} prints at {self.dpi} dpi",
                    code="bad_image",
                )
        if not images:
            return []
        return [self.send(payload, job_name=job_name, extension=ext)
                for payload, ext in encode_labels(images, self.format, copies=copies)]

    @abstractmethod
    def send(self, payload: bytes, *, job_name: str = "label", extension: str = "") -> str:
        """Hand encoded bytes to the printer; return a receipt; ``PrinterError`` if not taken."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where} {self.format} {self.dpi} dpi>"


class FolderPrinter(Printer):
    """Writes each payload as a file into a folder: a hot folder, a PDF archive, or a test.

    Files are written under a temporary name and renamed, so a program watching the
    folder never picks up half a label.
    """

    formats = ("png", "pdf", "zpl")

    def __init__(self, path: str | Path, *, format: Format = "png", dpi: int = DEFAULT_DPI) -> None:
        self.path = Path(path)
        super().__init__(format=format, dpi=dpi)

    @property
    def where(self) -> str:
        return f"folder {self.path}"

    def send(self, payload: bytes, *, job_name: str = "label", extension: str = "") -> str:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", job_name).strip("._") or "label"
        name = f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.{extension or self.format}"
        target = self.path / name
        part = self.path / f".{name}.part"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            part.write_bytes(payload)
            os.replace(part, target)
        except OSError as exc:
            try:
                part.unlink(missing_ok=True)
            except OSError:
                pass
            raise PrinterError(
                f"cannot write the label into {self.path}: {exc.strerror or exc}",
                code="printer_failed", printer=self.where,
            ) from exc
        return str(target)


class RawTcpPrinter(Printer):
    """A network label printer's raw port (9100, "JetDirect"): the bytes go straight in.

    With ``status_check`` (the default for ZPL) the printer is first asked ``~HS`` and
    must answer within ``timeout``: a Zebra that is out of paper or ribbon, has its head
    open or is paused is refused before the label is sent, and one that accepts the
    connection but never reads is a timeout, not a hang.
    """

    formats = ("zpl", "pdf")

    def __init__(
        self, host: str, port: int = 9100, timeout: float = DEFAULT_TCP_TIMEOUT_S, *,
        format: Format = "zpl", dpi: int = DEFAULT_DPI, status_check: bool | None = None,
    ) -> None:
        self.host = host
        self.port = port
        super().__init__(format=format, dpi=dpi)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise PrinterError(f"port must be 1–65535, not {port!r}", code="bad_settings", printer=self.where)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise PrinterError(f"timeout must be a number of seconds > 0, not {timeout!r}",
                               code="bad_settings", printer=self.where)
        self.timeout = float(timeout)
        self.status_check = (format == "zpl") if status_check is None else status_check
        if self.status_check and format != "zpl":
            raise PrinterError("status_check asks the printer ~HS, which only a ZPL printer answers",
                               code="bad_settings", printer=self.where)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, payload: bytes, *, job_name: str = "label", extension: str = "") -> str:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except ConnectionRefusedError as exc:
            raise self._error(f"refused the connection (is it switched on, and is {self.port} its raw port?)",
                              "printer_unreachable") from exc
        except TimeoutError as exc:
            raise self._error(f"did not answer within {self.timeout:g} s (switched off, or not on the network?)",
                              "printer_timeout") from exc
        except OSError as exc:
            raise self._error(f"cannot be reached: {exc.strerror or exc}", "printer_unreachable") from exc
        with sock:
            if self.status_check:
                self._check_status(sock)
            try:
                sock.sendall(payload)
            except TimeoutError as exc:
                raise self._error(
                    f"stopped taking data: the label was not sent completely within {self.timeout:g} s",
                    "printer_timeout",
                ) from exc
            except OSError as exc:
                raise self._error(f"dropped the connection while the label was sent: {exc.strerror or exc}",
                                  "printer_failed") from exc
            try:
                sock.shutdown(socket.SHUT_WR)  # a clean end of job: FIN after the last byte
            except OSError:
                pass
        return self.where

    def _check_status(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + self.timeout
        reply = b""
        try:
            sock.sendall(ZEBRA_HOST_STATUS)
            while reply.count(b"\x03") < 3:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(4096)
                if not chunk:
                    raise self._error("closed the connection without answering its status request (~HS)",
                                      "printer_failed")
                reply += chunk
        except TimeoutError as exc:
            raise self._error(
                f"accepted the connection but did not answer its status request (~HS) within "
                f"{self.timeout:g} s: out of paper or ribbon, head open, busy, or not a ZPL printer",
                "printer_timeout",
            ) from exc
        except OSError as exc:
            raise self._error(f"dropped the connection during the status request: {exc.strerror or exc}",
                              "printer_failed") from exc
        finally:
            sock.settimeout(self.timeout)
        problems = zebra_status_problems(reply)
        if problems:
            raise self._error(f"is not ready: {', '.join(problems)}", "printer_not_ready")

    def _error(self, reason: str, code: str) -> PrinterError:
        return PrinterError(f"label printer {self.where} {reason}", code=code, printer=self.where)


def zebra_status_problems(reply: bytes) -> list[str]:
    """What stops a Zebra from printing, read from its ``~HS`` reply (three STX…ETX strings).

    Raises ``PrinterError`` when the reply is not a host status at all.
    """
    strings = [s.decode("ascii", "replace").split(",") for s in re.findall(rb"\x02([^\x02\x03]*)\x03", reply)]
    if len(strings) < 2 or len(strings[0]) < 12 or len(strings[1]) < 5:
        raise PrinterError(f"unexpected answer to the status request (~HS): {reply[:80]!r}",
                           code="printer_failed")
    first, second = strings[0], strings[1]
    problems = []
    if first[1] == "1":
        problems.append("out of paper")
    if first[2] == "1":
        problems.append("paused")
    if second[2] == "1":
        problems.append("print head open")
    if second[3] == "1" and second[4] == "1":  # ribbon matters only in thermal-transfer mode
        problems.append("out of ribbon")
    if first[10] == "1":
        problems.append("under temperature")
    if first[11] == "1":
        problems.append("over temperature")
    return problems


class CupsPrinter(Printer):
    """A CUPS queue, through ``lp -d QUEUE`` (ZPL goes with ``-o raw``)."""

    formats = ("pdf", "png", "zpl")

    def __init__(
        self, queue: str, *, format: Format = "pdf", dpi: int = DEFAULT_DPI,
        timeout: float = DEFAULT_LP_TIMEOUT_S, lp: str = "lp", options: Sequence[str] = (),
    ) -> None:
        self.queue = queue
        super().__init__(format=format, dpi=dpi)
        if not queue or not isinstance(queue, str) or queue.startswith("-"):
            raise PrinterError(f"CUPS queue name {queue!r} is not valid", code="bad_settings", printer=self.where)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise PrinterError(f"timeout must be a number of seconds > 0, not {timeout!r}",
                               code="bad_settings", printer=self.where)
        self.timeout = float(timeout)
        self.lp = lp
        self.options = tuple(options)

    @property
    def where(self) -> str:
        return f"CUPS queue {self.queue}"

    def send(self, payload: bytes, *, job_name: str = "label", extension: str = "") -> str:
        command = [self.lp, "-d", self.queue, "-t", job_name]
        if self.format == "zpl":
            command += ["-o", "raw"]
        for option in self.options:
            command += ["-o", option]
        shown = f"lp -d {self.queue}"
        try:
            done = subprocess.run(command, input=payload, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise PrinterError(
                f"cannot print to {self.where}: the command {self.lp!r} was not found "
                "(Debian package cups-client)", code="printer_unreachable", printer=self.where,
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise PrinterError(f"{shown} did not finish within {self.timeout:g} s",
                               code="printer_timeout", printer=self.where) from exc
        except OSError as exc:
            raise PrinterError(f"{shown} could not be run: {exc.strerror or exc}",
                               code="printer_failed", printer=self.where) from exc
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
            raise PrinterError(f"{shown} failed: {reason}", code="printer_failed", printer=self.where)
        receipt = done.stdout.decode("utf-8", "replace").strip()
        return receipt.splitlines()[0] if receipt else shown


_COMMON = {"kind", "format", "dpi", "name"}
_SETTINGS: dict[str, set[str]] = {
    "tcp": _COMMON | {"host", "port", "timeout", "status_check"},
    "folder": _COMMON | {"path"},
    "cups": _COMMON | {"queue", "timeout", "lp", "options"},
}


def printer_from_settings(settings: Mapping[str, Any]) -> Printer:
    """The printer a station's settings describe, e.g.::

        {"kind": "tcp", "host": "10.0.0.5", "port": 9100, "dpi": 203, "format": "zpl", "timeout": 5}
        {"kind": "folder", "path": "/srv/labels", "format": "png"}
        {"kind": "cups", "queue": "zebra1", "format": "pdf", "timeout": 30}

    Unknown keys and missing ones are refused with ``PrinterError`` (``bad_settings``),
    so a typing mistake in a station's settings is caught when they are read.
    """
    kind = settings.get("kind")
    if kind not in _SETTINGS:
        raise PrinterError(f"printer kind must be one of {', '.join(_SETTINGS)}, not {kind!r}",
                           code="bad_settings")
    unknown = sorted(set(settings) - _SETTINGS[kind])
    if unknown:
        raise PrinterError(
            f"unknown {kind} printer setting {unknown[0]!r} (known: {', '.join(sorted(_SETTINGS[kind]))})",
            code="bad_settings",
        )
    common: dict[str, Any] = {k: settings[k] for k in ("format", "dpi") if k in settings}

    def required(key: str) -> Any:
        value = settings.get(key)
        if value in (None, ""):
            raise PrinterError(f"a {kind} printer needs its {key!r} setting", code="bad_settings")
        return value

    if kind == "tcp":
        extra = {k: settings[k] for k in ("port", "timeout", "status_check") if k in settings}
        return RawTcpPrinter(str(required("host")), **extra, **common)
    if kind == "folder":
        return FolderPrinter(required("path"), **common)
    extra = {k: settings[k] for k in ("timeout", "lp", "options") if k in settings}
    return CupsPrinter(str(required("queue")), **extra, **common)
