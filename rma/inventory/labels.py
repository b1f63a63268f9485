"""What the stores print: a bin label (``labels/templates/part_bin.toml``) and a count sheet (PDF).

A count sheet lists the bins and parts of a count with an empty column to write in; it never
shows what should be there (the count is blind).
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

from labels import render
from labels.errors import LabelError
from labels.fonts import default_font_set, load_font
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.counts import count_sheet
from rma.inventory.ledger import find_bin, find_part

A4_MM = (210, 297)
DPI = 150
ROWS_PER_PAGE = 32


def bin_label(uow: UnitOfWork, bin_code: str, part_number: str, *, dpi: int = 203, fmt: str = "png") -> bytes:
    """The label of a part's bin: the bin large, the part number as a barcode, the description."""
    loc = find_bin(uow, bin_code)
    part = find_part(uow, part_number)
    fields = {"location": loc.code, "part_number": part.part_number,
              "description": f"{part.name_zh} {part.spec or ''}".strip()}
    try:
        image = render.render("part_bin", fields, dpi)
        if fmt == "pdf":
            return render.to_pdf([image])
        if fmt == "zpl":
            return render.to_zpl(image)
        return render.to_png(image)
    except LabelError as exc:
        raise DomainError("label_error", "the label cannot be made: {reason}", reason=str(exc)) from None


def _mm(value: float) -> int:
    return round(value / 25.4 * DPI)


def count_sheet_pdf(uow: UnitOfWork, code: str) -> bytes:
    """The count sheet of a count as an A4 PDF: bin, part number, name, unit, and a box to write in."""
    sheet = count_sheet(uow, code)
    try:
        fonts = default_font_set()
        regular = load_font(fonts.regular, _mm(3.6))
        bold = load_font(fonts.bold or fonts.regular, _mm(4.5))
    except LabelError as exc:
        raise DomainError("label_error", "the label cannot be made: {reason}", reason=str(exc)) from None
    lines: list[dict[str, Any]] = sheet["lines"] or [{}]
    pages = []
    for start in range(0, len(lines), ROWS_PER_PAGE):
        page = Image.new("L", (_mm(A4_MM[0]), _mm(A4_MM[1])), 255)
        draw = ImageDraw.Draw(page)
        left, top = _mm(15), _mm(15)
        draw.text((left, top), f"盘点表 Count sheet {sheet['code']}  ({sheet['scope']})", font=bold, fill=0)
        draw.text((left, top + _mm(7)), f"{sheet['started_at'][:10]}   {start // ROWS_PER_PAGE + 1}/"
                  f"{(len(lines) - 1) // ROWS_PER_PAGE + 1}", font=regular, fill=0)
        columns = ((0, "货位 Bin"), (30, "物料编码 Part"), (75, "名称 Name"), (140, "单位 Unit"), (155, "实盘 Counted"))
        y = top + _mm(16)
        for x, title in columns:
            draw.text((left + _mm(x), y), title, font=regular, fill=0)
        y += _mm(7)
        for line in lines[start:start + ROWS_PER_PAGE]:
            if line:
                for x, value in ((0, line["bin"]), (30, line["part_number"]), (75, line["name_zh"][:18]),
                                 (140, line["uom"])):
                    draw.text((left + _mm(x), y), value, font=regular, fill=0)
            draw.rectangle((left + _mm(155), y - _mm(1), left + _mm(180), y + _mm(5)), outline=0, width=2)
            y += _mm(7.5)
        draw.text((left, _mm(A4_MM[1] - 20)), "盘点人 Counted by: ____________    复核 Checked by: ____________",
                  font=regular, fill=0)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=float(DPI), save_all=True, append_images=pages[1:], title=sheet["code"])
    return out.getvalue()
