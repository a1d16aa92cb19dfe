"""What the kernel's cache keeper (``nbwandb/local/keeper.py``) costs a training loop, and its memory.

Two figures of issue 27, measured side by side in one process:

1. **While a cell runs.** A loop of 1 ms steps (pure-Python work that holds the GIL, the worst
   case for a thread beside it) logs one row of 4 scalars a step into an offline run. Rounds
   alternate: the run kept by a ``CacheKeeper`` told a cell runs (``cell_started``), and no
   keeper. ``--busy-period`` shortens the keeper's pause between passes (30 s in nbwandb) so
   that a short loop sees many passes; each pass still takes at most 1% of the time (it
   sleeps 99x each window it reads). Printed: seconds per round and the ratio.
2. **Between cells.** ``--cells`` cells of ``--rows-per-cell`` rows each, logged as fast as
   the writer takes them; after each cell the keeper reads the run on while the kernel is
   idle (``cell_ended``), as it would between two cells. Printed: the process's RSS after each
   cell, the cache's rows, and the first ``nbwandb.show`` at the end (the cache is current).

Usage::

    .venv/bin/python benchmarks/bench_keeper.py            # ~3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_keeper.py --quick
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def calibrate(step_seconds: float) -> int:
    """How many iterations of ``work`` take ``step_seconds`` here (median of a few tries)."""
    n, tries = 1000, []
    for _ in range(5):
        t = time.perf_counter()
        work(n)
        tries.append(time.perf_counter() - t)
    return max(1, int(n * step_seconds / statistics.median(tries)))


def work(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def loop_round(steps: int, n: int, keep: bool, busy_period: float) -> float:
    import nbwandb
    from nbwandb.local import keeper as keeper_module

    keeper_module.BUSY_PERIOD = busy_period
    run = nbwandb.init("bench-keeper", mode="offline", quiet=True)
    keeper = keeper_module.CacheKeeper()
    if keep:
        keeper.cell_started()  # the loop is a running cell
        keeper.keep(run)
        keeper.wake()  # a pass at once, not after the first period
    started = time.perf_counter()
    for i in range(steps):
        x = work(n)
        run.log({"loss": 1 / (1 + i), "acc": i / steps, "lr": 0.001, "x": x}, step=i)
    seconds = time.perf_counter() - started
    passes, windows, cpu = keeper.passes, keeper.windows, keeper.cpu_seconds
    keeper.stop()
    run.finish()
    if keep:
        print(
            f"    (keeper: {passes} passes ended, {windows} windows read, {cpu:.3f} s of CPU "
            f"in {seconds:.1f} s: {100 * cpu / seconds:.2f}% of the round)"
        )
    return seconds


def between_cells(cells: int, rows: int) -> None:
    import nbwandb
    from nbwandb.local.cache import load_cache
    from nbwandb.local.keeper import CacheKeeper

    run = nbwandb.init("bench-keeper-cells", mode="offline", quiet=True)
    keeper = CacheKeeper()
    keeper.cell_started()
    keeper.keep(run)
    step = 0
    print(f"{'cell':>5} {'rows logged':>12} {'rows cached':>12} {'RSS MB':>8} {'caught up, s':>12}")
    for cell in range(1, cells + 1):
        keeper.cell_started()
        for _ in range(rows):
            run.log(
                {"loss": 1 / (1 + step), "acc": step / 1e6, "lr": 0.001, "x": step * 0.5}, step=step
            )
            step += 1
        run.flush()
        keeper.cell_ended()
        t = time.perf_counter()
        keeper.wait_idle(600)
        idle = time.perf_counter() - t
        cache = load_cache(Path(run.run_file))
        cached = cache.meta["rows"] if cache is not None else 0
        print(f"{cell:>5} {step:>12,} {cached:>12,} {rss_mb():>8.0f} {idle:>12.2f}")
    run.finish()
    keeper.wake()
    keeper.wait_idle(600)
    t = time.perf_counter()
    html = nbwandb.show(run.run_dir).to_html()
    seconds = time.perf_counter() - t
    print(
        f"nbwandb.show(...).to_html() after the last cell (cache current): {seconds:.3f} s, "
        f"{len(html) / 1e3:.0f} kB of HTML"
    )
    keeper.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=10_000, help="1 ms steps per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--busy-period", type=float, default=2.0)
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--rows-per-cell", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.cells, args.rows_per_cell = 3000, 1, 3, 3000
    folder = tempfile.mkdtemp(prefix="bench_keeper.")
    os.environ["WANDB_DIR"] = folder
    os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    print(f"{os.cpu_count()} cores; runs in {folder}")

    n = calibrate(0.001)
    print(
        f"\n1. a {args.steps:,}-step loop of 1 ms steps (GIL-holding work), one row a step; keeper pause {args.busy_period} s"
    )
    kept, plain = [], []
    for r in range(args.rounds):
        for keep in (True, False) if r % 2 == 0 else (False, True):
            s = loop_round(args.steps, n, keep, args.busy_period)
            (kept if keep else plain).append(s)
            print(f"  round {r + 1}, {'keeper ' if keep else 'none   '}: {s:.2f} s")
    k, p = statistics.median(kept), statistics.median(plain)
    pairs = statistics.median(a / b for a, b in zip(kept, plain, strict=True))
    print(
        f"  median: keeper {k:.2f} s, none {p:.2f} s, ratio {k / p:.3f}; median of the rounds' "
        f"ratios {pairs:.3f}; spread of the no-keeper rounds {min(plain):.2f}-{max(plain):.2f} s "
        "(goal: at most 1.01)"
    )

    print(
        f"\n2. {args.cells} cells of {args.rows_per_cell:,} rows; the keeper reads on between them"
    )
    between_cells(args.cells, args.rows_per_cell)


if __name__ == "__main__":
    main()
