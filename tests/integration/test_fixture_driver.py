"""The fixture driver against the simulated fixture, over a real pseudo-terminal and over socket://.

Every named fault must give what a tester would expect to see at the driver: a value that a
test plan then fails, or a precise error. Waits are bounded; nothing here is a timed test
(the timing check at the end prints, it does not assert).
"""

from __future__ import annotations

import select
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from drivers.fixture import (
    FixtureCommandError,
    FixtureGarbage,
    FixturePortLost,
    FixtureTimeout,
    FixtureWrongReply,
    Reply,
    SerialFixture,
)
from drivers.fixture_sim import IDN, FixtureSimulator, TcpFixtureSimulator

ROOT = Path(__file__).resolve().parents[2]
QUICK = 2.0  # "at once": far below any wait that would mean a hang, generous on a loaded machine


@pytest.fixture(params=["pty", "tcp"])
def transport(request) -> str:
    return request.param


@pytest.fixture
def make_sim(transport):
    started = []

    def make(profile="head_unit", **options):
        simulator = (FixtureSimulator if transport == "pty" else TcpFixtureSimulator)(profile, **options)
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.close()


@pytest.fixture
def connect():
    opened: list[SerialFixture] = []

    def connect(url: str, **options) -> SerialFixture:
        fixture = SerialFixture(url, **options).open()
        opened.append(fixture)
        return fixture

    yield connect
    for fixture in opened:
        fixture.close()


def payloads(fixture: SerialFixture, *commands: str) -> list[str]:
    return [fixture.query(command).payload for command in commands]


# ---------------------------------------------------------------- a good unit


def test_identify_and_a_test_sequence_get_their_own_payloads(make_sim, connect):
    sim = make_sim("head_unit", firmware="3.2.17")
    fixture = connect(sim.url)

    assert fixture.identify() == IDN
    reply = fixture.query("meas:volt?   v12")
    assert isinstance(reply, Reply)
    assert reply.command == "MEAS:VOLT? V12"
    assert reply.raw == b"MEAS:VOLT? V12;" + reply.payload.encode() + b"\r\n"
    assert reply.stale == [] and 0 < reply.elapsed_s < QUICK
    assert 11.9 < float(reply.payload) < 12.1

    got = dict(zip(["power", "boot", "v5", "v3v3", "v1v8", "run", "can", "fw", "disp", "touch", "fix", "snr",
                    "sats", "fl", "rr", "frame", "fps", "keys", "sleep", "sleep_i", "off", "opc"],
                   payloads(fixture, "DUT:POWER ON", "MEAS:CURR? BOOT", "MEAS:VOLT? V5", "MEAS:VOLT? V3V3",
                            "MEAS:VOLT? V1V8", "MEAS:CURR? RUN", "CAN:PING?", "DUT:FW?", "DISP:PATTERN RED",
                            "TOUCH:TEST?", "GPS:FIX?", "GPS:SNR?", "GPS:SATS?", "AUDIO:LEVEL? FL",
                            "AUDIO:LEVEL? RR", "CAM:FRAME?", "CAM:FPS?", "KEY:TEST?", "DUT:SLEEP",
                            "MEAS:CURR? SLEEP", "DUT:POWER OFF", "*OPC?")))
    assert got["power"] == got["disp"] == got["sleep"] == got["off"] == got["can"] == "OK"
    assert 800 < float(got["boot"]) < 900 and 1100 < float(got["run"]) < 1300 and 2.3 < float(got["sleep_i"]) < 2.7
    assert 4.95 < float(got["v5"]) < 5.1 and 3.25 < float(got["v3v3"]) < 3.35 and 1.77 < float(got["v1v8"]) < 1.83
    assert got["fw"] == "3.2.17" and got["touch"] == "PASS n=9" and got["keys"] == "PASS 6/6"
    assert got["fix"] == "3D" and 38 < float(got["snr"]) < 42 and got["sats"] == "9"
    assert -6.5 < float(got["fl"]) < -5.5 and -6.5 < float(got["rr"]) < -5.5
    assert got["frame"] == "OK 1920x1080" and 29.9 < float(got["fps"]) < 30.1 and got["opc"] == "1"


def test_a_function_the_family_lacks_is_refused_with_the_fixtures_error(make_sim, connect):
    fixture = connect(make_sim("cluster", firmware="4.3.0").url)
    assert payloads(fixture, "CAN:PING?", "LIN:PING?", "KEY:TEST?") == ["OK", "OK", "PASS 2/2"]
    with pytest.raises(FixtureCommandError) as refused:
        fixture.query("GPS:FIX?")
    assert (refused.value.scpi_code, refused.value.text) == (-241, "Hardware missing")
    assert refused.value.raw == b"GPS:FIX?;ERR -241 Hardware missing\r\n"
    assert refused.value.code == "fixture_command_error"
    assert "GPS:FIX?" in refused.value.message and "-241" in refused.value.message
    with pytest.raises(FixtureCommandError) as unknown:
        fixture.query("FOO:BAR?")
    assert unknown.value.scpi_code == -113
    # An error is a whole reply: the line stays in step.
    assert fixture.query("DUT:FW?").payload == "4.3.0"


# ---------------------------------------------------------------- faults that give values


def test_dead_rail_reads_zero_volts_and_a_low_running_current(make_sim, connect):
    fixture = connect(make_sim("head_unit", faults=["dead_rail"]).url)
    v3v3, v12, run = payloads(fixture, "MEAS:VOLT? V3V3", "MEAS:VOLT? V12", "MEAS:CURR? RUN")
    assert v3v3 == "0.00"
    assert 11.9 < float(v12) < 12.1
    assert float(run) < 800  # below the plan's lower limit


def test_low_rail_no_gps_fix_and_dead_audio(make_sim, connect):
    fixture = connect(make_sim("head_unit", faults=["low_rail", "no_gps_fix", "dead_audio"]).url)
    v5, fix, snr, sats, fl, fr = payloads(fixture, "MEAS:VOLT? V5", "GPS:FIX?", "GPS:SNR?", "GPS:SATS?",
                                          "AUDIO:LEVEL? FL", "AUDIO:LEVEL? FR")
    assert 4.55 < float(v5) < 4.67
    assert (fix, snr, sats) == ("NONE", "0.0", "0")
    assert fl == "-80.0" and -6.5 < float(fr) < -5.5


def test_wrong_firmware_is_an_older_version(make_sim, connect):
    fixture = connect(make_sim("head_unit", firmware="3.2.17", faults=["wrong_firmware"]).url)
    assert fixture.query("DUT:FW?").payload == "3.1.17"
    chosen = connect(make_sim("dash_cam", firmware="1.6.2", faults=["wrong_firmware=1.5.8"]).url)
    assert chosen.query("DUT:FW?").payload == "1.5.8"


def test_nan_reply_is_a_payload_not_an_exception(make_sim, connect):
    fixture = connect(make_sim("ecu", faults=["nan_reply"]).url)
    reply = fixture.query("MEAS:VOLT? V12")
    assert reply.payload == "NaN"
    assert reply.raw == b"MEAS:VOLT? V12;NaN\r\n"


# ---------------------------------------------------------------- faults on the line


def test_slow_replies_time_out_then_each_query_still_gets_its_own_reply(make_sim, connect):
    # Each reply comes 3 s after the fixture starts on its command, one command at a time.
    fixture = connect(make_sim("head_unit", faults=["slow_replies"]).url)
    started = time.monotonic()
    with pytest.raises(FixtureTimeout) as first:
        fixture.query("*IDN?", timeout=0.5)
    assert first.value.raw == b"" and first.value.code == "fixture_timeout"
    assert "no reply to '*IDN?' within 0.5 s" in first.value.message

    # The *IDN? reply turns up (at ~3 s) while this query waits; its own comes at ~6 s, too late.
    with pytest.raises(FixtureWrongReply) as lagging:
        fixture.query("MEAS:VOLT? V12", timeout=4.0)
    assert lagging.value.stale == [b"*IDN?;" + IDN.encode()]
    assert lagging.value.raw == b"*IDN?;" + IDN.encode() + b"\r\n"
    assert isinstance(lagging.value, FixtureTimeout) and lagging.value.code == "fixture_wrong_reply"
    assert "lagging behind" in lagging.value.message

    reply = fixture.query("MEAS:CURR? RUN", timeout=10.0)
    assert reply.command == "MEAS:CURR? RUN" and 1100 < float(reply.payload) < 1300
    assert [line.split(b";")[0] for line in reply.stale] == [b"MEAS:VOLT? V12"]  # recorded, not taken
    assert reply.raw.startswith(reply.stale[0]) and reply.raw.endswith(b"MEAS:CURR? RUN;" + reply.payload.encode()
                                                                       + b"\r\n")
    assert time.monotonic() - started < 20


def test_line_noise_is_garbage_and_the_next_query_works(make_sim, connect):
    fixture = connect(make_sim("head_unit", faults=["line_noise"]).url)
    assert payloads(fixture, "DUT:POWER ON", "CAN:PING?") == ["OK", "OK"]

    with pytest.raises(FixtureGarbage) as noisy:  # the 3rd reply comes after a line of noise
        fixture.query("MEAS:VOLT? V12")
    assert noisy.value.code == "fixture_garbage"
    assert any(byte >= 0x80 for byte in noisy.value.raw)
    assert "printable ASCII" in noisy.value.message or "';'" in noisy.value.message

    reply = fixture.query("MEAS:VOLT? V5")  # resynchronised
    assert reply.command == "MEAS:VOLT? V5" and 4.95 < float(reply.payload) < 5.1

    with pytest.raises(FixtureGarbage) as corrupted:  # the 5th reply has a byte with bit 7 flipped
        fixture.query("DUT:FW?")
    assert "printable ASCII" in corrupted.value.message
    assert corrupted.value.raw.startswith(b"DUT:FW?;")
    with pytest.raises(FixtureGarbage):  # noise again before the 6th
        fixture.query("GPS:FIX?")
    assert fixture.query("KEY:TEST?").payload == "PASS 6/6"


def test_half_a_line_then_silence_is_a_timeout_holding_the_half_line(make_sim, connect):
    fixture = connect(make_sim("head_unit", faults=["half_line"]).url)
    assert payloads(fixture, "DUT:POWER ON", "CAN:PING?") == ["OK", "OK"]
    started = time.monotonic()
    with pytest.raises(FixtureTimeout) as silence:
        fixture.query("MEAS:VOLT? V12", timeout=1.0)
    assert 0.9 < time.monotonic() - started < 1.0 + QUICK
    assert silence.value.raw and b"\n" not in silence.value.raw
    assert b"MEAS:VOLT? V12;".startswith(silence.value.raw) or silence.value.raw.startswith(b"MEAS:VOLT? V12;")
    assert silence.value.partial == silence.value.raw
    assert f"half a line then silence: {silence.value.raw!r}" in silence.value.message
    assert not isinstance(silence.value, FixtureWrongReply)
    assert fixture.query("DUT:FW?").payload == "1.0.0"


def test_disconnect_is_reported_at_once_as_port_lost(make_sim, connect):
    sim = make_sim("head_unit", faults=["disconnect_after=3"])
    fixture = connect(sim.url)
    assert payloads(fixture, "*IDN?", "DUT:POWER ON", "MEAS:VOLT? V12")[:2] == [IDN, "OK"]
    started = time.monotonic()
    with pytest.raises(FixturePortLost) as lost:
        fixture.query("MEAS:VOLT? V5", timeout=10.0)
    assert time.monotonic() - started < QUICK
    assert lost.value.code == "fixture_port_lost" and sim.url in lost.value.message
    assert not fixture.is_open
    started = time.monotonic()
    with pytest.raises(FixturePortLost):  # and stays lost: the next step fails as fast
        fixture.query("MEAS:VOLT? V5", timeout=10.0)
    assert time.monotonic() - started < QUICK


def test_close_from_another_thread_ends_a_waiting_query_at_once(make_sim):
    # The tester stops a run while a step waits on a slow fixture.
    fixture = SerialFixture(make_sim("head_unit", faults=["slow_replies"]).url).open()
    outcome: list[BaseException] = []
    waiting = threading.Thread(target=lambda: _catch(outcome, fixture.query, "*IDN?", timeout=30.0))
    waiting.start()
    time.sleep(0.2)
    started = time.monotonic()
    fixture.close()
    waiting.join(timeout=10)
    assert not waiting.is_alive() and time.monotonic() - started < QUICK
    assert len(outcome) == 1 and isinstance(outcome[0], FixturePortLost), outcome
    assert "closed while waiting" in outcome[0].message and not fixture.is_open


def _catch(into: list, call, *args, **options) -> None:
    try:
        call(*args, **options)
    except BaseException as error:  # noqa: BLE001 - handed to the test thread
        into.append(error)


# ---------------------------------------------------------------- the port itself


def test_a_missing_or_closed_port_is_port_lost_on_open(make_sim, tmp_path):
    with pytest.raises(FixturePortLost) as missing:
        SerialFixture(str(tmp_path / "ttyUSB9")).open()
    assert "cannot open" in missing.value.message
    sim = make_sim()
    url = sim.url
    sim.close()
    started = time.monotonic()
    with pytest.raises(FixturePortLost):
        SerialFixture(url).open()
    assert time.monotonic() - started < QUICK


def test_close_releases_the_port(make_sim, transport):
    sim = make_sim("navigation", firmware="5.0.3")
    first = SerialFixture(sim.url)
    with first:
        assert first.identify() == IDN
        if transport == "pty":  # a second station cannot take a port in use
            with pytest.raises(FixturePortLost, match="cannot open"):
                SerialFixture(sim.url).open()
    assert not first.is_open
    with SerialFixture(sim.url) as second:
        assert second.query("DUT:FW?").payload == "5.0.3"
    first.open()  # the same driver opens again
    try:
        assert first.query("GPS:FIX?").payload == "3D"
    finally:
        first.close()


def test_any_pyserial_url_opens_even_loop():
    # loop:// sends the command back: a line with no ';' is garbage, and it is said so.
    with SerialFixture("loop://", timeout=0.5) as fixture:
        with pytest.raises(FixtureGarbage, match="no ';'") as echoed:
            fixture.query("*IDN?")
    assert echoed.value.raw == b"*IDN?\n"


def test_timing_with_pace_is_printed_not_asserted(capsys):
    with FixtureSimulator("head_unit", pace=True) as sim:
        bare = serial.serial_for_url(sim.url, baudrate=115200, timeout=2.0)
        try:
            bare_times = []
            for _ in range(200):
                t = time.perf_counter()
                bare.write(b"MEAS:VOLT? V12\n")
                assert bare.readline().startswith(b"MEAS:VOLT? V12;")
                bare_times.append(time.perf_counter() - t)
        finally:
            bare.close()
        with SerialFixture(sim.url) as fixture:
            driver_times = []
            for _ in range(200):
                t = time.perf_counter()
                fixture.query("MEAS:VOLT? V12")
                driver_times.append(time.perf_counter() - t)
    bare_us, driver_us = statistics.median(bare_times) * 1e6, statistics.median(driver_times) * 1e6
    with capsys.disabled():
        print(f"\n[fixture timing, pty, 115200 baud paced, 200 queries] median per query: driver {driver_us:.0f} us, "
              f"bare write/readline {bare_us:.0f} us, overhead {driver_us - bare_us:+.0f} us "
              f"(ratio {driver_us / bare_us:.2f})")


@pytest.mark.parametrize("where", ["pty", "tcp"])
def test_the_simulator_command_prints_its_url_and_serves_until_end_of_input(where):
    command = [sys.executable, "-m", "drivers.fixture_sim", "--profile", "cluster", "--firmware", "4.3.0",
               "--fault", "low_rail", "--fault", "wrong_firmware=4.2.6"] + (["--tcp"] if where == "tcp" else [])
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        ready = _read_line(process, timeout=10.0)
        assert ready.startswith("Fixture simulator ready: "), ready
        url = ready.removeprefix("Fixture simulator ready: ").strip()
        assert url.startswith("socket://127.0.0.1:") if where == "tcp" else url.startswith("/")
        with SerialFixture(url) as fixture:
            assert payloads(fixture, "DUT:FW?", "LIN:PING?") == ["4.2.6", "OK"]
            assert 4.55 < float(fixture.query("MEAS:VOLT? V5").payload) < 4.67
        process.stdin.close()  # Ctrl-D
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_the_simulator_command_refuses_an_unknown_fault():
    done = subprocess.run([sys.executable, "-m", "drivers.fixture_sim", "--fault", "exploded"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "unknown fixture fault 'exploded'" in done.stderr and "disconnect_after" in done.stderr


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        pytest.fail(f"the simulator printed nothing within {timeout} s")
    return process.stdout.readline()
