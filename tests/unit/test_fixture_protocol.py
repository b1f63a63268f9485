"""The fixture protocol as pure functions: commands out, reply lines in, and the simulated
fixture's answers (the same bytes, without a line). No I/O."""

from __future__ import annotations

import pytest

from drivers.fixture import (
    MAX_LINE,
    FixtureCommandError,
    FixtureError,
    FixtureGarbage,
    FixturePortLost,
    FixtureTimeout,
    FixtureWrongReply,
    Reply,
    encode_command,
    normalize_command,
    parse_error,
    parse_reply_line,
)
from drivers.fixture_sim import (
    FAULTS,
    IDN,
    PROFILES,
    SimulatedFixture,
    older_version,
    parse_faults,
    resolve_profile,
)

# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("sent, echoed", [
    ("MEAS:VOLT? V12", "MEAS:VOLT? V12"),
    ("  meas:volt?    v12 ", "MEAS:VOLT? V12"),
    ("dut:power\ton", "DUT:POWER ON"),
    ("*idn?", "*IDN?"),
])
def test_the_echo_is_the_command_with_whitespace_collapsed_and_upper_case(sent, echoed):
    assert normalize_command(sent) == echoed
    assert encode_command(sent) == echoed.encode() + b"\n"


@pytest.mark.parametrize("bad", ["", "   ", "MEAS:VOLT? V12;*RST", "DISP:TEXT 车机", "KEY\x00TEST?",
                                 "X" * (MAX_LINE + 1)])
def test_a_command_that_cannot_be_sent_is_refused_before_sending(bad):
    with pytest.raises(ValueError):
        encode_command(bad)


def test_a_command_of_exactly_max_line_bytes_is_allowed():
    assert len(encode_command("X" * MAX_LINE)) == MAX_LINE + 1


# ---------------------------------------------------------------- reply lines


@pytest.mark.parametrize("line, parsed", [
    (b"MEAS:VOLT? V12;12.031", ("MEAS:VOLT? V12", "12.031")),
    (b"MEAS:VOLT? V12;12.031\r", ("MEAS:VOLT? V12", "12.031")),
    (b"DUT:POWER ON;OK", ("DUT:POWER ON", "OK")),
    (b"*IDN?;RMA,FX-100,FX100-0007,1.4.2", ("*IDN?", "RMA,FX-100,FX100-0007,1.4.2")),
    (b"CAM:FRAME?;OK 1920x1080", ("CAM:FRAME?", "OK 1920x1080")),
    (b"meas:volt?  v12; 12.031 ", ("MEAS:VOLT? V12", "12.031")),
    (b"FOO:BAR?;ERR -113 Undefined header", ("FOO:BAR?", "ERR -113 Undefined header")),
    (b"X?;a;b", ("X?", "a;b")),  # only the first ';' separates
    (b"X?;", ("X?", "")),
])
def test_a_good_reply_line_is_echo_and_payload(line, parsed):
    assert parse_reply_line(line) == parsed


@pytest.mark.parametrize("payload", ["NaN", "nan", "inf", "-inf", "12,03", "abc", "1e999", "", "  "])
def test_numbers_are_not_judged_by_the_driver(payload):
    assert parse_reply_line(b"MEAS:VOLT? V12;" + payload.encode()) == ("MEAS:VOLT? V12", payload.strip())


@pytest.mark.parametrize("line, reason", [
    (b"\xfe\x13\x88MEAS;x", "printable ASCII"),
    (b"MEAS:VOLT? V12;12.0\xb31", "printable ASCII"),
    (b"MEAS:VOLT? V12;12\t031", "printable ASCII"),
    (b"\x00", "printable ASCII"),
    (b"MEAS:VOLT? V12 12.031", "no ';'"),
    (b"12.031", "no ';'"),
    (b"X?;" + b"9" * MAX_LINE, f"longer than {MAX_LINE} bytes"),
])
def test_garbage_is_refused_with_the_reason_and_the_bytes(line, reason):
    with pytest.raises(FixtureGarbage) as garbage:
        parse_reply_line(line)
    assert reason in garbage.value.message
    assert garbage.value.raw == line
    assert repr(line[:20]) [:-1] in garbage.value.message  # the bytes are shown escaped
    assert garbage.value.code == "fixture_garbage"


def test_max_line_is_the_line_without_its_terminator():
    line = b"X?;" + b"9" * (MAX_LINE - 3)
    assert parse_reply_line(line + b"\r")[1] == "9" * (MAX_LINE - 3)
    with pytest.raises(FixtureGarbage):
        parse_reply_line(line + b"9")
    assert parse_reply_line(b"X?;12345", max_line=8) == ("X?", "12345")
    with pytest.raises(FixtureGarbage):
        parse_reply_line(b"X?;123456", max_line=8)


@pytest.mark.parametrize("payload, error", [
    ("ERR -113 Undefined header", (-113, "Undefined header")),
    ("ERR -241 Hardware missing", (-241, "Hardware missing")),
    ("ERR -224", (-224, "")),
    ("ERR", (None, "")),
    ("ERR overheated", (None, "overheated")),
    ("OK", None),
    ("12.031", None),
    ("ERROR COUNT 0", None),  # a payload that merely starts with the letters
    ("PASS n=9", None),
])
def test_an_err_payload_is_an_error_with_its_code(payload, error):
    assert parse_error(payload) == error


# ---------------------------------------------------------------- what callers see


def test_errors_carry_a_stable_code_a_message_and_the_raw_bytes():
    refused = FixtureCommandError(-113, "Undefined header", b"FOO?;ERR -113 Undefined header\r\n", command="FOO?")
    assert (refused.code, refused.scpi_code, refused.text) == ("fixture_command_error", -113, "Undefined header")
    assert refused.message == "the fixture refused 'FOO?': ERR -113 Undefined header" == str(refused)
    assert refused.raw.endswith(b"\r\n")
    codes = {cls.code for cls in (FixtureError, FixtureCommandError, FixtureTimeout, FixtureWrongReply,
                                  FixtureGarbage, FixturePortLost)}
    assert len(codes) == 6
    assert issubclass(FixtureWrongReply, FixtureTimeout)
    timeout = FixtureTimeout("no reply to {command} within {timeout:g} s", command="*IDN?", timeout=2.0)
    assert timeout.message == "no reply to '*IDN?' within 2 s" and timeout.raw == b"" and timeout.stale == []


def test_a_reply_keeps_every_raw_byte_for_the_ledger():
    reply = Reply("DUT:FW?", "3.2.17", b"\xffjunk\r\nDUT:FW?;3.2.17\r\n", 0.003, [b"\xffjunk"])
    assert reply.raw_text == "\\xffjunk\r\nDUT:FW?;3.2.17\r\n"
    with pytest.raises(AttributeError):
        reply.payload = "1.0.0"


# ---------------------------------------------------------------- the simulated fixture


def sent(fixture: SimulatedFixture, command: bytes) -> bytes:
    transmission = fixture.handle(command)
    assert transmission is not None
    return transmission.data


def test_the_simulator_answers_every_command_with_one_echoed_line():
    fixture = SimulatedFixture("head_unit", firmware="3.2.17", pace=False)
    assert sent(fixture, b"*idn?") == b"*IDN?;" + IDN.encode() + b"\r\n"
    assert sent(fixture, b"  dut:power   on\r") == b"DUT:POWER ON;OK\r\n"
    assert sent(fixture, b"DUT:FW?") == b"DUT:FW?;3.2.17\r\n"
    assert fixture.handle(b"") is None and fixture.handle(b"  \r") is None
    assert fixture.commands == 3
    for command, payload in [(b"FOO:BAR?", b"ERR -113 Undefined header"),
                             (b"MEAS:VOLT?", b"ERR -109 Missing parameter"),
                             (b"MEAS:VOLT? V24", b"ERR -224 Illegal parameter value"),
                             (b"*IDN? NOW", b"ERR -108 Parameter not allowed"),
                             (b"DUT:FW?;*RST", b"ERR -102 Syntax error")]:
        echo, _, got = sent(fixture, command).rstrip(b"\r\n").partition(b";")
        assert got == payload, command
        assert b";" not in echo


@pytest.mark.parametrize("family, missing, present", [
    ("head_unit", ["LIN:PING?"], ["CAN:PING?", "GPS:FIX?", "AUDIO:LEVEL? RR", "CAM:FRAME?", "TOUCH:TEST?"]),
    ("navigation", ["CAM:FRAME?", "AUDIO:LEVEL? RL", "LIN:PING?"], ["GPS:SNR?", "AUDIO:LEVEL? FR", "KEY:TEST?"]),
    ("dash_cam", ["CAN:PING?", "AUDIO:LEVEL? FL", "TOUCH:TEST?"], ["CAM:FPS?", "GPS:SATS?", "KEY:TEST?"]),
    ("cluster", ["GPS:FIX?", "AUDIO:LEVEL? FL", "CAM:FRAME?", "TOUCH:TEST?"], ["CAN:PING?", "LIN:PING?",
                                                                               "DISP:PATTERN RED"]),
    ("ecu", ["DISP:PATTERN RED", "GPS:FIX?", "KEY:TEST?", "CAM:FRAME?"], ["CAN:PING?", "LIN:PING?",
                                                                         "MEAS:VOLT? V1V8"]),
])
def test_each_family_has_the_functions_of_its_kind(family, missing, present):
    fixture = SimulatedFixture(family, pace=False)
    for command in missing:
        assert fixture.answer(command) == "ERR -241 Hardware missing", (family, command)
    for command in present:
        assert not fixture.answer(command).startswith("ERR"), (family, command)


def test_readings_are_realistic_with_small_deterministic_noise():
    def readings(seed):
        fixture = SimulatedFixture("cluster", pace=False, seed=seed)
        return [fixture.answer(c) for c in ("MEAS:VOLT? V12", "MEAS:CURR? SLEEP", "MEAS:VOLT? V3V3")]

    assert readings(0) == readings(0)
    assert readings(0) != readings(1)
    v12, sleep, v3v3 = map(float, readings(0))
    assert 11.9 < v12 < 12.1 and 1.1 < sleep < 1.3 and 3.28 < v3v3 < 3.32
    assert all(len(r.split(".")[1]) == 3 for r in (readings(0)[0], readings(0)[2]))  # 12.031


def test_pacing_is_one_wait_for_the_bytes_on_the_wire():
    paced = SimulatedFixture(pace=True, baudrate=115200).handle(b"DUT:FW?")
    # 8 command bytes (with LF) and 17 reply bytes, 10 bits each.
    assert paced.data == b"DUT:FW?;1.0.0\r\n"
    assert paced.delay == pytest.approx((8 + len(paced.data)) * 10 / 115200)
    assert SimulatedFixture(pace=False).handle(b"DUT:FW?").delay == 0


def test_faults_by_name():
    assert parse_faults(["dead_rail", "disconnect_after=3", "slow_replies", "half_line=2"]) == {
        "dead_rail": None, "disconnect_after": 3, "slow_replies": 3.0, "half_line": 2}
    with pytest.raises(ValueError) as unknown:
        parse_faults(["dead_rial"])
    assert all(name in str(unknown.value) for name in FAULTS)
    for bad in (["disconnect_after"], ["disconnect_after=0"], ["disconnect_after=x"], ["dead_rail=1"],
                ["wrong_firmware="]):
        with pytest.raises(ValueError):
            parse_faults(bad)
    assert set(FAULTS) == {"dead_rail", "low_rail", "no_gps_fix", "wrong_firmware", "dead_audio", "slow_replies",
                           "line_noise", "nan_reply", "half_line", "disconnect_after"}


@pytest.mark.parametrize("version, older", [("3.2.17", "3.1.17"), ("1.0.0", "0.9.0"), ("2.0", "1.9"),
                                            ("0.0.5", "0.0.4"), ("7", "6"), ("1.12.0", "1.11.0")])
def test_wrong_firmware_is_older(version, older):
    assert older_version(version) == older


@pytest.mark.parametrize("version", ["0.0.0", "v2.1-beta"])
def test_no_older_version_is_made_up(version):
    with pytest.raises(ValueError, match="wrong_firmware=VERSION"):
        older_version(version)


def test_line_faults_are_scheduled_deterministically():
    noisy = SimulatedFixture(faults=["line_noise"], pace=False, seed=7)
    replies = [sent(noisy, b"*OPC?") for _ in range(6)]
    assert replies[0] == replies[1] == replies[3] == b"*OPC?;1\r\n"
    for garbled in (replies[2], replies[5]):  # a noise line first, then the real reply
        noise, reply = garbled[:-len(b"*OPC?;1\r\n")], garbled[-len(b"*OPC?;1\r\n"):]
        assert reply == b"*OPC?;1\r\n" and noise.endswith(b"\r\n") and any(b >= 0x80 for b in noise)
        assert b"\n" not in noise[:-1]
    assert replies[4] != b"*OPC?;1\r\n" and len(replies[4]) == len(b"*OPC?;1\r\n")
    assert any(b >= 0x80 for b in replies[4])

    half = SimulatedFixture(faults=["half_line=2"], pace=False)
    assert sent(half, b"DUT:FW?") == b"DUT:FW?;1.0.0\r\n"
    assert sent(half, b"DUT:FW?") == b"DUT:FW?;"[:6]
    assert sent(half, b"DUT:FW?") == b"DUT:FW?;1.0.0\r\n"

    slow = SimulatedFixture(faults=["slow_replies=1.5"], pace=False).handle(b"*OPC?")
    assert slow.delay == 1.5

    leaving = SimulatedFixture(faults=["disconnect_after=2"], pace=False)
    assert [leaving.handle(b"*OPC?").hang_up for _ in range(2)] == [False, True]
    assert leaving.hung_up and leaving.handle(b"*OPC?") is None


def test_value_faults_change_what_is_measured():
    fixture = SimulatedFixture("head_unit", firmware="3.2.17", pace=False,
                               faults=["dead_rail", "low_rail", "no_gps_fix", "dead_audio", "wrong_firmware"])
    assert fixture.answer("MEAS:VOLT? V3V3") == "0.00"
    assert 4.55 < float(fixture.answer("MEAS:VOLT? V5")) < 4.67
    assert float(fixture.answer("MEAS:CURR? RUN")) < 400
    assert [fixture.answer(c) for c in ("GPS:FIX?", "GPS:SNR?", "GPS:SATS?")] == ["NONE", "0.0", "0"]
    assert fixture.answer("AUDIO:LEVEL? FL") == "-80.0"
    assert fixture.answer("DUT:FW?") == "3.1.17"
    assert SimulatedFixture(faults=["nan_reply"]).answer("MEAS:VOLT? V1V8") == "NaN"
    # A fault on hardware the family lacks changes nothing: the function is still missing.
    assert SimulatedFixture("cluster", faults=["no_gps_fix"]).answer("GPS:FIX?") == "ERR -241 Hardware missing"


def test_profiles_are_built_in_or_laid_over_a_base():
    assert set(PROFILES) == {"head_unit", "navigation", "dash_cam", "cluster", "ecu"}
    custom = resolve_profile({"base": "cluster", "rails_v": {"V12": "12,03"}, "can": "TIMEOUT"})
    fixture = SimulatedFixture(custom, pace=False)
    assert fixture.answer("MEAS:VOLT? V12") == "12,03"
    assert fixture.answer("MEAS:VOLT? V5") == "ERR -241 Hardware missing"
    assert fixture.answer("CAN:PING?") == "TIMEOUT"
    assert PROFILES["cluster"]["can"] == "OK"  # the built-in is untouched
    with pytest.raises(ValueError, match="unknown fixture profile"):
        SimulatedFixture("toaster")
    with pytest.raises(ValueError, match="unknown profile keys"):
        resolve_profile({"railz": {}})
