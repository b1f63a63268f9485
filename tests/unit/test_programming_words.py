"""The programming ledger's rows in words, in both languages, and the command's progress bar."""

from __future__ import annotations

import io

import pytest

from rma.i18n import CHINESE, ENGLISH
from rma.programming.cli import ProgressBar
from rma.programming.sentences import attempt_sentence
from rma.programming.services import ReflashProgress
from rma.sentences import Words
from tests.unit.test_sentences import readable

ROW = {"result": "ok", "image_version": "3.2.1", "old_version": "3.1.0", "old_sha256": "ab" * 32, "seconds": 11.44,
       "chip_id": "EF4015", "chip_name": "W25Q16", "socket": 1, "station": "bench-1", "written": 65536,
       "size": 65536, "code": None, "first_bad_address": None}
ROWS = [
    ROW,
    {**ROW, "result": "failed", "code": "programmer_verify_failed", "first_bad_address": "0x00001F3A"},
    {**ROW, "result": "failed", "code": "programmer_wrong_chip", "chip_id": "EF4016", "old_version": None,
     "old_sha256": None},
    {**ROW, "result": "error", "code": "programmer_port_lost", "first_bad_address": "0x00007000"},
    {**ROW, "result": "error", "code": "programmer_timeout", "chip_id": None, "old_version": None},
    {**ROW, "result": "abandoned", "code": "abandoned"},
    {**ROW, "result": "unfinished", "written": 12288, "seconds": None},
]


@pytest.mark.parametrize("lang", [ENGLISH, CHINESE])
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['result']}-{r['code']}" for r in ROWS])
def test_every_attempt_reads_as_a_sentence(row, lang):
    text = attempt_sentence(row, Words(lang))
    assert readable(text, lang) == [], text
    assert "3.2.1" in text and text.endswith("。" if lang == CHINESE else ".")
    if row["first_bad_address"]:
        assert row["first_bad_address"] in text


def test_what_the_sentences_say():
    en, zh = Words(ENGLISH), Words(CHINESE)
    assert attempt_sentence(ROW, en) == ("Firmware 3.1.0 → 3.2.1: programmed and verified; in 11.4 s; "
                                         "chip W25Q16 EF4015 in socket 1; at station bench-1.")
    assert attempt_sentence(ROWS[1], zh).startswith("固件 3.1.0 → 3.2.1：烧录失败；校验发现芯片内容与镜像不符；首个错误地址 0x00001F3A")
    assert "12288 of 65536 bytes acknowledged" in attempt_sentence(ROWS[-1], en)
    assert attempt_sentence({**ROW, "old_version": None}, en).startswith("Firmware unknown → 3.2.1:")


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def progress(done: int, phase: str = "write") -> ReflashProgress:
    return ReflashProgress(phase, done, 1 << 20, 90_000.0, done / 90_000, ((1 << 20) - done) / 90_000)


def test_the_bar_into_a_log_writes_a_line_a_quarter():
    stream = Stream(tty=False)
    bar = ProgressBar(stream)
    for done in range(4096, (1 << 20) + 1, 4096):
        bar.show(progress(done))
    bar.show(progress(0, "verify"))
    bar.show(progress(1 << 20, "verify"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 7 and lines[0].startswith("write ") and lines[-1].startswith("verify")
    assert "90.0 kB/s" in lines[0] and "12 s left" in lines[0] and "s left" not in lines[4]


def test_the_bar_on_a_terminal_redraws_in_place():
    stream = Stream(tty=True)
    bar = ProgressBar(stream)
    bar.show(progress(4096))
    bar.show(progress(8192))  # within a tenth of a second: not drawn
    bar.show(progress(1 << 20))
    bar.end()
    text = stream.getvalue()
    assert text.count("\r") == 2 and "1024/1024 KiB" in text and text.endswith("\n")
