"""The serial scanner driver against the simulator, over a real pseudo-terminal and over socket://.

A station runs the driver in its background thread (:class:`ScannerThread`) and the test
reads what the station would see from a queue, always with a bounded wait.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.scan import ScanError
from drivers.scanner import (
    ScannerConnected,
    ScannerDisconnected,
    ScannerReconnected,
    ScannerThread,
    ScanResult,
    SerialScanner,
)
from drivers.scanner_sim import ScannerSimulator, TcpScannerSimulator

WAIT = 5.0  # the longest any single report may take on a loaded machine
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["pty", "tcp"])
def sim(request):
    simulator = ScannerSimulator() if request.param == "pty" else TcpScannerSimulator()
    yield simulator
    simulator.close()


class Station:
    """What a station sees of its scanner: the reports, in order."""

    def __init__(self, url: str, **options) -> None:
        options.setdefault("reconnect_interval", 0.2)
        options.setdefault("partial_timeout", 1.0)  # generous: chunked sends on a busy machine
        self.scanner = SerialScanner(url, **options)
        self.reports: queue.Queue = queue.Queue()
        self.thread = ScannerThread(self.scanner, self.reports.put).start()

    def next(self, timeout: float = WAIT):
        try:
            return self.reports.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the station saw nothing within {timeout} s")

    def next_scan(self, timeout: float = WAIT) -> ScanResult:
        report = self.next(timeout)
        assert isinstance(report, ScanResult), report
        return report

    def values(self, count: int) -> list[str | None]:
        return [self.next_scan().value for _ in range(count)]

    def assert_quiet(self, seconds: float) -> None:
        with pytest.raises(queue.Empty):
            extra = self.reports.get(timeout=seconds)
            pytest.fail(f"unexpected report {extra!r}")

    def stop(self) -> None:
        assert self.thread.stop(timeout=WAIT), "the scanner thread did not end"


@pytest.fixture
def station(sim):
    """Start a station on ``sim`` with the given driver options, once its line is open."""
    started: list[Station] = []

    def start(**options) -> Station:
        station = Station(sim.url, **options)
        started.append(station)
        assert station.next() == ScannerConnected(sim.url)
        return station

    yield start
    for station in started:
        station.stop()


def test_scans_arrive_complete_and_in_order(sim, station):
    line = station()
    sim.scan("TAG-000001")
    sim.scan("HU-2024-0042", aim_prefix="]C0")
    sim.scan("SN 8812-AB", aim_prefix="]Q1")
    first = line.next_scan()
    assert first.ok and first.value == "TAG-000001" and first.raw == b"TAG-000001"
    assert line.values(2) == ["HU-2024-0042", "SN 8812-AB"]
    line.assert_quiet(0.2)


def test_a_burst_of_200_scans_back_to_back_loses_and_merges_nothing(sim, station):
    line = station()
    labels = [f"TAG-{n:06d}" for n in range(200)]
    sim.burst(labels, aim_prefix="]C0")
    assert line.values(200) == labels


def test_200_scans_one_after_another(sim, station):
    line = station()
    labels = [f"SN{n:08d}" for n in range(200)]
    for label in labels:
        sim.scan(label)
    assert line.values(200) == labels


def test_chunked_scans_split_across_reads(sim, station):
    line = station()
    labels = [f"WAYBILL-SF{n:010d}" for n in range(10)]
    for label in labels:
        sim.scan(label, chunked=True)
    assert line.values(10) == labels


def test_a_crlf_scanner(sim, station):
    line = station(terminator="CRLF")
    sim.scan("TAG-1", terminator=b"\r\n")
    sim.scan("TAG-2", terminator=b"\r\n", chunked=True)
    sim.noise(b"TAG-3\r")
    time.sleep(0.05)
    sim.noise(b"\nTAG-4\r\n")
    assert line.values(4) == ["TAG-1", "TAG-2", "TAG-3", "TAG-4"]


def test_a_crlf_scanner_on_a_station_set_for_cr_still_reads_clean_values(sim, station):
    line = station(terminator=b"\r", partial_timeout=0.2)
    for label in ("A-1", "A-2", "A-3"):
        sim.scan(label, terminator="CRLF")
    assert line.values(3) == ["A-1", "A-2", "A-3"]
    line.assert_quiet(0.6)  # the last LF alone is not reported as a half scan


def test_noise_ending_in_a_terminator_is_reported_and_the_next_scan_arrives(sim, station):
    line = station()
    sim.noise(b"\x00\x1b\xff\xfe~\r")
    sim.scan("TAG-000777")
    bad = line.next_scan()
    assert not bad.ok and bad.value is None
    assert bad.error.code == "control_characters" and bad.raw == b"\x00\x1b\xff\xfe~"
    assert "\\x00" in bad.error.message
    assert line.values(1) == ["TAG-000777"]


def test_noise_then_silence_then_a_good_scan(sim, station):
    line = station(partial_timeout=0.3)
    sim.noise(b"\xff\xfe\xfd\x80")
    bad = line.next_scan()
    assert bad.error.code == "garbled_scan" and bad.raw == b"\xff\xfe\xfd\x80"
    sim.scan("TAG-000778")
    assert line.values(1) == ["TAG-000778"]


def test_a_half_scan_then_silence_is_garbled_and_the_next_scan_is_fine(sim, station):
    line = station(partial_timeout=0.3)
    sent = time.monotonic()
    sim.noise(b"]C0TAG-00")
    half = line.next_scan()
    assert time.monotonic() - sent >= 0.25  # only after the silence, not at the first read
    assert half.error.code == "garbled_scan"
    assert half.raw == b"]C0TAG-00" and "TAG-00" in half.error.message
    assert "Incomplete scan" in half.error.message
    sim.scan("TAG-000123")
    assert line.values(1) == ["TAG-000123"]


def test_a_500_character_garbage_line_is_too_long(sim, station):
    line = station()
    sim.noise(b"Q#x7" * 125 + b"\r")
    sim.scan("TAG-000124")
    long_one = line.next_scan()
    assert long_one.error.code == "scan_too_long"
    assert "Scan too long" in long_one.error.message
    assert line.values(1) == ["TAG-000124"]


def test_a_line_just_over_the_limit_names_its_length(sim, station):
    line = station(max_length=20)
    sim.scan("X" * 21)
    error = line.next_scan().error
    assert error.code == "scan_too_long" and "21 characters" in error.message


def test_endless_noise_is_reported_once_and_a_scan_after_it_arrives(sim, station):
    line = station(partial_timeout=0.3)
    noise = bytes(b for b in range(256) if b != 0x0D)
    for _ in range(40):  # 10 kB without a terminator
        sim.noise(noise)
    assert line.next_scan().error.code == "scan_too_long"
    line.assert_quiet(0.6)
    sim.scan("TAG-000125")
    assert line.values(1) == ["TAG-000125"]


def test_unplugged_mid_shift_and_plugged_back_in(sim, station):
    line = station(reconnect_interval=0.2)
    sim.scan("TAG-BEFORE")
    assert line.values(1) == ["TAG-BEFORE"]

    sim.unplug()
    gone = line.next()
    assert isinstance(gone, ScannerDisconnected) and gone.url == sim.url and gone.reason
    assert not line.scanner.connected
    time.sleep(0.7)  # several failed attempts to reopen, none of them reported again
    sim.replug()
    assert line.next() == ScannerReconnected(sim.url)
    assert line.scanner.connected

    sim.scan("TAG-AFTER")
    assert line.values(1) == ["TAG-AFTER"]


def test_a_device_server_dropping_the_connection():
    with TcpScannerSimulator() as server:
        line = Station(server.url, reconnect_interval=0.2)
        try:
            assert line.next() == ScannerConnected(server.url)
            server.scan("TAG-1")
            assert line.values(1) == ["TAG-1"]
            server.drop()  # still listening: the driver connects again by itself
            assert isinstance(line.next(), ScannerDisconnected)
            assert line.next() == ScannerReconnected(server.url)
            server.scan("TAG-2")
            assert line.values(1) == ["TAG-2"]
        finally:
            line.stop()


def test_a_station_started_while_its_scanner_is_unplugged(sim):
    sim.unplug()
    line = Station(sim.url, reconnect_interval=0.2)
    try:
        missing = line.next()
        assert isinstance(missing, ScannerDisconnected) and "cannot open" in missing.reason
        time.sleep(0.5)
        sim.replug()
        assert line.next() == ScannerConnected(sim.url)  # the first time it is ever open
        sim.scan("TAG-FIRST")
        assert line.values(1) == ["TAG-FIRST"]
    finally:
        line.stop()


def test_close_returns_promptly_while_waiting_for_a_scan(sim, station):
    line = station(read_timeout=0.2)
    time.sleep(0.3)
    began = time.monotonic()
    line.stop()
    assert time.monotonic() - began < 1.0  # socket:// adds pyserial's 0.3 s pause on close


def test_close_returns_promptly_while_waiting_to_reconnect(sim, station):
    line = station(reconnect_interval=30.0)
    sim.unplug()
    assert isinstance(line.next(), ScannerDisconnected)
    began = time.monotonic()
    line.stop()
    assert time.monotonic() - began < 1.0


def test_close_from_another_thread_ends_a_plain_loop(sim):
    scanner = SerialScanner(sim.url, reconnect_interval=0.2)
    seen: list = []
    ended = threading.Event()

    def shift() -> None:
        for report in scanner:  # the plain generator: ends when the scanner is closed
            seen.append(report)
        ended.set()

    reader = threading.Thread(target=shift, daemon=True)
    reader.start()
    deadline = time.monotonic() + WAIT
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    sim.scan("TAG-LOOP")
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    began = time.monotonic()
    scanner.close()
    assert ended.wait(WAIT) and time.monotonic() - began < 1.0
    assert seen[0] == ScannerConnected(sim.url) and seen[1].value == "TAG-LOOP"
    assert scanner.read_report(0.1) is None and scanner.read_scan(0.1) is None


def test_read_scan_returns_values_raises_bad_scans_and_times_out(sim):
    with SerialScanner(sim.url) as scanner:
        assert scanner.read_scan(0.3) is None  # opens the line, nothing scanned yet
        sim.scan("TAG-9", aim_prefix="]C0")
        assert scanner.read_scan(WAIT) == "TAG-9"
        sim.noise(b"TAG\x1b[A\r")
        with pytest.raises(ScanError) as caught:
            scanner.read_scan(WAIT)
        assert caught.value.code == "control_characters"
        began = time.monotonic()
        assert scanner.read_scan(0.3) is None
        assert 0.25 <= time.monotonic() - began < 1.0
    assert scanner.closed


def test_any_pyserial_url_works_for_example_loop():
    with SerialScanner("loop://", reconnect_interval=0.2) as scanner:
        assert scanner.read_report(WAIT) == ScannerConnected("loop://")
        assert scanner.read_report(0.3) is None


def test_a_callback_that_fails_does_not_stop_the_station(sim):
    seen: queue.Queue = queue.Queue()

    def on_report(report) -> None:
        seen.put(report)
        if isinstance(report, ScanResult) and report.value == "BOOM":
            raise RuntimeError("a bug in the page")

    scanner = SerialScanner(sim.url)
    thread = ScannerThread(scanner, on_report).start()
    try:
        assert seen.get(timeout=WAIT) == ScannerConnected(sim.url)
        sim.scan("BOOM")
        sim.scan("TAG-NEXT")
        assert seen.get(timeout=WAIT).value == "BOOM"
        assert seen.get(timeout=WAIT).value == "TAG-NEXT"
        assert thread.running
    finally:
        assert thread.stop(timeout=WAIT)


@pytest.mark.parametrize("flags", [[], ["--tcp"]], ids=["pty", "tcp"])
def test_the_simulator_command_sends_each_typed_line_as_a_scan(flags):
    command = [sys.executable, "-m", "drivers.scanner_sim", "--aim", "]C0", *flags]
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        banner = lines.get(timeout=WAIT)
        url = banner.rsplit(": ", 1)[1].strip()
        assert url.startswith("socket://127.0.0.1:") if flags else Path(url).is_symlink()
        with SerialScanner(url) as scanner:
            assert scanner.read_report(WAIT) == ScannerConnected(url)
            process.stdin.write("TAG-TYPED-1\nTAG-TYPED-2\n")
            process.stdin.flush()
            assert scanner.read_scan(WAIT) == "TAG-TYPED-1"
            assert scanner.read_scan(WAIT) == "TAG-TYPED-2"
        process.stdin.close()
        assert process.wait(timeout=WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)
