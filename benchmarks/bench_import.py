"""Import time of ``import nbwandb`` against ``import wandb``, each in a fresh interpreter.

.venv/bin/python benchmarks/bench_import.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys


def time_import(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    time_import("wandb")  # warm the file cache for both
    nb = statistics.median(time_import("nbwandb") for _ in range(args.repeat))
    wb = statistics.median(time_import("wandb") for _ in range(args.repeat))
    print(f"import nbwandb: {nb * 1000:8.1f} ms (median of {args.repeat})")
    print(f"import wandb:   {wb * 1000:8.1f} ms (median of {args.repeat})")
    print(f"ratio wandb / nbwandb: {wb / nb:.0f}x")


if __name__ == "__main__":
    main()
