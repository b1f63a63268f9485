"""The two errors of the labels package: a label that cannot be made, a printer that cannot print."""

from __future__ import annotations


class LabelError(Exception):
    """A label cannot be made: bad template, bad field value, missing font, barcode too wide.

    ``code`` is a short machine-readable reason (``bad_template``, ``bad_field``,
    ``font_missing``, ``barcode_too_wide``, ``bad_image``); ``str(error)`` is for people.
    """

    def __init__(self, message: str, code: str = "label_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PrinterError(Exception):
    """A printer did not take the label: off, refused, timed out, not ready, or ``lp`` failed.

    The label was not (knowingly) printed; the caller keeps it queued for reprint.
    ``printer`` says which one (``10.0.0.5:9100``, a folder, ``lp -d zebra1``).
    """

    def __init__(self, message: str, code: str = "printer_error", printer: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.printer = printer
