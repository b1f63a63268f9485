"""The logistics clerk's use cases: parcels in and out, receiving units, interceptions,
reason codes, the returns ledger and courier costs."""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from rma import config
from rma.core import catalogue, settings
from rma.core.ledger import record_audit, record_visit_event
from rma.core.models import Customer, ProductModel, Role, Unit, User, Visit
from rma.core.parse import (
    FREE_TEXT_LIMIT,
    check_limit,
    clean_key,
    clean_text,
    parse_month,
)
from rma.core.services import (
    find_unit,
    find_visit,
    normalise_key,
    open_visit,
    open_visit_of,
    require_role,
    transition,
    usable_key,
)
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.intake.models import (
    Direction,
    IntakeRecord,
    Interception,
    InterceptionKind,
    Parcel,
    ParcelAttachment,
    ParcelItem,
    ReasonCode,
    VisitAlert,
    Warranty,
)

SERIAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9./_-]{3,63}$")
WAYBILL_RE = re.compile(r"^[A-Z0-9-]{6,40}$")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
RECEIVERS = (Role.CLERK,)


# ---------------------------------------------------------------- small rules

def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def decide_warranty(
    *, sold_on: date | None, manufactured_on: date | None, months: int, received_on: date,
) -> tuple[Warranty, date | None, str | None]:
    """In, out or unknown: from the sale/ship date, else the manufacture date, plus the term."""
    if sold_on is not None:
        basis, start = "sold", sold_on
    elif manufactured_on is not None:
        basis, start = "manufactured", manufactured_on
    else:
        return Warranty.UNKNOWN, None, None
    until = add_months(start, months)
    return (Warranty.IN if received_on <= until else Warranty.OUT), until, basis


def clean_serial(raw: str) -> str:
    serial = normalise_key(raw)
    if not SERIAL_RE.match(serial):
        raise DomainError("bad_serial", "{serial!r} is not a serial number (4-64 characters: A-Z, 0-9, . / _ -)",
                          serial=(raw or "")[:40])
    return serial


def clean_waybill(raw: str) -> str:
    waybill = normalise_key(raw)
    if not WAYBILL_RE.match(waybill):
        raise DomainError("bad_waybill", "{waybill!r} is not a waybill number (6-40 characters: A-Z, 0-9, -)",
                          waybill=(raw or "")[:40])
    return waybill


def clean_courier(raw: str) -> str:
    courier = (raw or "").strip()
    if not courier:
        raise DomainError("bad_courier", "name the courier (e.g. SF, ZTO, JD, EMS)")
    courier = clean_text(courier, "courier", column=Parcel.courier)
    return courier.upper() if courier.isascii() else courier


def parse_cost(raw: str | Decimal | float | None) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        cost = Decimal(str(raw).strip())
        if not cost.is_finite():  # NaN, inf: Decimal reads them, no courier bills them
            raise InvalidOperation
        cost = cost.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError("bad_cost", "{cost!r} is not an amount of money", cost=str(raw)[:40]) from None
    if cost < 0 or cost > Decimal("99999999"):
        raise DomainError("bad_cost", "{cost!r} is not an amount of money", cost=str(raw)[:40])
    return cost


# ---------------------------------------------------------------- reason codes

def add_reason(uow: UnitOfWork, actor: User, code: str, text: str) -> ReasonCode:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN, Role.LEAD, action="add reason codes")
    code = catalogue._code(code, "reason")
    if not (text or "").strip():
        raise DomainError("text_required", "a reason code needs a text")
    text = clean_text(text, "reason text", column=ReasonCode.text)
    if uow.session.scalar(select(ReasonCode.id).where(ReasonCode.code == code)):
        raise DomainError("reason_exists", "reason code {code} already exists", code=code)
    reason = ReasonCode(code=code, text=text.strip(), active=True)
    uow.session.add(reason)
    uow.session.flush()
    record_audit(uow, actor, "reason_added", code, {"text": reason.text})
    return reason


def list_reasons(uow: UnitOfWork) -> list[ReasonCode]:
    return list(uow.session.scalars(select(ReasonCode).where(ReasonCode.active).order_by(ReasonCode.code)))


def get_reason(uow: UnitOfWork, code: str) -> ReasonCode:
    key = normalise_key(code)
    reason = uow.session.scalar(select(ReasonCode).where(ReasonCode.code == key)) if usable_key(key) else None
    if reason is None or not reason.active:
        raise DomainError("unknown_reason", "no reason code {code}", code=(code or "")[:40])
    return reason


# ---------------------------------------------------------------- interceptions

def add_interception(
    uow: UnitOfWork, actor: User, *, model_code: str, action: str,
    serial_from: str | None = None, serial_to: str | None = None,
    made_from: date | None = None, made_to: date | None = None, firmware: str | None = None,
) -> Interception:
    """An interception plan (拦截计划) on one model: a serial range, a manufacture-date range or a firmware."""
    require_role(actor, Role.SUPERVISOR, Role.LEAD, action="add interception plans")
    model = catalogue.get_model(uow, model_code)
    kinds = [k for k, given in ((InterceptionKind.SERIAL_RANGE, serial_from or serial_to),
                                (InterceptionKind.MADE_RANGE, made_from or made_to),
                                (InterceptionKind.FIRMWARE, firmware)) if given]
    if len(kinds) != 1:
        raise DomainError("bad_interception", "an interception needs exactly one of: a serial range, "
                          "a manufacture-date range, a firmware version")
    if not (action or "").strip():
        raise DomainError("bad_interception", "an interception needs the action to take")
    action = clean_text(action, "action", column=Interception.action, multiline=True)
    firmware = clean_text(firmware, "firmware", column=Interception.firmware)
    kind = kinds[0]
    if kind is InterceptionKind.SERIAL_RANGE:
        if not (serial_from and serial_to):
            raise DomainError("bad_interception", "a serial range needs both ends")
        serial_from, serial_to = clean_serial(serial_from), clean_serial(serial_to)
        if serial_from > serial_to:
            raise DomainError("bad_interception", "the serial range runs backwards: {a} > {b}", a=serial_from, b=serial_to)
    if kind is InterceptionKind.MADE_RANGE:
        if not (made_from and made_to) or made_from > made_to:
            raise DomainError("bad_interception", "a manufacture-date range needs both ends, in order")
    plan = Interception(model=model, kind=kind, serial_from=serial_from, serial_to=serial_to,
                        made_from=made_from, made_to=made_to, firmware=firmware,
                        action=action, active=True, created_by_id=actor.id, created_at=uow.now())
    uow.session.add(plan)
    uow.session.flush()
    record_audit(uow, actor, "interception_added", f"{model.code}#{plan.id}", interception_dict(plan))
    return plan


def list_interceptions(uow: UnitOfWork, *, active_only: bool = True) -> list[Interception]:
    q = select(Interception).order_by(Interception.id)
    if active_only:
        q = q.where(Interception.active)
    return list(uow.session.scalars(q))


def interception_dict(p: Interception) -> dict[str, Any]:
    return {
        "id": p.id, "model": p.model.code, "kind": p.kind.value,
        "serial_from": p.serial_from, "serial_to": p.serial_to,
        "made_from": p.made_from.isoformat() if p.made_from else None,
        "made_to": p.made_to.isoformat() if p.made_to else None,
        "firmware": p.firmware, "action": p.action, "active": p.active,
    }


def matching_interceptions(uow: UnitOfWork, unit: Unit) -> list[Interception]:
    plans = uow.session.scalars(select(Interception).where(Interception.active, Interception.model_id == unit.model_id))
    hits = []
    for p in plans:
        if p.kind is InterceptionKind.SERIAL_RANGE:
            hit = len(unit.serial) == len(p.serial_from) and p.serial_from <= unit.serial <= p.serial_to
        elif p.kind is InterceptionKind.MADE_RANGE:
            hit = unit.manufactured_on is not None and p.made_from <= unit.manufactured_on <= p.made_to
        else:
            hit = unit.firmware_version is not None and unit.firmware_version == p.firmware
        if hit:
            hits.append(p)
    return hits


# ---------------------------------------------------------------- parcels in

def find_parcel(uow: UnitOfWork, waybill: str, courier: str | None = None) -> Parcel:
    waybill = normalise_key(waybill)
    if not usable_key(waybill):
        raise DomainError("unknown_parcel", "no parcel with waybill {waybill}", waybill=waybill[:40])
    q = select(Parcel).where(Parcel.waybill == waybill)
    if courier:
        q = q.where(Parcel.courier == clean_courier(courier))
    parcels = list(uow.session.scalars(q))
    if not parcels:
        raise DomainError("unknown_parcel", "no parcel with waybill {waybill}", waybill=waybill)
    if len(parcels) > 1:
        raise DomainError("ambiguous_waybill", "waybill {waybill} exists with several couriers ({couriers}); name the courier",
                          waybill=waybill, couriers=", ".join(p.courier for p in parcels))
    return parcels[0]


def receive_parcel(
    uow: UnitOfWork, actor: User, *, courier: str, waybill: str, customer_code: str,
    declared: int | None = None, cost: str | Decimal | None = None,
) -> tuple[Parcel, bool]:
    """Open an inbound parcel from its waybill, or carry on with it (same sender, still open)."""
    require_role(actor, *RECEIVERS, action="receive parcels")
    courier, waybill = clean_courier(courier), clean_waybill(waybill)
    customer = catalogue.get_customer(uow, customer_code)
    if declared is not None and (isinstance(declared, bool) or not 0 <= int(declared) <= 10000):
        raise DomainError("bad_count", "declared count {n} is not a number of units", n=declared)
    parcel = uow.session.scalar(select(Parcel).where(Parcel.courier == courier, Parcel.waybill == waybill))
    if parcel is not None:
        if parcel.direction is not Direction.INBOUND:
            raise DomainError("waybill_outbound", "waybill {waybill} is one of our outbound parcels", waybill=waybill)
        if parcel.customer_id != customer.id:
            raise DomainError(
                "waybill_other_sender", "waybill {waybill} was already received from {other}, not {this}",
                waybill=waybill, other=parcel.customer.code if parcel.customer else "?", this=customer.code)
        if parcel.closed_at is not None:
            raise DomainError("parcel_closed", "parcel {waybill} was closed on {when}", waybill=waybill,
                              when=parcel.closed_at.strftime("%Y-%m-%d %H:%M"))
        return parcel, False
    parcel = Parcel(direction=Direction.INBOUND, courier=courier, waybill=waybill, customer=customer,
                    declared_count=None if declared is None else int(declared), cost=parse_cost(cost),
                    opened_by_id=actor.id, opened_at=uow.now())
    uow.session.add(parcel)
    try:
        uow.session.flush()
    except IntegrityError:
        raise DomainError("concurrent_change", "waybill {waybill} was just opened by someone else; scan it again",
                          waybill=waybill) from None
    record_audit(uow, actor, "parcel_received", f"{courier} {waybill}",
                 {"customer": customer.code, "declared": parcel.declared_count, "cost": str(parcel.cost) if parcel.cost is not None else None})
    return parcel, True


def parcel_visits(uow: UnitOfWork, parcel: Parcel) -> list[Visit]:
    return list(uow.session.scalars(
        select(Visit).join(IntakeRecord, IntakeRecord.visit_id == Visit.id)
        .where(IntakeRecord.parcel_id == parcel.id).order_by(Visit.id)))


def close_parcel(uow: UnitOfWork, actor: User, waybill: str, courier: str | None = None) -> Parcel:
    """Declared against scanned; a short or over delivery is recorded; its units go to the bench queue."""
    require_role(actor, *RECEIVERS, action="close parcels")
    parcel = find_parcel(uow, waybill, courier)
    if parcel.direction is not Direction.INBOUND:
        raise DomainError("waybill_outbound", "waybill {waybill} is one of our outbound parcels", waybill=parcel.waybill)
    if parcel.closed_at is not None:
        raise DomainError("parcel_closed", "parcel {waybill} was closed on {when}", waybill=parcel.waybill,
                          when=parcel.closed_at.strftime("%Y-%m-%d %H:%M"))
    visits = parcel_visits(uow, parcel)
    parcel.scanned_count = len(visits)
    if parcel.declared_count is not None and parcel.declared_count != len(visits):
        parcel.discrepancy = "short" if len(visits) < parcel.declared_count else "over"
    parcel.closed_at, parcel.closed_by_id = uow.now(), actor.id
    for visit in visits:
        if visit.state is VisitState.RECEIVED:
            transition(uow, actor, visit, VisitState.AWAITING_BENCH, event="to_bench",
                       details={"parcel": parcel.waybill})
    record_audit(uow, actor, "parcel_closed", f"{parcel.courier} {parcel.waybill}",
                 {"declared": parcel.declared_count, "scanned": parcel.scanned_count, "discrepancy": parcel.discrepancy})
    return parcel


def attach_to_parcel(
    uow: UnitOfWork, actor: User, waybill: str, *, filename: str, data: bytes,
    content_type: str | None = None, courier: str | None = None,
) -> ParcelAttachment:
    """Keep a photo or scan of the waybill under RMA_HOME, named by its SHA-256, with a thumbnail."""
    require_role(actor, *RECEIVERS, action="attach waybill images")
    filename = clean_text(filename, "file name", limit=1000) or "waybill"
    content_type = clean_text(content_type, "content type", column=ParcelAttachment.content_type)
    parcel = find_parcel(uow, waybill, courier)
    if not data:
        raise DomainError("empty_file", "the file {name} is empty", name=filename)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=filename,
                          mb=MAX_ATTACHMENT_BYTES // 2**20)
    sha = hashlib.sha256(data).hexdigest()
    is_pdf = data[:5] == b"%PDF-"
    thumb = None if is_pdf else _thumbnail(data, filename)
    folder = config.attachments_path() / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sha
    if not target.exists():
        tmp = folder / f".{sha}.part"
        tmp.write_bytes(data)
        tmp.replace(target)
    if thumb is not None:
        (folder / f"{sha}.thumb.jpg").write_bytes(thumb)
    att = ParcelAttachment(parcel_id=parcel.id, sha256=sha, filename=(filename or "waybill")[:255],
                           content_type=content_type or ("application/pdf" if is_pdf else "image"),
                           size=len(data), added_by_id=actor.id, added_at=uow.now())
    uow.session.add(att)
    uow.session.flush()
    record_audit(uow, actor, "waybill_attached", f"{parcel.courier} {parcel.waybill}", {"sha256": sha, "file": filename})
    return att


MAX_IMAGE_PIXELS = 50_000_000  # a phone photo of a waybill is a few megapixels


def _thumbnail(data: bytes, filename: str) -> bytes:
    """A small JPEG of the image; an image that would unpack to gigabytes (a decompression bomb) is refused."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    def too_big() -> DomainError:
        return DomainError("image_too_big", "{name} is an image of more than {mp} megapixels",
                           name=filename, mp=MAX_IMAGE_PIXELS // 1_000_000)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:  # known from the header, before unpacking
                    raise too_big()
                img.draft("RGB", (640, 640))  # JPEG: decode at a fraction of the size
                img.load()
                img = img.convert("RGB")
                img.thumbnail((320, 320))
                out = io.BytesIO()
                img.save(out, "JPEG", quality=80)
                return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise DomainError("not_an_image", "{name} is neither an image nor a PDF", name=filename) from None


def attachment_file(sha256: str, thumbnail: bool = False):  # noqa: ANN201
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise DomainError("unknown_attachment", "no attachment {sha}", sha=sha256)
    path = config.attachments_path() / sha256[:2] / (f"{sha256}.thumb.jpg" if thumbnail else sha256)
    if not path.exists():
        raise DomainError("unknown_attachment", "no attachment {sha}", sha=sha256)
    return path


# ---------------------------------------------------------------- receiving a unit

@dataclass
class IntakeResult:
    visit: Visit
    created: bool
    model: ProductModel
    warranty: Warranty
    warranty_until: date | None
    repeat_of: str | None
    interceptions: list[dict[str, Any]] = field(default_factory=list)
    model_candidates: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.visit.tag, "serial": self.visit.unit.serial, "model": self.model.code,
            "warranty": self.warranty.value,
            "warranty_until": self.warranty_until.isoformat() if self.warranty_until else None,
            "repeat_of": self.repeat_of, "interceptions": self.interceptions, "created": self.created,
            "state": self.visit.state.value,
        }


def _previous_departure(uow: UnitOfWork, unit: Unit) -> tuple[Visit, datetime] | None:
    """The unit's last repaired visit and when the unit last left the depot after it."""
    repaired = list(uow.session.scalars(
        select(Visit).where(Visit.unit_id == unit.id, Visit.state.in_([VisitState.SHIPPED, VisitState.REFURBISHED]))
        .order_by(Visit.closed_at.desc())))
    if not repaired:
        return None
    visit = repaired[0]
    shipped_out = uow.session.scalar(
        select(func.max(ParcelItem.added_at)).join(Parcel, ParcelItem.parcel_id == Parcel.id)
        .where(ParcelItem.unit_id == unit.id, Parcel.direction == Direction.OUTBOUND,
               ParcelItem.added_at >= visit.closed_at))
    if shipped_out is not None:
        return visit, shipped_out
    if visit.state is VisitState.SHIPPED:
        return visit, visit.closed_at
    return None  # refurbished into stock and never left


def _intake_of(uow: UnitOfWork, visit: Visit) -> IntakeRecord | None:
    return uow.session.get(IntakeRecord, visit.id)


def _result_for(uow: UnitOfWork, visit: Visit, created: bool) -> IntakeResult:
    rec = _intake_of(uow, visit)
    alerts = list(uow.session.scalars(select(VisitAlert).where(VisitAlert.visit_id == visit.id).order_by(VisitAlert.id)))
    repeat = uow.session.get(Visit, rec.repeat_of_id).tag if rec and rec.repeat_of_id else None
    return IntakeResult(
        visit=visit, created=created, model=visit.unit.model,
        warranty=rec.warranty if rec else Warranty.UNKNOWN, warranty_until=rec.warranty_until if rec else None,
        repeat_of=repeat,
        interceptions=[{"id": a.interception_id, "action": a.action, "kind": a.interception.kind.value} for a in alerts],
    )


def receive_unit(
    uow: UnitOfWork, actor: User, parcel: Parcel, serial: str, *,
    model_code: str | None = None, reason_code: str | None = None, reason_text: str | None = None,
    accessories: list[str] | None = None,
) -> IntakeResult:
    """One scanned serial in an open parcel: model, warranty, repeat, interceptions, a new visit.

    Scanning the same serial again in the same parcel gives back the visit already made.
    """
    require_role(actor, *RECEIVERS, action="receive units")
    serial = clean_serial(serial)
    reason_text = clean_text(reason_text, "complaint", limit=FREE_TEXT_LIMIT, multiline=True)
    accessories = [clean_text(a, "accessory", limit=catalogue.ACCESSORY_MAX) for a in (accessories or [])]
    if parcel.closed_at is not None:
        raise DomainError("parcel_closed", "parcel {waybill} was closed on {when}", waybill=parcel.waybill,
                          when=parcel.closed_at.strftime("%Y-%m-%d %H:%M"))
    unit = uow.session.scalar(select(Unit).where(Unit.serial == serial))
    if unit is not None:
        current = open_visit_of(uow, unit)
        if current is not None:
            rec = _intake_of(uow, current)
            if rec is not None and rec.parcel_id == parcel.id:
                return _result_for(uow, current, created=False)
            raise DomainError(
                "unit_already_open", "unit {serial} already has an open visit {tag} ({state})",
                serial=serial, tag=current.tag, state=current.state.value)

    candidates = [m.code for m in catalogue.match_models(uow, serial)]
    model_chosen = False
    if unit is not None:
        model = unit.model
    elif model_code:
        model = catalogue.get_model(uow, model_code)
        model_chosen = True
    elif len(candidates) == 1:
        model = catalogue.get_model(uow, candidates[0])
    elif not candidates:
        raise DomainError("unknown_serial_format",
                          "no model's serial pattern matches {serial}; pick the model", serial=serial)
    else:
        raise DomainError("model_ambiguous", "{serial} matches several models ({models}); pick one",
                          serial=serial, models=", ".join(candidates))

    reason = get_reason(uow, reason_code) if reason_code else None
    known = set(model.accessories or [])
    accessories = list(dict.fromkeys(a.strip() for a in (accessories or []) if a and a.strip()))
    unknown = [a for a in accessories if a not in known]
    if unknown:
        raise DomainError("unknown_accessory", "{items} is not an accessory of {model} ({known})",
                          items=", ".join(unknown), model=model.code, known=", ".join(model.accessories or []) or "-")

    if unit is None:
        unit = Unit(serial=serial, model=model, created_at=uow.now())
        uow.session.add(unit)
        try:
            with uow.session.begin_nested():
                uow.session.flush()
        except IntegrityError:
            raise DomainError("concurrent_change", "unit {serial} was just received by someone else; scan it again",
                              serial=serial) from None

    received_on = uow.now().astimezone().date()  # the depot's own calendar day, not UTC's
    warranty, until, basis = decide_warranty(sold_on=unit.sold_on, manufactured_on=unit.manufactured_on,
                                             months=model.warranty_months, received_on=received_on)
    repeat_visit = None
    departure = _previous_departure(uow, unit)
    window = settings.value(uow, "repeat_window_days")  # a department setting
    if departure is not None and uow.now() - departure[1] <= timedelta(days=window):
        repeat_visit = departure[0]
    hits = matching_interceptions(uow, unit)
    complaint = " — ".join(x for x in ((reason.text if reason else None), reason_text) if x)

    try:
        with uow.session.begin_nested():
            visit = open_visit(uow, actor, unit, customer=parcel.customer, reason=complaint or None, details={
                "parcel": f"{parcel.courier} {parcel.waybill}", "reason_code": reason.code if reason else None,
                "warranty": warranty.value, "warranty_until": until.isoformat() if until else None,
                "repeat_of": repeat_visit.tag if repeat_visit else None,
                "interceptions": [p.id for p in hits], "accessories": accessories,
                **({"model_chosen": model.code, "candidates": candidates} if model_chosen else {}),
            })
    except IntegrityError:
        raise DomainError("unit_already_open", "unit {serial} was just received into another parcel by someone else",
                          serial=serial) from None
    record = IntakeRecord(
        visit_id=visit.id, parcel_id=parcel.id, reason_code=reason.code if reason else None,
        warranty=warranty, warranty_until=until, warranty_basis=basis,
        repeat_of_id=repeat_visit.id if repeat_visit else None, model_chosen=model_chosen, accessories=accessories)
    uow.session.add(record)
    # The session's identity map holds clean objects weakly: kept here, the record is not read
    # back from the database by the label and the station's row in the same unit of work.
    uow.session.info.setdefault("rma_keep", []).append(record)
    for p in hits:
        uow.session.add(VisitAlert(visit_id=visit.id, interception_id=p.id, action=p.action, raised_at=uow.now()))
    uow.session.flush()
    result = _result_for(uow, visit, created=True)
    result.model_candidates = candidates
    return result


# ---------------------------------------------------------------- interception alerts on a visit

ALERT_DONE, ALERT_WAIVED = "alert_done", "alert_waived"
ALERT_WORKERS = (Role.TECHNICIAN, Role.LEAD, Role.SUPERVISOR)  # may say an alert's action was done
ALERT_WAIVERS = (Role.LEAD, Role.SUPERVISOR)  # may waive one, with the reason
SYSTEM_NOTE_MAX = 500


def alert_states(uow: UnitOfWork, visit: Visit) -> list[dict[str, Any]]:
    """Every interception alert of a visit and where it stands: open, done (what was done) or waived.

    The state is not stored on the alert: it is read from the visit's returns ledger, where
    marking an alert done or waived is an event (``alert_done`` / ``alert_waived``).
    """
    from rma.core.models import ReturnsLedgerEntry

    alerts = list(uow.session.scalars(select(VisitAlert).where(VisitAlert.visit_id == visit.id).order_by(VisitAlert.id)))
    if not alerts:
        return []
    events = uow.session.scalars(select(ReturnsLedgerEntry).where(
        ReturnsLedgerEntry.visit_id == visit.id, ReturnsLedgerEntry.event.in_([ALERT_DONE, ALERT_WAIVED]))
        .order_by(ReturnsLedgerEntry.id))
    ended = {e.details.get("alert"): e for e in events}
    out = []
    for a in alerts:
        e = ended.get(a.id)
        out.append({
            "id": a.id, "interception": a.interception_id, "kind": a.interception.kind.value, "action": a.action,
            "raised_at": a.raised_at.isoformat(),
            "status": "open" if e is None else ("done" if e.event == ALERT_DONE else "waived"),
            "note": e.details.get("note") if e else None, "by": e.actor.username if e else None,
            "by_system": bool(e.details.get("by_system")) if e else False,
            "at": e.at.isoformat() if e else None,
        })
    return out


def open_alerts(uow: UnitOfWork, visit: Visit) -> list[dict[str, Any]]:
    return [a for a in alert_states(uow, visit) if a["status"] == "open"]


def resolve_alert(uow: UnitOfWork, actor: User, tag: str, alert_id: int, *, note: str, waive: bool = False,
                  by_system: bool = False) -> dict[str, Any]:
    """Mark an interception alert done (what was done) or, for the lead or supervisor, waived (why).

    ``by_system``: a service did it on its own (a reflash that left the intercepted firmware
    behind) and says so; the actor is whoever ran that service.
    """
    require_role(actor, *(ALERT_WAIVERS if waive else ALERT_WORKERS),
                 action="waive interception alerts" if waive else "mark interception alerts done")
    visit = find_visit(uow, tag)
    if visit.closed_at is not None:
        raise DomainError("visit_closed", "visit {tag} is closed ({state}): its alerts can no longer change",
                          tag=visit.tag, state=visit.state.value)
    note = clean_text(note, "what was done" if not waive else "why it is waived", limit=SYSTEM_NOTE_MAX,
                      required=True)
    current = next((a for a in alert_states(uow, visit) if a["id"] == alert_id), None)
    if current is None:
        raise DomainError("unknown_alert", "visit {tag} has no interception alert {alert}", tag=visit.tag,
                          alert=alert_id)
    if current["status"] != "open":
        raise DomainError("alert_resolved", "the interception alert {alert} of {tag} was already {status} by {who}",
                          alert=alert_id, tag=visit.tag, status=current["status"], who=current["by"])
    record_visit_event(uow, visit, actor, "alert_waived" if waive else "alert_done", details={
        "alert": alert_id, "interception": current["interception"], "action": current["action"], "note": note,
        **({"by_system": True} if by_system else {})})
    uow.session.flush()
    return {**current, "status": "waived" if waive else "done", "note": note, "by": actor.username,
            "by_system": by_system}


def record_accessories(uow: UnitOfWork, actor: User, tag: str, accessories: list[str]) -> list[str]:
    """Tick the accessories that came with a unit, against its model's list (after the scan)."""
    require_role(actor, *RECEIVERS, action="record accessories")
    visit = find_visit(uow, tag)
    rec = _intake_of(uow, visit)
    if rec is None or visit.closed_at is not None:
        raise DomainError("not_at_intake", "visit {tag} is not at intake", tag=visit.tag)
    known = list(visit.unit.model.accessories or [])
    ticked = list(dict.fromkeys(t for a in accessories if (t := clean_text(a, "accessory", limit=catalogue.ACCESSORY_MAX))))
    unknown = [a for a in ticked if a not in known]
    if unknown:
        raise DomainError("unknown_accessory", "{items} is not an accessory of {model} ({known})",
                          items=", ".join(unknown), model=visit.unit.model.code, known=", ".join(known) or "-")
    if ticked != list(rec.accessories or []):
        record_visit_event(uow, visit, actor, "accessories_checked",
                           details={"accessories": ticked, "missing": [a for a in known if a not in ticked]})
        rec.accessories = ticked
    return ticked


def return_reason_of(uow: UnitOfWork, visit: Visit) -> tuple[str | None, str | None]:
    """The visit's return reason as recorded: its reason code, and the dealer's words beside the code's text."""
    rec = _intake_of(uow, visit)
    code = rec.reason_code if rec is not None else None
    complaint = (visit.return_reason or "").strip() or None
    reason = uow.session.scalar(select(ReasonCode).where(ReasonCode.code == code)) if code else None
    if reason is not None and complaint is not None:
        if complaint == reason.text:
            complaint = None
        elif complaint.startswith(reason.text + " — "):
            complaint = complaint[len(reason.text) + 3:]
    return code, complaint


REASON_RECORDERS = (Role.CLERK, Role.LEAD, Role.SUPERVISOR)
MAX_REASON_TEXT = 500


def set_return_reason(uow: UnitOfWork, actor: User, tag: str, *, reason_code: str | None = None,
                      text: str | None = None) -> Visit:
    """Record (or correct) the return reason of an open visit after intake (原因确认、登记).

    The reason code and the dealer's text replace what intake recorded; the change is a
    ``reason_recorded`` event in the returns ledger. Giving the same reason again changes nothing.
    """
    require_role(actor, *REASON_RECORDERS, action="record return reasons")
    visit = find_visit(uow, tag)
    if visit.closed_at is not None:
        raise DomainError("visit_closed", "visit {tag} is closed ({state}): its return reason can no longer change",
                          tag=visit.tag, state=visit.state.value)
    reason = get_reason(uow, reason_code) if (reason_code or "").strip() else None
    text = clean_text(text, "return reason", limit=10**9)
    if reason is None and text is None:
        raise DomainError("reason_required", "give a reason code or a text")
    if text is not None and len(text) > MAX_REASON_TEXT:
        raise DomainError("reason_too_long", "a return reason text has at most {n} characters", n=MAX_REASON_TEXT)
    complaint = " — ".join(x for x in ((reason.text if reason else None), text) if x)
    rec = _intake_of(uow, visit)
    code = reason.code if reason else None
    if complaint == visit.return_reason and (rec is None or rec.reason_code == code):
        return visit
    visit.return_reason = complaint
    if rec is not None:
        rec.reason_code = code
    record_visit_event(uow, visit, actor, "reason_recorded", details={"reason_code": code, "reason": complaint})
    uow.session.flush()
    return visit


def open_parcels(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Inbound parcels not closed yet, newest first: the clerk carries on with one of them."""
    parcels = uow.session.scalars(select(Parcel).where(Parcel.direction == Direction.INBOUND, Parcel.closed_at.is_(None))
                                  .order_by(Parcel.opened_at.desc()))
    return [{"courier": p.courier, "waybill": p.waybill, "customer": p.customer.code if p.customer else None,
             "customer_name": p.customer.name if p.customer else None, "declared": p.declared_count,
             "scanned": len(parcel_visits(uow, p)), "opened_at": p.opened_at.isoformat()} for p in parcels]


COURIER_WAYBILLS = (  # how each courier's waybill numbers look, to suggest the courier from a scan
    ("SF", re.compile(r"^SF\d{12,13}$")),
    ("JD", re.compile(r"^JD[0-9A-Z]{11,15}$")),
    ("YTO", re.compile(r"^YT\d{13,15}$")),
    ("ZTO", re.compile(r"^7\d{11,14}$")),
    ("EMS", re.compile(r"^(E[A-Z]\d{9}CN|1\d{12})$")),
)


def guess_courier(waybill: str) -> str | None:
    """The courier a waybill number looks like it belongs to, or None; the clerk can change it."""
    waybill = normalise_key(waybill)
    return next((c for c, pattern in COURIER_WAYBILLS if pattern.match(waybill)), None)


def intake_summary(uow: UnitOfWork, visit: Visit, result: IntakeResult | None = None) -> dict[str, Any]:
    """The intake facts of a visit for its unit page: parcel, warranty, repeat, alerts, accessories.

    ``result``: what ``receive_unit`` just decided for it, so the station's row needs no second read.
    """
    rec = _intake_of(uow, visit)
    if rec is None:
        return {}
    result = result if result is not None and result.visit is visit else _result_for(uow, visit, created=False)
    return {
        **result.as_dict(),
        "parcel": {"courier": rec.parcel.courier, "waybill": rec.parcel.waybill} if rec.parcel else None,
        "reason_code": rec.reason_code, "accessories": rec.accessories, "model_chosen": rec.model_chosen,
        "warranty_basis": rec.warranty_basis,
    }


def parcel_report(uow: UnitOfWork, waybill: str, courier: str | None = None) -> dict[str, Any]:
    parcel = find_parcel(uow, waybill, courier)
    if parcel.direction is Direction.INBOUND:
        units = [_result_for(uow, v, created=False).as_dict() for v in parcel_visits(uow, parcel)]
    else:
        items = uow.session.scalars(select(ParcelItem).where(ParcelItem.parcel_id == parcel.id).order_by(ParcelItem.id))
        units = [{"serial": uow.session.get(Unit, i.unit_id).serial,
                  "tag": uow.session.get(Visit, i.visit_id).tag if i.visit_id else None} for i in items]
    atts = uow.session.scalars(select(ParcelAttachment).where(ParcelAttachment.parcel_id == parcel.id).order_by(ParcelAttachment.id))
    return {
        "direction": parcel.direction.value, "courier": parcel.courier, "waybill": parcel.waybill,
        "customer": parcel.customer.code if parcel.customer else None,
        "customer_name": parcel.customer.name if parcel.customer else None,
        "declared": parcel.declared_count, "scanned": len(units),
        "cost": str(parcel.cost) if parcel.cost is not None else None,
        "opened_by": parcel.opened_by.username, "opened_at": parcel.opened_at.isoformat(),
        "closed_at": parcel.closed_at.isoformat() if parcel.closed_at else None,
        "closed_by": parcel.closed_by.username if parcel.closed_by else None,
        "discrepancy": parcel.discrepancy,
        "attachments": [{"sha256": a.sha256, "filename": a.filename, "size": a.size} for a in atts],
        "units": units,
    }


# ---------------------------------------------------------------- shipping out

@dataclass
class ShipResult:
    parcel: Parcel
    unit: Unit
    visit: Visit | None
    created: bool

    def as_dict(self) -> dict[str, Any]:
        return {"courier": self.parcel.courier, "waybill": self.parcel.waybill, "serial": self.unit.serial,
                "tag": self.visit.tag if self.visit else None,
                "state": self.visit.state.value if self.visit else None,
                "customer": self.parcel.customer.code if self.parcel.customer else None,
                "cost": str(self.parcel.cost) if self.parcel.cost is not None else None, "created": self.created}


def ship_unit(
    uow: UnitOfWork, actor: User, key: str, *, courier: str, waybill: str,
    cost: str | Decimal | None = None, customer_code: str | None = None,
) -> ShipResult:
    """A unit leaves: back to its sender after repair, or a refurbished unit to a dealer.

    Several units may share one outbound waybill. A passed visit is closed as shipped.
    """
    require_role(actor, *RECEIVERS, action="ship units")
    courier, waybill = clean_courier(courier), clean_waybill(waybill)
    unit = find_unit(uow, key)
    visits = sorted(unit.visits, key=lambda v: (v.opened_at, v.id))
    last = visits[-1] if visits else None
    open_v = next((v for v in visits if v.closed_at is None), None)
    parcel = uow.session.scalar(select(Parcel).where(Parcel.courier == courier, Parcel.waybill == waybill))
    if parcel is not None:  # the same unit scanned again into the same outbound parcel
        item = uow.session.scalar(select(ParcelItem).where(ParcelItem.parcel_id == parcel.id, ParcelItem.unit_id == unit.id))
        if item is not None:
            return ShipResult(parcel, unit, uow.session.get(Visit, item.visit_id) if item.visit_id else None, False)
    if open_v is not None and open_v.state is not VisitState.PASSED:
        raise DomainError("not_ready_to_ship", "unit {serial} is {state} in visit {tag}; only a unit that passed its test ships",
                          serial=unit.serial, state=open_v.state.value, tag=open_v.tag)
    if open_v is None and last is not None and last.state is VisitState.SCRAPPED:
        raise DomainError("unit_scrapped", "unit {serial} was scrapped in visit {tag}", serial=unit.serial, tag=last.tag)
    if open_v is None and last is not None:
        left = uow.session.scalar(
            select(func.max(ParcelItem.added_at)).join(Parcel, ParcelItem.parcel_id == Parcel.id)
            .where(ParcelItem.unit_id == unit.id, Parcel.direction == Direction.OUTBOUND))
        if (left is not None and left >= last.closed_at) or last.state is VisitState.SHIPPED:
            raise DomainError("already_shipped", "unit {serial} already left the depot", serial=unit.serial)
    if customer_code:
        customer = catalogue.get_customer(uow, customer_code)
    elif open_v is not None or (last is not None and last.state is VisitState.RETURNED_UNREPAIRED):
        customer = (open_v or last).customer  # back to the sender
    else:
        customer = None  # a unit from stock goes wherever the clerk says
    if customer is None:
        raise DomainError("customer_required", "say which customer unit {serial} goes to", serial=unit.serial)

    if parcel is None:
        parcel = Parcel(direction=Direction.OUTBOUND, courier=courier, waybill=waybill, customer=customer,
                        cost=parse_cost(cost), opened_by_id=actor.id, opened_at=uow.now())
        uow.session.add(parcel)
        try:
            with uow.session.begin_nested():
                uow.session.flush()
        except IntegrityError:
            raise DomainError("concurrent_change", "waybill {waybill} was just used by someone else; try again",
                              waybill=waybill) from None
        record_audit(uow, actor, "parcel_shipped", f"{courier} {waybill}",
                     {"customer": customer.code, "cost": str(parcel.cost) if parcel.cost is not None else None})
    elif parcel.direction is not Direction.OUTBOUND:
        raise DomainError("waybill_inbound", "waybill {waybill} is an inbound parcel", waybill=waybill)
    elif parcel.customer_id != customer.id:
        raise DomainError("waybill_other_customer", "waybill {waybill} already goes to {other}, not {this}",
                          waybill=waybill, other=parcel.customer.code if parcel.customer else "?", this=customer.code)

    uow.session.add(ParcelItem(parcel_id=parcel.id, unit_id=unit.id,
                               visit_id=(open_v or last).id if (open_v or last) else None, added_at=uow.now()))
    details = {"courier": courier, "waybill": waybill, "customer": customer.code}
    if open_v is not None:
        transition(uow, actor, open_v, VisitState.SHIPPED, event="shipped", details=details)
    elif last is not None:  # leaving stock, or going back unrepaired: on the unit's timeline too
        record_visit_event(uow, last, actor, "left_depot", details=details)
        if last.state is VisitState.REFURBISHED:  # out of the refurbished-unit store, through the parts ledger
            from rma.inventory.services import unit_leaves_stock

            unit_leaves_stock(uow, actor, last, customer=customer.code)
    uow.session.flush()
    return ShipResult(parcel, unit, open_v or last, True)


# ---------------------------------------------------------------- figures and the ledger

def _month_bounds(month: str) -> tuple[datetime, datetime]:
    year, number = parse_month(month)
    first = datetime(year, number, 1)
    after = (first + timedelta(days=32)).replace(day=1)
    return first.astimezone(), after.astimezone()  # the depot's local month


def courier_costs(uow: UnitOfWork, month: str) -> dict[str, Any]:
    """Courier costs of a month by courier and direction, with every parcel, for 物流费用核对."""
    start, end = _month_bounds(month)
    month = f"{start:%Y-%m}"
    parcels = list(uow.session.scalars(
        select(Parcel).where(Parcel.opened_at >= start, Parcel.opened_at < end).order_by(Parcel.opened_at)))
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for p in parcels:
        row = totals.setdefault((p.courier, p.direction.value), {
            "courier": p.courier, "direction": p.direction.value, "parcels": 0, "cost": Decimal("0.00"),
            "without_cost": 0})
        row["parcels"] += 1
        if p.cost is None:
            row["without_cost"] += 1
        else:
            row["cost"] += p.cost
    rows = [{**r, "cost": str(r["cost"])} for _, r in sorted(totals.items())]
    total = sum((p.cost or Decimal(0) for p in parcels), Decimal("0.00"))
    return {
        "month": month, "total": str(total.quantize(Decimal("0.01"))), "by_courier": rows,
        "parcels": [{"date": p.opened_at.astimezone().date().isoformat(), "courier": p.courier, "waybill": p.waybill,
                     "direction": p.direction.value, "customer": p.customer.code if p.customer else None,
                     "cost": str(p.cost) if p.cost is not None else None} for p in parcels],
    }


@dataclass
class VisitFilter:
    date_from: date | None = None
    date_to: date | None = None
    customer: str | None = None
    model: str | None = None
    state: VisitState | None = None
    warranty: Warranty | None = None
    repeat: bool | None = None
    intercepted: bool | None = None
    limit: int | None = None
    offset: int = 0


def _visit_conditions(f: VisitFilter) -> list[Any]:
    conds: list[Any] = []
    check_limit(f.limit)
    if f.date_from:
        conds.append(Visit.opened_at >= datetime.combine(f.date_from, time.min).astimezone())
    if f.date_to:
        conds.append(Visit.opened_at < datetime.combine(f.date_to + timedelta(days=1), time.min).astimezone())
    if f.customer:
        conds.append(Visit.customer_id == select(Customer.id).where(Customer.code == clean_key(f.customer, "customer"))
                     .scalar_subquery())
    if f.model:
        conds.append(Visit.unit_id.in_(select(Unit.id).join(ProductModel, ProductModel.id == Unit.model_id)
                                       .where(ProductModel.code == clean_key(f.model, "model"))))
    if f.state:
        conds.append(Visit.state == f.state)
    if f.warranty:
        conds.append(IntakeRecord.warranty == f.warranty)
    if f.repeat is not None:
        conds.append(IntakeRecord.repeat_of_id.is_not(None) if f.repeat
                     else or_(IntakeRecord.repeat_of_id.is_(None), IntakeRecord.visit_id.is_(None)))
    if f.intercepted is not None:
        has_alert = select(VisitAlert.id).where(VisitAlert.visit_id == Visit.id).exists()
        conds.append(has_alert if f.intercepted else ~has_alert)
    return conds


def count_visits(uow: UnitOfWork, f: VisitFilter) -> int:
    """How many visits the filter matches, counted in the database."""
    q = select(func.count()).select_from(Visit)
    if f.warranty or f.repeat is not None:  # only these look at the intake record
        q = q.outerjoin(IntakeRecord, IntakeRecord.visit_id == Visit.id)
    conds = _visit_conditions(f)
    if conds:
        q = q.where(and_(*conds))
    return int(uow.session.scalar(q) or 0)


def _visits_query(f: VisitFilter):  # noqa: ANN202
    alerts = select(func.count()).where(VisitAlert.visit_id == Visit.id).correlate(Visit).scalar_subquery()
    RepeatVisit = Visit.__table__.alias("repeat_visit")
    repeat = select(RepeatVisit.c.tag).where(RepeatVisit.c.id == IntakeRecord.repeat_of_id).scalar_subquery()
    q = (select(Visit.tag, Unit.serial, ProductModel.code, Customer.code, Visit.state, Visit.opened_at,
                Visit.closed_at, IntakeRecord.warranty, IntakeRecord.warranty_until, repeat, alerts,
                Visit.return_reason, Parcel.waybill)
         # Every visit has its unit and model: outer joins give the same rows, and keep the visits the
         # table the plan starts from (SQLite's planner otherwise may start from the few models and
         # sort a million visits to show the newest hundred)
         .outerjoin(Unit, Unit.id == Visit.unit_id).outerjoin(ProductModel, ProductModel.id == Unit.model_id)
         .outerjoin(Customer, Customer.id == Visit.customer_id)
         .outerjoin(IntakeRecord, IntakeRecord.visit_id == Visit.id)
         .outerjoin(Parcel, Parcel.id == IntakeRecord.parcel_id))
    conds = _visit_conditions(f)
    if conds:
        q = q.where(and_(*conds))
    q = q.order_by(Visit.opened_at.desc(), Visit.id.desc())
    if f.limit:
        q = q.limit(f.limit)
    if f.offset:
        q = q.offset(f.offset)
    return q


def _visit_row(r: Any) -> dict[str, Any]:
    (tag, serial, model, customer, state, opened_at, closed_at, warranty, until, repeat, n_alerts, reason,
     waybill) = r
    return {
        "tag": tag, "serial": serial, "model": model, "customer": customer,
        "state": state.value, "opened_at": opened_at.isoformat(),
        "closed_at": closed_at.isoformat() if closed_at else None,
        "warranty": warranty.value if warranty else None,
        "warranty_until": until.isoformat() if until else None,
        "repeat_of": repeat, "interceptions": int(n_alerts), "reason": reason, "waybill": waybill,
    }


def list_visits(uow: UnitOfWork, f: VisitFilter) -> list[dict[str, Any]]:
    """The returns ledger (返厂机器台账) as rows, newest first: one per visit, with its intake facts.

    ``f.limit`` and ``f.offset`` page in the database; nothing beyond the page is loaded.
    """
    return [_visit_row(r) for r in uow.session.execute(_visits_query(f))]


def iter_visits(uow: UnitOfWork, f: VisitFilter, *, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every visit the filter matches, streamed from the database in batches (for exports)."""
    result = uow.session.execute(_visits_query(f).execution_options(yield_per=batch))
    for r in result:
        yield _visit_row(r)


VISIT_COLUMNS = ["tag", "serial", "model", "customer", "state", "opened_at", "closed_at", "warranty",
                 "warranty_until", "repeat_of", "interceptions", "reason", "waybill"]
