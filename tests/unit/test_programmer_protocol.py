"""The programmer protocol without a line: frames, CRC, finding frames again after noise, the
window of requests in flight (stale replies, lost and corrupted frames, silence, every NAK),
payloads, and the simulated programmer's answers and timing. No I/O."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from drivers.programmer import (
    BLOCK,
    BUSY,
    MAX_PAYLOAD,
    NAK,
    NAK_TEMPLATES,
    NO_ADDRESS,
    OK,
    SOF,
    BadFrame,
    ChipInfo,
    Command,
    Frame,
    FrameReader,
    Identity,
    Nak,
    ProgrammerGarbled,
    ProgrammerRefused,
    ProgrammerTimeout,
    ProgrammerWrongReply,
    Request,
    RequestWindow,
    Status,
    decode_chip_info,
    decode_identity,
    decode_nak,
    decode_status,
    encode_busy,
    encode_chip_info,
    encode_frame,
    encode_identity,
    encode_nak,
    encode_status,
    parse_chip_id,
)
from drivers.programmer_sim import (
    CHIPS,
    FAULTS,
    SimulatedProgrammer,
    parse_faults,
    parse_sockets,
)

# ---------------------------------------------------------------- frames


def test_a_frame_is_sof_seq_code_length_check_payload_and_crc32():
    frame = encode_frame(7, Command.WRITE, b"\x00\x10\x00\x00ABC")
    assert frame[0] == SOF == 0xA5
    assert frame[1:5] == bytes([7, 0x07]) + struct.pack("<H", 7)
    assert frame[5] == zlib.crc32(frame[1:5]) & 0xFF
    assert frame[6:13] == b"\x00\x10\x00\x00ABC"
    assert frame[13:] == struct.pack("<I", zlib.crc32(frame[1:13]))
    assert len(frame) == 6 + 7 + 4


def test_frames_that_cannot_be_sent_are_refused():
    with pytest.raises(ValueError):
        encode_frame(256, Command.IDENTIFY)
    with pytest.raises(ValueError):
        encode_frame(1, Command.WRITE, bytes(MAX_PAYLOAD + 1))
    assert len(encode_frame(1, Command.WRITE, bytes(MAX_PAYLOAD))) == MAX_PAYLOAD + 10


def frames_of(data: bytes, reader: FrameReader | None = None) -> list:
    reader = reader or FrameReader()
    reader.feed(data)
    out = []
    while (item := reader.next()) is not None:
        out.append(item)
    return out


def test_frames_come_out_whole_even_fed_a_byte_at_a_time():
    wire = encode_frame(1, OK | Command.IDENTIFY, b"hello") + encode_frame(2, OK | Command.READ, bytes(range(256)) * 16)
    reader = FrameReader()
    got = []
    for byte in wire:
        got += frames_of(bytes([byte]), reader)
    assert got == [Frame(1, OK | Command.IDENTIFY, b"hello"), Frame(2, OK | Command.READ, bytes(range(256)) * 16)]
    assert reader.skipped == 0 and reader.consumed == reader.fed == len(wire)


def test_noise_before_between_and_after_frames_is_skipped():
    first, second = encode_frame(1, OK | Command.SELECT), encode_frame(2, OK | Command.STATUS, b"\x01\x04\x00\x00\x00\x00")
    noise = b"\x00\xff\xa5\xa5\x13garbage\xa5"
    got = frames_of(noise + first + noise + second + noise[:3])
    assert [(f.seq, f.command) for f in got] == [(1, Command.SELECT), (2, Command.STATUS)]


def test_a_payload_full_of_sof_bytes_and_even_a_whole_frame_needs_no_escaping():
    inner = encode_frame(9, OK | Command.IDENTIFY, b"inner")
    payload = bytes([SOF]) * 100 + inner + bytes([SOF])
    assert frames_of(encode_frame(3, OK | Command.READ, payload)) == [Frame(3, OK | Command.READ, payload)]


def test_a_corrupted_payload_is_a_bad_frame_and_the_next_frame_is_still_found():
    bad = bytearray(encode_frame(4, OK | Command.READ, b"x" * 100))
    bad[50] ^= 0x01
    good = encode_frame(5, OK | Command.HASH, bytes(32))
    got = frames_of(bytes(bad) + good)
    assert isinstance(got[0], BadFrame) and (got[0].seq, got[0].code) == (4, OK | Command.READ)
    assert got[1] == Frame(5, OK | Command.HASH, bytes(32))


@pytest.mark.parametrize("at", [1, 2, 3, 4, 5])
def test_a_corrupted_header_is_skipped_as_noise_and_the_next_frame_is_found(at):
    bad = bytearray(encode_frame(4, OK | Command.SELECT, b"abc"))
    bad[at] ^= 0x40
    good = encode_frame(6, OK | Command.SELECT)
    reader = FrameReader()
    assert frames_of(bytes(bad) + good, reader) == [Frame(6, OK | Command.SELECT)]
    assert reader.skipped == len(bad)


def test_a_false_start_that_claims_a_long_payload_is_given_up_and_the_frame_behind_it_found():
    # A header that passes its check by chance, claiming 4000 bytes, followed by a real short frame.
    head = struct.pack("<BBH", 1, OK | Command.READ, 4000)
    false_start = bytes([SOF]) + head + bytes([zlib.crc32(head) & 0xFF])
    good = encode_frame(2, OK | Command.SELECT)
    reader = FrameReader()
    assert frames_of(false_start + good, reader) == []  # waiting for 4000 bytes that never come
    assert reader.partial == false_start + good and reader.needed() == 4000 + 10 - len(false_start + good)
    assert reader.give_up_partial()  # what the driver does at the deadline
    assert frames_of(b"", reader) == [Frame(2, OK | Command.SELECT)]
    assert reader.partial == b""


def test_a_length_beyond_the_maximum_is_not_a_frame():
    head = struct.pack("<BBH", 1, OK | Command.READ, MAX_PAYLOAD + 1)
    reader = FrameReader()
    assert frames_of(bytes([SOF]) + head + bytes([zlib.crc32(head) & 0xFF]), reader) == []
    assert reader.partial == b"" and reader.skipped == 6


# ---------------------------------------------------------------- payloads


def test_payloads_round_trip():
    identity = Identity("RMA GP-400", "GP400-0012", "2.3.1", 4)
    assert decode_identity(encode_identity(identity)) == identity
    status = Status(2, ("ready", "empty", "disabled", "ready"))
    assert decode_status(encode_status(status)) == status
    assert decode_status(encode_status(Status(None, ("ready",) * 4))).selected is None
    chip = ChipInfo(bytes.fromhex("EF4015"), "W25Q16", 2 * 1024 * 1024, 4096)
    assert decode_chip_info(encode_chip_info(chip)) == chip and chip.id_hex == "EF4015"
    assert decode_nak(encode_nak(Nak.WRITE_FAILED, 0x5000, "the chip did not take the data")) == (
        Nak.WRITE_FAILED, 0x5000, "the chip did not take the data")
    assert decode_nak(encode_nak(Nak.NO_TARGET)) == (Nak.NO_TARGET, None, "")


def test_a_reply_too_short_or_too_long_is_garbled_not_a_crash():
    payload = encode_identity(Identity("M", "S", "F", 4))
    with pytest.raises(ProgrammerGarbled, match="too short"):
        decode_identity(payload[:-1])
    with pytest.raises(ProgrammerGarbled, match="too long"):
        decode_identity(payload + b"x")


@pytest.mark.parametrize("text, expected", [("EF4015", b"\xef\x40\x15"), ("ef 40 15", b"\xef\x40\x15"),
                                            ("EF:40:15", b"\xef\x40\x15"), (b"\x04\x10", b"\x04\x10")])
def test_chip_ids_are_given_as_hex_or_bytes(text, expected):
    assert parse_chip_id(text) == expected


@pytest.mark.parametrize("bad", ["", "XYZ", "EF401", bytes(17)])
def test_a_chip_id_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError):
        parse_chip_id(bad)


# ---------------------------------------------------------------- the window of requests in flight

BYTE = 10 / 921600


def make_window(**options) -> RequestWindow:
    return RequestWindow(**{"timeout": 1.0, "retries": 3, "window": 2, "byte_time": BYTE, **options})


def seq_of(frame: bytes) -> int:
    return frame[1]


def ok(request: Request, payload: bytes = b"") -> Frame:
    return Frame(request.seq, OK | request.command, payload)


def test_each_request_gets_its_own_sequence_number_and_its_reply():
    window = make_window()
    first, second = Request(Command.WRITE, b"\0" * 8), Request(Command.WRITE, b"\1" * 8)
    frames = [window.send(first, 0.0), window.send(second, 0.0)]
    assert seq_of(frames[0]) != seq_of(frames[1])
    assert frames_of(frames[0]) == [Frame(first.seq, Command.WRITE, b"\0" * 8)]
    assert window.on_frame(ok(first), 0.01) == ([(first, b"")], [])
    assert window.on_frame(ok(second), 0.02) == ([(second, b"")], [])
    assert not window.pending


def test_a_stale_reply_is_recognised_by_its_sequence_number_and_discarded():
    window = make_window()
    request = Request(Command.IDENTIFY)
    old_seq = seq_of(window.send(request, 0.0))
    again = window.on_silence(window.deadline())  # no answer in time: asked again, with a new number
    new_seq = seq_of(again[0])
    assert len(again) == 1 and new_seq != old_seq
    late = Frame(old_seq, OK | Command.IDENTIFY, b"late")  # the reply to the first asking
    assert window.on_frame(late, 1.2) == ([], [])
    assert window.stale == [late] and len(window.pending) == 1
    assert window.on_frame(Frame(new_seq, OK | Command.IDENTIFY, b"mine"), 1.3)[0][0][1] == b"mine"


def test_a_reply_to_another_command_with_the_same_number_is_stale_too():
    window = make_window()
    request = Request(Command.HASH, b"\0" * 8)
    window.send(request, 0.0)
    assert window.on_frame(Frame(request.seq, OK | Command.READ, b"x"), 0.1) == ([], [])
    assert window.on_frame(Frame(request.seq, Command.HASH, b"x"), 0.1) == ([], [])  # a request, not a reply
    assert len(window.stale) == 1 and window.echoes == 1 and window.pending[0] is request


def test_a_reply_to_a_later_request_means_the_earlier_one_was_lost_and_it_goes_again_at_once():
    window = make_window()
    first, second = Request(Command.WRITE, b"a" * 8), Request(Command.WRITE, b"b" * 8)
    window.send(first, 0.0)
    window.send(second, 0.0)
    old_seq = first.seq
    done, again = window.on_frame(ok(second), 0.05)
    assert done == [(second, b"")]
    assert len(again) == 1 and frames_of(again[0])[0].payload == b"a" * 8
    assert first.seq != old_seq and first.attempts == 1 and window.resent == 1
    assert list(window.pending) == [first]


def test_a_corrupted_reply_sends_the_oldest_request_again_and_retries_are_bounded():
    window = make_window(retries=2)
    request = Request(Command.READ, b"\0" * 8)
    window.send(request, 0.0)
    assert len(window.on_corrupted(0.01)) == 1
    assert len(window.on_corrupted(0.02)) == 1
    with pytest.raises(ProgrammerGarbled) as garbled:
        window.on_corrupted(0.03)
    assert garbled.value.code == "programmer_garbled" and "3 times" in garbled.value.message
    assert not window.pending


def test_nak_bad_crc_sends_again_and_gives_up_as_bad_crc():
    window = make_window(retries=1)
    request = Request(Command.SELECT, b"\x01")
    window.send(request, 0.0)
    done, again = window.on_frame(Frame(request.seq, NAK | Command.SELECT, encode_nak(Nak.BAD_CRC)), 0.01)
    assert done == [] and len(again) == 1
    with pytest.raises(ProgrammerRefused) as refused:
        window.on_frame(Frame(request.seq, NAK | Command.SELECT, encode_nak(Nak.BAD_CRC)), 0.02)
    assert refused.value.code == "programmer_bad_crc" and refused.value.nak == Nak.BAD_CRC
    assert "line is too noisy" in refused.value.message


def test_silence_asks_once_more_then_times_out():
    window = make_window()
    request = Request(Command.IDENTIFY)
    window.send(request, 0.0)
    assert window.deadline() == pytest.approx(1.0 + 2 * 10 * BYTE)
    assert window.on_silence(0.5) == []  # not yet due
    assert len(window.on_silence(window.deadline())) == 1
    with pytest.raises(ProgrammerTimeout) as timed_out:
        window.on_silence(window.deadline())
    assert type(timed_out.value) is ProgrammerTimeout and timed_out.value.code == "programmer_timeout"
    assert timed_out.value.message == "no reply from the programmer to IDENTIFY within 1 s, asked 2 times"


def test_silence_after_stale_replies_is_a_wrong_reply_and_after_half_a_frame_says_so():
    window = make_window()
    window.send(Request(Command.IDENTIFY), 0.0)
    window.on_frame(Frame(200, OK | Command.IDENTIFY), 0.5)
    window.on_silence(window.deadline())
    with pytest.raises(ProgrammerWrongReply) as lagging:
        window.on_silence(window.deadline())
    assert lagging.value.code == "programmer_wrong_reply" and "lagging behind" in lagging.value.message

    window = make_window()
    window.send(Request(Command.READ, b"\0" * 8), 0.0)
    window.on_silence(window.deadline())
    with pytest.raises(ProgrammerTimeout, match="half a frame then silence: A5 01") as half:
        window.on_silence(window.deadline(), partial=b"\xa5\x01\x88")
    assert half.value.partial == b"\xa5\x01\x88"


def test_busy_keeps_a_long_request_alive_up_to_its_ceiling():
    window = make_window()
    erase = Request(Command.ERASE, b"\0" * 8, work_s=4.0, barrier=True)
    window.send(erase, 0.0)
    now = 0.0
    for _ in range(15):  # BUSY every 0.25 s for 3.75 s: never overdue
        now += 0.25
        assert window.on_frame(Frame(erase.seq, BUSY | Command.ERASE, encode_busy(1, 2)), now) == ([], [])
        assert window.deadline() > now + 0.5
    assert window.on_frame(ok(erase), now + 0.1)[0] == [(erase, b"")]

    window = make_window()
    stuck = Request(Command.ERASE, b"\0" * 8, work_s=2.0, barrier=True)
    window.send(stuck, 0.0)
    now = 0.0
    while now < 10:
        now += 0.25
        window.on_frame(Frame(stuck.seq, BUSY | Command.ERASE, encode_busy(1, 2)), now)
        if window.deadline() <= now + 0.25:
            break
    with pytest.raises(ProgrammerTimeout, match="still busy with ERASE after 3 s"):
        window.on_silence(window.deadline())
    assert now < 4


def test_an_erase_never_shares_the_window():
    window = make_window(window=3)
    write = Request(Command.WRITE, b"\0" * 8)
    erase = Request(Command.ERASE, b"\0" * 8, barrier=True)
    window.send(write, 0.0)
    assert not window.accepts(erase)  # the write must be answered first
    window.on_frame(ok(write), 0.1)
    assert window.accepts(erase)
    window.send(erase, 0.1)
    assert not window.accepts(Request(Command.WRITE, b"\0" * 8))  # nothing goes after it until it is done


def test_the_deadline_grows_with_the_bytes_on_the_wire():
    window = make_window(window=1)
    small, block = Request(Command.STATUS, reply_size=16), Request(Command.WRITE, bytes(4 + BLOCK))
    window.send(small, 0.0)
    small_wait = window.deadline()
    window.on_frame(ok(small), 0.0)
    window.send(block, 1.0)
    assert window.deadline() - 1.0 - small_wait == pytest.approx((BLOCK + 4 - 16) * BYTE, rel=1e-6)


@pytest.mark.parametrize("nak", [n for n in Nak if n != Nak.BAD_CRC])
def test_every_nak_is_refused_at_once_with_its_code_and_a_readable_message(nak):
    window = make_window()
    request = Request(Command.WRITE, b"\0" * 8, socket=3)
    window.send(request, 0.0)
    detail = "EF4016" if nak == Nak.WRONG_CHIP else "why"
    with pytest.raises(ProgrammerRefused) as refused:
        window.on_frame(Frame(request.seq, NAK | Command.WRITE, encode_nak(nak, 0x3000, detail)), 0.1)
    error = refused.value
    assert error.code == f"programmer_{nak.name.lower()}" and error.nak == nak
    assert error.address == 0x3000 and error.detail == detail
    assert "{" not in error.message and error.template == NAK_TEMPLATES[nak]
    assert not window.pending  # nothing is resent after a real error


def test_messages_name_the_socket_and_address():
    cases = {
        Nak.NO_TARGET: "no chip answers in socket 3",
        Nak.WRITE_FAILED: "writing failed at address 0x00003000 in socket 3",
        Nak.ERASE_FAILED: "erasing failed at address 0x00003000 in socket 3",
        Nak.SOCKET_DISABLED: "socket 3 is disabled: it failed the programmer's self-test",
        Nak.NO_SOCKET: "the programmer has no socket 3",
        Nak.BAD_SEQUENCE: "the programmer refused WRITE out of sequence: select a socket first",
        Nak.TARGET_TIMEOUT: "the chip in socket 3 did not finish WRITE in time",
    }
    details = {Nak.SOCKET_DISABLED: "it failed the programmer's self-test", Nak.BAD_SEQUENCE: "select a socket first"}
    for nak, message in cases.items():
        error = ProgrammerRefused(nak, address=0x3000, detail=details.get(nak, ""), command="WRITE", socket=3)
        assert error.message == message


def test_an_unknown_error_number_is_still_an_error():
    error = ProgrammerRefused(0x77, detail="new firmware", command="HASH")
    assert error.code == "programmer_refused" and "119" in error.message and "new firmware" in error.message


# ---------------------------------------------------------------- the simulated programmer


def talk(programmer: SimulatedProgrammer, seq: int, command: int, payload: bytes = b"", now: float = 0.0
         ) -> list[Frame]:
    sent = programmer.receive(encode_frame(seq, command, payload), now)
    return frames_of(b"".join(t.data for t in sent))


def one(programmer: SimulatedProgrammer, seq: int, command: int, payload: bytes = b"") -> Frame:
    replies = talk(programmer, seq, command, payload)
    assert len(replies) == 1 and replies[0].seq == seq
    return replies[0]


def test_the_simulated_programmer_identifies_and_answers_each_chip():
    programmer = SimulatedProgrammer({2: "24C64", 3: "STM32F103CB", 4: None}, pace=False)
    identity = decode_identity(one(programmer, 1, Command.IDENTIFY).payload)
    assert (identity.model, identity.sockets, identity.max_block) == ("RMA GP-400", 4, BLOCK)
    assert decode_status(one(programmer, 2, Command.STATUS).payload).sockets == ("ready", "ready", "ready", "empty")
    expected = {1: ("EF4015", 2 * 1024 * 1024, 4096), 2: ("002464", 8192, 32), 3: ("0410", 128 * 1024, 1024)}
    for socket, (chip_id, size, sector) in expected.items():
        assert one(programmer, 3, Command.SELECT, bytes([socket])).code == OK | Command.SELECT
        chip = decode_chip_info(one(programmer, 4, Command.CHIP_ID).payload)
        assert (chip.id_hex, chip.size, chip.sector) == (chip_id, size, sector)
    one(programmer, 5, Command.SELECT, b"\x04")
    assert decode_nak(one(programmer, 6, Command.CHIP_ID).payload)[0] == Nak.NO_TARGET


def test_the_simulated_programmer_refuses_what_a_real_one_would():
    programmer = SimulatedProgrammer(pace=False)
    cases = [
        (Command.CHIP_ID, b"", Nak.BAD_SEQUENCE),  # no socket selected yet
        (Command.SELECT, b"\x05", Nak.NO_SOCKET),
        (Command.SELECT, b"", Nak.BAD_ARGUMENT),
        (0x3F, b"", Nak.UNKNOWN_COMMAND),
    ]
    for command, payload, nak in cases:
        reply = one(programmer, 9, command, payload)
        assert reply.kind == NAK and decode_nak(reply.payload)[0] == nak, (command, nak)
    one(programmer, 10, Command.SELECT, b"\x01")
    for command, payload in [(Command.READ, struct.pack("<II", 0, BLOCK + 1)),
                             (Command.READ, struct.pack("<II", 2 * 1024 * 1024 - 4, 8)),
                             (Command.ERASE, struct.pack("<II", 100, 4096)),
                             (Command.WRITE, struct.pack("<I", 0)),
                             (Command.CHIP_ID, bytes(17))]:
        assert decode_nak(one(programmer, 11, command, payload).payload)[0] == Nak.BAD_ARGUMENT
    reply = one(programmer, 12, Command.CHIP_ID, bytes.fromhex("EF4016"))
    assert decode_nak(reply.payload) == (Nak.WRONG_CHIP, None, "EF4015")


def test_a_request_that_arrives_corrupted_gets_nak_bad_crc_with_its_number():
    programmer = SimulatedProgrammer(pace=False)
    frame = bytearray(encode_frame(42, Command.IDENTIFY))
    frame[-1] ^= 0xFF
    replies = frames_of(b"".join(t.data for t in programmer.receive(bytes(frame), 0.0)))
    assert replies[0].seq == 42 and replies[0].code == NAK | Command.IDENTIFY
    assert decode_nak(replies[0].payload)[0] == Nak.BAD_CRC


def test_nor_flash_programming_only_clears_bits_and_erase_sets_ff():
    programmer = SimulatedProgrammer(pace=False)
    one(programmer, 1, Command.SELECT, b"\x01")
    one(programmer, 2, Command.WRITE, struct.pack("<I", 0) + b"\xf0\x0f")
    one(programmer, 3, Command.WRITE, struct.pack("<I", 0) + b"\x3c\x3c")  # without an erase
    assert programmer.contents(1)[:3] == b"\x30\x0c\xff"
    assert one(programmer, 4, Command.BLANK_CHECK, struct.pack("<II", 0, 8192)).payload == struct.pack("<I", 0)
    one(programmer, 5, Command.ERASE, struct.pack("<II", 0, 4096))
    assert one(programmer, 6, Command.BLANK_CHECK, struct.pack("<II", 0, 8192)).payload == struct.pack("<I", NO_ADDRESS)
    assert one(programmer, 7, Command.HASH, struct.pack("<II", 0, 4096)).payload == hashlib.sha256(b"\xff" * 4096).digest()


def test_pacing_takes_ten_bits_a_byte_each_way_and_latency_is_added():
    programmer = SimulatedProgrammer(pace=True, latency=0.004)
    select = encode_frame(1, Command.SELECT, b"\x01")
    [reply] = programmer.receive(select, 100.0)
    ack = encode_frame(1, OK | Command.SELECT)
    assert reply.at == pytest.approx(100.0 + (len(select) + len(ack)) * BYTE + 0.004)
    # Two 4 KiB blocks written at once arrive one after the other: each is answered when it is in.
    write = [encode_frame(n, Command.WRITE, struct.pack("<I", n * BLOCK) + bytes(BLOCK)) for n in (2, 3)]
    first, second = programmer.receive(b"".join(write), 200.0)
    assert first.at == pytest.approx(200.0 + (len(write[0]) + 10) * BYTE + 0.004)
    assert second.at == pytest.approx(200.0 + (2 * len(write[0]) + 10) * BYTE + 0.004)


def test_with_chip_time_a_long_erase_says_busy_every_quarter_second():
    programmer = SimulatedProgrammer(pace=False, chip_time=1.0)
    programmer.receive(encode_frame(1, Command.SELECT, b"\x01"), 0.0)
    sent = programmer.receive(encode_frame(2, Command.ERASE, struct.pack("<II", 0, 1024 * 1024)), 1.0)
    busy = [t for t in sent if frames_of(t.data)[0].kind == BUSY]
    assert [round(t.at - 1.0, 2) for t in busy] == [0.25 * n for n in range(1, 10)]  # 16 blocks of 150 ms
    assert sent[-1].at == pytest.approx(1.0 + 16 * 0.150) and frames_of(sent[-1].data)[0].kind == OK


def test_a_request_hit_by_noise_on_its_way_is_refused_bad_crc_sent_again_and_written():
    programmer = SimulatedProgrammer(pace=False)
    window = make_window()
    one(programmer, 200, Command.SELECT, b"\x01")
    block = Request(Command.WRITE, struct.pack("<I", 0x1000) + b"firmware" * 512)
    frame = bytearray(window.send(block, 0.0))
    frame[100] ^= 0x08  # noise on the way to the programmer
    [nak] = frames_of(b"".join(t.data for t in programmer.receive(bytes(frame), 0.0)))
    done, again = window.on_frame(nak, 0.01)
    assert done == [] and len(again) == 1 and block.attempts == 1
    [reply] = frames_of(b"".join(t.data for t in programmer.receive(again[0], 0.02)))
    assert window.on_frame(reply, 0.03) == ([(block, b"")], [])
    assert programmer.contents(1)[0x1000 : 0x1000 + 4096] == b"firmware" * 512


def test_the_simulated_programmer_keeps_its_chips_across_sessions():
    programmer = SimulatedProgrammer(pace=False)
    one(programmer, 1, Command.SELECT, b"\x02")
    one(programmer, 2, Command.WRITE, struct.pack("<I", 16) + b"kept")
    programmer.connect(5.0)
    assert programmer.selected is None and programmer.sessions == 1
    assert decode_nak(one(programmer, 3, Command.READ, struct.pack("<II", 16, 4)).payload)[0] == Nak.BAD_SEQUENCE
    one(programmer, 4, Command.SELECT, b"\x02")
    assert one(programmer, 5, Command.READ, struct.pack("<II", 16, 4)).payload == b"kept"


# ---------------------------------------------------------------- faults and sockets, as parsed


def test_faults_are_parsed_by_name_value_and_socket():
    programmer, chips = parse_faults(["timeout=5", "write_protect@2", "nack_at_block=0x10", "wrong_chip_id=EF4017@1",
                                      "corrupt_frame", "power_loss_mid_block", "bad_socket=4"])
    assert programmer == {"timeout": 5, "corrupt_frame": 3, "bad_socket": 4}
    assert chips == {2: {"write_protect": True}, None: {"nack_at_block": 16, "power_loss_mid_block": 2},
                     1: {"wrong_chip_id": bytes.fromhex("EF4017")}}


@pytest.mark.parametrize("bad, says", [
    ("exploded", "known faults: no_target"), ("timeout@2", "the programmer's, not a socket's"),
    ("write_protect@9", "sockets 1 to 4"), ("nack_at_block", "needs a value"), ("nack_at_block=x", "bad value"),
    ("bad_socket=5", "bad value"), ("link_drop_at_byte=0", "bad value"), ("no_target=1", "takes no value"),
    ("wrong_chip_id=XYZ", "hex"),
])
def test_a_fault_that_is_not_one_is_refused_saying_why(bad, says):
    with pytest.raises(ValueError, match=says):
        parse_faults([bad])


def test_every_fault_is_documented_and_parsed():
    needs_value = {"nack_at_block": "1", "verify_mismatch_at": "5", "link_drop_at_byte": "100", "bad_socket": "2"}
    for name in FAULTS:
        spec = f"{name}={needs_value[name]}" if name in needs_value else name
        programmer, chips = parse_faults([spec])
        assert name in programmer or name in chips.get(None, {})


def test_sockets_are_given_as_number_equals_chip():
    assert parse_sockets(["1=w25q16", "2=24C64", "3=", "4=empty"]) == {1: "W25Q16", 2: "24C64", 3: None, 4: None}
    for bad in ["5=W25Q16", "one=W25Q16", "1=AT28C256"]:
        with pytest.raises(ValueError):
            parse_sockets([bad])
    assert set(CHIPS) >= {"W25Q16", "24C64", "STM32F103CB"}
