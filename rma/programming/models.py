"""The firmware registry and the programming ledger (IC烧录记录).

Every table here but ``programming_locks`` is append-only and sealed:

- ``firmware_images``: an image as uploaded, once, kept by its SHA-256 (the file itself lives
  under ``$RMA_HOME/firmware``, named by its hash); nothing about an image ever changes.
- ``firmware_image_models``: the product models an image is for (an image may instead, or also,
  be for an IC part number).
- ``firmware_events``: what happened to an image since: released, retired, made a model's
  current firmware. An image's state is its last release or retirement (draft without one);
  a model's current firmware is its last ``made_current`` event.
- ``programming_attempts``: one row when an attempt starts (before the chip is erased): who,
  when, station, programmer, socket, chip ID, the image and the old image's hash and version.
- ``programming_blocks``: one row per 4 KiB block the programmer acknowledged, committed as
  it comes, so an attempt that died shows how far it got.
- ``programming_results``: one row when the attempt ends: result, first bad address, verify,
  duration. An attempt without a result is *unfinished* (its station died).

``programming_locks`` (not a ledger) keeps two stations from reflashing one visit at once.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, LedgerRow, ProductModel, User
from rma.core.types import UTCDateTime, intpk, str_enum, timestamp


class ImageState(enum.StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    RETIRED = "retired"


class FirmwareEventKind(enum.StrEnum):
    RELEASED = "released"
    RETIRED = "retired"
    MADE_CURRENT = "made_current"  # for the event's model


class AttemptResult(enum.StrEnum):
    OK = "ok"  # erased, written and verified by the programmer's SHA-256
    FAILED = "failed"  # the chip would not take the image (or is not the right chip): back to repair
    ERROR = "error"  # the station could not finish (programmer, line): the unit stays in programming
    ABORTED = "aborted"  # stopped by the operator
    ABANDONED = "abandoned"  # no end was ever written (the station died); closed by the next attempt


class FirmwareImage(LedgerRow, Base):
    __tablename__ = "firmware_images"
    __seal_stream__ = "id"  # a stream per row (revision 0017): sealed in one statement, nothing to lock

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64), index=True)
    part_number: Mapped[str | None] = mapped_column(String(64), index=True)  # an IC part it is for
    memory: Mapped[str] = mapped_column(String(32))  # the memory it targets: W25Q16, STM32F103CB, …
    chip_id: Mapped[str] = mapped_column(String(32))  # that memory's ID as the programmer reads it, hex
    base: Mapped[int] = mapped_column(Integer)  # where in the memory the image starts
    filename: Mapped[str] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)  # release notes
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[timestamp]

    added_by: Mapped[User] = relationship(lazy="joined")


class FirmwareImageModel(LedgerRow, Base):
    __tablename__ = "firmware_image_models"
    __seal_stream__ = "image_id"
    __table_args__ = (UniqueConstraint("image_id", "model_id"),)

    id: Mapped[intpk]
    image_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"), index=True)

    model: Mapped[ProductModel] = relationship(lazy="joined")


class FirmwareEvent(LedgerRow, Base):
    __tablename__ = "firmware_events"
    __seal_stream__ = "image_id"

    id: Mapped[intpk]
    image_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id"), index=True)
    event: Mapped[FirmwareEventKind] = mapped_column(str_enum(FirmwareEventKind))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("product_models.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[timestamp]
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User] = relationship(lazy="joined")


class ProgrammingAttempt(LedgerRow, Base):
    """An attempt as it starts. ``visit_id``/``unit_id``: the unit reflashed (IC jobs, to come, have none)."""

    __tablename__ = "programming_attempts"
    __seal_stream__ = "id"  # a stream per row (revision 0017): sealed in one statement, nothing to lock

    id: Mapped[intpk]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    station: Mapped[str] = mapped_column(String(64), index=True)
    port: Mapped[str] = mapped_column(String(300))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    programmer: Mapped[str | None] = mapped_column(String(64))  # the programmer's model, as it identifies
    programmer_serial: Mapped[str | None] = mapped_column(String(64))
    programmer_firmware: Mapped[str | None] = mapped_column(String(64))
    socket: Mapped[int] = mapped_column(Integer)
    chip_id: Mapped[str | None] = mapped_column(String(32))  # as read, hex; None: no chip answered
    chip_name: Mapped[str | None] = mapped_column(String(32))
    image_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id"), index=True)
    image_sha256: Mapped[str] = mapped_column(String(64))
    image_version: Mapped[str] = mapped_column(String(64))
    base: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    old_sha256: Mapped[str | None] = mapped_column(String(64))  # what the chip held, hashed by the programmer
    old_version: Mapped[str | None] = mapped_column(String(64))  # the registry's version of that, if known
    tool_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[timestamp]

    operator: Mapped[User] = relationship(lazy="joined")


class ProgrammingBlock(LedgerRow, Base):
    """A block of the image the programmer acknowledged: ``done`` bytes of it written so far."""

    __tablename__ = "programming_blocks"
    __seal_stream__ = "attempt_id"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)

    id: Mapped[intpk]
    attempt_id: Mapped[int] = mapped_column(ForeignKey("programming_attempts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order acknowledged
    done: Mapped[int] = mapped_column(Integer)
    at: Mapped[timestamp]


class ProgrammingResult(LedgerRow, Base):
    __tablename__ = "programming_results"
    __seal_stream__ = "attempt_id"  # a stream per attempt's result (revision 0017)

    attempt_id: Mapped[int] = mapped_column(ForeignKey("programming_attempts.id"), primary_key=True)
    result: Mapped[AttemptResult] = mapped_column(str_enum(AttemptResult), index=True)
    code: Mapped[str | None] = mapped_column(String(48))  # why it was not ok: programmer_verify_failed, …
    reason: Mapped[str | None] = mapped_column(Text)  # the English message as it was written
    first_bad_address: Mapped[int | None] = mapped_column(Integer)  # the first byte not (known to be) the image's
    written: Mapped[int] = mapped_column(Integer)  # bytes of the image the programmer acknowledged
    verified: Mapped[bool] = mapped_column(Boolean)  # the programmer's SHA-256 of the range is the image's
    chip_sha256: Mapped[str | None] = mapped_column(String(64))  # that SHA-256, when it was computed
    seconds: Mapped[float] = mapped_column(Float)  # from the start row to the end
    resent: Mapped[int] = mapped_column(Integer)  # frames sent again on the way
    ended_at: Mapped[timestamp]


class ProgrammingLock(Base):
    """Who is reflashing a visit right now; the heartbeat moves while blocks are written."""

    __tablename__ = "programming_locks"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("programming_attempts.id"))
    station: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
