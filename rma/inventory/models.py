"""The stores' tables: the parts catalogue, locations, the parts ledger and its balances,
requisitions, stock counts, and the closed months.

Amounts are whole numbers, so that every sum is exact on SQLite and PostgreSQL alike:

- a quantity is in thousandths of the part's unit of measure (``qty_milli``: 1 each = 1000;
  2.5 m = 2500), and a part allows at most ``decimals`` (0 to 3) of them;
- money is in ten-thousandths of a yuan (``..._e4``: 1.25 元 = 12500), enough for a resistor
  that costs 0.0021 元.

The parts ledger (``stock_moves``, 配件台账) is double-entry and append-only: every row moves a
quantity of one part from one location to another, so per part the sum over all locations is
zero. ``stock_balances`` holds each location's balance, updated in the same transaction under
a row lock; a database CHECK keeps every location that is not a counterpart (supplier, count
gain/loss, …) from going below zero. A row is sealed in the stream of its part and month
(``seal_key``), so that no stream grows long however busy a part is.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    JSON,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rma.core.models import Base, LedgerRow, ProductModel, User
from rma.core.types import UTCDateTime, intpk, timestamp

# seal_key = part id × MONTH_SPAN + booking month (YYYYMM): the seal stream of a part in a month.
MONTH_SPAN = 1_000_000


class LocationKind(enum.StrEnum):
    BIN = "bin"  # a shelf location of the store, with its bin label
    UNIT_STORE = "unit_store"  # the refurbished-unit store (翻新品库)
    SUPPLIER = "supplier"  # where receipts come from (and claims go back to)
    BENCH = "bench"  # issued to a tag: the move names the tag
    PROGRAMMING = "programming"  # issued to an IC programming job: the move names the job
    CONSUMED = "consumed"  # fitted in a unit
    OLD_PARTS = "old_parts"  # 旧件: faulty parts taken out of warranty repairs, kept for the claim
    FIELD = "field"  # where old parts come from: the units in the field
    SCRAP = "scrap"
    COUNT = "count"  # count gain / loss
    CONVERTED = "converted"  # blanks that became programmed parts (and where those come from)
    WORKSHOP = "workshop"  # where refurbished units come from: the repair workshop
    CUSTOMER = "customer"  # where refurbished units go: dealers


# The store itself: what the statement, counts and on-hand figures are about.
STORE_KINDS = frozenset({LocationKind.BIN, LocationKind.UNIT_STORE})
# Counterparts whose balance is the mirror of what they gave or took: they may go below zero.
SIGNED_KINDS = frozenset({LocationKind.SUPPLIER, LocationKind.FIELD, LocationKind.COUNT, LocationKind.CONVERTED,
                          LocationKind.WORKSHOP})
# The one location of each virtual kind, by its code.
VIRTUAL_CODES: dict[LocationKind, str] = {
    LocationKind.SUPPLIER: "SUPPLIER", LocationKind.BENCH: "BENCH", LocationKind.PROGRAMMING: "PROGRAMMING",
    LocationKind.CONSUMED: "CONSUMED", LocationKind.OLD_PARTS: "OLD-PARTS", LocationKind.FIELD: "FIELD",
    LocationKind.SCRAP: "SCRAP", LocationKind.COUNT: "COUNT", LocationKind.CONVERTED: "CONVERTED",
    LocationKind.WORKSHOP: "WORKSHOP", LocationKind.CUSTOMER: "CUSTOMER", LocationKind.UNIT_STORE: "REFURB",
}


class MoveKind(enum.StrEnum):
    RECEIPT = "receipt"  # supplier → bin
    ISSUE = "issue"  # bin → bench, for a tag
    RETURN = "return"  # bench → bin, unused
    FIT = "fit"  # bench → consumed, with the reference designator
    OLD_PART = "old_part"  # field → old parts, with the tag
    SCRAP = "scrap"  # bin → scrap
    TRANSFER = "transfer"  # bin → bin
    COUNT = "count"  # count ↔ bin, an approved variance
    JOB_ISSUE = "job_issue"  # bin → programming, for a job
    JOB_RETURN = "job_return"  # programming → bin
    PROGRAM = "program"  # programming → converted (blanks), converted → bin (programmed parts)
    JOB_SCRAP = "job_scrap"  # programming → scrap (failed blanks)
    REFURB_IN = "refurb_in"  # workshop → refurbished-unit store
    REFURB_OUT = "refurb_out"  # refurbished-unit store → customer


CATEGORIES = ("ic", "passive", "connector", "display", "pcba", "harness", "mechanical", "consumable", "unit")
UNITS_OF_MEASURE: dict[str, int] = {"each": 0, "set": 0, "roll": 0, "m": 2, "g": 1, "kg": 3, "ml": 0}


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Part(Base):
    """A part number (物料编码) of the catalogue; not a ledger (its moving-average cost changes)."""

    __tablename__ = "parts"

    id: Mapped[intpk]
    part_number: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    spec: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    uom: Mapped[str] = mapped_column(String(8))
    decimals: Mapped[int] = mapped_column(SmallInteger)
    abc: Mapped[str] = mapped_column(String(1))
    safety_stock_milli: Mapped[int | None] = mapped_column(BigInteger)  # the part's own; None: from the issues
    reorder_qty_milli: Mapped[int | None] = mapped_column(BigInteger)
    unit_cost_e4: Mapped[int] = mapped_column(BigInteger, default=0)  # moving average, updated by receipts
    supplier_barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    home_bin_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"))
    # A programmed IC names its blank part and the firmware it carries.
    blank_part_id: Mapped[int | None] = mapped_column(ForeignKey("parts.id"))
    firmware_sha256: Mapped[str | None] = mapped_column(String(64))
    firmware_version: Mapped[str | None] = mapped_column(String(64))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("product_models.id"), unique=True)  # a refurbished unit
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[timestamp]

    __table_args__ = (
        CheckConstraint("decimals BETWEEN 0 AND 3", name="decimals"),
        CheckConstraint("abc IN ('A', 'B', 'C')", name="abc"),
    )

    home_bin: Mapped[StockLocation | None] = relationship(lazy="joined")
    model: Mapped[ProductModel | None] = relationship(lazy="joined")


class BomLine(Base):
    """A model's bill of materials: the part at each reference designator (U12, C45)."""

    __tablename__ = "bom_lines"
    __table_args__ = (UniqueConstraint("model_id", "designator"),)

    id: Mapped[intpk]
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"))
    designator: Mapped[str] = mapped_column(String(32))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    qty_milli: Mapped[int] = mapped_column(BigInteger)

    part: Mapped[Part] = relationship(lazy="joined")


class StockLocation(Base):
    """A bin of the store, the refurbished-unit store, or one of the virtual locations."""

    __tablename__ = "stock_locations"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[timestamp]


class StockMove(LedgerRow, Base):
    """The parts ledger (配件台账): one movement of one part from one location to another."""

    __tablename__ = "stock_moves"
    __seal_stream__ = "seal_key"
    __seal_cluster__ = "month"  # moves are booked in the open month: ids grow with it

    id: Mapped[intpk]
    at: Mapped[timestamp]
    month: Mapped[int] = mapped_column(Integer)  # the booking month, YYYYMM
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    seal_key: Mapped[int] = mapped_column(BigInteger)  # part_id × MONTH_SPAN + month
    kind: Mapped[str] = mapped_column(String(16))
    from_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    to_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    store_sign: Mapped[int] = mapped_column(SmallInteger)  # what it does to the store: +1 in, -1 out, 0
    qty_milli: Mapped[int] = mapped_column(BigInteger)
    value_e4: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    job: Mapped[str | None] = mapped_column(String(40))
    delivery_line: Mapped[str | None] = mapped_column(String(120), unique=True)  # supplier|note|line
    designator: Mapped[str | None] = mapped_column(String(64))
    count_line_id: Mapped[int | None] = mapped_column(ForeignKey("count_lines.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("stock_moves.id"), unique=True)

    __table_args__ = (
        CheckConstraint("qty_milli > 0", name="qty_positive"),
        CheckConstraint("store_sign IN (-1, 0, 1)", name="store_sign"),
        # 64-bit on PostgreSQL (revision 0009): part_id × 1,000,000 overflows 32 bits from part 2,148 on.
        CheckConstraint(f"seal_key = CAST(part_id AS BIGINT) * {MONTH_SPAN} + month", name="seal_key"),
        CheckConstraint("from_id <> to_id", name="two_locations"),
        # Statements, closings, the reorder report and rma check read this index alone.
        Index("ix_stock_moves_flows", "seal_key", "kind", "store_sign", "from_id", "to_id", "qty_milli",
              "value_e4", "corrects_id"),
        Index("ix_stock_moves_seal_key", "seal_key"),
        # What a tag holds of a part, from the index alone and in id order (rma check, issue, fit, a tag's parts).
        Index("ix_stock_moves_holdings", "visit_id", "part_id", "id", "from_id", "to_id", "qty_milli", "value_e4"),
        Index("ix_stock_moves_job", "job", "part_id"),
    )

    part: Mapped[Part] = relationship(lazy="joined")
    source: Mapped[StockLocation] = relationship(foreign_keys=[from_id], lazy="joined")
    target: Mapped[StockLocation] = relationship(foreign_keys=[to_id], lazy="joined")
    actor: Mapped[User] = relationship(lazy="joined")


class StockBalance(Base):
    """What one location holds of one part: the sum of its moves, kept under a row lock."""

    __tablename__ = "stock_balances"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True, index=True)
    qty_milli: Mapped[int] = mapped_column(BigInteger)
    value_e4: Mapped[int] = mapped_column(BigInteger)
    signed: Mapped[bool] = mapped_column(Boolean)  # a counterpart location, which may go below zero

    __table_args__ = (CheckConstraint("signed OR qty_milli >= 0", name="not_below_zero"),)


class RequisitionLine(Base):
    """A technician's request for a part for a tag (申领); filled by issues, oldest first."""

    __tablename__ = "requisition_lines"

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    qty_milli: Mapped[int] = mapped_column(BigInteger)
    issued_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12))  # open, filled, cancelled
    backordered: Mapped[bool] = mapped_column(Boolean, default=False)
    first_fill: Mapped[bool | None] = mapped_column(Boolean)  # filled in full at its first issue
    designator: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[timestamp]
    backordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_requisition_lines_visit", "visit_id", "part_id", "status"),
        Index("ix_requisition_lines_open", "status", "requested_at"),
    )

    part: Mapped[Part] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(lazy="joined")


class StockCount(Base):
    """A stock count (盘点): a cycle count of an ABC class, or a full count."""

    __tablename__ = "stock_counts"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    scope: Mapped[str] = mapped_column(String(8))  # A, B, C or full
    state: Mapped[str] = mapped_column(String(8))  # open, closed
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[timestamp]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CountLine(Base):
    """One part in one bin of a count: expected at the start (hidden from the counter) and counted."""

    __tablename__ = "count_lines"
    __table_args__ = (UniqueConstraint("count_id", "bin_id", "part_id"),)

    id: Mapped[intpk]
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id"), index=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    expected_milli: Mapped[int] = mapped_column(BigInteger)  # when the count started
    # pending, matched, booked (within tolerance or approved), recount, approval, not_counted
    status: Mapped[str] = mapped_column(String(12))
    counted_milli: Mapped[int | None] = mapped_column(BigInteger)
    counted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recount_milli: Mapped[int | None] = mapped_column(BigInteger)
    book_milli: Mapped[int | None] = mapped_column(BigInteger)  # the balance when last counted: moves during the count
    variance_milli: Mapped[int | None] = mapped_column(BigInteger)
    variance_e4: Mapped[int | None] = mapped_column(BigInteger)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)

    part: Mapped[Part] = relationship(lazy="joined")
    bin: Mapped[StockLocation] = relationship(lazy="joined")


class StockMonthClose(LedgerRow, Base):
    """A closed month: its snapshot is written and no move may be booked into it any more."""

    __tablename__ = "stock_month_closes"
    __seal_stream__ = ("month", 100)  # one stream per year

    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # YYYYMM
    closed_at: Mapped[timestamp]
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    parts: Mapped[int] = mapped_column(Integer)
    closing_value_e4: Mapped[int] = mapped_column(BigInteger)


class PartsCostMonth(Base):
    """Parts cost per repaired unit of a past month as last computed (``reports.parts_cost_by_month``):
    kept, not a ledger. ``rows`` are [model id, visits that left repaired, their fitted value in
    1/10,000, those with a fitted part]; the marks are the newest stock move and returns-ledger row
    that existed when it was computed. A fit or a correction booked later for a visit that closed
    in the month, or any later returns-ledger row of such a visit (its closing too), makes it stale:
    it is computed again."""

    __tablename__ = "parts_cost_months"

    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # YYYYMM, before the month computed in
    rows: Mapped[Any] = mapped_column(JSON)
    moves_upto: Mapped[int] = mapped_column(BigInteger)
    ledger_upto: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[timestamp]


class StockSnapshot(LedgerRow, Base):
    """A closed month's statement line of one part (进销存): opening, flows, closing; never changed."""

    __tablename__ = "stock_snapshots"
    __seal_stream__ = "month"
    __table_args__ = (UniqueConstraint("month", "part_id"), Index("ix_stock_snapshots_part", "part_id", "month"))

    id: Mapped[intpk]
    month: Mapped[int] = mapped_column(Integer)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    opening_qty: Mapped[int] = mapped_column(BigInteger)
    opening_value: Mapped[int] = mapped_column(BigInteger)
    receipts_qty: Mapped[int] = mapped_column(BigInteger)
    receipts_value: Mapped[int] = mapped_column(BigInteger)
    issues_qty: Mapped[int] = mapped_column(BigInteger)
    issues_value: Mapped[int] = mapped_column(BigInteger)
    returns_qty: Mapped[int] = mapped_column(BigInteger)
    returns_value: Mapped[int] = mapped_column(BigInteger)
    adjust_qty: Mapped[int] = mapped_column(BigInteger)
    adjust_value: Mapped[int] = mapped_column(BigInteger)
    scrap_qty: Mapped[int] = mapped_column(BigInteger)
    scrap_value: Mapped[int] = mapped_column(BigInteger)
    other_qty: Mapped[int] = mapped_column(BigInteger)
    other_value: Mapped[int] = mapped_column(BigInteger)
    closing_qty: Mapped[int] = mapped_column(BigInteger)
    closing_value: Mapped[int] = mapped_column(BigInteger)
    fitted_qty: Mapped[int] = mapped_column(BigInteger)
    fitted_value: Mapped[int] = mapped_column(BigInteger)
