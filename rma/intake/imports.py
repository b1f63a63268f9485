"""``rma units import``: the factory's shipment records, so warranty can be decided at intake.

Columns (header row, any order; names are case-insensitive):
  serial (required), model (required: a model code), manufactured_on, shipped_on
  (YYYY-MM-DD or YYYY/MM/DD), customer (a customer code), firmware.
Each row is created or updated as a whole, or rejected with its line number and reason:
every cell is checked against its column (length, control characters, dates within range)
before the database sees it, so SQLite and PostgreSQL give the same answer and one bad
cell never stops the rows after it. Each committed chunk writes its own audit entry, so
an import killed half-way still says who imported the rows it committed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from rma.core.ledger import record_audit
from rma.core.models import Customer, ProductModel, Role, Unit
from rma.core.parse import check_day, clean_text, control_character
from rma.core.services import get_actor, require_role
from rma.db import Database, UnitOfWork, utcnow
from rma.errors import DomainError
from rma.intake.services import SERIAL_RE

REQUIRED = ("serial", "model")
OPTIONAL = ("manufactured_on", "shipped_on", "customer", "firmware")
CHUNK = 2000
MAX_IMPORT_BYTES = 64 * 1024 * 1024  # about a million rows; more is not a shipment-records file
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected]}


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as Chinese spreadsheet exports often are."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("bad_csv", "the file is neither UTF-8 nor GB18030 text")


def _parse_date(value: str, column: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        try:
            return check_day(day, column)
        except DomainError as exc:
            raise ValueError(exc.message) from None
    raise ValueError(f"{column} {value[:40]!r} is not a date (YYYY-MM-DD)")


def _rows(text: str) -> tuple[list[str], Iterable[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DomainError("bad_csv", "the file is empty") from None
    except csv.Error as exc:
        raise DomainError("bad_csv", "the header row is not CSV: {reason}", reason=str(exc)) from None
    if any(control_character(h) for h in header):
        raise DomainError("bad_csv", "the header row has control characters")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DomainError("bad_csv", "the header lacks the column(s) {cols}; it has: {header}",
                          cols=", ".join(missing), header=", ".join(header))

    def gen():
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over the csv module's limit, a stray quote: this line only
                yield reader.line_num, {"__error__": f"not a CSV row: {exc}"}
                continue
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield line, {"__error__": f"{len(row)} fields where the header has {len(header)}"}
                continue
            yield line, dict(zip(header, row))

    return header, gen()


def import_units(
    db: Database, actor_name: str, data: bytes, *, progress: Progress | None = None,
) -> ImportReport:
    """Create or update units from a shipment-records CSV, in chunks, reporting rejected lines."""
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name="shipment records",
                          mb=MAX_IMPORT_BYTES // 2**20)
    with db.uow(readonly=True) as uow:
        actor = get_actor(uow, actor_name)
        require_role(actor, Role.ADMIN, Role.SUPERVISOR, action="import units")
        models = {m.code: (m.id, re.compile(m.serial_pattern)) for m in uow.session.scalars(select(ProductModel))}
        customers = {c.code: c.id for c in uow.session.scalars(select(Customer))}
    _, rows = _rows(decode_csv(data))
    rows = list(rows)
    report = ImportReport(rows=len(rows))
    seen: dict[str, int] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    for line, row in rows:
        if "__error__" in row:
            report.rejected.append((line, row["__error__"]))
            continue
        serial = row["serial"].strip().upper()
        code = row["model"].strip().upper()
        try:
            for column, cell in row.items():
                bad = control_character(cell)
                if bad is not None:
                    raise ValueError(f"{column} contains a control character ({bad})")
            if not SERIAL_RE.match(serial):
                raise ValueError(f"{row['serial'][:40]!r} is not a serial number")
            if serial in seen:
                raise ValueError(f"serial {serial} is also on line {seen[serial]}")
            if code not in models:
                raise ValueError(f"unknown model {code!r}")
            model_id, pattern = models[code]
            if not pattern.fullmatch(serial):
                raise ValueError(f"serial {serial} does not match the serial pattern of {code}")
            cust = (row.get("customer") or "").strip().upper()
            if cust and cust not in customers:
                raise ValueError(f"unknown customer {cust!r}")
            made = _parse_date(row.get("manufactured_on") or "", "manufactured_on")
            shipped = _parse_date(row.get("shipped_on") or "", "shipped_on")
            if made and shipped and shipped < made:
                raise ValueError("shipped before it was made")
            firmware = clean_text(row.get("firmware"), "firmware", column=Unit.firmware_version)
        except DomainError as exc:
            report.rejected.append((line, exc.message))
            continue
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
            continue
        seen[serial] = line
        good.append((line, {"serial": serial, "model_id": model_id, "manufactured_on": made, "sold_on": shipped,
                            "shipped_to_id": customers.get(cust) if cust else None, "firmware_version": firmware}))

    done = len(rows) - len(good)
    if progress:
        progress(done, len(rows))
    for start in range(0, len(good), CHUNK):
        chunk = good[start:start + CHUNK]
        try:
            _write_chunk(db, actor_name, chunk, report, len(rows))
        except (DataError, IntegrityError):
            # A row the checks above let through and the database refused: find it, keep the others.
            for one in chunk:
                try:
                    _write_chunk(db, actor_name, [one], report, len(rows))
                except (DataError, IntegrityError) as exc:
                    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                    report.rejected.append((one[0], f"the database refused it: {reason}"))
        done += len(chunk)
        if progress:
            progress(done, len(rows))
    report.rejected.sort()
    with db.uow() as uow:
        record_audit(uow, get_actor(uow, actor_name), "units_import_finished", f"{report.rows} rows",
                     {"created": report.created, "updated": report.updated, "rejected": len(report.rejected)})
    return report


def _write_chunk(db: Database, actor_name: str, chunk: list[tuple[int, dict[str, Any]]], report: ImportReport,
                 total: int) -> None:
    """One chunk in one transaction, with its own audit entry: the rows and who imported them commit together."""
    rejected: list[tuple[int, str]] = []
    with db.uow() as uow:
        created, updated = _upsert(uow, chunk, rejected)
        if created or updated:
            record_audit(uow, get_actor(uow, actor_name), "units_imported",
                         f"lines {chunk[0][0]}-{chunk[-1][0]} of {total} rows", {"created": created, "updated": updated})
    report.created += created
    report.updated += updated
    report.rejected += rejected


def _upsert(uow: UnitOfWork, chunk: list[tuple[int, dict[str, Any]]], rejected: list[tuple[int, str]]) -> tuple[int, int]:
    session = uow.session
    existing = dict(session.execute(
        select(Unit.serial, Unit.model_id).where(Unit.serial.in_([r["serial"] for _, r in chunk]))).all())
    now = utcnow()
    values = []
    for line, r in chunk:
        if r["serial"] in existing and existing[r["serial"]] != r["model_id"]:
            rejected.append((line, f"unit {r['serial']} is already known as another model"))
            continue
        values.append({**r, "created_at": now})
    if not values:
        return 0, 0
    dialect = session.get_bind().dialect.name
    table = Unit.__table__
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = ins.on_conflict_do_update(  # an empty cell keeps what we knew
        index_elements=["serial"],
        set_={c: func.coalesce(ins.excluded[c], table.c[c])
              for c in ("manufactured_on", "sold_on", "shipped_to_id", "firmware_version")},
    )
    session.execute(stmt, values)
    created = len([v for v in values if v["serial"] not in existing])
    return created, len(values) - created
