"""The stores at three years: statement, issue by scan, reorder, rma check (run by hand; never a timed test).

    .venv/bin/python benchmarks/stores.py [--moves 10000000] [--parts 5000] [--issues 200] [--postgres URL]
                                          [--only sqlite|postgresql]

On a copy of the stores fixture (``benchmarks/stores_scale.py``: 5,000 parts, 10,000,000 moves
over 36 months, every month before this one closed, every stream sealed), prints:

- the monthly statement (``reports.statement``) of the open month, which reads the last closed
  month's snapshot and the month's moves (the fixture's current month holds a full month of
  them), and of the last closed month (its snapshot); median of 5;
- one issue by scan: ``--issues`` units put on the bench and asking for a part, each issued
  the way the /stores page does it (three scans, each ``stock.classify_scan`` in its own read,
  then ``services.issue_to_tag`` in one unit of work that commits); p50, p95, max;
- the reorder report (``reports.reorder``); median of 5;
- the stores part of ``rma check`` (the three stores checks and the seals of the parts ledger,
  in ranges of its streams, its snapshots and closed months, on the worker processes ``rma
  check`` runs them on), in a new process: its wall time and the peak of the summed resident
  size of it and its workers; then the whole ``rma check``, which must find the database clean.

Targets (issue 9): statement ≤ 3 s, issue p95 ≤ 30 ms, reorder ≤ 2 s, the stores' check ≤ 30 s
and under 300 MB, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import stores_scale  # noqa: E402

RMA = Path(sys.executable).with_name("rma")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, runs: int = 5) -> tuple[float, float, object]:  # noqa: ANN001
    """Median wall time, and median CPU time of this process (on a loaded machine the wall time
    includes waiting for a core; on PostgreSQL the server's work is not in the CPU time)."""
    times, cpus, out = [], [], None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(times), statistics.median(cpus), out


# ---------------------------------------------------------------- the stores part of rma check, in its own process

STORES_LEDGERS = ("stock_moves", "stock_snapshots", "stock_month_closes")


def stores_check(url: str) -> dict:
    """Run in a child process: the stores' pieces of ``rma check`` (its three checks and the seals
    of the parts ledger — in ranges of its streams —, its snapshots and closed months) on the
    worker processes ``rma check`` uses, timed."""
    from rma.core import checks
    from rma.db import Database

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:
        pieces = [p for p in checks.plan(uow)
                  if (p[0] == "check" and p[1].startswith("rma.inventory.checks:"))
                  or (p[0] in ("seals", "lost") and p[1] in STORES_LEDGERS)]
    t0 = time.perf_counter()
    report = checks.run_pieces(db, pieces)
    wall = time.perf_counter() - t0
    db.dispose()
    return {"wall": wall, "pieces": len(pieces), "found": report.counts}


def _child_check(url: str) -> dict:
    """``stores_check`` in a new Python; its peak memory is the sum over it and its workers."""
    from benchmarks.check import _tree_rss_mb

    code = (f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.stores import stores_check; "
            f"print(json.dumps(stores_check({url!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(err)
    return {**json.loads(out.strip().splitlines()[-1]), "max_rss_mb": peak}


def _whole_check(url: str, home: Path) -> tuple[float, dict]:
    env = {**os.environ, "RMA_DATABASE_URL": url, "RMA_HOME": str(home)}
    t = time.perf_counter()
    proc = subprocess.run([str(RMA), "check", "--json"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"rma check failed: {proc.stderr}")
    return elapsed, json.loads(proc.stdout)


# ---------------------------------------------------------------- issue by scan

def _on_the_bench(db, n: int) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """``n`` units received and put on the bench, each asking for one part the store holds: (tag, part, bin)."""
    from sqlalchemy import select, text

    from rma.core import services as core
    from rma.core.models import Customer, ProductModel, Unit
    from rma.core.states import VisitState
    from rma.inventory import services

    with db.engine.connect() as conn:
        stocked = conn.execute(text(
            "SELECT p.part_number, l.code FROM stock_balances b JOIN parts p ON p.id = b.part_id "
            "JOIN stock_locations l ON l.id = b.location_id WHERE l.kind = 'bin' AND b.qty_milli >= 1000 "
            "AND p.decimals = 0 ORDER BY b.qty_milli DESC, p.id LIMIT :n"), {"n": n}).all()
    out = []
    for k, (number, bin_code) in enumerate(stocked):
        with db.uow() as uow:
            clerk, lead = core.get_actor(uow, "clerk"), core.get_actor(uow, "lead")
            model = uow.session.scalar(select(ProductModel).order_by(ProductModel.id))
            customer = uow.session.scalar(select(Customer).order_by(Customer.id))
            unit = Unit(serial=f"BENCHSTORES{k:06d}", model=model, manufactured_on=date(2025, 3, 1),
                        created_at=uow.now())
            uow.session.add(unit)
            uow.session.flush()
            tag = core.open_visit(uow, clerk, unit, customer=customer, reason="no power").tag
            core.move_visit(uow, lead, tag, VisitState.AWAITING_BENCH, "to the bench")
            core.move_visit(uow, lead, tag, VisitState.IN_REPAIR, "repair starts")
        with db.uow() as uow:
            services.request_parts(uow, core.get_actor(uow, "technician"), tag, [(number, "1")])
        out.append((tag, number, bin_code))
    return out


def run(kind: str, args: argparse.Namespace, tmp: Path) -> None:
    url = stores_scale.fresh_copy(kind, tmp, parts=args.parts, moves=args.moves, pg_base=args.postgres)
    home = stores_scale.home_of(args.parts, args.moves)
    os.environ["RMA_HOME"] = str(home)
    os.environ["RMA_DATABASE_URL"] = url
    from sqlalchemy import text

    from rma.core import services as core
    from rma.db import Database
    from rma.inventory import reports, services, stock
    from rma.inventory.amounts import month_text
    from rma.inventory.ledger import current_month, last_closed_month

    db = Database.from_url(url)
    try:
        with db.uow(readonly=True) as uow:
            now, closed = current_month(uow), last_closed_month(uow)
            moves = uow.session.execute(text(
                "SELECT count(*), count(DISTINCT part_id) FROM stock_moves")).one()
            month_moves = uow.session.execute(text(
                "SELECT count(*) FROM stock_moves WHERE month > :c"), {"c": closed}).scalar()
        print(f"{kind:<10} {moves[0]:,} moves of {moves[1]:,} parts; last closed month {month_text(closed)}; "
              f"{month_moves:,} moves since")

        def read(fn, *a):  # noqa: ANN001, ANN202
            def go():  # noqa: ANN202
                with db.uow(readonly=True) as uow:
                    return fn(uow, *a)
            return go

        for label, month in (("open", month_text(now)), ("closed", month_text(closed))):
            secs, cpu, out = timed(read(reports.statement, month))
            print(f"{kind:<10} statement {month} ({label}, {len(out['rows']):,} parts)   median {secs:6.2f} s "
                  f"(cpu {cpu:.2f} s)")
        secs, cpu, out = timed(read(reports.reorder))
        print(f"{kind:<10} reorder ({len(out['rows']):,} parts below safety stock)      median {secs:6.2f} s "
              f"(cpu {cpu:.2f} s)")

        asks = _on_the_bench(db, args.issues)
        whole, alone, cpu = [], [], []
        for tag, number, bin_code in asks:
            t, c = time.perf_counter(), time.process_time()
            for key in (tag, number, bin_code):  # the three scans, each read as the page reads it
                with db.uow(readonly=True) as uow:
                    stock.classify_scan(uow, key)
            t1 = time.perf_counter()
            with db.uow() as uow:
                services.issue_to_tag(uow, core.get_actor(uow, "materials"), tag=tag, part_number=number,
                                      bin_code=bin_code)
            t2 = time.perf_counter()
            whole.append((t2 - t) * 1000)
            alone.append((t2 - t1) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        for name, values in (("issue by scan", whole), ("  of it the issue", alone), ("  its cpu time", cpu)):
            print(f"{kind:<10} {name:<18} p50 {statistics.median(values):6.1f} ms   p95 {pct(values, 95):6.1f} ms   "
                  f"max {max(values):6.1f} ms   ({len(values)} issues)")
        db.dispose()

        r = _child_check(url)
        print(f"{kind:<10} rma check, the stores' part: {r['wall']:.1f} s ({r['pieces']} pieces on "
              f"{min(4, os.cpu_count() or 1)} worker processes), peak memory {r['max_rss_mb']:.0f} MB all processes, "
              f"violations {sum(r['found'].values())}")
        secs, report = _whole_check(url, home)
        print(f"{kind:<10} rma check, all of it: {secs:.1f} s, "
              f"{'clean' if report['ok'] else 'NOT CLEAN: ' + json.dumps(report['counts'])}")
    finally:
        db.dispose()
        stores_scale.drop_copy(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=stores_scale.DEFAULT_MOVES)
    ap.add_argument("--parts", type=int, default=stores_scale.DEFAULT_PARTS)
    ap.add_argument("--issues", type=int, default=200)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL given (--postgres or RMA_BENCH_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")
    for kind in kinds:  # built (or found cached) before anything is measured
        stores_scale.ensure(kind, parts=args.parts, moves=args.moves, pg_base=args.postgres)
    print(f"stores: {args.parts:,} parts, {args.moves:,} moves over {stores_scale.MONTHS} months; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            run(kind, args, Path(tmp))
            print(f"{'':<10} (load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
