"""Metric logging cost against a loop that logs nothing, at a 1 ms and a 2 ms step.

A training-like loop whose step does torch work that releases the GIL (a 256x256
matmul chain on 1 thread), logging 5 scalars in two calls per step (train and val):

  (a) no logging
  (b) raw ``wandb.log`` twice per step (what users write)
  (c) raw ``wandb.log`` once per step, with ``define_metric``
  (d) nbwandb ``run.log`` twice per step with ``step=``

For each step size it prints steps/s and the ratio to (a) side by side, and reads
each run back to check every row. (a) and (d) alternate in blocks of ``--block``
steps (500: half a second at 1 ms), one nbwandb run throughout, so that a busy
moment on a shared machine weighs on both alike; each (d) block ends with a flush,
timed with it, so rows the writer still holds count against (d) and none carry over
into the next (a) block. The ratio is total (a) time over total (d) time; the
median and range of the per-block ratios show the noise (``--block 0``: one block
each). Where (d)'s extra time goes is printed per step: time the training thread waited
(for the GIL, or a core), time in the ``run.log`` calls, and its extra CPU time; the
first is the steadiest figure between runs. Then the writer alone: 10-key rows/s and the queue length at a paced 2,000
rows/s, and process memory over 100,000 rows.

    .venv/bin/python benchmarks/bench_logging.py [--steps 8000] [--step-ms 1 2] [--block 500] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("WANDB_SILENT", "true")

TRAIN = {"train/loss", "train/acc", "train/lr", "val/loss", "val/acc", "global_step"}


def make_work(target_ms: float = 2.0):
    import torch

    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    b = torch.randn(256, 256)

    reps = 1

    def step() -> float:
        c = a
        for _ in range(reps):
            c = a @ b  # releases the GIL inside the BLAS call
        return float(c[0, 0])

    for _ in range(5):  # calibrate on the step itself, so a step lasts about target_ms
        start = time.perf_counter()
        for _ in range(20):
            step()
        ms = (time.perf_counter() - start) * 1000 / 20
        reps = max(1, round(reps * target_ms / max(ms, 1e-3)))

    return step, reps


def loop(steps: int, work, log_train, log_val, first: int = 0, spent: list | None = None) -> float:
    """Seconds for ``steps`` steps; ``spent`` (if given) gets [thread CPU s, s in the two log calls] added."""
    clock = time.perf_counter
    in_log = 0.0
    cpu = time.thread_time()
    start = clock()
    for i in range(first, first + steps):
        x = work()
        before = clock()
        log_train(i, x)
        log_val(i, x)
        in_log += clock() - before
    secs = clock() - start
    if spent is not None:
        spent[0] += time.thread_time() - cpu
        spent[1] += in_log
    return secs


def compare(
    steps: int, step_ms: float, root: str, raw: bool, block: int
) -> dict[str, tuple[float, int, bool]]:
    """Time (a)-(d) at one step size: {variant: (seconds, history rows, every row complete)}."""
    import wandb

    import nbwandb
    from nbwandb.local import read_run

    work, _ = make_work(step_ms)
    out: dict[str, tuple[float, int, bool]] = {}

    def nothing(i, x):
        pass

    loop(200, work, nothing, nothing)  # warm-up

    if raw:
        run = wandb.init(
            project="bench", mode="offline", dir=root, settings=wandb.Settings(silent=True)
        )
        secs = loop(
            steps,
            work,
            lambda i, x: run.log({"train/loss": x, "train/acc": 0.5, "train/lr": 0.1}),
            lambda i, x: run.log({"val/loss": x, "val/acc": 0.4}),
        )
        run.finish()
        out["b"] = (secs, len(read_run(run.settings.sync_file).history), True)

        run = wandb.init(
            project="bench", mode="offline", dir=root, settings=wandb.Settings(silent=True)
        )
        run.define_metric("global_step")
        run.define_metric("*", step_metric="global_step")
        pending: dict = {}
        secs = loop(
            steps,
            work,
            lambda i, x: pending.update({"train/loss": x, "train/acc": 0.5, "train/lr": 0.1}),
            lambda i, x: run.log({**pending, "val/loss": x, "val/acc": 0.4, "global_step": i}),
        )
        run.finish()
        out["c"] = (secs, len(read_run(run.settings.sync_file).history), True)

    # (a) and (d) alternate in blocks of `block` steps (one block each by default).
    nb = nbwandb.init(project="bench", mode="offline", dir=root, quiet=True)
    plain = secs = d_loop = 0.0
    ratios = []
    a_spent, d_spent = [0.0, 0.0], [0.0, 0.0]
    for first in range(0, steps, block):
        n = min(block, steps - first)
        a_secs = loop(n, work, nothing, nothing, spent=a_spent)
        plain += a_secs
        start = time.perf_counter()
        d_loop += loop(
            n,
            work,
            lambda i, x: nb.log({"loss": x, "acc": 0.5, "lr": 0.1}, step=i, prefix="train"),
            lambda i, x: nb.log({"loss": x, "acc": 0.4}, step=i, prefix="val"),
            first,
            spent=d_spent,
        )
        nb.flush()  # the block's rows handed to wandb-core: a writer's backlog counts here, not in (a)
        d_secs = time.perf_counter() - start
        secs += d_secs
        ratios.append(a_secs / d_secs)
    out["a"] = (plain, 0, True)
    out["blocks"] = (statistics.median(ratios), min(ratios), max(ratios))  # type: ignore[assignment]
    # Per step, in microseconds: where (d)'s extra time went. "waited" is wall time the
    # training thread was not running (the GIL held by the writer or wandb's asyncio
    # thread, or no free core); "in log" the two run.log calls; "CPU" its own CPU time.
    us = 1e6 / steps
    out["where"] = (  # type: ignore[assignment]
        (d_loop - d_spent[0]) * us,
        (plain - a_spent[0]) * us,
        d_spent[1] * us,
        (d_spent[0] - a_spent[0]) * us,
    )
    nb.finish()
    history = read_run(nb.run_dir).history
    complete = all(row.keys() >= TRAIN for row in history) and [
        r["global_step"] for r in history
    ] == list(range(steps))
    out["d"] = (secs, len(history), complete)
    return out


def writer_throughput(root: str, rows: int = 20_000, paced_s: float = 3.0) -> None:
    """10-key rows as fast as the caller can, then paced at 2,000 rows/s while watching the queue."""
    import nbwandb
    from nbwandb.local import read_run

    keys = [f"m{k}" for k in range(10)]
    nb = nbwandb.init(project="bench", mode="offline", dir=root, quiet=True)
    start = time.perf_counter()
    for i in range(rows):
        nb.log(dict.fromkeys(keys, i * 0.5), step=i)
    nb.flush()
    rate = rows / (time.perf_counter() - start)

    paced = int(2000 * paced_s)
    peaks = [0] * int(paced_s)  # the queue's peak in each second: flat means the writer keeps up
    start = time.perf_counter()
    for j in range(paced):
        target = start + j / 2000
        while time.perf_counter() < target:
            pass  # pace without sleeping (sleep is too coarse for 0.5 ms)
        nb.log(dict.fromkeys(keys, j * 0.5), step=rows + j)
        if j % 100 == 0:
            peaks[min(j // 2000, len(peaks) - 1)] = max(
                peaks[min(j // 2000, len(peaks) - 1)], nb._writer.pending()
            )
    nb.finish()
    back = len(read_run(nb.run_dir).history)
    print(
        f"writer: {rate:,.0f} 10-key rows/s unpaced (log + flush); at a paced 2,000 rows/s for {paced_s:g} s "
        f"the queue peaked at {', '.join(map(str, peaks))} rows (one figure a second); "
        f"rows read back {back}/{rows + paced}"
    )


def memory(root: str, rows: int = 100_000) -> None:
    """Resident memory of this process while logging 10-key rows (wandb-core is a separate process)."""
    import nbwandb
    from nbwandb.local import read_run

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    keys = [f"m{k}" for k in range(10)]
    nb = nbwandb.init(project="bench", mode="offline", dir=root, quiet=True)
    marks = []
    for i in range(rows):
        nb.log(dict.fromkeys(keys, i * 0.5), step=i)
        if (i + 1) % (rows // 4) == 0:
            nb.flush()
            marks.append(f"{i + 1:,}: {rss_mb():.1f} MB")
    nb.finish()
    back = len(read_run(nb.run_dir).history)
    print(
        f"memory (RSS after flush) over {rows:,} rows: "
        + ", ".join(marks)
        + f"; rows read back {back:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--step-ms", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument(
        "--block", type=int, default=500, help="alternate (a) and (d) every N steps (0: no)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="only (a) and (d); no writer or memory figures"
    )
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-logging-")
    names = {
        "a": "no logging",
        "b": "raw wandb.log x2/step",
        "c": "raw wandb.log x1/step + define_metric",
        "d": "nbwandb run.log x2/step",
    }
    block = args.block if args.block > 0 else args.steps
    results = {
        ms: compare(args.steps, ms, root, raw=not args.quick, block=block) for ms in args.step_ms
    }
    print(f"cores: {os.cpu_count()}, steps: {args.steps}, (a)/(d) alternate every {block} steps")
    header = "".join(f" {f'{ms:g} ms steps/s':>16s} {'ratio':>6s}" for ms in args.step_ms)
    print(f"{'variant':42s}{header}")
    for key in "abcd":
        if key not in results[args.step_ms[0]]:
            continue
        cells = ""
        for ms in args.step_ms:
            secs = results[ms][key][0]
            cells += f" {args.steps / secs:16.1f} {results[ms]['a'][0] / secs:6.3f}"
        print(f"({key}) {names[key]:38s}{cells}")
    for ms in args.step_ms:
        a = results[ms]["a"][0]
        secs, rows, complete = results[ms]["d"]
        print(
            f"{ms:g} ms: step {a / args.steps * 1000:.2f} ms; (d) rows read back {rows}/{args.steps}, "
            f"all complete and in order: {complete}; ratio {a / secs:.3f}"
        )
        waited, a_waited, in_log, cpu = results[ms]["where"]
        print(
            f"{ms:g} ms: per step, the training thread waited {waited:.1f} us ({a_waited:.1f} in (a)), "
            f"spent {in_log:.1f} us in the two run.log calls, and used {cpu:+.1f} us more CPU than in (a)"
        )
        if block < args.steps:
            med, low, high = results[ms]["blocks"]
            print(
                f"{ms:g} ms: (d)/(a) per block of {block} steps: median {med:.3f} "
                f"(range {low:.3f}-{high:.3f})"
            )
    if not args.quick:
        writer_throughput(root)
        memory(root)


if __name__ == "__main__":
    main()
