"""The card's parts: what was asked of the stores, issued, backordered, fitted, returned and kept as old
parts; asking for a part (Alt+R: a designator of the model's BOM, a part number or a scanned barcode,
by type-ahead, the BOM first), fitting one the tag holds at a designator a finding names (and keeping
the faulty one as an old part), returning what was not used, cancelling what is no longer needed.

Enter moves on and, in the last field, sends; every action is the stores' service, through the card.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from nicegui import ui

from rma.bench.widgets.code_picker import best_match
from rma.bench.widgets.keyboard import focus_in, key_hint
from rma.i18n import _
from rma.inventory.widgets.common import part_name, uom_word
from rma.inventory.widgets.tag_parts import move_words
from rma.ui.widgets import section_title, table, when

Request = Callable[[str, str, str | None], Awaitable[None]]
Fit = Callable[[str, str, str, bool], Awaitable[None]]
GiveBack = Callable[[str, str, str], Awaitable[None]]
Cancel = Callable[[str], Awaitable[None]]
LINE_STATUS = {"open": "Open", "filled": "Issued", "cancelled": "Cancelled"}


def offered_options(offered: list[dict[str, Any]]) -> dict[str, str]:
    """``U12 · IC-PMIC-RK809 · 电源管理IC`` for the BOM's lines, ``IC-TDA7851 · 功放IC`` for the rest."""
    return {o["key"]: " · ".join(x for x in (o["designator"], o["part_number"], part_name(o)) if x) for o in offered}


def keyed_select(label: str, choices: dict[str, str], testid: str, *, then: Callable[[], Any],
                 value: str | None = None, width: str = "min-w-80") -> ui.select:
    """Type-ahead where Enter takes the best match, or what was typed (a scanned barcode) as it is."""
    select = ui.select(dict(choices), with_input=True, label=label, value=value).props(
        f"outlined dense options-dense clearable data-testid={testid}").classes(width)

    def picked(e: Any) -> None:
        typed = str(e.args or "").strip()
        select.run_method("hidePopup")
        if typed and (select.value is None or typed != select.options.get(select.value)):
            match = best_match(typed, select.options)
            if match is None:  # not offered: a barcode or a part number, for the stores to find
                select.options = {**select.options, typed: typed}
                select.update()
                match = typed
            select.value = match
            select.run_method("updateInputValue", str(select.options[match]), True)
        if select.value is not None:
            then()

    # an option taken from the open menu (Enter on a highlighted one, a click) moves on as well
    select.on_value_change(lambda e: then() if e.value is not None else None)
    select.on("keydown.capture", picked, js_handler="""(e) => {
        if (e.key !== 'Enter' || e.isComposing || e.ctrlKey || e.altKey) return;
        if (document.querySelector('.q-menu .q-manual-focusable--focused')) return;
        const input = e.target.closest('.q-field').querySelector('input');
        e.preventDefault(); e.stopPropagation();
        emit(input ? input.value : '');
    }""")
    return select


def _parts_table(parts: dict[str, Any]) -> None:
    rows = [[p["part_number"], part_name(p), p["requested"], p["issued"], p["backordered"], p["fitted"],
             ", ".join(p["designators"]), p["returned"], p["old"], p["on_bench"]] for p in parts["parts"]]
    table([_("Part"), _("Name"), _("Requested"), _("Issued"), _("Backordered"), _("Fitted"), _("Designators"),
           _("Returned"), _("Old parts"), _("On the bench")], rows, empty=_("No parts asked for yet."),
          testid="card-parts")
    if parts["lines"]:
        table([_("Asked"), _("Part"), _("Quantity"), _("Issued"), _("Designator"), _("Status")],
              [[when(ln["requested_at"]), ln["part_number"], f"{ln['quantity']} {uom_word(ln['uom'])}", ln["issued"],
                ln["designator"] or "", _("Backordered") if ln["status"] == "open" and ln["backordered"]
                else _(LINE_STATUS.get(ln["status"], ln["status"]))] for ln in parts["lines"]],
              empty="", testid="card-part-lines")
    moves = [m for m in parts["moves"] if m["kind"] in ("fit", "old_part", "return")]
    if moves:
        table([_("When"), _("Move"), _("Part"), _("Quantity"), _("Designator"), _("By")],
              [[when(m["at"]), move_words(m), m["part_number"], f"{m['quantity']} {uom_word(m['uom'])}",
                m["designator"] or "", m["actor"]] for m in moves], empty="", testid="card-part-moves")


def _request_form(offered: list[dict[str, Any]], request: Request) -> None:
    with ui.row().classes("w-full items-end gap-2").props("data-testid=parts-request-form"):
        part = keyed_select(_("Part: designator, number or scan"), offered_options(offered), "parts-request-part",
                            then=lambda: focus_in("parts-request-qty"))
        qty = ui.input(_("Quantity"), value="1").props("outlined dense data-testid=parts-request-qty").classes("w-24")

        async def send() -> None:
            if part.value:
                await request(str(part.value), qty.value or "1", None)

        qty.on("keydown.enter", send)
        ui.button(_("Ask the stores"), icon="shopping_cart", on_click=send).props(
            "unelevated no-caps data-testid=parts-request")


def _fit_form(card: dict[str, Any], held: list[dict[str, Any]], fit: Fit) -> None:
    named = [f["designator"] for f in card["findings"] if f["designator"] and not f["nff"]]
    by_part = {ln["part_number"]: ln["designator"] for ln in card["parts"]["lines"] if ln["designator"]}
    with ui.row().classes("w-full items-end gap-2").props("data-testid=parts-fit-form"):
        first = held[0]["part_number"] if len(held) == 1 else None
        part = keyed_select(_("Part on the bench"), {p["part_number"]: f"{p['part_number']} · {part_name(p)} "
                                                      f"({p['on_bench']})" for p in held},
                            "parts-fit-part", then=lambda: focus_in("parts-fit-designator"), value=first,
                            width="min-w-72")
        guess = by_part.get(first or "") or (named[0] if len(named) == 1 else None)
        designator = ui.select(named, with_input=True, new_value_mode="add-unique", value=guess if guess in named else None,
                               label=_("At designator (a finding's)")).props(
            "outlined dense data-testid=parts-fit-designator").classes("w-44")
        qty = ui.input(_("Quantity"), value="1").props("outlined dense data-testid=parts-fit-qty").classes("w-24")
        keep = ui.checkbox(_("Keep the faulty part (旧件)"), value=card["warranty"] == "in").props(
            "data-testid=parts-fit-old")
        part.on_value_change(lambda e: designator.set_value(by_part.get(e.value or "", designator.value)))
        designator.on("keydown.enter", lambda: focus_in("parts-fit-qty"))

        async def send() -> None:
            if part.value:
                await fit(str(part.value), str(designator.value or ""), qty.value or "1", bool(keep.value))

        qty.on("keydown.enter", send)
        ui.button(_("Fitted"), icon="build", on_click=send).props("unelevated no-caps color=green-8 data-testid=parts-fit")


def _back_form(held: list[dict[str, Any]], give_back: GiveBack) -> None:
    with ui.row().classes("w-full items-end gap-2").props("data-testid=parts-return-form"):
        part = ui.select({p["part_number"]: p["part_number"] for p in held}, label=_("Unused part"),
                         value=held[0]["part_number"] if len(held) == 1 else None).props(
            "outlined dense data-testid=parts-return-part").classes("min-w-56")
        qty = ui.input(_("Quantity"), value=held[0]["on_bench"] if len(held) == 1 else "1").props(
            "outlined dense data-testid=parts-return-qty").classes("w-24")
        bin_ = ui.input(_("Back to bin (scan)")).props("outlined dense data-testid=parts-return-bin").classes("w-44")

        async def send() -> None:
            if part.value and bin_.value:
                await give_back(str(part.value), qty.value or "1", bin_.value)

        bin_.on("keydown.enter", send)
        ui.button(_("Return to stores"), icon="undo", on_click=send).props("flat no-caps data-testid=parts-return")


def parts_panel(card: dict[str, Any], offered: list[dict[str, Any]], *, can_work: bool, request: Request, fit: Fit,
                give_back: GiveBack, cancel: Cancel) -> None:
    parts = card["parts"]
    with ui.column().classes("w-full gap-2 rma-bench-section").props(
            f"data-testid=parts-section data-fitted-value={parts['fitted_value']}"):
        section_title(_("Parts"))
        _parts_table(parts)
        working = can_work and card["state"] in ("in_repair", "awaiting_parts")
        if not working:
            return
        waiting = sorted({ln["part_number"] for ln in parts["lines"] if ln["status"] == "open"})
        if waiting:
            with ui.row().classes("items-center gap-2"):
                ui.label(_("Waiting for:")).classes("text-slate-600")
                for number in waiting:
                    ui.button(_("Cancel {part}").format(part=number), icon="close",
                              on_click=lambda n=number: cancel(n)).props(
                        f"flat dense no-caps data-testid=parts-cancel-{number}")
        _request_form(offered, request)
        held = [p for p in parts["parts"] if Decimal(p["on_bench"]) > 0]
        if held:
            _fit_form(card, held, fit)
            _back_form(held, give_back)
        with ui.row().classes("items-center gap-4"):
            key_hint(("Alt+R",), _("ask for a part"))
            key_hint(("Enter",), _("next field; in the quantity: send"))
