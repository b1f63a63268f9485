"""Receipts (``/stores/receive``): a delivery note's lines into bins.

Supplier, delivery note and line, then the part (scanned: its number or the supplier's
barcode), the bin (scanned), the quantity and the unit cost: Enter moves from field to field
and books the line in the last one; the next line number is filled in and the cursor waits in
the part field. An empty cost is the part's average cost. A line of a note is booked once.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.i18n import _
from rma.inventory import catalogue, stock
from rma.inventory.widgets.common import KeyForm, act, key_hints, part_name, stores_page
from rma.ui import runtime
from rma.ui.banner import ResultBanner
from rma.ui.frame import SessionUser
from rma.ui.widgets import section_title, table, when

FIELDS = (("supplier", "Supplier", "w-32"), ("note", "Delivery note", "w-44"), ("line", "Line", "w-20"),
          ("part", "Part (scan)", "w-56"), ("bin", "Bin (scan)", "w-32"), ("qty", "Quantity", "w-28"),
          ("cost", "Unit cost (yuan)", "w-36"))


class ReceiveDesk:
    def __init__(self, user: SessionUser) -> None:
        self.user = user

    async def build(self) -> None:
        stores_page(_("Receipts"), "/stores/receive")
        suppliers = await runtime.read(catalogue.list_suppliers)
        with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
                "flat data-testid=receive-area data-signal-area data-signal=none"):
            ui.label(_("Book a delivery note, line by line")).classes("text-2xl font-semibold text-slate-800")
            self.form = KeyForm([(k, _(label), w) for k, label, w in FIELDS], self._book, testid="receive")
            self.result = ResultBanner("receive-result")
            key_hints(("Enter", _("next field; in the last one, books the line")),
                      ("Ctrl+Enter", _("books the line")))
            ui.label(_("Suppliers: {list}").format(list=", ".join(f"{s['code']} {s['name']}" for s in suppliers))
                     ).classes("text-sm text-slate-500")
        if suppliers:
            self.form.set("supplier", suppliers[0]["code"])
        self.form.set("line", "1")
        self.form.focus("note")
        section_title(_("Latest receipts"))
        self.table = ui.column().classes("w-full")
        await self._refresh()

    async def _book(self, values: dict[str, str]) -> None:
        got = {k: (values.get(k) or "").strip() for k, _label, _w in FIELDS}
        if not got["part"]:
            self.form.focus("part")
            return
        done = await act(self.user, lambda uow, actor: stock.receive(
            uow, actor, supplier=got["supplier"], delivery_note=got["note"], line=got["line"], part_number=got["part"],
            bin_code=got["bin"], quantity=got["qty"], unit_cost=got["cost"] or None))
        if done is None:
            self.result.show("error", _("Not booked"))
            return
        self.result.show("ok", _("Line {line}: {qty} × {part} into {bin} at {cost}").format(
            line=done["line"], qty=done["quantity"], part=done["part_number"], bin=done["bin"], cost=done["unit_cost"]))
        self.form.set("line", str(done["line"] + 1))
        for key in ("part", "bin", "qty", "cost"):
            self.form.set(key, "")
        self.form.focus("part")
        await self._refresh()

    async def _refresh(self) -> None:
        rows: list[dict[str, Any]] = await runtime.read(stock.recent_receipts)
        self.table.clear()
        with self.table:
            table([_("Booked"), _("Supplier"), _("Delivery note"), _("Line"), _("Part"), _("Name"), _("Quantity"),
                   _("Value (yuan)"), _("Bin"), _("By")],
                  [[when(r["at"]), r["supplier"], r["delivery_note"], r["line"],
                    (lambda r=r: ui.link(r["part_number"], f"/stores/part/{r['part_number']}").classes("font-mono")),
                    part_name(r), ("-" if r["corrects"] else "") + r["quantity"], r["value"], r["to"] if not
                    r["corrects"] else r["from"], r["actor"]] for r in rows],
                  empty=_("No receipts yet."), testid="receipts")
