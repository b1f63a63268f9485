"""A simulated test fixture that speaks exactly the bytes of :mod:`drivers.fixture`, for tests and demos.

:class:`SimulatedFixture` is the fixture's logic without I/O: a command line in, the bytes to
send back (and when) out. It plays a *good* unit of one product family (a profile) with
small deterministic noise on every reading, or a faulty one (faults chosen by name).
:class:`FixtureSimulator` serves it on a pseudo-terminal in raw mode, reached through a stable
symlink like ``/dev/serial/by-id/...``; :class:`TcpFixtureSimulator` on ``127.0.0.1:PORT``
for ``socket://``, like a serial device server. Both answer from a background thread, pace
replies at the serial line rate like a real UART, and can hang up (``disconnect_after=N``).

    python -m drivers.fixture_sim --profile head_unit --firmware 3.2.17 [--fault NAME[=VALUE]]... [--tcp] [--no-pace] [--serve]

prints ``Fixture simulator ready: <URL>`` and serves until end of input (Ctrl-D) or, with
``--serve``, until SIGTERM or SIGINT; either signal always stops it and removes its pty link.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import random
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from drivers.fixture import DEFAULT_BAUDRATE, MAX_LINE, normalize_command
from drivers.pty_link import PtyLink, Stopped, stop_on_signals, wait_for_stop

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0  # nothing in a simulator waits forever either
HANG_UP_DRAIN = 1.0  # how long a hanging-up pty waits for the station to read the last reply
IDN = "RMA,FX-100,FX100-0007,1.4.2"

# ---------------------------------------------------------------- profiles

# A good unit of each product family. Numbers get small deterministic noise; strings are sent
# as they are. A function the family lacks is None (or a channel/rail left out): the fixture
# answers ``ERR -241 Hardware missing``.
_BASE: dict = {
    "idn": IDN,
    "current_ma": {"BOOT": 850.0, "RUN": 1200.0, "SLEEP": 2.5},
    "rails_v": {"V12": 12.0, "V5": 5.02, "V3V3": 3.30, "V1V8": 1.80},
    "can": "OK",
    "lin": None,
    "display": True,
    "touch_points": 9,
    "gps": {"fix": "3D", "snr": 40.0, "sats": 9},
    "audio_dbv": {"FL": -6.0, "FR": -6.0, "RL": -6.0, "RR": -6.0},
    "camera": {"resolution": "1920x1080", "fps": 30.0},
    "keys": 6,
}
PROFILE_KEYS = frozenset(_BASE) | {"base"}

PROFILES: dict[str, dict] = {
    "head_unit": copy.deepcopy(_BASE),
    "navigation": {
        **copy.deepcopy(_BASE),
        "current_ma": {"BOOT": 620.0, "RUN": 780.0, "SLEEP": 1.8},
        "touch_points": 5,
        "audio_dbv": {"FL": -6.0, "FR": -6.0},  # voice prompts on the front pair only
        "camera": None,
        "keys": 4,
    },
    "dash_cam": {
        **copy.deepcopy(_BASE),
        "current_ma": {"BOOT": 280.0, "RUN": 420.0, "SLEEP": 0.8},
        "can": None,
        "touch_points": None,
        "audio_dbv": None,
        "keys": 3,
    },
    "cluster": {
        **copy.deepcopy(_BASE),
        "current_ma": {"BOOT": 700.0, "RUN": 950.0, "SLEEP": 1.2},
        "lin": "OK",
        "touch_points": None,
        "gps": None,
        "audio_dbv": None,
        "camera": None,
        "keys": 2,
    },
    "ecu": {
        **copy.deepcopy(_BASE),
        "current_ma": {"BOOT": 160.0, "RUN": 210.0, "SLEEP": 0.9},
        "lin": "OK",
        "display": False,
        "touch_points": None,
        "gps": None,
        "audio_dbv": None,
        "camera": None,
        "keys": None,
    },
}

RAILS = ("V12", "V5", "V3V3", "V1V8")
CURRENTS = ("BOOT", "RUN", "SLEEP")
CHANNELS = ("FL", "FR", "RL", "RR")
PATTERNS = ("RED", "GREEN", "BLUE", "WHITE", "BLACK")

# Noise per reading: (spread, relative?, decimals).
_RAIL_NOISE = (0.003, True, 3)
_CURRENT_NOISE = (0.02, True, None)  # decimals by size: 852.4 mA, 2.48 mA
_SNR_NOISE = (1.0, False, 1)
_AUDIO_NOISE = (0.15, False, 2)
_FPS_NOISE = (0.05, False, 2)

# ---------------------------------------------------------------- faults

FAULTS: dict[str, str] = {
    "dead_rail": "V3V3 reads 0.00 V and the RUN current is about a quarter of normal",
    "low_rail": "V5 reads about 4.61 V",
    "no_gps_fix": "GPS:FIX? NONE, GPS:SNR? 0.0, GPS:SATS? 0",
    "wrong_firmware": "DUT:FW? answers an older version than --firmware (wrong_firmware=VERSION chooses it)",
    "dead_audio": "AUDIO:LEVEL? FL reads -80.0 dBV (no tone on the front-left output)",
    "slow_replies": "every reply comes 3 s late (slow_replies=SECONDS), later than a typical 2 s step timeout",
    "line_noise": "a line of random bytes before the 3rd, 6th, 9th... reply; the 5th reply has one corrupted byte",
    "nan_reply": "MEAS:VOLT? answers NaN",
    "half_line": "the 3rd reply (half_line=N: the Nth) is sent only half, then silence",
    "disconnect_after": "disconnect_after=N: after answering N commands the fixture hangs up (pty closed, TCP dropped)",
}
_FAULT_VALUES = {"wrong_firmware": str, "slow_replies": float, "half_line": int, "disconnect_after": int}
_FAULT_DEFAULTS = {"slow_replies": 3.0, "half_line": 3}
NOISE_EVERY = 3
CORRUPTED_REPLY = 5


def parse_faults(faults: Iterable[str] | str) -> dict[str, object]:
    """``["dead_rail", "disconnect_after=3"]`` -> ``{"dead_rail": None, "disconnect_after": 3}``.

    ValueError for an unknown name (listing the known ones) or a bad value.
    """
    if isinstance(faults, str):
        faults = [faults]
    parsed: dict[str, object] = {}
    for fault in faults:
        name, has_value, value = fault.strip().partition("=")
        name = name.strip().lower().replace("-", "_")
        if name not in FAULTS:
            raise ValueError(f"unknown fixture fault {fault!r}; known faults: {', '.join(FAULTS)}")
        kind = _FAULT_VALUES.get(name)
        if not has_value:
            if name == "disconnect_after":
                raise ValueError("disconnect_after needs a number of commands: disconnect_after=N")
            parsed[name] = _FAULT_DEFAULTS.get(name)
            continue
        if kind is None:
            raise ValueError(f"the fault {name} takes no value: {fault!r}")
        try:
            converted = kind(value.strip())
        except ValueError:
            raise ValueError(f"bad value for the fault {name}: {value!r}") from None
        if kind is str and not converted:
            raise ValueError(f"the fault {name} needs a value after '='")
        if kind in (int, float) and not converted > 0:
            raise ValueError(f"the fault {name} needs a positive value, not {value!r}")
        parsed[name] = converted
    return parsed


def older_version(version: str) -> str:
    """A version older than ``version``: the minor number stepped back (3.2.17 -> 3.1.17, 1.0.0 -> 0.9.0)."""
    parts = version.strip().split(".")
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"cannot make up a version older than {version!r}; give wrong_firmware=VERSION")
    numbers = [int(part) for part in parts]
    at = 1 if len(numbers) > 1 else 0
    for i in [*range(at, -1, -1), *range(at + 1, len(numbers))]:
        if numbers[i] > 0:
            numbers[i] -= 1
            for j in range(i + 1, at + 1):
                numbers[j] = 9  # borrow: 2.0.5 -> 1.9.5
            return ".".join(map(str, numbers))
    raise ValueError(f"no version is older than {version!r}; give wrong_firmware=VERSION")


def resolve_profile(profile: dict | str) -> dict:
    """A full profile: a built-in by name, or a dict laid over ``profile["base"]`` (default head_unit)."""
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown fixture profile {profile!r}; profiles: {', '.join(PROFILES)}")
        return copy.deepcopy(PROFILES[profile])
    unknown = set(profile) - PROFILE_KEYS
    if unknown:
        raise ValueError(f"unknown profile keys {sorted(unknown)}; known: {sorted(PROFILE_KEYS)}")
    resolved = resolve_profile(profile.get("base", "head_unit"))
    resolved.update(copy.deepcopy({k: v for k, v in profile.items() if k != "base"}))
    return resolved


# ---------------------------------------------------------------- the fixture's logic


@dataclass(frozen=True)
class Transmission:
    """What the fixture sends for one command: wait ``delay`` seconds, send ``data``, maybe hang up."""

    data: bytes
    delay: float
    hang_up: bool = False


class _Refusal(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"ERR {code} {text}")
        self.payload = f"ERR {code} {text}"


class SimulatedFixture:
    """The fixture without its line: :meth:`handle` takes a command line, gives what to send back.

    Deterministic for a given ``seed`` and sequence of commands. ``pace`` makes each
    transmission wait the time its command and reply take on the wire at ``baudrate``
    (10 bits a byte: ~87 us at 115200), as a real fixture behind a UART would.
    """

    def __init__(self, profile: dict | str = "head_unit", *, firmware: str = "1.0.0", faults: Iterable[str] = (),
                 baudrate: int = DEFAULT_BAUDRATE, pace: bool = True, seed: int = 0) -> None:
        if baudrate <= 0:
            raise ValueError(f"baudrate must be positive, not {baudrate!r}")
        self.profile = resolve_profile(profile)
        self.faults = parse_faults(faults)
        self.firmware = firmware
        self.baudrate = baudrate
        self.pace = pace
        self.commands = 0  # command lines received (empty lines do not count)
        self.hung_up = False
        self.power = "OFF"
        self.pattern: str | None = None
        self._rng = random.Random(seed)
        self._noise_rng = random.Random(seed + 1)
        self._reported_firmware = firmware
        self._apply_faults()
        self._handlers = {
            "*IDN?": lambda arg: self._no_arg(arg) or str(self.profile["idn"]),
            "*RST": self._reset,
            "*OPC?": lambda arg: self._no_arg(arg) or "1",
            "DUT:POWER": self._power,
            "DUT:POWER?": lambda arg: self._no_arg(arg) or self.power,
            "DUT:SLEEP": self._sleep,
            "DUT:FW?": lambda arg: self._no_arg(arg) or self._reported_firmware,
            "MEAS:CURR?": self._current,
            "MEAS:VOLT?": self._voltage,
            "CAN:PING?": lambda arg: self._no_arg(arg) or self._present(self.profile.get("can")),
            "LIN:PING?": lambda arg: self._no_arg(arg) or self._present(self.profile.get("lin")),
            "DISP:PATTERN": self._display,
            "TOUCH:TEST?": self._touch,
            "GPS:FIX?": lambda arg: self._no_arg(arg) or str(self._gps()["fix"]),
            "GPS:SNR?": lambda arg: self._no_arg(arg) or self._reading(self._gps()["snr"], _SNR_NOISE),
            "GPS:SATS?": lambda arg: self._no_arg(arg) or str(self._gps()["sats"]),
            "AUDIO:LEVEL?": self._audio,
            "CAM:FRAME?": lambda arg: self._no_arg(arg) or f"OK {self._camera()['resolution']}",
            "CAM:FPS?": lambda arg: self._no_arg(arg) or self._reading(self._camera()["fps"], _FPS_NOISE),
            "KEY:TEST?": self._keys,
        }

    # -------------------------------------------------------------- one command

    def handle(self, line: bytes) -> Transmission | None:
        """What to send for one received command line (without its LF); None: nothing at all."""
        if self.hung_up:
            return None
        line = line.rstrip(b"\r")
        if not line.strip():
            return None  # an empty line is not a command
        self.commands += 1
        number = self.commands
        text = line.decode("latin-1")
        echo = normalize_command(text)
        if len(line) > MAX_LINE:
            echo, payload = echo[:32], "ERR -112 Program mnemonic too long"
        elif not echo.isascii() or not echo.isprintable() or ";" in echo:
            echo = "".join(c if " " <= c <= "~" and c != ";" else "?" for c in echo)
            payload = "ERR -102 Syntax error"
        else:
            payload = self.answer(echo)
        reply = f"{echo};{payload}".encode("ascii", "replace")[:MAX_LINE] + b"\r\n"

        if "line_noise" in self.faults:
            if number == CORRUPTED_REPLY:
                at = min(len(echo) + 1 + len(payload) // 2, len(reply) - 3)
                reply = reply[:at] + bytes([reply[at] ^ 0x80]) + reply[at + 1 :]  # bit 7 flipped on the wire
            if number % NOISE_EVERY == 0:
                reply = self._garbage_line() + reply
        if self.faults.get("half_line") == number:
            reply = reply[: max(1, (len(reply) - 2) // 2)]
        delay = float(self.faults.get("slow_replies") or 0.0)
        if self.pace:
            delay += (len(line) + 1 + len(reply)) * 10 / self.baudrate
        hang_up = self.faults.get("disconnect_after") is not None and number >= self.faults["disconnect_after"]
        self.hung_up = hang_up
        return Transmission(reply, delay, hang_up)

    def answer(self, command: str) -> str:
        """The payload for one normalised command, e.g. ``MEAS:VOLT? V12`` -> ``12.031``."""
        header, _, arg = command.partition(" ")
        handler = self._handlers.get(header)
        if handler is None:
            return "ERR -113 Undefined header"
        try:
            return handler(arg)
        except _Refusal as refusal:
            return refusal.payload

    # -------------------------------------------------------------- commands

    def _reset(self, arg: str) -> str:
        self._no_arg(arg)
        self.power, self.pattern = "OFF", None
        return "OK"

    def _power(self, arg: str) -> str:
        self.power = self._choice(arg, ("ON", "OFF"))
        return "OK"

    def _sleep(self, arg: str) -> str:
        self._no_arg(arg)
        self.power = "SLEEP"
        return "OK"

    def _current(self, arg: str) -> str:
        mode = self._choice(arg, CURRENTS)
        value = self._present((self.profile.get("current_ma") or {}).get(mode))
        spread, relative, _ = _CURRENT_NOISE
        decimals = 1 if isinstance(value, (int, float)) and value >= 10 else 2
        return self._reading(value, (spread, relative, decimals))

    def _voltage(self, arg: str) -> str:
        rail = self._choice(arg, RAILS)
        return self._reading(self._present((self.profile.get("rails_v") or {}).get(rail)), _RAIL_NOISE)

    def _display(self, arg: str) -> str:
        self._present(self.profile.get("display") or None)
        self.pattern = self._choice(arg, PATTERNS)
        return "OK"

    def _touch(self, arg: str) -> str:
        self._no_arg(arg)
        points = self._present(self.profile.get("touch_points"))
        return points if isinstance(points, str) else f"PASS n={points}"

    def _gps(self) -> dict:
        return self._present(self.profile.get("gps"))

    def _audio(self, arg: str) -> str:
        channel = self._choice(arg, CHANNELS)
        return self._reading(self._present((self.profile.get("audio_dbv") or {}).get(channel)), _AUDIO_NOISE)

    def _camera(self) -> dict:
        return self._present(self.profile.get("camera"))

    def _keys(self, arg: str) -> str:
        self._no_arg(arg)
        keys = self._present(self.profile.get("keys"))
        return keys if isinstance(keys, str) else f"PASS {keys}/{keys}"

    # -------------------------------------------------------------- helpers

    @staticmethod
    def _no_arg(arg: str) -> None:
        if arg:
            raise _Refusal(-108, "Parameter not allowed")

    @staticmethod
    def _choice(arg: str, options: tuple[str, ...]) -> str:
        if not arg:
            raise _Refusal(-109, "Missing parameter")
        if arg not in options:
            raise _Refusal(-224, "Illegal parameter value")
        return arg

    @staticmethod
    def _present(value):
        if value is None or value is False:
            raise _Refusal(-241, "Hardware missing")
        return value

    def _reading(self, value: object, noise: tuple[float, bool, int | None]) -> str:
        if isinstance(value, str):
            return value  # a fault or a profile wants exactly this text
        spread, relative, decimals = noise
        wobble = self._rng.uniform(-spread, spread)
        number = float(value) * (1 + wobble) if relative else float(value) + wobble
        return f"{number:.{decimals if decimals is not None else 2}f}"

    def _garbage_line(self) -> bytes:
        rng = self._noise_rng
        noise = bytearray(rng.choice([b for b in range(256) if b not in (0x0A, 0x0D)]) for _ in range(rng.randint(6, 20)))
        noise[rng.randrange(len(noise))] = rng.randrange(0x80, 0x100)  # always something no reply has
        return bytes(noise) + b"\r\n"

    def _apply_faults(self) -> None:
        profile, faults = self.profile, self.faults
        rails = profile.get("rails_v") or {}
        currents = profile.get("current_ma") or {}
        if "dead_rail" in faults:
            if "V3V3" in rails:
                rails["V3V3"] = "0.00"
            if isinstance(currents.get("RUN"), (int, float)):
                currents["RUN"] = round(currents["RUN"] * 0.26, 1)
        if "low_rail" in faults and "V5" in rails:
            rails["V5"] = 4.61
        if "nan_reply" in faults:
            for rail in rails:
                rails[rail] = "NaN"
        if "no_gps_fix" in faults and profile.get("gps"):
            profile["gps"] = {"fix": "NONE", "snr": "0.0", "sats": "0"}
        if "dead_audio" in faults and (profile.get("audio_dbv") or {}).get("FL") is not None:
            profile["audio_dbv"]["FL"] = "-80.0"
        if "wrong_firmware" in faults:
            self._reported_firmware = str(faults["wrong_firmware"] or older_version(self.firmware))


# ---------------------------------------------------------------- serving it on a line


class _LineSimulator:
    """A :class:`SimulatedFixture` answering on a line from a background thread."""

    url: str

    def __init__(self, profile: dict | str = "head_unit", *, firmware: str = "1.0.0", faults: Iterable[str] = (),
                 baudrate: int = DEFAULT_BAUDRATE, pace: bool = True, seed: int = 0) -> None:
        self.fixture = SimulatedFixture(profile, firmware=firmware, faults=faults, baudrate=baudrate, pace=pace,
                                        seed=seed)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def commands(self) -> int:
        return self.fixture.commands

    @property
    def hung_up(self) -> bool:
        return self.fixture.hung_up

    def _start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._serve()
        except Exception:
            log.exception("the fixture simulator on %s stopped", self.url)
        finally:
            self._release()

    def _feed(self, buffer: bytearray, data: bytes) -> bool:
        """Answer every complete command in ``buffer + data``; False once the fixture hung up."""
        buffer += data
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) <= 4 * MAX_LINE:
                    return True
                line = bytes(buffer)  # a runaway line: answered once, as too long
                buffer.clear()
            else:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
            sent = self.fixture.handle(line)
            if sent is None:
                continue
            # One wait per reply (processing time + line time), not one per byte.
            if sent.delay > 0 and self._stop.wait(sent.delay):
                return False
            log.debug("%s <- %r -> %r", self.url, line, sent.data)
            self._transmit(sent.data)
            if sent.hang_up:
                log.info("fixture simulator %s hangs up after %d commands", self.url, self.fixture.commands)
                self._hang_up()
                return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(SEND_TIMEOUT + 1)
        self._release()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _serve(self) -> None:
        raise NotImplementedError

    def _transmit(self, data: bytes) -> None:
        raise NotImplementedError

    def _hang_up(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


class FixtureSimulator(_LineSimulator):
    """A fixture on a USB serial adapter: a pty in raw mode; ``url`` is a stable symlink to its slave.

    ``FixtureSimulator("cluster", firmware="4.3.0", faults=["low_rail"])``. On a hang-up
    (``disconnect_after``) the pty is closed and the link removed, as when a USB cable is pulled.
    The pty and its link are a :class:`drivers.pty_link.PtyLink`.
    """

    def __init__(self, profile: dict | str = "head_unit", *, firmware: str = "1.0.0", faults: Iterable[str] = (),
                 baudrate: int = DEFAULT_BAUDRATE, pace: bool = True, seed: int = 0,
                 directory: str | os.PathLike | None = None,
                 name: str = "usb-RMA_FX-100_FX100-0007-if00-port0") -> None:
        super().__init__(profile, firmware=firmware, faults=faults, baudrate=baudrate, pace=pace, seed=seed)
        self.pty = PtyLink(name, directory, prefix="rma-fixture-")
        self.directory, self.link, self.url = self.pty.directory, self.pty.link, self.pty.url
        self.device = self.pty.device
        self._start(f"fixture-sim-{Path(self.device).name}")

    @property
    def plugged(self) -> bool:
        return self.pty.plugged

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set() and self.pty.plugged:
            ready, _, _ = select.select([self.pty.fileno(), self._wake_r], [], [])
            if self._wake_r in ready:
                return
            data = self.pty.read()
            if not data:
                self._stop.wait(0.01)  # nothing after all (or EIO): do not spin
                continue
            if not self._feed(buffer, data):
                return

    def _transmit(self, data: bytes) -> None:
        try:
            self.pty.send(data, timeout=SEND_TIMEOUT, cancel=self._stop)
        except TimeoutError as error:
            log.warning("%s; dropped", error)

    def _hang_up(self) -> None:
        # Let the station read the last reply first, as a UART's FIFO empties before the cable goes.
        self._stop.wait(0.05)
        deadline = time.monotonic() + HANG_UP_DRAIN
        while self.pty.unread() and time.monotonic() < deadline and not self._stop.wait(0.005):
            pass
        self._release()

    def _release(self) -> None:
        self.pty.unplug()

    def close(self) -> None:
        super().close()
        self.pty.close()


class TcpFixtureSimulator(_LineSimulator):
    """A fixture behind a serial device server: ``socket://127.0.0.1:PORT``, one station at a time.

    A new connection replaces the old one (the device server serves the newest client). On a
    hang-up (``disconnect_after``) the connection is dropped and the port stops listening.
    """

    def __init__(self, profile: dict | str = "head_unit", *, firmware: str = "1.0.0", faults: Iterable[str] = (),
                 baudrate: int = DEFAULT_BAUDRATE, pace: bool = True, seed: int = 0, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        super().__init__(profile, firmware=firmware, faults=faults, baudrate=baudrate, pace=pace, seed=seed)
        self.host = host
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1)
        self.port = listener.getsockname()[1]
        self.url = f"socket://{host}:{self.port}"
        self._listener: socket.socket | None = listener
        self._client: socket.socket | None = None
        self._release_lock = threading.Lock()
        self._start(f"fixture-sim-{self.port}")

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set() and self._listener is not None:
            watched = [self._listener, self._wake_r] + ([self._client] if self._client is not None else [])
            ready, _, _ = select.select(watched, [], [])
            if self._wake_r in ready:
                return
            if self._listener in ready:
                client, _ = self._listener.accept()
                client.settimeout(SEND_TIMEOUT)
                self._drop()
                self._client = client
                buffer.clear()
                continue
            try:
                data = self._client.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._drop()  # the station closed its end
                buffer.clear()
                continue
            if not self._feed(buffer, data):
                return

    def _transmit(self, data: bytes) -> None:
        if self._client is None:
            return  # nobody connected: the bytes go nowhere, as on a real line
        try:
            self._client.sendall(data)
        except OSError as error:
            log.info("fixture simulator %s: the station went away (%s)", self.url, error)
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    def _hang_up(self) -> None:
        self._release()

    def _release(self) -> None:
        with self._release_lock:
            self._drop()
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.fixture_sim",
        description="Simulate a functional-test fixture with a unit of one product family on it.",
        epilog="faults: " + "; ".join(f"{name}: {text}" for name, text in FAULTS.items()))
    parser.add_argument("--profile", default="head_unit", choices=sorted(PROFILES), help="the unit's product family")
    parser.add_argument("--firmware", default="1.0.0", help="the firmware version DUT:FW? answers (default 1.0.0)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[=VALUE]",
                        help="simulate a fault; repeatable: " + ", ".join(FAULTS))
    parser.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 for socket:// instead of a pty")
    parser.add_argument("--port", type=int, default=0, help="TCP port with --tcp (default: any free port)")
    parser.add_argument("--baudrate", type=int, default=DEFAULT_BAUDRATE, help="line rate for pacing (115200)")
    parser.add_argument("--no-pace", action="store_true", help="reply at once instead of at the line rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    parser.add_argument("--serve", action="store_true",
                        help="run until SIGTERM or SIGINT, not until end of input (for starting it in the background)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command and reply on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(message)s")
    options = dict(firmware=args.firmware, faults=args.fault, baudrate=args.baudrate, pace=not args.no_pace,
                   seed=args.seed)
    try:
        with stop_on_signals():
            try:
                sim = (TcpFixtureSimulator(args.profile, port=args.port, **options) if args.tcp
                       else FixtureSimulator(args.profile, **options))
            except ValueError as error:
                parser.error(str(error))
            with sim:
                print(f"Fixture simulator ready: {sim.url}", flush=True)
                faults = ", ".join(args.fault) or "none"
                stop = "SIGTERM or Ctrl-C to stop" if args.serve else "Ctrl-C or Ctrl-D to stop"
                print(f"profile {args.profile}, firmware {args.firmware}, faults: {faults}. {stop}.",
                      file=sys.stderr, flush=True)
                wait_for_stop(serve=args.serve)
    except Stopped as signal_name:
        log.info("fixture simulator stopped by %s", signal_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
