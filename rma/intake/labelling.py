"""Labels of visits and parcels: a print queue in the database, rendered by ``labels``.

A label is first queued (in the same transaction as the visit it belongs to), then sent
to the station's printer after the commit. A printer that is off leaves the job queued
as ``failed`` with the reason; ``rma label queue --retry`` or the unit page prints it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from rma import config
from rma.core.models import Role, User, Visit
from rma.core.services import find_visit, get_actor, require_role
from rma.db import Database, UnitOfWork
from rma.errors import DomainError
from rma.intake.models import (
    Direction,
    IntakeRecord,
    LabelJob,
    LabelStatus,
    Parcel,
    ParcelItem,
    VisitAlert,
)

ANY_WORKER = (Role.CLERK, Role.TECHNICIAN, Role.LEAD, Role.TESTER, Role.MATERIALS, Role.SUPERVISOR)
DEFAULT_PRINTER = {"kind": "folder", "format": "png", "dpi": 203}


def unit_label_fields(uow: UnitOfWork, visit: Visit) -> dict[str, Any]:
    rec = uow.session.get(IntakeRecord, visit.id)
    intercepted = uow.session.scalar(select(VisitAlert.id).where(VisitAlert.visit_id == visit.id).limit(1)) is not None
    return {
        "tag": visit.tag, "serial": visit.unit.serial, "model": visit.unit.model.code,
        "model_name": visit.unit.model.name, "received": visit.opened_at.astimezone().date().isoformat(),
        "warranty": rec.warranty.value if rec else "unknown",
        "warranty_until": rec.warranty_until.isoformat() if rec and rec.warranty_until else "",
        "intercepted": intercepted, "repeat": bool(rec and rec.repeat_of_id),
    }


#: The label of a parcel by its direction: a received one names its sender and the count the
#: sender declared against the one scanned; a sent one names the customer it goes to.
PARCEL_TEMPLATES = {Direction.INBOUND: "parcel", Direction.OUTBOUND: "parcel_out"}


def parcel_label_fields(parcel: Parcel, units: int) -> dict[str, Any]:
    """The fields of the parcel's template (``PARCEL_TEMPLATES``): a received parcel reads
    "from its customer, declared / scanned"; a sent one "to its customer, from this station"."""
    customer = parcel.customer
    common = {"waybill": parcel.waybill, "courier": parcel.courier, "count": units,
              "date": parcel.opened_at.astimezone().date().isoformat(), "direction": parcel.direction.value,
              "customer": customer.code if customer else ""}
    if parcel.direction is Direction.OUTBOUND:
        return {**common, "recipient": (customer.name or customer.code) if customer else "",
                "contact": (customer.contact or "") if customer else "", "sender": config.station_settings().name}
    declared = parcel.declared_count if parcel.declared_count is not None else units
    return {**common, "customer_name": customer.name if customer else "",
            "sender": (customer.name or customer.code) if customer else "",
            "declared": declared, "scanned": units, "mismatch": declared != units}


def _queue(uow: UnitOfWork, actor: User, template: str, fields: dict[str, Any], *,
           visit: Visit | None = None, parcel: Parcel | None = None) -> LabelJob:
    job = LabelJob(template=template, visit_id=visit.id if visit else None, parcel_id=parcel.id if parcel else None,
                   fields=fields, station=config.station_settings().name, status=LabelStatus.QUEUED, attempts=0,
                   requested_by_id=actor.id, requested_at=uow.now())
    uow.session.add(job)
    uow.session.flush()
    return job


def queue_unit_label(uow: UnitOfWork, actor: User, visit: Visit) -> LabelJob:
    return _queue(uow, actor, "unit_tag", unit_label_fields(uow, visit), visit=visit)


def queue_parcel_label(uow: UnitOfWork, actor: User, parcel: Parcel) -> LabelJob:
    """The parcel's label with the units in it so far: sent ones are its items, received ones hang on their visits."""
    counted = ParcelItem if parcel.direction is Direction.OUTBOUND else IntakeRecord
    n = uow.session.scalar(select(func.count()).select_from(counted).where(counted.parcel_id == parcel.id)) or 0
    return _queue(uow, actor, PARCEL_TEMPLATES[parcel.direction], parcel_label_fields(parcel, n), parcel=parcel)


def reprint_unit_label(uow: UnitOfWork, actor: User, tag: str) -> LabelJob:
    require_role(actor, *ANY_WORKER, action="print labels")
    return queue_unit_label(uow, actor, find_visit(uow, tag))


def printer_settings() -> dict[str, Any]:
    """This station's ``[printer]`` table (see ``labels.printer_from_settings``); without one,
    PNG files in ``$RMA_HOME/printed-labels``."""
    settings = dict(config.station_settings().printer or DEFAULT_PRINTER)
    if settings.get("kind") == "folder" and not settings.get("path"):
        settings["path"] = str(config.rma_home() / "printed-labels")
    return settings


_printer_settings = printer_settings  # print_job's name for it


def _render(template: str, fields: dict[str, Any], dpi: int):  # noqa: ANN202
    from labels import LabelError, render

    try:
        return render(template, fields, dpi)
    except LabelError as exc:
        raise DomainError("label_error", "the label cannot be made: {reason}", reason=exc.message) from None


def render_unit_label(uow: UnitOfWork, tag: str, *, dpi: int = 203, fmt: str = "png") -> bytes:
    from labels import to_pdf, to_png, to_zpl

    image = _render("unit_tag", unit_label_fields(uow, find_visit(uow, tag)), dpi)
    return {"png": lambda: to_png(image), "pdf": lambda: to_pdf([image]), "zpl": lambda: to_zpl(image)}[fmt]()


def render_unit_sheet(uow: UnitOfWork, tags: list[str], *, dpi: int = 300) -> bytes:
    """Many unit labels on A4 pages, for an office printer and sticker sheets."""
    from labels import to_pdf

    images = [_render("unit_tag", unit_label_fields(uow, find_visit(uow, t)), dpi) for t in tags]
    return to_pdf(images, sheet="a4")


# What happened to a label, said to the worker (the templates are translation keys).
SAVED = "Label saved to {file}"
SENT = "Label sent to printer {printer}"
SENT_CUPS = "Label sent to CUPS queue {queue}"
QUEUED = "Label not printed, still queued: {reason}. Press Reprint, or run rma label queue --retry."
OUTCOME_TEMPLATES = (SAVED, SENT, SENT_CUPS, QUEUED)


def print_job(db: Database, job_id: int) -> dict[str, Any]:
    """Send one queued label to this station's printer; record what happened. Never raises for a printer.

    The result says where the label went: ``outcome`` is ``saved`` (a file in a folder: ``file``),
    ``sent`` (to a printer: ``printer``, and ``queue`` for CUPS) or ``queued`` (not printed:
    ``error``; it stays in the queue). ``status`` is ``printed`` or ``failed``, as the queue has it.
    """
    from labels import PrinterError, printer_from_settings

    jobs = LabelJob.__table__
    with db.uow(readonly=True) as uow:  # plain reads and one UPDATE: a label per scan stays cheap
        template, fields = uow.session.execute(
            select(jobs.c.template, jobs.c.fields).where(jobs.c.id == job_id)).one()
        fields = dict(fields)
    settings = _printer_settings()
    error, printer, receipts = None, None, []
    try:
        image = _render(template, fields, int(settings.get("dpi", 203)))
        printer = printer_from_settings(settings)
        receipts = printer.print_labels([image], job_name=f"{template}-{fields.get('tag') or fields.get('waybill')}-{job_id}")
    except PrinterError as exc:
        error = exc.message
    except DomainError as exc:
        error = exc.message
    with db.uow() as uow:
        done = ({"status": LabelStatus.PRINTED, "printed_at": uow.now(), "last_error": None} if error is None
                else {"status": LabelStatus.FAILED, "last_error": error})
        uow.session.execute(update(jobs).where(jobs.c.id == job_id).values(attempts=jobs.c.attempts + 1, **done))
    result: dict[str, Any] = {"job": job_id, "status": "printed" if error is None else "failed", "error": error,
                              "printer": printer.where if printer is not None else None}
    if error is not None:
        result["outcome"] = "queued"
    elif settings.get("kind") == "folder":
        result.update(outcome="saved", file=receipts[0] if receipts else None)
    else:
        result.update(outcome="sent", queue=settings.get("queue") if settings.get("kind") == "cups" else None)
    return result


def outcome_text(result: dict[str, Any], tr: Callable[[str], str] = lambda text: text) -> str:
    """What happened to a label, as a sentence: saved to a file, sent to a printer, or still queued.

    ``tr`` translates the template (the pages give ``_``; the CLI speaks English).
    """
    if result.get("outcome") == "saved":
        return tr(SAVED).format(file=result.get("file") or "?")
    if result.get("outcome") == "sent":
        if result.get("queue"):
            return tr(SENT_CUPS).format(queue=result["queue"])
        return tr(SENT).format(printer=result.get("printer") or "?")
    return tr(QUEUED).format(reason=result.get("error") or "?")


def pending_jobs(uow: UnitOfWork) -> list[dict[str, Any]]:
    jobs = uow.session.scalars(select(LabelJob).where(LabelJob.status != LabelStatus.PRINTED).order_by(LabelJob.id))
    return [{"job": j.id, "template": j.template, "subject": j.fields.get("tag") or j.fields.get("waybill"),
             "status": j.status.value, "attempts": j.attempts, "error": j.last_error,
             "requested_at": j.requested_at.isoformat()} for j in jobs]


def retry_pending(db: Database, actor_name: str | None) -> list[dict[str, Any]]:
    """Print every waiting label again: as an active worker (a disabled or unknown user prints nothing)."""
    with db.uow(readonly=True) as uow:
        require_role(get_actor(uow, actor_name), *ANY_WORKER, action="print labels")
        ids = [j["job"] for j in pending_jobs(uow)]
    return [print_job(db, i) for i in ids]
