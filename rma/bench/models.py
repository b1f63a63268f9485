"""The bench's tables: the IRIS-shaped code lists, the repair card of each visit, the findings
ledger, labour sessions, photos, and what waits for the lead's approval.

- ``bench_codes``: condition · symptom (two levels: groups and symptoms) · section · defect
  (with the sections it may be found in) · repair, each with its English and 简体中文 words.
- ``repair_cards``: one per visit: who has it, the coded complaint, the last decision.
- ``bench_findings`` (a ledger): every finding, and every withdrawal of one as a row of
  sign −1 pointing at it, so a count is ``SUM(sign)`` and nothing is ever rewritten.
- ``bench_labour``: start / pause / stop sessions per technician; one running at a time.
- ``bench_photos``: tablet photos kept under RMA_HOME by their SHA-256.
- ``bench_requests``: human damage, scrap and waivers waiting for (or decided by) the lead.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, LedgerRow, User
from rma.core.types import UTCDateTime, intpk, str_enum, timestamp

CODE_LENGTH = 16


class CodeKind(enum.StrEnum):
    CONDITION = "condition"  # when the fault shows: constant, intermittent, after warm-up …
    SYMPTOM = "symptom"  # what the customer sees: groups (no power, display …) and symptoms in them
    SECTION = "section"  # the board or module the fault is in
    DEFECT = "defect"  # what is wrong with it
    REPAIR = "repair"  # what the technician did


class RequestKind(enum.StrEnum):
    DAMAGE = "damage"  # 人为损坏: out of warranty once the lead confirms
    SCRAP = "scrap"  # beyond economic repair
    WAIVER = "waiver"  # an interception alert the technician asks the lead to waive


class Damage(enum.StrEnum):
    WATER = "water"
    IMPACT = "impact"
    SEAL = "seal"  # the tamper seal is broken: opened by someone else
    OTHER = "other"


class BenchCode(Base):
    """One code of one list; ``sections`` (defects only) are the sections it may be found in (none: any)."""

    __tablename__ = "bench_codes"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[intpk]
    kind: Mapped[CodeKind] = mapped_column(str_enum(CodeKind))
    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    parent: Mapped[str | None] = mapped_column(String(CODE_LENGTH))  # a symptom's group
    text_en: Mapped[str] = mapped_column(String(200))
    text_zh: Mapped[str] = mapped_column(String(200))
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs_note: Mapped[bool] = mapped_column(Boolean, default=False)  # "other": a finding with it needs a note
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RepairCard(Base):
    """The repair card of one visit: who has it, the coded complaint, and how the bench decided."""

    __tablename__ = "repair_cards"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    condition_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    symptom_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    complaint_note: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16))  # test, programming, scrap, return
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[timestamp]
    # Optimistic lock: two people changing one card at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Finding(LedgerRow, Base):
    """A finding on a visit (sign +1), or the withdrawal of one (sign −1, ``corrects_id`` → it).

    No fault found is a finding of its own (``nff``), without section, defect or repair. Each row
    carries the unit's model and the complaint's symptom it was found under, so that what fixed a
    model's symptom before is counted from one index (a recoded complaint re-files the findings).
    """

    __tablename__ = "bench_findings"
    __seal_stream__ = "visit_id"
    __table_args__ = (
        # Suggestions: one range of this index per model and symptom, counted without the table.
        Index("ix_bench_findings_suggest", "model_id", "symptom_code", "defect_code", "repair_code", "section_code",
              "designator", "sign", "visit_id"),
        # figures: a month's fault Pareto and no-fault-found, from the index alone
        Index("ix_bench_findings_at", "at", "model_id", "visit_id", "sign", "nff", "symptom_code", "defect_code",
              "designator"),
        # a visit's findings in id order (its seal's stream, read with no sort); figures: the standing
        # and no-fault-found findings of the visits that left; rma check: when a visit was first found
        # at (the bench's decisions), all from the index alone
        Index("ix_bench_findings_visit_id", "visit_id", "id", "sign", "nff", "at"),
    )

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"))
    symptom_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    sign: Mapped[int] = mapped_column(Integer)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("bench_findings.id"))
    nff: Mapped[bool] = mapped_column(Boolean, default=False)
    section_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    designator: Mapped[str | None] = mapped_column(String(16))
    defect_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    repair_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    note: Mapped[str | None] = mapped_column(Text)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[timestamp]

    technician: Mapped[User] = relationship(lazy="joined")


class LabourSession(Base):
    """One stretch of a technician's work on a visit; ``ended_at`` empty while it runs."""

    __tablename__ = "bench_labour"
    __table_args__ = (
        # A technician works on one unit at a time, even when two screens start at once.
        Index("uq_bench_labour_one_running", "technician_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_bench_labour_started_at", "started_at"),  # figures: a month's labour hours
    )

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[timestamp]
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_kind: Mapped[str | None] = mapped_column(String(16))  # pause, stop, switch (another unit), decision

    technician: Mapped[User] = relationship(lazy="joined")


class BenchPhoto(Base):
    """A photo of a unit on the bench, stored under RMA_HOME by its SHA-256 (as waybill photos are)."""

    __tablename__ = "bench_photos"

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))  # damage, finding, unit
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[timestamp]

    added_by: Mapped[User] = relationship(lazy="joined")


class ApprovalRequest(Base):
    """Human damage, scrap or a waiver a technician asked for, until the lead approves or rejects it."""

    __tablename__ = "bench_requests"

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("visit_alerts.id"))
    damage: Mapped[Damage | None] = mapped_column(str_enum(Damage))
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[timestamp]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decision_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}
