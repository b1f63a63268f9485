"""The programmer driver against the simulated gang programmer, over a real pseudo-terminal and
over socket://.

Every named fault must end the way a technician expects: a chip programmed and verified, or a
precise error with its code (and the first bad address where there is one), within seconds.
The simulator runs unpaced here so the file is quick; waits are bounded, nothing is a timed
test (the paced run at the end prints its rate, it does not assert it).
"""

from __future__ import annotations

import hashlib
import random
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.programmer import (
    BLOCK,
    ChipInfo,
    Identity,
    Nak,
    ProgrammerError,
    ProgrammerPortLost,
    ProgrammerRefused,
    ProgrammerTimeout,
    ProgrammerWrongReply,
    Progress,
    SerialProgrammer,
    Status,
    VerifyFailed,
)
from drivers.programmer_sim import ProgrammerSimulator, TcpProgrammerSimulator

ROOT = Path(__file__).resolve().parents[2]
QUICK = 10.0  # "within seconds": far above the driver's 2 s for a silent programmer, far below a hang
KiB = 1024


@pytest.fixture(params=["pty", "tcp"])
def transport(request) -> str:
    return request.param


@pytest.fixture
def make_sim(transport):
    started = []

    def make(sockets=None, **options):
        options.setdefault("pace", False)
        simulator = (ProgrammerSimulator if transport == "pty" else TcpProgrammerSimulator)(sockets, **options)
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.close()


@pytest.fixture
def connect():
    opened: list[SerialProgrammer] = []

    def connect(url: str, **options) -> SerialProgrammer:
        programmer = SerialProgrammer(url, **options).open()
        opened.append(programmer)
        return programmer

    yield connect
    for programmer in opened:
        programmer.close()


def image(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def failing(call, *args, **kwargs) -> tuple[ProgrammerError, float]:
    started = time.monotonic()
    with pytest.raises(ProgrammerError) as raised:
        call(*args, **kwargs)
    return raised.value, time.monotonic() - started


# ---------------------------------------------------------------- a good programmer


def test_identify_status_and_the_chip_in_each_socket(make_sim, connect):
    sim = make_sim({2: "24C64", 3: "STM32F103CB", 4: None})
    programmer = connect(sim.url)
    assert programmer.identify() == Identity("RMA GP-400", "GP400-0012", "2.3.1", 4)
    assert programmer.status() == Status(None, ("ready", "ready", "ready", "empty"))
    chips = {}
    for socket in (1, 2, 3):
        programmer.select(socket)
        chips[socket] = programmer.chip_id()
    assert chips[1] == ChipInfo(bytes.fromhex("EF4015"), "W25Q16", 2 * 1024 * KiB, 4 * KiB)
    assert (chips[2].name, chips[2].size, chips[2].sector) == ("24C64", 8 * KiB, 32)
    assert (chips[3].id_hex, chips[3].size, chips[3].sector) == ("0410", 128 * KiB, KiB)
    assert programmer.status().selected == 3
    programmer.select(4)
    refused, _ = failing(programmer.chip_id)
    assert refused.code == "programmer_no_target" and refused.message == "no chip answers in socket 4"


def test_a_256_kib_image_is_programmed_into_spi_flash_and_verified(make_sim, connect):
    sim = make_sim()
    programmer = connect(sim.url)
    data = image(256 * KiB)
    seen: list[Progress] = []
    result = programmer.program(data, socket=1, expect_chip="EF4015", progress=seen.append)

    assert result.chip.name == "W25Q16" and result.socket == 1 and result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.resent == 0
    assert result.seconds >= result.write_seconds > 0 and result.bytes_per_second > 0
    assert sim.contents(1)[: len(data)] == data
    assert sim.contents(1)[len(data) :] == b"\xff" * (2 * 1024 * KiB - len(data))
    writes = [p for p in seen if p.phase == "write"]
    assert [p.done for p in writes] == list(range(BLOCK, len(data) + 1, BLOCK))
    assert all(p.total == len(data) and p.bytes_per_second > 0 for p in writes)
    assert writes[-1].seconds_left == 0
    assert [p.done for p in seen if p.phase == "verify"] == [0, len(data)]
    assert sim.contents(2) == b"\xff" * (2 * 1024 * KiB)  # the other sockets are untouched


def test_an_eeprom_sized_image_goes_into_the_24c64(make_sim, connect):
    sim = make_sim({2: "24C64"})
    programmer = connect(sim.url)
    data = image(8 * KiB, seed=2)
    result = programmer.program(data, socket=2, expect_chip=bytes.fromhex("002464"))
    assert result.chip.name == "24C64" and sim.contents(2) == data
    too_big, _ = failing(programmer.program, data + b"x", socket=2)
    assert too_big.code == "programmer_image_too_large" and "8193 bytes" in too_big.message
    assert sim.contents(2) == data  # refused before anything was erased


def test_the_primitives_read_write_erase_blank_check_and_hash(make_sim, connect):
    sim = make_sim({3: "STM32F103CB"})
    programmer = connect(sim.url)
    programmer.select(3)
    assert programmer.blank_check(0, 128 * KiB) is None
    data = image(10_000, seed=3)
    programmer.write(0x1000, data)
    assert programmer.read(0x1000, len(data)) == data
    assert programmer.blank_check(0, 128 * KiB) == 0x1000
    assert programmer.hash(0x1000, len(data)) == hashlib.sha256(data).digest()
    programmer.erase(0x1000, 2 * KiB)
    assert programmer.read(0x1000, 2 * KiB) == b"\xff" * 2 * KiB
    assert programmer.blank_check(0, 128 * KiB) == 0x1800
    misaligned, _ = failing(programmer.erase, 0x1100, KiB)
    assert misaligned.code == "programmer_bad_argument" and "1024-byte sectors" in misaligned.message
    programmer.erase()
    assert programmer.blank_check(0, 128 * KiB) is None and sim.contents(3) == b"\xff" * 128 * KiB


def test_chips_keep_their_contents_across_connections(make_sim, connect, transport):
    sim = make_sim()
    data = image(16 * KiB, seed=4)
    with SerialProgrammer(sim.url) as first:
        first.program(data, socket=4)
    second = connect(sim.url)
    second.select(4)
    assert second.hash(0, len(data)) == hashlib.sha256(data).digest()
    second.close()
    second.open()  # a new session: no socket selected
    refused, _ = failing(second.read, 0, 16)
    assert refused.code == "programmer_bad_sequence" and "select a socket first" in refused.message


def test_a_long_erase_outlasts_the_timeout_because_the_programmer_says_busy(make_sim, connect):
    # A whole W25Q16 erase at a fifth of its typical 5 s: 1 s, twice the driver's timeout.
    sim = make_sim(chip_time=0.2)
    programmer = connect(sim.url, timeout=0.5)
    programmer.select(1)
    programmer.write(0, b"\x00" * 64)
    started = time.monotonic()
    programmer.erase()
    assert time.monotonic() - started >= 0.9
    assert programmer.blank_check(0, 4 * KiB) is None


# ---------------------------------------------------------------- chip faults


def test_wrong_chip_id_is_refused_before_anything_is_written(make_sim, connect):
    sim = make_sim(faults=["wrong_chip_id"])
    programmer = connect(sim.url)
    error, _ = failing(programmer.program, image(64 * KiB), socket=1, expect_chip="EF4015")
    assert isinstance(error, ProgrammerRefused) and error.nak == Nak.WRONG_CHIP
    assert error.code == "programmer_wrong_chip" and error.written == 0
    assert error.message == "wrong chip in socket 1: expected ID EF4015, read EF4016"
    assert sim.contents(1) == b"\xff" * (2 * 1024 * KiB)


def test_write_protect_is_caught_by_verify_with_the_first_bad_address(make_sim, connect):
    sim = make_sim(faults=["write_protect@1"])
    programmer = connect(sim.url)
    data = bytearray(b"\xff" * 300) + bytearray(image(128 * KiB - 300))
    data[300] = 0x00  # the first byte a blank chip gets wrong
    error, _ = failing(programmer.program, bytes(data), socket=1)
    assert isinstance(error, VerifyFailed) and error.code == "programmer_verify_failed"
    assert error.address == 300 and "first bad address 0x0000012C" in error.message
    assert error.params["expected"] == hashlib.sha256(data).hexdigest()
    assert error.params["actual"] == hashlib.sha256(b"\xff" * len(data)).hexdigest()  # what the chip holds
    assert error.written == len(data)  # every block was acknowledged: only the verify saw it
    assert sim.contents(1) == b"\xff" * (2 * 1024 * KiB)
    assert programmer.program(bytes(data), socket=2).size == len(data)  # socket 2 is not protected


def test_verify_mismatch_at_reports_exactly_that_address(make_sim, connect):
    weak = 0x2A5F3
    sim = make_sim(faults=[f"verify_mismatch_at={weak}"])
    programmer = connect(sim.url)
    data = image(256 * KiB, seed=5)
    error, _ = failing(programmer.program, data, socket=1)
    assert isinstance(error, VerifyFailed) and error.address == weak
    chip = sim.contents(1)
    assert chip[weak] != data[weak] and chip[:weak] == data[:weak] and chip[weak + 1 : len(data)] == data[weak + 1 :]


def test_nack_at_block_fails_at_that_block(make_sim, connect):
    sim = make_sim(faults=["nack_at_block=5"])
    programmer = connect(sim.url)
    data = image(64 * KiB, seed=6)
    error, _ = failing(programmer.program, data, socket=1)
    assert isinstance(error, ProgrammerRefused) and error.code == "programmer_write_failed"
    assert error.address == 5 * BLOCK and error.written == 5 * BLOCK
    assert error.message == "writing failed at address 0x00005000 in socket 1"
    assert sim.contents(1)[: 5 * BLOCK] == data[: 5 * BLOCK]
    programmer.select(1)
    assert programmer.chip_id().name == "W25Q16"  # the line is in step after the refusal


def test_no_target_and_an_empty_socket_affect_only_their_socket(make_sim, connect):
    sim = make_sim({4: None}, faults=["no_target@3"])
    programmer = connect(sim.url)
    assert programmer.status().sockets == ("ready", "ready", "empty", "empty")
    for socket in (3, 4):
        error, _ = failing(programmer.program, image(8 * KiB), socket=socket)
        assert error.code == "programmer_no_target" and f"socket {socket}" in error.message
    assert programmer.program(image(8 * KiB), socket=2).socket == 2


def test_bad_socket_only_affects_its_socket(make_sim, connect):
    sim = make_sim(faults=["bad_socket=2"])
    programmer = connect(sim.url)
    assert programmer.status().sockets == ("ready", "disabled", "ready", "ready")
    error, _ = failing(programmer.program, image(32 * KiB), socket=2)
    assert error.code == "programmer_socket_disabled"
    assert error.message == "socket 2 is disabled: it failed the programmer's self-test"
    for socket in (1, 3, 4):
        assert programmer.program(image(32 * KiB, seed=socket), socket=socket).socket == socket
    assert sim.contents(2) == b"\xff" * (2 * 1024 * KiB)


# ---------------------------------------------------------------- line faults


@pytest.mark.parametrize("nth", [1, 3, 10])  # the SELECT, the ERASE, a write block's acknowledgement
def test_a_corrupted_reply_is_sent_for_again_and_programming_succeeds(make_sim, connect, nth):
    sim = make_sim(faults=[f"corrupt_frame={nth}"])
    programmer = connect(sim.url)
    data = image(64 * KiB, seed=7)
    result = programmer.program(data, socket=1)
    assert result.resent >= 1
    assert sim.contents(1)[: len(data)] == data


def test_link_drop_fails_at_once_as_port_lost(make_sim, connect, transport):
    sim = make_sim(faults=["link_drop_at_byte=100000"])
    programmer = connect(sim.url)
    error, took = failing(programmer.program, image(256 * KiB), socket=1)
    assert isinstance(error, ProgrammerPortLost) and error.code == "programmer_port_lost"
    assert took < QUICK and 0 < error.written < 100000
    assert not programmer.is_open
    if transport == "pty":
        assert not Path(sim.url).exists()  # the USB device is gone
    lost, _ = failing(programmer.identify)
    assert lost.code == "programmer_port_lost" and "cannot open" in lost.message


@pytest.mark.parametrize("fault, written", [("timeout", 0), ("timeout=6", 3 * BLOCK)])
def test_a_programmer_that_stops_answering_times_out_within_seconds(make_sim, connect, fault, written):
    # timeout=6: SELECT, CHIP_ID, ERASE and three blocks are answered, then nothing.
    sim = make_sim(faults=[fault])
    programmer = connect(sim.url)
    error, took = failing(programmer.program, image(64 * KiB), socket=1)
    assert type(error) is ProgrammerTimeout and error.code == "programmer_timeout"
    assert "asked 2 times" in error.message and took < QUICK
    assert error.written == written


def test_power_loss_mid_block_times_out_and_leaves_half_a_block(make_sim, connect):
    sim = make_sim(faults=["power_loss_mid_block=2"])
    programmer = connect(sim.url)
    data = image(64 * KiB, seed=8)
    error, took = failing(programmer.program, data, socket=1)
    assert error.code == "programmer_timeout" and took < QUICK and error.written == 2 * BLOCK
    half = sim.contents(1)[2 * BLOCK : 3 * BLOCK]
    assert half == data[2 * BLOCK : 2 * BLOCK + BLOCK // 2] + b"\xff" * (BLOCK // 2)
    again, _ = failing(programmer.identify)  # still silent: the station has not reconnected
    assert again.code == "programmer_timeout"

    programmer.close()
    programmer.open()  # reconnect: the programmer starts afresh, the chip keeps the half block
    programmer.select(1)
    assert programmer.read(2 * BLOCK, BLOCK) == half
    assert programmer.program(data).size == len(data)
    assert sim.contents(1)[: len(data)] == data


def test_a_reply_to_a_timed_out_request_is_stale_and_discarded(make_sim, connect):
    # Every reply 1.5 s late, the driver waits 1 s: the first IDENTIFY's reply arrives while the
    # second asking waits, carrying the old sequence number.
    sim = make_sim(latency=1.5)
    programmer = connect(sim.url, timeout=1.0)
    error, took = failing(programmer.identify)
    assert isinstance(error, ProgrammerWrongReply) and error.code == "programmer_wrong_reply"
    assert "lagging behind" in error.message and took < QUICK
    sim.programmer.latency = 0.0  # the programmer catches up
    # The late answer to the second IDENTIFY comes first; it must not be taken for the status.
    assert programmer.status() == Status(None, ("ready",) * 4)


def test_loop_gives_the_driver_its_own_requests_which_are_not_replies():
    with SerialProgrammer("loop://", timeout=0.3) as programmer:
        error, took = failing(programmer.identify)
    assert type(error) is ProgrammerTimeout and "echoed the requests back" in error.message and took < QUICK


def test_a_missing_port_and_a_close_while_waiting_are_port_lost(make_sim, tmp_path):
    error, _ = failing(SerialProgrammer(str(tmp_path / "ttyUSB9")).open)
    assert error.code == "programmer_port_lost" and "cannot open" in error.message
    sim = make_sim(faults=["timeout"])
    programmer = SerialProgrammer(sim.url, timeout=5.0).open()
    threading.Timer(0.3, programmer.close).start()
    error, took = failing(programmer.identify)
    assert error.code == "programmer_port_lost" and "closed while waiting" in error.message and took < 3


# ---------------------------------------------------------------- paced, and the commands


def test_paced_like_a_uart_the_rate_is_printed_not_asserted(capsys):
    data = image(128 * KiB, seed=9)
    with ProgrammerSimulator(pace=True) as sim, SerialProgrammer(sim.url) as programmer:
        result = programmer.program(data, socket=1)
        assert sim.contents(1)[: len(data)] == data
    with capsys.disabled():
        print(f"\n[programmer, pty, 921600 baud paced, 128 KiB] program + verify {result.seconds:.2f} s, "
              f"{result.bytes_per_second:,.0f} B/s = {result.bytes_per_second / 92160:.3f} of the wire rate")


@pytest.mark.parametrize("where", ["pty", "tcp"])
def test_the_simulator_command_prints_its_url_and_serves_until_end_of_input(where):
    command = [sys.executable, "-m", "drivers.programmer_sim", "--no-pace", "--socket", "2=24C64",
               "--fault", "write_protect@2"] + (["--tcp"] if where == "tcp" else [])
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = _ready_url(process)
        assert url.startswith("socket://127.0.0.1:") if where == "tcp" else url.startswith("/")
        with SerialProgrammer(url) as programmer:
            assert programmer.program(image(8 * KiB), socket=1).chip.name == "W25Q16"
            error, _ = failing(programmer.program, image(8 * KiB), socket=2)
            assert error.code == "programmer_verify_failed"
        process.stdin.close()  # Ctrl-D
        assert process.wait(timeout=10) == 0
    finally:
        _stop(process)


def test_the_rma_command_starts_the_simulator_and_sigterm_stops_it_cleanly():
    process = subprocess.Popen([sys.executable, "-m", "rma", "sim", "programmer", "--no-pace", "--socket", "3=",
                                "--fault", "bad_socket=4"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _ready_url(process)
        with SerialProgrammer(url) as programmer:
            assert programmer.status().sockets == ("ready", "ready", "empty", "disabled")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not Path(url).exists()  # the pty's link is cleaned up
    finally:
        _stop(process)


def test_the_simulator_command_refuses_an_unknown_fault():
    done = subprocess.run([sys.executable, "-m", "drivers.programmer_sim", "--fault", "exploded"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "unknown programmer fault 'exploded'" in done.stderr and "power_loss_mid_block" in done.stderr


def _ready_url(process: subprocess.Popen, timeout: float = 15.0) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        pytest.fail(f"the simulator printed nothing within {timeout} s")
    line = process.stdout.readline()
    assert line.startswith("Programmer simulator ready: "), line + process.stderr.read()
    return line.removeprefix("Programmer simulator ready: ").strip()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=5)
