"""How long `rma units import` takes for 100,000 shipment records (run by hand).

    .venv/bin/python benchmarks/units_import.py [--rows 100000] [--runs 3] [--postgres URL]

Each run imports into a fresh database (all rows created), then again (all rows updated).
Prints the median seconds and rows per second of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from rma import migrate  # noqa: E402
from rma.core import catalogue, services  # noqa: E402
from rma.core.models import Role  # noqa: E402
from rma.db import Database, make_engine  # noqa: E402
from rma.intake.imports import import_units  # noqa: E402


def make_csv(rows: int) -> bytes:
    lines = ["serial,model,manufactured_on,shipped_on,customer,firmware"]
    for i in range(rows):
        lines.append(f"HU88{i:06d},HU-8800,2025-{1 + i % 12:02d}-{1 + i % 28:02d},2025-12-{1 + i % 28:02d},C{i % 12:03d},3.2.{i % 3}")
    return ("\n".join(lines) + "\n").encode()


def fresh(url: str) -> Database:
    engine = make_engine(url)
    migrate.upgrade(engine)
    db = Database(engine)
    with db.uow() as uow:
        admin = services.add_user(uow, None, username="admin", password="admin-pass", roles=[Role.ADMIN, Role.SUPERVISOR])
        catalogue.add_model(uow, admin, code="HU-8800", name="Head unit", serial_pattern=r"^HU88\d{6}$", warranty_months=24)
        for i in range(12):
            catalogue.add_customer(uow, admin, code=f"C{i:03d}", name=f"Dealer {i}")
    return db


def sqlite_url(tmp: str) -> str:
    return f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.sqlite"


def pg_url(base: str) -> str:
    name = f"rma_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("RMA_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    data = make_csv(args.rows)
    targets = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    print(f"{args.rows} rows, {len(data) / 1e6:.1f} MB CSV, {args.runs} runs each, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for name, base in targets:
            create, update = [], []
            for _ in range(args.runs):
                db = fresh(sqlite_url(tmp) if base is None else pg_url(base))
                t = time.perf_counter()
                r = import_units(db, "admin", data)
                create.append(time.perf_counter() - t)
                assert r.created == args.rows and not r.rejected, r.as_dict()
                t = time.perf_counter()
                r = import_units(db, "admin", data)
                update.append(time.perf_counter() - t)
                assert r.updated == args.rows
                db.dispose()
            for label, times in (("create", create), ("update", update)):
                med = statistics.median(times)
                print(f"{name:<10} {label}: median {med:.2f} s ({args.rows / med:,.0f} rows/s); runs "
                      + ", ".join(f"{t:.2f}" for t in times))


if __name__ == "__main__":
    main()
