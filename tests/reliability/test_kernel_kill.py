"""The kernel killed (SIGKILL) 1 s after the last ``log()``: how many logged rows reach the file?

Side by side, in three real kernels: plain wandb, nbwandb killed in the middle of a
cell, and nbwandb killed after the cell ended (``%load_ext nbwandb`` flushes at cell end).
wandb-core keeps the tail of the ``.wandb`` file (up to one 32 KiB block) in memory and
by default writes it every 15 s; nbwandb asks for 0.1 s.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from leet import leet_summary
from relkit import Kernel, record, wandb_core_pids

ROWS = 3000

# Logs, then waits to be killed mid-cell (after one of the two starts below).
LOG_THEN_WAIT = f"""
for i in range({ROWS}):
    run.log({{"x": float(i)}})
    if i % 10 == 0:
        time.sleep(0.002)   # a training step takes time (a burst of logs would hide the loss)
print("LOGGED", flush=True)
time.sleep(120)
"""

START_RAW = """
import time, wandb
run = wandb.init(project="kill", mode="offline", settings=wandb.Settings(silent=True))
print(f"run_dir={run.settings.sync_dir}")"""
START_NB = """
import time, nbwandb
run = nbwandb.init(project="kill", mode="offline", quiet=True)
print(f"run_dir={run.run_dir}")"""
RAW, NB_MID_CELL = START_RAW + LOG_THEN_WAIT, START_NB + LOG_THEN_WAIT

NB_CELL_ENDS = f"""
%load_ext nbwandb
import time, nbwandb
run = nbwandb.init(project="kill", mode="offline", quiet=True)
print(f"run_dir={{run.run_dir}}")
for i in range({ROWS}):
    run.log({{"x": float(i)}}, step=i)   # the last step stays open until the cell ends
    if i % 10 == 0:
        time.sleep(0.002)
"""


def _kill_and_count(k: Kernel, run_dir: Path) -> dict[str, object]:
    assert wandb_core_pids(k.pid), "the kernel must run its own wandb-core (not the test process's)"
    time.sleep(1.0)  # the kill comes 1 s after the last log()
    os.kill(k.pid, signal.SIGKILL)
    k.km.provisioner.process.wait(10)  # type: ignore[union-attr]
    time.sleep(0.5)  # wandb-core notices its parent is gone and exits
    from nbwandb.local import read_run

    local = read_run(run_dir)  # nbwandb's reader: every complete record
    rows = [r for r in local.history if "x" in r]
    xs = [int(r["x"]) for r in rows]
    assert xs == list(range(len(xs))), "the rows that survived must be the first ones, in order"
    leet = leet_summary(run_dir)  # wandb's own reader accepts the file too
    assert leet["state"] in ("running", "crashed", "killed", "failed", "finished"), leet["state"]
    if rows:
        # wandb writes a step's summary record just before its history record, so a cut-off
        # file may hold the summary of one more step than it holds rows.
        assert len(xs) - 1 <= leet["summary"].get("x") <= len(xs), (leet["summary"], len(xs))
    return {
        "rows_logged": ROWS,
        "rows_in_file": len(rows),
        "rows_lost": ROWS - len(rows),
        "nbwandb_state": local.state,
        "leet_state": leet["state"],
    }


def _mid_cell(cwd: Path, code: str) -> dict[str, object]:
    cwd.mkdir()
    with Kernel(cwd) as k:
        msg_id = k.submit(code)
        printed = k.wait_for_output(msg_id, "LOGGED", timeout=120)
        run_dir = Path(
            next(
                line.split("=", 1)[1]
                for line in printed.splitlines()
                if line.startswith("run_dir=")
            )
        )
        return _kill_and_count(k, run_dir)


def test_sigkill_one_second_after_last_log_loses_no_rows(tmp_path: Path):
    raw = _mid_cell(tmp_path / "raw", RAW)
    nb_mid = _mid_cell(tmp_path / "mid", NB_MID_CELL)
    (tmp_path / "end").mkdir()
    with Kernel(tmp_path / "end") as k:
        cell = k.run(NB_CELL_ENDS, timeout=120).check()
        nb_end = _kill_and_count(k, Path(cell.value("run_dir")))

    record(
        "kernel_sigkill",
        rows_logged=ROWS,
        raw_wandb=raw,
        nbwandb_mid_cell=nb_mid,
        nbwandb_after_cell=nb_end,
    )
    assert nb_mid["rows_lost"] == 0, nb_mid
    assert nb_end["rows_lost"] == 0, nb_end
    assert nb_mid["nbwandb_state"] == nb_end["nbwandb_state"] == "crashed"


NB_THEN_RESTART = f"""
import time, nbwandb
run = nbwandb.init(project="restart", mode="offline", quiet=True)
print(f"run_dir={{run.run_dir}}")
for i in range({ROWS}):
    run.log({{"x": float(i)}}, step=i)   # no flush, no finish: then Kernel > Restart
"""


def test_kernel_restart_finishes_the_active_run_with_every_row(tmp_path: Path):
    """Kernel > Restart (a graceful shutdown): the run must not stay "running", no row lost."""
    with Kernel(tmp_path) as k:
        cell = k.run(NB_THEN_RESTART, timeout=120).check()
        t0 = time.monotonic()
        k.km.restart_kernel(now=False)
        k.kc.wait_for_ready(timeout=120)
        restart_seconds = time.monotonic() - t0
        assert k.run("print(f'alive={1 + 1}')").check().value("alive") == "2"
    from nbwandb.local import read_run

    run_dir = Path(cell.value("run_dir"))
    local = read_run(run_dir)
    xs = [int(r["x"]) for r in local.history if "x" in r]
    record(
        "kernel_restart",
        rows_logged=ROWS,
        rows_lost=ROWS - len(xs),
        state=local.state,
        exit_code=local.exit_code,
        seconds_to_restart=round(restart_seconds, 2),
    )
    assert local.state != "running" and local.exit_code is not None, local
    assert xs == list(range(ROWS)), f"{ROWS - len(xs)} rows lost at restart"


def test_script_ending_without_finish_keeps_every_row(tmp_path: Path):
    """``python train.py`` that never calls finish(): wandb finishes at exit; nbwandb's queue first."""
    import subprocess
    import sys

    from relkit import REPO, kernel_environment

    code = (
        f"import nbwandb\nrun = nbwandb.init(project='script', mode='offline', quiet=True)\n"
        f"print(run.run_dir)\nfor i in range({ROWS}):\n    run.log({{'x': float(i)}}, step=i)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=kernel_environment({"PYTHONPATH": str(REPO)}),
    )
    assert done.returncode == 0, done.stderr
    from nbwandb.local import read_run

    local = read_run(Path(done.stdout.strip().splitlines()[-1]))
    xs = [int(r["x"]) for r in local.history if "x" in r]
    record("script_without_finish", rows_logged=ROWS, rows_lost=ROWS - len(xs), state=local.state)
    assert local.state == "finished" and xs == list(range(ROWS)), (local.state, ROWS - len(xs))


FINISH_ROWS = 20_000  # enough that wandb-core is still taking them when the restart comes

NB_FINISH_THEN_RESTART = f"""
%load_ext nbwandb
import nbwandb
run = nbwandb.init(project="restart", mode="offline", quiet=True)
print(f"run_dir={{run.run_dir}}")
for i in range({FINISH_ROWS}):
    run.log({{"x": float(i)}}, step=i)
%wandb_finish
print(f"state_after_finish={{run.state}}")
"""


def test_kernel_restart_right_after_wandb_finish_completes_the_run(tmp_path: Path):
    """``%wandb_finish`` then Kernel > Restart at once: the finish left in the background completes.

    In a kernel the finish returns while wandb-core still takes the queued rows. Jupyter's
    restart asks the kernel to exit, sends SIGTERM at 2.5 s and SIGKILL at 5 s; the exit
    hook holds the SIGTERM and waits for the background finish, so the run ends "finished"
    with every row instead of "crashed".
    """
    with Kernel(tmp_path) as k:
        cell = k.run(NB_FINISH_THEN_RESTART, timeout=120).check()
        t0 = time.monotonic()
        k.km.restart_kernel(now=False)  # what Kernel > Restart does (jupyter_server, JupyterLab)
        restart_seconds = time.monotonic() - t0
        k.kc.wait_for_ready(timeout=120)
        assert k.run("print(f'alive={1 + 1}')").check().value("alive") == "2"
    from nbwandb.local import read_run

    local = read_run(Path(cell.value("run_dir")))
    xs = [int(r["x"]) for r in local.history if "x" in r]
    record(
        "kernel_restart_after_finish",
        rows_logged=FINISH_ROWS,
        state_when_cell_ended=cell.value("state_after_finish"),
        rows_lost=FINISH_ROWS - len(xs),
        state=local.state,
        seconds_to_restart=round(restart_seconds, 2),
    )
    assert (local.state, local.exit_code) == ("finished", 0), local
    assert xs == list(range(FINISH_ROWS)), f"{FINISH_ROWS - len(xs)} rows lost at restart"
