"""The monthly report (售后月报表): one month's figures, the very ones the dashboard shows
(``figures.all_figures``), as an XLSX workbook (one sheet per area, numbers as numbers) and a
PDF (pages drawn with Pillow in the machine's Chinese font, so both languages print).

A sheet holds rows of plain values; the workbook and the PDF are two renderings of the same
sheets, so they cannot disagree with each other or with the dashboard.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import translate
from rma.reports import figures as F

# The figures of the key–value sheets, in the order they print: key → English label (the ZH
# dictionary of rma/reports/zh.py gives its Chinese).
LABELS: dict[str, str] = {
    "received": "Units received", "repaired": "Units repaired", "refurbished": "Refurbished into stock",
    "shipped": "Shipped back", "scrapped": "Scrapped", "returned_unrepaired": "Returned unrepaired",
    "repeat": "Repeat returns", "repeat_rate": "Repeat-repair rate", "first_time_fix": "Fixed first time",
    "first_time_fix_rate": "First-time-fix rate", "repeat_window_days": "Repeat window (days)",
    "first_tests": "First tests", "first_pass": "First tests passed", "first_fail": "First tests failed",
    "retests": "Re-tests", "first_pass_yield": "First-pass yield", "retests_per_unit": "Re-tests per unit",
    "nff": "No fault found", "with_findings": "Units with findings", "nff_rate": "No-fault-found rate",
    "repaired_units": "Repaired units (parts)", "parts_value": "Parts fitted (value)",
    "cost_per_repaired_unit": "Parts cost per repaired unit", "fill_lines": "Requisition lines",
    "filled_first": "Filled at first issue", "fill_rate": "First-time fill rate", "stock_value": "Stock value",
    "stock_turns": "Stock turns (a year)", "slow_value": "Slow stock value", "dead_value": "Dead stock value",
    "slow_parts": "Slow parts", "dead_parts": "Dead parts", "count_variance_value": "Count variance (value)",
    "count_book_value": "Counted book value", "count_variance_rate": "Count variance rate",
    "attempts": "Programming attempts", "ok": "Programmed OK", "yield": "Programming yield",
    "reflashes": "Reflashes", "jobs": "IC programming jobs", "total": "Courier costs", "parcels": "Parcels",
    "units": "Units done at the bench", "hours": "Labour hours", "late": "Past target turnaround",
    "median_days": "Turnaround median (days)", "p90_days": "Turnaround 90th percentile (days)",
}
PAIR_COLUMNS = ["figure", "指标", "value"]
HEADINGS = {"Test": "Test station", "Programming": "IC programming"}  # a sheet's words where another area's differ


def _pairs(section: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    return [{"figure": LABELS[k], "指标": translate(LABELS[k], "zh"), "value": section.get(k)} for k in keys]


def sheets(fig: dict[str, Any]) -> list[tuple[str, list[str], list[dict[str, Any]]]]:
    """The report's sheets: (title, columns, rows), one per area."""
    u, q, t, p, g = fig["units"], fig["quality"], fig["testing"], fig["parts"], fig["programming"]
    turn = fig["turnaround"]
    wip_cols = ["state", *F.BUCKETS, "total", "late"]
    out: list[tuple[str, list[str], list[dict[str, Any]]]] = [
        ("Units", PAIR_COLUMNS, _pairs(u, list(u)) + _pairs({**turn["all"], "late": fig["wip"]["late"]},
                                                             ["median_days", "p90_days", "late"])),
        ("WIP", wip_cols, [*fig["wip"]["rows"], {"state": "total", "total": fig["wip"]["total"],
                                                  "late": fig["wip"]["late"]}]),
        ("Turnaround", ["model", "month", "units", "median_days", "p90_days", "mean_days"],
         [*turn["by_model_month"], *([{"model": "all", **turn["all"]}] if turn["all"]["units"] else [])]),
        ("Quality", PAIR_COLUMNS, _pairs(q, ["repeat", "repaired", "repeat_rate", "first_time_fix",
                                             "first_time_fix_rate", "repeat_window_days"])),
        ("Test", PAIR_COLUMNS, _pairs(t, ["first_tests", "first_pass", "first_fail", "retests", "first_pass_yield",
                                          "retests_per_unit", "nff", "with_findings", "nff_rate"])),
        ("Faults", ["by", "code", "text_en", "text_zh", "visits", "share", "cumulative"],
         [{"by": by, "code": r["key"], **r} for by in F.PARETO_BY for r in fig["pareto"][by]["rows"]]),
        ("Interceptions", ["plan", "model", "kind", "action", "caught", "done"], fig["interceptions"]["rows"]),
        ("Parts", PAIR_COLUMNS, _pairs(p, [k for k in LABELS if k in p])),
        ("Programming", ["socket", "attempts", "ok", "yield", "reflashes"],
         [*g["by_socket"], {"socket": "total", **{k: g[k] for k in ("attempts", "ok", "yield", "reflashes")}}]),
        ("Couriers", ["month", "courier", "direction", "parcels", "cost", "without_cost"],
         [{"month": m["month"], **r} for m in fig["couriers"]["months"] for r in m["by_courier"]]
         + [{"month": "total", "parcels": fig["couriers"]["parcels"], "cost": fig["couriers"]["total"]}]),
        ("Technicians", ["technician", "units", "hours"],
         [*fig["technicians"]["rows"], {"technician": "total", "units": fig["technicians"]["units"],
                                        "hours": fig["technicians"]["hours"]}]),
    ]
    return out


def month_report(uow: UnitOfWork, month: str, *, model: str | None = None, customer: str | None = None) -> dict[str, Any]:
    """Every figure of one month (refused: a month badly written or in the future)."""
    if not month:
        raise DomainError("bad_month", "{month!r} is not a month (YYYY-MM)", month="")
    f = F.filters(uow, month=month, model=model, customer=customer)
    return {"month": F.month_text(f.first), **F.all_figures(uow, f)}


def xlsx(report: dict[str, Any]) -> bytes:
    from rma.exports import xlsx_bytes

    return xlsx_bytes(sheets(report))


# ---------------------------------------------------------------- the PDF, drawn page by page

PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN, SIZE, LINE = 90, 22, 32


def _font(size: int):  # noqa: ANN202
    from PIL import ImageFont

    from labels import LabelError, find_cjk_font

    try:
        face = find_cjk_font()
    except LabelError as exc:
        raise DomainError("font_missing", "no font for Chinese text: {reason}", reason=str(exc)) from None
    return ImageFont.truetype(str(face.path), size, index=face.index)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    return str(value)


def pdf(report: dict[str, Any], *, title: str | None = None) -> bytes:
    """The report's sheets as tables on A4 pages (a new page when one is full)."""
    from PIL import Image, ImageDraw

    font, big = _font(SIZE), _font(SIZE + 10)
    pages: list[Any] = []
    draw: Callable[..., Any] | None = None
    y = PAGE[1]

    def new_page() -> None:
        nonlocal draw, y
        page = Image.new("L", PAGE, 255)
        pages.append(page)
        draw, y = ImageDraw.Draw(page), MARGIN

    def line(cells: list[str], widths: list[int], *, f: Any = font, gap: int = LINE) -> None:
        nonlocal y
        if y + gap > PAGE[1] - MARGIN:
            new_page()
        x = MARGIN
        for text, width in zip(cells, widths, strict=False):
            while text and draw.textlength(text, font=f) > width - 12:
                text = text[:-1]
            draw.text((x, y), text, font=f, fill=0)
            x += width
        y += gap

    new_page()
    name = title or f"售后月报表 · Monthly report {report['month']}"
    line([name], [PAGE[0] - 2 * MARGIN], f=big, gap=LINE + 24)
    filters = report["filters"]
    line([f"model {filters['model'] or 'all'} · customer {filters['customer'] or 'all'}"], [PAGE[0] - 2 * MARGIN])
    for sheet_title, columns, rows in sheets(report):
        y += LINE // 2
        line([f"{sheet_title} · {translate(HEADINGS.get(sheet_title, sheet_title), 'zh')}"], [PAGE[0] - 2 * MARGIN], f=big, gap=LINE + 12)
        usable = PAGE[0] - 2 * MARGIN
        if columns == PAIR_COLUMNS:
            widths = [usable * 4 // 10, usable * 4 // 10, usable * 2 // 10]
        else:
            share = usable // (len(columns) + 1)  # the first column (a name) twice as wide
            widths = [2 * share] + [share] * (len(columns) - 1)
        line(columns, widths)
        if not rows:
            line(["(none)"], [usable])
        for row in rows:
            line([_cell(row.get(c)) for c in columns], widths)
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return out.getvalue()
