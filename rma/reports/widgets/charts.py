"""The dashboard's charts: ECharts options built from plain figures, and the chart elements,
each bar or point clicking through to the list behind it. A chart with nothing to show says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from rma.i18n import _, state_label
from rma.reports.figures import BUCKETS

BLUE, ORANGE, GREY = "#2563eb", "#ea580c", "#94a3b8"
BUCKET_COLOURS = ("#22c55e", "#eab308", "#f97316", "#dc2626")


def _base(categories: list[str], *, rotate: bool = False) -> dict[str, Any]:
    return {"tooltip": {"trigger": "axis"}, "grid": {"left": 48, "right": 48, "top": 40, "bottom": 64},
            "xAxis": {"type": "category", "data": categories, "axisLabel": {"rotate": 30 if rotate else 0}},
            "yAxis": {"type": "value", "minInterval": 1}}


def wip_options(wip: dict[str, Any]) -> dict[str, Any]:
    """Work in progress: one stacked bar per state, a colour per ageing bucket."""
    rows = wip["rows"]
    opts = _base([state_label(r["state"]) for r in rows], rotate=True)
    opts["legend"] = {"top": 0, "data": [_("{bucket} days").format(bucket=b) for b in BUCKETS]}
    opts["series"] = [{"name": _("{bucket} days").format(bucket=b), "type": "bar", "stack": "age",
                       "color": BUCKET_COLOURS[i], "data": [r[b] for r in rows]} for i, b in enumerate(BUCKETS)]
    return opts


def trend_options(by_month: list[dict[str, Any]]) -> dict[str, Any]:
    """Turnaround by month: the median and the 90th percentile, in days."""
    opts = _base([r["month"] for r in by_month])
    opts["yAxis"] = {"type": "value", "name": _("days")}
    opts["legend"] = {"top": 0, "data": [_("median"), _("90th percentile")]}
    opts["series"] = [{"name": _("median"), "type": "line", "color": BLUE, "data": [r["median_days"] for r in by_month]},
                      {"name": _("90th percentile"), "type": "line", "color": ORANGE,
                       "data": [r["p90_days"] for r in by_month]}]
    return opts


def pareto_options(pareto: dict[str, Any], english: bool) -> dict[str, Any]:
    """The fault Pareto: visits per code, most first (bars), and their cumulative share (a line)."""
    rows = pareto["rows"]
    names = [r["key"] if pareto["by"] == "designator" else f"{r['key']} {r['text_en' if english else 'text_zh']}"
             for r in rows]
    opts = _base(names, rotate=True)
    opts["yAxis"] = [{"type": "value", "minInterval": 1, "name": _("visits")},
                     {"type": "value", "max": 100, "name": "%"}]
    opts["series"] = [{"name": _("visits"), "type": "bar", "color": BLUE, "data": [r["visits"] for r in rows]},
                      {"name": _("cumulative %"), "type": "line", "yAxisIndex": 1, "color": ORANGE,
                       "data": [round(r["cumulative"] * 100, 1) for r in rows]}]
    return opts


def bar_options(names: list[str], values: list[float | int | None], label: str) -> dict[str, Any]:
    opts = _base(names, rotate=len(names) > 6)
    opts["series"] = [{"name": label, "type": "bar", "color": BLUE, "data": values}]
    return opts


def chart(options: dict[str, Any], *, empty: bool, testid: str, on_click: Callable[[int, int], None]) -> None:
    """A chart, or the words saying there is nothing to show; ``on_click(series, index)`` on a point."""
    if empty:
        ui.label(_("Nothing to show for these filters.")).classes("text-slate-500 italic py-6").props(
            f"data-testid={testid}-empty")
        return
    ui.echart(options, on_point_click=lambda e: on_click(e.series_index, e.data_index)).classes(
        "w-full h-72").props(f"data-testid={testid}")
