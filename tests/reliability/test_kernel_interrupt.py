"""KeyboardInterrupt in the middle of a training loop, in a real kernel (Kernel > Interrupt)."""

from __future__ import annotations

import time
from pathlib import Path

from leet import leet_summary
from relkit import Kernel, record

LOOP = """
import time, nbwandb
run = nbwandb.init(project="interrupt", mode="offline", quiet=True, queue_size=8)  # often full: Ctrl-C lands in log()
print(f"run_dir={run.run_dir}")
done = -1
print("LOOPING", flush=True)
for i in range(10_000_000):
    run.log({"loss": 1.0 / (i + 1), "lr": 0.1}, step=i)
    done = i                     # every step up to `done` was logged completely
    if i % 20 == 0:
        time.sleep(0.001)        # a training step takes time
"""

AFTER = """
import nbwandb
print(f"done={done}")
print(f"same_run={nbwandb.active_run() is run}")
print(f"state={run.state}")
run.log({"after_interrupt": 1.0}, step=done + 1)
run.finish(wait=True)  # this test reads the run from another process next
print(f"final={run.state}")
"""


def test_interrupt_leaves_kernel_usable_and_every_logged_row_in_the_run(tmp_path: Path):
    with Kernel(tmp_path) as k:
        msg_id = k.submit(LOOP)
        printed = k.wait_for_output(msg_id, "LOOPING")
        time.sleep(1.5)
        t0 = time.monotonic()
        k.km.interrupt_kernel()
        cell = k.collect(msg_id, timeout=60, prefix=printed)
        interrupted_after = time.monotonic() - t0
        assert cell.status == "error" and cell.ename == "KeyboardInterrupt", (
            cell.ename,
            cell.evalue,
        )

        after = k.run(AFTER, timeout=60).check()
        recovered_after = time.monotonic() - t0
        done = int(after.value("done"))
        assert done > 50, "the loop should have run for a while before the interrupt"
        assert after.value("same_run") == "True"  # the next cell logs to the same run
        assert after.value("state") == "running"
        assert after.value("final") == "finished"
        assert k.run("print(f'alive={1 + 1}')").check().value("alive") == "2"

    run_dir = Path(cell.value("run_dir"))
    from nbwandb.local import read_run

    local = read_run(run_dir)
    steps = [row.get("global_step") for row in local.history if "loss" in row]
    missing = sorted(set(range(done + 1)) - set(steps))
    assert missing == [], (
        f"{len(missing)} rows logged before the interrupt are missing: {missing[:10]}"
    )
    assert steps == sorted(steps), "rows are out of order"
    duplicates = len(steps) - len(
        set(steps)
    )  # possible only if Ctrl-C lands just after a row is queued
    assert any(row.get("after_interrupt") == 1.0 for row in local.history)
    assert local.exit_code == 0
    leet = leet_summary(run_dir)
    assert leet["state"] == "finished" and leet["summary"]["after_interrupt"] == 1.0

    record(
        "keyboard_interrupt",
        rows_logged_before_interrupt=done + 1,
        rows_lost=len(missing),
        duplicate_rows=duplicates,
        writer_queue_size=8,
        seconds_to_idle_kernel=round(interrupted_after, 2),
        seconds_to_next_cell_logging=round(recovered_after, 2),
    )


INIT = (
    "run = nbwandb.init(project='interrupt-init', mode='offline', quiet=True)\nprint('INIT_DONE')"
)
AFTER_INIT = """
run = nbwandb.init(project="interrupt-init", mode="offline", quiet=True)
run.log({"a": 1.0})
run.finish(wait=True)  # this test reads the run from another process next
print(f"state={run.state}")
print(f"run_dir={run.run_dir}")
"""


def test_interrupt_during_init_leaves_init_working(tmp_path: Path):
    """Ctrl-C while init starts wandb-core and the run (a slow init is when users press it)."""
    from relkit import wandb_core_pids

    with Kernel(tmp_path) as k:
        k.run("import nbwandb, wandb").check()
        interrupted = 0
        for delay in (0.05, 0.2, 0.4):
            msg_id = k.submit(INIT)
            time.sleep(delay)
            k.km.interrupt_kernel()
            cell = k.collect(msg_id, timeout=120)
            interrupted += cell.ename == "KeyboardInterrupt"
            # "aborted": ipykernel 6 (Colab's 6.17) drops a request that the interrupt reached
            # before its cell began; the cell never ran. Anything else is a failure.
            assert cell.status in ("ok", "aborted") or cell.ename == "KeyboardInterrupt", (
                cell.status,
                cell.ename,
                cell.evalue,
            )
        t0 = time.monotonic()
        after = k.run(AFTER_INIT, timeout=180).check()
        seconds = time.monotonic() - t0
        assert after.value("state") == "finished"
        cores = wandb_core_pids(k.pid)
        assert len(cores) <= 1, f"leftover wandb-core processes: {cores}"
    from nbwandb.local import read_run

    assert read_run(after.value("run_dir")).exit_code == 0
    assert interrupted >= 1, "no init was interrupted: the scenario did not happen"
    record(
        "keyboard_interrupt_during_init",
        inits_interrupted=interrupted,
        attempts=3,
        seconds_to_working_init=round(seconds, 2),
        wandb_core_processes=len(cores),
    )
