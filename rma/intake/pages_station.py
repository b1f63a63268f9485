"""The intake station (``/intake``): a courier parcel comes in, each unit is scanned, labelled, checked.

The clerk works from the scanner and the keyboard alone:

1. scan the waybill: an open parcel with it carries on; a new one asks courier (guessed),
   sender, declared count and cost, and Enter opens it;
2. scan each serial: the unit is received and its label printed; a row at the top shows the
   tag, model, warranty, a repeat return, interception alerts and the accessories checklist;
   a serial no model knows asks which model, and must be scanned a second time first;
3. close the parcel (Ctrl+Enter, the button, or the waybill scanned again): declared against
   scanned, a short or over delivery is said out loud.

Every scan, typed into the scan field or read by the station's serial scanner, goes into one
queue per page and is handled strictly in order (``rma.ui.scan_queue``). Labels print from a
second queue, in order, so a slow printer never holds up scanning. The parts are in
``rma.intake.widgets``; this module puts them together and walks the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, clean_scan
from drivers.scanner import ScanResult
from rma.core import catalogue
from rma.core.services import normalise_key
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import labelling, services
from rma.intake.station_reads import (
    open_parcels_matching,
    parcel_view,
    station_data,
    unit_facts,
)
from rma.intake.widgets.keyboard import INTAKE_HEAD, focus_scan
from rma.intake.widgets.label_status import LabelQueue
from rma.intake.widgets.model_picker import pick_model
from rma.intake.widgets.open_parcels import open_parcels_table
from rma.intake.widgets.parcel_close import closed_card, confirm_close
from rma.intake.widgets.parcel_form import OpenParcel, ParcelForm
from rma.intake.widgets.parcel_header import ParcelHeader
from rma.intake.widgets.scan_area import ScanArea
from rma.intake.widgets.unit_row import UnitRows
from rma.ui import runtime
from rma.ui.banner import notify_aside
from rma.ui.frame import SessionUser
from rma.ui.scan_queue import ScanQueue
from rma.ui.widgets import section_title

PICK_MODEL_CODES = frozenset({"unknown_serial_format", "model_ambiguous"})


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


# ---------------------------------------------------------------- the page

class IntakeStation:
    """One browser tab's intake station: its queue, its open parcel, its rows."""

    def __init__(self, user: SessionUser, data: dict[str, Any]) -> None:
        self.user = user
        self.reasons: dict[str, str] = data["reasons"]
        self.customers: dict[str, str] = data["customers"]
        self.parcel: OpenParcel | None = None
        self.header: ParcelHeader | None = None

    # ------------------------------------------------ layout
    def build(self, open_parcels: list[dict[str, Any]]) -> None:
        ui.add_head_html(INTAKE_HEAD)
        self.root = ui.column().classes("w-full gap-4")
        with self.root:
            self.step2 = ui.column().classes("w-full gap-3")
            self.step2.set_visibility(False)
            self.area = ScanArea(self.root, self.reasons, on_scan=self._scanned, on_serial_scan=self._serial_scan,
                                 stray_scan=self._stray_scan)
            self.result, self.reason, self.scanner = self.area.result, self.area.reason, self.area.scanner
            self.step1 = ui.column().classes("w-full gap-4")
            with self.step1:
                self.form = ParcelForm(ui.column().classes("w-full"), self.user, self._stray_scan)
                self.closed_box = ui.column().classes("w-full")
                section_title(_("Open parcels"))
                self.open_box = ui.column().classes("w-full")
            self.labels = LabelQueue(self.user, self.root)
            self.rows = UnitRows(self.user, self.labels, lambda: self.reasons)
        self.queue: ScanQueue[QueueItem] = ScanQueue(self.root, self.area.pending, self._handle, self._failed,
                                                     name="intake-scans")
        self._show_open_parcels(open_parcels)
        self._show_step()

    def _show_step(self) -> None:
        self.step1.set_visibility(self.parcel is None)
        self.step2.set_visibility(self.parcel is not None)
        self.area.step(self.parcel is not None)

    def _error(self, message: str, raw: str, *, tag: str | None = None) -> None:
        self.rows.error(message, raw, tag=tag)
        self.result.show("error", message)
        notify_aside(message)

    # ------------------------------------------------ the queue
    def start(self, first_waybill: str | None) -> None:
        client = ui.context.client
        tasks = [self.queue.start(), self.labels.start()]

        def stop() -> None:
            for task in tasks:
                task.cancel()
            self.scanner.release(taken=False)

        client.on_delete(stop)
        if first_waybill:
            self.queue.put(Scan(first_waybill))

    def _stray_scan(self, text: str) -> None:
        """Typed into a choice where it matches nothing: most likely a scan, so it is one."""
        self.queue.put(Scan(text))
        focus_scan()

    def _scanned(self, e) -> None:  # noqa: ANN001
        self.queue.put(Scan(e.args if isinstance(e.args, str) else str(e.args or "")))

    def _serial_scan(self, report: ScanResult) -> None:
        raw = report.raw.decode("latin-1")
        self.queue.put(Scan(report.value) if report.ok else BadScan(report.error, raw))

    def _failed(self, item: QueueItem, message: str) -> None:
        self._error(message, item.raw if isinstance(item, Scan | BadScan) else "")

    async def _handle(self, item: QueueItem) -> None:
        if isinstance(item, CloseParcel):
            await self._close_parcel()
            return
        if isinstance(item, LeaveParcel):
            if self.parcel is not None:
                await self._back_to_step1()
            return
        if isinstance(item, BadScan):
            self._error(error_message(item.error), item.raw)
            return
        try:
            text = clean_scan(item.raw)
        except ScanError as exc:
            self._error(error_message(exc), item.raw)
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
            self._error(error_message(exc), raw)
            return
        found = await runtime.read(lambda uow: open_parcels_matching(uow, waybill))
        if found["open"]:
            await self._enter_parcel(OpenParcel.from_report(found["open"][0]))
            return
        self.closed_box.clear()
        parcel = await self.form.ask(waybill, found["courier"], self.customers)
        if parcel is not None:
            await self._enter_parcel(parcel)

    async def _enter_parcel(self, parcel: OpenParcel) -> None:
        view = await runtime.read(lambda uow: parcel_view(uow, parcel.waybill, parcel.courier))
        parcel.scanned = len(view["rows"])
        self.parcel = parcel
        self.closed_box.clear()
        self.rows.clear()
        self.header = ParcelHeader(self.step2, self.user, parcel, view["attachments"],
                                   on_close=lambda: self.queue.put(CloseParcel()),
                                   on_leave=lambda: self.queue.put(LeaveParcel()))
        for row in view["rows"]:
            self.rows.unit(row, again=False, label=None)
        self._show_step()
        self.result.show("ok", _("Parcel {waybill} open: scan the serials.").format(waybill=parcel.waybill))

    async def _close_parcel(self) -> None:
        p = self.parcel
        if p is None:
            return
        report = await runtime.read(lambda uow: services.parcel_report(uow, p.waybill, p.courier))
        if not await confirm_close(p.waybill, report["declared"], report["scanned"]):
            focus_scan()
            return

        def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
            parcel = services.close_parcel(uow, actor, p.waybill, p.courier)
            return {"declared": parcel.declared_count, "scanned": parcel.scanned_count,
                    "discrepancy": parcel.discrepancy}

        try:
            closed = await self.user.act(work)
        except DomainError as exc:
            self._error(error_message(exc), p.waybill)
            return
        await self._back_to_step1()
        with self.closed_box:
            closed_card(p.waybill, closed)
        self.result.show("warn" if closed["discrepancy"] else "ok",
                         _("Parcel {waybill} closed.").format(waybill=p.waybill))

    async def _back_to_step1(self) -> None:
        self.parcel = self.header = None
        self.rows.clear()
        self.step2.clear()
        self.closed_box.clear()
        data = await runtime.read(station_data)
        self.reasons, self.customers = data["reasons"], data["customers"]
        self.reason.set_choices(self.reasons)
        self._show_open_parcels(data["open_parcels"])
        self._show_step()
        focus_scan()

    def _show_open_parcels(self, parcels: list[dict[str, Any]]) -> None:
        self.open_box.clear()
        with self.open_box:
            open_parcels_table(parcels, lambda waybill: self.queue.put(Scan(waybill)))

    # ------------------------------------------------ step 2: the units
    async def _receive(self, serial: str, raw: str, model_code: str | None = None) -> None:
        p = self.parcel
        assert p is not None
        reason_code, reason_text = self.reason.current()

        def work(uow: UnitOfWork, actor: Any) -> dict[str, Any]:
            parcel = services.find_parcel(uow, p.waybill, p.courier)
            result = services.receive_unit(uow, actor, parcel, serial, model_code=model_code,
                                           reason_code=reason_code, reason_text=reason_text)
            job = labelling.queue_unit_label(uow, actor, result.visit).id if result.created else None
            return {**unit_facts(uow, result.visit, result), "created": result.created, "job": job}

        try:
            row = await self.user.act(work)
        except DomainError as exc:
            if exc.code in PICK_MODEL_CODES and model_code is None:
                if exc.code == "unknown_serial_format" and services.guess_courier(serial):
                    self._error(_("{scan} looks like a courier waybill, not a serial. To open another parcel, "
                                  "close or leave this one first.").format(scan=serial), raw)
                    return
                await self._pick_model(serial, raw, exc)
                return
            self._error(error_message(exc), raw, tag=exc.params.get("tag") if exc.code == "unit_already_open" else None)
            return
        if row["created"]:
            p.scanned += 1
            if self.header is not None:
                self.header.count()
            self.rows.unit(row, again=False, label=_("Label queued…"))
            self.labels.put(row["tag"], row["job"])
            self.result.show("ok", _("{tag} · {serial} received").format(tag=row["tag"], serial=row["serial"]))
        else:
            self.rows.unit(row, again=True, label=None)
            self.result.show("warn", _("Already scanned: {serial} is {tag}").format(serial=row["serial"],
                                                                                   tag=row["tag"]))

    async def _pick_model(self, serial: str, raw: str, problem: DomainError) -> None:
        serial = normalise_key(serial)
        guesses = await runtime.read(lambda uow: catalogue.closest_models(uow, serial))
        picked = await pick_model(serial, error_message(problem), guesses,
                                  confirm=problem.code == "unknown_serial_format")
        focus_scan()
        if picked.second_scan is not None:
            self._error(_("The second scan does not match {serial}: not received. Check the label and scan "
                          "the serial again.").format(serial=serial), picked.second_scan)
            return
        if not picked.model:
            self._error(_("{serial} was not received: no model chosen. Scan it again to receive it.").format(
                serial=serial), raw)
            return
        await self._receive(serial, raw, model_code=picked.model)


async def intake_station(user: SessionUser, parcel: str | None = None) -> None:
    data = await runtime.read(station_data)
    station = IntakeStation(user, data)
    station.build(data["open_parcels"])
    await station.scanner.connect()
    station.start(parcel)
