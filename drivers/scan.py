"""Cleaning of one barcode scan, however it arrived: keyboard wedge in the browser or a serial scanner.

Every scan goes through :func:`clean_scan` before anything looks it up. Labels in this depot
(tags, serials, waybills, part numbers) are plain Code 128 or QR with ASCII payloads, so
cleaning is strict: it trims, removes the AIM symbology identifier a scanner may prefix, and
rejects what cannot be a label rather than guessing. Pure functions, no I/O.

Decisions (also in drivers/README.md):

- Surrounding whitespace is space, TAB, CR and LF only; ``str.strip()`` would also eat the
  GS/RS/US separators, which must be seen and refused instead.
- Full-width ASCII (U+FF01..U+FF5E) and the ideographic space are folded to ASCII first:
  a keyboard-wedge scanner typing into a browser whose Chinese input method is in
  full-width mode produces ``ＴＡＧ１２３`` for ``TAG123``. Nothing else is mapped.
- A leading ``]`` + letter + one character is always an AIM identifier (ISO/IEC 15424:
  ``]C0`` Code 128, ``]C1`` GS1-128, ``]Q1`` QR, ``]d2`` GS1 DataMatrix, ``]E0`` EAN-13 ...)
  and is removed; no label of ours starts with ``]``.
- GS (0x1D, the FNC1 separator of GS1 element strings) is refused like every other control
  character, with its own message: a GS1 barcode is not a label of this depot, and mapping GS
  to a printable character would invent a value that matches nothing.
- Anything outside printable ASCII (0x20..0x7E) after folding is ``garbled_scan``: a wrong
  baud rate, a half-duplex echo, or an input method turning keystrokes into Chinese.
"""

from __future__ import annotations

import re

DEFAULT_MAX_LENGTH = 64
SHOWN_CHARACTERS = 40  # how much of an offending scan a message shows

# Only these count as surrounding whitespace (not the Unicode set of str.strip()).
_WHITESPACE = " \t\r\n"
_AIM_IDENTIFIER = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_GS = "\x1d"

EMPTY_SCAN = "empty_scan"
CONTROL_CHARACTERS = "control_characters"
SCAN_TOO_LONG = "scan_too_long"
GARBLED_SCAN = "garbled_scan"
CODES = (EMPTY_SCAN, CONTROL_CHARACTERS, SCAN_TOO_LONG, GARBLED_SCAN)


class ScanError(ValueError):
    """A scan that cannot be a label: a stable ``code`` for programs, a ``message`` for people.

    Shaped like ``rma.errors.DomainError`` (which drivers may not import): ``template`` is
    the English text and the translation key, ``params`` fill its ``{placeholders}``.
    ``ScanError(code, message)`` with no params is a plain message.
    """

    def __init__(self, code: str, template: str, **params: object) -> None:
        self.code = code
        self.template = template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError):
            return self.template

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def __repr__(self) -> str:
        return f"ScanError({self.code!r}, {self.message!r})"


def shown(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` escaped for a message (every non-ASCII character too), cut to about ``limit``."""
    if len(ascii(text)) <= limit + 2:
        return ascii(text)
    keep = min(len(text), limit)
    while keep > 0 and len(ascii(text[:keep])) > limit:
        keep -= 1
    return f"{ascii(text[:keep])}... ({len(text)} characters)"


def clean_scan(raw: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """The label value in ``raw``, or :class:`ScanError` saying what is wrong with it.

    Checks in this order: empty, too long, control characters, not printable ASCII.
    """
    if not isinstance(raw, str):
        raise TypeError(f"clean_scan() takes the scan as str, not {type(raw).__name__}")
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, not {max_length}")
    text = raw.translate(_FULL_WIDTH).strip(_WHITESPACE)
    if _AIM_IDENTIFIER.match(text):
        text = text[3:].strip(_WHITESPACE)
    if not text:
        raise ScanError(EMPTY_SCAN, "Empty scan: no characters were read ({shown}). Scan the label again.",
                        shown=shown(raw))
    if len(text) > max_length:
        raise ScanError(
            SCAN_TOO_LONG,
            "Scan too long: {length} characters, at most {limit} allowed ({shown}). "
            "Is this the right label?",
            length=len(text), limit=max_length, shown=shown(text),
        )
    for position, char in enumerate(text, start=1):
        if char == _GS:
            raise ScanError(
                CONTROL_CHARACTERS,
                "Scan contains a GS1 group separator (GS, \\x1d) at position {position}: {shown}. "
                "This is a GS1 barcode, not a label of this depot.",
                position=position, shown=shown(text),
            )
        if char < " " or char == "\x7f":
            raise ScanError(
                CONTROL_CHARACTERS,
                "Scan contains the control character {char} at position {position}: {shown}. "
                "Check the scanner's settings and scan again.",
                char=ascii(char), position=position, shown=shown(text),
            )
    for position, char in enumerate(text, start=1):
        if char > "\x7e":
            raise ScanError(
                GARBLED_SCAN,
                "Garbled scan: {char} at position {position} is not plain ASCII ({shown}). "
                "Switch the keyboard to English input, check the scanner's settings, and scan again.",
                char=ascii(char), position=position, shown=shown(text),
            )
    return text


def incomplete_scan_error(raw: str, *, reason: str) -> ScanError:
    """A scan whose end-of-scan character never came (the scanner fell silent or went away)."""
    return ScanError(
        GARBLED_SCAN,
        "Incomplete scan: {shown} never ended ({reason}). Scan the label again.",
        shown=shown(raw), reason=reason,
    )


def runaway_scan_error(raw: str, *, limit: int) -> ScanError:
    """More bytes than any label without an end-of-scan character: noise or a wrong terminator."""
    return ScanError(
        SCAN_TOO_LONG,
        "Scan too long: more than {limit} characters without an end of scan ({shown}). "
        "Check the scanner's terminator setting.",
        limit=limit, shown=shown(raw),
    )
