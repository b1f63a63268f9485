"""The programmer driver's effective rate against the wire rate (run by hand; never a timed test).

    .venv/bin/python benchmarks/programmer_wire.py [--runs 5] [--size-kib 1024] [--latency-ms 0]
                                                   [--chip-time 0] [--window 2] [--baudrate 921600]

Starts the programmer simulator as its own process on a pty, paced like a UART (10 bits a
byte at the baud rate, both directions at once), and programs a random image into a W25Q16
with ``SerialProgrammer.program()``: erase, every 4 KiB block, verify by the programmer's
SHA-256. Prints, per run and as the median of the runs, the image's bytes divided by the wall
time of the whole program() call, against the wire rate (baud / 10: 92,160 B/s at 921,600
baud), and their ratio. The driver only: no database. ``--latency-ms`` adds a USB bridge's
latency to every reply; ``--chip-time 1`` gives the chip its datasheet's typical erase,
program and read times (the erase then dominates what the wire cannot hide).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.programmer import SerialProgrammer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-kib", type=int, default=1024)
    ap.add_argument("--baudrate", type=int, default=921600)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--chip-time", type=float, default=0.0)
    ap.add_argument("--window", type=int, default=2, help="requests in flight")
    args = ap.parse_args()

    image = random.Random(1).randbytes(args.size_kib * 1024)
    wire = args.baudrate / 10
    command = [sys.executable, "-m", "drivers.programmer_sim", "--baudrate", str(args.baudrate),
               "--latency-ms", str(args.latency_ms), "--chip-time", str(args.chip_time)]
    sim = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        line = sim.stdout.readline()
        if not line.startswith("Programmer simulator ready: "):
            raise SystemExit(f"the simulator did not start: {line!r}")
        url = line.split(": ", 1)[1].strip()
        rates = []
        with SerialProgrammer(url, baudrate=args.baudrate, window=args.window) as programmer:
            for run in range(args.runs):
                started = time.perf_counter()
                result = programmer.program(image, socket=1 + run % 4)
                seconds = time.perf_counter() - started
                rates.append(len(image) / seconds)
                print(f"run {run + 1}: {seconds:6.2f} s  {rates[-1]:9,.0f} B/s  ratio {rates[-1] / wire:.3f}  "
                      f"(write {result.write_seconds:.2f} s, verify {result.verify_seconds:.3f} s, "
                      f"resent {result.resent})")
    finally:
        sim.stdin.close()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
    median = statistics.median(rates)
    print(f"{args.size_kib} KiB program + verify over a pty at {args.baudrate} baud 8N1 paced "
          f"(latency {args.latency_ms:g} ms, chip time x{args.chip_time:g}, window {args.window}): "
          f"median {median:,.0f} B/s, wire {wire:,.0f} B/s, ratio {median / wire:.3f} (target >= 0.85)")


if __name__ == "__main__":
    main()
