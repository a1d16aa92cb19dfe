"""How long starting and finishing a run takes, against raw wandb, offline.

(1) cold init: a fresh Python process times ``import nbwandb; nbwandb.init(...)`` against
    ``import wandb; wandb.init(...)`` (each from before its import to a usable run).
(2) init after ``%load_ext nbwandb``, through a real Jupyter kernel (jupyter_client): a cell
    runs ``%load_ext nbwandb``, the next (``--gap`` s later, as a person types) times
    ``nbwandb.init(...)`` inside the kernel and the round trip of a ``%wandb_init`` cell.
    The baseline is a kernel whose first cell ran ``import wandb; wandb.setup()`` (wandb
    imported and its service started, as the preload does) and whose next cell times
    ``wandb.init(...)``.
(3) finish: after 1,000 logged rows, in a tight loop (nbwandb's are then still queued)
    and at a 1 ms step, ``run.finish()`` against ``wandb.finish()`` after the same rows
    through ``wandb.log``; and wandb's finish until its exit record is on disk (what
    nbwandb's finish waits for). Also the whole: the logging loop plus finish, because
    wandb-core's work on each row is done during ``wandb.log``'s loop but during
    ``run.finish()`` for rows nbwandb still held. In the kernel of (2), a cell logs 1,000
    rows at a 1 ms step and the next cell (``--gap`` s later) times ``finish``, as a
    notebook is used: every cell ends with a flush that hands the rows to wandb-core. Then a
    run starts in a cell and, ``--gap`` s later, one cell logs 1,000 rows (tight, then at a
    1 ms step) and finishes: the finish call
    (in a kernel nbwandb's returns while its rows go through wandb-core in the background),
    and the time until the run file is complete. In a script, (3) above: finish waits.

Processes and kernels alternate (nbwandb, raw, nbwandb, ...) so that other load on a
shared machine weighs on both; medians and ratios are printed. Every nbwandb run is read
back (``nbwandb.local.read_run``) to check its rows.

    .venv/bin/python benchmarks/bench_init.py [--repeat 5] [--gap 3] [--rows 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = 1000  # rows the kernel's logging cell logs before the finish cell

COLD_NBWANDB = """
import time, json
t0 = time.perf_counter()
import nbwandb
run = nbwandb.init(project="bench", mode="offline", quiet=True)
t1 = time.perf_counter()
run.log({"x": 1.0}, step=0)
run.finish()
print("RESULT " + json.dumps({"init": t1 - t0}))
"""

COLD_RAW = """
import time, json
t0 = time.perf_counter()
import wandb
run = wandb.init(project="bench", mode="offline")
t1 = time.perf_counter()
run.log({"x": 1.0})
run.finish()
print("RESULT " + json.dumps({"init": t1 - t0}))
"""

FINISH = """
import time, json, sys
rows, pace = int(sys.argv[1]), float(sys.argv[2])
import wandb
import nbwandb
from nbwandb.wandb_compat.logfile import last_record
from nbwandb.run.run import _is_exit_record

def core_cpu():
    # CPU seconds of this process's wandb-core children, summed over their threads from
    # /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat counts 10 ms ticks). None
    # where there is no /proc.
    import glob, os
    total, found = 0, False
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(stat).read()
        except OSError:
            continue
        name, rest = text.split(" (", 1)[1].rsplit(") ", 1)
        if "wandb-core" not in name or int(rest.split()[1]) != os.getpid():
            continue
        for task in glob.glob(stat[: -len("stat")] + "task/*/schedstat"):
            try:
                total += int(open(task).read().split()[0])
                found = True
            except OSError:
                pass
    return total / 1e9 if found else None

run = nbwandb.init(project="bench", mode="offline", quiet=True)
c0 = core_cpu()
t0 = time.perf_counter()
for i in range(rows):
    run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-3}, step=i)
    if pace:
        time.sleep(pace)
queued = run._writer.pending()
t = time.perf_counter(); run.finish(); nb = time.perf_counter() - t
nb_total = time.perf_counter() - t0
c1 = core_cpu()
from nbwandb.local import read_run
ok = len(read_run(run.run_dir).history) == rows

raw = wandb.init(project="bench", mode="offline", settings=wandb.Settings(silent=True))
c2 = core_cpu()
t0 = time.perf_counter()
for i in range(rows):
    raw.log({"loss": 1.0 / (i + 1), "acc": i * 1e-3})
    if pace:
        time.sleep(pace)
path = raw.settings.sync_file
t = time.perf_counter(); raw.finish(); wb = time.perf_counter() - t
while True:
    payload = last_record(path)
    if payload is not None and _is_exit_record(payload):
        break
    time.sleep(0.001)
wb_disk = time.perf_counter() - t
wb_total = time.perf_counter() - t0
c3 = core_cpu()
core = {} if None in (c0, c1, c2, c3) else {"core_nbwandb": (c1 - c0) / rows,
                                            "core_wandb": (c3 - c2) / rows}
print("RESULT " + json.dumps({"nbwandb": nb, "wandb": wb, "wandb_on_disk": wb_disk, "ok": ok,
                              "queued": queued, "nbwandb_total": nb_total, "wandb_total": wb_total,
                              **core}))
"""


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", "WANDB_API_KEY")}
    out.update(
        {
            "PYTHONPATH": str(REPO),
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "WANDB_DISABLE_GIT": "true",
            "WANDB_BASE_URL": "http://127.0.0.1:9",
            "MPLBACKEND": "Agg",
        }
    )
    return out


def run_script(code: str, *args: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=folder,
            env={**env(), "WANDB_DIR": folder},
            timeout=300,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"no result:\n{proc.stdout}\n{proc.stderr}")


class Kernel:
    """A real IPython kernel (jupyter_client), started in its own empty folder."""

    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager

        self.folder = tempfile.TemporaryDirectory()
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=self.folder.name, env={**env(), "WANDB_DIR": self.folder.name})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> tuple[float, str]:
        """Execute a cell; (round-trip seconds, its stdout)."""
        out: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        start = time.perf_counter()
        reply = self.kc.execute_interactive(code, timeout=120, output_hook=keep)
        seconds = time.perf_counter() - start
        if reply["content"]["status"] != "ok":
            raise RuntimeError("".join(out))
        return seconds, "".join(out)

    def value(self, code: str) -> float:
        _, out = self.run(code)
        return float(out.strip().splitlines()[-1])

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        self.folder.cleanup()


def cell_times(*seconds: float) -> dict[str, float]:
    """What a kernel run measured, by name (the same for nbwandb and raw wandb)."""
    names = ("load_ext", "init", "magic_cell", "log_cell", "finish_next_cell")
    return dict(zip(names, seconds, strict=True))


# A run started in its own cell, then one cell: ROWS rows (tight, or at a 1 ms step) and
# finish, timed in the kernel:
# the finish call, and until the run is complete (for nbwandb, whose finish goes on in the
# background in a kernel, until that has ended; wandb's is complete when its call returns).
INIT_NBWANDB = "run = nbwandb.init(project='bench', mode='offline', quiet=True)"
INIT_RAW = "r = wandb.init(project='bench', mode='offline')"
SAME_CELL_NBWANDB = """
for i in range({rows}):
    run.log({{'loss': 1.0 / (i + 1), 'acc': i * 1e-3}}, step=i)
    {pause}
t = time.perf_counter(); run.finish(); call = time.perf_counter() - t
from nbwandb.run import finish
finish.wait_all(); complete = time.perf_counter() - t
from nbwandb.local import read_run
assert len(read_run(run.run_dir).history) == {rows}
print(call, complete)
"""
SAME_CELL_RAW = """
for i in range({rows}):
    r.log({{'loss': 1.0 / (i + 1), 'acc': i * 1e-3}})
    {pause}
t = time.perf_counter(); r.finish(); call = time.perf_counter() - t
print(call, call)
"""


def same_cell(kernel: Kernel, init: str, code: str, gap: float) -> dict[str, float]:
    """The run starts in a cell of its own, ``gap`` s before the cell that logs and finishes."""
    out: dict[str, float] = {}
    for label, pause in (("tight", "pass"), ("1ms", "time.sleep(0.001)")):
        kernel.run(init)
        time.sleep(gap)
        _, printed = kernel.run(code.format(rows=ROWS, pause=pause))
        call, complete = map(float, printed.strip().splitlines()[-1].split())
        out[f"same_cell_{label}"], out[f"complete_{label}"] = call, complete
    return out


def kernel_nbwandb(gap: float) -> dict[str, float]:
    kernel = Kernel()
    try:
        load, _ = kernel.run("%load_ext nbwandb")
        time.sleep(gap)
        init = kernel.value(
            "import time, nbwandb\n"
            "t = time.perf_counter(); run = nbwandb.init(project='bench', mode='offline', quiet=True)\n"
            "print(time.perf_counter() - t)"
        )
        # wandb.run is the run nbwandb started (waited for, in this thread, if still starting).
        kernel.run("import wandb\nassert wandb.run is run.wandb_run\nrun.finish()")
        time.sleep(gap)
        cell, _ = kernel.run("%wandb_init -p bench --mode offline")
        log_cell, _ = kernel.run(
            f"for i in range({ROWS}):\n"
            "    run.log({'loss': 1.0 / (i + 1), 'acc': i * 1e-3}, step=i)\n"
            "    time.sleep(0.001)"
        )
        time.sleep(gap)
        finish = kernel.value(
            "t = time.perf_counter(); run.finish(); print(time.perf_counter() - t)"
        )
        kernel.run(
            "from nbwandb.local import read_run\n"
            f"assert len(read_run(run.run_dir).history) == {ROWS}"
        )
        return {
            **cell_times(load, init, cell, log_cell, finish),
            **same_cell(kernel, INIT_NBWANDB, SAME_CELL_NBWANDB, gap),
        }
    finally:
        kernel.close()


def kernel_raw(gap: float) -> dict[str, float]:
    kernel = Kernel()
    try:
        load, _ = kernel.run("import wandb\nwandb.setup()")
        time.sleep(gap)
        init = kernel.value(
            "import time\n"
            "t = time.perf_counter(); r = wandb.init(project='bench', mode='offline')\n"
            "print(time.perf_counter() - t)"
        )
        kernel.run("r.finish()")
        time.sleep(gap)
        cell, _ = kernel.run("r = wandb.init(project='bench', mode='offline')")
        log_cell, _ = kernel.run(
            f"for i in range({ROWS}):\n"
            "    r.log({'loss': 1.0 / (i + 1), 'acc': i * 1e-3})\n"
            "    time.sleep(0.001)"
        )
        time.sleep(gap)
        finish = kernel.value("t = time.perf_counter(); r.finish(); print(time.perf_counter() - t)")
        return {
            **cell_times(load, init, cell, log_cell, finish),
            **same_cell(kernel, INIT_RAW, SAME_CELL_RAW, gap),
        }
    finally:
        kernel.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between cells")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="2 repeats")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat
    print(f"{os.cpu_count()} cores; {repeat} repeats; medians (min-max) in seconds\n")

    cold: dict[str, list[float]] = {"nbwandb": [], "wandb": []}
    for _ in range(repeat):
        cold["nbwandb"].append(run_script(COLD_NBWANDB)["init"])
        cold["wandb"].append(run_script(COLD_RAW)["init"])
    nb, wb = median(cold["nbwandb"]), median(cold["wandb"])
    print("(1) cold init, import included")
    print(f"    nbwandb.init   {nb:.3f} ({spread(cold['nbwandb'])})")
    print(f"    wandb.init     {wb:.3f} ({spread(cold['wandb'])})")
    print(f"    ratio nbwandb / wandb = {nb / wb:.2f}\n")

    kern: dict[str, list[dict[str, float]]] = {"nbwandb": [], "wandb": []}
    for _ in range(repeat):
        kern["nbwandb"].append(kernel_nbwandb(args.gap))
        kern["wandb"].append(kernel_raw(args.gap))
    print(f"(2) in a Jupyter kernel, {args.gap:g} s after the first cell")
    for key, label in [
        ("load_ext", "first cell: %load_ext nbwandb | import wandb; wandb.setup()"),
        ("init", "init call, timed in the kernel"),
        ("magic_cell", "cell round trip: %wandb_init | wandb.init(...)"),
        ("log_cell", f"cell round trip: {ROWS} rows logged at a 1 ms step (sleep)"),
        ("finish_next_cell", f"finish in the next cell, {args.gap:g} s later, timed in the kernel"),
        (
            "same_cell_tight",
            f"finish in the cell that logged {ROWS} rows in a tight loop: the call",
        ),
        (
            "complete_tight",
            "  the same: until the run file is complete (nbwandb: in the background)",
        ),
        ("same_cell_1ms", f"finish in the cell that logged {ROWS} rows at a 1 ms step: the call"),
        ("complete_1ms", "  the same: until the run file is complete (nbwandb: in the background)"),
    ]:
        a = [r[key] for r in kern["nbwandb"]]
        b = [r[key] for r in kern["wandb"]]
        print(f"    {label}")
        print(
            f"      nbwandb {median(a):.3f} ({spread(a)})   wandb {median(b):.3f} ({spread(b)})"
            f"   ratio {median(a) / median(b):.2f}"
        )
    print()

    for pace, label in [(0.0, "logged in a tight loop"), (0.001, "logged at a 1 ms step")]:
        fin: dict[str, list[float]] = {
            "nbwandb": [],
            "wandb": [],
            "wandb_on_disk": [],
            "queued": [],
            "nbwandb_total": [],
            "wandb_total": [],
        }
        core: dict[str, list[float]] = {"core_nbwandb": [], "core_wandb": []}
        for _ in range(repeat):
            result = run_script(FINISH, str(args.rows), str(pace))
            assert result["ok"], "nbwandb run lost rows"
            for key in fin:
                fin[key].append(result[key])
            for key in core:
                if key in result:
                    core[key].append(result[key])
        nb, wb, wd = median(fin["nbwandb"]), median(fin["wandb"]), median(fin["wandb_on_disk"])
        print(
            f"(3) finish after {args.rows} rows {label} (still queued in nbwandb: "
            f"{median(fin['queued']):.0f}; every nbwandb row read back)"
        )
        print(f"    run.finish()                      {nb:.3f} ({spread(fin['nbwandb'])})")
        print(f"    wandb finish()                    {wb:.3f} ({spread(fin['wandb'])})")
        print(f"    wandb finish() + exit on disk     {wd:.3f} ({spread(fin['wandb_on_disk'])})")
        print(f"    ratio to wandb's finish = {nb / wb:.2f}; to finish + on disk = {nb / wd:.2f}")
        nt, wt = median(fin["nbwandb_total"]), median(fin["wandb_total"])
        print(
            f"    logging loop + finish (exit on disk): nbwandb {nt:.3f}, wandb {wt:.3f}, "
            f"ratio {nt / wt:.2f}"
        )
        if core["core_nbwandb"] and core["core_wandb"]:
            # The floor under a finish that waits for rows still queued: wandb-core's own
            # work on each row, which raw wandb.log's loop pays while it runs.
            cn, cw = median(core["core_nbwandb"]), median(core["core_wandb"])
            print(
                f"    wandb-core CPU per row, finish included: nbwandb "
                f"{cn * 1e6:.0f} us, wandb {cw * 1e6:.0f} us; {median(fin['queued']):.0f} queued "
                f"rows x {cn * 1e6:.0f} us = {median(fin['queued']) * cn:.3f} s of it left for finish"
            )


if __name__ == "__main__":
    main()
