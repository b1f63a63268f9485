"""Label templates (data) and their rendering to PNG, PDF and ZPL. Imports nothing from ``rma``.

Data in, label out::

    from labels import render, to_zpl, printer_from_settings

    image = render("unit_tag", {"tag": "R26-000042", "serial": "HU8A2405001234",
                                "model": "导航主机 NX-700", "received": date.today(),
                                "warranty": "in", "intercepted": False}, dpi=203)
    printer = printer_from_settings({"kind": "tcp", "host": "10.0.0.5", "dpi": 203})
    printer.print_labels([image])      # PrinterError if it did not take it: keep it queued

Templates are TOML files in ``labels/templates/`` (see ``labels.template`` for the format);
the shipped ones are ``unit_tag`` (50 × 30 mm), ``parcel`` (a received parcel, 100 × 60 mm),
``parcel_out`` (a parcel sent to a customer, 100 × 60 mm), ``part_bin`` (70 × 40 mm) and ``ic_tray``
(a tray or bag of programmed ICs, 70 × 40 mm).
"""

from labels.errors import LabelError, PrinterError
from labels.fonts import FontFace, find_cjk_font
from labels.printers import (
    CupsPrinter,
    FolderPrinter,
    Printer,
    RawTcpPrinter,
    encode_labels,
    printer_from_settings,
)
from labels.render import label_size, mm_to_dots, render, to_pdf, to_png, to_zpl
from labels.template import (
    Template,
    available_templates,
    load_template,
    load_template_file,
)

__all__ = [
    "CupsPrinter", "FolderPrinter", "FontFace", "LabelError", "Printer", "PrinterError",
    "RawTcpPrinter", "Template", "available_templates", "encode_labels", "find_cjk_font",
    "label_size", "load_template", "load_template_file", "mm_to_dots", "printer_from_settings",
    "render", "to_pdf", "to_png", "to_zpl",
]
