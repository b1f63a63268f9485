"""Scan-to-tag at intake on a department's few years (run by hand; never a timed test).

    .venv/bin/python benchmarks/intake.py [--visits 1000000] [--scans 10000] [--postgres URL]

On a copy of the scale fixture (``benchmarks/scale.py``: 1,000,000 past visits), a clerk
scans 10,000 units one at a time, ten to a parcel, the way the intake station does each
scan: one unit of work (the parcel, ``receive_unit`` with its warranty, repeat and
interception decisions, the label queued, the row the page shows), committed and sealed,
then the label rendered and saved by the station's printer (PNG into the folder printer).
Two in ten serials are units that came back before (the repeat path), the rest are new.

Prints p50 and p95 of the whole scan-to-tag time, of its database part and its label part,
of the ledger seals inside the unit scan's commit and inside the parcel scan's (its audit-log
entry), and of the CPU
time this process spent on each scan (on SQLite all of the scan's work, so a figure that a
loaded machine stretches less than the wall-clock times; on PostgreSQL the server's part is
not in it). Then 2,000 scans more (``--seal-ab``), every other one with sealing switched off
(on this throwaway copy only), whose commits are timed from the start of the commit to its end:
the sealed commits' p50 minus the unsealed ones' is what sealing adds to a scan. (The seal
alone also carries the round trip's wake-up of an idle server, which the unsealed commit pays
in its COMMIT instead.) Then the
unit label's render against a bare python-barcode render (``benchmarks/labels.py``).
Targets (issues 7 and 8): scan-to-tag p95 ≤ 15 ms on SQLite and PostgreSQL; sealing ≤ 1 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks import scale  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def serials(db, n: int, rng: random.Random) -> list[str]:  # noqa: ANN001
    """Eight in ten new serials of the demo models' patterns, two in ten units that were here before."""
    from rma.demo import MODELS

    with db.engine.connect() as conn:
        known = [r[0] for r in conn.execute(text(
            "SELECT u.serial FROM units u WHERE NOT EXISTS (SELECT 1 FROM visits v WHERE v.unit_id = u.id "
            "AND v.closed_at IS NULL) ORDER BY u.id DESC LIMIT :n"), {"n": n})]
    out, used = [], set(known)
    for i in range(n):
        if i % 5 == 4 and known:
            out.append(known.pop())
            continue
        spec = MODELS[i % len(MODELS)]
        made = date(2026, 1 + i % 9, 1)
        while True:
            s = (spec.serial(made, rng.randrange(100000), "Y") if spec.line_letter
                 else spec.serial(made, 900000 + rng.randrange(99999), "A"))
            if s not in used:
                used.add(s)
                out.append(s)
                break
    return out


def run(kind: str, visits: int, scans: int, pg_base: str | None, tmp: Path, seal_ab: int = 0) -> dict[str, list[float]]:
    url = scale.fresh_copy(kind, visits, tmp, pg_base=pg_base)
    home = tmp / f"home-{kind}"
    home.mkdir()
    os.environ["RMA_HOME"] = str(home)
    os.environ["RMA_DATABASE_URL"] = url
    from rma.core import catalogue, seals
    from rma.core import services as core
    from rma.db import Database
    from rma.intake import labelling, services
    from rma.intake.station_reads import unit_facts

    seal_times: list[float] = []
    parcel_seal_times: list[float] = []  # the parcel's commit: its audit-log entry
    real_seal = seals.seal_streams
    sealing = [True]  # the A/B scans after the measured ones switch it off every other scan
    in_scan = [False]  # the commit is a scan's (not its parcel's)
    seals_now = [False]  # and it has streams to seal (sealed or not)

    def timed_seal(conn, touched, *new):  # noqa: ANN001, ANN002, ANN202
        seals_now[0] = True
        if not sealing[0]:
            return None
        t = time.perf_counter()
        try:
            return real_seal(conn, touched, *new)
        finally:
            (seal_times if in_scan[0] else parcel_seal_times).append((time.perf_counter() - t) * 1000)

    seals.seal_streams = timed_seal
    db = Database.from_url(url)
    rng = random.Random(7)
    todo = serials(db, scans + seal_ab, rng)
    with db.uow(readonly=True) as uow:
        clerk_id = core.get_actor(uow, "clerk").id
        customers = [c.code for c in catalogue.list_customers(uow)]
    total, db_part, label_part, cpu = [], [], [], []
    commits: dict[bool, list[float]] = {True: [], False: []}
    commit_started = [0.0]

    def commit_starts(session) -> None:  # noqa: ANN001  (before the seal: this listener goes first)
        commit_started[0], seals_now[0] = time.perf_counter(), False

    def commit_ended(session) -> None:  # noqa: ANN001  (only the scan's own commit of its ledger rows)
        if in_scan[0] and seals_now[0]:
            commits[sealing[0]].append((time.perf_counter() - commit_started[0]) * 1000)

    parcel = None
    try:
        for i, serial in enumerate(todo):
            if i == scans:  # the A/B scans: what sealing adds to a scan's commit, against the same commit unsealed
                event.listen(Session, "before_commit", commit_starts, insert=True)
                event.listen(Session, "after_commit", commit_ended)
            if i >= scans:
                sealing[0] = i % 2 == 0
            if i % 10 == 0:  # a new parcel every ten units (its scan is not timed)
                with db.uow() as uow:
                    clerk = core.get_user_by_id(uow, clerk_id)
                    p, _ = services.receive_parcel(uow, clerk, courier="SF", waybill=f"SF{1000000000 + i:012d}",
                                                   customer_code=customers[i // 10 % len(customers)], declared=10)
                    parcel = (p.waybill, p.courier)
            seal_times_before = len(seal_times)
            c0 = time.process_time()
            t0 = time.perf_counter()
            in_scan[0] = True
            with db.uow() as uow:  # what one scan at the intake station does
                actor = core.get_user_by_id(uow, clerk_id)
                p = services.find_parcel(uow, *parcel)
                result = services.receive_unit(uow, actor, p, serial, reason_code="NOPWR")
                job = labelling.queue_unit_label(uow, actor, result.visit).id
                unit_facts(uow, result.visit, result)
            t1 = time.perf_counter()
            in_scan[0] = False
            if i >= scans:
                continue
            printed = labelling.print_job(db, job)
            t2 = time.perf_counter()
            cpu.append((time.process_time() - c0) * 1000)
            assert printed["status"] == "printed", printed
            assert len(seal_times) > seal_times_before  # the scan's commit sealed its ledger streams
            total.append((t2 - t0) * 1000)
            db_part.append((t1 - t0) * 1000)
            label_part.append((t2 - t1) * 1000)
    finally:
        seals.seal_streams = real_seal
        if event.contains(Session, "before_commit", commit_starts):
            event.remove(Session, "before_commit", commit_starts)
            event.remove(Session, "after_commit", commit_ended)
        db.dispose()
        scale.drop_copy(url)
    figures = {"scan-to-tag": total, "database": db_part, "label": label_part, "seals": seal_times,
               "parcel seals": parcel_seal_times, "scan CPU": cpu}
    if seal_ab:
        figures.update({"commit sealed": commits[True], "commit bare": commits[False]})
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=scale.DEFAULT_VISITS)
    ap.add_argument("--scans", type=int, default=10_000)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--label-renders", type=int, default=500)
    ap.add_argument("--seal-ab", type=int, default=2_000,
                    help="then this many scans more, every other one with sealing switched off, their commits timed")
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL given (--postgres or RMA_BENCH_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")
    print(f"{args.scans:,} scans on {args.visits:,} past visits, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            figures = run(kind, args.visits, args.scans, args.postgres, Path(tmp), args.seal_ab)
            for name, values in figures.items():
                print(f"{kind:<10} {name:<13} p50 {statistics.median(values):6.2f} ms   p95 {pct(values, 95):6.2f} ms"
                      f"   ({len(values):,} measured)")
            if args.seal_ab:
                sealed, bare = figures["commit sealed"], figures["commit bare"]
                print(f"{kind:<10} sealing adds to a scan's commit: p50 {statistics.median(sealed) - statistics.median(bare):.2f} ms, "
                      f"p95 {pct(sealed, 95) - pct(bare, 95):.2f} ms (the A/B scans: sealed minus unsealed)")
    from benchmarks.labels import measure, report

    print(f"\nthe unit label ({args.label_renders} renders per dpi) against a bare python-barcode PNG of the same tag:")
    print(report(measure(args.label_renders)))


if __name__ == "__main__":
    main()
