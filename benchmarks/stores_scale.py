"""The stores fixture the benchmarks share: 5,000 parts and 10,000,000 part moves over three years.

    .venv/bin/python benchmarks/stores_scale.py [--moves 10000000] [--parts 5000] [--postgres URL] [--rebuild]

Built the way the services would have left it:

- the demo is loaded through the services, dated so that its year of stores ends the month
  before the three years begin (its 152 parts, bins, suppliers, visits and closed months);
- the rest of the catalogue (to ``--parts`` in all: class A 10 %, B 20 %, C 70 %; some in
  metres) and its bins are added through the catalogue's services;
- the moves are written in bulk, in time order (ids follow time), month by month: receipts
  from a supplier against a delivery-note line, issues from a part's bin to a demo tag with
  the store's moving average, each then fitted at a designator or (sometimes) returned unused,
  old parts kept from the field, transfers between a part's two bins, scrap; class A parts
  move about 30 times as often as class C. A bin never goes below zero; the balances are the
  sums of the moves; the parts' costs are their moving averages;
- every month before the current one is closed through ``rma.inventory.reports.close_month``
  (its snapshot read from the moves, as at a month's end), and the parts ledger is sealed
  stream by stream (``rma.core.seals.reseal``). ``rma check`` finds it clean.

Building takes minutes, so the filled database is kept (with the RMA_HOME it was built with,
``home_of()``, where the demo keeps its firmware files): an SQLite file under
``$RMA_BENCH_CACHE`` (default ``~/.cache/rma-bench``) and a template database ``stores_scale_…``
on the PostgreSQL server. ``fresh_copy()`` hands each benchmark a copy of its own
(``stores_bench_…`` on PostgreSQL); ``drop_copy()`` removes it. The fixture's months are
counted back from the month it was built in.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import scale  # noqa: E402
from benchmarks.scale import _pg_admin, _pg_url  # noqa: E402
from rma import migrate  # noqa: E402
from rma.db import Database, make_engine  # noqa: E402

CACHE = Path(os.environ.get("RMA_BENCH_CACHE", Path.home() / ".cache" / "rma-bench"))
DEFAULT_MOVES = 10_000_000
DEFAULT_PARTS = 5_000
MONTHS = 36
VERSION = 1  # raise when the fixture's contents change: a cache built by older code is never taken
WEIGHTS = {"A": 30, "B": 6, "C": 1}
MOVE_COLS = ("id", "at", "month", "part_id", "seal_key", "kind", "from_id", "to_id", "store_sign", "qty_milli",
             "value_e4", "actor_id", "visit_id", "delivery_line", "designator")
CATEGORIES = ("ic", "passive", "connector", "display", "pcba", "harness", "mechanical", "consumable")


def _key(parts: int, moves: int) -> str:
    return f"stores-{parts}-{moves}-v{VERSION}"


def home_of(parts: int = DEFAULT_PARTS, moves: int = DEFAULT_MOVES) -> Path:
    """The RMA_HOME the fixture was built with (the demo's firmware files are kept there)."""
    return CACHE / f"{_key(parts, moves)}-home"


def _building_home(parts: int, moves: int) -> None:
    home = home_of(parts, moves)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["RMA_HOME"] = str(home)


def _local_month(at: datetime) -> int:
    local = at.astimezone()
    return local.year * 100 + local.month


def _month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1).astimezone()


def _bring_up_to_date(url: str) -> None:
    engine = make_engine(url)
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            print(f"upgrading the cached stores database to {migrate.head_revision()}", flush=True)
            migrate.upgrade(engine)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the catalogue, through the services

def _catalogue(db: Database, parts: int, first: int, rng: random.Random) -> dict:
    """Bins and parts up to ``parts`` in all, added by the materials clerk the day the three years begin."""
    from sqlalchemy import func, select

    from rma.core import services as core
    from rma.inventory import catalogue
    from rma.inventory.ledger import virtual
    from rma.inventory.models import LocationKind, Part, StockLocation, Supplier

    at = _month_start(first) + timedelta(hours=8)
    with db.uow(clock=lambda: at) as uow:
        have = uow.session.scalar(select(func.count()).select_from(Part))
        clerk = core.get_actor(uow, "materials")
        virtual(uow, LocationKind.SCRAP)
        n_new = max(0, parts - have)
        bins = []
        for i in range(max(1, n_new // 2 + 200)):
            code = f"K-{i // 400 + 1:02d}-{i // 20 % 20 + 1:02d}-{i % 20 + 1:02d}"
            bins.append(catalogue.add_bin(uow, clerk, code).id)
        made = []
        for i in range(n_new):
            abc = "A" if i % 10 == 0 else "B" if i % 10 in (1, 2) else "C"
            category = CATEGORIES[i % len(CATEGORIES)]
            metres = category == "harness" and i % 3 == 0
            cost = {"A": rng.uniform(8, 260), "B": rng.uniform(1, 40), "C": rng.uniform(0.01, 6)}[abc]
            part = catalogue.add_part(
                uow, clerk, part_number=f"BK-{category[:3].upper()}-{i + 1:05d}", name_zh=f"批量物料 {i + 1}",
                name_en=f"Bulk part {i + 1}", category=category, uom="m" if metres else "each", abc=abc,
                unit_cost=f"{cost:.4f}", home_bin=None,
                safety_stock="20" if i % 50 == 7 else None, reorder_qty="50" if i % 7 == 0 else None)
            made.append((part.id, abc, part.decimals, part.unit_cost_e4))
        supplier = uow.session.scalar(select(Supplier.code).order_by(Supplier.id))
        locs = dict(uow.session.execute(select(StockLocation.kind, StockLocation.id)
                                        .where(StockLocation.kind != "bin")).all())
        users = dict(uow.session.execute(text("SELECT username, id FROM users")).all())
        visits = [r[0] for r in uow.session.execute(text("SELECT id FROM visits ORDER BY id"))]
    return {"parts": made, "bins": bins, "supplier": supplier, "locs": locs, "users": users, "visits": visits}


# ---------------------------------------------------------------- the moves, in bulk

class _Writer(scale._Writer):
    """The scale fixture's bulk writer (executemany on SQLite, COPY on PostgreSQL), with foreign keys
    off on PostgreSQL too and a bigger SQLite cache, and a statement that answers rows."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        cur = self.raw.cursor()
        if self.pg:
            cur.execute("SET session_replication_role = replica")  # rows are valid by construction: no FK checks
        else:
            cur.execute("PRAGMA cache_size=-400000")

    def execute(self, sql: str, params: tuple = ()) -> list:
        cur = self.raw.cursor()
        if params:
            cur.execute(sql.replace("?", "%s") if self.pg else sql, params)
        else:  # no parameters: psycopg leaves a '%' in the text alone, sqlite3 refuses None
            cur.execute(sql)
        try:
            return cur.fetchall()
        except Exception:  # noqa: BLE001 (no rows to fetch)
            return []


def _set_aside_indexes(w: _Writer) -> list[str]:
    """The parts ledger's secondary indexes (and SQLite's replace guard, a trigger on insert) are
    dropped for the bulk insert and made again after it, from their own definitions."""
    if w.pg:
        rows = w.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stock_moves' "
                         "AND indexname LIKE 'ix_%'")
        for name, _sql in rows:
            w.execute(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]
    rows = w.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'stock_moves' AND "
                     "((type = 'index' AND name LIKE 'ix_%') OR (type = 'trigger' AND name LIKE '%no_replace'))")
    for kind, name, _sql in rows:
        w.execute(f'DROP {kind.upper()} "{name}"')
    return [sql for _k, _n, sql in rows]


def _moves(w: _Writer, cat: dict, moves: int, first: int, current: int, seed: int, progress) -> dict:  # noqa: ANN001, C901
    from rma.inventory.amounts import add_months

    rng = random.Random(seed)
    parts = cat["parts"]
    locs, users, visits, bins = cat["locs"], cat["users"], cat["visits"], cat["bins"]
    supplier, bench, consumed = locs["supplier"], locs["bench"], locs["consumed"]
    field, old, scrap = locs["field"], locs["old_parts"], locs["scrap"]
    clerk, tech = users["materials"], users["technician"]
    signed = {supplier, field, locs["count"]}
    home = {pid: bins[k % len(bins)] for k, (pid, *_r) in enumerate(parts)}
    alt = {pid: bins[(k * 7 + 3) % len(bins)] for k, (pid, *_r) in enumerate(parts)}
    for pid in alt:
        if alt[pid] == home[pid]:
            alt[pid] = bins[(bins.index(home[pid]) + 1) % len(bins)]
    weight = {pid: WEIGHTS[abc] for pid, abc, _d, _c in parts}
    total_weight = sum(weight.values())
    step = {pid: 10 ** (3 - d) for pid, _a, d, _c in parts}  # the unit's smallest quantity, in thousandths
    cost = {pid: c for pid, _a, _d, c in parts}
    qty = {pid: [0, 0] for pid, *_r in parts}  # home, alt
    store = {pid: [0, 0] for pid, *_r in parts}  # quantity, value
    balances: dict[tuple[int, int], list[int]] = {}
    per_month = moves / MONTHS
    now = datetime.now(timezone.utc)
    next_id = int(w.execute("SELECT coalesce(max(id), 0) FROM stock_moves")[0][0]) + 1
    written = 0
    t0 = time.perf_counter()

    def bal(pid: int, src: int, dst: int, q: int, v: int) -> None:
        a = balances.setdefault((pid, src), [0, 0])
        a[0] -= q
        a[1] -= v
        b = balances.setdefault((pid, dst), [0, 0])
        b[0] += q
        b[1] += v

    month = first
    while month <= current:
        start = _month_start(month)
        end = min(_month_start(add_months(month, 1)), now - timedelta(minutes=1))
        span = max(60.0, (end - start).total_seconds())
        events = []  # (time, part, kind, from, to, store_sign, qty, value, actor, visit, designator)
        for pid, *_r in parts:
            n = int(per_month * weight[pid] / total_weight * rng.uniform(0.6, 1.4) + rng.random())
            if n == 0:
                continue
            times = sorted(rng.random() for _ in range(n + 2))
            ti = 0
            unit = step[pid] * (1 if step[pid] == 1000 else 50)  # 1 each, or 0.5 m
            h, s = qty[pid], store[pid]
            made = 0
            while made < n - 1:
                r = rng.random()
                if r < 0.78:  # an issue to a tag, then fitted (or returned unused)
                    q = unit * (rng.choice((1, 1, 1, 2, 4)) if weight[pid] > 6 else 1)
                    if h[0] < q:  # a delivery first
                        lot = max(q * 4, int(per_month * weight[pid] / total_weight * 0.6) * unit)
                        c = int(cost[pid] * rng.uniform(0.95, 1.05))
                        v = lot * c // 1000
                        events.append((times[ti], pid, "receipt", supplier, home[pid], 1, lot, v, clerk, None, None))
                        ti += 1
                        made += 1
                        h[0] += lot
                        s[0] += lot
                        s[1] += v
                    v = s[1] if q >= s[0] else (2 * s[1] * q + s[0]) // (2 * s[0])
                    visit = visits[rng.randrange(len(visits))]
                    events.append((times[ti], pid, "issue", home[pid], bench, -1, q, v, clerk, visit, None))
                    ti += 1
                    h[0] -= q
                    s[0] -= q
                    s[1] -= v
                    if rng.random() < 0.06:
                        events.append((times[ti], pid, "return", bench, home[pid], 1, q, v, tech, visit, None))
                        h[0] += q
                        s[0] += q
                        s[1] += v
                    else:
                        events.append((times[ti], pid, "fit", bench, consumed, 0, q, v, tech, visit,
                                       f"U{rng.randint(1, 99)}"))
                    ti += 1
                    made += 2
                elif r < 0.9:  # a faulty part kept for the supplier claim
                    events.append((times[ti], pid, "old_part", field, old, 0, unit, 0, tech,
                                   visits[rng.randrange(len(visits))], None))
                    ti += 1
                    made += 1
                elif r < 0.96:  # between the part's two bins
                    if h[1] > 0:
                        q, src, dst = h[1], alt[pid], home[pid]
                        h[0] += q
                        h[1] = 0
                    elif h[0] >= 2 * unit:
                        q, src, dst = h[0] // (2 * unit) * unit, home[pid], alt[pid]
                        h[0] -= q
                        h[1] += q
                    else:
                        continue
                    v = s[1] if q >= s[0] else (2 * s[1] * q + s[0]) // (2 * s[0])
                    events.append((times[ti], pid, "transfer", src, dst, 0, q, v, clerk, None, None))
                    ti += 1
                    made += 1
                elif r < 0.97 and h[0] >= unit:  # scrapped from the bin
                    v = s[1] if unit >= s[0] else (2 * s[1] * unit + s[0]) // (2 * s[0])
                    events.append((times[ti], pid, "scrap", home[pid], scrap, -1, unit, v, clerk, None, None))
                    ti += 1
                    made += 1
                    h[0] -= unit
                    s[0] -= unit
                    s[1] -= v
                else:  # a delivery
                    lot = max(unit * 10, int(per_month * weight[pid] / total_weight * 0.5) * unit)
                    c = int(cost[pid] * rng.uniform(0.95, 1.05))
                    v = lot * c // 1000
                    events.append((times[ti], pid, "receipt", supplier, home[pid], 1, lot, v, clerk, None, None))
                    ti += 1
                    made += 1
                    h[0] += lot
                    s[0] += lot
                    s[1] += v
                if ti >= len(times) - 2:
                    times += sorted(times[-1] + (1 - times[-1]) * rng.random() for _ in range(8))
        events.sort(key=lambda e: e[0])
        rows = []
        for t, pid, kind, src, dst, sign, q, v, actor, visit, designator in events:
            at = start + timedelta(seconds=min(t, 0.999999) * span)
            line = f"{supplier_code(cat)}|BK{month}-{next_id}|1" if kind == "receipt" else None
            rows.append((next_id, w.ts(at), month, pid, pid * 1_000_000 + month, kind, src, dst, sign, q, v, actor,
                         visit, line, designator))
            bal(pid, src, dst, q, v)
            next_id += 1
        for i in range(0, len(rows), 50_000):
            w.write("stock_moves", MOVE_COLS, rows[i:i + 50_000])
        w.commit()
        written += len(rows)
        progress(f"  {month // 100}-{month % 100:02d}: {written:,} moves ({time.perf_counter() - t0:.0f} s)")
        month = add_months(month, 1)
    w.write("stock_balances", ("part_id", "location_id", "qty_milli", "value_e4", "signed"),
            [(pid, loc, q, v, loc in signed) for (pid, loc), (q, v) in sorted(balances.items())])
    costs = [(s[1] * 1000 // s[0], pid) for pid, s in store.items() if s[0] > 0]
    cur = w.raw.cursor()
    if w.pg:  # ids were given: the sequence goes on after them
        cur.execute("SELECT setval(pg_get_serial_sequence('stock_moves', 'id'), (SELECT max(id) FROM stock_moves))")
    cur.executemany("UPDATE parts SET unit_cost_e4 = %s WHERE id = %s" if w.pg else
                    "UPDATE parts SET unit_cost_e4 = ? WHERE id = ?", costs)
    w.commit()
    return {"moves": written, "balances": len(balances)}


def supplier_code(cat: dict) -> str:
    return cat["supplier"]


def build(url: str, *, parts: int = DEFAULT_PARTS, moves: int = DEFAULT_MOVES, seed: int = 20261201,
          progress=print) -> dict[str, float]:  # noqa: ANN001
    """Migrate ``url``, load the demo, add the catalogue, write the moves, close the months, seal."""
    from rma.core import seals
    from rma.core import services as core
    from rma.demo import load_demo
    from rma.inventory import reports
    from rma.inventory.amounts import add_months, month_text
    from rma.inventory.ledger import last_closed_month

    timings: dict[str, float] = {}
    current = _local_month(datetime.now(timezone.utc))
    first = add_months(current, -(MONTHS - 1))
    t = time.perf_counter()
    engine = make_engine(url)
    migrate.upgrade(engine)
    db = Database(engine)
    load_demo(db, today=date(first // 100, first % 100, 1))  # the demo's year of stores ends before the three
    cat = _catalogue(db, parts, first, random.Random(seed))
    timings["demo and catalogue"] = time.perf_counter() - t

    t = time.perf_counter()
    w = _Writer(url)
    saved = _set_aside_indexes(w)
    w.commit()
    done = _moves(w, cat, moves, first, current, seed, progress)
    timings["moves"] = time.perf_counter() - t
    t = time.perf_counter()
    progress(f"  the moves written ({timings['moves']:.0f} s); indexing, sealing, closing the months …")
    for sql in saved:
        w.execute(sql)
    w.commit()
    w.close()
    timings["indexes"] = time.perf_counter() - t

    t = time.perf_counter()
    with engine.begin() as conn:
        seals.reseal(conn, seals.ledger_for("stock_moves"))
    timings["seal"] = time.perf_counter() - t

    t = time.perf_counter()
    with db.uow(readonly=True) as uow:
        closed = last_closed_month(uow)
    month = add_months(closed, 1)
    while month < current:  # each month closed by the clerk the morning after it ended
        at = min(_month_start(add_months(month, 1)) + timedelta(hours=9), datetime.now(timezone.utc))
        with db.uow(clock=lambda at=at: at) as uow:
            reports.close_month(uow, core.get_actor(uow, "materials"), month_text(month))
        month = add_months(month, 1)
    timings["closing"] = time.perf_counter() - t

    t = time.perf_counter()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # as autovacuum leaves a live database: index-only scans work
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    if make_url(url).get_backend_name() == "sqlite":
        plain = create_engine(url)
        with plain.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.dispose()
    timings["analyze"] = time.perf_counter() - t
    progress(f"  {done['moves']:,} moves written, {done['balances']:,} balances; months closed up to "
             f"{month_text(add_months(current, -1))}")
    return timings


# ---------------------------------------------------------------- cached copies

def ensure(kind: str, *, parts: int = DEFAULT_PARTS, moves: int = DEFAULT_MOVES, pg_base: str | None = None,
           rebuild: bool = False) -> str:
    """The cached filled database (a file path or a template database name), built if missing."""
    key = _key(parts, moves)
    if kind == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = CACHE / f"{key}.sqlite"
        if rebuild or not path.exists():
            tmp = path.with_suffix(".building")
            for p in CACHE.glob(f"{tmp.name}*"):
                p.unlink()
            print(f"building the SQLite stores database ({parts:,} parts, {moves:,} moves) in {path} …", flush=True)
            _building_home(parts, moves)
            t = build(f"sqlite:///{tmp}", parts=parts, moves=moves)
            tmp.replace(path)
            print(f"  built in {sum(t.values()):.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()),
                  flush=True)
        _bring_up_to_date(f"sqlite:///{path}")
        return str(path)
    assert pg_base, "PostgreSQL needs a server URL"
    name = "stores_scale_" + key.split("-", 1)[1].replace("-", "_")
    with _pg_admin(pg_base).connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and rebuild:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            building = f"{name}_building"
            conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{building}"'))
            print(f"building the PostgreSQL stores database ({parts:,} parts, {moves:,} moves) as {name} …",
                  flush=True)
            _building_home(parts, moves)
            t = build(_pg_url(pg_base, building), parts=parts, moves=moves)
            conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            print(f"  built in {sum(t.values()):.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()),
                  flush=True)
    _bring_up_to_date(_pg_url(pg_base, name))
    return name


def fresh_copy(kind: str, workdir: Path, *, parts: int = DEFAULT_PARTS, moves: int = DEFAULT_MOVES,
               pg_base: str | None = None) -> str:
    """A database URL holding a copy of the stores fixture that a benchmark may change."""
    return scale.copy_of(ensure(kind, parts=parts, moves=moves, pg_base=pg_base), kind, workdir,
                         file_prefix="stores", db_prefix="stores_bench_", pg_base=pg_base)


def drop_copy(url: str) -> None:
    u = make_url(url)
    assert u.get_backend_name() == "sqlite" or u.database.startswith("stores_bench_"), u.database
    scale.drop_copy(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=DEFAULT_MOVES)
    ap.add_argument("--parts", type=int, default=DEFAULT_PARTS)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"),
                    help="a PostgreSQL server URL (user with CREATEDB); default $RMA_BENCH_POSTGRES_URL")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    if args.only != "postgresql":
        print(ensure("sqlite", parts=args.parts, moves=args.moves, rebuild=args.rebuild))
    if args.postgres and args.only != "sqlite":
        print(ensure("postgresql", parts=args.parts, moves=args.moves, pg_base=args.postgres, rebuild=args.rebuild))


if __name__ == "__main__":
    main()
