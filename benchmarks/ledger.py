"""The returns ledger at a department's few years: the page, the command, the export (run by hand).

    .venv/bin/python benchmarks/ledger.py [--visits 1000000] [--runs 7] [--postgres URL]

On a copy of the scale fixture (``benchmarks/scale.py``: 1,000,000 past visits):

- the page: a real ``rma serve`` and headless Chromium (the e2e tier's browser), signed in as
  the logistics clerk; the time from asking for ``/ledger`` until its table shows the newest
  visits and their count (the browser has the page's scripts cached, as a clerk's has);
- the services behind it: the count and the newest page of 100 visits, in one read;
- ``rma visits --state received``: a whole new process, as a script would run it;
- ``rma visits --csv``: every visit streamed out, with the process's peak memory.

Prints medians. Targets (issue 7): the page ≤ 300 ms, the command ≤ 1 s at 1,000,000 visits.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import scale  # noqa: E402

RMA = Path(sys.executable).with_name("rma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_times(url: str, home: Path, runs: int) -> tuple[list[float], list[float]]:
    from selenium.webdriver import Chrome, ChromeOptions
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from rma.demo import _password
    from tests.e2e.station import CHROME_ARGS, CHROMEDRIVER, CHROMIUM

    port = free_port()
    env = {**os.environ, "RMA_DATABASE_URL": url, "RMA_HOME": str(home)}
    server = subprocess.Popen([str(RMA), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    options = ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument("--window-size=1366,768")
    driver = Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("rma serve did not start")
                time.sleep(0.3)
        wait = WebDriverWait(driver, 60)
        driver.get(base + "/login")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="login-username"] input, '
                                                              'input[data-testid="login-username"]'))
        box = driver.find_element(By.CSS_SELECTOR, '[data-testid="login-username"] input, input[data-testid="login-username"]')
        box.send_keys("clerk")
        pw = driver.find_element(By.CSS_SELECTOR, '[data-testid="login-password"] input, input[data-testid="login-password"]')
        pw.send_keys(_password("clerk") + Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="scan-box"]'))

        def shown(d) -> bool:  # noqa: ANN001
            rows = d.find_elements(By.CSS_SELECTOR, '[data-testid="ledger-table"] tbody tr')
            count = d.find_elements(By.CSS_SELECTOR, '[data-testid="ledger-count"]')
            return len(rows) >= 50 and bool(count) and any(ch.isdigit() for ch in count[0].text)

        def courier_page_shown(d) -> bool:  # noqa: ANN001
            return bool(d.find_elements(By.CSS_SELECTOR, '[data-testid="cost-total"]'))

        times, shell = [], []
        for i in range(runs + 1):
            driver.get(base + "/")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="scan-box"]'))
            t = time.perf_counter()
            driver.get(base + "/ledger")
            wait.until(shown)
            if i:  # the first load fills the browser's cache, as a clerk's day begins
                times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            driver.get(base + "/couriers")  # a small page of the same frame: what any page costs
            wait.until(courier_page_shown)
            if i:
                shell.append((time.perf_counter() - t) * 1000)
        return times, shell
    finally:
        driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


def service_times(url: str, runs: int) -> list[float]:
    from rma.db import Database
    from rma.intake import services

    db = Database.from_url(url)
    out = []
    try:
        for _ in range(runs):
            t = time.perf_counter()
            with db.uow(readonly=True) as uow:
                f = services.VisitFilter(limit=100)
                services.count_visits(uow, f)
                services.list_visits(uow, f)
            out.append((time.perf_counter() - t) * 1000)
    finally:
        db.dispose()
    return out


def command_times(url: str, home: Path, runs: int, *args: str) -> tuple[list[float], float]:
    env = {**os.environ, "RMA_DATABASE_URL": url, "RMA_HOME": str(home)}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(RMA), "visits", *args], env=env, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return times, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=scale.DEFAULT_VISITS)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--postgres", default=os.environ.get("RMA_BENCH_POSTGRES_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.postgres:
        print("no PostgreSQL given (--postgres or RMA_BENCH_POSTGRES_URL): SQLite only")
        kinds.remove("postgresql")
    print(f"the returns ledger at {args.visits:,} past visits, {args.runs} runs each, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for kind in kinds:
            url = scale.fresh_copy(kind, args.visits, Path(tmp), pg_base=args.postgres)
            try:
                if not args.no_browser:
                    t, shell = page_times(url, home, args.runs)
                    print(f"{kind:<10} /ledger in the browser     median {med(t):7.0f} ms   (runs "
                          + ", ".join(f"{x:.0f}" for x in t) + ")")
                    print(f"{kind:<10} /couriers (a small page)   median {med(shell):7.0f} ms")
                t = service_times(url, args.runs)
                print(f"{kind:<10} count + newest 100 visits  median {med(t):7.1f} ms")
                t, _ = command_times(url, home, args.runs, "--state", "received")
                print(f"{kind:<10} rma visits --state received median {med(t):7.0f} ms (a whole process)")
                code = ("import resource, subprocess, sys, os; subprocess.run([sys.argv[1], 'visits', '--csv'], "
                        "stdout=subprocess.DEVNULL, check=True); "
                        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
                env = {**os.environ, "RMA_DATABASE_URL": url, "RMA_HOME": str(home)}
                t0 = time.perf_counter()
                peak = subprocess.run([sys.executable, "-c", code, str(RMA)], env=env, capture_output=True,
                                      text=True, check=True).stdout.strip()
                print(f"{kind:<10} rma visits --csv (every visit) {time.perf_counter() - t0:6.1f} s, "
                      f"peak memory {float(peak):.0f} MB")
            finally:
                scale.drop_copy(url)


if __name__ == "__main__":
    main()
