"""The simulators' shared plumbing over real ptys (drivers/pty_link.py), and the simulator commands
started in the background: they stay up with no input, answer, and clean up on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from drivers.fixture import SerialFixture
from drivers.pty_link import PtyLink
from drivers.scanner import ScannerConnected, SerialScanner
from tests.factories import seed_basics

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0  # generous bounds on a loaded machine; nothing here measures time

# ---------------------------------------------------------------- PtyLink


def test_a_link_is_published_and_a_station_talks_through_it(tmp_path):
    with PtyLink("usb-Test_Device-if00", tmp_path) as link:
        assert link.url == str(tmp_path / "usb-Test_Device-if00")
        assert Path(link.url).is_symlink() and os.readlink(link.url) == link.device
        port = serial.serial_for_url(link.url, baudrate=115200, timeout=WAIT)
        try:
            port.write(b"PING\n")
            received = b""
            while not received.endswith(b"\n"):
                select.select([link.fileno()], [], [], WAIT)
                received += link.read()
            assert received == b"PING\n"  # raw: no echo, no CR/LF translation
            link.send(b"PONG\r\n")
            assert port.readline() == b"PONG\r\n"
            assert link.read() == b""  # nothing more waiting: no block
        finally:
            port.close()


def test_unplug_removes_the_link_and_replug_points_the_same_link_at_a_new_pty(tmp_path):
    with PtyLink("usb-Test_Device-if00", tmp_path) as link:
        first = link.device
        port = serial.serial_for_url(link.url, timeout=0.2)
        link.unplug()
        assert not link.plugged and not os.path.lexists(link.url) and link.device is None
        with pytest.raises(ConnectionError):
            link.send(b"x")
        with pytest.raises(serial.SerialException):
            port.read(1)  # the station's side is hung up, as when the cable is pulled
        port.close()
        link.replug()
        assert link.plugged and os.readlink(link.url) == link.device
        with serial.serial_for_url(link.url, timeout=WAIT) as again:
            link.send(b"back\n")
            assert again.readline() == b"back\n"
        assert first is not None and not list(tmp_path.glob("*.new"))  # no staging link left behind


def test_close_removes_its_own_folder_but_never_a_given_one(tmp_path):
    own = PtyLink("usb-Test_Device-if00")
    folder = own.directory
    assert folder.is_dir() and folder.name.startswith("rma-pty-")
    own.close()
    own.close()  # any number of times
    assert not folder.exists()
    with pytest.raises(ValueError):
        own.replug()
    given = PtyLink("usb-Test_Device-if00", tmp_path)
    given.close()
    assert tmp_path.is_dir() and not os.path.lexists(tmp_path / "usb-Test_Device-if00")


def test_a_send_nobody_reads_times_out_and_unread_bytes_are_counted(tmp_path):
    with PtyLink("usb-Test_Device-if00", tmp_path) as link:
        link.send(b"12345")
        # the kernel moves bytes from the pty's master to its slave side asynchronously
        deadline = time.monotonic() + WAIT
        while link.unread() < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert link.unread() == 5
        with pytest.raises(TimeoutError, match="nobody read"):
            link.send(b"x" * 1_000_000, timeout=0.2)  # far more than a pty holds
        cancel = threading.Event()
        cancel.set()
        link.send(b"x" * 1_000_000, cancel=cancel)  # returns at once, the rest dropped


# ---------------------------------------------------------------- the commands, in the background


def _start(command: list[str]) -> tuple[subprocess.Popen, queue.Queue]:
    """Started as a script starts it with ``&``: stdin at /dev/null, stdout read line by line."""
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return process, lines


def _url(lines: queue.Queue, process: subprocess.Popen) -> str:
    try:
        banner = lines.get(timeout=WAIT)
    except queue.Empty:
        process.kill()
        pytest.fail(f"no banner; stderr: {process.stderr.read()}")
    return banner.rsplit(": ", 1)[1].strip()


def _stop(process: subprocess.Popen, signum: int) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_rma_sim_fixture_serves_in_the_background_until_signalled_and_cleans_up(db, rma_env, signum):
    seed_basics(db)
    process, lines = _start([sys.executable, "-m", "rma", "sim", "fixture", "--model", "HU-8800", "--serve"])
    try:
        url = _url(lines, process)
        folder = Path(url).parent
        assert Path(url).is_symlink() and folder.name.startswith("rma-fixture-")
        for _ in range(2):  # stdin is at its end already; the simulator is still there, and again
            with SerialFixture(url) as fixture:
                assert fixture.identify().startswith("RMA,FX-100")
                assert fixture.query("DUT:FW?").payload == "3.2.1"  # the model's firmware in the catalogue
        assert process.poll() is None
    finally:
        code = _stop(process, signum)
    assert code == 0, process.stderr.read()
    assert not folder.exists()


def test_without_serve_the_fixture_simulator_stops_at_end_of_input_and_cleans_up():
    process, lines = _start([sys.executable, "-m", "drivers.fixture_sim"])
    url = _url(lines, process)
    assert process.wait(timeout=WAIT) == 0
    assert not Path(url).parent.exists()


def test_the_fixture_simulator_cleans_up_on_sigterm_without_serve_too():
    process = subprocess.Popen([sys.executable, "-m", "drivers.fixture_sim"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().rsplit(": ", 1)[1].strip()
        with SerialFixture(url) as fixture:
            assert fixture.query("*OPC?").payload == "1"
    finally:
        code = _stop(process, signal.SIGTERM)
        process.stdin.close()
    assert code == 0 and not Path(url).parent.exists()


@pytest.mark.parametrize("flags", [[], ["--tcp"]], ids=["pty", "tcp"])
def test_rma_sim_scanner_serves_in_the_background_until_sigterm(flags):
    process, lines = _start([sys.executable, "-m", "rma", "sim", "scanner", "--serve", *flags])
    try:
        url = _url(lines, process)
        with SerialScanner(url) as scanner:
            assert scanner.read_report(WAIT) == ScannerConnected(url)
        assert process.poll() is None
    finally:
        code = _stop(process, signal.SIGTERM)
    assert code == 0, process.stderr.read()
    if not flags:
        assert not Path(url).parent.exists()
