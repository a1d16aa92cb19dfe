"""Logging cost online with the server healthy, and with the server stalled (SIGSTOP), side by side.

The server is a real W&B-compatible one on loopback (openwandb, the test extra). One
script, three loops of the same training-like step (~2 ms of torch work, 5 scalars in two
calls per step, as in bench_logging.py):

  (a) no logging
  (b) nbwandb online, server healthy
  (c) nbwandb online, server stopped with SIGSTOP before the loop (it accepts, never answers)

Prints steps/s, each ratio to (a) and (c)/(b), the finish time of (c) with ``timeout=``,
and the rows each run holds on disk; then resumes the server, runs ``nbwandb sync`` on (c)
and counts the rows the server holds.

    .venv/bin/python benchmarks/bench_online.py [--steps 3000] [--finish-timeout 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WANDB_SILENT", "true")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "online")]

from bench_logging import loop, make_work  # noqa: E402
from openwandb_server import KEY, OpenWandbServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--finish-timeout", type=float, default=10.0)
    args = parser.parse_args()

    import nbwandb
    from nbwandb.local import read_run
    from nbwandb.local.sync import sync_runs

    root = Path(tempfile.mkdtemp(prefix="nbwandb-bench-online-"))
    server = OpenWandbServer(root / "server").start()
    os.environ.update(WANDB_BASE_URL=server.url, WANDB_API_KEY=KEY, WANDB_DIR=str(root))
    os.environ.pop("WANDB_MODE", None)
    work, reps = make_work()
    print(
        f"{os.cpu_count()} cores; step = {reps} x torch 256x256 matmul (~2 ms), {args.steps} steps"
    )

    def none(_i: int, _x: float) -> None:
        pass

    def timed(run) -> float:
        def train(i: int, x: float) -> None:
            run.log({"loss": x, "acc": 0.5, "lr": 1e-3}, step=i, prefix="train")

        def val(i: int, x: float) -> None:
            run.log({"loss": x, "acc": 0.4}, step=i, prefix="val")

        return loop(args.steps, work, train, val)

    loop(200, work, none, none)  # warm-up
    base = loop(args.steps, work, none, none)

    healthy = nbwandb.init("bench-online", name="healthy", quiet=True)
    healthy_s = timed(healthy)
    healthy.finish()

    stalled = nbwandb.init("bench-online", name="stalled", quiet=True)
    server.pause()
    try:
        stalled_s = timed(stalled)
        start = time.perf_counter()
        stalled.finish(timeout=args.finish_timeout)
        finish_s = time.perf_counter() - start
    finally:
        server.resume()

    rate = {k: args.steps / v for k, v in {"a": base, "b": healthy_s, "c": stalled_s}.items()}
    print(f"(a) no logging             {rate['a']:8.1f} steps/s  1.000")
    print(f"(b) online, server healthy {rate['b']:8.1f} steps/s  {rate['b'] / rate['a']:.3f}")
    print(f"(c) online, server stalled {rate['c']:8.1f} steps/s  {rate['c'] / rate['a']:.3f}")
    print(f"stalled / healthy: {rate['c'] / rate['b']:.3f}")
    print(
        f"finish(timeout={args.finish_timeout:g}) with the server stalled returned after {finish_s:.2f} s "
        f"(state {stalled.state!r}, upload complete: {stalled.upload_complete})"
    )
    for run in (healthy, stalled):
        print(f"{run.name}: {len(read_run(run.run_dir).history)} rows on disk")
    results = sync_runs(stalled.run_dir, timeout=300)
    print("nbwandb sync:", results[0])
    on_server = len(server.rows_by_step("bench-online", stalled.id))
    print(f"stalled run: {on_server} rows on the server after the sync (of {args.steps})")
    server.stop()


if __name__ == "__main__":
    main()
