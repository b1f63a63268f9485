"""Issuing parts (``/stores``): the pick list, and issue by scan.

The materials clerk works from the scanner and the keyboard:

1. scan a tag (its open requests show), or a part straight from the pick list (the oldest
   tag asking for it is taken);
2. scan the part and the bin it is taken from, in either order;
3. the quantity field opens with what the tag still asks for: Enter issues it (or type less:
   what is left stays open as a backorder and the unit waits for its parts).

Esc starts again; Alt+B says there is none to issue (the tag's request is backordered). Every
scan goes through one queue and is handled in order (``rma.ui.scan_queue``).
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from rma.i18n import _, error_message
from rma.inventory import services, stock
from rma.inventory.widgets.common import (
    KeyForm,
    act,
    key_hints,
    part_name,
    stores_page,
    uom_word,
)
from rma.ui import runtime
from rma.ui.banner import ResultBanner
from rma.ui.fields import scan_field
from rma.ui.frame import SessionUser, unit_url
from rma.ui.scan_queue import PendingChip, ScanQueue
from rma.ui.widgets import section_title, state_badge, table, when

KEYS_JS = """(e) => {
  if (e.key === 'Escape') { e.preventDefault(); emit('escape'); }
  else if (e.altKey && (e.key === 'b' || e.key === 'B')) { e.preventDefault(); emit('backorder'); }
}"""


class IssueDesk:
    def __init__(self, user: SessionUser) -> None:
        self.user = user
        self.tag: str | None = None
        self.part: dict[str, Any] | None = None
        self.bin: str | None = None
        self.rows: list[dict[str, Any]] = []

    def build(self) -> None:
        stores_page(_("Stores"), "/stores")
        self.root = ui.column().classes("w-full gap-3")
        with self.root:
            with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
                    "flat data-testid=issue-area data-signal-area data-signal=none"):
                with ui.row().classes("w-full items-center justify-between no-wrap"):
                    self.step = ui.label().classes("text-2xl font-semibold text-slate-800").props(
                        "data-testid=issue-step")
                    self.pending = PendingChip("issue-pending")
                self.field = scan_field("stores-scan", _("Scan a tag, a part or a bin"), self.queue_scan)
                self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
                with ui.row().classes("items-center gap-6 text-lg"):
                    self.chosen = {k: self._chip(k, label) for k, label in
                                   (("tag", _("Tag")), ("part", _("Part")), ("bin", _("Bin")))}
                self.qty_box = ui.row().classes("w-full items-end gap-3")
                with self.qty_box:
                    self.form = KeyForm([("qty", _("Quantity"), "w-40")], self._issue, testid="issue",
                                        on_escape=self._clear)
                    ui.button(_("Issue"), icon="outbox", on_click=self._issue_clicked).props(
                        "unelevated no-caps data-testid=issue-button")
                self.qty_box.set_visibility(False)
                self.result = ResultBanner("issue-result")
                key_hints(("Enter", _("ends a scan")), ("Esc", _("starts again")),
                          ("Alt+B", _("none to issue: backorder the tag's request")))
            section_title(_("Pick list: open requests, oldest first"))
            self.picklist = ui.column().classes("w-full")
        self.root.on("keydown", self._keys, js_handler=KEYS_JS)
        self.queue: ScanQueue[str] = ScanQueue(self.root, self.pending, self._handle, self._failed,
                                               name="stores-issue")
        self.queue.start()
        self._show_step()

    def _chip(self, key: str, label: str) -> ui.label:
        with ui.row().classes("items-center gap-1"):
            ui.label(label).classes("text-sm uppercase text-slate-500")
            return ui.label("—").classes("font-mono font-semibold").props(f"data-testid=issue-{key}")

    # ------------------------------------------------ scans

    def queue_scan(self, e) -> None:  # noqa: ANN001
        self.queue.put(str(e.args or "").strip())

    async def _handle(self, raw: str) -> None:
        from drivers.scan import ScanError, clean_scan

        try:
            key = clean_scan(raw)
        except ScanError as exc:
            self.result.show("error", error_message(exc))
            return
        what = await runtime.read(lambda uow: stock.classify_scan(uow, key))
        kind = what["kind"]
        if kind == "tag":
            self.tag, self.part, self.bin = what["key"], None, None
        elif kind == "part":
            self.part = what
            if self.tag is None or not self._asks(self.tag, what["key"]):
                asking = [r["tag"] for r in self.rows if r["part_number"] == what["key"]]
                if not asking:
                    self.result.show("error", _("No open request for {part}: nothing to issue").format(part=key))
                    self.part = None
                    return
                self.tag = asking[0]
        elif kind == "bin":
            self.bin = what["key"]
        else:
            self.result.show("error", _("{key} is no tag, part or bin").format(key=what["key"]))
            return
        self.result.show("ok", self._chosen_text())
        self._show_step()

    def _failed(self, raw: str, message: str) -> None:
        self.result.show("error", message)

    def _asks(self, tag: str, part: str) -> bool:
        return any(r["tag"] == tag and r["part_number"] == part for r in self.rows)

    def _chosen_text(self) -> str:
        return " · ".join(x for x in (self.tag, self.part and self.part["key"], self.bin) if x)

    def _remaining(self) -> str:
        return next((r["remaining"] for r in self.rows if self.part and r["tag"] == self.tag
                     and r["part_number"] == self.part["key"]), "")

    def _show_step(self) -> None:
        self.chosen["tag"].set_text(self.tag or "—")
        self.chosen["part"].set_text(f"{self.part['key']} {part_name(self.part)}" if self.part else "—")
        self.chosen["bin"].set_text(self.bin or "—")
        ready = bool(self.tag and self.part and self.bin)
        self.qty_box.set_visibility(ready)
        if ready:
            self.step.set_text(_("Enter the quantity: Enter issues it"))
            self.form.set("qty", self._remaining())
            self.form.focus("qty")
        elif self.tag and not self.part:
            self.step.set_text(_("Scan the part for {tag}").format(tag=self.tag))
        elif self.part and not self.bin:
            self.step.set_text(_("Scan the bin it comes from"))
        elif not self.tag:
            self.step.set_text(_("Scan a tag, or a part of the pick list"))
        else:
            self.step.set_text(_("Scan the part"))
        self._load()

    def _clear(self) -> None:
        self.tag = self.part = self.bin = None
        self._show_step()
        ui.run_javascript("rmaStores.focus('stores-scan')")

    # ------------------------------------------------ actions

    async def _issue_clicked(self) -> None:
        values = await ui.run_javascript(f"({{qty: getHtmlElement({self.form.fields['qty'].id}).value}})")
        await self._issue(values or {})

    async def _issue(self, values: dict[str, str]) -> None:
        tag, part, bin_code = self.tag, self.part and self.part["key"], self.bin
        if not (tag and part and bin_code):
            return
        qty = (values.get("qty") or "").strip() or None
        done = await act(self.user, lambda uow, actor: services.issue_to_tag(
            uow, actor, tag=tag, part_number=part, bin_code=bin_code, quantity=qty))
        if done is None:
            self.result.show("error", _("Not issued"))
            return
        text = _("Issued {qty} × {part} to {tag}").format(qty=done["quantity"], part=part, tag=tag)
        if done["backordered"]:
            self.result.show("warn", text + " · " + _("{qty} backordered: the unit waits for its parts").format(
                qty=done["backordered"]))
        else:
            self.result.show("ok", text)
        self.part = self.bin = None
        self._show_step()
        ui.run_javascript("rmaStores.focus('stores-scan')")

    async def _keys(self, e) -> None:  # noqa: ANN001
        if e.args == "escape":
            self._clear()
        elif e.args == "backorder" and self.tag and self.part:
            tag, part = self.tag, self.part["key"]
            done = await act(self.user, lambda uow, actor: services.backorder(uow, actor, tag, part))
            if done is not None:
                self.result.show("warn", _("{part} backordered for {tag}: the unit waits for its parts").format(
                    part=part, tag=tag))
                self.part = self.bin = None
                self._show_step()

    # ------------------------------------------------ the pick list

    def _load(self) -> None:
        ui.timer(0, self._refresh, once=True)

    async def _refresh(self) -> None:
        self.rows = await runtime.read(stock.pick_list)
        self.picklist.clear()
        with self.picklist:
            table([_("Requested"), _("Tag"), _("State"), _("Part"), _("Name"), _("Still to issue"), _("Bins")],
                  [[when(r["requested_at"]), (lambda r=r: ui.link(r["tag"], unit_url(r["tag"])).classes("font-mono")),
                    (lambda r=r: state_badge(r["state"])),
                    (lambda r=r: ui.link(r["part_number"], f"/stores/part/{r['part_number']}").classes("font-mono")),
                    part_name(r), f"{r['remaining']} {uom_word(r['uom'])}" + (" ⚠" if r["backordered"] else ""),
                    ", ".join(f"{b['bin']} ({b['quantity']})" for b in r["bins"]) or _("none in stock")]
                   for r in self.rows], empty=_("Nothing to pick: every request is filled."), testid="pick-list")
