"""Unit reflash through the programming service against the wire rate, and the time per IC of a 4-socket
IC batch job (run by hand; never a timed test).

    .venv/bin/python benchmarks/programming.py [--runs 5] [--size-kib 1024] [--baudrate 921600]
                                               [--latency-ms 0] [--job-ics 8] [--job-kib 256]
                                               [--postgres postgresql+psycopg://user@host/db] [--db-prefix rma_bench_]

Starts the programmer simulator as its own process on a pty, paced like a UART (10 bits a byte at
the baud rate, both directions at once), registers and releases a random image of ``--size-kib``
for a model, and reflashes a unit in programming ``--runs`` times through
``rma.programming.services.reflash_unit``, exactly as ``rma program unit`` does: the visit locked,
the image's file hashed again, the chip read (identity, chip ID, SHA-256 of what it holds), the
start row committed, every acknowledged 4 KiB block committed to the ledger with its seal (and
its progress event), the verify by the programmer's SHA-256, the end transaction (result, unit
firmware, visit to awaiting test). Each run is checked: ok, verified, one ledger row per block.

Prints, per run and as the median: the image's bytes divided by the wall time of the whole call
(what the technician waits for), the same for the driver's program + verify inside it, and the
ratio of each to the wire rate (baud / 10: 92,160 B/s at 921,600 baud); target >= 0.85. On SQLite
(a file in WAL mode) always, and on PostgreSQL too with ``--postgres`` (a database is created
next to the one named and dropped afterwards: the user needs CREATEDB).

Then an IC batch job on the same simulator (4 sockets, paced the same): ``--job-ics`` blank ICs
issued from stores to a job for an image of ``--job-kib`` KiB, run through
``rma.programming.job_runner.run_job`` exactly as ``rma program job run`` does (per IC: socket
selected, chip read, start row committed, erase + write with every block in the ledger, verify by
hash, result and the stores' move in one transaction). Prints the wall time per good IC, and the
wire time of one IC's image for comparison. (The simulator keeps its chips: each round erases and
programs the same four again, as new blanks would be.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from rma import migrate  # noqa: E402
from rma.core import services as core  # noqa: E402
from rma.core.models import Customer, ProductModel, Role, Unit  # noqa: E402
from rma.core.states import VisitState  # noqa: E402
from rma.db import Database, make_engine  # noqa: E402
from rma.inventory import catalogue, stock  # noqa: E402
from rma.programming import job_runner, jobs, registry, services  # noqa: E402
from rma.programming.models import ProgrammingBlock  # noqa: E402


def seed(db: Database, image: bytes) -> None:
    with db.uow() as uow:
        admin = core.add_user(uow, None, username="admin", password="admin-pass", roles=[Role.ADMIN])
        for name, role in (("clerk", Role.CLERK), ("tech", Role.TECHNICIAN), ("lead", Role.LEAD)):
            core.add_user(uow, admin, username=name, password=f"{name}-pass", roles=[role])
        uow.session.add(ProductModel(code="HU-8800", name="Head unit 8800", family="head_unit",
                                     serial_pattern=r"^HU88\d{6}$", warranty_months=24, firmware_version="3.1.0",
                                     accessories=[]))
        uow.session.add(Customer(code="SH-PD01", name="上海浦东", region="华东"))
    with db.uow() as uow:
        found = registry.add_image(uow, core.get_actor(uow, "tech"), data=image, filename="bench.bin", version="3.2.1",
                                   models=["HU-8800"], memory="W25Q16", chip_id="EF4015")
        uow.session.flush()
        registry.release_image(uow, core.get_actor(uow, "lead"), str(found.id))


def unit_in_programming(db: Database, n: int) -> str:
    with db.uow() as uow:
        model = uow.session.scalar(select(ProductModel).where(ProductModel.code == "HU-8800"))
        unit = Unit(serial=f"HU88{n:06d}", model=model, manufactured_on=date(2025, 3, 1), created_at=uow.now())
        uow.session.add(unit)
        uow.session.flush()
        tag = core.open_visit(uow, core.get_actor(uow, "clerk"), unit, customer=None, reason="bench").tag
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "programming"):
            core.move_visit(uow, lead, tag, VisitState(to), "benchmark")
    return tag


def job_per_ic(db: Database, port: str, args: argparse.Namespace) -> tuple[float, int]:
    """An IC job of ``--job-ics`` blanks on the 4 sockets: seconds per good IC."""
    image = random.Random(2).randbytes(args.job_kib * 1024)
    with db.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username="materials", password="materials-pass",
                      roles=[Role.MATERIALS])
    with db.uow() as uow:
        clerk = core.get_actor(uow, "materials")
        catalogue.add_supplier(uow, clerk, "SZ-HX", "深圳华星电子有限公司")
        for code in ("A-03-01", "P-01-01"):
            catalogue.add_bin(uow, clerk, code)
        catalogue.add_part(uow, clerk, part_number="SPI-W25Q16", name_zh="SPI Flash W25Q16", name_en="SPI flash W25Q16",
                           category="ic", uom="each", abc="B", unit_cost="2.40")
    with db.uow() as uow:
        stock.receive(uow, core.get_actor(uow, "materials"), supplier="SZ-HX", delivery_note="DN-1", line=1,
                      part_number="SPI-W25Q16", bin_code="A-03-01", quantity=str(args.job_ics))
        found = registry.add_image(uow, core.get_actor(uow, "materials"), data=image, filename="ic.bin",
                                   version="1.0.0", part_number="SPI-W25Q16", memory="W25Q16", chip_id="EF4015")
        uow.session.flush()
        registry.release_image(uow, core.get_actor(uow, "lead"), str(found.id))
    with db.uow() as uow:
        clerk = core.get_actor(uow, "materials")
        key = jobs.new_job(uow, clerk, image=str(found.id), part_number="SPI-W25Q16", quantity=args.job_ics,
                           bin_code="P-01-01")["job"]
        jobs.issue(uow, clerk, key, bin_code="A-03-01", quantity=args.job_ics)
    started = time.perf_counter()
    run = job_runner.run_job(db, "materials", key, port=port, station="stores-1", next_round=lambda _n: True)
    seconds = time.perf_counter() - started
    if run.stopped != "complete" or run.counts["good"] != args.job_ics:
        raise SystemExit(f"the job stopped {run.stopped}: {run.message}")
    return seconds / run.counts["good"], run.rounds


def measure(label: str, url: str, args: argparse.Namespace, image: bytes,
            wire: float) -> tuple[float, float, float, int]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database.from_url(url)
    command = [sys.executable, "-m", "drivers.programmer_sim", "--baudrate", str(args.baudrate),
               "--latency-ms", str(args.latency_ms)]
    sim = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    walls, drivers = [], []
    try:
        line = sim.stdout.readline()
        if not line.startswith("Programmer simulator ready: "):
            raise SystemExit(f"the simulator did not start: {line!r}")
        port = line.split(": ", 1)[1].strip()
        seed(db, image)
        for run in range(args.runs):
            tag = unit_in_programming(db, run + 1)
            progress = 0

            def count(event: object) -> None:
                nonlocal progress
                progress += isinstance(event, services.ReflashProgress)

            started = time.perf_counter()
            result = services.reflash_unit(db, "tech", tag, port=port, socket=1 + run % 4, station="bench-1",
                                           on_event=count)
            seconds = time.perf_counter() - started
            with db.uow(readonly=True) as uow:
                blocks = uow.session.scalar(select(func.count()).select_from(ProgrammingBlock)
                                            .where(ProgrammingBlock.attempt_id == result.attempt_id))
            if not (result.ok and result.verified and blocks == len(image) // 4096):
                raise SystemExit(f"run {run + 1}: {result.result.value} {result.reason}, {blocks} block rows")
            walls.append(len(image) / seconds)
            drivers.append(result.bytes_per_second)
            print(f"{label} run {run + 1}: {seconds:6.2f} s  {walls[-1]:9,.0f} B/s  ratio {walls[-1] / wire:.3f}  "
                  f"(program + verify {drivers[-1]:,.0f} B/s, ratio {drivers[-1] / wire:.3f}; {blocks} block rows, "
                  f"{progress} progress events)", flush=True)
        per_ic, rounds = job_per_ic(db, port, args)
        print(f"{label} job: {args.job_ics} ICs of {args.job_kib} KiB on 4 sockets in {rounds} rounds: "
              f"{per_ic:.2f} s per IC", flush=True)
    finally:
        sim.stdin.close()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
        db.dispose()
    return statistics.median(walls), statistics.median(drivers), per_ic, rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-kib", type=int, default=1024)
    ap.add_argument("--baudrate", type=int, default=921600)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--job-ics", type=int, default=8, help="ICs in the IC job (default 8)")
    ap.add_argument("--job-kib", type=int, default=256, help="the IC job's image in KiB (default 256)")
    ap.add_argument("--postgres", help="a PostgreSQL URL to create the benchmark's database next to")
    ap.add_argument("--db-prefix", default="rma_bench_", help="the name of the PostgreSQL database made, before "
                    "a random suffix")
    args = ap.parse_args()

    image = random.Random(1).randbytes(args.size_kib * 1024)
    wire = args.baudrate / 10
    with tempfile.TemporaryDirectory(prefix="rma-bench-programming-") as home:
        os.environ["RMA_HOME"] = home  # the registry's files
        results = {"SQLite": measure("SQLite", f"sqlite:///{home}/rma.sqlite", args, image, wire)}
        if args.postgres:
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            name = f"{args.db_prefix}{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
                results["PostgreSQL"] = measure("PostgreSQL", url, args, image, wire)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.size_kib} KiB unit reflash through the service, pty at {args.baudrate} baud 8N1 paced "
          f"(latency {args.latency_ms:g} ms), median of {args.runs}; wire {wire:,.0f} B/s; load average {load}:")
    for label, (wall, driver, _per_ic, _rounds) in results.items():
        print(f"  {label:<10} whole attempt {wall:9,.0f} B/s, ratio {wall / wire:.3f}; program + verify {driver:9,.0f} "
              f"B/s, ratio {driver / wire:.3f} (target >= 0.85)")
    ic_wire = args.job_kib * 1024 / wire
    print(f"{args.job_ics}-IC job of a {args.job_kib} KiB image on the 4-socket programmer (wire time of one image "
          f"{ic_wire:.2f} s):")
    for label, (_wall, _driver, per_ic, rounds) in results.items():
        print(f"  {label:<10} {per_ic:.2f} s per IC ({rounds} rounds), {ic_wire / per_ic:.3f} of the wire rate")


if __name__ == "__main__":
    main()
