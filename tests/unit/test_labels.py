"""Labels: templates, whole-dot Code 128, Chinese text, PNG / PDF / ZPL output."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import barcode
import pytest
from PIL import Image, ImageDraw

from labels import (
    LabelError,
    available_templates,
    find_cjk_font,
    label_size,
    load_template,
    load_template_file,
    mm_to_dots,
    render,
    to_pdf,
    to_png,
    to_zpl,
)
from labels.fonts import font_set, load_font
from labels.template import BarcodeElement, TextElement
from tests.conftest import need

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

UNIT = {
    "tag": "R26-000042", "serial": "HU8A2405001234", "model": "导航主机 NX-700",
    "received": dt.date(2026, 5, 6), "warranty": "in", "intercepted": False,
}
PARCEL = {
    "waybill": "SF1402345678901", "courier": "顺丰速运", "sender": "广州白云汽车销售服务有限公司",
    "declared": 5, "scanned": 5, "date": dt.date(2026, 5, 6), "mismatch": False,
}
PARCEL_OUT = {
    "waybill": "SF2000000001", "courier": "顺丰速运", "recipient": "上海浦东骏达汽车销售服务有限公司",
    "customer": "4S-SH-PD01", "contact": "王海峰 138-1762-4093", "count": 2, "date": dt.date(2026, 5, 6),
    "sender": "intake-1",
}
PART_BIN = {"part_number": "PN-7700-0123", "description": "主控板 MCU 含散热片", "location": "A-03-2"}
IC_TRAY = {"part_number": "SPI-W25Q16-P1.4.0", "firmware": "1.4.0", "sha8": "3fa91c07", "count": 96,
           "job": "ICJ-000012", "description": "SPI Flash W25Q16（已烧录 1.4.0）"}
SAMPLES = {"unit_tag": UNIT, "parcel": PARCEL, "parcel_out": PARCEL_OUT, "part_bin": PART_BIN, "ic_tray": IC_TRAY}
BARCODES = [("unit_tag", "tag"), ("parcel", "waybill"), ("parcel_out", "waybill"), ("part_bin", "part_number"),
            ("ic_tray", "part_number")]


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    try:
        return find_cjk_font()
    except LabelError as exc:
        need(False, f"a Chinese font (fonts-noto-cjk): {exc}")


# --- helpers -------------------------------------------------------------------------------


def box_dots(element, dpi):
    b = element.box
    return (mm_to_dots(b.x_mm, dpi), mm_to_dots(b.y_mm, dpi),
            mm_to_dots(b.x_mm + b.width_mm, dpi), mm_to_dots(b.y_mm + b.height_mm, dpi))


def element_of(template, kind, **match):
    for e in template.elements:
        if e.kind == kind and all(getattr(e, k) == v for k, v in match.items()):
            return e
    raise AssertionError(f"no {kind} element {match} in {template.name}")


def runs(pixels):
    """[(is_black, length), ...] of a row of mode '1' pixel values (0 = black)."""
    out = []
    for value in pixels:
        black = value == 0
        if out and out[-1][0] == black:
            out[-1][1] += 1
        else:
            out.append([black, 1])
    return [tuple(r) for r in out]


def black_pixels(image, box=None):
    region = image.crop(box) if box else image
    return region.histogram()[0]


def zpl_to_image(zpl: bytes) -> Image.Image:
    """An independent reading of our ZPL: the ^GFA bytes back into a bitmap."""
    m = re.fullmatch(
        r"\^XA\^PW(\d+)\^LL(\d+)\^FO0,0\^GFA,(\d+),(\d+),(\d+),([0-9A-F]*)\^FS\^XZ\n?", zpl.decode("ascii")
    )
    assert m, zpl[:80]
    width, height, total, total2, row, hexdata = m.groups()
    width, height, total, total2, row = map(int, (width, height, total, total2, row))
    assert row == (width + 7) // 8
    assert total == total2 == row * height == len(hexdata) // 2
    data = bytes.fromhex(hexdata)
    image = Image.new("1", (width, height), 1)
    px = image.load()
    for y in range(height):
        for x in range(row * 8):
            bit = data[y * row + x // 8] >> (7 - x % 8) & 1
            if x >= width:
                assert bit == 0, f"padding bit set at row {y}"
            elif bit:
                px[x, y] = 0
    return image


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- size and barcode ----------------------------------------------------------------------


@pytest.mark.parametrize("dpi, size", [(203, (400, 240)), (300, (591, 354))])
def test_a_50_by_30_tag_is_round_mm_times_dpi_dots(dpi, size):
    assert size == (round(50 / 25.4 * dpi), round(30 / 25.4 * dpi))
    image = render("unit_tag", UNIT, dpi)
    assert image.mode == "1"
    assert image.size == size == label_size(load_template("unit_tag"), dpi)
    assert image.info["dpi"] == (dpi, dpi)


@pytest.mark.parametrize("name, field", BARCODES)
@pytest.mark.parametrize("dpi", [203, 300])
def test_bars_are_whole_dots_and_spell_python_barcodes_modules(name, field, dpi):
    template = load_template(name)
    data = SAMPLES[name][field]
    image = render(template, SAMPLES[name], dpi)
    element = element_of(template, "barcode", field=field)
    left, top, right, bottom = box_dots(element, dpi)
    modules = barcode.get("code128", data).build()[0]
    module = (right - left) // (len(modules) + 20)
    assert module >= 2
    assert (module + 1) * (len(modules) + 20) > right - left, "not the widest module that fits"

    row = [image.getpixel((x, top + 3)) for x in range(left, right)]
    scanned = runs(row)
    assert not scanned[0][0] and not scanned[-1][0], "the box starts and ends white"
    quiet_left, quiet_right = scanned[0][1], scanned[-1][1]
    assert quiet_left >= 10 * module and quiet_right >= 10 * module
    for black, length in scanned[1:-1]:
        assert length % module == 0, f"a {'bar' if black else 'space'} of {length} dots is not whole modules"
    pattern = "".join(("1" if black else "0") * (length // module) for black, length in scanned[1:-1])
    assert pattern == modules

    # every bar runs straight down, and the quiet zones are white from top to bottom of the bars
    bars_bottom = top + 3
    while bars_bottom < bottom and image.getpixel((left + quiet_left, bars_bottom)) == 0:
        bars_bottom += 1
    assert bars_bottom - top > (bottom - top) / 2
    for y in range(top, bars_bottom):
        assert [image.getpixel((x, y)) for x in range(left, right)] == row
    assert black_pixels(image, (left, top, left + quiet_left, bottom)) == 0
    assert black_pixels(image, (right - quiet_right, top, right, bottom)) == 0
    # and the human-readable line is under the bars
    assert black_pixels(image, (left, bars_bottom, right, bottom)) > 0


@pytest.mark.parametrize("name, field", BARCODES)
@pytest.mark.parametrize("dpi", [203, 300])
def test_a_real_decoder_reads_the_barcode(tmp_path, name, field, dpi):
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    path = tmp_path / f"{name}.png"
    path.write_bytes(to_png(render(name, SAMPLES[name], dpi)))
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == SAMPLES[name][field]


@pytest.mark.parametrize("tag", ["R26-000042", "R26-1", "12345", "1", "ab-CD 9/7", "R2026-00000001"])
def test_odd_and_even_digit_runs_decode_too(tmp_path, tag):
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    path = tmp_path / "tag.png"
    path.write_bytes(to_png(render("unit_tag", {**UNIT, "tag": tag}, 300)))
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == tag, out.stderr


def test_a_barcode_that_would_need_thinner_bars_is_refused():
    with pytest.raises(LabelError) as err:
        render("unit_tag", {**UNIT, "tag": "R26-ABCDEFGHIJKLMNOPQRSTUVWXYZ"}, 203)
    assert err.value.code == "barcode_too_wide"
    assert "tag" in str(err.value) and "dots" in str(err.value)


def test_a_barcode_of_non_ascii_is_refused():
    with pytest.raises(LabelError, match="printable ASCII") as err:
        render("unit_tag", {**UNIT, "tag": "R26-拦截"}, 203)
    assert err.value.code == "bad_field"


# --- text and fonts ------------------------------------------------------------------------


def model_box(dpi):
    return box_dots(element_of(load_template("unit_tag"), "text", text="{model}"), dpi)


@pytest.mark.parametrize("dpi", [203, 300])
def test_chinese_text_is_drawn_with_real_glyphs(dpi, cjk_font):
    box = model_box(dpi)
    nav = render("unit_tag", {**UNIT, "model": "导航主机"}, dpi).crop(box)
    cluster = render("unit_tag", {**UNIT, "model": "仪表总成"}, dpi).crop(box)
    assert black_pixels(nav) > 100
    # a font without Chinese would draw the same box four times for both strings
    assert nav.tobytes() != cluster.tobytes()

    # the pixels are the font's own glyphs: draw the same text with the font directly
    bold = font_set(cjk_font).bold or cjk_font
    element = element_of(load_template("unit_tag"), "text", text="{model}")
    font = load_font(bold, round(element.size_pt / 72 * dpi))
    direct = Image.new("L", nav.size, 255)
    ImageDraw.Draw(direct).text((0, nav.height // 2), "导航主机", font=font, fill=0, anchor="lm")
    direct = direct.point(lambda v: 255 if v >= 128 else 0).convert("1")
    ours, theirs = nav.crop(_ink(nav)), direct.crop(_ink(direct))
    assert ours.size == theirs.size
    assert ours.tobytes() == theirs.tobytes()


def _ink(image):
    """Bounding box of the black pixels of a mode '1' image."""
    inverted = image.point(lambda v: 255 - v)
    return inverted.getbbox()


def test_a_missing_font_file_is_named_with_the_package_to_install():
    with pytest.raises(LabelError) as err:
        render("unit_tag", UNIT, 203, font="/nonexistent/NotoSansCJK-Regular.ttc")
    assert err.value.code == "font_missing"
    assert "/nonexistent/NotoSansCJK-Regular.ttc" in str(err.value)
    assert "fonts-noto-cjk" in str(err.value)


def test_no_chinese_font_on_the_machine_says_what_to_install(tmp_path):
    with pytest.raises(LabelError) as err:
        find_cjk_font([tmp_path / "NotoSansCJK-Regular.ttc"], use_fontconfig=False)
    assert err.value.code == "font_missing"
    assert "Noto Sans CJK" in str(err.value) and "fonts-noto-cjk" in str(err.value)


def test_a_font_without_chinese_glyphs_is_refused_not_printed_as_boxes():
    need(DEJAVU.is_file(), f"{DEJAVU} (fonts-dejavu-core)")
    with pytest.raises(LabelError) as err:
        render("unit_tag", UNIT, 203, font=DEJAVU)
    assert err.value.code == "font_missing"
    assert "DejaVuSans.ttf" in str(err.value) and "has no glyph for '保内'" in str(err.value)
    # Latin-only labels are fine with it
    image = render("part_bin", {**PART_BIN, "description": "Main board MCU"}, 203, font=DEJAVU)
    assert black_pixels(image) > 0


def test_warranty_shows_its_mark_and_refuses_an_unknown_value():
    template = load_template("unit_tag")
    mark = box_dots(element_of(template, "text", text="{warranty}"), 203)
    seen = {w: render(template, {**UNIT, "warranty": w}, 203).crop(mark).tobytes() for w in ("in", "out", "unknown")}
    assert len(set(seen.values())) == 3
    assert render(template, {**UNIT, "warranty": "IN"}, 203).crop(mark).tobytes() == seen["in"]
    with pytest.raises(LabelError, match="warranty") as err:
        render(template, {**UNIT, "warranty": "maybe"}, 203)
    assert err.value.code == "bad_field"


def test_the_hold_block_is_printed_only_for_an_intercepted_unit():
    template = load_template("unit_tag")
    hold = box_dots(element_of(template, "text", when="intercepted"), 203)
    assert black_pixels(render(template, UNIT, 203).crop(hold)) == 0
    held = render(template, {**UNIT, "intercepted": True}, 203).crop(hold)
    assert black_pixels(held) > 0.5 * held.width * held.height  # a black block with white text
    assert black_pixels(render(template, {**UNIT, "intercepted": "false"}, 203).crop(hold)) == 0


def test_a_missing_required_field_is_named():
    with pytest.raises(LabelError, match="'serial'") as err:
        render("unit_tag", {k: v for k, v in UNIT.items() if k != "serial"}, 203)
    assert err.value.code == "bad_field"


def test_long_text_shrinks_then_is_refused_or_cut_as_the_template_says():
    template = load_template("unit_tag")
    serial_box = box_dots(element_of(template, "text", text="SN {serial}"), 203)
    normal = render(template, UNIT, 203).crop(serial_box)
    longer = render(template, {**UNIT, "serial": "HU8A2405001234-ABCDEFGH"}, 203).crop(serial_box)
    assert _ink(longer)[2] <= serial_box[2] - serial_box[0]
    assert _ink(longer)[3] - _ink(longer)[1] < _ink(normal)[3] - _ink(normal)[1]  # smaller type
    with pytest.raises(LabelError) as err:
        render(template, {**UNIT, "serial": "X" * 80}, 203)
    assert err.value.code == "text_too_long"
    # the model may be cut with … instead
    render(template, {**UNIT, "model": "导航主机" * 20}, 203)


@pytest.mark.parametrize("name", available_templates())
@pytest.mark.parametrize("dpi", [203, 300])
def test_every_shipped_template_renders(name, dpi):
    template = load_template(name)
    image = render(template, SAMPLES[name], dpi)
    assert image.size == (mm_to_dots(template.width_mm, dpi), mm_to_dots(template.height_mm, dpi))
    for element in template.elements:
        if isinstance(element, TextElement) and element.when is None:
            assert black_pixels(image, box_dots(element, dpi)) > 0, element
    assert sorted(SAMPLES) == available_templates()


# --- output formats ------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_decodes_back_to_the_same_bitmap(dpi):
    image = render("unit_tag", {**UNIT, "intercepted": True}, dpi)
    zpl = to_zpl(image)
    assert zpl.startswith(f"^XA^PW{image.width}^LL{image.height}^FO0,0^GFA,".encode())
    assert zpl_to_image(zpl).tobytes() == image.tobytes()


def test_zpl_byte_math_on_a_tiny_bitmap():
    image = Image.new("1", (10, 2), 1)
    image.putpixel((0, 0), 0)
    image.putpixel((9, 0), 0)
    image.putpixel((8, 1), 0)
    # row = ceil(10 / 8) = 2 bytes; 1 = black, leftmost dot is the high bit, padding 0
    assert to_zpl(image) == b"^XA^PW10^LL2^FO0,0^GFA,4,4,2,80400080^FS^XZ\n"
    assert to_zpl(image, copies=3).endswith(b"^FS^PQ3^XZ\n")


def test_png_is_one_bit_with_its_resolution():
    png = to_png(render("unit_tag", UNIT, 300))
    back = Image.open(io.BytesIO(png))
    assert back.format == "PNG" and back.mode == "1" and back.size == (591, 354)
    assert round(back.info["dpi"][0]) == 300


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    assert pdf.startswith(b"%PDF-")
    count = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    boxes = [tuple(float(v) for v in m.groups()[2:])
             for m in re.finditer(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]
    assert len(boxes) == count
    return boxes


@pytest.mark.parametrize("dpi", [203, 300])
def test_pdf_has_a_page_per_label_at_true_size(dpi):
    images = [render("unit_tag", {**UNIT, "tag": f"R26-00004{i}"}, dpi) for i in range(3)]
    pages = pdf_pages(to_pdf(images))
    assert len(pages) == 3
    half_dot = 72 / dpi / 2
    for width, height in pages:
        assert width == pytest.approx(images[0].width / dpi * 72, abs=0.01)
        assert width == pytest.approx(50 / 25.4 * 72, abs=half_dot)
        assert height == pytest.approx(30 / 25.4 * 72, abs=half_dot)


def test_pdf_a4_sheet_puts_labels_in_a_grid():
    images = [render("unit_tag", UNIT, 203)] * 30
    pages = pdf_pages(to_pdf(images, sheet="a4"))
    # 3 columns × 8 rows of 50 × 30 mm fit inside 10 mm margins with 3 mm gaps: 24 a page
    assert len(pages) == 2
    for width, height in pages:
        assert width == pytest.approx(595.28, abs=0.5) and height == pytest.approx(841.89, abs=0.5)
    with pytest.raises(LabelError):
        to_pdf([])


# --- templates -----------------------------------------------------------------------------

GOOD = """
[label]
width_mm = 40
height_mm = 20

[fields]
code = "a code"

[[element]]
kind = "barcode"
field = "code"
x_mm = 1
y_mm = 1
width_mm = 38
height_mm = 10

[[element]]
kind = "text"
text = "代码 {code}"
x_mm = 1
y_mm = 12
width_mm = 38
height_mm = 6
size_pt = 10
"""


def test_adding_a_template_is_adding_a_file(tmp_path):
    write(tmp_path, "bin_small.toml", GOOD)
    template = load_template("bin_small", directory=tmp_path)
    assert template.name == "bin_small" and (template.width_mm, template.height_mm) == (40, 20)
    assert [e.kind for e in template.elements] == ["barcode", "text"]
    assert isinstance(template.elements[0], BarcodeElement)
    image = render(template, {"code": "B-17"}, 203)
    assert image.size == (mm_to_dots(40, 203), mm_to_dots(20, 203))
    assert load_template_file(tmp_path / "bin_small.toml") == template


def test_an_edited_template_is_read_again_and_a_broken_edit_is_refused(tmp_path):
    path = write(tmp_path, "bin_small.toml", GOOD)
    assert render(load_template_file(path), {"code": "B-17"}, 203).size == (320, 160)
    path.write_text(GOOD.replace("width_mm = 40", "width_mm = 45"), encoding="utf-8")
    assert render(load_template("bin_small", directory=tmp_path), {"code": "B-17"}, 203).size == (360, 160)
    path.write_text(GOOD.replace("[fields]", "[fields"), encoding="utf-8")
    with pytest.raises(LabelError, match="not valid TOML"):
        load_template("bin_small", directory=tmp_path)


@pytest.mark.parametrize("change, reason", [
    (lambda t: t.replace("width_mm = 40", "width_mm = 40\nwidht = 3"), "unknown key 'widht'"),
    (lambda t: t.replace("[fields]", "[fields"), "not valid TOML"),
    (lambda t: t.replace("width_mm = 38\nheight_mm = 6", "width_mm = 45\nheight_mm = 6"), "runs off"),
    (lambda t: t.replace("{code}", "{serial}"), "'serial', which [fields] does not declare"),
    (lambda t: t.replace("size_pt = 10", "size_pt = 30"), "need"),
    (lambda t: t.replace("y_mm = 12", "y_mm = 9"), "overlaps the barcode"),
    (lambda t: t.replace('field = "code"', 'field = "code"\nquiet_zone_modules = 5'), "at least 10"),
    (lambda t: t.replace('kind = "text"', 'kind = "txt"'), "kind must be one of"),
    (lambda t: t.replace("height_mm = 20", 'height_mm = "20"'), "height_mm must be a number"),
    (lambda t: t.replace('text = "代码 {code}"', 'text = "代码 {code"'), "not a valid format string"),
    (lambda t: t.split("[[element]]")[0], "no [[element]]"),
])
def test_a_bad_template_is_refused_with_its_file_and_reason(tmp_path, change, reason):
    path = write(tmp_path, "broken.toml", change(GOOD))
    with pytest.raises(LabelError) as err:
        load_template_file(path)
    assert err.value.code == "bad_template"
    assert str(path) in str(err.value)
    assert reason in str(err.value)


def test_unknown_and_sneaky_template_names_are_refused():
    with pytest.raises(LabelError, match="unit_tag") as err:
        load_template("no_such_label")
    assert "no_such_label" in str(err.value)
    with pytest.raises(LabelError, match="plain name"):
        load_template("../../etc/passwd")
    with pytest.raises(LabelError, match="cannot be read"):
        load_template_file("/nonexistent/x.toml")
