"""How long ``rma check`` takes, and how much memory, on a department's few years (run by hand).

    .venv/bin/python benchmarks/check.py [--visits 1000000] [--runs 3] [--postgres URL]

Each run is a fresh ``rma check --json`` process against a copy of the scale fixture
(``benchmarks/scale.py``: 1,000,000 past visits, about 7,000,000 returns-ledger rows, every
stream sealed). ``rma check`` works in worker processes (one per core, at most 4): the
memory printed is the peak of the sum of the resident sizes of ``rma check`` and its
workers (sampled every 20 ms; pages the workers share with it are counted once per process,
so this overstates), beside the largest single process's max RSS. Prints the median wall
time and that the check found the fixture clean. Target (issue 7): ≤ 15 s and under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import scale  # noqa: E402

RMA = Path(sys.executable).with_name("rma")


def _tree_rss_mb(root: int) -> float:
    """The resident size of ``root`` and all its descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    kb = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as f:
                kb += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return kb / 1024


def one_run(url: str, home: Path, visits: int = scale.DEFAULT_VISITS) -> tuple[float, float, float, dict]:
    env = {**os.environ, "RMA_DATABASE_URL": url, "RMA_HOME": str(home)}
    if not (home / "firmware").exists() and (scale.home_of(visits) / "firmware").exists():
        shutil.copytree(scale.home_of(visits) / "firmware", home / "firmware")  # rma check hashes them again
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.Popen([str(RMA), "check", "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    tree_peak = 0.0
    while proc.poll() is None:
        tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - t
    out, err = proc.communicate()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        raise SystemExit(f"rma check failed: {err}")
    # ru_maxrss of children is the largest descendant so far: each run is measured in its own process below.
    return elapsed, tree_peak, max(peak, before) / 1024, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=scale.DEFAULT_VISITS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL given (--postgres or RMA_BENCH_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")
    print(f"rma check on {args.visits:,} past visits, {args.runs} runs each, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            url = scale.fresh_copy(kind, args.visits, Path(tmp), pg_base=args.postgres)
            try:
                times, peaks, largests = [], [], []
                for _ in range(args.runs):
                    # a new Python for each run, so that its peak memory is its own
                    code = ("import sys, json; sys.path.insert(0, %r); from benchmarks.check import one_run; "
                            "from pathlib import Path; e, m, p, r = one_run(%r, Path(%r), %d); "
                            "print(json.dumps([e, m, p, r['ok'], r['counts']]))") % (
                        str(Path(__file__).resolve().parents[1]), url, tmp, args.visits)
                    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                    elapsed, peak, largest, ok, counts = json.loads(out.stdout)
                    times.append(elapsed)
                    peaks.append(peak)
                    largests.append(largest)
                    if not ok:
                        print(f"  {kind}: the fixture is not clean: {counts}")
                print(f"{kind:<10} median {statistics.median(times):.1f} s (runs "
                      + ", ".join(f"{t:.1f}" for t in times) + f"), peak memory {max(peaks):.0f} MB all processes "
                      f"(largest process {max(largests):.0f} MB), "
                      f"violations: {'none' if ok else counts}")
            finally:
                scale.drop_copy(url)


if __name__ == "__main__":
    main()
