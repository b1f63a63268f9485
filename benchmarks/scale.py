"""The scale fixture the benchmarks share: a department's few years, 1,000,000 past visits.

    .venv/bin/python benchmarks/scale.py [--visits 1000000] [--postgres URL] [--rebuild]

First the demo is loaded through the services (users, catalogue, dealers, reason codes,
interception plans and its few dozen visits); then the past is written in bulk, the way the
services would have left it: units, inbound parcels, visits with their intake records,
every move in the returns ledger (a shipped visit has seven: opened, to the bench, repair
started, repair done, test started, test passed, shipped), outbound parcels, the bench's
record of every visit it decided on (its repair card with the coded complaint, one or two
findings, the technician's labour session), and the seals of every ledger stream. Most visits were shipped back; some were refurbished, scrapped or
returned unrepaired; about one in eight units came back more than once.

Building takes minutes, so the filled database is kept: an SQLite file under
``$RMA_BENCH_CACHE`` (default ``~/.cache/rma-bench``) and a template database on the
PostgreSQL server. ``fresh_copy()`` hands each benchmark a copy of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
import uuid
from collections import deque
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from rma import migrate  # noqa: E402
from rma.db import Database, make_engine  # noqa: E402

CACHE = Path(os.environ.get("RMA_BENCH_CACHE", Path.home() / ".cache" / "rma-bench"))
DEFAULT_VISITS = 1_000_000
CHUNK = 20_000  # visits written per batch
YEARS = 3


# Raised whenever what the fixture holds changes (not for a migration: those upgrade it in
# place), so that a cache built by older code is never taken for the new one.
# 2: the bench's cards, findings and labour; the test plans sealed.
FIXTURE_VERSION = 2


def _cache_key(visits: int) -> str:
    return f"scale-v{FIXTURE_VERSION}-{visits}"


def _bring_up_to_date(url: str) -> None:
    """A cached database made before the latest migrations is upgraded in place, not rebuilt; and
    its query planner's statistics refreshed, as ``rma db upgrade`` and a serving station do."""
    engine = make_engine(url)
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            print(f"upgrading the cached scale database {make_url(url).database} to {migrate.head_revision()}",
                  flush=True)
            migrate.upgrade(engine)
        Database(engine).refresh_statistics()
    finally:
        engine.dispose()


# ---------------------------------------------------------------- building

class _Writer:
    """Bulk rows into one database: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.pg = self.engine.dialect.name == "postgresql"
        self.raw = self.engine.raw_connection()
        if not self.pg:
            self.raw.execute("PRAGMA synchronous=OFF")
            self.raw.execute("PRAGMA foreign_keys=OFF")

    def next_id(self, table: str) -> int:
        cur = self.raw.cursor()
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return int(cur.fetchone()[0]) + 1

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        cur = self.raw.cursor()
        if self.pg:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()
        self.engine.dispose()

    def ts(self, value: datetime) -> object:
        # SQLite keeps naive UTC text as SQLAlchemy writes it; PostgreSQL takes the aware value.
        return value if self.pg else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(self, value: date | None) -> object:
        return value if self.pg or value is None else value.isoformat()

    def js(self, value: object) -> str:
        return json.dumps(value, ensure_ascii=False)


UNIT_COLS = ("id", "serial", "model_id", "manufactured_on", "sold_on", "shipped_to_id", "firmware_version", "created_at")
PARCEL_COLS = ("id", "direction", "courier", "waybill", "customer_id", "declared_count", "cost", "opened_by_id",
               "opened_at", "closed_by_id", "closed_at", "scanned_count", "discrepancy", "note")
VISIT_COLS = ("id", "tag", "unit_id", "customer_id", "state", "return_reason", "opened_at", "closed_at", "version")
INTAKE_COLS = ("visit_id", "parcel_id", "reason_code", "warranty", "warranty_until", "warranty_basis",
               "repeat_of_id", "model_chosen", "accessories")
ITEM_COLS = ("id", "parcel_id", "unit_id", "visit_id", "added_at")
LEDGER_COLS = ("id", "visit_id", "at", "actor_id", "event", "from_state", "to_state", "details", "corrects_id")
CARD_COLS = ("visit_id", "model_id", "technician_id", "assigned_at", "started_at", "condition_code", "symptom_code",
             "complaint_note", "decision", "decided_at", "decided_by_id", "updated_at", "version")
FINDING_COLS = ("id", "visit_id", "model_id", "symptom_code", "sign", "corrects_id", "nff", "section_code",
                "designator", "defect_code", "repair_code", "note", "technician_id", "at")
LABOUR_COLS = ("id", "visit_id", "technician_id", "started_at", "ended_at", "end_kind")
BENCH_DECISIONS = {"repair_done": "test", "scrapped": "scrap"}


def _bench_cases() -> dict[str, list[tuple]]:
    """Per model family, the failure modes the bench codes: (condition, symptom, section, designator,
    defect, repair) — the demo's, so suggestions at scale look like the demo's."""
    from rma.demo import CASE_CODES, CASES

    return {family: [CASE_CODES[c.fault] for c in cases] for family, cases in CASES.items()}


def _findings_of(rng: random.Random, cases: list[tuple], case: tuple, scrapped: bool) -> list[tuple]:
    """One finding, sometimes two; most are the case's own, some another case's of the family (noise)."""
    found = [case if rng.random() < 0.85 else rng.choice(cases)]
    if rng.random() < 0.2:
        found.append(rng.choice(cases))
    out = []
    for c in found:
        section, designator, defect, repair = c[2:]
        out.append((section, designator, defect, "R10" if scrapped else repair))
    return list(dict.fromkeys(out))

JOURNEYS = {  # final state -> the moves after "opened", each (event, from, to)
    "shipped": (("to_bench", "received", "awaiting_bench"), ("repair_started", "awaiting_bench", "in_repair"),
                ("repair_done", "in_repair", "awaiting_test"), ("test_started", "awaiting_test", "in_test"),
                ("test_passed", "in_test", "passed"), ("shipped", "passed", "shipped")),
    "refurbished": (("to_bench", "received", "awaiting_bench"), ("repair_started", "awaiting_bench", "in_repair"),
                    ("repair_done", "in_repair", "awaiting_test"), ("test_started", "awaiting_test", "in_test"),
                    ("test_passed", "in_test", "passed"), ("refurbished_into_stock", "passed", "refurbished")),
    "scrapped": (("to_bench", "received", "awaiting_bench"), ("repair_started", "awaiting_bench", "in_repair"),
                 ("scrapped", "in_repair", "scrapped")),
    "returned_unrepaired": (("to_bench", "received", "awaiting_bench"),
                            ("returned_unrepaired", "awaiting_bench", "returned_unrepaired")),
}
ENDINGS = (("shipped", 95), ("refurbished", 3), ("scrapped", 1), ("returned_unrepaired", 1))


def home_of(visits: int) -> Path:
    """The data folder the fixture's demo wrote its files to (firmware images, photos): a copy of
    the database is only whole with it, as ``rma check`` hashes the firmware files again."""
    return CACHE / f"{_cache_key(visits)}-home"


def build(url: str, visits: int, *, seed: int = 20261130, progress=print) -> dict[str, float]:  # noqa: ANN001
    """Migrate ``url``, load the demo through the services, then write ``visits`` past visits in bulk."""
    from rma.core import seals
    from rma.demo import MODELS, REASONS, load_demo

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    engine = make_engine(url)
    migrate.upgrade(engine)
    db = Database(engine)
    home, os.environ["RMA_HOME"] = os.environ.get("RMA_HOME"), str(home_of(visits))
    try:
        load_demo(db)
    finally:
        if home is None:
            os.environ.pop("RMA_HOME")
        else:
            os.environ["RMA_HOME"] = home
    timings["demo"] = time.perf_counter() - t0
    with engine.connect() as conn:
        users = dict(conn.execute(text("SELECT username, id FROM users")).all())
        models = dict(conn.execute(text("SELECT code, id FROM product_models")).all())
        customers = [r[0] for r in conn.execute(text("SELECT id FROM customers ORDER BY id"))]
        serials = {r[0] for r in conn.execute(text("SELECT serial FROM units"))}
        tag_numbers = dict(conn.execute(text("SELECT prefix, last_number FROM tag_sequences")).all())
        first_demo = conn.execute(text("SELECT min(opened_at) FROM visits")).scalar()
    db.dispose()
    if isinstance(first_demo, str):
        first_demo = datetime.fromisoformat(first_demo)
    if first_demo.tzinfo is None:
        first_demo = first_demo.replace(tzinfo=timezone.utc)

    rng = random.Random(seed)
    specs = [s for s in MODELS if s.code in models]
    weights = [s.units for s in specs]
    end = first_demo - timedelta(days=10)
    start = end - timedelta(days=365 * YEARS)
    span = (end - start).total_seconds()
    endings = [e for e, _ in ENDINGS]
    ending_weights = [w for _, w in ENDINGS]
    clerk, tech, tester = users["clerk"], users["technician"], users["tester"]
    bench_cases = _bench_cases()
    counters: dict[tuple[str, str], int] = {}

    w = _Writer(url)
    unit_id, visit_id, parcel_id, item_id, ledger_id, finding_id, labour_id = (
        w.next_id("units"), w.next_id("visits"), w.next_id("parcels"), w.next_id("parcel_items"),
        w.next_id("returns_ledger"), w.next_id("bench_findings"), w.next_id("bench_labour"))
    returning: deque[tuple[datetime, int, str, int, str]] = deque()  # (left at, unit, model, visit, tag): may come back
    t1 = time.perf_counter()
    rows_total = 0
    done = 0
    while done < visits:
        n = min(CHUNK, visits - done)
        units, parcels, vrows, intake, items, ledger = [], [], [], [], [], []
        cards, findings, labour = [], [], []
        parcel_left = 0
        current_parcel = None
        for k in range(n):
            i = done + k
            opened = start + timedelta(seconds=span * i / visits + rng.uniform(0, 60))
            customer = customers[(i // 3) % len(customers)]
            if parcel_left == 0:  # a parcel of one to three units from one dealer
                parcel_left = rng.choice((1, 1, 2, 3))
                current_parcel = parcel_id
                courier = rng.choice(("SF", "ZTO", "YTO", "JD", "EMS"))
                parcels.append((parcel_id, "in", courier, f"B{parcel_id:012d}", customer, parcel_left,
                                f"{rng.uniform(18, 40):.2f}", clerk, w.ts(opened), clerk,
                                w.ts(opened + timedelta(minutes=30)), parcel_left, None, None))
                parcel_id += 1
            parcel_left -= 1
            repeat_of = None
            if returning and returning[0][0] < opened - timedelta(days=5) and rng.random() < 0.12:
                left, uid, model_code, previous, previous_tag = returning.popleft()
                spec = next(s for s in specs if s.code == model_code)
                if opened - left <= timedelta(days=90):
                    repeat_of = (previous, previous_tag)
            else:
                spec = rng.choices(specs, weights)[0]
                made = (opened - timedelta(days=rng.randint(60, 700))).date()
                key = (spec.code, f"{made:%y%m}")
                counters[key] = counters.get(key, 0) + 1
                number = counters[key]
                serial = (spec.serial(made, 50000 + number % 50000, "Z") if spec.line_letter
                          else spec.serial(made, 600000 + number, "A"))
                while serial in serials:  # never a demo unit's serial
                    number += 1
                    serial = (spec.serial(made, 50000 + number % 50000, "Z") if spec.line_letter
                              else spec.serial(made, 600000 + number, "A"))
                serials.add(serial)
                uid = unit_id
                unit_id += 1
                sold = made + timedelta(days=rng.randint(10, 90))
                units.append((uid, serial, models[spec.code], w.day(made), w.day(sold), customer, spec.firmware,
                              w.ts(opened)))
            ending = rng.choices(endings, ending_weights)[0]
            prefix = f"R{opened:%y}"
            tag_numbers[prefix] = tag_numbers.get(prefix, 0) + 1
            tag = f"{prefix}-{tag_numbers[prefix]:06d}"
            reason_code, reason_text = REASONS[i % (len(REASONS) - 1)]
            at = opened
            ledger.append((ledger_id, visit_id, w.ts(at), clerk, "opened", None, "received", w.js({
                "reason": reason_text, "parcel": f"SF B{current_parcel:012d}", "reason_code": reason_code,
                "warranty": "in", "warranty_until": None, "repeat_of": repeat_of[1] if repeat_of else None, "interceptions": [],
                "accessories": []}), None))
            ledger_id += 1
            started = None
            for event, from_state, to_state in JOURNEYS[ending]:
                at += timedelta(hours=rng.uniform(1, 30))
                if event == "repair_started":
                    started = at
                elif event in BENCH_DECISIONS:  # the bench's repair card, findings and labour
                    family_cases = bench_cases[spec.family]
                    case = rng.choice(family_cases)
                    found_at = at - timedelta(minutes=rng.uniform(1, 20))
                    for section, designator, defect, repair in _findings_of(rng, family_cases, case,
                                                                            event == "scrapped"):
                        findings.append((finding_id, visit_id, models[spec.code], case[1], 1, None, False, section,
                                         designator, defect, repair, None, tech, w.ts(found_at)))
                        finding_id += 1
                    labour.append((labour_id, visit_id, tech, w.ts(started), w.ts(at), "decision"))
                    labour_id += 1
                    cards.append((visit_id, models[spec.code], tech, w.ts(started), w.ts(started), case[0], case[1],
                                  None, BENCH_DECISIONS[event], w.ts(at), tech, w.ts(at), 1))
                actor = {"to_bench": clerk, "test_started": tester, "test_passed": tester, "shipped": clerk}.get(
                    event, tech)
                details = ({"parcel": f"B{current_parcel:012d}"} if event == "to_bench" else
                           {"station": "test-1", "attempt": 1} if event.startswith("test_") else
                           {"courier": "SF", "waybill": f"B{parcel_id:012d}", "customer": str(customer)}
                           if event == "shipped" else {})
                ledger.append((ledger_id, visit_id, w.ts(at), actor, event, from_state, to_state, w.js(details), None))
                ledger_id += 1
            closed = at
            vrows.append((visit_id, tag, uid, customer, ending, reason_text, w.ts(opened), w.ts(closed), 1))
            intake.append((visit_id, current_parcel, reason_code, "in", None, "sold", repeat_of[0] if repeat_of else None,
                           False, w.js([])))
            if ending == "shipped":
                parcels.append((parcel_id, "out", "SF", f"B{parcel_id:012d}", customer, None,
                                f"{rng.uniform(18, 40):.2f}", clerk, w.ts(closed), None, None, None, None, None))
                items.append((item_id, parcel_id, uid, visit_id, w.ts(closed)))
                parcel_id += 1
                item_id += 1
                returning.append((closed, uid, spec.code, visit_id, tag))
                if len(returning) > 50_000:
                    returning.popleft()
            visit_id += 1
        w.write("units", UNIT_COLS, units)
        w.write("parcels", PARCEL_COLS, parcels)
        w.write("visits", VISIT_COLS, vrows)
        w.write("intake_records", INTAKE_COLS, intake)
        w.write("parcel_items", ITEM_COLS, items)
        w.write("returns_ledger", LEDGER_COLS, ledger)
        w.write("repair_cards", CARD_COLS, cards)
        w.write("bench_findings", FINDING_COLS, findings)
        w.write("bench_labour", LABOUR_COLS, labour)
        w.commit()
        rows_total += len(ledger)
        done += n
        if done % 200_000 == 0 or done == visits:
            progress(f"  {done:,} visits, {rows_total:,} ledger rows ({time.perf_counter() - t1:.0f} s)")
    cur = w.raw.cursor()
    for prefix, number in tag_numbers.items():
        if w.pg:
            cur.execute("INSERT INTO tag_sequences (prefix, last_number) VALUES (%s, %s) ON CONFLICT (prefix) "
                        "DO UPDATE SET last_number = excluded.last_number", (prefix, number))
        else:
            cur.execute("INSERT INTO tag_sequences (prefix, last_number) VALUES (?, ?) ON CONFLICT (prefix) "
                        "DO UPDATE SET last_number = excluded.last_number", (prefix, number))
    if w.pg:
        for table in ("units", "visits", "parcels", "parcel_items", "returns_ledger", "bench_findings", "bench_labour"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    w.commit()
    w.close()
    timings["bulk"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as conn:
        seals.reseal(conn, seals.ledger_for("returns_ledger"))
        seals.reseal(conn, seals.ledger_for("bench_findings"))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # as autovacuum leaves a live database: index-only scans work
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    timings["seal"] = time.perf_counter() - t2
    timings["ledger_rows"] = rows_total
    return timings


# ---------------------------------------------------------------- cached copies

def _pg_admin(base: str):  # noqa: ANN202
    return create_engine(base, isolation_level="AUTOCOMMIT")


def _pg_url(base: str, name: str) -> str:
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def ensure(kind: str, visits: int, *, pg_base: str | None = None, rebuild: bool = False) -> str:
    """The cached filled database (a file path or a template database name), built if missing."""
    key = _cache_key(visits)
    if kind == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"{key}.sqlite"
        if rebuild or not path.exists():
            tmp = path.with_suffix(".building")
            for p in CACHE.glob(f"{tmp.name}*"):
                p.unlink()
            print(f"building the SQLite scale database ({visits:,} visits) in {path} …", flush=True)
            t = build(f"sqlite:///{tmp}", visits)
            engine = create_engine(f"sqlite:///{tmp}")
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            tmp.replace(path)
            print(f"  built in {sum(v for k, v in t.items() if k != 'ledger_rows'):.0f} s: {t}", flush=True)
        _bring_up_to_date(f"sqlite:///{path}")
        return str(path)
    assert pg_base, "PostgreSQL needs a server URL"
    name = key.replace("-", "_")
    with _pg_admin(pg_base).connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and rebuild:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            building = f"{name}_building"
            conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{building}"'))
            print(f"building the PostgreSQL scale database ({visits:,} visits) as {name} …", flush=True)
            t = build(_pg_url(pg_base, building), visits)
            conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            print(f"  built in {sum(v for k, v in t.items() if k != 'ledger_rows'):.0f} s: {t}", flush=True)
    _bring_up_to_date(_pg_url(pg_base, name))
    return name


def copy_of(source: str, kind: str, workdir: Path, *, file_prefix: str, db_prefix: str,
            pg_base: str | None = None) -> str:
    """A database URL holding a copy of a cached fixture (a file, or a template database)."""
    if kind == "sqlite":
        target = workdir / f"{file_prefix}-{uuid.uuid4().hex[:6]}.sqlite"
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    name = f"{db_prefix}{uuid.uuid4().hex[:8]}"
    with _pg_admin(pg_base).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    return _pg_url(pg_base, name)


def fresh_copy(kind: str, visits: int, workdir: Path, *, pg_base: str | None = None) -> str:
    """A database URL holding a copy of the scale fixture that a benchmark may change."""
    return copy_of(ensure(kind, visits, pg_base=pg_base), kind, workdir, file_prefix="scale",
                   db_prefix="rma_bench_", pg_base=pg_base)


def drop_copy(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(u.database + suffix).unlink(missing_ok=True)
        return
    base = u.set(database="postgres").render_as_string(hide_password=False)
    with _pg_admin(base).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=DEFAULT_VISITS)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"),
                    help="a PostgreSQL server URL (user with CREATEDB); default $RMA_BENCH_POSTGRES_URL")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    if args.only != "postgresql":
        print(ensure("sqlite", args.visits, rebuild=args.rebuild))
    if args.postgres and args.only != "sqlite":
        print(ensure("postgresql", args.visits, pg_base=args.postgres, rebuild=args.rebuild))


if __name__ == "__main__":
    main()
