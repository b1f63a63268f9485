"""IC batch jobs (IC程序委托烧录): a released image, a blank IC part, a quantity.

Ledgers, append-only and sealed like every ledger:

- ``ic_jobs``: a job as the materials clerk opened it: its image, its blank part, the
  programmed part its good ICs become (blank part + firmware, the stores' part), the bin they
  go to, the quantity wanted. Its number is ``ICJ-`` and its id (the stores' job text).
- ``ic_job_attempts``: which programming attempts (``programming_attempts``, the programming
  ledger) were made for which job: one IC in one socket each. Its outcome is the attempt's
  result; every IC's stock move (good into the bin, failed to scrap) is booked in the same
  transaction as that result, through the stores' services.
- ``ic_job_events``: a socket switched off (by the station, or by hand) or on again.

``ic_job_locks`` (not a ledger) keeps a job on one station at a time.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, LedgerRow, User
from rma.core.types import UTCDateTime, intpk, str_enum, timestamp

JOB_PREFIX = "ICJ-"


def job_number(job_id: int) -> str:
    return f"{JOB_PREFIX}{job_id:06d}"


class JobEventKind(enum.StrEnum):
    SOCKET_OFF = "socket_off"
    SOCKET_ON = "socket_on"


class IcJob(LedgerRow, Base):
    __tablename__ = "ic_jobs"
    __seal_stream__ = "id"  # a stream per job (revision 0017): sealed in one statement

    id: Mapped[intpk]
    image_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id"), index=True)
    blank_part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    programmed_part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))  # where the good ICs go
    quantity: Mapped[int] = mapped_column(Integer)  # good ICs wanted
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    created_by: Mapped[User] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return job_number(self.id)


class IcJobAttempt(LedgerRow, Base):
    """A programming attempt made for a job: one IC in one socket."""

    __tablename__ = "ic_job_attempts"
    __seal_stream__ = "job_id"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("programming_attempts.id"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ic_jobs.id"), index=True)


class IcJobEvent(LedgerRow, Base):
    __tablename__ = "ic_job_events"
    __seal_stream__ = "job_id"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(ForeignKey("ic_jobs.id"), index=True)
    kind: Mapped[JobEventKind] = mapped_column(str_enum(JobEventKind))
    socket: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    by_system: Mapped[bool] = mapped_column(Boolean)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[timestamp]

    actor: Mapped[User] = relationship(lazy="joined")


class IcJobLock(Base):
    """The station running a job now; the heartbeat moves while ICs are programmed."""

    __tablename__ = "ic_job_locks"

    job_id: Mapped[int] = mapped_column(ForeignKey("ic_jobs.id"), primary_key=True)
    station: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
