"""The station's self-check, as an admin reads it: what this PC lacks before the first scan."""

from __future__ import annotations

import json
import os
import shutil
import socket
import string
from pathlib import Path

import pytest

from labels import LabelError, find_cjk_font
from rma import i18n
from rma.cli import main
from rma.station.checks import MESSAGES, check_station
from tests.conftest import need

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RMA_HOME", str(path))
    return path


@pytest.fixture
def cjk_font():
    try:
        return find_cjk_font()
    except LabelError as exc:
        need(False, f"a Chinese font (fonts-noto-cjk): {exc}")


def station(home: Path, toml: str) -> None:
    (home / "rma.toml").write_text(toml, encoding="utf-8")


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_fresh_station_with_its_font_has_nothing_missing(home, cjk_font):
    assert check_station() == []  # labels go to $RMA_HOME/printed-labels, which can be made
    assert not (home / "printed-labels").exists(), "the check changes nothing"


def test_a_machine_without_a_chinese_font_is_told_what_to_install(home, tmp_path):
    need(DEJAVU.is_file(), f"{DEJAVU} (fonts-dejavu-core)")
    fonts = tmp_path / "fonts"  # a font folder with only a Latin font in it
    fonts.mkdir()
    shutil.copy(DEJAVU, fonts / "DejaVuSans.ttf")
    problems = check_station(font_candidates=[*sorted(fonts.iterdir()), fonts / "NotoSansCJK-Regular.ttc"],
                             use_fontconfig=False)
    assert codes(problems) == ["font_missing"]
    assert "fonts-noto-cjk" in problems[0].message and "labels cannot be printed" in problems[0].message
    chinese = i18n.translate(problems[0].template, i18n.CHINESE).format(**problems[0].params)
    assert "中文字体" in chinese and "fonts-noto-cjk" in chinese


def test_a_label_printer_that_refuses_is_named(home, cjk_font):
    port = closed_port()
    station(home, f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\n')
    problems = check_station()
    assert codes(problems) == ["printer_refused"]
    assert f"127.0.0.1:{port}" in problems[0].message and "switched on" in problems[0].message


def test_a_label_printer_that_listens_is_fine(home, cjk_font):
    with socket.socket() as printer:
        printer.bind(("127.0.0.1", 0))
        printer.listen(1)
        station(home, f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {printer.getsockname()[1]}\n')
        assert check_station() == []


def test_a_label_folder_that_cannot_be_written_is_named(home, tmp_path, cjk_font):
    blocker = tmp_path / "labels-are-here"
    blocker.write_text("a file where the folder should be")
    station(home, f'[printer]\nkind = "folder"\npath = "{blocker / "out"}"\n')
    problems = check_station()
    assert codes(problems) == ["printer_folder"]
    assert str(blocker / "out") in problems[0].message and "Not a directory" in problems[0].message


def test_bad_printer_settings_are_a_problem_not_a_crash(home, cjk_font):
    station(home, '[printer]\nkind = "tcp"\nprot = 9100\n')
    problems = check_station()
    assert codes(problems) == ["printer_settings"] and "'prot'" in problems[0].message


def test_a_fixture_port_that_does_not_exist_is_named(home, cjk_font):
    station(home, '[test_station]\nport = "/dev/serial/by-id/usb-rma-fixture-missing-if00"\n')
    problems = check_station()
    assert codes(problems) == ["fixture_port_missing"]
    assert "/dev/serial/by-id/usb-rma-fixture-missing-if00" in problems[0].message


def test_a_fixture_port_that_exists_is_fine(home, cjk_font):
    controller, device = os.openpty()  # a pty stands for the fixture's USB serial port
    try:
        station(home, f'[test_station]\nport = "{os.ttyname(device)}"\n')
        assert check_station() == []
        station(home, '[test_station]\nport = "loop://"\n')
        assert check_station() == []
    finally:
        os.close(controller)
        os.close(device)


@pytest.mark.parametrize("url, code", [
    ("/dev/ttyACM-rma-missing", "scanner_port_missing"),
    ("socket://no-such-scanner.invalid:4001", "scanner_port_bad"),
    ("socket://10.0.0.7", "scanner_port_form"),
    ("ftp://10.0.0.7:21", "scanner_port_form"),
    ("", "scanner_url_missing"),
])
def test_a_serial_scanner_port_that_cannot_be_there_is_named(home, cjk_font, url, code):
    station(home, f'[scanner]\nkind = "serial"\nurl = "{url}"\n')
    problems = check_station()
    assert codes(problems) == [code]
    assert url in problems[0].message


def test_a_broken_rma_toml_is_reported_with_the_font(home, tmp_path):
    station(home, "[printer\n")
    problems = check_station(font_candidates=[tmp_path / "none.ttc"], use_fontconfig=False)
    assert codes(problems) == ["font_missing", "bad_config"]
    assert "rma.toml" in problems[1].message


def test_everything_missing_at_once_in_a_fixed_order(home, tmp_path):
    station(home, f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {closed_port()}\n\n'
                  '[test_station]\nport = "/dev/ttyUSB-rma-missing"\n\n'
                  '[scanner]\nkind = "serial"\nurl = "/dev/ttyACM-rma-missing"\n')
    problems = check_station(font_candidates=[tmp_path / "none.ttc"], use_fontconfig=False)
    assert codes(problems) == ["font_missing", "printer_refused", "fixture_port_missing", "scanner_port_missing"]


def test_rma_station_check_prints_the_problems_and_exits_1(home, cjk_font, capsys):
    assert main(["station", "check"]) == 0
    assert "everything this station needs is in place" in capsys.readouterr().out
    station(home, '[test_station]\nport = "/dev/ttyUSB-rma-missing"\n')
    assert main(["station", "check", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    assert [p["code"] for p in body["problems"]] == ["fixture_port_missing"]
    assert "/dev/ttyUSB-rma-missing" in body["problems"][0]["message"]
    assert main(["--json", "station", "check"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"][0]["code"] == "fixture_port_missing"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_problem_reads_in_chinese_with_the_same_placeholders(code):
    template = MESSAGES[code]
    assert template in i18n.ZH, f"no 简体中文 for {template!r}"
    assert placeholders(i18n.ZH[template]) == placeholders(template)
