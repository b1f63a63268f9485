"""CSV exports: a spreadsheet never runs a cell as a formula, and plain numbers stay numbers."""

import csv
import io

from rma.exports import csv_bytes, csv_cell, csv_text


def test_formula_like_texts_are_defused():
    for text in ("=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3", "@SUM(1)", "\t=1", "\r=1"):
        assert csv_cell(text) == "'" + text


def test_numbers_and_ordinary_texts_are_kept():
    assert csv_cell("-80.5") == "-80.5"
    assert csv_cell("+12") == "+12"
    assert csv_cell("1e-5") == "1e-5"
    assert csv_cell(-3) == -3
    assert csv_cell("no power — 不开机") == "no power — 不开机"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "yes"


def test_a_whole_document_reads_back_as_plain_text():
    rows = [{"tag": "R26-000001", "reason": "=HYPERLINK(\"http://x\")", "value": "-9.5"}]
    text = csv_text(rows, ["tag", "reason", "value"])
    back = list(csv.DictReader(io.StringIO(text)))
    assert back == [{"tag": "R26-000001", "reason": "'=HYPERLINK(\"http://x\")", "value": "-9.5"}]
    data = csv_bytes(rows, ["tag", "reason"])
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
