"""Cost of ``run.log(..., reduce="mean")`` over 2 ranks (gloo, CPU) against rank-0-only logging.

    .venv/bin/python benchmarks/bench_distributed.py [--steps 2000]

The script starts itself under torchrun (``nbwandb.launch``, 2 processes).
Each rank logs 5 scalars per step into an offline run (in a temp folder):

* baseline: ``run.log(metrics, step=i)``: rank 0 logs its own values, rank 1 does nothing;
* reduced:  ``run.log(metrics, step=i, reduce="mean")`` on both ranks (one packed all_reduce);
* floor:    a bare ``dist.all_reduce`` of the same packet, without nbwandb.

Each phase ends with ``run.flush()``, so rows still queued for the writer are counted.
It prints the per-step cost of each, the overhead of the reduction in ms, and that
overhead as a share of a 2 ms training step.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

STEP_MS = 2.0  # the training step the overhead is compared with


def _phase(run, steps: int, offset: int, reduce: str | None) -> float:
    import torch.distributed as dist

    dist.barrier()
    start = time.perf_counter()
    for i in range(steps):
        metrics = {"loss": 1.0 / (i + 1), "acc": 0.5, "lr": 1e-3, "grad_norm": 2.0, "tokens": 512.0}
        run.log(metrics, step=offset + i, prefix="train", reduce=reduce)
    run.flush()
    elapsed = time.perf_counter() - start
    dist.barrier()
    return elapsed / steps * 1e3


def _reduce_only(steps: int) -> float:
    import torch.distributed as dist

    from nbwandb.distributed import reduce_metrics

    dist.barrier()
    start = time.perf_counter()
    for i in range(steps):
        row = {
            "train/loss": 1.0 / (i + 1),
            "train/acc": 0.5,
            "train/lr": 1e-3,
            "train/grad_norm": 2.0,
            "train/tokens": 512.0,
        }
        reduce_metrics(row, "mean")
    elapsed = time.perf_counter() - start
    dist.barrier()
    return elapsed / steps * 1e3


def _floor(steps: int) -> float:
    import torch
    import torch.distributed as dist

    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        packet = torch.tensor([0.0] * 38, dtype=torch.float64)  # the same 38-slot packet
        dist.all_reduce(packet)
        packet.tolist()
    elapsed = time.perf_counter() - start
    dist.barrier()
    return elapsed / steps * 1e3


def worker(steps: int) -> None:
    import torch.distributed as dist

    import nbwandb

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    with tempfile.TemporaryDirectory() as tmp:
        run = nbwandb.init(project="bench-distributed", mode="offline", dir=tmp, quiet=True)
        _phase(run, 200, 0, "mean")  # warm-up: connections, caches, the writer thread
        _phase(run, 200, 200, None)
        base, reduced, alone, floor = [], [], [], []
        for k in range(3):  # interleaved, so a busy moment of the box hits all alike
            base.append(_phase(run, steps, 400 + 2 * k * steps, None))
            reduced.append(_phase(run, steps, 400 + (2 * k + 1) * steps, "mean"))
            alone.append(_reduce_only(steps))
            floor.append(_floor(steps))
        run.finish()
    if rank == 0:
        b, r, a, f = (
            min(base),
            min(reduced),
            min(alone),
            min(floor),
        )  # best of 3: least disturbed by the box
        overhead = r - b
        print(f"steps per phase: {steps}, ranks: {dist.get_world_size()}, backend: gloo (CPU)")
        print(f"rank-0-only log of 5 scalars : {b:8.4f} ms/step")
        print(f"reduce='mean' of 5 scalars   : {r:8.4f} ms/step")
        print(f"reduce_metrics alone, no run : {a:8.4f} ms/step")
        print(f"bare all_reduce (the floor)  : {f:8.4f} ms/step")
        print(
            f"overhead of reduce='mean'    : {overhead:8.4f} ms/step "
            f"= {overhead / STEP_MS:.1%} of a {STEP_MS:g} ms step "
            f"(reduced/baseline = {r / b:.1f}x; nbwandb above the floor: {r - f - b:+.4f} ms)"
        )
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options.steps)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from nbwandb import launch

    os.environ.setdefault("WANDB_SILENT", "true")
    result = launch(
        __file__,
        2,
        ["--worker", "--steps", str(options.steps)],
        timeout=600,
        echo=lambda line: print(line) if not line.startswith(("*", "Setting OMP")) else None,
    )
    if not result.ok:
        raise SystemExit(f"benchmark job failed: {result}")


if __name__ == "__main__":
    main()
