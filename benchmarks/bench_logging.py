"""Metric logging cost against a loop that logs nothing.

A training-like loop of 3,000 steps whose step does ~2 ms of torch work that releases
the GIL, logging 5 scalars in two calls per step (train and val):

  (a) no logging
  (b) raw ``wandb.log`` twice per step (what users write)
  (c) raw ``wandb.log`` once per step, with ``define_metric``
  (d) nbwandb ``run.log`` twice per step with ``step=``

Prints steps/s and the ratio to (a), then reads each run back and counts history rows.

    .venv/bin/python benchmarks/bench_logging.py [--steps 3000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("WANDB_SILENT", "true")


def make_work(target_ms: float = 2.0):
    import torch

    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    b = torch.randn(256, 256)

    def one(reps: int) -> float:
        start = time.perf_counter()
        for _ in range(reps):
            c = a @ b  # releases the GIL inside the BLAS call
        return (time.perf_counter() - start) * 1000, c

    reps = 1
    for _ in range(5):
        ms, _ = one(reps)
        reps = max(1, round(reps * target_ms / max(ms, 1e-3)))

    def step() -> float:
        c = a
        for _ in range(reps):
            c = a @ b
        return float(c[0, 0])

    return step, reps


def loop(steps: int, work, log_train, log_val) -> float:
    start = time.perf_counter()
    for i in range(steps):
        x = work()
        log_train(i, x)
        log_val(i, x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    steps = args.steps
    work, reps = make_work()
    import wandb

    import nbwandb
    from nbwandb.local import read_run

    root = tempfile.mkdtemp(prefix="bench-logging-")
    results: dict[str, float] = {}
    rows: dict[str, int] = {}

    def nothing(i, x):
        pass

    loop(200, work, nothing, nothing)  # warm-up
    results["a"] = loop(steps, work, nothing, nothing)

    run = wandb.init(project="bench", mode="offline", dir=root, settings=wandb.Settings(silent=True))
    results["b"] = loop(
        steps, work,
        lambda i, x: run.log({"train/loss": x, "train/acc": 0.5, "train/lr": 0.1}),
        lambda i, x: run.log({"val/loss": x, "val/acc": 0.4}),
    )
    run.finish()
    rows["b"] = len(read_run(run.settings.sync_file).history)

    run = wandb.init(project="bench", mode="offline", dir=root, settings=wandb.Settings(silent=True))
    run.define_metric("global_step")
    run.define_metric("*", step_metric="global_step")
    pending: dict = {}
    results["c"] = loop(
        steps, work,
        lambda i, x: pending.update({"train/loss": x, "train/acc": 0.5, "train/lr": 0.1}),
        lambda i, x: run.log({**pending, "val/loss": x, "val/acc": 0.4, "global_step": i}),
    )
    run.finish()
    rows["c"] = len(read_run(run.settings.sync_file).history)

    nb = nbwandb.init(project="bench", mode="offline", dir=root, quiet=True)
    results["d"] = loop(
        steps, work,
        lambda i, x: nb.log({"loss": x, "acc": 0.5, "lr": 0.1}, step=i, prefix="train"),
        lambda i, x: nb.log({"loss": x, "acc": 0.4}, step=i, prefix="val"),
    )
    t_finish = time.perf_counter()
    nb.finish()
    finish_s = time.perf_counter() - t_finish
    history = read_run(nb.run_dir).history
    rows["d"] = len(history)
    complete = all(
        {"train/loss", "train/acc", "train/lr", "val/loss", "val/acc", "global_step"} <= row.keys() for row in history
    )
    steps_ok = [row["global_step"] for row in history] == list(range(steps))

    names = {
        "a": "no logging",
        "b": "raw wandb.log x2/step",
        "c": "raw wandb.log x1/step + define_metric",
        "d": "nbwandb run.log x2/step",
    }
    print(f"steps: {steps}, torch work per step: {results['a'] / steps * 1000:.2f} ms ({reps} matmuls 256x256)")
    print(f"{'variant':42s} {'steps/s':>9s} {'ratio to (a)':>13s} {'history rows':>13s}")
    for key in "abcd":
        rate = steps / results[key]
        ratio = results["a"] / results[key]
        print(f"({key}) {names[key]:38s} {rate:9.1f} {ratio:13.3f} {rows.get(key, 0):>13}")
    print(f"(d) one row per step with every value present: {rows['d'] == steps and complete and steps_ok}")
    print(f"(d) finish() after the loop took {finish_s:.2f} s (queued rows written by then)")
    print(f"(d) within 5% of (a): {results['d'] <= results['a'] * 1.05}; "
          f"faster than (b): {results['d'] < results['b']}; faster than (c): {results['d'] < results['c']}")


if __name__ == "__main__":
    main()
