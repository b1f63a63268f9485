"""Template + field values → a 1-bit image at the printer's resolution → PNG, PDF or ZPL.

Everything is placed in whole printer dots: a box of ``x_mm`` starts at dot
``mm_to_dots(x_mm, dpi)``, and the label is ``mm_to_dots(width_mm, dpi)`` dots wide
(50 × 30 mm is 400 × 240 dots at 203 dpi and 591 × 354 at 300 dpi).
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import re
import threading
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Literal, Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

from labels import fonts
from labels.code128 import code128_modules, draw_bars, fit_code128
from labels.errors import LabelError
from labels.template import (
    FRAME_PADDING_MM,
    LINE_SPACING,
    BarcodeElement,
    Box,
    RuleElement,
    Template,
    TextElement,
    load_template,
)

MM_PER_INCH = 25.4
A4_MM = (210.0, 297.0)
SHEET_MARGIN_MM = 10.0
SHEET_GAP_MM = 3.0
_ASCENT_EM = 0.88  # top of the ideographic em box above the baseline (descent 0.12)
_FRAME_LINE_MM = 0.25
_ELLIPSIS = "…"
TEXT_TILE_CACHE = 1024  # fitted texts kept per process (a few kB each)
_FALSE_WORDS = {"", "0", "false", "no", "off", "n", "none"}
_FREETYPE = threading.Lock()  # the cached fonts are shared; FreeType faces are not thread-safe

Sheet = Literal["label", "a4"]


def mm_to_dots(mm: float, dpi: int) -> int:
    """Millimetres to printer dots: ``round(mm / 25.4 * dpi)``."""
    return round(mm / MM_PER_INCH * dpi)


def label_size(template: Template, dpi: int) -> tuple[int, int]:
    """The label's size in dots, width × height."""
    return mm_to_dots(template.width_mm, dpi), mm_to_dots(template.height_mm, dpi)


def render(
    template: Template | str,
    fields: Mapping[str, object],
    dpi: int = 203,
    *,
    font: str | Path | None = None,
) -> Image.Image:
    """Draw one label: a mode '1' image (0 = black dot) of the template at ``dpi``.

    ``template`` is a loaded ``Template`` or the name of a shipped one. ``fields`` holds
    the values (str, int, date, datetime, bool, Enum; None = not given). ``font`` (a file)
    overrides the template's font, which overrides the machine's Noto Sans CJK. The
    image's ``info['dpi']`` carries ``dpi`` to ``to_png`` and ``to_pdf``.

    Raises ``LabelError`` for a missing required field, a value the barcode or the
    font cannot show, text that does not fit, or no usable font.
    """
    tpl = load_template(template) if isinstance(template, str) else template
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 100 <= dpi <= 1200:
        raise LabelError(f"dpi must be a whole number of dots per inch (203, 300, 600), not {dpi!r}",
                         code="bad_field")
    shown = _field_texts(tpl, fields)
    with _FREETYPE:
        font_set = _font_set(tpl, font)
        image = _draw(tpl, fields, shown, dpi, font_set)
    image.info["dpi"] = (dpi, dpi)
    return image


def _draw(
    tpl: Template, fields: Mapping[str, object], shown: Mapping[str, str], dpi: int, font_set: fonts.FontSet
) -> Image.Image:
    image = Image.new("1", label_size(tpl, dpi), 1)
    for number, element in enumerate(tpl.elements, start=1):
        if element.when is not None and not _is_true(fields.get(element.when)):
            continue
        box = _box_dots(element.box, dpi)
        where = f"template {tpl.name}, element {number}"
        if isinstance(element, RuleElement):
            ImageDraw.Draw(image).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=0)
        elif isinstance(element, BarcodeElement):
            _draw_barcode(image, element, shown[element.field], box, dpi, font_set, where)
        else:
            text = _format_text(element, shown, where)
            _draw_text(image, element, text, box, dpi, font_set, where)
    return image


def to_png(image: Image.Image) -> bytes:
    """The label as PNG bytes (1-bit, with its dpi recorded)."""
    dpi = _dpi_of(image, None)
    buf = io.BytesIO()
    # zlib's run-length strategy suits a 1-bit label (long runs of white): a 50 × 30 mm label at
    # 203 dpi is 2.1 kB in 0.35 ms, where optimize=True made 1.9 kB in 4.4 ms (and level 1 2.3 kB in 0.39 ms)
    _one_bit(image).save(buf, "PNG", dpi=(dpi, dpi), compress_level=6, compress_type=zlib.Z_RLE)
    return buf.getvalue()


def to_pdf(images: Sequence[Image.Image], sheet: Sheet = "label", *, dpi: int | None = None) -> bytes:
    """The labels as one PDF: a page per label at its true size, or A4 sheets in a grid.

    ``sheet='a4'`` puts as many labels on each A4 page as fit, row by row, with
    ``SHEET_MARGIN_MM`` margins and ``SHEET_GAP_MM`` between labels, at true size.
    ``dpi`` defaults to the images' own (all must agree).
    """
    if not images:
        raise LabelError("no labels to put in a PDF", code="bad_image")
    dpis = {_dpi_of(im, dpi) for im in images}
    if len(dpis) != 1:
        raise LabelError(f"labels of different resolutions ({sorted(dpis)} dpi) in one PDF", code="bad_image")
    (resolution,) = dpis
    pages = [_one_bit(im) for im in images]
    if sheet == "a4":
        pages = _a4_sheets(pages, resolution)
    elif sheet != "label":
        raise LabelError(f"sheet must be 'label' or 'a4', not {sheet!r}", code="bad_image")
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=float(resolution), save_all=True, append_images=pages[1:],
                  title="labels", producer="labels (rma)")
    return buf.getvalue()


def to_zpl(image: Image.Image, *, copies: int = 1) -> bytes:
    """The label as a ZPL II format: the bitmap as one ``^GFA`` graphic field at 0,0.

    ``^XA^PW{w}^LL{h}^FO0,0^GFA,{n},{n},{row},{HEX}^FS^XZ`` where ``row`` is
    ``ceil(w / 8)`` bytes, ``n = row × h``, a 1 bit is a black dot, the first bit of a
    byte is its leftmost dot, and the padding bits at the end of each row are 0 (white).
    """
    if not isinstance(copies, int) or copies < 1:
        raise LabelError(f"copies must be a whole number ≥ 1, not {copies!r}", code="bad_image")
    bitmap = _one_bit(image)
    width, height = bitmap.size
    row_bytes = (width + 7) // 8
    total = row_bytes * height
    # Pillow packs mode '1' MSB-first with 1 = white; ZPL wants 1 = black: invert every dot, and
    # keep the padding bits at the end of each row 0 (one big-integer XOR/AND, no pass per dot)
    white_is_one = bitmap.tobytes()
    assert len(white_is_one) == total
    spare = row_bytes * 8 - width
    dots = int.from_bytes((b"\xff" * (row_bytes - 1) + bytes([0xFF << spare & 0xFF])) * height, "big")
    black_is_one = ((int.from_bytes(white_is_one, "big") ^ dots) & dots).to_bytes(total, "big")
    quantity = f"^PQ{copies}" if copies > 1 else ""
    return (
        f"^XA^PW{width}^LL{height}^FO0,0^GFA,{total},{total},{row_bytes},"
        f"{black_is_one.hex().upper()}^FS{quantity}^XZ\n"
    ).encode("ascii")


# --- fields --------------------------------------------------------------------------------


def _field_texts(tpl: Template, fields: Mapping[str, object]) -> dict[str, str]:
    shown = {}
    for name, spec in tpl.fields.items():
        text = _as_text(fields.get(name))
        if spec.required and not text.strip():
            about = f" ({spec.about})" if spec.about else ""
            raise LabelError(f"template {tpl.name} needs the field {name!r}{about}", code="bad_field")
        shown[name] = text
    return shown


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return re.sub(r"[\r\n\t]+", " ", str(value))


def _is_true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() not in _FALSE_WORDS
    if isinstance(value, enum.Enum):
        return _is_true(value.value)
    return bool(value)


def _format_text(element: TextElement, shown: Mapping[str, str], where: str) -> str:
    values = dict(shown)
    for name, words in element.values.items():
        values[name] = _look_up(name, shown[name], words, where)
    return element.text.format_map(values)


def _look_up(name: str, value: str, words: Mapping[str, str], where: str) -> str:
    key = value.strip().casefold()
    for known, word in words.items():
        if known.casefold() == key:
            return word
    if value in words.values():
        return value
    raise LabelError(
        f"{where}: field {name!r} is {value!r}, not one of {', '.join(words)}", code="bad_field"
    )


# --- fonts ---------------------------------------------------------------------------------


def _font_set(tpl: Template, font: str | Path | None) -> fonts.FontSet:
    if font is not None:
        return fonts.font_set(fonts.font_face(font))
    if tpl.font is not None:
        return fonts.font_set(fonts.font_face(tpl.font, tpl.font_index))
    return fonts.default_font_set()


def _face(font_set: fonts.FontSet, bold: bool) -> tuple[fonts.FontFace, bool]:
    """The face to draw with, and whether to embolden it by stroking (no bold sibling)."""
    if bold and font_set.bold is not None:
        return font_set.bold, False
    return font_set.regular, bold


# --- drawing -------------------------------------------------------------------------------


def _box_dots(box: Box, dpi: int) -> tuple[int, int, int, int]:
    """Left, top, right, bottom (exclusive) in dots; edges rounded, so boxes side by side meet."""
    return (
        mm_to_dots(box.x_mm, dpi), mm_to_dots(box.y_mm, dpi),
        mm_to_dots(box.x_mm + box.width_mm, dpi), mm_to_dots(box.y_mm + box.height_mm, dpi),
    )


def _draw_barcode(
    image: Image.Image, element: BarcodeElement, data: str, box: tuple[int, int, int, int],
    dpi: int, font_set: fonts.FontSet, where: str,
) -> None:
    left, top, right, bottom = box
    try:
        modules = code128_modules(data)
        fit = fit_code128(modules, right - left, quiet_zone_modules=element.quiet_zone_modules,
                          max_module_dots=element.max_module_dots, data=data)
    except LabelError as exc:
        raise LabelError(f"{where}: field {element.field!r}: {exc.message}", code=exc.code) from None
    ImageDraw.Draw(image).rectangle((left, top, right - 1, bottom - 1), fill=1)  # quiet zones white
    text_px = round(element.text_pt / 72 * dpi)
    gap = max(1, mm_to_dots(0.3, dpi)) if text_px else 0
    bars_height = bottom - top - text_px - gap
    draw_bars(image, fit, left + fit.bars_left, top, bars_height)
    if text_px:
        face = font_set.regular
        fonts.require_glyphs(face, data)
        _place_lines(
            image, (left, bottom - text_px, right, bottom), data, face, text_px, dpi=dpi,
            min_px=min(text_px, max(6, text_px * 2 // 3)), align="center", inverse=False, lines=1,
            ellipsis=False, stroke=0, where=f"{where} (text under the barcode)",
        )


def _draw_text(
    image: Image.Image, element: TextElement, text: str, box: tuple[int, int, int, int],
    dpi: int, font_set: fonts.FontSet, where: str,
) -> None:
    left, top, right, bottom = box
    draw = ImageDraw.Draw(image)
    inner = box
    if element.style != "plain":
        pad = max(1, mm_to_dots(FRAME_PADDING_MM, dpi))
        inner = (left + pad, top + pad, right - pad, bottom - pad)
        if element.style == "inverse":
            draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
        else:
            line = max(1, mm_to_dots(_FRAME_LINE_MM, dpi))
            draw.rectangle((left, top, right - 1, bottom - 1), outline=0, width=line)
    if not text.strip():
        return
    face, fake_bold = _face(font_set, element.bold)
    fonts.require_glyphs(face, text)
    size = round(element.size_pt / 72 * dpi)
    _place_lines(
        image, inner, text, face, size, dpi=dpi, min_px=max(1, round(element.min_pt / 72 * dpi)),
        align=element.align, inverse=element.style == "inverse", lines=element.lines,
        ellipsis=element.overflow == "ellipsis", stroke=1 if fake_bold else 0, where=where,
    )


def _place_lines(
    image: Image.Image, box: tuple[int, int, int, int], text: str, face: fonts.FontFace,
    size_px: int, *, dpi: int, min_px: int, align: str, inverse: bool, lines: int, ellipsis: bool,
    stroke: int, where: str,
) -> None:
    """Fit ``text`` in ``box``: shrink from ``size_px`` to ``min_px``, then cut with … or refuse."""
    left, top, right, bottom = box
    tile = _text_tile(text, face, fonts.file_stamp(face.path), size_px, right - left, bottom - top, dpi, min_px,
                      align, inverse, lines, ellipsis, stroke, where)
    image.paste(tile, (left, top))


@lru_cache(maxsize=TEXT_TILE_CACHE)
def _text_tile(
    text: str, face: fonts.FontFace, _stamp: tuple[int, int, int], size_px: int, width: int, height: int,
    dpi: int, min_px: int, align: str, inverse: bool, lines: int, ellipsis: bool, stroke: int, where: str,
) -> Image.Image:
    """The 1-bit tile of ``text`` fitted in a box of ``width`` × ``height`` dots.

    A pure function of its arguments (``_stamp`` changes with the font file), so a text that
    recurs (a model name, a warranty mark, today's date) is shaped and drawn once per process.
    Nobody draws on a tile: it is only pasted.
    """
    chosen: list[str] | None = None
    size = size_px
    for size in range(size_px, min_px - 1, -1):
        font = fonts.load_font(face, size)
        chosen = _wrap(text, font, width - 2 * stroke, lines)
        if chosen is not None and _block_height(size, len(chosen)) <= height + 1:
            break
        chosen = None
    if chosen is None:
        size = min_px
        font = fonts.load_font(face, size)
        if not ellipsis:
            raise LabelError(
                f"{where}: {text!r} does not fit its {width / dpi * MM_PER_INCH:.1f} mm wide box "
                f"even at {size / dpi * 72:.1f} pt",
                code="text_too_long",
            )
        chosen = _cut(text, font, width - 2 * stroke, lines)
    font = fonts.load_font(face, size)
    # draw antialiased on a grey tile the size of the box, then threshold: clipped, crisp 1-bit
    tile = Image.new("L", (width, height), 0 if inverse else 255)
    draw = ImageDraw.Draw(tile)
    ink = 255 if inverse else 0
    pitch = round(size * LINE_SPACING)
    block = _block_height(size, len(chosen))
    baseline = (height - block) // 2 + round(size * _ASCENT_EM)
    x, anchor = {"left": (stroke, "ls"), "center": (width // 2, "ms"), "right": (width - stroke, "rs")}[align]
    for line in chosen:
        draw.text((x, baseline), line, font=font, fill=ink, anchor=anchor,
                  stroke_width=stroke, stroke_fill=ink)
        baseline += pitch
    return tile.convert("1", dither=Image.Dither.NONE)  # no dither: grey ≥ 128 is white


def _block_height(size: int, lines: int) -> int:
    return size + round(size * LINE_SPACING) * (lines - 1)


_TOKENS = re.compile(r"\s+|[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int | None) -> list[str] | None:
    """Greedy wrap: break at spaces and between Chinese characters; None if it does not fit."""
    if font.getlength(text) <= width:
        return [text]
    if max_lines == 1:
        return None
    out: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        if token.isspace():
            current += " " if current else ""
            continue
        if font.getlength(current + token) <= width:
            current += token
            continue
        if current.strip():
            out.append(current.rstrip())
        current = ""
        for ch in token:  # a word wider than the box is broken anywhere
            if font.getlength(current + ch) <= width:
                current += ch
            elif not current:
                return None
            else:
                out.append(current)
                current = ch
    if current.strip():
        out.append(current.rstrip())
    if max_lines is not None and len(out) > max_lines:
        return None
    return out


def _cut(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """As many lines as allowed, the last one ending in …."""
    lines = _wrap(text, font, width, None) or [text]
    if max_lines == 1:
        lines = [text]
    kept = lines[:max_lines]
    last = kept[-1]
    while last and font.getlength(last + _ELLIPSIS) > width:
        last = last[:-1]
    kept[-1] = last.rstrip() + _ELLIPSIS
    return kept


# --- sheets --------------------------------------------------------------------------------


def _a4_sheets(labels: list[Image.Image], dpi: int) -> list[Image.Image]:
    page_w, page_h = mm_to_dots(A4_MM[0], dpi), mm_to_dots(A4_MM[1], dpi)
    margin, gap = mm_to_dots(SHEET_MARGIN_MM, dpi), mm_to_dots(SHEET_GAP_MM, dpi)
    cell_w = max(im.width for im in labels)
    cell_h = max(im.height for im in labels)
    columns = (page_w - 2 * margin + gap) // (cell_w + gap)
    rows = (page_h - 2 * margin + gap) // (cell_h + gap)
    if columns < 1 or rows < 1:
        raise LabelError(f"a {cell_w} × {cell_h} dot label does not fit on an A4 sheet", code="bad_image")
    per_page = columns * rows
    pages = []
    for start in range(0, len(labels), per_page):
        page = Image.new("1", (page_w, page_h), 1)
        for i, label in enumerate(labels[start:start + per_page]):
            row, column = divmod(i, columns)
            page.paste(label, (margin + column * (cell_w + gap), margin + row * (cell_h + gap)))
        pages.append(page)
    return pages


def _dpi_of(image: Image.Image, dpi: int | None) -> int:
    if dpi is not None:
        return dpi
    found = image.info.get("dpi")
    if not found:
        raise LabelError("the image does not say its dpi: render it with labels.render or pass dpi",
                         code="bad_image")
    return round(found[0])


def _one_bit(image: Image.Image) -> Image.Image:
    if image.mode == "1":
        return image
    return image.convert("L").convert("1", dither=Image.Dither.NONE)  # grey ≥ 128 is white
