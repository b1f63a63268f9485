"""The test ledger (测试台账): plans as used, runs, every step, and how each run ended.

All four tables are append-only. A run is written when it starts, each step as it
completes, and its end as one more row: a run without an end row is *incomplete* (the
station crashed or lost power mid-run), never PASS. ``test_locks`` (not a ledger) keeps
two stations from testing one visit at once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, LedgerRow, User
from rma.core.types import UTCDateTime, intpk, str_enum, timestamp


class RunKind(enum.StrEnum):
    INCOMING = "incoming"  # confirms the dealer's complaint before the bench
    OUTGOING = "outgoing"  # "as in normal outgoing state", after repair


class Outcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # fixture, timeout, port lost: the unit was not judged
    ABORTED = "aborted"  # the tester stopped it


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"



class TestPlanRecord(LedgerRow, Base):
    """The exact text of every plan that judged a run, by its SHA-256."""

    __tablename__ = "test_plans"
    __seal_stream__ = "sha256"
    __test__ = False

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[timestamp]


class TestRun(LedgerRow, Base):
    __tablename__ = "test_runs"
    __seal_stream__ = "visit_id"
    __test__ = False
    __table_args__ = (UniqueConstraint("visit_id", "kind", "attempt"),
                      Index("ix_test_runs_started_at", "started_at"))  # figures: a month's tests

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[RunKind] = mapped_column(str_enum(RunKind))
    attempt: Mapped[int] = mapped_column(Integer)  # 1 = first test of this kind on this visit
    station: Mapped[str] = mapped_column(String(64), index=True)
    port: Mapped[str] = mapped_column(String(300))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    plan_sha256: Mapped[str] = mapped_column(ForeignKey("test_plans.sha256"))
    model: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[timestamp]

    operator: Mapped[User] = relationship(lazy="joined")
    plan: Mapped[TestPlanRecord] = relationship(lazy="joined")


class TestStepResult(LedgerRow, Base):
    __tablename__ = "test_steps"
    __seal_stream__ = "run_id"
    __test__ = False
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("test_runs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 0 = the fixture's identity, then the plan's steps
    step_id: Mapped[str] = mapped_column(String(48), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    command: Mapped[str | None] = mapped_column(String(200))
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    value: Mapped[str | None] = mapped_column(Text)
    numeric: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict))
    message: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)  # every byte the fixture sent for it, escaped
    attempts: Mapped[int] = mapped_column(Integer)
    at: Mapped[timestamp]
    elapsed_ms: Mapped[float] = mapped_column(Float)


class TestRunEnd(LedgerRow, Base):
    __tablename__ = "test_run_ends"
    __seal_stream__ = "run_id"
    __test__ = False

    run_id: Mapped[int] = mapped_column(ForeignKey("test_runs.id"), primary_key=True)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    fixture: Mapped[str | None] = mapped_column(String(200))  # *IDN? of the fixture
    failed_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # item -> present
    ended_at: Mapped[timestamp]


class TestLock(Base):
    """Who is testing a visit right now; the heartbeat moves with every step."""

    __tablename__ = "test_locks"
    __test__ = False

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("test_runs.id"))
    station: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
