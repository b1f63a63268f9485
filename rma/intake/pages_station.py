"""The intake station (``/intake``): a courier parcel comes in, each unit is scanned, labelled, checked.

The clerk works from the scanner and the keyboard alone:

1. scan the waybill: an open parcel with it carries on; a new one asks courier (guessed),
   sender, declared count and cost, and Enter opens it;
2. scan each serial: the unit is received and its label printed; a row at the top shows the
   tag, model, warranty, a repeat return, interception alerts and the accessories checklist;
3. close the parcel (Ctrl+Enter, the button, or the waybill scanned again): declared against
   scanned, a short or over delivery is said out loud.

Every scan, typed into the scan field or read by the station's serial scanner, goes into one
queue per page and is handled strictly in order, one at a time: a burst of scans is never
lost or reordered while an earlier one is being saved, and a question (which model? close
the parcel?) holds the scans behind it until it is answered. Labels print from a second
queue, in order, so a slow printer never holds up scanning.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, run, ui

from drivers.scan import ScanError, clean_scan
from drivers.scanner import ScannerConnected, ScannerDisconnected, ScannerReconnected, ScanResult
from rma import config
from rma.core import catalogue
from rma.core.services import find_visit, normalise_key
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _
from rma.intake import labelling, services, station_scanner
from rma.intake.pages_common import (
    SIGNAL_HEAD,
    alert_lines,
    escaped,
    focus,
    pick_first_on_enter,
    plain_field,
    problem_text,
    repeat_badge,
    scan_field,
    values_js,
    warranty_badge,
)
from rma.ui import runtime
from rma.ui.frame import SessionUser, unit_url
from rma.ui.widgets import section_title, table, when

log = logging.getLogger(__name__)

PICK_MODEL_CODES = frozenset({"unknown_serial_format", "model_ambiguous"})

# The page's keyboard: shortcuts, the ok/error signal (flash and beep), and the guard that keeps
# a scan typed while a dialog is open as a scan instead of keys pressed in the dialog.
INTAKE_HEAD = SIGNAL_HEAD + """
<style>
  .rma-check { width: 1.4rem; height: 1.4rem; accent-color: #15803d; }
  kbd { font-family: ui-monospace, monospace; font-size: .8em; border: 1px solid #94a3b8;
        border-bottom-width: 2px; border-radius: 4px; padding: 0 .3em; background: #f8fafc; }
</style>
<script>
window.rmaIntake = (() => {
  const q = (s) => document.querySelector(s);
  const field = () => q('input[data-testid="intake-scan"]');
  const isText = (t) => !!t && !t.readOnly && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'file', 'range', 'color'].includes(t.type)));
  let guard = '', guardAt = 0;
  const signal = (kind) => window.rmaSignal(kind);
  function focusScan() { const f = field(); if (f && !q('.q-dialog')) f.focus(); }
  function sendScan(text) {
    const f = field();
    if (!f) return;
    f.value = text;
    f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
  }
  function newest() { return q('[data-accessories]'); }
  // A Quasar field puts its data-testid on its native input, or on its root: take either.
  function byTestid(id) {
    return q(`input[data-testid="${id}"], [data-testid="${id}"] input`) || {focus() {}};
  }
  window.addEventListener('keydown', (e) => {
    const f = field();
    if (!f || e.isComposing) return;
    const t = document.activeElement;
    if (q('.q-dialog')) {
      if (isText(t) || e.ctrlKey || e.altKey || e.metaKey) return;
      const now = Date.now();
      if (now - guardAt > 400) guard = '';
      if (e.key.length === 1) {
        guard += e.key; guardAt = now;
        e.preventDefault(); e.stopPropagation();
      } else if ((e.key === 'Enter' || e.key === 'Tab') && guard) {
        const text = guard; guard = '';
        e.preventDefault(); e.stopPropagation();
        sendScan(text);
      }
      return;
    }
    if (e.ctrlKey && !e.altKey && e.key === 'Enter') {
      e.preventDefault(); e.stopPropagation();
      const b = q('[data-testid="close-parcel"]');
      if (b) b.click();
      return;
    }
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      let done = true;
      if (e.code === 'KeyS') f.focus();
      else if (e.code === 'KeyR') byTestid('intake-reason').focus();
      else if (e.code === 'KeyT') byTestid('intake-reason-text').focus();
      else if (e.code === 'KeyA') { const b = newest() && newest().querySelector('[data-all-present]'); if (b) b.click(); }
      else if (/^Digit[1-9]$/.test(e.code)) {
        const boxes = newest() ? newest().querySelectorAll('input[type=checkbox]') : [];
        const box = boxes[Number(e.code.slice(5)) - 1];
        if (box) box.click();
      } else done = false;
      if (done) { e.preventDefault(); e.stopPropagation(); }
      return;
    }
    if (e.key === 'Escape' && t !== f && isText(t) && t.closest('[data-testid="scan-area"]')) {
      e.preventDefault(); f.focus(); return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
    if (e.key === ' ' && t && (t.type === 'checkbox' || t.tagName === 'BUTTON')) {
      e.stopPropagation();  // Space ticks a box or presses a button, as usual
      return;
    }
    if (!isText(t)) f.focus();  // a scan that starts anywhere else lands in the scan field
  }, true);
  return {signal, focusScan, sendScan};
})();
</script>
"""

# A native checkbox sends the whole list ticked in its row, so each save is complete in itself.
ACCESSORY_CHANGE_JS = """(e) => emit([...e.target.closest('[data-accessories]')
    .querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value))"""


def _notify(text: str) -> None:
    """Bottom right: the parcel and the scan field at the top stay in sight."""
    ui.notify(text, type="negative", position="bottom-right", close_button=True, timeout=6000, multi_line=True)


# The intake page the station's serial scanner feeds: the one that connected last.
_scanner_page: IntakeStation | None = None


# ---------------------------------------------------------------- what goes into the queue

@dataclass(frozen=True)
class Scan:
    raw: str


@dataclass(frozen=True)
class BadScan:  # the serial scanner already refused it
    error: ScanError
    raw: str


@dataclass(frozen=True)
class CloseParcel:
    pass


@dataclass(frozen=True)
class LeaveParcel:
    pass


QueueItem = Scan | BadScan | CloseParcel | LeaveParcel


@dataclass
class OpenParcel:
    courier: str
    waybill: str
    customer: str | None
    customer_name: str | None
    declared: int | None
    scanned: int


# ---------------------------------------------------------------- reads and unit-of-work bodies

def _station_data(uow: UnitOfWork) -> dict[str, Any]:
    return {
        "reasons": {r.code: f"{r.code} · {r.text}" for r in services.list_reasons(uow)},
        "customers": {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)},
        "open_parcels": services.open_parcels(uow),
    }


def _open_parcels_matching(uow: UnitOfWork, waybill: str) -> dict[str, Any]:
    matching = [p for p in services.open_parcels(uow) if p["waybill"] == waybill]
    return {"open": matching, "courier": services.guess_courier(waybill)}


def _unit_facts(uow: UnitOfWork, visit: Any) -> dict[str, Any]:
    model = visit.unit.model
    return {**services.intake_summary(uow, visit), "model_name": model.name,
            "known_accessories": list(model.accessories or [])}


def _parcel_view(uow: UnitOfWork, waybill: str, courier: str) -> dict[str, Any]:
    report = services.parcel_report(uow, waybill, courier)
    report["rows"] = [_unit_facts(uow, find_visit(uow, u["tag"])) for u in report["units"]]
    return report


def _parcel_of(parcel: Any, scanned: int) -> OpenParcel:
    return OpenParcel(parcel.courier, parcel.waybill, parcel.customer.code if parcel.customer else None,
                      parcel.customer.name if parcel.customer else None, parcel.declared_count, scanned)


def _model_choices(uow: UnitOfWork) -> dict[str, str]:
    return {m.code: f"{m.code} · {m.name}" for m in catalogue.list_models(uow)}


# ---------------------------------------------------------------- the page

class IntakeStation:
    """One browser tab's intake station: its queue, its open parcel, its rows."""

    def __init__(self, user: SessionUser, data: dict[str, Any]) -> None:
        self.user = user
        self.reasons: dict[str, str] = data["reasons"]
        self.customers: dict[str, str] = data["customers"]
        self.parcel: OpenParcel | None = None
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue()
        self.prints: asyncio.Queue[tuple[str, int | None]] = asyncio.Queue()
        self.pending = 0
        self.form_answer: asyncio.Future[OpenParcel | None] | None = None
        self.form_busy = False
        self.accessory_lock = asyncio.Lock()
        self.label_jobs: dict[str, int] = {}  # tag -> its last label job
        self.label_status: dict[str, list[ui.label]] = defaultdict(list)
        self.accessory_boxes: dict[str, list[tuple[str, ui.element]]] = defaultdict(list)
        self.unsubscribe = None

    # ------------------------------------------------ layout
    def build(self, open_parcels: list[dict[str, Any]]) -> None:
        ui.add_head_html(INTAKE_HEAD)
        self.root = ui.column().classes("w-full gap-4")
        with self.root:
            self.step2 = ui.column().classes("w-full gap-3")
            self.step2.set_visibility(False)
            with ui.card().classes("w-full gap-3 border-2 border-slate-300").props(
                "flat data-testid=scan-area data-signal-area data-signal=none"
            ) as self.scan_area:
                with ui.row().classes("w-full items-center justify-between no-wrap"):
                    self.step_title = ui.label().classes("text-2xl font-semibold text-slate-800").props(
                        "data-testid=intake-step"
                    )
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        self.pending_chip = ui.label().classes(
                            "bg-blue-100 text-blue-900 rounded-full px-3 py-1 text-base font-medium"
                        ).props("data-testid=intake-pending data-pending=0")
                        self.pending_chip.set_visibility(False)
                        self.scanner_chip = ui.label().classes("rounded-full px-3 py-1 text-sm font-medium").props(
                            "data-testid=scanner-chip"
                        )
                        self.scanner_chip.set_visibility(False)
                self.field = scan_field("intake-scan", _("Scan the waybill"), self._scanned)
                self.field.props["data-intake-scan"] = ""
                self.field.on("vnodeMounted", js_handler="(vnode) => vnode.el && vnode.el.focus()")
                self.last_result = ui.label().classes("text-xl font-semibold rounded px-3 py-2").props(
                    "data-testid=last-result"
                )
                self.last_result.set_visibility(False)
                with ui.row().classes("w-full items-end gap-3") as self.reason_row:
                    self.reason = ui.select(self.reasons, with_input=True, clearable=True,
                                            label=_("Return reason (for the next scans)"),
                                            on_change=lambda: ui.run_javascript("rmaIntake.focusScan()")).props(
                        "outlined dense options-dense data-testid=intake-reason"
                    ).classes("min-w-80")
                    pick_first_on_enter(self.reason, then=lambda: ui.run_javascript("rmaIntake.focusScan()"),
                                        unmatched=self._stray_scan)
                    self.reason_text = ui.input(_("Dealer's complaint, free text (optional)")).props(
                        "outlined dense clearable data-testid=intake-reason-text"
                    ).classes("grow")
                    self.reason_text.on("keydown.enter", js_handler="() => rmaIntake.focusScan()")
                self.reason_row.set_visibility(False)
                self.hints = ui.html("", sanitize=False).classes("text-sm text-slate-500").props(
                    "data-testid=intake-hints")

            self.step1 = ui.column().classes("w-full gap-4")
            with self.step1:
                self.form_box = ui.column().classes("w-full")
                self.closed_box = ui.column().classes("w-full")
                section_title(_("Open parcels"))
                self.open_box = ui.column().classes("w-full")
            self.results = ui.column().classes("w-full gap-2").props("data-testid=intake-results")
        self._show_open_parcels(open_parcels)
        self._show_step()

    def _hints(self) -> str:
        keys = [("Enter", _("or Tab ends a scan"))]
        if self.parcel is not None:
            keys += [("Ctrl+Enter", _("close the parcel")), ("Alt+R", _("reason")), ("Alt+T", _("free text")),
                     ("Alt+A", _("all accessories present")), ("Alt+1…9", _("tick accessory n of the newest unit")),
                     ("Esc", _("back to the scan field"))]
        return " · ".join(f"<kbd>{k}</kbd> {text}" for k, text in keys)

    def _show_step(self) -> None:
        p = self.parcel
        self.step1.set_visibility(p is None)
        self.step2.set_visibility(p is not None)
        self.reason_row.set_visibility(p is not None)
        if p is None:
            self.step_title.set_text(_("Step 1: scan the courier waybill"))
            self.field.props["placeholder"] = _("Scan the waybill")
        else:
            self.step_title.set_text(_("Step 2: scan the serial of each unit"))
            self.field.props["placeholder"] = _("Scan a serial")
        self.field.update()
        self.hints.set_content(self._hints())

    def _show_pending(self) -> None:
        self.pending_chip.set_text(_("Processing {n}…").format(n=self.pending))
        self.pending_chip.props(f"data-pending={self.pending}")
        self.pending_chip.set_visibility(self.pending > 0)

    def _show_result(self, kind: str, text: str) -> None:
        colours = {"ok": "bg-green-100 text-green-900", "warn": "bg-amber-100 text-amber-900",
                   "error": "bg-red-100 text-red-900"}
        self.last_result.set_text(text)
        self.last_result.classes(replace=f"text-xl font-semibold rounded px-3 py-2 {colours[kind]}")
        self.last_result.props(f"data-kind={kind}")
        self.last_result.set_visibility(True)
        ui.run_javascript(f"rmaIntake.signal({kind!r})")

    # ------------------------------------------------ the queue
    def start(self, first_waybill: str | None) -> None:
        client = ui.context.client
        tasks = [background_tasks.create(self._work(), name="intake-scans"),
                 background_tasks.create(self._print_work(), name="intake-labels")]

        def stop() -> None:
            for task in tasks:
                task.cancel()
            self.release_scanner(taken=False)

        client.on_delete(stop)
        if first_waybill:
            self.enqueue(Scan(first_waybill))

    def enqueue(self, item: QueueItem) -> None:
        self.pending += 1
        self._show_pending()
        self.queue.put_nowait(item)

    def _stray_scan(self, text: str) -> None:
        """Typed into a choice where it matches nothing: most likely a scan, so it is one."""
        self.enqueue(Scan(text))
        ui.run_javascript("rmaIntake.focusScan()")

    def _scanned(self, e) -> None:  # noqa: ANN001
        raw = e.args if isinstance(e.args, str) else str(e.args or "")
        self.enqueue(Scan(raw))

    async def _work(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                with self.root:
                    await self._handle(item)
            except asyncio.CancelledError:
                raise
            except DomainError as exc:  # e.g. the parcel was closed at another station meanwhile
                with self.root:
                    self._error_row(problem_text(exc), item.raw if isinstance(item, Scan | BadScan) else "")
            except Exception as exc:  # a bug must not stop the station: say it, keep scanning
                log.exception("intake: handling %r failed", item)
                with self.root:
                    self._error_row(_("Unexpected error: {error}").format(error=exc),
                                    item.raw if isinstance(item, Scan | BadScan) else "")
            finally:
                self.pending -= 1
                with self.root:
                    self._show_pending()

    async def _handle(self, item: QueueItem) -> None:
        if isinstance(item, CloseParcel):
            await self._close_parcel()
            return
        if isinstance(item, LeaveParcel):
            await self._leave_parcel()
            return
        if isinstance(item, BadScan):
            self._error_row(problem_text(item.error), item.raw)
            return
        try:
            text = clean_scan(item.raw)
        except ScanError as exc:
            self._error_row(problem_text(exc), item.raw)
            return
        if self.parcel is None:
            await self._waybill_scanned(text, item.raw)
        elif normalise_key(text) == self.parcel.waybill:
            await self._close_parcel()
        else:
            await self._receive(text, item.raw)

    # ------------------------------------------------ step 1: the parcel
    async def _waybill_scanned(self, text: str, raw: str) -> None:
        try:
            waybill = services.clean_waybill(text)
        except DomainError as exc:
            self._error_row(problem_text(exc), raw)
            return
        found = await runtime.read(lambda uow: _open_parcels_matching(uow, waybill))
        if found["open"]:
            p = found["open"][0]
            await self._enter_parcel(OpenParcel(p["courier"], p["waybill"], p["customer"], p["customer_name"],
                                                p["declared"], p["scanned"]))
            return
        parcel = await self._ask_new_parcel(waybill, found["courier"])
        if parcel is not None:
            await self._enter_parcel(parcel)

    async def _ask_new_parcel(self, waybill: str, courier: str | None) -> OpenParcel | None:
        """Show the compact form and wait for it: later scans wait in the queue meanwhile."""
        self.closed_box.clear()
        self.form_box.clear()
        self.form_answer = asyncio.get_running_loop().create_future()
        with self.form_box:
            with ui.card().classes("w-full gap-3 border-2 border-blue-300 bg-blue-50").props(
                "flat data-testid=new-parcel-form"
            ) as form:
                form.on("keydown.esc", lambda: self._answer_form(None))
                with ui.row().classes("items-baseline gap-3"):
                    ui.label(_("New parcel")).classes("text-xl font-semibold")
                    ui.label(waybill).classes("text-2xl font-mono font-bold").props("data-testid=new-parcel-waybill")
                    if courier:
                        ui.label(_("courier guessed from the waybill: {courier}").format(courier=courier)).classes(
                            "text-slate-600")
                with ui.row().classes("w-full items-end gap-3"):
                    courier_field = plain_field(_("Courier"), "new-parcel-courier", value=courier or "", width="w-32")
                    customer = ui.select(self.customers, with_input=True, label=_("Sender (customer)")).props(
                        "outlined data-testid=new-parcel-customer"
                    ).classes("min-w-96")
                    declared = plain_field(_("Declared units"), "new-parcel-declared", width="w-36",
                                           inputmode="numeric")
                    cost = plain_field(_("Courier cost"), "new-parcel-cost", width="w-36", inputmode="decimal")
                    open_button = ui.button(_("Open parcel"), icon="move_to_inbox").props(
                        "unelevated no-caps size=lg data-testid=open-parcel"
                    )
                    ui.button(_("Cancel"), on_click=lambda: self._answer_form(None)).props(
                        "flat no-caps data-testid=cancel-parcel"
                    )
                problem = ui.label().classes("text-red-800 text-lg font-medium").props("data-testid=new-parcel-error")
                problem.set_visibility(False)
                ui.label(_("Enter in any field opens the parcel; in the sender field it takes the first match."))\
                    .classes("text-sm text-slate-500")

        fields = {"courier": courier_field, "declared": declared, "cost": cost}

        async def submit(e) -> None:  # noqa: ANN001
            if self.form_busy or self.form_answer is None or self.form_answer.done():
                return
            given = e.args if isinstance(e.args, dict) else {}
            if not customer.value:
                problem.set_text(_("Choose the sender (customer) first."))
                problem.set_visibility(True)
                focus(customer)
                return
            self.form_busy = True
            open_button.props("loading")
            try:
                parcel = await self._open_parcel(waybill, str(given.get("courier") or ""), customer.value,
                                                 str(given.get("declared") or ""), str(given.get("cost") or ""))
            except DomainError as exc:
                problem.set_text(problem_text(exc))
                problem.set_visibility(True)
                ui.run_javascript("rmaIntake.signal('error')")
                return
            finally:
                self.form_busy = False
                open_button.props(remove="loading")
            self._answer_form(parcel)

        enter_js = f"""(e) => {{
            if (e.key !== 'Enter' || e.isComposing || e.ctrlKey || e.altKey) return;
            e.preventDefault(); emit({values_js(fields)});
        }}"""
        for field in fields.values():
            field.on("keydown", submit, js_handler=enter_js)
        open_button.on("click", submit, js_handler=f"() => emit({values_js(fields)})")
        pick_first_on_enter(customer, then=lambda: focus(declared), unmatched=self._stray_scan)
        focus(courier_field if not courier else customer)
        try:
            return await self.form_answer
        finally:
            self.form_answer = None
            self.form_box.clear()
            ui.run_javascript("rmaIntake.focusScan()")

    def _answer_form(self, parcel: OpenParcel | None) -> None:
        if self.form_answer is not None and not self.form_answer.done():
            self.form_answer.set_result(parcel)

    async def _open_parcel(self, waybill: str, courier: str, customer: str | None, declared: str,
                           cost: str) -> OpenParcel:
        declared = declared.strip()
        if declared and not declared.isdigit():
            raise DomainError("bad_count", "declared count {n} is not a number of units", n=declared)
        count = int(declared) if declared else None
        customer_code = customer or ""

        def work(uow: UnitOfWork, actor: Any) -> OpenParcel:
            parcel, _created = services.receive_parcel(uow, actor, courier=courier, waybill=waybill,
                                                       customer_code=customer_code, declared=count,
                                                       cost=cost.strip() or None)
            return _parcel_of(parcel, len(services.parcel_visits(uow, parcel)))

        return await self.user.act(work)

    async def _enter_parcel(self, parcel: OpenParcel) -> None:
        view = await runtime.read(lambda uow: _parcel_view(uow, parcel.waybill, parcel.courier))
        parcel.scanned = len(view["rows"])
        self.parcel = parcel
        self.closed_box.clear()
        self.results.clear()
        self.label_status.clear()
        self.accessory_boxes.clear()
        self._show_parcel(view["attachments"])
        for row in view["rows"]:
            self._unit_row(row, again=False, label=None)
        self._show_step()
        self._show_result("ok", _("Parcel {waybill} open: scan the serials.").format(waybill=parcel.waybill))

    def _show_parcel(self, attachments: list[dict[str, Any]]) -> None:
        p = self.parcel
        assert p is not None
        self.step2.clear()
        with self.step2:
            with ui.card().classes("w-full gap-2 bg-slate-50").props("flat bordered data-testid=parcel-card"):
                with ui.row().classes("w-full items-center justify-between"):
                    with ui.row().classes("items-baseline gap-4"):
                        ui.label(p.waybill).classes("text-3xl font-mono font-bold").props(
                            "data-testid=parcel-waybill")
                        ui.label(p.courier).classes("text-xl font-semibold text-slate-700").props(
                            "data-testid=parcel-courier")
                        ui.label(" · ".join(x for x in (p.customer, p.customer_name) if x)).classes(
                            "text-lg text-slate-700")
                    with ui.row().classes("items-center gap-2"):
                        ui.button(_("Close parcel"), icon="inventory", on_click=lambda: self.enqueue(CloseParcel()))\
                            .props("unelevated no-caps size=lg data-testid=close-parcel")
                        ui.button(_("Leave open"), icon="logout", on_click=lambda: self.enqueue(LeaveParcel()))\
                            .props("flat no-caps data-testid=leave-parcel")
                with ui.row().classes("w-full items-center gap-6"):
                    self.count_label = ui.label().classes("text-2xl font-semibold text-slate-800").props(
                        "data-testid=parcel-count")
                    self._show_count()
                    ui.space()
                    self.thumbs = ui.row().classes("items-center gap-2").props("data-testid=waybill-thumbs")
                    self._show_thumbs(attachments)
                    self.upload = ui.upload(auto_upload=True, max_file_size=services.MAX_ATTACHMENT_BYTES,
                                            on_upload=self._attach, on_rejected=lambda: _notify(
                                                _("The file is too large: at most {mb} MB.").format(
                                                    mb=services.MAX_ATTACHMENT_BYTES // 2**20))).props(
                        'accept="image/*,application/pdf" data-testid=waybill-upload').classes("hidden")
                    ui.button(_("Attach waybill photo"), icon="add_a_photo",
                              on_click=lambda: self.upload.run_method("pickFiles")).props(
                        "outline no-caps data-testid=attach-waybill")

    def _show_count(self) -> None:
        p = self.parcel
        if p is None:
            return
        if p.declared is None:
            text = _("Scanned {n} (no declared count)").format(n=p.scanned)
        else:
            text = _("Scanned {n} of {declared} declared").format(n=p.scanned, declared=p.declared)
        over = p.declared is not None and p.scanned > p.declared
        self.count_label.set_text(text)
        self.count_label.classes(replace="text-2xl font-semibold " + ("text-amber-700" if over else "text-slate-800"))

    def _show_thumbs(self, attachments: list[dict[str, Any]]) -> None:
        self.thumbs.clear()
        with self.thumbs:
            for a in attachments:
                with ui.link(target=f"/attachments/{a['sha256']}", new_tab=True).classes("no-underline"):
                    if a["filename"].lower().endswith(".pdf"):
                        with ui.column().classes("items-center gap-0 w-24"):
                            ui.icon("picture_as_pdf", size="lg").classes("text-red-700")
                            ui.label(a["filename"]).classes("text-xs truncate w-24")
                    else:
                        ui.image(f"/attachments/{a['sha256']}/thumb").classes("w-24 h-16 rounded border").props(
                            f"fit=cover alt={a['filename']!r}")

    async def _attach(self, e) -> None:  # noqa: ANN001
        p = self.parcel
        if p is None:
            return
        data = await e.file.read()
        name, content_type = e.file.name, e.file.content_type

        def work(uow: UnitOfWork, actor: Any) -> list[dict[str, Any]]:
            services.attach_to_parcel(uow, actor, p.waybill, filename=name, data=data, content_type=content_type,
                                      courier=p.courier)
            return services.parcel_report(uow, p.waybill, p.courier)["attachments"]

        try:
            attachments = await self.user.act(work)
        except DomainError as exc:
            _notify(problem_text(exc))
            return
        finally:
            self.upload.reset()
        if self.parcel is p:
            self._show_thumbs(attachments)
        ui.run_javascript("rmaIntake.focusScan()")

    async def _close_parcel(self) -> None:
        p = self.parcel
        if p is None:
            return
        report = await runtime.read(lambda uow: services.parcel_report(uow, p.waybill, p.courier))
        declared, scanned = report["declared"], report["scanned"]
        with ui.dialog() as dialog, ui.card().classes("w-[34rem] gap-4").props("data-testid=close-dialog"):
            ui.label(_("Close parcel {waybill}?").format(waybill=p.waybill)).classes("text-2xl font-semibold")
            ui.label(_("Declared {declared}, scanned {scanned}.").format(
                declared="—" if declared is None else declared, scanned=scanned)).classes("text-xl")
            if declared is not None and declared != scanned:
                self._discrepancy_line(declared, scanned)
            ui.label(_("Enter closes it, Esc goes back to scanning.")).classes("text-slate-500")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Back to scanning"), on_click=lambda: dialog.submit(False)).props(
                    "flat no-caps data-testid=close-cancel")
                ui.button(_("Close parcel"), icon="inventory", on_click=lambda: dialog.submit(True)).props(
                    "unelevated no-caps size=lg autofocus data-testid=close-confirm")
        confirmed = await dialog  # Esc or a click beside it: None
        dialog.delete()
        if not confirmed:
            ui.run_javascript("rmaIntake.focusScan()")
            return

        def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
            parcel = services.close_parcel(uow, actor, p.waybill, p.courier)
            return {"declared": parcel.declared_count, "scanned": parcel.scanned_count,
                    "discrepancy": parcel.discrepancy}

        try:
            closed = await self.user.act(work)
        except DomainError as exc:
            self._error_row(problem_text(exc), p.waybill)
            return
        await self._back_to_step1()
        with self.closed_box:
            colour = "border-amber-500 bg-amber-50" if closed["discrepancy"] else "border-green-600 bg-green-50"
            with ui.card().classes(f"w-full gap-2 border-2 {colour}").props("flat data-testid=closed-parcel"):
                ui.label(_("Parcel {waybill} closed: declared {declared}, scanned {scanned}.").format(
                    waybill=p.waybill, declared="—" if closed["declared"] is None else closed["declared"],
                    scanned=closed["scanned"])).classes("text-xl font-semibold")
                if closed["discrepancy"]:
                    self._discrepancy_line(closed["declared"], closed["scanned"])
                else:
                    ui.label(_("Its units went to the bench queue.")).classes("text-slate-700")
        self._show_result("warn" if closed["discrepancy"] else "ok",
                          _("Parcel {waybill} closed.").format(waybill=p.waybill))

    @staticmethod
    def _discrepancy_line(declared: int, scanned: int) -> None:
        if scanned < declared:
            text = _("SHORT delivery: {n} unit(s) missing").format(n=declared - scanned)
        else:
            text = _("OVER delivery: {n} unit(s) more than declared").format(n=scanned - declared)
        with ui.row().classes("items-center gap-2 bg-amber-500 text-white rounded px-3 py-2").props(
            "data-testid=discrepancy"
        ):
            ui.icon("warning", size="md")
            ui.label(text).classes("text-xl font-bold")

    async def _leave_parcel(self) -> None:
        if self.parcel is not None:
            await self._back_to_step1()

    async def _back_to_step1(self) -> None:
        self.parcel = None
        self.results.clear()
        self.step2.clear()
        self.label_status.clear()
        self.accessory_boxes.clear()
        self.closed_box.clear()
        data = await runtime.read(_station_data)
        self.reasons, self.customers = data["reasons"], data["customers"]
        self.reason.set_options(self.reasons, value=self.reason.value if self.reason.value in self.reasons else None)
        self._show_open_parcels(data["open_parcels"])
        self._show_step()
        ui.run_javascript("rmaIntake.focusScan()")

    def _show_open_parcels(self, parcels: list[dict[str, Any]]) -> None:
        self.open_box.clear()
        with self.open_box:
            def waybill_cell(p: dict[str, Any]):  # noqa: ANN202
                return lambda: ui.button(p["waybill"], on_click=lambda: self.enqueue(Scan(p["waybill"]))).props(
                    f"flat dense no-caps data-open-parcel={p['waybill']}").classes("font-mono text-lg")

            table([_("Waybill"), _("Courier"), _("Customer"), _("Declared"), _("Scanned"), _("Opened at")],
                  [[waybill_cell(p), p["courier"], " · ".join(x for x in (p["customer"], p["customer_name"]) if x),
                    p["declared"], p["scanned"], when(p["opened_at"])] for p in parcels],
                  empty=_("No open parcels."), testid="open-parcels")

    # ------------------------------------------------ step 2: the units
    async def _receive(self, serial: str, raw: str, model_code: str | None = None) -> None:
        p = self.parcel
        assert p is not None
        reason_code = self.reason.value or None
        reason_text = (self.reason_text.value or "").strip() or None

        def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
            parcel = services.find_parcel(uow, p.waybill, p.courier)
            result = services.receive_unit(uow, actor, parcel, serial, model_code=model_code,
                                           reason_code=reason_code, reason_text=reason_text)
            job = labelling.queue_unit_label(uow, actor, result.visit).id if result.created else None
            return {**_unit_facts(uow, result.visit), "created": result.created, "job": job}

        try:
            row = await self.user.act(work)
        except DomainError as exc:
            if exc.code in PICK_MODEL_CODES and model_code is None:
                if exc.code == "unknown_serial_format" and services.guess_courier(serial):
                    self._error_row(_("{scan} looks like a courier waybill, not a serial. To open another parcel, "
                                      "close or leave this one first.").format(scan=serial), raw)
                    return
                await self._pick_model(serial, raw, exc)
                return
            self._error_row(problem_text(exc), raw, tag=exc.params.get("tag") if exc.code == "unit_already_open"
                            else None)
            return
        if row["created"]:
            p.scanned += 1
            self._show_count()
            self._unit_row(row, again=False, label=_("Label queued…"))
            self.label_jobs[row["tag"]] = row["job"]
            self.prints.put_nowait((row["tag"], row["job"]))
            self._show_result("ok", _("{tag} · {serial} received").format(tag=row["tag"], serial=row["serial"]))
        else:
            self._unit_row(row, again=True, label=None)
            self._show_result("warn", _("Already scanned: {serial} is {tag}").format(serial=row["serial"],
                                                                                     tag=row["tag"]))

    async def _pick_model(self, serial: str, raw: str, problem: DomainError) -> None:
        choices = await runtime.read(_model_choices)
        candidates = [c.strip() for c in str(problem.params.get("models") or "").split(",") if c.strip()]
        options = {c: choices[c] for c in candidates if c in choices} or choices
        ui.run_javascript("rmaIntake.signal('warn')")
        with ui.dialog() as dialog, ui.card().classes("w-[34rem] gap-4").props(
            "data-testid=model-dialog"
        ) as card:
            ui.label(_("Which model is {serial}?").format(serial=serial)).classes("text-2xl font-semibold")
            ui.label(problem_text(problem)).classes("text-lg text-slate-700")
            model = ui.select(options, value=next(iter(options), None), label=_("Model")).props(
                "outlined autofocus data-testid=model-choice"
            ).classes("w-full")
            ui.label(_("↑/↓ choose, Enter confirms, Esc: do not receive it")).classes("text-slate-500")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(None)).props("flat no-caps")
                ui.button(_("Receive as this model"), on_click=lambda: dialog.submit(model.value)).props(
                    "unelevated no-caps data-testid=model-confirm")
        card.on("keydown.capture", lambda: dialog.submit(model.value), js_handler="""(e) => {
            if (e.key !== 'Enter' || e.ctrlKey || e.altKey || document.querySelector('.q-menu')) return;
            if (e.target.tagName === 'BUTTON') return;
            e.preventDefault(); e.stopPropagation(); emit();
        }""")
        chosen = await dialog
        dialog.delete()
        ui.run_javascript("rmaIntake.focusScan()")
        if not chosen:
            self._error_row(_("{serial} was not received: no model chosen. Scan it again to receive it.").format(
                serial=serial), raw)
            return
        await self._receive(serial, raw, model_code=chosen)

    # ------------------------------------------------ rows
    def _unit_row(self, row: dict[str, Any], *, again: bool, label: str | None) -> None:
        tag = row["tag"]
        border = "border-amber-500" if again else ("border-red-700" if row["interceptions"] else "border-green-600")
        with self.results:
            card = ui.card().classes(f"w-full gap-2 border-l-8 {border}").props(
                f"flat bordered data-testid=intake-row data-kind={'again' if again else 'unit'} "
                f"data-tag={tag} data-serial={row['serial']}"
            )
        card.move(target_index=0)
        with card, ui.row().classes("w-full items-start gap-4 no-wrap"):
            with ui.column().classes("grow gap-2"):
                with ui.row().classes("w-full items-center gap-x-6 gap-y-2"):
                    ui.link(tag, unit_url(tag)).classes("text-3xl font-mono font-bold text-blue-900").props(
                        "data-testid=row-tag")
                    ui.label(row["serial"]).classes("text-2xl font-mono").props("data-testid=row-serial")
                    with ui.column().classes("gap-0"):
                        ui.label(row["model"]).classes("text-xl font-semibold").props("data-testid=row-model")
                        ui.label(row.get("model_name") or "").classes("text-sm text-slate-500")
                    warranty_badge(row["warranty"], row["warranty_until"], large=True)
                    if row.get("repeat_of"):
                        repeat_badge(row["repeat_of"], large=True)
                if again:
                    ui.label(_("Already scanned in this parcel: same tag, no second visit.")).classes(
                        "text-lg font-semibold text-amber-800").props("data-testid=already-scanned")
                alert_lines(row["interceptions"])
                if row.get("reason_code"):
                    reason = self.reasons.get(row["reason_code"], row["reason_code"])
                    ui.label(_("Reason: {reason}").format(reason=reason)).classes("text-slate-600")
                self._accessories(tag, row.get("known_accessories") or [], row.get("accessories") or [])
            with ui.column().classes("items-end gap-2 shrink-0"):
                ui.button(_("Reprint"), icon="print", on_click=lambda: self._reprint(tag)).props(
                    "outline no-caps data-testid=reprint")
                status = ui.label(label or "").classes("text-base text-slate-600").props(
                    "data-testid=label-status data-status=" + ("queued" if label else "none"))
                status.set_visibility(bool(label))
                self.label_status[tag].append(status)

    def _accessories(self, tag: str, known: list[str], ticked: list[str]) -> None:
        if not known:
            return
        with ui.row().classes("items-center gap-3").props(f"data-accessories={tag}"):
            ui.label(_("Accessories:")).classes("text-base font-medium text-slate-700")
            for n, name in enumerate(known, start=1):
                with ui.element("label").classes(
                    "flex items-center gap-2 text-lg cursor-pointer rounded border border-slate-300 px-2 py-1"
                ):
                    box = ui.element("input").classes("rma-check")
                    box.props.update({"type": "checkbox", "value": name, "checked": name in ticked,
                                      "data-accessory": name})
                    box.on("change", lambda e, tag=tag: self._save_accessories(tag, list(e.args or [])),
                           js_handler=ACCESSORY_CHANGE_JS)
                    ui.label(f"{n}. {name}" if n <= 9 else name)
                self.accessory_boxes[tag].append((name, box))
            ui.button(_("All present"), icon="done_all",
                      on_click=lambda: self._save_accessories(tag, list(known))).props(
                "outline dense no-caps data-all-present data-testid=all-present")

    async def _save_accessories(self, tag: str, ticked: list[str]) -> None:
        async with self.accessory_lock:  # saves of one page land in the order they were made
            try:
                saved = await self.user.act(lambda uow, actor: services.record_accessories(uow, actor, tag, ticked))
            except DomainError as exc:
                _notify(problem_text(exc))
                saved = None
            boxes = self.accessory_boxes.get(tag, [])
            if saved is None:  # put the boxes back as they were saved
                saved = [name for name, box in boxes if box.props.get("checked")]
            script = []
            for name, box in boxes:
                box.props["checked"] = name in saved
                script.append(f"getHtmlElement({box.id}).checked = {'true' if name in saved else 'false'};")
                box.update()
            if script:
                ui.run_javascript("(() => { try { " + " ".join(script) + " } catch (e) {} })()")

    def _error_row(self, message: str, raw: str, *, tag: str | None = None) -> None:
        with self.results:
            card = ui.card().classes("w-full gap-1 border-l-8 border-red-700 bg-red-50").props(
                "flat bordered data-testid=intake-row data-kind=error"
            )
        card.move(target_index=0)
        with card:
            with ui.row().classes("items-center gap-3 no-wrap"):
                ui.icon("error", size="md").classes("text-red-700")
                ui.label(message).classes("text-xl font-semibold text-red-900").props("data-testid=row-error")
            if raw:
                with ui.row().classes("items-center gap-2"):
                    ui.label(_("Scanned:")).classes("text-slate-600")
                    ui.label(escaped(raw)).classes("font-mono text-lg text-slate-900 break-all").props(
                        "data-testid=row-scan")
            if tag:
                ui.link(_("Open {tag}").format(tag=tag), unit_url(tag)).classes("text-lg")
        self._show_result("error", message)
        _notify(message)

    # ------------------------------------------------ labels
    async def _print_work(self) -> None:
        while True:
            tag, job = await self.prints.get()
            try:
                if job is None:
                    job = await self.user.act(lambda uow, actor, tag=tag: labelling.reprint_unit_label(uow, actor, tag).id)
                    self.label_jobs[tag] = job
                self._set_label(tag, "printing", _("Printing…"))
                result = await run.io_bound(labelling.print_job, runtime.database(), job)
            except asyncio.CancelledError:
                raise
            except DomainError as exc:
                with self.root:
                    self._set_label(tag, "failed", _("Label failed: {reason}").format(reason=problem_text(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - the label stays queued; say so
                log.exception("intake: printing %s failed", tag)
                result = {"status": "failed", "error": str(exc)}
            with self.root:
                if result["status"] == "printed":
                    self._set_label(tag, "printed", _("Label printed"))
                else:
                    self._set_label(tag, "failed", _("Label failed: {reason}").format(reason=result["error"]))
                    _notify(_("The label of {tag} did not print: {reason}").format(
                        tag=tag, reason=result["error"]))

    def _set_label(self, tag: str, status: str, text: str) -> None:
        colours = {"printed": "text-green-800", "failed": "text-red-800 font-semibold", "printing": "text-slate-600"}
        for label in self.label_status.get(tag, []):
            label.set_text(text)
            label.classes(replace=f"text-base {colours.get(status, 'text-slate-600')}")
            label.props(f"data-status={status}")
            label.set_visibility(True)

    async def _reprint(self, tag: str) -> None:
        """A failed label is tried again as it is; a printed one is queued anew."""
        job = self.label_jobs.get(tag)
        statuses = {label.props.get("data-status") for label in self.label_status.get(tag, [])}
        retry = job is not None and "failed" in statuses
        self._set_label(tag, "queued", _("Label queued…"))
        self.prints.put_nowait((tag, job if retry else None))
        ui.run_javascript("rmaIntake.focusScan()")

    # ------------------------------------------------ a serial scanner on this station
    async def connect_scanner(self) -> None:
        settings = await run.io_bound(config.station_settings)
        scanner = station_scanner.station_scanner(settings.scanner)
        if scanner is None:
            return
        loop = asyncio.get_running_loop()
        client = ui.context.client
        self._show_scanner(scanner.connected, scanner.last_problem)

        def listener(report: Any) -> None:  # in the scanner's thread: hand over to the page's loop
            loop.call_soon_threadsafe(self._scanner_report, report)

        def subscribe() -> None:
            global _scanner_page
            if _scanner_page is not None and _scanner_page is not self:
                _scanner_page.release_scanner()  # one page at a time: a scan is received once
            _scanner_page = self
            if self.unsubscribe is None:
                self.unsubscribe = scanner.subscribe(listener)
            # the line may have come up before this page listened: show how it is now
            self._show_scanner(scanner.connected, scanner.last_problem)

        client.on_connect(subscribe)
        client.on_disconnect(lambda: self.release_scanner(taken=False))

    def release_scanner(self, taken: bool = True) -> None:
        """Stop listening to the station's scanner (this tab went away, or another intake tab took it)."""
        global _scanner_page
        if self.unsubscribe is not None:
            self.unsubscribe()
            self.unsubscribe = None
        if _scanner_page is self:
            _scanner_page = None
        if taken:
            self.scanner_chip.set_text(_("Scanner in use by another intake page; reload to take it back"))
            self.scanner_chip.classes(replace="rounded-full px-3 py-1 text-sm font-medium bg-amber-100 text-amber-900")
            self.scanner_chip.props("data-connected=elsewhere")

    def _scanner_report(self, report: Any) -> None:
        with self.root:
            if isinstance(report, ScanResult):
                raw = report.raw.decode("latin-1")
                self.enqueue(Scan(report.value) if report.ok else BadScan(report.error, raw))
            elif isinstance(report, (ScannerConnected, ScannerReconnected)):
                self._show_scanner(True, None)
            elif isinstance(report, ScannerDisconnected):
                self._show_scanner(False, report.reason)
                _notify(_("Scanner disconnected: {reason}").format(reason=report.reason))

    def _show_scanner(self, connected: bool, problem: str | None) -> None:
        if connected:
            text, colour = _("Scanner connected"), "bg-green-100 text-green-900"
        elif problem:
            text, colour = _("Scanner disconnected ({reason})").format(reason=problem), "bg-red-100 text-red-900"
        else:
            text, colour = _("Scanner connecting…"), "bg-slate-100 text-slate-700"
        self.scanner_chip.set_text(text)
        self.scanner_chip.classes(replace=f"rounded-full px-3 py-1 text-sm font-medium {colour}")
        self.scanner_chip.props(f"data-connected={'yes' if connected else 'no'}")
        self.scanner_chip.set_visibility(True)


async def intake_station(user: SessionUser, parcel: str | None = None) -> None:
    data = await runtime.read(_station_data)
    station = IntakeStation(user, data)
    station.build(data["open_parcels"])
    await station.connect_scanner()
    station.start(parcel)
