"""Labels reach printers: a real socket on 127.0.0.1, a real folder, a fake ``lp`` on PATH."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from labels import (
    CupsPrinter, FolderPrinter, LabelError, PrinterError, RawTcpPrinter, find_cjk_font,
    printer_from_settings, render, to_zpl,
)
from tests.conftest import need

UNIT = {
    "tag": "R26-000042", "serial": "HU8A2405001234", "model": "导航主机 NX-700",
    "received": dt.date(2026, 5, 6), "warranty": "out", "intercepted": True,
}
READY = b"\x02030,0,0,0240,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"
PAPER_OUT = READY.replace(b"\x02030,0,0,", b"\x02030,1,0,", 1)


@pytest.fixture(scope="module")
def label() -> Image.Image:
    try:
        find_cjk_font()
    except LabelError as exc:
        need(False, f"a Chinese font (fonts-noto-cjk): {exc}")
    return render("unit_tag", UNIT, 203)


class FakeZebra:
    """A one-connection server on 127.0.0.1 that behaves like a Zebra's raw port (or doesn't).

    ``status``: the reply to ``~HS`` (None: never answer). ``reads``: False to accept and
    then never read a byte. Everything received is kept in ``received``.
    """

    def __init__(self, *, status: bytes | None = READY, reads: bool = True, receive_buffer: int | None = None):
        self.status = status
        self.reads = reads
        self.received = b""
        self.stop = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(10)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            if not self.reads:
                self.stop.wait(10)
                return
            conn.settimeout(10)
            answered = False
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.received += chunk
                if not answered and b"~HS" in self.received and self.status is not None:
                    conn.sendall(self.status)
                    answered = True

    def finish(self) -> bytes:
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the fake printer never saw the end of the job"
        return self.received

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture
def zebra():
    servers: list[FakeZebra] = []

    def start(**kwargs) -> FakeZebra:
        server = FakeZebra(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- raw TCP -------------------------------------------------------------------------------


def test_the_zpl_arrives_byte_for_byte_after_a_status_check(zebra, label):
    server = zebra()
    printer = RawTcpPrinter("127.0.0.1", server.port, timeout=5)
    assert printer.print_labels([label]) == [f"127.0.0.1:{server.port}"]
    assert server.finish() == b"~HS" + to_zpl(label)


def test_without_the_status_check_only_the_zpl_is_sent(zebra, label):
    server = zebra(status=None)
    printer = printer_from_settings(
        {"kind": "tcp", "host": "127.0.0.1", "port": server.port, "dpi": 203, "format": "zpl", "status_check": False}
    )
    printer.print_labels([label, label])
    assert server.finish() == to_zpl(label) + to_zpl(label)


def test_a_closed_port_fails_at_once_naming_host_and_port(label):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    started = time.monotonic()
    with pytest.raises(PrinterError) as err:
        RawTcpPrinter("127.0.0.1", port, timeout=5).print_labels([label])
    assert time.monotonic() - started < 2
    assert err.value.code == "printer_unreachable"
    assert f"127.0.0.1:{port}" in str(err.value) and "refused" in str(err.value)
    assert err.value.printer == f"127.0.0.1:{port}"


def test_a_printer_that_accepts_but_never_answers_times_out(zebra, label):
    server = zebra(reads=False)
    started = time.monotonic()
    with pytest.raises(PrinterError) as err:
        RawTcpPrinter("127.0.0.1", server.port, timeout=0.5).print_labels([label])
    assert time.monotonic() - started < 3
    assert err.value.code == "printer_timeout"
    assert f"127.0.0.1:{server.port}" in str(err.value) and "~HS" in str(err.value)


def test_a_printer_that_never_reads_a_big_job_times_out_while_sending(zebra):
    server = zebra(reads=False, receive_buffer=4096)
    printer = RawTcpPrinter("127.0.0.1", server.port, timeout=0.5, status_check=False)
    started = time.monotonic()
    with pytest.raises(PrinterError) as err:
        printer.send(b"^XA" + b"0" * 16_000_000 + b"^XZ")  # far more than the socket buffers hold
    assert time.monotonic() - started < 5
    assert err.value.code == "printer_timeout"
    assert f"127.0.0.1:{server.port}" in str(err.value)


def test_a_printer_out_of_paper_is_refused_before_the_label_is_sent(zebra, label):
    server = zebra(status=PAPER_OUT)
    with pytest.raises(PrinterError) as err:
        RawTcpPrinter("127.0.0.1", server.port, timeout=5).print_labels([label])
    assert err.value.code == "printer_not_ready"
    assert "out of paper" in str(err.value) and f"127.0.0.1:{server.port}" in str(err.value)
    assert server.finish() == b"~HS"  # the label stays with the caller, to be reprinted


# --- folder --------------------------------------------------------------------------------


def test_the_folder_printer_writes_one_png_per_label(tmp_path, label):
    folder = tmp_path / "out"
    written = FolderPrinter(folder, format="png").print_labels([label, label], job_name="R26-000042")
    assert sorted(Path(p).name for p in written) == sorted(p.name for p in folder.iterdir())
    assert len(written) == 2 and all(Path(p).name.startswith("R26-000042-") for p in written)
    for path in written:
        back = Image.open(io.BytesIO(Path(path).read_bytes()))
        assert back.format == "PNG" and back.tobytes() == label.tobytes()


def test_the_folder_printer_writes_pdf_and_zpl_jobs(tmp_path, label):
    (pdf,) = FolderPrinter(tmp_path, format="pdf").print_labels([label, label, label])
    data = Path(pdf).read_bytes()
    assert Path(pdf).suffix == ".pdf" and data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 3
    (zpl,) = FolderPrinter(tmp_path, format="zpl").print_labels([label])
    assert Path(zpl).read_bytes() == to_zpl(label)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_folder_that_cannot_be_written_is_a_printer_error(tmp_path, label):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(PrinterError) as err:
        FolderPrinter(blocker / "labels").print_labels([label])
    assert str(blocker) in str(err.value)


# --- CUPS through lp -----------------------------------------------------------------------


def fake_lp(tmp_path: Path, body: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    lp = bin_dir / "lp"
    lp.write_text("#!/bin/sh\n" + body)
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


@pytest.fixture
def lp_on_path(tmp_path, monkeypatch):
    def install(body: str) -> Path:
        bin_dir = fake_lp(tmp_path, body)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        return tmp_path

    return install


def test_cups_gets_the_zpl_raw_with_the_queue_and_job_name(lp_on_path, label):
    home = lp_on_path(
        'printf "%s\\n" "$@" > "$(dirname "$0")/../args"\n'
        'cat > "$(dirname "$0")/../data"\n'
        'echo "request id is zebra1-7 (1 file(s))"\n'
    )
    printer = printer_from_settings({"kind": "cups", "queue": "zebra1", "format": "zpl", "dpi": 203})
    assert printer.print_labels([label], job_name="R26-000042") == ["request id is zebra1-7 (1 file(s))"]
    assert (home / "args").read_text().splitlines() == ["-d", "zebra1", "-t", "R26-000042", "-o", "raw"]
    assert (home / "data").read_bytes() == to_zpl(label)


def test_cups_gets_a_pdf_without_raw(lp_on_path, label):
    home = lp_on_path('printf "%s\\n" "$@" > "$(dirname "$0")/../args"\ncat > "$(dirname "$0")/../data"\n')
    assert CupsPrinter("office", format="pdf").print_labels([label]) == ["lp -d office"]
    assert (home / "args").read_text().splitlines() == ["-d", "office", "-t", "label"]
    assert (home / "data").read_bytes().startswith(b"%PDF")


def test_a_failing_lp_passes_its_complaint_on(lp_on_path, label):
    lp_on_path('cat > /dev/null\necho "lp: The printer or class does not exist." >&2\nexit 1\n')
    with pytest.raises(PrinterError) as err:
        CupsPrinter("zebra9", format="zpl").print_labels([label])
    assert err.value.code == "printer_failed"
    assert "lp -d zebra9" in str(err.value) and "The printer or class does not exist." in str(err.value)


def test_an_lp_that_hangs_is_cut_off(lp_on_path, label):
    lp_on_path("exec sleep 30\n")
    started = time.monotonic()
    with pytest.raises(PrinterError) as err:
        CupsPrinter("zebra1", format="zpl", timeout=0.5).print_labels([label])
    assert time.monotonic() - started < 5
    assert err.value.code == "printer_timeout" and "lp -d zebra1" in str(err.value)


def test_a_machine_without_lp_says_what_to_install(label):
    with pytest.raises(PrinterError) as err:
        CupsPrinter("zebra1", lp="/nonexistent/lp").print_labels([label])
    assert "cups-client" in str(err.value)
