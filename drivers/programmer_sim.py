"""A simulated gang programmer that speaks exactly the bytes of :mod:`drivers.programmer`, for tests and demos.

:class:`SimulatedProgrammer` is the programmer without its line: bytes in (with the moment they
arrived), the frames to send back and the moment each is due. It has four sockets, each
holding a chip from :data:`CHIPS` (or nothing); chips start blank (0xFF) and keep their contents
for the life of the simulator, across connections. It is paced like a UART (10 bits a byte at
the baud rate, both directions at once), can add a round-trip latency (a USB-serial bridge's
latency timer), can take the chips' datasheet times (``chip_time``), and plays named faults.

:class:`ProgrammerSimulator` serves it on a pseudo-terminal reached through a stable symlink, like
``/dev/serial/by-id/...``; :class:`TcpProgrammerSimulator` on ``127.0.0.1:PORT`` for ``socket://``.

    python -m drivers.programmer_sim [--socket N=CHIP]... [--fault NAME[=VALUE][@SOCKET]]... \\
        [--tcp [--port N]] [--no-pace] [--latency-ms X] [--chip-time F]

prints ``Programmer simulator ready: <URL>`` and serves until Ctrl-C, SIGTERM or end of input.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import heapq
import itertools
import logging
import os
import select
import shutil
import signal
import socket as sockets_
import struct
import sys
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from drivers.programmer import (
    BLOCK,
    BUSY,
    BUSY_INTERVAL,
    DEFAULT_BAUDRATE,
    MAX_CHIP_ID,
    NAK,
    NO_ADDRESS,
    OK,
    REQUEST,
    BadFrame,
    ChipInfo,
    Command,
    Frame,
    FrameReader,
    Identity,
    Nak,
    Status,
    encode_busy,
    encode_chip_info,
    encode_frame,
    encode_identity,
    encode_nak,
    encode_status,
    parse_chip_id,
)

log = logging.getLogger(__name__)

MODEL, SERIAL, FIRMWARE = "RMA GP-400", "GP400-0012", "2.3.1"
SOCKET_COUNT = 4
SEND_TIMEOUT = 5.0  # nothing in a simulator waits forever either
HANGUP_POLL = 0.02  # while no station has the pty open, look again this often
KiB, MiB = 1024, 1024 * 1024

# ---------------------------------------------------------------- chips


@dataclass(frozen=True)
class ChipType:
    """A part the programmer knows, with its datasheet's typical times (used with ``chip_time``)."""

    name: str
    id: bytes
    size: int
    sector: int  # the smallest erasable unit
    kind: str  # "nor": programming only clears bits; "eeprom": bytes are overwritten
    sector_erase_s: float
    block_erase_s: float | None  # a 64 KiB block at once, if the part can
    chip_erase_s: float
    page: int
    page_program_s: float
    read_bytes_per_s: float

    def info(self, chip_id: bytes | None = None) -> ChipInfo:
        return ChipInfo(self.id if chip_id is None else chip_id, self.name, self.size, self.sector)

    def erase_seconds(self, start: int, length: int) -> float:
        if self.block_erase_s is None:
            return length // self.sector * self.sector_erase_s
        blocks = max(0, (start + length) // (64 * KiB) - -(-start // (64 * KiB)))
        rest = length - blocks * 64 * KiB
        return blocks * self.block_erase_s + rest // self.sector * self.sector_erase_s

    def write_seconds(self, length: int) -> float:
        return -(-length // self.page) * self.page_program_s

    def read_seconds(self, length: int) -> float:
        return length / self.read_bytes_per_s


CHIPS: dict[str, ChipType] = {
    # SPI NOR flash, Winbond W25Q16JV: JEDEC ID EF 40 15; 4 KiB sector 45 ms, 64 KiB block 150 ms,
    # 256-byte page 0.4 ms; read by the programmer at about 4 MB/s.
    "W25Q16": ChipType("W25Q16", bytes.fromhex("EF4015"), 2 * MiB, 4 * KiB, "nor", 0.045, 0.150, 5.0, 256,
                       0.0004, 4e6),
    "W25Q32": ChipType("W25Q32", bytes.fromhex("EF4016"), 4 * MiB, 4 * KiB, "nor", 0.045, 0.150, 10.0, 256,
                       0.0004, 4e6),
    # I2C EEPROM, 8 KiB, 32-byte pages of 5 ms, about 40 kB/s at 400 kHz. It has no ID register:
    # the programmer answers its library's ID for the part once a chip acknowledges its address.
    "24C64": ChipType("24C64", bytes.fromhex("002464"), 8 * KiB, 32, "eeprom", 0.005, None, 256 * 0.005, 32,
                      0.005, 40e3),
    # A small MCU's flash over SWD: STM32F103CB, device ID 0x410, 128 KiB in 1 KiB pages.
    "STM32F103CB": ChipType("STM32F103CB", bytes.fromhex("0410"), 128 * KiB, 1 * KiB, "nor", 0.020, None, 0.040,
                            1 * KiB, 0.027, 500e3),
}
DEFAULT_SOCKETS: dict[int, str | None] = {1: "W25Q16", 2: "W25Q16", 3: "W25Q16", 4: "W25Q16"}


def parse_sockets(specs: Iterable[str] | Mapping[int, str | None], *, count: int = SOCKET_COUNT) -> dict[int, str | None]:
    """``["1=W25Q16", "2=24C64", "4="]`` -> ``{1: "W25Q16", 2: "24C64", 4: None}`` (None: an empty socket)."""
    items = specs.items() if isinstance(specs, Mapping) else (_socket_spec(spec) for spec in specs)
    layout: dict[int, str | None] = {}
    names = {name.upper(): name for name in CHIPS}
    for number, chip in items:
        if not 1 <= int(number) <= count:
            raise ValueError(f"the programmer has sockets 1 to {count}, not {number!r}")
        if chip is None or chip.strip().lower() in ("", "empty", "none", "-"):
            layout[int(number)] = None
            continue
        if chip.strip().upper() not in names:
            raise ValueError(f"unknown chip {chip!r}; chips: {', '.join(CHIPS)}")
        layout[int(number)] = names[chip.strip().upper()]
    return layout


def _socket_spec(spec: str) -> tuple[int, str | None]:
    number, separator, chip = spec.partition("=")
    try:
        return int(number), (chip if separator else None)
    except ValueError:
        raise ValueError(f"a socket is given as N=CHIP (e.g. 2=24C64, or 4= for an empty one), not {spec!r}") from None


class Chip:
    """One chip in a socket: its part and its contents."""

    def __init__(self, part: ChipType) -> None:
        self.type = part
        self.data = bytearray(b"\xff") * part.size


# ---------------------------------------------------------------- faults

FAULTS: dict[str, str] = {
    "no_target": "no chip answers in the socket (missing or badly seated): chip commands are refused no_target",
    "wrong_chip_id": "the chip answers another ID (wrong_chip_id=HEX; default its own with the last byte + 1)",
    "nack_at_block": "nack_at_block=N: writing the 4 KiB block N (address N*4096) is refused write_failed",
    "write_protect": "the chip ignores erase and write without saying so: only the verify catches it",
    "verify_mismatch_at": "verify_mismatch_at=N: the byte at address N is programmed wrong (one bit flipped)",
    "timeout": "the programmer stops answering for good (timeout=N: after N replies; default at once)",
    "link_drop_at_byte": "link_drop_at_byte=K: the line closes after K bytes from the station (pty gone, TCP closed)",
    "corrupt_frame": "one reply goes out with a corrupted byte (corrupt_frame=N: the Nth reply; default the 3rd)",
    "power_loss_mid_block": "power fails half-way through writing block N (=N, default 2): half the block is "
                            "written, then the programmer is silent until the station reconnects",
    "bad_socket": "bad_socket=S: socket S failed the programmer's self-test: selecting it is refused socket_disabled",
}
SOCKET_FAULTS = frozenset({"no_target", "wrong_chip_id", "nack_at_block", "write_protect", "verify_mismatch_at",
                           "power_loss_mid_block"})
_NUMBERS = {"nack_at_block": 0, "verify_mismatch_at": 0, "timeout": 0, "link_drop_at_byte": 1, "corrupt_frame": 1,
            "power_loss_mid_block": 0, "bad_socket": 1}  # the smallest value allowed
_DEFAULTS = {"timeout": 0, "corrupt_frame": 3, "power_loss_mid_block": 2, "wrong_chip_id": None}
_FLAGS = frozenset({"no_target", "write_protect"})


def parse_faults(faults: Iterable[str] | str, *, sockets: int = SOCKET_COUNT
                 ) -> tuple[dict[str, object], dict[int | None, dict[str, object]]]:
    """``["timeout=5", "write_protect@2"]`` -> ``({"timeout": 5}, {2: {"write_protect": True}})``.

    The first dict holds the programmer's faults, the second the chips' faults by socket (key
    None: every socket). ValueError for an unknown name (listing the known ones) or a bad value.
    """
    if isinstance(faults, str):
        faults = [faults]
    programmer: dict[str, object] = {}
    chips: dict[int | None, dict[str, object]] = {}
    for fault in faults:
        text, at, where = fault.strip().partition("@")
        name, has_value, value = text.strip().partition("=")
        name = name.strip().lower().replace("-", "_")
        value = value.strip()
        if name not in FAULTS:
            raise ValueError(f"unknown programmer fault {fault!r}; known faults: {', '.join(FAULTS)}")
        socket: int | None = None
        if at:
            if name not in SOCKET_FAULTS:
                raise ValueError(f"the fault {name} is the programmer's, not a socket's: {fault!r}")
            try:
                socket = int(where)
            except ValueError:
                raise ValueError(f"a fault's socket is a number: {fault!r}") from None
            if not 1 <= socket <= sockets:
                raise ValueError(f"the programmer has sockets 1 to {sockets}, not {socket}: {fault!r}")
        if name in _FLAGS:
            if has_value:
                raise ValueError(f"the fault {name} takes no value: {fault!r}")
            parsed: object = True
        elif not has_value:
            if name not in _DEFAULTS:
                raise ValueError(f"the fault {name} needs a value: {name}=N")
            parsed = _DEFAULTS[name]
        elif name == "wrong_chip_id":
            parsed = parse_chip_id(value)
        else:
            try:
                parsed = int(value, 0)
            except ValueError:
                raise ValueError(f"bad value for the fault {name}: {value!r}") from None
            if parsed < _NUMBERS[name] or (name == "bad_socket" and parsed > sockets):
                raise ValueError(f"bad value for the fault {name}: {value!r}")
        if name in SOCKET_FAULTS:
            chips.setdefault(socket, {})[name] = parsed
        else:
            programmer[name] = parsed
    return programmer, chips


# ---------------------------------------------------------------- the programmer's logic


@dataclass(frozen=True)
class Transmission:
    """Bytes due on the line at monotonic time ``at``; ``drop``: the line closes instead."""

    at: float
    data: bytes
    drop: bool = False


class _Refusal(Exception):
    def __init__(self, error: Nak, detail: str = "", address: int | None = None) -> None:
        super().__init__(detail)
        self.error, self.detail, self.address = error, detail, address


class SimulatedProgrammer:
    """The programmer without its line: :meth:`receive` takes bytes, gives what to send and when.

    Deterministic for a given sequence of bytes and arrival times. With ``pace`` a byte takes
    10 bits at ``baudrate`` each way (both directions at once, like a UART); a frame is handled
    when its last byte is in, requests one after the other; ``latency`` (seconds) is added to
    every reply; ``chip_time`` scales the chips' datasheet times (0: instant, 1: typical).
    """

    def __init__(self, sockets: Iterable[str] | Mapping[int, str | None] | None = None, *,
                 faults: Iterable[str] = (), baudrate: int = DEFAULT_BAUDRATE, pace: bool = True,
                 latency: float = 0.0, chip_time: float = 0.0) -> None:
        if baudrate <= 0 or latency < 0 or chip_time < 0:
            raise ValueError("baudrate must be positive, latency and chip_time not negative")
        layout = dict(DEFAULT_SOCKETS)
        layout.update(parse_sockets(sockets or {}))
        self.programmer_faults, self.chip_faults = parse_faults(faults)
        self.chips: dict[int, Chip | None] = {n: Chip(CHIPS[name]) if name else None for n, name in layout.items()}
        self.identity = Identity(MODEL, SERIAL, FIRMWARE, SOCKET_COUNT)
        self.byte_time = 10 / baudrate if pace else 0.0
        self.latency = latency
        self.chip_time = chip_time
        self.selected: int | None = None
        self.requests = 0  # request frames received, good or corrupted
        self.replies = 0  # OK and NAK replies sent (BUSY not counted)
        self.received = 0  # bytes from the station, ever
        self.sessions = 0
        self.silent = False  # the timeout fault struck: nothing is answered any more
        self.powered_off = False  # power lost: nothing is answered until the station reconnects
        self.link_dropped = False
        self._power_lost_once = False
        self._reader = FrameReader()
        self._rx_free = self._busy_until = self._tx_free = 0.0
        self._work = (0.0, 0)
        self._handlers = {
            Command.IDENTIFY: self._identify,
            Command.STATUS: self._status,
            Command.SELECT: self._select,
            Command.CHIP_ID: self._chip_id,
            Command.BLANK_CHECK: self._blank_check,
            Command.ERASE: self._erase,
            Command.WRITE: self._write,
            Command.READ: self._read,
            Command.HASH: self._hash,
        }

    def faults_for(self, socket: int) -> dict[str, object]:
        return {**self.chip_faults.get(None, {}), **self.chip_faults.get(socket, {})}

    def contents(self, socket: int) -> bytes:
        chip = self.chips[socket]
        return bytes(chip.data) if chip is not None else b""

    # -------------------------------------------------------------- the line

    def connect(self, now: float) -> None:
        """A station opened the line: the programmer starts afresh (chips keep their contents)."""
        self.sessions += 1
        self.selected = None
        self.powered_off = False
        self._reader = FrameReader()
        self._rx_free = self._busy_until = self._tx_free = now

    def receive(self, data: bytes, now: float) -> list[Transmission]:
        """Bytes from the station that reached us at ``now``; what to send back, and when."""
        out: list[Transmission] = []
        if self.link_dropped or not data:
            return out
        drop_at = self.programmer_faults.get("link_drop_at_byte")
        drop = drop_at is not None and self.received + len(data) >= drop_at
        if drop:
            data = data[: drop_at - self.received]
        start = max(self._rx_free, now)
        self._rx_free = start + len(data) * self.byte_time
        self.received += len(data)
        fed_before = self._reader.fed
        self._reader.feed(data)
        while (item := self._reader.next()) is not None:
            arrived = start + max(0, self._reader.consumed - fed_before) * self.byte_time
            self._respond(item, arrived, out)
        if drop:
            self.link_dropped = True
            out.append(Transmission(self._rx_free, b"", drop=True))
        return out

    def _respond(self, item: Frame | BadFrame, arrived: float, out: list[Transmission]) -> None:
        self.requests += 1
        if self.powered_off or self.silent:
            return
        if self.programmer_faults.get("timeout") is not None and self.replies >= self.programmer_faults["timeout"]:
            self.silent = True
            log.info("programmer simulator: the timeout fault strikes after %d replies", self.replies)
            return
        command = item.code & 0x3F
        if isinstance(item, BadFrame):
            code, payload, seconds, total = NAK | command, encode_nak(Nak.BAD_CRC, None, "CRC-32 mismatch"), 0.0, 0
        else:
            result = self._execute(item)
            if result is None:
                return  # the power went
            code, payload, seconds, total = result
        seconds *= self.chip_time
        begin = max(arrived, self._busy_until)
        self._busy_until = begin + seconds
        beat = 1
        while beat * BUSY_INTERVAL < seconds:
            done = int(total * beat * BUSY_INTERVAL / seconds)
            self._transmit(out, encode_frame(item.seq, BUSY | command, encode_busy(done, total)),
                           begin + beat * BUSY_INTERVAL + self.latency)
            beat += 1
        reply = encode_frame(item.seq, code, payload)
        self.replies += 1
        if self.replies == self.programmer_faults.get("corrupt_frame"):
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])  # a byte of the CRC hit: the header stays sound
        self._transmit(out, reply, self._busy_until + self.latency)

    def _transmit(self, out: list[Transmission], data: bytes, ready: float) -> None:
        start = max(ready, self._tx_free)
        self._tx_free = start + len(data) * self.byte_time
        out.append(Transmission(self._tx_free, data))

    # -------------------------------------------------------------- one request

    def _execute(self, frame: Frame) -> tuple[int, bytes, float, int] | None:
        """``(reply code, payload, chip seconds, work bytes)``; None: no reply at all (the power went)."""
        self._work = (0.0, 0)
        command = frame.code & 0x3F
        try:
            handler = self._handlers.get(frame.code) if frame.kind == REQUEST else None
            if handler is None:
                raise _Refusal(Nak.UNKNOWN_COMMAND, f"0x{frame.code:02X}")
            payload = handler(frame.payload)
            if payload is None:
                return None
            return OK | command, payload, *self._work
        except _Refusal as refusal:
            return NAK | command, encode_nak(refusal.error, refusal.address, refusal.detail), *self._work

    def _identify(self, payload: bytes) -> bytes:
        self._empty(payload)
        return encode_identity(self.identity)

    def _status(self, payload: bytes) -> bytes:
        self._empty(payload)
        states = []
        for number, chip in sorted(self.chips.items()):
            if self.programmer_faults.get("bad_socket") == number:
                states.append("disabled")
            elif chip is None or "no_target" in self.faults_for(number):
                states.append("empty")
            else:
                states.append("ready")
        return encode_status(Status(self.selected, tuple(states)))

    def _select(self, payload: bytes) -> bytes:
        if len(payload) != 1:
            raise _Refusal(Nak.BAD_ARGUMENT, "SELECT takes one byte")
        number = payload[0]
        if number not in self.chips:
            raise _Refusal(Nak.NO_SOCKET, str(number))
        if self.programmer_faults.get("bad_socket") == number:
            raise _Refusal(Nak.SOCKET_DISABLED, "it failed the programmer's self-test")
        self.selected = number
        return b""

    def _target(self) -> tuple[Chip, dict[str, object]]:
        if self.selected is None:
            raise _Refusal(Nak.BAD_SEQUENCE, "select a socket first")
        chip = self.chips[self.selected]
        faults = self.faults_for(self.selected)
        if chip is None or "no_target" in faults:
            raise _Refusal(Nak.NO_TARGET, f"socket {self.selected}")
        return chip, faults

    def _chip_id(self, payload: bytes) -> bytes:
        if len(payload) > MAX_CHIP_ID:
            raise _Refusal(Nak.BAD_ARGUMENT, f"an expected ID of {len(payload)} bytes")
        chip, faults = self._target()
        read = chip.type.id
        if "wrong_chip_id" in faults:
            read = faults["wrong_chip_id"] or read[:-1] + bytes([(read[-1] + 1) & 0xFF])
        if payload and payload != read:
            raise _Refusal(Nak.WRONG_CHIP, read.hex().upper())
        known = next((part for part in CHIPS.values() if part.id == read), None)
        name = known.name if known is not None else "unknown"
        return encode_chip_info(ChipInfo(read, name, chip.type.size, chip.type.sector))

    def _blank_check(self, payload: bytes) -> bytes:
        chip, _ = self._target()
        start, length = self._range(payload, chip)
        rest = chip.data[start : start + length].lstrip(b"\xff")
        self._work = (chip.type.read_seconds(length), length)
        return struct.pack("<I", NO_ADDRESS if not rest else start + length - len(rest))

    def _erase(self, payload: bytes) -> bytes:
        chip, faults = self._target()
        if payload:
            start, length = self._range(payload, chip)
            if start % chip.type.sector or length % chip.type.sector:
                raise _Refusal(Nak.BAD_ARGUMENT, f"not whole {chip.type.sector}-byte sectors")
            seconds = chip.type.erase_seconds(start, length)
        else:
            start, length, seconds = 0, chip.type.size, chip.type.chip_erase_s
        if "write_protect" not in faults:
            chip.data[start : start + length] = b"\xff" * length
        self._work = (seconds, length)
        return b""

    def _write(self, payload: bytes) -> bytes | None:
        chip, faults = self._target()
        if not 5 <= len(payload) <= 4 + BLOCK:
            raise _Refusal(Nak.BAD_ARGUMENT, f"WRITE carries 1 to {BLOCK} bytes, not {len(payload) - 4}")
        address = int.from_bytes(payload[:4], "little")
        data = payload[4:]
        end = address + len(data)
        if end > chip.type.size:
            raise _Refusal(Nak.BAD_ARGUMENT, f"0x{address:08X}+{len(data)} is beyond the chip")
        bad_block = faults.get("nack_at_block")
        if bad_block is not None and address < (bad_block + 1) * BLOCK and bad_block * BLOCK < end:
            raise _Refusal(Nak.WRITE_FAILED, "the chip did not take the data", max(address, bad_block * BLOCK))
        lost_block = faults.get("power_loss_mid_block")
        if (lost_block is not None and not self._power_lost_once and address < (lost_block + 1) * BLOCK
                and lost_block * BLOCK < end):
            self._power_lost_once = True
            self.powered_off = True
            if "write_protect" not in faults:
                self._store(chip, address, data[: len(data) // 2], faults)
            log.info("programmer simulator: power lost half-way through the block at 0x%08X", address)
            return None
        if "write_protect" not in faults:
            self._store(chip, address, data, faults)
        self._work = (chip.type.write_seconds(len(data)), len(data))
        return b""

    def _read(self, payload: bytes) -> bytes:
        chip, _ = self._target()
        start, length = self._range(payload, chip, longest=BLOCK)
        self._work = (chip.type.read_seconds(length), length)
        return bytes(chip.data[start : start + length])

    def _hash(self, payload: bytes) -> bytes:
        chip, _ = self._target()
        start, length = self._range(payload, chip)
        self._work = (chip.type.read_seconds(length), length)
        with memoryview(chip.data) as view:
            return hashlib.sha256(view[start : start + length]).digest()

    @staticmethod
    def _store(chip: Chip, address: int, data: bytes, faults: dict[str, object]) -> None:
        end = address + len(data)
        if chip.type.kind == "nor":  # programming can only clear bits
            old = int.from_bytes(chip.data[address:end], "little")
            data = (old & int.from_bytes(data, "little")).to_bytes(len(data), "little")
        chip.data[address:end] = data
        weak = faults.get("verify_mismatch_at")
        if weak is not None and address <= weak < end:
            chip.data[weak] ^= 0x10

    @staticmethod
    def _empty(payload: bytes) -> None:
        if payload:
            raise _Refusal(Nak.BAD_ARGUMENT, "no payload expected")

    @staticmethod
    def _range(payload: bytes, chip: Chip, *, longest: int | None = None) -> tuple[int, int]:
        if len(payload) != 8:
            raise _Refusal(Nak.BAD_ARGUMENT, "a range is 8 bytes")
        start, length = struct.unpack("<II", payload)
        if length < 1 or start + length > chip.type.size:
            raise _Refusal(Nak.BAD_ARGUMENT, f"0x{start:08X}+{length} is not inside the {chip.type.size}-byte chip")
        if longest is not None and length > longest:
            raise _Refusal(Nak.BAD_ARGUMENT, f"at most {longest} bytes at once")
        return start, length


# ---------------------------------------------------------------- the line: pty or TCP
# A link gives the server bytes, "connect" (a station opened the line) and "hangup", and takes
# bytes and drop(). Kept to these few lines so it can move to a shared module later.


class _PtyLink:
    """A USB programmer: a pty in raw packet mode, its slave reached through a stable symlink.

    Packet mode tells the simulator when a station opens the port: pyserial empties its input
    buffer on open, which the master reads as a TIOCPKT_FLUSHREAD packet. No slave is kept open
    here, so a read without a station gives EIO ("hangup").
    """

    def __init__(self, directory: str | os.PathLike | None, name: str) -> None:
        self._own_directory = directory is None
        self.directory = Path(directory if directory is not None else tempfile.mkdtemp(prefix="rma-programmer-"))
        self.link = self.directory / name
        self.url = str(self.link)
        master, slave = os.openpty()
        tty.setraw(slave)  # no CR->LF translation, no echo, no line buffering
        self.device = os.ttyname(slave)
        os.close(slave)
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))
        os.set_blocking(master, False)
        self._master: int | None = master
        staging = self.link.with_name(self.link.name + ".new")
        staging.unlink(missing_ok=True)
        staging.symlink_to(self.device)
        os.replace(staging, self.link)

    def fds(self) -> list[int]:
        return [] if self._master is None else [self._master]

    def receive(self, ready: list[int]) -> tuple[str, bytes]:
        try:
            packet = os.read(self._master, 65536)
        except BlockingIOError:
            return "nothing", b""
        except OSError as error:
            if error.errno == errno.EIO:
                return "hangup", b""
            raise
        if not packet:
            return "hangup", b""
        if packet[0] == termios.TIOCPKT_DATA:
            return "data", packet[1:]
        if packet[0] & termios.TIOCPKT_FLUSHREAD:
            return "connect", b""
        return "nothing", b""

    def send(self, data: bytes) -> None:
        deadline = time.monotonic() + SEND_TIMEOUT
        view = memoryview(data)
        while view and self._master is not None:
            try:
                view = view[os.write(self._master, view) :]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return  # nobody has the line open: the bytes go nowhere, as on a real line
            if time.monotonic() > deadline:
                log.warning("nobody read %d bytes from %s; dropped", len(view), self.url)
                return
            select.select([], [self._master], [], 0.05)

    def drop(self) -> None:
        """The cable is pulled: the pty closes and its link goes."""
        if self._master is not None:
            self.link.unlink(missing_ok=True)
            os.close(self._master)
            self._master = None

    def close(self) -> None:
        self.drop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class _TcpLink:
    """A programmer behind a serial device server: one station at a time, the newest wins."""

    def __init__(self, host: str, port: int) -> None:
        listener = sockets_.socket(sockets_.AF_INET, sockets_.SOCK_STREAM)
        listener.setsockopt(sockets_.SOL_SOCKET, sockets_.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1)
        self.port = listener.getsockname()[1]
        self.url = f"socket://{host}:{self.port}"
        self._listener: sockets_.socket | None = listener
        self._client: sockets_.socket | None = None

    def fds(self) -> list:
        return [s for s in (self._listener, self._client) if s is not None]

    def receive(self, ready: list) -> tuple[str, bytes]:
        if self._listener is not None and self._listener in ready:
            client, _ = self._listener.accept()
            client.settimeout(SEND_TIMEOUT)
            client.setsockopt(sockets_.IPPROTO_TCP, sockets_.TCP_NODELAY, 1)
            self._hang_up_client()
            self._client = client
            return "connect", b""
        if self._client is not None and self._client in ready:
            try:
                data = self._client.recv(65536)
            except OSError:
                data = b""
            if data:
                return "data", data
            self._hang_up_client()
            return "hangup", b""
        return "nothing", b""

    def send(self, data: bytes) -> None:
        if self._client is None:
            return
        try:
            self._client.sendall(data)
        except OSError as error:
            log.info("programmer simulator %s: the station went away (%s)", self.url, error)
            self._hang_up_client()

    def drop(self) -> None:
        """The device server goes away: the connection closes and nothing listens any more."""
        self._hang_up_client()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def close(self) -> None:
        self.drop()

    def _hang_up_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown(sockets_.SHUT_RDWR)
            except OSError:
                pass
            client.close()


# ---------------------------------------------------------------- serving it


class _Simulator:
    """A :class:`SimulatedProgrammer` answering on a link from a background thread."""

    def __init__(self, link: _PtyLink | _TcpLink, sockets, faults, baudrate, pace, latency, chip_time) -> None:
        self.programmer = SimulatedProgrammer(sockets, faults=faults, baudrate=baudrate, pace=pace, latency=latency,
                                              chip_time=chip_time)
        self._link = link
        self.url = link.url
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, Transmission]] = []
        self._order = itertools.count()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"programmer-sim-{Path(self.url).name}", daemon=True)
        self._thread.start()

    # what tests look at
    def contents(self, socket: int) -> bytes:
        with self._lock:
            return self.programmer.contents(socket)

    def load(self, socket: int, data: bytes, address: int = 0) -> None:
        """Put ``data`` into the chip in ``socket`` directly, as if programmed elsewhere."""
        with self._lock:
            chip = self.programmer.chips[socket]
            if chip is None or address + len(data) > chip.type.size:
                raise ValueError(f"socket {socket} has no chip that holds {len(data)} bytes at {address}")
            chip.data[address : address + len(data)] = data

    @property
    def link_dropped(self) -> bool:
        return self.programmer.link_dropped

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(SEND_TIMEOUT + 1)
        self._link.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _run(self) -> None:
        try:
            self._serve()
        except Exception:
            log.exception("the programmer simulator on %s stopped", self.url)

    def _serve(self) -> None:
        quiet_until = 0.0  # no station on the pty: do not spin on its hang-up
        while not self._stop.is_set():
            now = time.monotonic()
            watched = [self._wake_r] + (self._link.fds() if now >= quiet_until else [])
            waits = [self._due[0][0] - now] if self._due else []
            if now < quiet_until:
                waits.append(quiet_until - now)
            ready, _, _ = select.select(watched, [], [], max(0.0, min(waits)) if waits else None)
            if self._wake_r in ready:
                return
            if ready:
                kind, data = self._link.receive(ready)
                now = time.monotonic()
                with self._lock:
                    if kind == "data":
                        for due in self.programmer.receive(data, now):
                            heapq.heappush(self._due, (due.at, next(self._order), due))
                    elif kind == "connect":
                        self.programmer.connect(now)
                        self._due.clear()
                    elif kind == "hangup":
                        quiet_until = now + HANGUP_POLL
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, _, due = heapq.heappop(self._due)
                if due.drop:
                    log.info("programmer simulator %s: the line drops after %d bytes", self.url,
                             self.programmer.received)
                    self._link.drop()
                    self._due.clear()
                    break
                self._link.send(due.data)


class ProgrammerSimulator(_Simulator):
    """The programmer on a USB serial bridge: a pty; ``url`` is a stable symlink to its slave.

    ``ProgrammerSimulator({2: "24C64"}, faults=["write_protect@2"])``. A station that opens the
    port starts a new session (no socket selected; a programmer that lost power answers again).
    """

    def __init__(self, sockets: Iterable[str] | Mapping[int, str | None] | None = None, *,
                 faults: Iterable[str] = (), baudrate: int = DEFAULT_BAUDRATE, pace: bool = True,
                 latency: float = 0.0, chip_time: float = 0.0, directory: str | os.PathLike | None = None,
                 name: str = "usb-RMA_GP-400_GP400-0012-if00-port0") -> None:
        link = _PtyLink(directory, name)
        try:
            super().__init__(link, sockets, faults, baudrate, pace, latency, chip_time)
        except BaseException:
            link.close()
            raise


class TcpProgrammerSimulator(_Simulator):
    """The programmer behind a serial device server: ``socket://127.0.0.1:PORT``, newest connection wins.

    Each connection is a new session. ``link_drop_at_byte`` closes the connection and the port.
    """

    def __init__(self, sockets: Iterable[str] | Mapping[int, str | None] | None = None, *,
                 faults: Iterable[str] = (), baudrate: int = DEFAULT_BAUDRATE, pace: bool = True,
                 latency: float = 0.0, chip_time: float = 0.0, port: int = 0, host: str = "127.0.0.1") -> None:
        link = _TcpLink(host, port)
        try:
            super().__init__(link, sockets, faults, baudrate, pace, latency, chip_time)
        except BaseException:
            link.close()
            raise
        self.port = link.port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.programmer_sim",
        description="Simulate a 4-socket gang programmer (SPI flash, I2C EEPROM, MCU flash).",
        epilog="chips: " + ", ".join(CHIPS) + ". faults: " + "; ".join(f"{n}: {t}" for n, t in FAULTS.items()))
    add_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the programmer does on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr, format="%(message)s")
    options = dict(faults=args.fault, baudrate=args.baudrate, pace=not args.no_pace,
                   latency=args.latency_ms / 1000, chip_time=args.chip_time)
    try:
        sim = (TcpProgrammerSimulator(args.socket, port=args.port, **options) if args.tcp
               else ProgrammerSimulator(args.socket, **options))
    except ValueError as error:
        parser.error(str(error))

    def stop(signum, frame):  # noqa: ANN001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with sim:
        print(f"Programmer simulator ready: {sim.url}", flush=True)
        layout = ", ".join(f"{n}={chip.type.name if chip else 'empty'}" for n, chip in sim.programmer.chips.items())
        print(f"sockets {layout}; faults: {', '.join(args.fault) or 'none'}; "
              f"{'paced at ' + str(args.baudrate) + ' baud' if not args.no_pace else 'not paced'}. "
              "Ctrl-C or Ctrl-D to stop.", file=sys.stderr, flush=True)
        try:
            while sys.stdin.readline():
                pass
        except KeyboardInterrupt:
            pass
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options, shared with ``rma sim programmer``."""
    parser.add_argument("--socket", action="append", default=[], metavar="N=CHIP",
                        help=f"the chip in socket N (default W25Q16 in all four; N= for an empty socket): "
                             f"{', '.join(CHIPS)}")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[=VALUE][@SOCKET]",
                        help="simulate a fault, repeatable: " + ", ".join(FAULTS))
    parser.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 for socket:// instead of a pty")
    parser.add_argument("--port", type=int, default=0, help="TCP port with --tcp (default: any free port)")
    parser.add_argument("--baudrate", type=int, default=DEFAULT_BAUDRATE, help="line rate for pacing (921600)")
    parser.add_argument("--no-pace", action="store_true", help="answer at once instead of at the line rate")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every reply (a USB bridge's latency)")
    parser.add_argument("--chip-time", type=float, default=0.0,
                        help="scale of the chips' datasheet erase/program/read times (0: instant, 1: typical)")


if __name__ == "__main__":
    sys.exit(main())
