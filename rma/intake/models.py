"""Logistics tables: parcels (both ways), their attachments, reason codes, interception
plans and the alerts they raise on visits, and the label print queue."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, Customer, ProductModel, User
from rma.core.types import UTCDateTime, intpk, str_enum, timestamp


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class InterceptionKind(enum.StrEnum):
    SERIAL_RANGE = "serial_range"
    MADE_RANGE = "made_range"
    FIRMWARE = "firmware"


class LabelStatus(enum.StrEnum):
    QUEUED = "queued"
    PRINTED = "printed"
    FAILED = "failed"



class Parcel(Base):
    """A courier parcel, received (in) or sent (out), known by courier + waybill (快递单)."""

    __tablename__ = "parcels"
    __table_args__ = (
        UniqueConstraint("courier", "waybill"),
        # courier costs of a month, from the index alone
        Index("ix_parcels_opened_at", "opened_at", "courier", "direction", "cost"),
        Index("ix_parcels_direction_closed_at", "direction", "closed_at"),  # the parcels still open
    )

    id: Mapped[intpk]
    direction: Mapped[Direction] = mapped_column(str_enum(Direction), index=True)
    courier: Mapped[str] = mapped_column(String(64))
    waybill: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    declared_count: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[timestamp]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scanned_count: Mapped[int | None] = mapped_column(Integer)  # frozen at close
    discrepancy: Mapped[str | None] = mapped_column(String(16))  # short / over, at close
    note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer | None] = relationship(lazy="joined")
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


class ParcelAttachment(Base):
    """A photo or scan of a waybill, stored under RMA_HOME by its SHA-256."""

    __tablename__ = "parcel_attachments"

    id: Mapped[intpk]
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[timestamp]


class ParcelItem(Base):
    """A unit that left in an outbound parcel (inbound units hang on their visit)."""

    __tablename__ = "parcel_items"

    id: Mapped[intpk]
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    added_at: Mapped[timestamp]


class ReasonCode(Base):
    """The dealer's complaint, from a configurable catalogue (e.g. NOPWR: no power)."""

    __tablename__ = "reason_codes"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Interception(Base):
    """An interception plan (拦截计划): units of a model matching a range or firmware need an action."""

    __tablename__ = "interceptions"

    id: Mapped[intpk]
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"), index=True)
    kind: Mapped[InterceptionKind] = mapped_column(str_enum(InterceptionKind))
    serial_from: Mapped[str | None] = mapped_column(String(64))
    serial_to: Mapped[str | None] = mapped_column(String(64))
    made_from: Mapped[date | None] = mapped_column(Date)
    made_to: Mapped[date | None] = mapped_column(Date)
    firmware: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    model: Mapped[ProductModel] = relationship(lazy="joined")


class VisitAlert(Base):
    """An interception that matched a visit at intake; it stays on the visit."""

    __tablename__ = "visit_alerts"
    __table_args__ = (UniqueConstraint("visit_id", "interception_id"),)

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    interception_id: Mapped[int] = mapped_column(ForeignKey("interceptions.id"))
    action: Mapped[str] = mapped_column(Text)  # copied: the plan's later edits don't rewrite history
    raised_at: Mapped[timestamp]

    interception: Mapped[Interception] = relationship(lazy="joined")


class LabelJob(Base):
    """A label to print. It stays queued (or failed) until a printer took it: nothing is lost."""

    __tablename__ = "label_jobs"

    id: Mapped[intpk]
    template: Mapped[str] = mapped_column(String(32))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    station: Mapped[str] = mapped_column(String(64))
    status: Mapped[LabelStatus] = mapped_column(str_enum(LabelStatus), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[timestamp]
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())




class Warranty(enum.StrEnum):
    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"


class IntakeRecord(Base):
    """What intake decided about a visit: parcel, complaint, warranty, repeat, accessories."""

    __tablename__ = "intake_records"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), index=True)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    warranty: Mapped[Warranty] = mapped_column(str_enum(Warranty), index=True)
    warranty_until: Mapped[date | None] = mapped_column(Date)
    warranty_basis: Mapped[str | None] = mapped_column(String(16))  # sold / manufactured
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    model_chosen: Mapped[bool] = mapped_column(default=False)  # the clerk picked the model
    accessories: Mapped[list[str]] = mapped_column(JSON, default=list)

    parcel: Mapped[Parcel | None] = relationship(lazy="joined")
