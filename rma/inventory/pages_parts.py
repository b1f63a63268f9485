"""The parts catalogue (``/stores/parts``) and a part's page (``/stores/part/NUMBER``): what it
is, its bins, the tags holding it, where it is used, and its moves, each tag a link to its unit
page (which shows the part's moves of that tag in turn)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.inventory import catalogue, stock
from rma.inventory.widgets.common import (
    category_word,
    downloads,
    part_name,
    stores_page,
    uom_word,
)
from rma.inventory.widgets.tag_parts import move_words
from rma.ui import runtime
from rma.ui.frame import SessionUser, unit_url
from rma.ui.widgets import error_panel, section_title, table, when


def part_link(number: str):  # noqa: ANN201
    return lambda: ui.link(number, f"/stores/part/{number}").classes("font-mono")


async def parts_page(user: SessionUser, search: str | None) -> None:
    stores_page(_("Parts"), "/stores/parts")
    field = ui.input(_("Search part number or name"), value=search or "").props(
        "outlined dense clearable data-testid=parts-search autofocus").classes("w-96")
    field.on("keydown.enter", lambda: ui.navigate.to(f"/stores/parts?search={field.value or ''}"))
    try:
        rows = await runtime.read(lambda uow: catalogue.list_parts(uow, search=search))
    except DomainError as exc:
        error_panel(error_message(exc))
        return
    table([_("Part"), _("Name"), _("Category"), _("Class"), _("Unit of measure"), _("Average cost"), _("Home bin")],
          [[part_link(r["part_number"]), part_name(r), category_word(r["category"]), r["abc"], uom_word(r["uom"]), r["unit_cost"],
            r["home_bin"]] for r in rows], empty=_("No parts found."), testid="parts")


def _fact(label: str, value: Any, testid: str) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs uppercase text-slate-500")
        ui.label("—" if value in (None, "") else str(value)).classes("text-base").props(f"data-testid={testid}")


async def part_page(user: SessionUser, number: str) -> None:
    stores_page(_("Part {part}").format(part=number), "/stores/parts")
    try:
        r = await runtime.read(lambda uow: stock.part_report(uow, number, moves=200))
    except DomainError as exc:
        error_panel(error_message(exc), _("Check the part number and scan again."))
        return
    with ui.card().classes("w-full").props("flat bordered data-testid=part-card"):
        ui.label(f"{r['part_number']} · {part_name(r)}").classes("text-2xl font-semibold").props(
            "data-testid=part-title")
        with ui.row().classes("gap-8"):
            _fact(_("Specification"), r["spec"], "part-spec")
            _fact(_("Category"), category_word(r["category"]), "part-category")
            _fact(_("Class"), r["abc"], "part-abc")
            _fact(_("In store"), f"{r['store']['quantity']} {uom_word(r['uom'])}", "part-on-hand")
            _fact(_("Value (yuan)"), r["store"]["value"], "part-value")
            _fact(_("Average cost"), r["store"]["unit_cost"], "part-cost")
            _fact(_("Open requests"), r["requested_open"], "part-requested")
            _fact(_("Safety stock"), r["safety_stock"] or _("from its issues"), "part-safety")
            if r["blank_part"]:
                _fact(_("Programmed from"), f"{r['blank_part']} · {r['firmware_version']}", "part-blank")
    with ui.row().classes("w-full gap-6 items-start"):
        with ui.column().classes("gap-2"):
            section_title(_("Bins"))
            table([_("Bin"), _("Quantity")], [[b["bin"], b["quantity"]] for b in r["bins"]],
                  empty=_("Not in stock."), testid="part-bins")
        with ui.column().classes("gap-2"):
            section_title(_("On the bench"))
            table([_("Tag"), _("Quantity")],
                  [[(lambda t=b["tag"]: ui.link(t, unit_url(t)).classes("font-mono")), b["quantity"]]
                   for b in r["on_bench"]], empty=_("No tag holds it."), testid="part-bench")
        with ui.column().classes("gap-2"):
            section_title(_("Used in"))
            table([_("Model"), _("Designator"), _("Quantity")],
                  [[u["model"], u["designator"], u["quantity"]] for u in r["where_used"]],
                  empty=_("In no bill of materials."), testid="part-bom")
    with ui.row().classes("w-full items-center"):
        section_title(_("Moves, newest first"))
        ui.space()
        downloads(f"part-{r['part_number']}", lambda uow: (stock.part_moves(uow, number, limit=1000), MOVE_COLUMNS),
                  testid="part-moves")
    table([_("When"), _("Move"), _("Quantity"), _("From"), _("To"), _("Tag or job"), _("Designator"), _("By"),
           _("Note")],
          [[when(m["at"]), move_words(m), m["quantity"], m["from"], m["to"],
            (lambda t=m["tag"]: ui.link(t, unit_url(t)).classes("font-mono")) if m["tag"] else m["job"],
            m["designator"], m["actor"], m["note"]] for m in r["moves"]],
          empty=_("No moves yet."), testid="part-moves")


MOVE_COLUMNS = ["id", "at", "month", "kind", "part_number", "quantity", "value", "from", "to", "tag", "job",
                "designator", "note", "actor", "corrects"]
