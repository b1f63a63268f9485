"""A visit's parts, for the unit page: per part requested, issued, fitted (at which designators),
returned, old and backordered, and every move of the tag, each part a link to its page."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.inventory.widgets.common import part_name, uom_word
from rma.ui.widgets import table, when

MOVE_WORDS = {"receipt": "Received into stock", "issue": "Issued", "return": "Returned to stores", "fit": "Fitted",
              "old_part": "Old part kept", "scrap": "Scrapped parts", "transfer": "Moved between bins",
              "count": "Count adjustment", "job_issue": "Issued to a job", "job_return": "Returned from a job",
              "program": "Programmed", "job_scrap": "Failed in programming", "refurb_in": "Refurbished into stock",
              "refurb_out": "Shipped from stock"}


def move_words(m: dict[str, Any]) -> str:
    """A move's kind in words (a correction says so)."""
    words = _(MOVE_WORDS.get(m["kind"], m["kind"]))
    return _("{move} (corrected: undoes move {n})").format(move=words, n=m["corrects"]) if m["corrects"] else words


def _part_link(number: str):  # noqa: ANN202
    return lambda: ui.link(number, f"/stores/part/{number}").classes("font-mono")


def tag_parts_section(report: dict[str, Any]) -> None:
    """One visit's parts (``rma.inventory.services.tag_parts``): nothing when the stores never saw it."""
    tag = report["tag"]
    if not report["parts"]:
        return
    with ui.column().classes("w-full gap-1").props(f"data-testid=tag-parts data-tag={tag}"):
        ui.label(_("Parts of {tag}: fitted worth {value} yuan").format(tag=tag, value=report["fitted_value"])).classes(
            "font-semibold")
        table([_("Part"), _("Name"), _("Requested"), _("Issued"), _("Fitted"), _("Designators"), _("Returned"),
               _("Old parts"), _("Backordered"), _("On the bench")],
              [[_part_link(p["part_number"]), part_name(p), p["requested"], p["issued"], p["fitted"],
                ", ".join(p["designators"]), p["returned"], p["old"], p["backordered"], p["on_bench"]]
               for p in report["parts"]], empty=_("No parts."), testid="tag-parts-table")
        table([_("When"), _("Move"), _("Part"), _("Quantity"), _("From"), _("To"), _("Designator"), _("By")],
              [[when(m["at"]), move_words(m), _part_link(m["part_number"]), f"{m['quantity']} {uom_word(m['uom'])}", m["from"],
                m["to"], m["designator"], m["actor"]] for m in report["moves"]],
              empty=_("No moves."), testid="tag-moves")
