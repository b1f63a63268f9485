"""The test station's overhead per step (run by hand; never a timed test).

    .venv/bin/python benchmarks/test_station.py [--runs 5] [--steps 100] [--postgres URL] [--no-pace]

A 100-step plan runs against the fixture simulator over a pty at 115200 baud, through the
whole framework (driver, judging, one ledger commit per step); then the same exchanges
run as a bare pyserial write/readline loop. Prints the medians per step, the framework's
overhead per step and the ratio of the two, and checks every step is in the ledger. On
PostgreSQL a step's row and its seal are one statement, so as many runs again write the
steps unsealed (on the benchmark's throwaway database only): their INSERT's median against the
sealed one is what sealing adds to a step.
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

import serial  # noqa: E402
from sqlalchemy import bindparam, create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

COMMANDS = ["MEAS:VOLT? V12", "MEAS:VOLT? V5", "MEAS:VOLT? V3V3", "MEAS:CURR? RUN", "GPS:SNR?", "AUDIO:LEVEL? FL"]
LIMITS = {"MEAS:VOLT? V12": (11.0, 13.0), "MEAS:VOLT? V5": (4.5, 5.5), "MEAS:VOLT? V3V3": (3.0, 3.6),
          "MEAS:CURR? RUN": (500, 2000), "GPS:SNR?": (20, 60), "AUDIO:LEVEL? FL": (-12, 0)}


def plan_text(steps: int) -> str:
    out = ['[plan]\nmodel = "BENCH-100"\nname = "benchmark plan"\nversion = 1\n']
    for i in range(steps):
        cmd = COMMANDS[i % len(COMMANDS)]
        lo, hi = LIMITS[cmd]
        out.append(f'[[step]]\nid = "s{i:03d}"\nsend = "{cmd}"\nrange = {{ min = {lo}, max = {hi} }}\n')
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--postgres", default=None, help="also run with the ledger on this PostgreSQL")
    ap.add_argument("--no-pace", action="store_true", help="simulator replies without UART pacing")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="rma-bench-"))
    os.environ["RMA_HOME"] = str(home)
    (home / "plans").mkdir()
    (home / "plans" / "bench.toml").write_text(plan_text(args.steps), encoding="utf-8")

    from drivers.fixture import SerialFixture
    from drivers.fixture_sim import FixtureSimulator
    from rma import migrate
    from rma.core import catalogue, services as core
    from rma.core.models import Role
    from rma.core.states import VisitState
    from rma.db import Database, make_engine
    from rma.test_station import services
    from rma.test_station.models import TestStepResult

    def database(url: str) -> Database:
        engine = make_engine(url)
        migrate.upgrade(engine)
        db = Database(engine)
        with db.uow() as uow:
            admin = core.add_user(uow, None, username="admin", password="admin-pass",
                                  roles=[Role.ADMIN, Role.CLERK, Role.LEAD, Role.TESTER, Role.SUPERVISOR])
            catalogue.add_model(uow, admin, code="BENCH-100", name="bench", serial_pattern=r"^BN\d{6}$",
                                warranty_months=12)
            catalogue.add_customer(uow, admin, code="C1", name="dealer")
        return db

    def visit_awaiting_test(db: Database, n: int) -> str:
        from rma.intake import services as intake

        with db.uow() as uow:
            admin = core.get_actor(uow, "admin")
            parcel, _ = intake.receive_parcel(uow, admin, courier="SF", waybill=f"SF{n:010d}", customer_code="C1")
            tag = intake.receive_unit(uow, admin, parcel, f"BN{n:06d}").visit.tag
            for to in ("awaiting_bench", "in_repair", "awaiting_test"):
                core.move_visit(uow, admin, tag, VisitState(to), "bench")
        return tag

    targets = [("sqlite", f"sqlite:///{home / 'bench.sqlite'}")]
    if args.postgres:
        name = f"rma_bench_{uuid.uuid4().hex[:8]}"
        with create_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        targets.append(("postgresql", make_url(args.postgres).set(database=name).render_as_string(hide_password=False)))

    commands = [COMMANDS[i % len(COMMANDS)] for i in range(args.steps)]
    print(f"{args.steps}-step plan, {args.runs} runs each, pty at 115200 baud "
          f"({'unpaced' if args.no_pace else 'paced like a UART'}), {os.cpu_count()} cores")
    with FixtureSimulator("head_unit", firmware="1.0.0", pace=not args.no_pace) as sim:
        bare: list[float] = []
        for _ in range(args.runs):
            with serial.serial_for_url(sim.url, baudrate=115200, timeout=2) as ser:
                t = time.perf_counter()
                for cmd in commands:
                    ser.write(cmd.encode() + b"\n")
                    line = ser.readline()
                    assert line.endswith(b"\r\n"), line
                bare.append((time.perf_counter() - t) / args.steps)
        bare_med = statistics.median(bare)
        print(f"bare pyserial write/readline: median {bare_med * 1e6:8.0f} µs per step")
        from rma.core import seals

        real_seal = seals.seal_streams
        seal_ms: list[float] = []

        def timed_seal(conn, touched, *new):  # noqa: ANN001, ANN002, ANN202
            t = time.perf_counter()
            try:
                return real_seal(conn, touched, *new)
            finally:
                seal_ms.append((time.perf_counter() - t) * 1000)

        seals.seal_streams = timed_seal
        real_append_seal = seals.AppendSeal.seal

        def timed_append_seal(self, conn):  # noqa: ANN001, ANN202  (SQLite: a step's seal, from its run's running hash)
            t = time.perf_counter()
            try:
                return real_append_seal(self, conn)
            finally:
                seal_ms.append((time.perf_counter() - t) * 1000)

        seals.AppendSeal.seal = timed_append_seal
        real_insert_sealed = seals.insert_sealed

        def timed_insert_sealed(conn, table, values):  # noqa: ANN001, ANN202
            t = time.perf_counter()
            try:
                return real_insert_sealed(conn, table, values)
            finally:
                seal_ms.append((time.perf_counter() - t) * 1000)

        services.insert_sealed = timed_insert_sealed  # PostgreSQL: the row and its seal in one statement
        plain_ms: list[float] = []
        plain_sql = {}

        def timed_plain_insert(conn, table, values):  # noqa: ANN001, ANN202  (the A/B runs: the same row, unsealed)
            cols = tuple(values)
            if cols not in plain_sql:  # built once, as insert_sealed's statement is
                plain_sql[cols] = text(
                    f"INSERT INTO {table.name} ({', '.join(chr(34) + c + chr(34) for c in cols)}) "
                    f"VALUES ({', '.join(':' + c for c in cols)})"
                ).bindparams(*[bindparam(c, type_=table.c[c].type) for c in cols])
            t = time.perf_counter()
            try:
                conn.execute(plain_sql[cols], values)
            finally:
                plain_ms.append((time.perf_counter() - t) * 1000)

        for label, url in targets:
            db = database(url)
            # PostgreSQL writes a step and its seal in one statement; so as many runs again with the
            # step's INSERT alone (on this throwaway database only) say what sealing adds to a step
            modes = ("sealed", "unsealed") if label == "postgresql" else ("sealed",)
            for mode in modes:
                services.insert_sealed = timed_insert_sealed if mode == "sealed" else timed_plain_insert
                per_step: list[float] = []
                seal_ms.clear()
                plain_ms.clear()
                for n in range(args.runs):
                    tag = visit_awaiting_test(db, n + (1000 if mode == "unsealed" else 0))
                    started = services.start_run(db, "admin", tag, port=sim.url, incoming=False)
                    fixture = SerialFixture(sim.url, baudrate=115200)
                    fixture.open()
                    fixture.identify()
                    # time the plan's steps only: the same exchanges as the bare loop
                    timings = []
                    def on_event(e, timings=timings):  # noqa: ANN001
                        timings.append(time.perf_counter())
                    result = services.execute_run(db, started, fixture, answer=lambda s: None,
                                                  checklist=lambda items: {i: True for i in items}, on_event=on_event)
                    assert result.outcome.value == "pass", result.reason
                    # events: started, identify, steps..., result; from the identify event to the last step
                    step_times = timings[2:2 + args.steps]
                    per_step.append((step_times[-1] - timings[1]) / args.steps)
                    with db.uow(readonly=True) as uow:
                        written = uow.session.scalar(select(func.count()).select_from(TestStepResult)
                                                     .where(TestStepResult.run_id == result.run_id))
                    assert written == args.steps + 1, written
                med = statistics.median(per_step)
                name = label if mode == "sealed" else f"{label}, steps unsealed"
                print(f"rma on {name:<10}: median {med * 1e6:8.0f} µs per step; overhead {(med - bare_med) * 1e6:6.0f} µs "
                      f"per step; ratio {med / bare_med:.2f}; runs " + ", ".join(f"{x * 1e6:.0f}" for x in per_step)
                      + f"; every step in the ledger ({args.steps} + identity)")
                if mode == "sealed":
                    ordered = sorted(seal_ms)
                    sealed_p50 = statistics.median(ordered)
                    what = "the step INSERT with its seal, one statement" if label == "postgresql" else "sealing"
                    print(f"   {what} on {label:<10}: p50 {sealed_p50:.3f} ms, "
                          f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.3f} ms per commit ({len(ordered)} commits: every step's, "
                          f"and each run's start and end)")
                else:
                    ordered = sorted(plain_ms)
                    print(f"   the step INSERT alone on {label}: p50 {statistics.median(ordered):.3f} ms, "
                          f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.3f} ms; sealing adds "
                          f"{sealed_p50 - statistics.median(ordered):.3f} ms to a step at the median")
            services.insert_sealed = real_insert_sealed
            db.dispose()


if __name__ == "__main__":
    main()
