"""The dashboard's headline numbers: a tile each, a link to the list of visits or runs behind it."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.i18n import _


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def tile(label: str, value: Any, url: str | None, testid: str, note: str | None = None) -> None:
    """One number: its label over it, a link to its list when it has one."""
    shown = "—" if value is None else str(value)
    box = ui.link(target=url) if url else ui.element("div")
    with box.classes("no-underline text-inherit block rounded border border-slate-200 bg-white px-3 py-2 "
                     "min-w-36 hover:bg-slate-50").props(f"data-testid=tile-{testid}"):
        ui.label(label).classes("text-xs text-slate-500")
        ui.label(shown).classes("text-2xl font-semibold text-slate-900").props(f"data-testid=tile-{testid}-value")
        if note:
            ui.label(note).classes("text-xs text-slate-500")


def tiles(fig: dict[str, Any], url: Any) -> None:
    """The month at a glance; ``url(figure, key=None)`` is where each number clicks through to."""
    u, q, t, p = fig["units"], fig["quality"], fig["testing"], fig["parts"]
    turn = fig["turnaround"]["all"]
    with ui.row().classes("gap-2 flex-wrap"):
        tile(_("Units received"), u["received"], url("received"), "received")
        tile(_("Units repaired"), u["repaired"], url("repaired"), "repaired")
        tile(_("Refurbished into stock"), u["refurbished"], url("refurbished"), "refurbished")
        tile(_("Shipped back"), u["shipped"], url("shipped"), "shipped")
        tile(_("Scrapped"), u["scrapped"], url("scrapped"), "scrapped")
        tile(_("Returned unrepaired"), u["returned_unrepaired"], url("returned_unrepaired"), "returned_unrepaired")
        tile(_("Work in progress"), fig["wip"]["total"], url("wip"), "wip",
             _("{late} past target turnaround").format(late=fig["wip"]["late"]))
        tile(_("Turnaround median (days)"), turn["median_days"], url("left"), "turnaround",
             _("90th percentile {days}").format(days="—" if turn["p90_days"] is None else turn["p90_days"]))
    with ui.row().classes("gap-2 flex-wrap"):
        tile(_("Repeat-repair rate"), percent(q["repeat_rate"]), url("repeat"), "repeat_rate",
             f"{q['repeat']} / {q['repaired']}")
        tile(_("First-time-fix rate"), percent(q["first_time_fix_rate"]), url("first_time_fix"), "first_time_fix",
             f"{q['first_time_fix']} / {q['repaired']}")
        tile(_("First-pass yield"), percent(t["first_pass_yield"]), url("first_pass"), "first_pass_yield",
             f"{t['first_pass']} / {t['first_tests']}")
        tile(_("Re-tests per unit"), t["retests_per_unit"], url("retest"), "retests", f"{t['retests']}")
        tile(_("No-fault-found rate"), percent(t["nff_rate"]), url("nff"), "nff_rate", f"{t['nff']} / {t['with_findings']}")
        tile(_("Parts cost per repaired unit"), p["cost_per_repaired_unit"], url("parts_cost"), "parts_cost",
             p["parts_value"])
        tile(_("First-time fill rate"), percent(p["fill_rate"]), "/stores/reports", "fill_rate",
             f"{p['filled_first']} / {p['fill_lines']}")
        tile(_("Stock value"), p["stock_value"], "/stores/statement", "stock_value",
             _("turns {turns}").format(turns=p["stock_turns"] or "—"))
        tile(_("Count variance rate"), percent(p["count_variance_rate"]), "/stores/counts", "count_variance")
        tile(_("Courier costs"), fig["couriers"]["total"], fig["couriers"]["months"][-1]["link"], "couriers",
             _("{parcels} parcels").format(parcels=fig["couriers"]["parcels"]))
        tile(_("Labour hours"), fig["technicians"]["hours"], url("technician"), "labour")
        tile(_("Slow and dead stock"), f"{p['slow_value']} / {p['dead_value']}", "/stores/reports", "slow")
