"""Reading a local run back: nbwandb.local.read_run vs `wandb leet inspect --json`.

Makes a 20,000-step offline run with 5 scalars per step (or reuses one given with
--run-dir), then times, side by side:

  (a) `wandb leet inspect --json RUN_DIR`, its JSON lines parsed into history rows
      (the baseline: wandb's own reader of the same file)
  (b) nbwandb.local.read_run(RUN_DIR).history

and the dashboard: nbwandb.show(run).to_html() (charts + HTML) vs drawing the same
arrays directly with matplotlib (5 subplots, saved as PNG). Targets: (b) at least
3x faster than (a); the dashboard under 1 s.

    .venv/bin/python benchmarks/bench_local.py [--steps 20000] [--run-dir DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_MODE", "offline")

KEYS = ("train/loss", "train/acc", "train/lr", "val/loss", "val/acc")


def make_run(steps: int, root: Path) -> Path:
    import nbwandb

    start = time.perf_counter()
    run = nbwandb.init("bench-local", mode="offline", dir=root, config={"steps": steps}, quiet=True)
    for step in range(steps):
        run.log(
            {"loss": 1.0 / (step + 1), "acc": step / steps, "lr": 0.1 * 0.999**step},
            step=step,
            prefix="train",
        )
        run.log({"loss": 1.2 / (step + 1), "acc": step / steps * 0.9}, step=step, prefix="val")
    run.finish(timeout=600)
    print(
        f"made a {steps}-step run with {len(KEYS)} scalars/step in {time.perf_counter() - start:.1f} s: {run.run_dir}"
    )
    return Path(run.run_dir)


def leet_history(run_dir: Path) -> list[dict]:
    wandb_cli = str(Path(sys.executable).with_name("wandb"))
    out = subprocess.run(
        [wandb_cli, "leet", "inspect", "--json", str(run_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    rows = []
    for line in out.stdout.splitlines():
        record = json.loads(line)
        if record.get("type") == "history":
            rows.append(record["history"]["item"])
    return rows


def nbwandb_history(run_dir: Path) -> list[dict]:
    from nbwandb.local import read_run

    return read_run(run_dir).history


def best_of(fn, repeat: int):  # noqa: ANN001, ANN202 - a tiny timing helper
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def direct_matplotlib(history: list[dict]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.6, 5.8), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).flat
    for ax, key in zip(axes, KEYS, strict=False):
        xs = [r["global_step"] for r in history if key in r]
        ys = [r[key] for r in history if key in r]
        ax.plot(xs, ys)
        ax.set_title(key)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    fig.clear()
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="reuse this run instead of making one"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="nbwandb-bench-local-")
    run_dir = args.run_dir or make_run(args.steps, Path(tmp.name))
    size_mb = sum(f.stat().st_size for f in run_dir.glob("*.wandb")) / 1e6
    print(
        f"run file: {size_mb:.1f} MB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(timings are noisy on a shared machine)"
    )

    # warm both readers once (wandb/protobuf imports, page cache) before timing
    nbwandb_history(run_dir)
    t_leet, leet_rows = best_of(lambda: leet_history(run_dir), args.repeat)
    t_ours, our_rows = best_of(lambda: nbwandb_history(run_dir), args.repeat)
    assert len(leet_rows) == len(our_rows), (len(leet_rows), len(our_rows))
    assert all(our_rows[i][k] == leet_rows[i][k] for i in (0, len(our_rows) // 2, -1) for k in KEYS)
    rows = len(our_rows)
    print(
        f"(a) wandb leet inspect --json + json parse: {t_leet:.3f} s  {rows / t_leet:,.0f} rows/s"
    )
    print(
        f"(b) nbwandb.local.read_run().history:       {t_ours:.3f} s  {rows / t_ours:,.0f} rows/s"
    )
    ratio = t_leet / t_ours
    print(
        f"    read_run is {ratio:.1f}x faster than leet (target >= 3x): {'PASS' if ratio >= 3 else 'MISS'}"
    )

    from nbwandb.local import read_run
    from nbwandb.views.dashboard import show

    local = read_run(run_dir)
    direct_matplotlib(local.history)  # warm matplotlib (imports, font cache)
    t_direct, _ = best_of(lambda: direct_matplotlib(local.history), args.repeat)
    t_dash, page = best_of(lambda: show(local).to_html(), args.repeat)
    t_full, _ = best_of(lambda: show(run_dir).to_html(), 1)
    print(f"matplotlib directly, {len(KEYS)} lines x {rows} points: {t_direct:.3f} s")
    print(
        f"nbwandb.show(run).to_html() (2 sections, {len(KEYS)} charts): {t_dash:.3f} s "
        f"({t_dash / t_direct:.2f}x the direct plot; {len(page) / 1e3:.0f} kB HTML); "
        f"target < 1 s: {'PASS' if t_dash < 1 else 'MISS'}"
    )
    print(f"nbwandb.show(RUN_DIR).to_html() including read_run: {t_full:.3f} s")
    tmp.cleanup()


if __name__ == "__main__":
    main()
