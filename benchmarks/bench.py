"""Opening a repair card, and the lead's view, on a department's few years (run by hand; never a timed test).

    .venv/bin/python benchmarks/bench.py [--visits 1000000] [--cards 300] [--postgres URL] [--only sqlite]

On a copy of the scale fixture (``benchmarks/scale.py``: 1,000,000 past visits, every one the
bench decided on with its repair card, findings and labour), ``--cards`` units that were here
before come back and are on the bench today, made by the bench's services: received again,
taken by the technician, the complaint coded with one of its model's usual symptoms, one
finding, some with labour running. Then:

- each card is opened the way its page opens it (the code lists, then ``views.card_view``: the
  unit's earlier visits with their findings and test runs, alerts, labour, photos, the rework,
  and the suggestions for its model and symptom counted over every earlier finding), each in
  its own read-only unit of work;
- the queue (``/bench``) and the lead's view (``/bench/lead``) are read 20 times each.

Prints p50, p95 and max. Targets (issue 10): a card p95 ≤ 150 ms; the lead's view ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from benchmarks import scale  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def back_on_the_bench(db, n: int, rng: random.Random) -> list[str]:  # noqa: ANN001
    """``n`` units that left repaired come back today and are taken, coded and found at the bench."""
    from rma.bench import labour
    from rma.bench import services as bench
    from rma.core import services as core
    from rma.core.models import Unit
    from rma.core.states import VisitState
    from rma.demo import CASE_CODES, CASES

    with db.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text(
            "SELECT u.id FROM units u WHERE NOT EXISTS (SELECT 1 FROM visits v WHERE v.unit_id = u.id "
            "AND v.closed_at IS NULL) ORDER BY u.id LIMIT :n"), {"n": n * 20})]
    tags = []
    for unit_id in rng.sample(ids, min(n, len(ids))):
        with db.uow() as uow:
            clerk, tech = core.get_actor(uow, "clerk"), core.get_actor(uow, "technician")
            unit = uow.session.get(Unit, unit_id)
            fault = rng.choice(CASES[unit.model.family]).fault
            case = CASE_CODES[fault]
            visit = core.open_visit(uow, clerk, unit, customer=unit.visits[-1].customer, reason="修复后再次出现")
            core.transition(uow, clerk, visit, VisitState.AWAITING_BENCH, event="to_bench")
            bench.start_repair(uow, tech, visit.tag)
            bench.code_complaint(uow, tech, visit.tag, condition=case[0], symptom=case[1])
            bench.add_finding(uow, tech, visit.tag, section=case[2], designator=case[3], defect=case[4],
                              repair=case[5], note=fault)  # the note: a designator off the model's BOM is kept
            if rng.random() < 0.1:
                labour.start(uow, tech, visit.tag)
            tags.append(visit.tag)
    return tags


def run(kind: str, visits: int, cards: int, pg_base: str | None, tmp: Path) -> dict[str, list[float]]:
    url = scale.fresh_copy(kind, visits, tmp, pg_base=pg_base)
    home = tmp / f"home-{kind}"
    home.mkdir()
    os.environ["RMA_HOME"] = str(home)
    os.environ["RMA_DATABASE_URL"] = url
    from rma.bench import codes, views
    from rma.core import services as core
    from rma.db import Database

    db = Database.from_url(url)
    rng = random.Random(10)
    try:
        tags = back_on_the_bench(db, cards, rng)
        with db.uow(readonly=True) as uow:
            tech_id = core.get_actor(uow, "technician").id
        figures: dict[str, list[float]] = {"card": [], "suggestions": [], "queue": [], "lead's view": []}
        suggested = 0
        for tag in tags:
            t0 = time.perf_counter()
            with db.uow(readonly=True) as uow:  # what opening the card page reads
                codes.list_codes(uow)
                card = views.card_view(uow, tag, viewer_id=tech_id)
            figures["card"].append((time.perf_counter() - t0) * 1000)
            suggested += bool(card["suggestions"])
            assert card["history"], tag  # the unit was here before
            t0 = time.perf_counter()
            with db.uow(readonly=True) as uow:
                views.suggest(uow, tag)
            figures["suggestions"].append((time.perf_counter() - t0) * 1000)
        for _ in range(20):
            for name, read in (("queue", views.queue), ("lead's view", views.lead_view)):
                t0 = time.perf_counter()
                with db.uow(readonly=True) as uow:
                    read(uow)
                figures[name].append((time.perf_counter() - t0) * 1000)
        print(f"{kind:<10} {len(tags)} cards opened, {suggested} with suggestions")
        return figures
    finally:
        db.dispose()
        scale.drop_copy(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=scale.DEFAULT_VISITS)
    ap.add_argument("--cards", type=int, default=300)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL given (--postgres or RMA_BENCH_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")
    print(f"{args.cards} repair cards on {args.visits:,} past visits, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for name, values in run(kind, args.visits, args.cards, args.postgres, Path(tmp)).items():
                print(f"{kind:<10} {name:<12} p50 {statistics.median(values):7.2f} ms   p95 {pct(values, 95):7.2f} ms"
                      f"   max {max(values):7.2f} ms   ({len(values):,} measured)")


if __name__ == "__main__":
    main()
