"""The functional-test fixture: a bed of nails and a few instruments around the unit under test
(DUT), driven over a serial line by a line-based ASCII protocol in the style of SCPI.

The protocol
============

Line settings: 115200 8N1 by default (the fixture's USB-serial adapter, an RS-232 port, or a
serial device server for ``socket://``).

- The host sends one **command line** at a time, terminated by LF (``\\n``); printable ASCII,
  no ``;``, at most 256 bytes before the LF. Header and parameters are separated by a space,
  case does not matter: ``MEAS:VOLT? V12``.
- The fixture answers **every** command with exactly **one reply line**, terminated by CR LF::

      <echo>;<payload>\\r\\n

  ``<echo>`` is the command as the fixture received it, whitespace collapsed to single spaces
  and upper-cased (``meas:volt?   v12`` is echoed ``MEAS:VOLT? V12``); ``<payload>`` is the
  answer: ``MEAS:VOLT? V12;12.031``, ``DUT:POWER ON;OK``, ``*IDN?;RMA,FX-100,FX100-0007,1.4.2``.
  A reply line is printable ASCII and at most 256 bytes before the CR LF.
- An error is a payload ``ERR <code> <text>`` with a SCPI error code:
  ``FOO:BAR?;ERR -113 Undefined header``. Codes used: -102 syntax error, -108 parameter not
  allowed, -109 missing parameter, -112 program mnemonic too long, -113 undefined header,
  -224 illegal parameter value, -241 hardware missing (the DUT family lacks the function,
  e.g. ``GPS:FIX?`` on an instrument cluster).
- Numbers are plain decimal text. The driver passes every payload on as text and never
  judges it: the test plan sees ``NaN``, ``inf``, ``12,03`` or ``abc`` exactly as sent.

The echo is what keeps host and fixture in step: a reply that arrives after its command
timed out carries the old command's echo, so the driver knows it is *stale*, records it and
keeps waiting for the reply to the command it just sent.

Commands (what a fixture for head units, navigation units, dash cams, clusters and ECUs has):

========================================  ===================================================
``*IDN?``                                 ``maker,model,serial,version`` of the fixture
``*RST``                                  ``OK``: DUT off, fixture in its power-on state
``*OPC?``                                 ``1`` when every earlier command has completed
``DUT:POWER ON|OFF``                      ``OK``: switch the DUT's 12 V supply
``DUT:SLEEP``                             ``OK``: send the DUT to sleep (ignition off)
``DUT:FW?``                               the DUT's firmware version, e.g. ``3.2.17``
``MEAS:CURR? BOOT|RUN|SLEEP``             supply current in mA (peak at boot, running, asleep)
``MEAS:VOLT? V12|V5|V3V3|V1V8``           a supply rail in V
``CAN:PING?`` / ``LIN:PING?``             ``OK`` or ``TIMEOUT``: the DUT answers on the bus
``DISP:PATTERN RED|GREEN|BLUE|WHITE|BLACK``  ``OK``: show a test pattern (the tester judges it)
``TOUCH:TEST?``                           ``PASS n=9`` / ``FAIL n=7``: touch points detected
``GPS:FIX?`` / ``GPS:SNR?`` / ``GPS:SATS?``  ``3D``, ``2D`` or ``NONE`` / best C/N0 in dB-Hz / satellites
``AUDIO:LEVEL? FL|FR|RL|RR``              level of the test tone on a speaker output in dBV
``CAM:FRAME?`` / ``CAM:FPS?``             ``OK 1920x1080`` or ``NONE`` / frames per second
``KEY:TEST?``                             ``PASS 6/6`` / ``FAIL 5/6``: keys seen pressed by the fixture's fingers
========================================  ===================================================

The driver
==========

:class:`SerialFixture` opens any pyserial URL (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``,
``socket://host:port``, ``loop://``, ``spy://...``). :meth:`~SerialFixture.query` sends one
command and returns a :class:`Reply` (payload as text, every raw byte received for the
ledger), or raises a :class:`FixtureError`:

- :class:`FixtureCommandError`: the fixture answered ``ERR <code> <text>``.
- :class:`FixtureTimeout`: no complete reply before the deadline (``.raw`` holds a half line,
  if any: "half a line then silence"); :class:`FixtureWrongReply`, a kind of timeout, when
  only replies to *other* (earlier) commands came: the fixture is lagging behind.
- :class:`FixtureGarbage`: a line with bytes outside printable ASCII, without the ``;`` after
  the echo, or longer than ``max_line``.
- :class:`FixturePortLost`: the port could not be opened or vanished (USB pulled, socket
  closed): reported at once, never a hang.

After a garbage line or a timeout the driver resynchronises before the next command: it
reads what is waiting (kept in the next reply's ``raw``) and empties the input buffer.
Every read is bounded by the query's deadline (to within :data:`POLL_INTERVAL`).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import serial

DEFAULT_BAUDRATE = 115200
DEFAULT_TIMEOUT = 2.0
MAX_LINE = 256  # bytes of a command or reply line, not counting its terminator
# Longest single wait inside a query: close() and the deadline are noticed within this.
POLL_INTERVAL = 0.02
# How much of what is waiting at a resynchronisation is kept for the ledger (the rest is dropped).
RESYNC_KEEP = 1024

_PRINTABLE = bytes(range(0x20, 0x7F))


# ---------------------------------------------------------------- errors


class FixtureError(Exception):
    """Something went wrong talking to the fixture: the unit was not judged.

    Shaped like ``rma.errors.DomainError`` (which drivers may not import): ``code`` is stable
    for programs, ``message`` is for people, ``template`` + ``params`` translate it. ``raw``
    is every byte received for the command so far (stale lines, garbage, a half line) and
    ``stale`` the complete lines that answered other commands; ``command`` the command sent.
    """

    code = "fixture_error"

    def __init__(self, template: str, /, *, raw: bytes = b"", command: str | None = None,
                 stale: list[bytes] | None = None, **params: object) -> None:
        self.template = template
        self.params = params
        self.raw = bytes(raw)
        self.stale = list(stale or [])
        self.command = command
        if command is not None or "{command}" in template:
            self.params.setdefault("command", repr(command) if command is not None else "a command")
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.template


class FixtureCommandError(FixtureError):
    """The fixture answered ``ERR <code> <text>``: ``scpi_code`` (e.g. -113) and ``text``."""

    code = "fixture_command_error"

    def __init__(self, scpi_code: int | None, text: str, raw: bytes = b"", *, command: str | None = None,
                 stale: list[bytes] | None = None) -> None:
        self.scpi_code = scpi_code
        self.text = text
        shown = "ERR" if scpi_code is None else f"ERR {scpi_code}"
        super().__init__("the fixture refused {command}: {error}", raw=raw, command=command, stale=stale,
                         error=f"{shown} {text}".rstrip())


class FixtureTimeout(FixtureError):
    """No complete reply to the command before its deadline."""

    code = "fixture_timeout"
    partial: bytes = b""  # the half line received before the silence, if any


class FixtureWrongReply(FixtureTimeout):
    """The deadline passed with replies to other (earlier) commands only: the fixture lags behind."""

    code = "fixture_wrong_reply"


class FixtureGarbage(FixtureError):
    """A line that cannot be a reply: non-printable bytes, no ``;`` after the echo, or too long."""

    code = "fixture_garbage"


class FixturePortLost(FixtureError):
    """The port cannot be opened or went away (device unplugged, socket closed, pty hung up)."""

    code = "fixture_port_lost"


# ---------------------------------------------------------------- the protocol, pure


@dataclass(frozen=True)
class Reply:
    """The fixture's answer to one command.

    ``command`` is the command as sent (normalised: the echo the reply carried); ``payload``
    the text after the ``;``; ``raw`` every byte received while waiting for it, terminators
    included (stale replies and anything read at resynchronisation come first);
    ``stale`` the lines (without terminator) that answered other commands.
    """

    command: str
    payload: str
    raw: bytes
    elapsed_s: float
    stale: list[bytes] = field(default_factory=list)

    @property
    def raw_text(self) -> str:
        """``raw`` as text for a ledger: ASCII, anything else escaped (``\\xff``)."""
        return self.raw.decode("ascii", "backslashreplace")


def normalize_command(command: str) -> str:
    """A command as the fixture echoes it: whitespace collapsed to single spaces, upper case."""
    return " ".join(command.split()).upper()


def encode_command(command: str, *, max_line: int = MAX_LINE) -> bytes:
    """The bytes to send for ``command``: normalised, LF-terminated. ValueError if it cannot be sent."""
    text = normalize_command(command)
    if not text:
        raise ValueError("a fixture command cannot be empty")
    data = text.encode("ascii", "replace")
    if data.translate(None, _PRINTABLE) or not text.isascii():
        raise ValueError(f"a fixture command must be printable ASCII: {command!r}")
    if b";" in data:
        raise ValueError(f"a fixture command cannot contain ';' (it separates echo and payload): {command!r}")
    if len(data) > max_line:
        raise ValueError(f"a fixture command is at most {max_line} bytes, not {len(data)}: {command[:40]!r}...")
    return data + b"\n"


def parse_reply_line(line: bytes, *, max_line: int = MAX_LINE) -> tuple[str, str]:
    """``(echo, payload)`` of one reply line (without its LF; a trailing CR is ignored).

    The echo comes back normalised (:func:`normalize_command`), the payload stripped of
    surrounding spaces and otherwise as sent. Raises :class:`FixtureGarbage` (``raw`` = the
    line) for a line over ``max_line`` bytes, with bytes outside printable ASCII, or without ``;``.
    """
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > max_line:
        raise FixtureGarbage("garbage from the fixture: a line longer than {max_line} bytes: {line}",
                             raw=line, max_line=max_line, line=_shown(line))
    if line.translate(None, _PRINTABLE):
        raise FixtureGarbage("garbage from the fixture: bytes outside printable ASCII: {line}",
                             raw=line, line=_shown(line))
    echo, separator, payload = line.partition(b";")
    if not separator:
        raise FixtureGarbage("garbage from the fixture: no ';' between echo and payload: {line}",
                             raw=line, line=_shown(line))
    return " ".join(echo.decode("ascii").split()).upper(), payload.decode("ascii").strip(" ")


def parse_error(payload: str) -> tuple[int | None, str] | None:
    """``(scpi_code, text)`` if ``payload`` is an ``ERR <code> <text>`` answer, else None.

    An ``ERR`` without a readable code gives ``(None, the rest)``: still an error, never a value.
    """
    if payload != "ERR" and not payload.startswith("ERR "):
        return None
    rest = payload[3:].strip()
    code, _, text = rest.partition(" ")
    try:
        return int(code), text.strip()
    except ValueError:
        return None, rest


def _shown(data: bytes | bytearray, limit: int = 80) -> str:
    data = bytes(data)
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


# ---------------------------------------------------------------- the driver


class Fixture(ABC):
    """A test fixture that answers commands. Implementations provide open, close and query."""

    @abstractmethod
    def open(self) -> Fixture:
        """Open the line (FixturePortLost if it cannot be); opening an open fixture does nothing."""

    @abstractmethod
    def close(self) -> None:
        """Release the line; safe from any thread and more than once."""

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    def query(self, command: str, *, timeout: float | None = None) -> Reply:
        """Send ``command``, return the fixture's reply to it, or raise a :class:`FixtureError`."""

    def identify(self) -> str:
        """The fixture's ``*IDN?``: maker, model, serial number, version."""
        return self.query("*IDN?").payload

    def __enter__(self) -> Fixture:
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()


class SerialFixture(Fixture):
    """A fixture on any pyserial URL: ``/dev/ttyUSB0``, ``socket://host:port``, ``loop://``, ``spy://``.

    One query at a time (a lock serialises callers). The port is opened exclusively (a second
    station on the same device gets FixturePortLost "busy"); :meth:`query` opens it if it is
    not open, so a fixture that was replugged is found again by the next command.
    """

    def __init__(self, url: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = DEFAULT_TIMEOUT,
                 max_line: int = MAX_LINE) -> None:
        if timeout <= 0:
            raise ValueError(f"the fixture timeout must be positive, not {timeout!r}")
        if max_line < 16:
            raise ValueError(f"max_line must be at least 16 bytes, not {max_line!r}")
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.max_line = max_line
        # A malformed URL fails here (ValueError), at start-up, not on the first test.
        self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=POLL_INTERVAL, write_timeout=timeout,
                                           exclusive=True, do_not_open=True)
        self._buffer = bytearray()  # bytes read but not yet consumed as lines
        self._needs_resync = False
        self._lock = threading.Lock()
        self._closing = threading.Event()

    @property
    def is_open(self) -> bool:
        return self._port.is_open

    def open(self) -> SerialFixture:
        with self._lock:
            self._open()
        return self

    def close(self) -> None:
        self._closing.set()
        # A query in progress notices within POLL_INTERVAL and lets go of the lock.
        acquired = self._lock.acquire(timeout=1.0)
        try:
            self._close_port()
        finally:
            if acquired:
                self._lock.release()

    def query(self, command: str, *, timeout: float | None = None) -> Reply:
        wire = encode_command(command, max_line=self.max_line)
        expected = wire[:-1].decode("ascii")
        wait = self.timeout if timeout is None else float(timeout)
        if wait <= 0:
            raise ValueError(f"a query timeout must be positive, not {timeout!r}")
        with self._lock:
            if not self._port.is_open:
                self._open()
            port = self._port
            raw = bytearray()
            stale: list[bytes] = []
            started = time.monotonic()
            deadline = started + wait
            try:
                if self._needs_resync:
                    self._resync(raw, stale)
                port.write(wire)
            except serial.SerialTimeoutException as error:
                self._needs_resync = True
                raise FixtureTimeout("could not send {command} to the fixture within {timeout:g} s: {reason}",
                                     raw=raw, command=expected, stale=stale, timeout=wait, reason=error) from None
            except (serial.SerialException, OSError) as error:
                raise self._lost(error, raw, expected, stale) from None

            buffer = self._buffer
            while True:
                end = buffer.find(b"\n")
                if end >= 0:
                    chunk = bytes(buffer[: end + 1])
                    del buffer[: end + 1]
                    raw += chunk
                    line = chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1]
                    if not line:
                        continue  # an empty line is framing, not a reply (it stays in raw)
                    try:
                        echo, payload = parse_reply_line(line, max_line=self.max_line)
                    except FixtureGarbage as garbage:
                        self._needs_resync = True
                        raise self._attach(garbage, raw, expected, stale) from None
                    if echo != expected:
                        stale.append(line)  # the answer to an earlier, timed-out command
                        continue
                    elapsed = time.monotonic() - started
                    if (error := parse_error(payload)) is not None:
                        raise FixtureCommandError(error[0], error[1], bytes(raw), command=expected, stale=stale)
                    return Reply(expected, payload, bytes(raw), elapsed, stale)
                if len(buffer) > self.max_line + 1:
                    line = bytes(buffer)
                    raw += line
                    buffer.clear()
                    self._needs_resync = True
                    raise FixtureGarbage("garbage from the fixture: a line longer than {max_line} bytes: {line}",
                                         raw=raw, command=expected, stale=stale, max_line=self.max_line,
                                         line=_shown(line))
                if time.monotonic() >= deadline:
                    raise self._timed_out(raw, expected, stale, wait)
                if self._closing.is_set():
                    raise self._lost("the fixture was closed while waiting for a reply", raw, expected, stale)
                try:
                    data = port.read(port.in_waiting or 1)
                except (serial.SerialException, OSError) as error:
                    raise self._lost(error, raw, expected, stale) from None
                if data:
                    buffer += data

    # -------------------------------------------------------------- inside the lock

    def _open(self) -> None:
        if self._port.is_open:
            return
        self._closing.clear()
        try:
            self._port.open()
        except (serial.SerialException, OSError) as error:
            raise FixturePortLost("cannot open the fixture port {url}: {reason}", url=self.url,
                                  reason=error) from None
        self._buffer.clear()
        try:
            self._port.reset_input_buffer()  # whatever the fixture said before we came is not ours
        except (serial.SerialException, OSError) as error:
            raise self._lost(error, b"", None, []) from None
        self._needs_resync = False

    def _resync(self, raw: bytearray, stale: list[bytes]) -> None:
        """Drop what is waiting (after a timeout or garbage), keeping a bounded copy for the ledger."""
        port = self._port
        drained = bytearray(self._buffer)
        self._buffer.clear()
        while len(drained) < RESYNC_KEEP and (waiting := port.in_waiting):
            drained += port.read(min(waiting, RESYNC_KEEP))
        port.reset_input_buffer()
        self._needs_resync = False
        if drained:
            raw += drained
            stale.extend(piece.rstrip(b"\r") for piece in bytes(drained).split(b"\n") if piece.strip(b"\r"))

    def _timed_out(self, raw: bytearray, command: str, stale: list[bytes], wait: float) -> FixtureTimeout:
        partial = bytes(self._buffer)
        raw += partial
        self._buffer.clear()
        self._needs_resync = True
        if partial.strip(b"\r"):
            error = FixtureTimeout("no complete reply to {command} within {timeout:g} s: "
                                   "half a line then silence: {partial}", command=command, timeout=wait,
                                   partial=_shown(partial))
        elif stale:
            error = FixtureWrongReply("no reply to {command} within {timeout:g} s; the fixture answered other "
                                      "commands instead (it is lagging behind): {others}", command=command,
                                      timeout=wait, others=", ".join(_shown(line) for line in stale[:3]))
        else:
            error = FixtureTimeout("no reply to {command} within {timeout:g} s", command=command, timeout=wait)
        error.partial = partial
        return self._attach(error, raw, command, stale)

    def _lost(self, error: object, raw: bytes | bytearray, command: str | None,
              stale: list[bytes]) -> FixturePortLost:
        raw = bytes(raw) + bytes(self._buffer)
        self._buffer.clear()
        self._close_port()
        return FixturePortLost("the fixture port {url} is gone: {reason}", raw=raw, command=command, stale=stale,
                               url=self.url, reason=error)

    @staticmethod
    def _attach(error: FixtureError, raw: bytes | bytearray, command: str, stale: list[bytes]) -> FixtureError:
        error.raw, error.command, error.stale = bytes(raw), command, list(stale)
        error.params["command"] = repr(command)
        error.args = (error.message,)
        return error

    def _close_port(self) -> None:
        self._buffer.clear()
        self._needs_resync = False
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass  # the device may already be gone; a closed port is all we need
