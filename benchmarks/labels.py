"""A whole unit label against a bare python-barcode PNG of the same tag (run by hand; never a timed test).

    .venv/bin/python benchmarks/labels.py [--n 500] [--dpi 203 --dpi 300]

(a) python-barcode's own Code 128 ``ImageWriter`` PNG of a tag, with its module width, bar
height, quiet zones and text size set so that it is the same barcode as ours;
(b) our whole 50 × 30 mm unit label (``labels/templates/unit_tag.toml``: barcode, serial,
warranty mark, Chinese model name, date) rendered and encoded as PNG, which is what a print
to the folder printer costs; (c) the ratio. Each of the N rounds uses a new tag and times
(a) and (b) back to back, so a busy machine slows both alike. Prints median and p95 in ms.

``measure(n, dpis)`` returns the figures for another benchmark to print, and ``report()`` the
table: ``from benchmarks.labels import measure, report`` with the repository root on
``sys.path`` (this file's name is also the package's: never put ``benchmarks/`` itself first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import barcode  # noqa: E402
from barcode.writer import ImageWriter  # noqa: E402

from labels import load_template, mm_to_dots, render, to_png  # noqa: E402
from labels.code128 import code128_modules, fit_code128  # noqa: E402
from labels.render import _box_dots  # noqa: E402
from labels.template import BarcodeElement  # noqa: E402

TEMPLATE = "unit_tag"
DPIS = (203, 300)


def unit_fields(n: int, fresh_texts: bool = False) -> dict[str, Any]:
    """A new tag and serial on every label; the model name and the date repeat as they do in a
    parcel, or (``fresh_texts``) change too, so that no text of the label was drawn before."""
    return {"tag": f"R26-{n:06d}", "serial": f"HU8A24{n:08d}",
            "model": f"导航主机 NX-{n}" if fresh_texts else "导航主机 NX-700",
            "received": dt.date(2026, 5, 6) + dt.timedelta(days=n if fresh_texts else 0),
            "warranty": ("in", "out", "unknown")[n % 3], "intercepted": n % 7 == 0}


def bare_options(tag: str, dpi: int) -> dict[str, float]:
    """python-barcode's writer options that draw our barcode of ``tag``: same bars, quiet zones and text."""
    element = next(e for e in load_template(TEMPLATE).elements if isinstance(e, BarcodeElement))
    left, top, right, bottom = _box_dots(element.box, dpi)
    fit = fit_code128(code128_modules(tag), right - left, quiet_zone_modules=element.quiet_zone_modules,
                      max_module_dots=element.max_module_dots)
    text_px = round(element.text_pt / 72 * dpi)
    gap = max(1, mm_to_dots(0.3, dpi))
    mm = 25.4 / dpi
    return {"module_width": fit.module_dots * mm, "module_height": (bottom - top - text_px - gap) * mm,
            "quiet_zone": fit.bars_left * mm, "font_size": element.text_pt, "text_distance": gap * mm,
            "margin_top": 0, "margin_bottom": 0}


def bare_png(tag: str, dpi: int, options: dict[str, float]) -> bytes:
    """The bare render: python-barcode's Code 128 with its own ImageWriter, as its docs show."""
    buf = io.BytesIO()
    barcode.get("code128", tag, writer=ImageWriter(dpi=dpi)).write(buf, options=options)
    return buf.getvalue()


def label_png(fields: dict[str, Any], dpi: int) -> bytes:
    return to_png(render(TEMPLATE, fields, dpi))


def _stats(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"median_ms": statistics.median(ordered) * 1e3,
            "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1e3}


def measure(n: int = 500, dpis: tuple[int, ...] = DPIS, *, fresh_texts: bool = False) -> dict[int, dict[str, Any]]:
    """For each dpi: ``bare`` and ``label`` (``median_ms``, ``p95_ms``), ``ratio`` and ``ratio_p95``, sizes."""
    out: dict[int, dict[str, Any]] = {}
    for dpi in dpis:
        label_png(unit_fields(0), dpi)  # warm up: the template, the font, the imports
        tag = unit_fields(0)["tag"]
        bare_png(tag, dpi, bare_options(tag, dpi))
        bare: list[float] = []
        ours: list[float] = []
        for i in range(1, n + 1):
            fields = unit_fields(i, fresh_texts)
            options = bare_options(fields["tag"], dpi)  # not timed: our module width, worked out for it
            t0 = time.perf_counter()
            bare_bytes = bare_png(fields["tag"], dpi, options)
            t1 = time.perf_counter()
            our_bytes = label_png(fields, dpi)
            t2 = time.perf_counter()
            bare.append(t1 - t0)
            ours.append(t2 - t1)
        b, o = _stats(bare), _stats(ours)
        out[dpi] = {"bare": b, "label": o, "ratio": o["median_ms"] / b["median_ms"],
                    "ratio_p95": o["p95_ms"] / b["p95_ms"], "bare_bytes": len(bare_bytes),
                    "label_bytes": len(our_bytes), "n": n}
    return out


def report(figures: dict[int, dict[str, Any]]) -> str:
    lines = [f"{'dpi':>4}  {'bare python-barcode PNG':>24}  {'whole unit label PNG':>22}  {'ratio':>11}",
             f"{'':>4}  {'median':>11} {'p95':>12}  {'median':>10} {'p95':>11}  {'med':>5} {'p95':>5}"]
    for dpi, f in figures.items():
        lines.append(f"{dpi:>4}  {f['bare']['median_ms']:8.2f} ms {f['bare']['p95_ms']:9.2f} ms  "
                     f"{f['label']['median_ms']:7.2f} ms {f['label']['p95_ms']:8.2f} ms  "
                     f"{f['ratio']:5.2f} {f['ratio_p95']:5.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="renders of each kind per dpi (at least 200)")
    ap.add_argument("--dpi", type=int, action="append", choices=DPIS, help="default: 203 and 300")
    ap.add_argument("--fresh-texts", action="store_true",
                    help="change the model name and the date on every label too (nothing drawn before)")
    args = ap.parse_args()
    if args.n < 200:
        ap.error("--n must be at least 200 for a p95")
    dpis = tuple(args.dpi or DPIS)
    print(f"{args.n} renders per dpi of a {TEMPLATE} label and of a bare python-barcode PNG of the same tag"
          f"{', every text new' if args.fresh_texts else ''}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    figures = measure(args.n, dpis, fresh_texts=args.fresh_texts)
    print(report(figures))
    for dpi, f in figures.items():
        print(f"{dpi} dpi: PNG of {f['bare_bytes']} bytes (bare, RGB) and {f['label_bytes']} bytes (label, 1-bit)")


if __name__ == "__main__":
    main()
