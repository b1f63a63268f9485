"""Code 128 bars in whole printer dots.

python-barcode gives the module pattern ('1' bar, '0' space, start to stop); the bars
are drawn here so that every bar and space is exactly ``module_dots`` wide: a thermal
printer cannot print a fraction of a dot, and a scaled bitmap smears bar widths.
"""

from __future__ import annotations

from dataclasses import dataclass

import barcode
from barcode.errors import BarcodeError
from PIL import Image, ImageDraw

from labels.errors import LabelError

MIN_MODULE_DOTS = 2  # one-dot bars grow and shrink with the print head's burn: unreadable


def code128_modules(data: str) -> str:
    """The Code 128 module pattern of ``data`` (start, data, check character and stop).

    Only printable ASCII is accepted; anything else raises ``LabelError`` (``bad_field``).
    """
    if not data:
        raise LabelError("a barcode needs some data; the value is empty", code="bad_field")
    bad = sorted({ch for ch in data if not " " <= ch <= "~"})
    if bad:
        raise LabelError(
            f"{data!r} cannot be a Code 128 barcode: {''.join(bad)!r} is not printable ASCII",
            code="bad_field",
        )
    try:
        # a fresh object each time: python-barcode's Code128 keeps its code set between builds
        return "".join(barcode.get("code128", data).build())
    except (BarcodeError, ValueError, IndexError, KeyError, RuntimeError) as exc:
        raise LabelError(f"{data!r} cannot be a Code 128 barcode: {exc}", code="bad_field") from exc


@dataclass(frozen=True)
class BarcodeFit:
    """How a barcode sits in its box, in dots: module width, and where the bars start."""

    modules: str
    module_dots: int
    quiet_zone_modules: int
    bars_left: int  # white dots from the box's left edge to the first bar: ≥ the quiet zone
    bars_width: int


def fit_code128(
    modules: str, box_width_dots: int, *, quiet_zone_modules: int = 10,
    max_module_dots: int | None = None, data: str = "",
) -> BarcodeFit:
    """The widest whole-dot module that fits ``modules`` and both quiet zones in the box.

    The bars are centred: what is left over widens both quiet zones. Raises
    ``LabelError`` (``barcode_too_wide``) when even ``MIN_MODULE_DOTS`` does not fit.
    """
    total = len(modules) + 2 * quiet_zone_modules
    module = box_width_dots // total
    if max_module_dots is not None:
        module = min(module, max_module_dots)
    if module < MIN_MODULE_DOTS:
        need = total * MIN_MODULE_DOTS
        raise LabelError(
            f"barcode {data!r} needs {total} modules ({len(modules)} + 2 × {quiet_zone_modules} quiet) "
            f"× {MIN_MODULE_DOTS} dots = {need} dots, but its box is {box_width_dots} dots wide",
            code="barcode_too_wide",
        )
    bars_width = len(modules) * module
    return BarcodeFit(modules, module, quiet_zone_modules, (box_width_dots - bars_width) // 2, bars_width)


def draw_bars(image: Image.Image, fit: BarcodeFit, left: int, top: int, height: int) -> None:
    """Draw the bars of ``fit`` in black on ``image`` (mode '1'), first bar at ``left``."""
    draw = ImageDraw.Draw(image)
    x = left
    run_start = None
    for i, module in enumerate(fit.modules + "0"):
        if module == "1" and run_start is None:
            run_start = x
        elif module == "0" and run_start is not None:
            draw.rectangle((run_start, top, x - 1, top + height - 1), fill=0)
            run_start = None
        x = left + (i + 1) * fit.module_dots
