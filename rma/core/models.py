"""Core tables every area shares: users and roles, the catalogue, units, visits, ledgers."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rma.core.states import VisitState
from rma.core.types import code, intpk, name, str_enum, timestamp

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Role(enum.StrEnum):
    CLERK = "clerk"  # logistics clerk 物流员
    TECHNICIAN = "technician"  # repair technician 维修员
    LEAD = "lead"  # repair lead 维修组长
    TESTER = "tester"  # 测试员
    MATERIALS = "materials"  # materials clerk 物料员
    SUPERVISOR = "supervisor"  # 主管 / 售后工程师
    ADMIN = "admin"



class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[name]
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password reset or deactivation: web sessions holding an older value end.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[timestamp | None]
    created_at: Mapped[timestamp]

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class ProductModel(Base):
    """A product model of the catalogue; its serial pattern tells a unit's model at intake."""

    __tablename__ = "product_models"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[name]
    family: Mapped[code]  # head_unit, navigation, dash_cam, cluster, ecu
    serial_pattern: Mapped[str] = mapped_column(String(200))
    warranty_months: Mapped[int] = mapped_column(Integer)
    firmware_version: Mapped[str | None] = mapped_column(String(64))
    accessories: Mapped[list[str]] = mapped_column(JSON, default=list)


class Customer(Base):
    """A dealer (4S shop) or distributor that sends units back."""

    __tablename__ = "customers"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[name]
    region: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(200))


class Unit(Base):
    """One physical device, known by the maker's serial number."""

    __tablename__ = "units"

    id: Mapped[intpk]
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"), index=True)
    manufactured_on: Mapped[date | None] = mapped_column(Date)
    sold_on: Mapped[date | None] = mapped_column(Date)  # sale or ship date, when known
    shipped_to_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # from factory records
    firmware_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[timestamp]

    model: Mapped[ProductModel] = relationship(lazy="joined")
    visits: Mapped[list[Visit]] = relationship(back_populates="unit", order_by="Visit.opened_at")


class Visit(Base):
    """One return of one unit; its tag is the work order (派工单) printed on the label."""

    __tablename__ = "visits"

    id: Mapped[intpk]
    tag: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[VisitState] = mapped_column(str_enum(VisitState), index=True)
    return_reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[timestamp]
    closed_at: Mapped[timestamp | None]
    # Optimistic lock: two writers of the same visit cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(back_populates="visits", lazy="joined")
    customer: Mapped[Customer | None] = relationship(lazy="joined")
    events: Mapped[list[ReturnsLedgerEntry]] = relationship(
        order_by="ReturnsLedgerEntry.id", viewonly=True
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_visits_opened_at", "opened_at"),  # the returns ledger, newest first, by date
        # the returns ledger of one state or one customer, newest first: the page read in order, never
        # the whole state sorted (a million shipped visits)
        Index("ix_visits_state_opened", "state", "opened_at", "id"),
        Index("ix_visits_customer_opened", "customer_id", "opened_at", "id"),
        # figures: left in a month (with when it came and its unit: turnaround from the index alone); still open
        Index("ix_visits_closed_at", "closed_at", "state", "opened_at", "unit_id"),
        # A unit has at most one open visit, even when two clerks scan it at the same moment.
        Index("uq_visits_one_open_per_unit", "unit_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )


class TagSequence(Base):
    """Hands out tag numbers; a number once given is never given again."""

    __tablename__ = "tag_sequences"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class DepartmentSetting(Base):
    """One department setting (``rma.core.settings`` declares them); its changes are in the audit log."""

    __tablename__ = "department_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[timestamp]

    changed_by: Mapped[User] = relationship()


class LedgerRow:
    """Marker for append-only tables: rows are inserted, never updated or deleted.

    ``__seal_stream__`` names the column that cuts the ledger into streams for its seals
    (see ``rma.core.seals``): a column pointing at the row that owns the stream (a visit's), the
    primary key itself (a stream per row), or ``(id column, n)`` for streams of ``n`` consecutive rows.
    ``__seal_cluster__`` may name a column that does not decrease as ids grow and that every
    stream lies within (the parts ledger's booking month): ``rma check`` then reads a big
    ledger in ranges of ids cut where it changes, in table order, instead of through the
    stream's index (whose rows lie all over the table).
    """

    __seal_stream__: str | tuple[str, int]
    __seal_cluster__: str | None = None


class LedgerHead(Base):
    """The seal of one stream of a ledger: its number of rows and their SHA-256 (not a ledger)."""

    __tablename__ = "ledger_heads"

    ledger: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


class ReturnsLedgerEntry(LedgerRow, Base):
    """The returns ledger (返厂机器台账): one row per event of a visit."""

    __tablename__ = "returns_ledger"
    __seal_stream__ = "visit_id"

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    at: Mapped[timestamp]
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    event: Mapped[code]
    from_state: Mapped[VisitState | None] = mapped_column(str_enum(VisitState))
    to_state: Mapped[VisitState | None] = mapped_column(str_enum(VisitState))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("returns_ledger.id"))

    visit: Mapped[Visit] = relationship()
    actor: Mapped[User] = relationship(lazy="joined")


class AuditEntry(LedgerRow, Base):
    """Who changed what outside the visit ledgers: users, roles, catalogue, imports."""

    __tablename__ = "audit_log"
    # A stream per entry (revision 0017): its commit seals it in one statement, with nothing to
    # lock, and two stations writing entries at once never queue for a shared head.
    __seal_stream__ = "id"

    id: Mapped[intpk]
    at: Mapped[timestamp]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")


