"""Big runs and big projects (issue 27): showing a run costs what is drawn, not what was logged.

    .venv/bin/python benchmarks/bench_scale.py [--rows 1000000] [--runs 1000] [--out out/bench_scale]
                                               [--no-leet] [--no-full-read]
                                               [--no-live-panel | --only-live-panel]

Builds, once, into ``--out`` (reused on later calls):

* ``big/``: one run of ``--rows`` rows, 4 scalars a row, written by raw ``wandb`` offline;
* ``many/wandb``: ``--runs`` finished runs of 500 rows each: four written by raw wandb,
  the rest copies of them under new run ids (their records re-framed with the new id,
  their ``files/`` copied), so the project is built in seconds, not an hour of ``init``.

Then prints, each measured in a fresh interpreter (so "cold" is cold and memory is this
work's own): ``nbwandb.show`` of the big run with no cache (first show) and with one, its
peak RSS above the interpreter's baseline (after ``import nbwandb, numpy``),
``read_run(big, history=False).to_pandas()`` with the cache, ``list_runs`` over the
project without caches (cold) and with them (warm); next to today's full ``read_run``
and ``wandb leet inspect --json`` of the big run.

Last, a live ``RunPanel`` (``--no-live-panel`` skips it; ``--only-live-panel`` runs only it):
an offline run logs ``--rows`` rows of 4 scalars by ``run.log`` with a panel attached (every
row through the panel's listener, in the writer thread), then, the run still live, 50
``panel.redraw()`` with every chart changed (as on each tick of a live run) are timed; the
same at 1,000 rows is the baseline, since the panel keeps bounded downsampled series.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "MPLBACKEND": "Agg",
    "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
}
SMALL_ROWS = 500


def build_big(folder: Path, rows: int) -> Path:
    """One raw-wandb offline run of ``rows`` rows (4 scalars a row); reused when finished."""
    done = folder / "done.json"
    if done.is_file() and json.loads(done.read_text())["rows"] == rows:
        return Path(json.loads(done.read_text())["run_dir"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    code = f"""
import math, wandb
run = wandb.init(project="scale", dir={str(folder)!r}, config={{"lr": 0.001, "rows": {rows}}})
for i in range({rows}):
    run.log({{"train/loss": 1 / (1 + i) + (3.0 if i % 99_991 == 7 else 0.0),
              "train/acc": i / {rows}, "val/loss": math.sin(i / 1000), "lr": 0.001}})
print(run.dir)
run.finish()
"""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=ENV, check=True, capture_output=True, text=True
    )
    run_dir = Path(out.stdout.strip().splitlines()[-1]).parent
    print(f"  wrote {rows:,} rows with raw wandb in {time.perf_counter() - t:.0f} s: {run_dir}")
    done.write_text(json.dumps({"rows": rows, "run_dir": str(run_dir)}))
    return run_dir


def build_many(folder: Path, runs: int) -> Path:
    """``runs`` finished runs of ``SMALL_ROWS`` rows under ``folder/wandb``; reused when complete."""
    wandb_dir = folder / "wandb"
    done = folder / "done.json"
    if done.is_file() and json.loads(done.read_text())["runs"] == runs:
        return wandb_dir
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    seeds = min(4, runs)
    code = f"""
import wandb
for r in range({seeds}):
    run = wandb.init(project="many", dir={str(folder)!r}, config={{"lr": 0.1 / (r + 1), "seed": r}})
    for i in range({SMALL_ROWS}):
        run.log({{"train/loss": (r + 1) / (1 + i), "train/acc": i / {SMALL_ROWS},
                  "val/loss": 2.0 / (1 + i), "epoch": i // 50}})
    run.finish()
"""
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True)
    sys.path.insert(0, str(ROOT))
    from nbwandb.wandb_compat.logfile import LogReader, frame_records
    from nbwandb.wandb_compat.protobufs import record_module

    pb = record_module()
    seed_dirs = sorted(d for d in wandb_dir.glob("offline-run-*") if d.is_dir())
    for n in range(runs - seeds):
        src = seed_dirs[n % len(seed_dirs)]
        old_id = src.name.rsplit("-", 1)[1]
        new_id = f"c{n:07d}"
        stamp = src.name.split("-")[2]
        dst = wandb_dir / f"offline-run-{stamp}-{new_id}"
        shutil.copytree(src / "files", dst / "files")
        reader = LogReader(src / f"run-{old_id}.wandb")
        payloads = []
        for payload in reader.read_available():
            rec = pb.Record.FromString(payload)
            if rec.WhichOneof("record_type") == "run":
                rec.run.run_id = new_id
                rec.run.config.update.add(key="copy", value_json=str(n))
                payload = rec.SerializeToString()
            payloads.append(payload)
        (dst / f"run-{new_id}.wandb").write_bytes(frame_records(payloads))
    done.write_text(json.dumps({"runs": runs}))
    return wandb_dir


def measure(snippet: str, setup: str = "") -> dict[str, float]:
    """Run ``snippet`` in a fresh interpreter: its seconds and peak RSS above the baseline."""
    code = f"""
import json, resource, time
import numpy, nbwandb, nbwandb.local.reader, nbwandb.views.dashboard
{setup}
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()
base = rss()
_t0 = time.perf_counter()
{snippet}
dt = time.perf_counter() - _t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"s": dt, "mb": max(0, peak - base) / 1e6}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"measuring {snippet!r} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


LIVE_PANEL_REDRAWS = 50


def measure_live_panel(rows: int) -> dict[str, float]:
    """A live ``RunPanel`` on an offline run of ``rows`` rows, in a fresh interpreter: seconds
    to log them through the panel's listener, median and max ms of a full ``redraw()``, RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-live-panel-") as tmp:
        code = f"""
import json, math, resource, statistics, time
import nbwandb
from nbwandb.notebook.run_panel import RunPanel
rows = {rows}
run = nbwandb.init(project="scale-live", mode="offline", dir={tmp!r}, quiet=True)
panel = RunPanel(run)  # its listener gets every row in the writer thread
log = run.log
t0 = time.perf_counter()
for i in range(rows):  # flat dicts of floats and an int step: run.log's fast path
    log({{"train/loss": 1 / (1 + i), "train/acc": i / rows, "val/loss": math.sin(i / 1000),
         "lr": 0.001}}, step=i)
assert run.flush(600), "rows still queued after 600 s"
log_s = time.perf_counter() - t0
panel.wait_idle(10)
assert panel.rows_seen == rows, (panel.rows_seen, rows)
assert run.state == "running", run.state
times = []
for _ in range({LIVE_PANEL_REDRAWS}):
    panel._drawn.clear()  # every chart changed, as on each tick of a live run
    t = time.perf_counter()
    panel.redraw()
    times.append((time.perf_counter() - t) * 1000)
with open("/proc/self/statm") as fh:
    rss = int(fh.read().split()[1]) * resource.getpagesize()
print(json.dumps({{
    "log_s": log_s, "median_ms": statistics.median(times), "max_ms": max(times),
    "rss_mb": rss / 1e6,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
    "points": len(panel.series("train/loss")),
}}), flush=True)
panel.close()
run.finish()
"""
        out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(
            f"measuring a live RunPanel at {rows:,} rows failed:\n{out.stderr[-3000:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report_live_panel(rows: int) -> None:
    print(
        f"\nlive RunPanel, offline run still running, 4 scalars a row logged by run.log with the "
        f"panel attached; {LIVE_PANEL_REDRAWS} full redraws (every chart changed)"
    )
    print(
        f"{'rows':>12} {'log s':>8} {'redraw median ms':>17} {'max ms':>8} "
        f"{'RSS MB':>7} {'peak MB':>8} {'points/series':>14}"
    )
    results = {}
    for n in (1000, rows):
        got = results[n] = measure_live_panel(n)
        print(
            f"{n:>12,} {got['log_s']:>8.1f} {got['median_ms']:>17.2f} {got['max_ms']:>8.2f} "
            f"{got['rss_mb']:>7.0f} {got['peak_mb']:>8.0f} {got['points']:>14}"
        )
    base, big = results[1000]["median_ms"], results[rows]["median_ms"]
    print(
        f"redraw at {rows:,} rows / at 1,000 rows: {big / base:.2f}x (goal: about 1-2 ms, "
        f"not growing with rows): {'PASS' if big <= 2.0 and big <= 2 * base else 'MISS'}"
    )


def drop_caches(root: Path) -> None:
    for path in root.rglob(".*.nbwandb-cache.npz"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench_scale")
    parser.add_argument("--no-leet", action="store_true", help="skip wandb leet (slow at 1M rows)")
    parser.add_argument("--no-full-read", action="store_true", help="skip today's full read_run")
    live = parser.add_mutually_exclusive_group()
    live.add_argument("--no-live-panel", action="store_true", help="skip the live RunPanel")
    live.add_argument(
        "--only-live-panel", action="store_true", help="measure only the live RunPanel"
    )
    args = parser.parse_args()
    if args.only_live_panel:
        print(f"machine: {os.cpu_count()} cores")
        report_live_panel(args.rows)
        return
    out = args.out.resolve()
    print(f"machine: {os.cpu_count()} cores; building (or reusing) runs in {out}")
    big = build_big(out / f"big-{args.rows}", args.rows)
    many = build_many(out / f"many-{args.runs}", args.runs)
    size = next(big.glob("*.wandb")).stat().st_size
    print(f"big run: {args.rows:,} rows, {size / 1e6:.0f} MB run file; project: {args.runs} runs")

    show = f"d = nbwandb.show({str(big)!r}); html = d.to_html()"
    drop_caches(big)
    cold = measure(show)
    warm = measure(show)
    pandas = measure(f"df = nbwandb.local.read_run({str(big)!r}, history=False).to_pandas()")
    cols = measure(f"c = nbwandb.local.read_run({str(big)!r}, history=False).columns()")
    drop_caches(many)
    lr_cold = measure(f"t = nbwandb.local.list_runs({str(many)!r})")
    lr_warm = measure(f"t = nbwandb.local.list_runs({str(many)!r})")

    rows = [
        ("show, first (no cache: parse + build it)", cold, None),
        ("show, warm (cache exists)", warm, 1.0),
        ("read_run(history=False).to_pandas(), cached", pandas, 1.0),
        ("read_run(history=False).columns(), cached", cols, None),
        (f"list_runs over {args.runs} runs, cold (no caches)", lr_cold, 5.0),
        (f"list_runs over {args.runs} runs, warm", lr_warm, 1.0),
    ]
    if not args.no_full_read:
        full = measure(f"r = nbwandb.local.read_run({str(big)!r}); n = len(r.history)")
        rows.append(("today's full read_run (every row as a dict)", full, None))
    if not args.no_leet:
        wandb_cli = Path(sys.executable).with_name("wandb")
        t = time.perf_counter()
        subprocess.run(
            [str(wandb_cli), "leet", "inspect", "--json", str(big)],
            env=ENV,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows.append(("wandb leet inspect --json", {"s": time.perf_counter() - t, "mb": -1}, None))
    print(f"\n{'work':<52} {'seconds':>8} {'MB above base':>14}  goal")
    for name, got, goal in rows:
        mb = f"{got['mb']:.0f}" if got["mb"] >= 0 else "-"
        verdict = ""
        if goal is not None:
            verdict = f"<= {goal:g} s: " + ("PASS" if got["s"] <= goal else "MISS")
        print(f"{name:<52} {got['s']:>8.2f} {mb:>14}  {verdict}")
    print(
        f"\nshow's peak memory goal (<= 100 MB above base): warm {warm['mb']:.0f} MB "
        f"{'PASS' if warm['mb'] <= 100 else 'MISS'}, cold {cold['mb']:.0f} MB "
        f"{'PASS' if cold['mb'] <= 100 else 'MISS'}"
    )
    if not args.no_live_panel:
        report_live_panel(args.rows)


if __name__ == "__main__":
    main()
