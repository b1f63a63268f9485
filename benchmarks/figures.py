"""Figures at scale: the dashboard's figures for one month (target ≤ 2 s) and for a year (≤ 5 s),
and the monthly report, XLSX and PDF (≤ 10 s), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/figures.py [--visits 1000000] [--moves 10000000]
        [--postgres URL] [--only sqlite|postgresql] [--repeat 3] [--keep]

The database is a copy of the scale fixture (``benchmarks/scale.py``: its cached SQLite file, or
its PostgreSQL template database, which is only ever copied, never changed), brought to the
current schema, then filled in bulk SQL with what the fixture does not hold:

- the test ledger: an outgoing test run for every visit the fixture tested (``test_passed`` in
  the returns ledger), and for one visit in twelve a failed first run a day before (the pass is
  then attempt 2); with their ends;
- the parts ledger: ``--moves`` part moves over 1,500 parts, for the visits that left repaired:
  receipts into the bins, issues to the bench against the tag, fits with a designator, old parts.

These rows are not sealed (the copy is dropped after the run; ``rma check`` is not the subject).
On PostgreSQL the copy is a database named ``figures_…``; when the fixture's template is missing
(a size nobody built), the fixture is built straight into that copy and not cached.

Measured, each the median (judged against the target) and the best of ``--repeat`` runs after a
first (cold) one: the dashboard's load for the last month of the fixture's past (every figure, the
three Paretos, the 12-month turnaround trend from the turnaround's own query), the same for the 12
months to it, and ``rma report month`` of that month with both files; the first runs with no past month's parts cost kept
(``PartsCostMonth``), the others with what they kept; and the year again with nothing kept before
each run (what the first look at a year costs). The stores' figures as of today (stock turns, slow
and dead stock), which a process keeps until the next stock move, are read again in every run.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, delete, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import scale  # noqa: E402
from rma import migrate  # noqa: E402
from rma.db import Database, make_engine  # noqa: E402

PARTS = 1_500  # part ids stay under 2,148: the stores' CHECK on seal_key overflows int4 above (PostgreSQL)
TARGETS = {"month": 2.0, "year": 5.0, "report": 10.0, "year, nothing kept": 5.0}


# ---------------------------------------------------------------- the copy

def _pg_admin(base: str):  # noqa: ANN202
    return create_engine(base, isolation_level="AUTOCOMMIT")


def sqlite_copy(visits: int, workdir: Path, fixture: str | None = None) -> str:
    source = Path(fixture) if fixture else Path(scale.ensure("sqlite", visits))
    target = workdir / f"figures-{uuid.uuid4().hex[:6]}.sqlite"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def pg_copy(visits: int, base: str, template: str | None = None) -> str:
    """``figures_<hex>``: a copy of the fixture's template, or the fixture built into it."""
    template = template or scale._cache_key(visits).replace("-", "_")  # noqa: SLF001 - the fixture's own name
    name = f"figures_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    with _pg_admin(base).connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}).first()
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if found else "")))
    if not found:
        print(f"  no template {template}: building the fixture into {name} (not cached) …", flush=True)
        scale.build(url, visits)
    return url


def drop(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(u.database + suffix).unlink(missing_ok=True)
        return
    assert u.database.startswith("figures_")
    with _pg_admin(u.set(database="postgres").render_as_string(hide_password=False)).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))


# ---------------------------------------------------------------- the fill

def _exec(conn, sql: str, **params) -> None:  # noqa: ANN001, ANN003
    conn.execute(text(sql), params)


def fill(url: str, moves: int) -> dict[str, int]:
    """Test runs and part moves in bulk SQL (see the module's docstring)."""
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    minus_day = "r.at - interval '1 day'" if pg else "datetime(r.at, '-1 day')"
    plus_hours = "v.opened_at + j.j * interval '1 hour'" if pg else "datetime(v.opened_at, '+' || j.j || ' hours')"
    json_cast, json_end = ("CAST(", " AS json)") if pg else ("", "")
    month_of = ("CAST(to_char({t}, 'YYYYMM') AS INTEGER)" if pg else "CAST(strftime('%Y%m', {t}) AS INTEGER)")
    with engine.begin() as conn:
        one = lambda sql, **p: conn.execute(text(sql), p).scalar()  # noqa: E731
        tester = one("SELECT id FROM users WHERE username = 'tester'")
        clerk = one("SELECT id FROM users WHERE username = 'materials'")
        plan = one("SELECT min(sha256) FROM test_plans")
        if plan is None:  # a fixture built before the test station sealed its plans
            plan = "0" * 64
            _exec(conn, "INSERT INTO test_plans (sha256, model, name, version, source, text, first_used_at) "
                  "VALUES (:p, 'HU-8800', 'benchmark plan', 1, 'benchmarks/figures.py', '', :at)", p=plan,
                  at=datetime(2023, 1, 1).astimezone())
        last_tested = one("SELECT coalesce(max(visit_id), 0) FROM test_runs")
        base = one("SELECT coalesce(max(id), 0) FROM test_runs") + 1
        tested = ("FROM returns_ledger r JOIN visits v ON v.id = r.visit_id JOIN units u ON u.id = v.unit_id "
                  "JOIN product_models pm ON pm.id = u.model_id WHERE r.event = 'test_passed' AND r.visit_id > :last")
        _exec(conn, "INSERT INTO test_runs (id, visit_id, kind, attempt, station, port, operator_id, plan_sha256, "
              "model, started_at) SELECT :base + 2 * r.visit_id + 1, r.visit_id, 'outgoing', 1, 'test-1', 'loop://', "
              f":tester, :plan, pm.code, {minus_day} {tested} AND r.visit_id % 12 = 0",
              base=base, tester=tester, plan=plan, last=last_tested)
        _exec(conn, "INSERT INTO test_runs (id, visit_id, kind, attempt, station, port, operator_id, plan_sha256, "
              "model, started_at) SELECT :base + 2 * r.visit_id, r.visit_id, 'outgoing', CASE WHEN r.visit_id % 12 = 0 "
              f"THEN 2 ELSE 1 END, 'test-1', 'loop://', :tester, :plan, pm.code, r.at {tested}",
              base=base, tester=tester, plan=plan, last=last_tested)
        _exec(conn, "INSERT INTO test_run_ends (run_id, outcome, reason, fixture, failed_steps, checklist, ended_at) "
              "SELECT id, CASE WHEN (id - :base) % 2 = 1 THEN 'fail' ELSE 'pass' END, NULL, 'RMA,FX-100', "
              f"{json_cast}CASE WHEN (id - :base) % 2 = 1 THEN '[\"rail_3v3\"]' ELSE '[]' END{json_end}, '{{}}', started_at "
              "FROM test_runs WHERE id >= :base", base=base)
        runs = one("SELECT count(*) FROM test_runs WHERE id >= :base", base=base)

        first_part = one("SELECT coalesce(max(id), 0) FROM parts") + 1
        conn.execute(text("INSERT INTO parts (id, part_number, name_zh, name_en, category, uom, decimals, abc, "
                          "unit_cost_e4, active, created_at) VALUES (:id, :pn, :zh, :en, 'ic', 'pcs', 0, 'B', :cost, "
                          ":on, :at)"),
                     [{"id": first_part + k, "pn": f"BM-{k:05d}", "zh": f"基准配件 {k}", "en": f"Bench part {k}",
                       "cost": 10_000 * (1 + k % 50), "on": True, "at": "2023-01-01 00:00:00"} for k in range(PARTS)])
        loc = dict(conn.execute(text("SELECT kind, min(id) FROM stock_locations GROUP BY kind")).all())
        repaired = one("SELECT count(*) FROM visits WHERE state IN ('shipped', 'refurbished') AND id > :last",
                       last=last_tested)
        per_visit = max(1, math.ceil(moves / max(repaired, 1)))
        js = " UNION ALL ".join(f"SELECT {j} AS j" for j in range(per_visit))
        move_base = one("SELECT coalesce(max(id), 0) FROM stock_moves") + 1
        at = plus_hours
        part = f"(:first + (v.id * 31 + j.j * 7) % {PARTS})"
        kind = "CASE j.j % 4 WHEN 0 THEN 'receipt' WHEN 1 THEN 'issue' WHEN 2 THEN 'fit' ELSE 'old_part' END"
        _exec(conn, f"""
            INSERT INTO stock_moves (id, at, month, part_id, seal_key, kind, from_id, to_id, store_sign, qty_milli,
                                     value_e4, actor_id, visit_id, designator)
            SELECT :base + v.id * {per_visit} + j.j, {at}, {month_of.format(t=at)}, {part},
                   CAST({part} AS BIGINT) * 1000000 + {month_of.format(t=at)}, {kind},
                   CASE j.j % 4 WHEN 0 THEN :supplier WHEN 1 THEN :bin WHEN 2 THEN :bench ELSE :field END,
                   CASE j.j % 4 WHEN 0 THEN :bin WHEN 1 THEN :bench WHEN 2 THEN :consumed ELSE :old END,
                   CASE j.j % 4 WHEN 0 THEN 1 WHEN 1 THEN -1 ELSE 0 END, 1000,
                   10000 * (1 + ({part} - :first) % 50), :clerk,
                   CASE j.j % 4 WHEN 0 THEN NULL ELSE v.id END, CASE j.j % 4 WHEN 2 THEN 'U12' ELSE NULL END
            FROM visits v CROSS JOIN ({js}) j
            WHERE v.state IN ('shipped', 'refurbished') AND v.id > :last
            """, base=move_base, first=first_part, supplier=loc["supplier"], bin=loc["bin"], bench=loc["bench"],
              field=loc["field"], consumed=loc["consumed"], old=loc["old_parts"], clerk=clerk, last=last_tested)
        written = one("SELECT count(*) FROM stock_moves WHERE id >= :base", base=move_base)
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    return {"test_runs": runs, "part_moves": written}


# ---------------------------------------------------------------- the measurements

def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """The first (cold) run, then the median and the best of ``repeat`` runs."""
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return cold, statistics.median(runs), min(runs)


def measure(url: str, repeat: int, *, breakdown: bool = False) -> dict[str, tuple[float, float, float]]:
    from rma.inventory.models import PartsCostMonth
    from rma.reports import figures as F
    from rma.reports import monthly

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:
        # the fixture's past is written after the demo: its newest visit has the highest id
        last = uow.session.execute(text("SELECT opened_at FROM visits ORDER BY id DESC LIMIT 1")).scalar()
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    month = F.month_text(F.add_months(int(f"{last:%Y%m}"), -1))  # its last whole month
    first = F.month_text(F.add_months(int(month.replace("-", "")), -11))
    print(f"  month {month}, year {first} to {month}", flush=True)

    def dashboard(**window: str) -> None:
        # the stores' figures as of today are kept in the process until the next stock move, and a
        # working store books one every few minutes: each load reads them again, as the floor's would
        F._TODAY.clear()
        with db.uow(readonly=True) as uow:
            F.all_figures(uow, F.filters(uow, **window), trend_months=12)  # the page's load, every Pareto

    def report() -> None:
        with db.uow(readonly=True) as uow:
            r = monthly.month_report(uow, month)
        monthly.xlsx(r)
        monthly.pdf(r)

    def nothing_kept() -> None:
        # past months' parts cost is kept once computed (PartsCostMonth): measure without it too
        with db.uow() as uow:
            uow.session.execute(delete(PartsCostMonth))

    nothing_kept()  # so the first (cold) runs compute everything
    out = {"month": _timed(lambda: dashboard(month=month), repeat),
           "year": _timed(lambda: dashboard(date_from=first, date_to=month), repeat),
           "report": _timed(report, repeat),
           "year, nothing kept": _timed(lambda: (nothing_kept(), dashboard(date_from=first, date_to=month)), repeat)}
    if breakdown:
        _breakdown(db, {"month": {"month": month}, "year": {"date_from": first, "date_to": month}})
    db.dispose()
    return out


def _breakdown(db: Database, windows: dict[str, dict[str, str]]) -> None:
    """Each figure of the dashboard's load on its own (warm: after the measured runs), slowest first."""
    from rma.reports import figures as F

    for label, window in windows.items():
        took: list[tuple[float, str]] = []
        with db.uow(readonly=True) as uow:
            f = F.filters(uow, **window)
            F.without_jit(uow)  # as all_figures has it
            figures = {**F.FIGURES, "turnaround": lambda u, g: F.turnaround(u, g, trend_months=12)}
            for name, figure in [*figures.items(), *((f"pareto {by}", lambda u, g, by=by: F.pareto(u, g, by))
                                                     for by in F.PARETO_BY)]:
                t = time.perf_counter()
                figure(uow, f)
                took.append((time.perf_counter() - t, name))
        print(f"  {label}, each figure: " + ", ".join(f"{name} {s:.2f} s" for s, name in sorted(took, reverse=True)),
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=scale.DEFAULT_VISITS)
    ap.add_argument("--moves", type=int, default=10_000_000)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"),
                    help="a PostgreSQL server URL (user with CREATEDB); default $RMA_BENCH_POSTGRES_URL")
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true",
                    help="keep the filled copies (SQLite's beside the fixture; their URLs are printed)")
    ap.add_argument("--reuse", metavar="URL", help="measure a copy kept by --keep again, without copying or filling")
    ap.add_argument("--breakdown", action="store_true", help="also time each figure on its own")
    ap.add_argument("--sqlite-fixture", metavar="FILE", help="copy this scale file (default: scale.py's cache)")
    ap.add_argument("--pg-template", metavar="NAME", help="copy this template database (default: scale.py's)")
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k) and (k == "sqlite" or args.postgres)]
    print(f"figures benchmark: {args.visits:,} visits, {args.moves:,} part moves; cores {os.cpu_count()}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.reuse:
        _report(measure(args.reuse, args.repeat, breakdown=args.breakdown))
        return
    with tempfile.TemporaryDirectory(prefix="rma-figures-") as tmp:
        for kind in kinds:
            t = time.perf_counter()
            if kind == "sqlite":
                kept = Path(args.sqlite_fixture or scale.ensure("sqlite", args.visits)).parent
                url = sqlite_copy(args.visits, kept if args.keep else Path(tmp), args.sqlite_fixture)
            else:
                url = pg_copy(args.visits, args.postgres, args.pg_template)
            try:
                engine = make_engine(url)
                migrate.upgrade(engine)  # the copy, never the cached fixture
                engine.dispose()
                print(f"{kind}: copy ready in {time.perf_counter() - t:.0f} s", flush=True)
                t = time.perf_counter()
                filled = fill(url, args.moves)
                print(f"  filled {filled} in {time.perf_counter() - t:.0f} s", flush=True)
                _report(measure(url, args.repeat, breakdown=args.breakdown))
            finally:
                if args.keep:
                    print(f"  kept {url} (measure it again: --reuse URL; remove it by hand)")
                else:
                    drop(url)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _report(results: dict[str, tuple[float, float, float]]) -> None:
    for name, (cold, median, best) in results.items():
        verdict = "ok" if median <= TARGETS[name] else "OVER"  # judged on the median, not the luckiest run
        print(f"  {name:<18} cold {cold:6.2f} s   median {median:6.2f} s   best {best:6.2f} s   "
              f"target ≤ {TARGETS[name]:.0f} s  {verdict}", flush=True)


if __name__ == "__main__":
    main()
