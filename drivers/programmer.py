"""The IC programmer: a gang programmer with sockets for SPI flash, I2C EEPROMs and small MCUs,
driven over a serial line by a framed binary protocol, as bootloaders and gang programmers speak.

The protocol
============

Line settings: 921600 8N1 by default (the programmer's USB-serial bridge, or a serial device
server for ``socket://``). Integers are little-endian.

Every message, either way, is one **frame**::

    offset  size  field
    0       1     SOF       0xA5
    1       1     seq       sequence number 0-255, chosen by the host; a reply echoes it
    2       1     code      the command (host -> programmer) or the reply kind | command
    3       2     length    payload bytes, at most MAX_PAYLOAD (4112)
    5       1     check     the low byte of CRC-32 over bytes 1-4 (seq, code, length)
    6       n     payload
    6+n     4     CRC-32    zlib.crc32 over bytes 1 .. 5+n (everything after SOF)

There is no escaping: a frame is found by its SOF, its header check and a sane length, and
accepted only if its CRC-32 matches. A receiver that finds anything else drops one byte and
looks for the next SOF, so it resynchronises after line noise without losing the next good
frame. A header that passes by chance and claims a long payload is given up at the deadline
and the search starts again one byte after its SOF.

Commands (``code`` of a request) and their replies; ``str`` is one length byte and UTF-8:

==============  ===============================  ==========================================
command         request payload                  OK reply payload
==============  ===============================  ==========================================
IDENTIFY 0x01   -                                u8 protocol, u8 sockets, u16 max block,
                                                 str model, str serial, str firmware
STATUS 0x02     -                                u8 selected socket (0: none), u8 count,
                                                 count x u8 state (0 ready, 1 empty, 2 disabled)
SELECT 0x03     u8 socket (1..count)             -
CHIP_ID 0x04    the expected ID (0-16 bytes)     u8 n, n bytes ID, u32 size, u32 sector, str name
BLANK 0x05      u32 start, u32 length            u32 first address that is not 0xFF (0xFFFFFFFF: blank)
ERASE 0x06      - (all) or u32 start, u32 length -    (the range must be whole sectors)
WRITE 0x07      u32 address, 1-4096 data bytes   -
READ 0x08       u32 address, u32 length (<=4096) the bytes
HASH 0x09       u32 start, u32 length            32 bytes: SHA-256 of the range, computed by the programmer
==============  ===============================  ==========================================

A reply's ``code`` is its kind ORed with the command it answers: **OK** ``0x80|cmd``, **NAK**
``0xC0|cmd`` (payload: u8 error, u32 address or 0xFFFFFFFF, ASCII detail) and **BUSY**
``0x40|cmd`` (payload: u32 done, u32 total), which the programmer sends at least every
BUSY_INTERVAL seconds while a long operation (an erase, a hash of megabytes) runs. The
programmer executes requests in the order received and answers each before it starts the
next. NAK errors (:class:`Nak`): bad_crc, bad_argument, unknown_command, bad_sequence (a chip
command before a socket is selected), no_socket, socket_disabled, no_target, wrong_chip (the
detail is the ID read), write_failed, erase_failed (at ``address``), target_timeout.

The driver
==========

:class:`SerialProgrammer` opens any pyserial URL. Every command is idempotent, so a frame may
be sent again: a reply that fails its CRC, a NAK bad_crc, or a reply that never comes (once) make
the driver resend the request with a new sequence number; a reply to an older sequence number
is stale and discarded. Any other NAK is a :class:`ProgrammerRefused` at once. Writes are
pipelined (a window of 2 requests in flight) so the wire never waits for an acknowledgement;
erases are never in flight with anything else. :meth:`Programmer.program` erases, writes and
verifies by the programmer's SHA-256 of the range (never skipped), and on a mismatch finds
the first bad address by hashing halves, reading back only the last 4 KiB.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

import serial

DEFAULT_BAUDRATE = 921600
DEFAULT_TIMEOUT = 1.0  # the programmer must say something (a reply or BUSY) within this
DEFAULT_RETRIES = 3  # resends of one request after corrupted frames
SILENT_RETRIES = 1  # resends after silence: a dead programmer is asked twice, then given up
DEFAULT_WINDOW = 2  # requests in flight

SOF = 0xA5
HEADER = 6
TRAILER = 4
OVERHEAD = HEADER + TRAILER
BLOCK = 4096
MAX_PAYLOAD = BLOCK + 16
MAX_CHIP_ID = 16
MAX_DETAIL = 64
NO_ADDRESS = 0xFFFFFFFF
PROTOCOL_VERSION = 1
BUSY_INTERVAL = 0.25

# The longest the target side may take, for the ceilings on waiting (datasheet maxima, rounded up).
ERASE_S_PER_64K = 2.0  # W25Q16 block erase: 150 ms typical, 2 s maximum
WRITE_S_PER_BLOCK = 1.0  # an I2C EEPROM writes 4 KiB in 128 pages of 5 ms
SLOWEST_READ_BYTES_PER_S = 20_000  # an I2C EEPROM at 400 kHz reads about 40 kB/s
UNKNOWN_CHIP_SIZE = 16 * 1024 * 1024

POLL_INTERVAL = 0.02  # longest single wait in a read: close() and deadlines are noticed within this
RESYNC_KEEP = 64 * 1024  # at most this much waiting input is read and dropped at a resynchronisation

KIND_MASK = 0xC0
REQUEST, BUSY, OK, NAK = 0x00, 0x40, 0x80, 0xC0


class Command(IntEnum):
    IDENTIFY = 0x01
    STATUS = 0x02
    SELECT = 0x03
    CHIP_ID = 0x04
    BLANK_CHECK = 0x05
    ERASE = 0x06
    WRITE = 0x07
    READ = 0x08
    HASH = 0x09


class Nak(IntEnum):
    """The programmer's error codes (the first byte of a NAK payload)."""

    BAD_CRC = 0x01
    BAD_ARGUMENT = 0x02
    UNKNOWN_COMMAND = 0x03
    BAD_SEQUENCE = 0x04
    NO_SOCKET = 0x05
    SOCKET_DISABLED = 0x06
    NO_TARGET = 0x07
    WRONG_CHIP = 0x08
    WRITE_FAILED = 0x09
    ERASE_FAILED = 0x0A
    TARGET_TIMEOUT = 0x0B


# What each NAK becomes: the template of the ProgrammerRefused (its code is "programmer_" + name).
NAK_TEMPLATES: dict[Nak, str] = {
    Nak.BAD_CRC: "{command} reached the programmer corrupted (bad CRC) {attempts} times: the line is too noisy",
    Nak.BAD_ARGUMENT: "the programmer refused {command}: bad argument ({detail})",
    Nak.UNKNOWN_COMMAND: "the programmer does not know the command {command}",
    Nak.BAD_SEQUENCE: "the programmer refused {command} out of sequence: {detail}",
    Nak.NO_SOCKET: "the programmer has no socket {socket}",
    Nak.SOCKET_DISABLED: "socket {socket} is disabled: {detail}",
    Nak.NO_TARGET: "no chip answers in socket {socket}",
    Nak.WRONG_CHIP: "wrong chip in socket {socket}: expected ID {expected}, read {actual}",
    Nak.WRITE_FAILED: "writing failed at address {address} in socket {socket}",
    Nak.ERASE_FAILED: "erasing failed at address {address} in socket {socket}",
    Nak.TARGET_TIMEOUT: "the chip in socket {socket} did not finish {command} in time",
}


# ---------------------------------------------------------------- errors


class ProgrammerError(Exception):
    """Something went wrong talking to the programmer or programming the chip.

    Shaped like ``rma.errors.DomainError`` (which drivers may not import): ``code`` is stable
    for programs, ``message`` is for people, ``template`` + ``params`` translate it.
    ``address`` is the first bad address when there is one; ``written`` the bytes of the image
    acknowledged before a :meth:`Programmer.program` failed.
    """

    code = "programmer_error"

    def __init__(self, template: str, /, *, code: str | None = None, address: int | None = None,
                 **params: object) -> None:
        if code is not None:
            self.code = code
        self.template = template
        self.address = address
        self.params = params
        self.params.setdefault("address", "?" if address is None else f"0x{address:08X}")
        self.written: int | None = None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.template


class ProgrammerRefused(ProgrammerError):
    """The programmer answered NAK: ``nak`` (a :class:`Nak`) and its ``detail`` text."""

    def __init__(self, nak: Nak | int, /, *, address: int | None = None, detail: str = "",
                 **params: object) -> None:
        self.detail = detail
        for name, default in (("command", "a command"), ("socket", "?"), ("expected", "?"),
                              ("actual", detail or "?"), ("attempts", 1)):
            if params.get(name) is None:
                params[name] = default
        params["detail"] = detail or "-"
        try:
            nak = Nak(nak)
        except ValueError:
            self.nak = nak
            super().__init__("the programmer refused {command}: error {nak} ({detail})",
                             code="programmer_refused", address=address, nak=nak, **params)
            return
        self.nak = nak
        super().__init__(NAK_TEMPLATES[nak], code=f"programmer_{nak.name.lower()}", address=address, **params)


class ProgrammerTimeout(ProgrammerError):
    """No reply (nor BUSY) in time, or a programmer that stayed busy beyond the work's ceiling."""

    code = "programmer_timeout"
    partial: bytes = b""  # the start of a frame received before the silence, if any


class ProgrammerWrongReply(ProgrammerTimeout):
    """The deadline passed with replies to other (earlier) requests only: the programmer lags behind."""

    code = "programmer_wrong_reply"


class ProgrammerGarbled(ProgrammerError):
    """Replies kept failing their CRC, or a reply's payload makes no sense for its command."""

    code = "programmer_garbled"


class ProgrammerPortLost(ProgrammerError):
    """The port cannot be opened or went away (unplugged, socket closed, pty hung up)."""

    code = "programmer_port_lost"


class VerifyFailed(ProgrammerError):
    """The chip's SHA-256 of the range differs from the image's: ``address`` is the first bad byte."""

    code = "programmer_verify_failed"


# ---------------------------------------------------------------- frames, pure


@dataclass(frozen=True)
class Frame:
    seq: int
    code: int
    payload: bytes = b""

    @property
    def kind(self) -> int:
        return self.code & KIND_MASK

    @property
    def command(self) -> int:
        return self.code & ~KIND_MASK & 0xFF


@dataclass(frozen=True)
class BadFrame:
    """A frame whose header was sound but whose CRC-32 failed: ``seq`` and ``code`` are likely right."""

    seq: int
    code: int
    raw: bytes


def header_check(head: bytes | bytearray | memoryview) -> int:
    return zlib.crc32(head) & 0xFF


def encode_frame(seq: int, code: int, payload: bytes | bytearray | memoryview = b"") -> bytes:
    """One frame on the wire. ValueError for a sequence number, code or payload that cannot be sent."""
    if not 0 <= seq <= 0xFF or not 0 <= code <= 0xFF:
        raise ValueError(f"a frame's seq and code are bytes, not {seq!r}, {code!r}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a frame carries at most {MAX_PAYLOAD} bytes, not {len(payload)}")
    head = struct.pack("<BBH", seq, code, len(payload))
    head += bytes([header_check(head)])
    crc = zlib.crc32(payload, zlib.crc32(head))
    return b"".join((bytes([SOF]), head, payload, struct.pack("<I", crc)))


class FrameReader:
    """Bytes in, frames out; finds frames again after noise. No I/O.

    :meth:`next` gives a :class:`Frame`, a :class:`BadFrame` (sound header, CRC failed: the whole
    frame is dropped) or None (nothing complete yet). Anything that cannot start a frame is
    dropped a byte at a time and counted in ``skipped``. ``fed`` and ``consumed`` are stream
    offsets: after :meth:`next` returns a frame, ``consumed`` is the offset just past it.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buffer = bytearray()
        self.fed = 0
        self.consumed = 0
        self.skipped = 0

    def feed(self, data: bytes | bytearray) -> None:
        self._buffer += data
        self.fed += len(data)

    def next(self) -> Frame | BadFrame | None:
        buffer = self._buffer
        while True:
            start = buffer.find(SOF)
            if start < 0:
                self._drop(len(buffer))
                return None
            if start:
                self._drop(start)
            if len(buffer) < HEADER:
                return None
            length = buffer[3] | buffer[4] << 8
            if length > self.max_payload or header_check(memoryview(buffer)[1:5]) != buffer[5]:
                self._drop(1)  # not a frame's start: look for the next SOF
                continue
            total = HEADER + length + TRAILER
            if len(buffer) < total:
                return None
            view = memoryview(buffer)
            crc_ok = zlib.crc32(view[1 : HEADER + length]) == int.from_bytes(view[HEADER + length : total], "little")
            seq, code = buffer[1], buffer[2]
            if crc_ok:
                frame: Frame | BadFrame = Frame(seq, code, bytes(view[HEADER : HEADER + length]))
            else:
                frame = BadFrame(seq, code, bytes(view[:total]))
            view.release()
            del buffer[:total]
            self.consumed += total
            return frame

    def needed(self) -> int:
        """How many more bytes complete the frame being received (at least 1)."""
        buffer = self._buffer
        if len(buffer) >= HEADER and buffer[0] == SOF:
            length = buffer[3] | buffer[4] << 8
            if length <= self.max_payload:
                return max(1, HEADER + length + TRAILER - len(buffer))
        return max(1, HEADER - len(buffer))

    @property
    def partial(self) -> bytes:
        """The start of a frame still waiting for its end (empty if none)."""
        return bytes(self._buffer)

    def give_up_partial(self) -> bool:
        """Treat the frame being received as noise (its SOF is dropped) and look again; False if none."""
        if not self._buffer:
            return False
        self._drop(1)
        return True

    def clear(self) -> None:
        self._drop(len(self._buffer))

    def _drop(self, count: int) -> None:
        del self._buffer[:count]
        self.consumed += count
        self.skipped += count


# ---------------------------------------------------------------- payloads, pure


@dataclass(frozen=True)
class Identity:
    model: str
    serial: str
    firmware: str
    sockets: int
    max_block: int = BLOCK
    protocol: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class ChipInfo:
    id: bytes
    name: str
    size: int
    sector: int  # the smallest erasable unit

    @property
    def id_hex(self) -> str:
        return self.id.hex().upper()


SOCKET_STATES = ("ready", "empty", "disabled")


@dataclass(frozen=True)
class Status:
    selected: int | None
    sockets: tuple[str, ...]  # one of SOCKET_STATES per socket, socket 1 first


def _str(text: str) -> bytes:
    data = text.encode("utf-8")[:255]
    return bytes([len(data)]) + data


class _Cursor:
    """Reads a payload field by field; ProgrammerGarbled if it is too short or too long."""

    def __init__(self, payload: bytes, what: str) -> None:
        self.payload, self.at, self.what = payload, 0, what

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.payload):
            raise ProgrammerGarbled("the programmer's reply to {command} is too short: {payload}",
                                    command=self.what, payload=_shown(self.payload))
        data = self.payload[self.at : self.at + count]
        self.at += count
        return data

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def text(self) -> str:
        return self.take(self.take(1)[0]).decode("utf-8", "replace")

    def end(self) -> None:
        if self.at != len(self.payload):
            raise ProgrammerGarbled("the programmer's reply to {command} is too long: {payload}",
                                    command=self.what, payload=_shown(self.payload))


def encode_identity(identity: Identity) -> bytes:
    return (struct.pack("<BBH", identity.protocol, identity.sockets, identity.max_block)
            + _str(identity.model) + _str(identity.serial) + _str(identity.firmware))


def decode_identity(payload: bytes) -> Identity:
    cursor = _Cursor(payload, "IDENTIFY")
    protocol, sockets, max_block = cursor.unpack("<BBH")
    model, serial_number, firmware = cursor.text(), cursor.text(), cursor.text()
    cursor.end()
    return Identity(model, serial_number, firmware, sockets, max_block, protocol)


def encode_status(status: Status) -> bytes:
    return (struct.pack("<BB", status.selected or 0, len(status.sockets))
            + bytes(SOCKET_STATES.index(state) for state in status.sockets))


def decode_status(payload: bytes) -> Status:
    cursor = _Cursor(payload, "STATUS")
    selected, count = cursor.unpack("<BB")
    states = tuple(SOCKET_STATES[b] if b < len(SOCKET_STATES) else f"state {b}" for b in cursor.take(count))
    cursor.end()
    return Status(selected or None, states)


def encode_chip_info(chip: ChipInfo) -> bytes:
    return bytes([len(chip.id)]) + chip.id + struct.pack("<II", chip.size, chip.sector) + _str(chip.name)


def decode_chip_info(payload: bytes) -> ChipInfo:
    cursor = _Cursor(payload, "CHIP_ID")
    chip_id = cursor.take(cursor.take(1)[0])
    size, sector = cursor.unpack("<II")
    name = cursor.text()
    cursor.end()
    if sector == 0:
        raise ProgrammerGarbled("the programmer's reply to {command} names a sector of 0 bytes", command="CHIP_ID")
    return ChipInfo(chip_id, name, size, sector)


def encode_nak(error: int, address: int | None = None, detail: str = "") -> bytes:
    return struct.pack("<BI", error, NO_ADDRESS if address is None else address) + detail.encode(
        "ascii", "replace")[:MAX_DETAIL]


def decode_nak(payload: bytes) -> tuple[int, int | None, str]:
    """``(error, address or None, detail)`` of a NAK payload."""
    if len(payload) < 5:
        return (payload[0] if payload else 0), None, ""
    error, address = struct.unpack_from("<BI", payload)
    return error, (None if address == NO_ADDRESS else address), payload[5:].decode("ascii", "replace")


def encode_busy(done: int, total: int) -> bytes:
    return struct.pack("<II", done, total)


def range_payload(start: int, length: int) -> bytes:
    if start < 0 or length < 1 or start + length > NO_ADDRESS:
        raise ValueError(f"a range needs start >= 0 and length >= 1, not {start!r}, {length!r}")
    return struct.pack("<II", start, length)


def parse_chip_id(value: bytes | str) -> bytes:
    """A chip ID as bytes, from bytes or hex text (``"EF4015"``, ``"ef 40 15"``)."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.replace(":", " "))
        except ValueError:
            raise ValueError(f"a chip ID is hex, like EF4015, not {value!r}") from None
    if not 1 <= len(value) <= MAX_CHIP_ID:
        raise ValueError(f"a chip ID is 1 to {MAX_CHIP_ID} bytes, not {len(value)}")
    return bytes(value)


def _shown(data: bytes | bytearray, limit: int = 40) -> str:
    data = bytes(data)
    return data[:limit].hex(" ").upper() + (" ..." if len(data) > limit else "") if data else "nothing"


def command_name(code: int) -> str:
    try:
        return Command(code & 0x3F).name
    except ValueError:
        return f"0x{code:02X}"


# ---------------------------------------------------------------- requests in flight, pure


@dataclass(eq=False)
class Request:
    """One request for the :class:`RequestWindow`; ``tag`` is the caller's (e.g. a block's offset)."""

    command: Command
    payload: bytes = b""
    reply_size: int = 0  # expected reply payload, for the wire time in its deadline
    work_s: float = 0.0  # the longest the target may take for it
    barrier: bool = False  # never in flight with another request (an erase)
    tag: object = None
    seq: int = -1
    attempts: int = 0  # resends after corruption or loss
    silences: int = 0  # resends after silence
    sent: float = 0.0  # when it was (last) sent
    busy: int = 0  # BUSY frames received for it
    deadline: float = 0.0  # a reply or BUSY is due by then
    ceiling: float = 0.0  # never wait beyond this, BUSY or not
    socket: int | None = None  # for messages


class RequestWindow:
    """Which requests are in flight, what each reply means, what to send again. No I/O, no clock.

    The caller sends the frames :meth:`send` returns and hands over every frame it reads
    (:meth:`on_frame`), every frame that failed its CRC (:meth:`on_corrupted`), and the
    moment :meth:`deadline` passes in silence (:meth:`on_silence`); each returns the frames
    to send again. Deadlines: a request's wire time (at ``byte_time`` a byte) plus its
    reply's plus ``timeout``; any reply or BUSY to a request in flight gives every request
    in flight ``timeout`` more, up to its ceiling (the deadline plus the longest its own work
    and the work of everything ahead of it may take).
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 window: int = DEFAULT_WINDOW, byte_time: float = 10 / DEFAULT_BAUDRATE,
                 silent_retries: int = SILENT_RETRIES) -> None:
        if timeout <= 0 or window < 1 or retries < 0:
            raise ValueError("timeout must be positive, window at least 1, retries not negative")
        self.timeout = timeout
        self.retries = retries
        self.window = window
        self.byte_time = byte_time
        self.silent_retries = silent_retries
        self.pending: deque[Request] = deque()
        self.stale: list[Frame] = []  # replies to requests no longer in flight, since the last reset
        self.echoes = 0  # requests heard back, since the last reset
        self.resent = 0  # frames sent again, ever
        self._seq = 0
        self._wire_free = 0.0

    def reset(self) -> None:
        self.pending.clear()
        self.stale = []
        self.echoes = 0
        self._wire_free = 0.0

    def accepts(self, request: Request) -> bool:
        if not self.pending:
            return True
        return not request.barrier and len(self.pending) < self.window and not self.pending[-1].barrier

    def send(self, request: Request, now: float) -> bytes:
        """Put ``request`` in flight with a new sequence number; the frame to write."""
        busy = {r.seq for r in self.pending}
        self._seq = (self._seq + 1) & 0xFF
        while self._seq in busy:
            self._seq = (self._seq + 1) & 0xFF
        request.seq = self._seq
        request.sent = now
        frame = encode_frame(request.seq, request.command, request.payload)
        wire_end = max(now, self._wire_free) + len(frame) * self.byte_time
        self._wire_free = wire_end
        request.deadline = wire_end + (OVERHEAD + request.reply_size) * self.byte_time + self.timeout
        request.ceiling = request.deadline + request.work_s + sum(r.work_s for r in self.pending)
        self.pending.append(request)
        return frame

    def deadline(self) -> float:
        return min(r.deadline for r in self.pending)

    def on_frame(self, frame: Frame, now: float) -> tuple[list[tuple[Request, bytes]], list[bytes]]:
        """``(done, to_send)``: requests answered OK with their payloads, frames to send again.

        Raises :class:`ProgrammerRefused` for a NAK other than bad_crc.
        """
        if frame.kind == REQUEST:
            self.echoes += 1  # our own request came back: a loopback, or a line that echoes
            return [], []
        target = next((r for r in self.pending if r.seq == frame.seq), None)
        if target is None or frame.command != target.command:
            self.stale.append(frame)
            return [], []
        to_send: list[bytes] = []
        # Replies come in order: whatever was sent before ``target`` and is still in flight was
        # lost (its request or its reply) and goes again. Safe: commands are idempotent, and an
        # erase never shares the window.
        while self.pending[0] is not target:
            to_send.append(self._again(self.pending.popleft(), now, "lost"))
        for request in self.pending:
            request.deadline = max(request.deadline, min(now + self.timeout, request.ceiling))
        if frame.kind == BUSY:
            target.busy += 1
            return [], to_send
        self.pending.popleft()
        if frame.kind == NAK:
            error, address, detail = decode_nak(frame.payload)
            if error == Nak.BAD_CRC:
                to_send.append(self._again(target, now, "bad_crc"))
                return [], to_send
            self.pending.clear()
            raise ProgrammerRefused(error, address=address, detail=detail, command=command_name(target.command),
                                    socket=target.socket if target.socket is not None else "?")
        return [(target, frame.payload)], to_send

    def on_corrupted(self, now: float) -> list[bytes]:
        """A frame failed its CRC: most likely the reply to the oldest request, which goes again."""
        if not self.pending:
            return []
        return [self._again(self.pending.popleft(), now, "garbled")]

    def on_silence(self, now: float, partial: bytes = b"") -> list[bytes]:
        """The deadline passed: send the overdue request once more, or raise ProgrammerTimeout."""
        overdue = [r for r in self.pending if r.deadline <= now]
        if not overdue:
            return []
        request = min(overdue, key=lambda r: r.deadline)
        what = command_name(request.command)
        error: ProgrammerTimeout | None = None
        if request.busy and now >= request.ceiling:
            error = ProgrammerTimeout("the programmer was still busy with {command} after {seconds:.0f} s",
                                      command=what, seconds=now - request.sent)
        elif request.silences >= self.silent_retries:
            if partial:
                error = ProgrammerTimeout("no complete reply to {command} within {timeout:g} s: half a frame "
                                          "then silence: {partial}", command=what, timeout=self.timeout,
                                          partial=_shown(partial))
            elif self.stale:
                error = ProgrammerWrongReply("no reply to {command} within {timeout:g} s; the programmer answered "
                                             "other requests instead (it is lagging behind)", command=what,
                                             timeout=self.timeout)
            elif self.echoes:
                error = ProgrammerTimeout("no reply to {command} within {timeout:g} s; the line only echoed the "
                                          "requests back (a loopback?)", command=what, timeout=self.timeout)
            else:
                error = ProgrammerTimeout("no reply from the programmer to {command} within {timeout:g} s, "
                                          "asked {times} times", command=what, timeout=self.timeout,
                                          times=request.silences + 1)
        if error is not None:
            error.partial = partial
            self.pending.clear()
            raise error
        request.silences += 1
        self.pending.remove(request)
        self.resent += 1
        return [self.send(request, now)]

    def _again(self, request: Request, now: float, why: str) -> bytes:
        request.attempts += 1
        if request.attempts > self.retries:
            self.pending.clear()
            what = command_name(request.command)
            if why == "bad_crc":
                raise ProgrammerRefused(Nak.BAD_CRC, command=what, attempts=request.attempts, socket=request.socket)
            raise ProgrammerGarbled("the replies to {command} were lost or corrupted {attempts} times: "
                                    "the line is too noisy", command=what, attempts=request.attempts)
        self.resent += 1
        return self.send(request, now)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Progress:
    """Where a :meth:`Programmer.program` is: ``phase`` "write" (erase included) or "verify"."""

    phase: str
    done: int
    total: int
    bytes_per_second: float
    elapsed_s: float

    @property
    def seconds_left(self) -> float | None:
        if self.bytes_per_second <= 0:
            return None
        return (self.total - self.done) / self.bytes_per_second


@dataclass(frozen=True)
class ProgramResult:
    """A chip programmed and verified: the programmer's SHA-256 of the range equals the image's."""

    socket: int | None
    chip: ChipInfo
    base: int
    size: int
    sha256: str  # hex, of the image (and, verified, of the chip's range)
    seconds: float  # erase + write + verify
    write_seconds: float
    verify_seconds: float
    resent: int  # frames sent again on the way (corrupted or lost)

    @property
    def bytes_per_second(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


# ---------------------------------------------------------------- the driver


class Programmer(ABC):
    """A gang programmer. Implementations provide the commands; :meth:`program` is built on them."""

    @abstractmethod
    def open(self) -> Programmer:
        """Open the line (ProgrammerPortLost if it cannot be); opening an open one does nothing."""

    @abstractmethod
    def close(self) -> None:
        """Release the line; safe from any thread and more than once."""

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @property
    def selected_socket(self) -> int | None:
        """The socket the chip commands work on, if known."""
        return None

    @property
    def resent(self) -> int:
        """Frames sent again so far (after corruption, loss or silence)."""
        return 0

    @abstractmethod
    def identify(self) -> Identity: ...

    @abstractmethod
    def status(self) -> Status: ...

    @abstractmethod
    def select(self, socket: int) -> None:
        """Make ``socket`` (1..Identity.sockets) the one the chip commands work on."""

    @abstractmethod
    def chip_id(self, expect: bytes | str | None = None) -> ChipInfo:
        """The chip in the selected socket; with ``expect``, the programmer refuses (wrong_chip) another."""

    @abstractmethod
    def blank_check(self, start: int, length: int) -> int | None:
        """The first address in the range that is not 0xFF, or None if the range is blank."""

    @abstractmethod
    def erase(self, start: int | None = None, length: int | None = None) -> None:
        """Erase the whole chip, or a range of whole sectors."""

    @abstractmethod
    def write(self, address: int, data: bytes, *, erase: bool = False,
              on_block: Callable[[int], None] | None = None) -> None:
        """Write ``data`` in 4 KiB blocks; ``erase`` first erases the sectors they cover.

        ``on_block(bytes_done)`` is called after each block the programmer acknowledged.
        """

    @abstractmethod
    def read(self, address: int, length: int) -> bytes: ...

    @abstractmethod
    def hash(self, start: int, length: int) -> bytes:
        """The SHA-256 of the range, computed by the programmer (nothing is read back)."""

    def program(self, image: bytes, *, base: int = 0, socket: int | None = None,
                expect_chip: bytes | str | None = None,
                progress: ProgressCallback | None = None) -> ProgramResult:
        """Erase, write and verify ``image`` at ``base`` in the selected socket (or ``socket``).

        With ``expect_chip`` (an ID, bytes or hex) another chip is refused before anything is
        erased. The verify (the programmer's SHA-256 of the range) is never skipped; on a
        mismatch :class:`VerifyFailed` names the first bad address. Any failure raises a
        :class:`ProgrammerError` whose ``written`` says how far the write got.
        """
        image = bytes(image)
        if not image:
            raise ValueError("an empty image cannot be programmed")
        expected = hashlib.sha256(image).digest()
        written = 0
        resent = self.resent
        try:
            if socket is not None:
                self.select(socket)
            socket = self.selected_socket
            chip = self.chip_id(expect_chip)
            if base < 0 or base % chip.sector:
                raise ProgrammerError("the image must start on a sector boundary of the {chip} "
                                      "({sector} bytes), not at {base}", code="programmer_misaligned",
                                      chip=chip.name, sector=chip.sector, base=f"0x{base:08X}")
            if base + len(image) > chip.size:
                raise ProgrammerError("the image ({size} bytes at {base}) does not fit the {chip} ({capacity} bytes)",
                                      code="programmer_image_too_large", size=len(image), base=f"0x{base:08X}",
                                      chip=chip.name, capacity=chip.size)
            started = time.monotonic()

            def on_block(done: int) -> None:
                nonlocal written
                written = done
                if progress is not None:
                    elapsed = time.monotonic() - started
                    progress(Progress("write", done, len(image), done / elapsed if elapsed > 0 else 0.0, elapsed))

            self.write(base, image, erase=True, on_block=on_block)
            wrote = time.monotonic()
            if progress is not None:
                progress(Progress("verify", 0, len(image), 0.0, wrote - started))
            digest = self.hash(base, len(image))
            if digest != expected:
                address = self._first_bad_address(image, base)
                template = ("verify failed in socket {socket}: the chip's SHA-256 of the range differs from the "
                            "image's; first bad address {address}" if address is not None else
                            "verify failed in socket {socket}: the chip's SHA-256 of the range differs from the "
                            "image's, but no byte differed when read back (a flaky cell?)")
                raise VerifyFailed(template, address=address, socket=socket if socket is not None else "?",
                                   expected=expected.hex(), actual=digest.hex())
            finished = time.monotonic()
            if progress is not None:
                elapsed = finished - started
                progress(Progress("verify", len(image), len(image), len(image) / elapsed, elapsed))
        except ProgrammerError as error:
            error.written = written
            raise
        return ProgramResult(socket, chip, base, len(image), expected.hex(), finished - started, wrote - started,
                             finished - wrote, self.resent - resent)

    def _first_bad_address(self, image: bytes, base: int) -> int | None:
        """Bisect by the programmer's hashes down to one block, then read back only that block."""
        low, high = 0, len(image)  # the first mismatch lies in image[low:high]
        while high - low > BLOCK:
            middle = low + max(BLOCK, (high - low) // 2 // BLOCK * BLOCK)
            if self.hash(base + low, middle - low) != hashlib.sha256(image[low:middle]).digest():
                high = middle
            else:
                low = middle
        chip = self.read(base + low, high - low)
        for offset, (want, got) in enumerate(zip(image[low:high], chip)):
            if want != got:
                return base + low + offset
        return None  # the mismatch did not show again: a flaky cell

    def __enter__(self) -> Programmer:
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()


class SerialProgrammer(Programmer):
    """A programmer on any pyserial URL: ``/dev/ttyUSB0``, ``socket://host:port``, ``loop://``, ``spy://``.

    One exchange at a time (a lock). The port is opened exclusively; every command opens it if it
    is closed, so a programmer that was power-cycled or replugged is found again.
    ``baudrate`` also sets the wire time in each deadline.
    """

    def __init__(self, url: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, window: int = DEFAULT_WINDOW) -> None:
        if baudrate <= 0:
            raise ValueError(f"baudrate must be positive, not {baudrate!r}")
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self._window = RequestWindow(timeout=timeout, retries=retries, window=window, byte_time=10 / baudrate)
        # A malformed URL fails here (ValueError), at start-up, not on the first chip.
        self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=POLL_INTERVAL,
                                           write_timeout=timeout + 2 * MAX_PAYLOAD * 10 / baudrate,
                                           exclusive=True, do_not_open=True)
        self._reader = FrameReader()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._needs_resync = False
        self._socket: int | None = None
        self._chip: ChipInfo | None = None
        self._partial = b""

    @property
    def resent(self) -> int:
        return self._window.resent

    @property
    def selected_socket(self) -> int | None:
        return self._socket

    @property
    def is_open(self) -> bool:
        return self._port.is_open

    def open(self) -> SerialProgrammer:
        with self._lock:
            self._open()
        return self

    def close(self) -> None:
        self._closing.set()
        acquired = self._lock.acquire(timeout=1.0)  # an exchange notices within POLL_INTERVAL
        try:
            self._close_port()
        finally:
            if acquired:
                self._lock.release()

    # -------------------------------------------------------------- commands

    def identify(self) -> Identity:
        return decode_identity(self._ask(Request(Command.IDENTIFY, reply_size=64)))

    def status(self) -> Status:
        return decode_status(self._ask(Request(Command.STATUS, reply_size=16)))

    def select(self, socket: int) -> None:
        if not 1 <= socket <= 0xFF:
            raise ValueError(f"a socket is a number from 1, not {socket!r}")
        self._socket, self._chip = None, None
        self._expect_empty(self._ask(Request(Command.SELECT, bytes([socket]), socket=socket)), Command.SELECT)
        self._socket = socket

    def chip_id(self, expect: bytes | str | None = None) -> ChipInfo:
        wanted = b"" if expect is None else parse_chip_id(expect)
        try:
            chip = decode_chip_info(self._ask(Request(Command.CHIP_ID, wanted, reply_size=48)))
        except ProgrammerRefused as refused:
            if refused.nak == Nak.WRONG_CHIP:
                refused.params.update(expected=wanted.hex().upper(), actual=refused.detail or "?")
                refused.args = (refused.message,)
            raise
        self._chip = chip
        return chip

    def blank_check(self, start: int, length: int) -> int | None:
        payload = self._ask(Request(Command.BLANK_CHECK, range_payload(start, length), reply_size=4,
                                    work_s=length / SLOWEST_READ_BYTES_PER_S))
        if len(payload) != 4:
            raise ProgrammerGarbled("the programmer's reply to {command} is {size} bytes, not 4",
                                    command="BLANK_CHECK", size=len(payload))
        first = int.from_bytes(payload, "little")
        return None if first == NO_ADDRESS else first

    def erase(self, start: int | None = None, length: int | None = None) -> None:
        if (start is None) != (length is None):
            raise ValueError("erase() takes both start and length, or neither (the whole chip)")
        if start is None:
            size = self._chip.size if self._chip is not None else UNKNOWN_CHIP_SIZE
            request = Request(Command.ERASE, work_s=_erase_seconds(size), barrier=True)
        else:
            request = Request(Command.ERASE, range_payload(start, length), work_s=_erase_seconds(length),
                              barrier=True)
        self._expect_empty(self._ask(request), Command.ERASE)

    def write(self, address: int, data: bytes, *, erase: bool = False,
              on_block: Callable[[int], None] | None = None) -> None:
        data = memoryview(bytes(data))
        if not data:
            raise ValueError("nothing to write")
        range_payload(address, len(data))
        sector = 1
        if erase:
            sector = (self._chip or self.chip_id()).sector
            if address % sector:
                raise ValueError(f"erasing as it writes needs an address on a {sector}-byte sector boundary, "
                                 f"not 0x{address:08X}")
        done = 0

        def requests():
            if erase:
                erase_length = -(-len(data) // sector) * sector
                yield Request(Command.ERASE, range_payload(address, erase_length),
                              work_s=_erase_seconds(erase_length), barrier=True)
            for offset in range(0, len(data), BLOCK):
                block = data[offset : offset + BLOCK]
                yield Request(Command.WRITE, struct.pack("<I", address + offset) + block, work_s=WRITE_S_PER_BLOCK,
                              tag=len(block))

        def answered(request: Request, payload: bytes) -> None:
            nonlocal done
            self._expect_empty(payload, request.command)
            if request.command == Command.WRITE:
                done += request.tag
                if on_block is not None:
                    on_block(done)

        self._exchange(requests(), answered)

    def read(self, address: int, length: int) -> bytes:
        range_payload(address, length)
        out = bytearray(length)

        def requests():
            for offset in range(0, length, BLOCK):
                size = min(BLOCK, length - offset)
                yield Request(Command.READ, range_payload(address + offset, size), reply_size=size,
                              work_s=size / SLOWEST_READ_BYTES_PER_S, tag=(offset, size))

        def answered(request: Request, payload: bytes) -> None:
            offset, size = request.tag
            if len(payload) != size:
                raise ProgrammerGarbled("the programmer answered READ of {size} bytes with {got}",
                                        size=size, got=len(payload))
            out[offset : offset + size] = payload

        self._exchange(requests(), answered)
        return bytes(out)

    def hash(self, start: int, length: int) -> bytes:
        digest = self._ask(Request(Command.HASH, range_payload(start, length), reply_size=32,
                                   work_s=length / SLOWEST_READ_BYTES_PER_S))
        if len(digest) != 32:
            raise ProgrammerGarbled("the programmer's SHA-256 is {size} bytes, not 32", size=len(digest))
        return digest

    # -------------------------------------------------------------- exchanges

    def _ask(self, request: Request) -> bytes:
        replies: list[bytes] = []
        self._exchange([request], lambda _request, payload: replies.append(payload))
        return replies[0]

    @staticmethod
    def _expect_empty(payload: bytes, command: int) -> None:
        if payload:
            raise ProgrammerGarbled("the programmer's OK to {command} carries {size} unexpected bytes",
                                    command=command_name(command), size=len(payload))

    def _exchange(self, requests: Iterable[Request], answered: Callable[[Request, bytes], None]) -> None:
        """Keep the window full from ``requests`` until every one is answered; errors raise."""
        source = iter(requests)
        waiting = next(source, None)
        window = self._window
        with self._lock:
            if not self._port.is_open:
                self._open()
            if self._needs_resync:
                self._resync()
            try:
                while True:
                    now = time.monotonic()
                    while waiting is not None and window.accepts(waiting):
                        waiting.socket = self._socket if waiting.socket is None else waiting.socket
                        self._send(window.send(waiting, now))
                        waiting = next(source, None)
                    if not window.pending:
                        return
                    item = self._next_frame(window.deadline())
                    now = time.monotonic()
                    done: list[tuple[Request, bytes]] = []
                    if item is None:
                        to_send = window.on_silence(now, self._partial)
                    elif isinstance(item, BadFrame):
                        to_send = window.on_corrupted(now)
                    else:
                        done, to_send = window.on_frame(item, now)
                    for frame in to_send:
                        self._send(frame)
                    for request, payload in done:
                        answered(request, payload)
            except BaseException:
                window.reset()
                self._needs_resync = True
                raise
            finally:
                window.stale, window.echoes = [], 0

    def _send(self, frame: bytes) -> None:
        try:
            self._port.write(frame)
        except serial.SerialTimeoutException as error:
            raise ProgrammerTimeout("could not send to the programmer within {timeout:g} s: {reason}",
                                    timeout=self.timeout, reason=error) from None
        except (serial.SerialException, OSError) as error:
            raise self._lost(error) from None

    def _next_frame(self, deadline: float) -> Frame | BadFrame | None:
        """The next frame, or None once ``deadline`` passes; a frame started but unfinished is kept in _partial."""
        reader, port = self._reader, self._port
        self._partial = b""
        while True:
            item = reader.next()
            if item is not None:
                return item
            if time.monotonic() >= deadline:
                if reader.partial:
                    # Perhaps a false start hid a real frame: look again one byte further.
                    self._partial = self._partial or reader.partial
                    reader.give_up_partial()
                    continue
                return None
            if self._closing.is_set():
                raise self._lost("the programmer was closed while waiting for a reply")
            try:
                data = port.read(max(port.in_waiting, reader.needed()))
            except (serial.SerialException, OSError) as error:
                raise self._lost(error) from None
            if data:
                reader.feed(data)

    # -------------------------------------------------------------- inside the lock

    def _open(self) -> None:
        if self._port.is_open:
            return
        self._closing.clear()
        try:
            self._port.open()  # pyserial empties the input buffer on open
        except (serial.SerialException, OSError) as error:
            raise ProgrammerPortLost("cannot open the programmer port {url}: {reason}", url=self.url,
                                     reason=error) from None
        self._reader.clear()
        self._window.reset()
        self._needs_resync = False
        self._socket, self._chip = None, None

    def _resync(self) -> None:
        """After an error: forget any half frame and drop what is waiting (stale replies, noise)."""
        self._reader.clear()
        dropped = 0
        try:
            while dropped < RESYNC_KEEP and (waiting := self._port.in_waiting):
                dropped += len(self._port.read(min(waiting, RESYNC_KEEP)))
        except (serial.SerialException, OSError) as error:
            raise self._lost(error) from None
        self._needs_resync = False

    def _lost(self, error: object) -> ProgrammerPortLost:
        self._close_port()
        return ProgrammerPortLost("the programmer port {url} is gone: {reason}", url=self.url, reason=error)

    def _close_port(self) -> None:
        self._reader.clear()
        self._window.reset()
        self._needs_resync = False
        try:
            self._port.close()
        except (serial.SerialException, OSError):
            pass  # the device may already be gone; a closed port is all we need


def _erase_seconds(length: int) -> float:
    return ERASE_S_PER_64K * max(1, -(-length // (64 * 1024)))
