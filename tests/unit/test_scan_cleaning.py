"""Every scan, from a keyboard wedge or a serial scanner, is cleaned the same way (no I/O here).

Also the framing of a serial scanner's byte stream into scans, with a fake clock.
"""

import pytest

from drivers.scan import ScanError, clean_scan, shown
from drivers.scanner import ScanFramer, parse_terminator


def error_of(raw: str, **kwargs) -> ScanError:
    with pytest.raises(ScanError) as caught:
        clean_scan(raw, **kwargs)
    return caught.value


# --- what passes, and what is trimmed off


@pytest.mark.parametrize("raw", ["TAG-000123", " TAG-000123 ", "TAG-000123\r", "TAG-000123\r\n",
                                 "\tTAG-000123\n", "\n\nTAG-000123\r\n\r\n"])
def test_surrounding_whitespace_is_trimmed(raw):
    assert clean_scan(raw) == "TAG-000123"


def test_inner_spaces_and_punctuation_of_a_label_are_kept():
    assert clean_scan("SF 1234 5678 90/A-b.c") == "SF 1234 5678 90/A-b.c"


@pytest.mark.parametrize("prefix", ["]C0", "]C1", "]E0", "]Q1", "]d2", "]A0", "]I1", "]e0", "]z0", "]X0", "]QA"])
def test_an_aim_symbology_identifier_is_removed(prefix):
    assert clean_scan(f"{prefix}HU-2024-0042\r") == "HU-2024-0042"


def test_only_a_leading_aim_identifier_is_removed():
    assert clean_scan("]C0A]C0B") == "A]C0B"
    assert clean_scan(" ]C0 SN123 ") == "SN123"


def test_something_that_only_looks_like_a_prefix_is_kept():
    assert clean_scan("]C") == "]C"  # too short to be an identifier
    assert clean_scan("]1AB") == "]1AB"  # the code character is a letter


def test_full_width_characters_from_a_chinese_input_method_are_folded_to_ascii():
    assert clean_scan("ＴＡＧ－０００１２３") == "TAG-000123"
    assert clean_scan("］Ｃ０ＳＮ１２\u3000") == "SN12"


def test_the_length_limit_counts_the_cleaned_value():
    assert clean_scan("]C0" + "A" * 64 + "\r\n") == "A" * 64
    assert clean_scan("A" * 10, max_length=10) == "A" * 10


# --- what is refused, with a code and a message that names the input


@pytest.mark.parametrize("raw", ["", " ", "\r", "\r\n", "\t \n", "]C0", "]Q1\r\n", "\u3000"])
def test_nothing_read_is_an_empty_scan(raw):
    error = error_of(raw)
    assert error.code == "empty_scan"
    assert "Empty scan" in error.message
    assert str(error) == error.message


@pytest.mark.parametrize("raw, char", [("TAG\x1b[A", "'\\x1b'"), ("TA\x00G", "'\\x00'"),
                                       ("TAG\x7f", "'\\x7f'"), ("A\tB", "'\\t'"), ("A\rB", "'\\r'"),
                                       ("\x07BELL", "'\\x07'")])
def test_control_characters_inside_are_refused(raw, char):
    error = error_of(raw)
    assert error.code == "control_characters"
    assert char in error.message
    assert "position" in error.message


def test_a_gs1_group_separator_is_refused_with_its_own_explanation():
    error = error_of("]C1010401234567890810ABC\x1d17250101")
    assert error.code == "control_characters"
    assert "GS1" in error.message and "\\x1d" in error.message
    assert "position 22" in error.message


def test_an_over_long_scan_is_refused():
    error = error_of("X" * 65)
    assert error.code == "scan_too_long"
    assert "65 characters" in error.message and "at most 64" in error.message
    assert error_of("ABCDEFGHIJK", max_length=10).code == "scan_too_long"


@pytest.mark.parametrize("raw", ["TAG-\xff12", "TAG-\u00e9", "标签123", "TAG\x85", "ÿþ\xfd"])
def test_non_ascii_is_garbled(raw):
    error = error_of(raw)
    assert error.code == "garbled_scan"
    assert "not plain ASCII" in error.message


def test_the_message_shows_the_input_escaped_and_cut_short():
    error = error_of("GARBAGE-" * 6 + "\x00")
    assert "'GARBAGE-GARBAGE-" in error.message
    assert "... (49 characters)" in error.message
    assert "\x00" not in error.message  # escaped, never the raw byte
    assert len(shown("\x00" * 500)) < 70
    assert shown("标签") == "'\\u6807\\u7b7e'"


def test_checks_come_in_a_fixed_order():
    assert error_of("\x00" * 100).code == "scan_too_long"
    assert error_of("\x00\xff").code == "control_characters"
    assert error_of("\xff\x00").code == "control_characters"


def test_an_error_is_shaped_like_a_domain_error():
    error = error_of("\r\n")
    assert error.as_json() == {"error": {"code": "empty_scan", "message": error.message}}
    assert "{shown}" in error.template and error.params["shown"] == "'\\r\\n'"
    assert ScanError("garbled_scan", "plain message").message == "plain message"


def test_only_text_is_cleaned():
    with pytest.raises(TypeError):
        clean_scan(b"TAG")


# --- framing a serial byte stream into scans (fake clock: ``now`` is passed in)


def values(results):
    return [r.value if r.ok else r.error.code for r in results]


def test_frames_end_at_the_terminator_and_may_be_split_across_reads():
    framer = ScanFramer(b"\r")
    assert framer.feed(b"TAG-0", 0.0) == []
    assert values(framer.feed(b"01\rTAG-002\rTA", 0.01)) == ["TAG-001", "TAG-002"]
    assert values(framer.feed(b"G-003\r", 0.02)) == ["TAG-003"]
    assert framer.pending == b""


def test_a_crlf_terminator_split_between_reads():
    framer = ScanFramer("CRLF")
    assert framer.feed(b"]C0TAG-1\r", 0.0) == []
    results = framer.feed(b"\n", 0.01)
    assert values(results) == ["TAG-1"] and results[0].raw == b"]C0TAG-1"


def test_consecutive_terminators_and_a_stray_lf_are_not_scans():
    framer = ScanFramer(b"\r", partial_timeout=0.5)
    assert values(framer.feed(b"\r\rA\r\nB\r\n", 0.0)) == ["A", "B"]
    assert framer.expire(10.0) == []  # the last LF alone is not a half scan


def test_a_half_scan_is_reported_after_silence_and_the_next_scan_is_clean():
    framer = ScanFramer(b"\r", partial_timeout=0.5)
    framer.feed(b"TAG-00", 1.0)
    assert framer.expire(1.4) == []
    [half] = framer.expire(1.5)
    assert half.error.code == "garbled_scan" and half.raw == b"TAG-00"
    assert "'TAG-00'" in half.error.message
    assert values(framer.feed(b"TAG-007\r", 1.6)) == ["TAG-007"]


def test_a_half_scan_is_also_reported_when_new_bytes_come_after_the_silence():
    framer = ScanFramer(b"\r", partial_timeout=0.5)
    framer.feed(b"\x00\xff", 0.0)
    assert values(framer.feed(b"TAG-1\r", 2.0)) == ["garbled_scan", "TAG-1"]


def test_noise_without_terminators_never_grows_the_buffer():
    framer = ScanFramer(b"\r", max_length=64, partial_timeout=0.5)
    noise = bytes(b for b in range(256) if b != 0x0D)
    reports = []
    for i in range(1000):
        reports += framer.feed(noise, i * 0.001)
        assert len(framer.pending) <= framer.max_frame
    assert values(reports) == ["scan_too_long"]  # once, not once per read
    assert len(reports[0].raw) == framer.max_frame
    assert values(framer.feed(b"\rTAG-1\r", 1.0)) == ["TAG-1"]


def test_a_runaway_frame_is_forgotten_after_silence():
    framer = ScanFramer(b"\r\n", max_length=8, partial_timeout=0.5)
    assert values(framer.feed(b"x" * 500, 0.0)) == ["scan_too_long"]
    assert framer.expire(1.0) == []
    assert values(framer.feed(b"TAG-1\r\n", 1.1)) == ["TAG-1"]


def test_a_bad_frame_is_reported_with_its_bytes():
    framer = ScanFramer(b"\n")
    [bad, good] = framer.feed(b"TAG\x1b[A\nTAG-2\n", 0.0)
    assert bad.error.code == "control_characters" and bad.raw == b"TAG\x1b[A" and bad.value is None
    assert good.ok and good.value == "TAG-2" and good.error is None


@pytest.mark.parametrize("given, expected", [("CR", b"\r"), ("lf", b"\n"), ("CRLF", b"\r\n"),
                                             (b"\x03", b"\x03"), ("\t", b"\t"), (b"\r\n", b"\r\n")])
def test_terminators_by_name_or_bytes(given, expected):
    assert parse_terminator(given) == expected


@pytest.mark.parametrize("given", [b"", ""])
def test_an_empty_terminator_is_refused(given):
    with pytest.raises(ValueError):
        parse_terminator(given)
