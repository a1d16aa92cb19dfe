"""Logging a batch of images per step: the naive wandb.Image loop vs log_images vs a grid.

Each step logs 64 images (3x32x32 float tensors in [0, 1]) for 50 steps, offline:

  (a) naive: ``[wandb.Image(t) for t in batch]`` done correctly, i.e. with the permute and
      uint8 conversion users need (wandb.Image casts floats to uint8 without scaling),
      logged with ``run.log``;
  (b) ``run.log_images(key, batch)``: the whole batch to uint8 HWC in one vectorised op;
  (c) ``run.log_images(key, batch, grid=True)``: one grid image per step.

Times cover everything up to ``run.flush()`` (files moved into the run directory), and
also the time spent on the caller's thread. Each table is measured twice: with torch's
default intra-op threads (what users get; the naive loop's tiny per-image ops pay the
thread pool's overhead each time) and with one thread (the conversion alone; wandb's PNG
file writing is then most of the cost of (a) and (b)).
Run: ``.venv/bin/python benchmarks/bench_media.py``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def naive(run, key, batch, step):  # the baseline users write by hand
    import wandb

    images = [
        wandb.Image((t.detach().permute(1, 2, 0).clamp(0, 1) * 255).round().byte().cpu().numpy())
        for t in batch
    ]
    # run.log takes wandb values; a plain list of Images is not one, so the same list
    # type log_images uses carries them (wandb writes the same images/separated entry).
    from nbwandb.media.arrays import media_list

    run.log({key: media_list(images)}, step=step)


def with_log_images(run, key, batch, step):
    run.log_images(key, batch, max_images=64, step=step)


def with_grid(run, key, batch, step):
    run.log_images(key, batch, grid=True, max_images=64, step=step)


def measure(name, fn, batches, workdir):
    import nbwandb

    os.environ["WANDB_DIR"] = str(workdir)
    run = nbwandb.init(project="bench-media", mode="offline", quiet=True, name=name)
    start = time.perf_counter()
    caller = 0.0
    for step, batch in enumerate(batches):
        t0 = time.perf_counter()
        fn(run, "samples", batch, step)
        caller += time.perf_counter() - t0
    run.flush()
    total = time.perf_counter() - start
    files = len(list((run.files_dir / "media" / "images").glob("*.png")))
    run.finish()
    return total, caller, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs per method")
    parser.add_argument(
        "--torch-threads",
        default="0,1",
        help="comma-separated torch intra-op thread counts to measure (0: torch's "
        "default). Tiny per-image ops in (a) wait for the default thread pool, "
        "badly so on a busy machine; 1 thread isolates the conversion itself",
    )
    args = parser.parse_args()
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_MODE"] = "offline"

    import torch

    default_threads = torch.get_num_threads()
    torch.manual_seed(0)
    batches = [torch.rand(args.batch, 3, 32, 32) for _ in range(args.steps)]
    n_images = args.steps * args.batch
    methods = [
        ("(a) naive [wandb.Image(t) ...]", naive),
        ("(b) log_images", with_log_images),
        ("(c) log_images(grid=True)", with_grid),
    ]
    for threads in [int(t) for t in args.torch_threads.split(",")]:
        torch.set_num_threads(threads or default_threads)
        results: dict[str, tuple[float, float, int]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):  # methods interleaved, so drift in machine load is shared
                for i, (name, fn) in enumerate(methods):
                    got = measure(name, fn, batches, Path(tmp) / f"{i}-{r}")
                    if name not in results or got[0] < results[name][0]:
                        results[name] = got
        print(
            f"\n{args.steps} steps x {args.batch} images (3x32x32 float), offline, best of "
            f"{args.repeats}, torch threads {torch.get_num_threads()}"
            f"{' (default)' if not threads else ''}"
        )
        print(f"{'method':34} {'total s':>8} {'images/s':>9} {'caller s':>9} {'png files':>9}")
        for name, (total, caller, files) in results.items():
            print(f"{name:34} {total:8.2f} {n_images / total:9.0f} {caller:9.2f} {files:9d}")
        base = results[methods[0][0]][0]
        for name, _ in methods[1:]:
            print(f"speed-up of {name} over (a): {base / results[name][0]:.2f}x")


if __name__ == "__main__":
    main()
