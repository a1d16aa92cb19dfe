"""Rows lost when a training process is SIGKILLed 1 s after its last log, and what it costs.

Baseline: plain ``wandb.log`` (wandb-core writes the tail of the ``.wandb`` file every
15 s, its default). Against it: nbwandb ``run.log`` (nbwandb asks wandb-core to write
every 0.1 s). Each trial is a fresh process that logs ``--rows`` rows (a short sleep every
10 rows, like training steps), waits 1 s and kills itself; the file is then read back
with ``nbwandb.local.read_run``. Also prints logging throughput with both flush intervals,
so the cost of writing more often is visible.

    .venv/bin/python benchmarks/bench_kill_loss.py [--trials 3] [--rows 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TRIAL = """
import os, signal, sys, time
kind, rows = sys.argv[1], int(sys.argv[2])
if kind == "wandb":
    import wandb
    run = wandb.init(project="kill", mode="offline", settings=wandb.Settings(silent=True, console="off"))
    log = lambda i: run.log({{"x": float(i)}})
    run_dir = run.settings.sync_dir
else:
    import nbwandb
    run = nbwandb.init(project="kill", mode="offline", quiet=True, settings={{"console": "off"}})
    log = lambda i: run.log({{"x": float(i)}})
    run_dir = run.run_dir
print(run_dir, flush=True)
for i in range(rows):
    log(i)
    if i % 10 == 0:
        time.sleep(0.002)
time.sleep(1.0)
os.kill(os.getpid(), signal.SIGKILL)
"""

THROUGHPUT = """
import sys, time
import nbwandb
interval, rows = float(sys.argv[1]), int(sys.argv[2])
run = nbwandb.init(project="speed", mode="offline", quiet=True,
                   settings={{"x_transaction_log_flush_interval": interval, "console": "off"}})
start = time.perf_counter()
for i in range(rows):
    run.log({{"loss": 1.0 / (i + 1), "acc": i / rows}}, step=i)
run.flush()
elapsed = time.perf_counter() - start
run.finish()
print(rows / elapsed)
"""


def _env(workdir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", "WANDB_API_KEY")}
    env.update(
        {
            "WANDB_DIR": workdir,
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "PYTHONPATH": str(REPO),
            "WANDB_DISABLE_GIT": "true",
        }
    )
    return env


def rows_lost(kind: str, rows: int) -> int:
    from nbwandb.local import read_run

    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [sys.executable, "-c", TRIAL.format(), kind, str(rows)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=180,
            env=_env(workdir),
        )
        run_dir = done.stdout.strip().splitlines()[0]
        time.sleep(0.5)  # wandb-core notices that its parent is gone
        history = read_run(run_dir).history
        return rows - sum(1 for row in history if "x" in row)


def throughput(interval: float, rows: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [sys.executable, "-c", THROUGHPUT.format(), str(interval), str(rows)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=180,
            env=_env(workdir),
            check=True,
        )
        return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument(
        "--speed-rows", type=int, default=20000, help="rows per throughput measurement"
    )
    args = parser.parse_args()

    print(f"SIGKILL 1 s after the last of {args.rows} logged rows, {args.trials} trials each")
    lost = {
        kind: [rows_lost(kind, args.rows) for _ in range(args.trials)]
        for kind in ("wandb", "nbwandb")
    }
    for kind, values in lost.items():
        print(f"  {kind:8s} rows lost: {values}  (mean {statistics.mean(values):.1f})")
    print(
        f"  nbwandb loses {statistics.mean(lost['nbwandb']):.1f} rows per kill vs "
        f"{statistics.mean(lost['wandb']):.1f} for plain wandb"
    )

    print(f"\nnbwandb logging throughput, {args.speed_rows} rows (median of {args.trials})")
    samples: dict[float, list[float]] = {15.0: [], 0.1: []}
    for _ in range(args.trials):  # interleaved, so that a busy moment hits both alike
        for interval in samples:
            samples[interval].append(throughput(interval, args.speed_rows))
    speeds = {interval: statistics.median(values) for interval, values in samples.items()}
    for interval, speed in speeds.items():
        print(f"  flush interval {interval:>5g} s: {speed:,.0f} rows/s")
    print(f"  ratio 0.1 s / 15 s: {speeds[0.1] / speeds[15.0]:.2f}x")


if __name__ == "__main__":
    main()
