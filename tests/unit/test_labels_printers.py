"""Printer settings and the Zebra status reply: no sockets, no processes."""

from __future__ import annotations

import pytest
from PIL import Image

from labels import (
    CupsPrinter, FolderPrinter, LabelError, PrinterError, RawTcpPrinter, encode_labels,
    printer_from_settings,
)
from labels.printers import zebra_status_problems

READY = b"\x02030,0,0,0240,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"


def status(first: dict[int, str] | None = None, second: dict[int, str] | None = None) -> bytes:
    one = "030,0,0,0240,000,0,0,0,000,0,0,0".split(",")
    two = "001,0,0,0,0,2,4,0,00000000,1,000".split(",")
    for i, v in (first or {}).items():
        one[i] = v
    for i, v in (second or {}).items():
        two[i] = v
    return f"\x02{','.join(one)}\x03\r\n\x02{','.join(two)}\x03\r\n\x021234,0\x03\r\n".encode()


def test_printers_are_built_from_a_stations_settings(tmp_path):
    tcp = printer_from_settings({"kind": "tcp", "host": "10.0.0.5", "port": 9100, "dpi": 203, "format": "zpl"})
    assert isinstance(tcp, RawTcpPrinter)
    assert (tcp.where, tcp.format, tcp.dpi, tcp.status_check, tcp.timeout) == ("10.0.0.5:9100", "zpl", 203, True, 5.0)
    folder = printer_from_settings({"kind": "folder", "path": str(tmp_path), "format": "png"})
    assert isinstance(folder, FolderPrinter) and folder.path == tmp_path and folder.format == "png"
    cups = printer_from_settings({"kind": "cups", "queue": "zebra1", "format": "pdf", "dpi": 300, "timeout": 10})
    assert isinstance(cups, CupsPrinter)
    assert (cups.queue, cups.format, cups.dpi, cups.timeout) == ("zebra1", "pdf", 300, 10.0)
    assert printer_from_settings({"kind": "tcp", "host": "h"}).format == "zpl"
    assert printer_from_settings({"kind": "cups", "queue": "q"}).format == "pdf"


@pytest.mark.parametrize("settings, reason", [
    ({"kind": "usb"}, "kind must be one of"),
    ({"host": "10.0.0.5"}, "kind must be one of"),
    ({"kind": "tcp"}, "needs its 'host'"),
    ({"kind": "tcp", "host": "10.0.0.5", "prot": 9100}, "unknown tcp printer setting 'prot'"),
    ({"kind": "tcp", "host": "10.0.0.5", "port": 0}, "port must be"),
    ({"kind": "tcp", "host": "10.0.0.5", "timeout": 0}, "timeout"),
    ({"kind": "tcp", "host": "10.0.0.5", "format": "png"}, "not 'png'"),
    ({"kind": "tcp", "host": "10.0.0.5", "format": "pdf", "status_check": True}, "~HS"),
    ({"kind": "folder", "format": "png"}, "needs its 'path'"),
    ({"kind": "cups", "queue": "zebra1", "dpi": "203"}, "dpi"),
    ({"kind": "cups", "queue": "-o evil"}, "not valid"),
])
def test_bad_printer_settings_are_refused(settings, reason):
    with pytest.raises(PrinterError, match=None) as err:
        printer_from_settings(settings)
    assert err.value.code == "bad_settings"
    assert reason in str(err.value)


def test_a_ready_zebra_has_no_problems():
    assert zebra_status_problems(READY) == []
    assert zebra_status_problems(status()) == []


@pytest.mark.parametrize("reply, problem", [
    (status(first={1: "1"}), "out of paper"),
    (status(first={2: "1"}), "paused"),
    (status(second={2: "1"}), "print head open"),
    (status(second={3: "1", 4: "1"}), "out of ribbon"),
    (status(first={11: "1"}), "over temperature"),
])
def test_zebra_status_flags_are_read(reply, problem):
    assert zebra_status_problems(reply) == [problem]


def test_ribbon_out_does_not_matter_in_direct_thermal_mode():
    assert zebra_status_problems(status(second={3: "1", 4: "0"})) == []


def test_an_answer_that_is_not_a_host_status_is_an_error():
    with pytest.raises(PrinterError, match="unexpected answer"):
        zebra_status_problems(b"HTTP/1.1 400 Bad Request\r\n\r\n")


def test_labels_are_encoded_per_format():
    image = Image.new("1", (16, 8), 1)
    image.info["dpi"] = (203, 203)
    (zpl, ext), = encode_labels([image, image], "zpl")
    assert ext == "zpl" and zpl.count(b"^XA") == 2
    (pdf, ext), = encode_labels([image, image], "pdf")
    assert ext == "pdf" and pdf.startswith(b"%PDF")
    assert [ext for _, ext in encode_labels([image, image], "png", copies=2)] == ["png"] * 4
    with pytest.raises(LabelError):
        encode_labels([image], "bmp")  # type: ignore[arg-type]


def test_a_label_rendered_for_another_resolution_is_refused(tmp_path):
    image = Image.new("1", (16, 8), 1)
    image.info["dpi"] = (300, 300)
    with pytest.raises(LabelError, match="300 dpi"):
        FolderPrinter(tmp_path, dpi=203).print_labels([image])
    assert list(tmp_path.iterdir()) == []
