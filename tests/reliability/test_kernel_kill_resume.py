"""A kernel SIGKILLed mid-training, then ``init(resume="auto")`` in a new kernel.

The first kernel trains a small torch model, logs a row per step and a checkpoint every
``EVERY`` steps, and is killed 1 s after its last ``log()`` while its cell is still running
(as a kernel dies in the middle of a long step). A second kernel, started afresh as after
Kernel > Restart, resumes the run, restores the newest checkpoint and goes on. Measured:
the rows the files kept, the step the run went on from, and how long from calling
``init(resume="auto")`` until the first new row is in the ``.wandb`` file on disk.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from relkit import Kernel, record, wandb_core_pids

ROWS = 650  # logged before the kill: steps 0..649
EVERY = 100  # a checkpoint after steps 99, 199, ..., 599
MORE = 50  # logged after the resume

TRAIN = f"""
import time, torch, nbwandb
from nbwandb.checkpoints import save_torch

torch.manual_seed(0)
x = torch.randn(256, 4)
y = x @ torch.tensor([1.5, -2.0, 0.5, 0.0]) + 0.1 * torch.randn(256)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
run = nbwandb.init(project="resume", config={{"lr": 0.05}}, name="killed", mode="offline",
                   quiet=True)
print(f"run_id={{run.id}}")
print(f"run_dir={{run.run_dir}}")
for step in range({ROWS}):
    loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    run.log({{"loss": float(loss)}}, prefix="train")   # no step=: 0, 1, 2, ...
    if step % {EVERY} == {EVERY} - 1:
        save_torch(f"ckpt-{{step}}.pt", model, opt, step=step)
        run.log_checkpoint(f"ckpt-{{step}}.pt", step=step)
    if step % 10 == 0:
        time.sleep(0.002)   # a training step takes time
print("LOGGED", flush=True)
time.sleep(120)   # the next (long) step: the kernel is killed here
"""

RESUME = f"""
import time
t0 = time.perf_counter()
import nbwandb   # what a fresh kernel runs first; wandb itself is imported by init
from nbwandb.local import read_run

run = nbwandb.init(project="resume", resume="auto", mode="offline", quiet=True)
init_s = time.perf_counter() - t0
run.log({{"loss": -1.0}}, prefix="train")   # the first row of the new segment
run.flush()
flushed_s = time.perf_counter() - t0
while not any(r.get("train/loss") == -1.0 for r in read_run(run.run_dir, join=False).history):
    time.sleep(0.01)   # until the row is in the .wandb file on disk
on_disk_s = time.perf_counter() - t0

import torch
from nbwandb.checkpoints import load_torch
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=run.config["lr"])   # torch's first optimizer: slow
t1 = time.perf_counter()   # the restore itself is timed: find the checkpoint, load it
path = run.latest_checkpoint()
find_s = time.perf_counter() - t1
loaded = load_torch(path, model, opt)
restore_s = time.perf_counter() - t1
for _ in range({MORE} - 1):
    run.log({{"loss": 0.0}}, prefix="train")
run.finish()
print(f"run_id={{run.id}}")
print(f"run_dir={{run.run_dir}}")
print(f"start_step={{run.start_step}}")
print(f"segments={{len(run.resumed_from)}}")
print(f"checkpoint_step={{loaded.step}}")
print(f"times={{init_s:.3f}},{{flushed_s:.3f}},{{on_disk_s:.3f}},{{find_s:.3f}},{{restore_s:.3f}}")
"""


def test_sigkilled_kernel_resumes_in_a_new_kernel(tmp_path: Path) -> None:
    from nbwandb.local import read_run

    with Kernel(tmp_path) as k:
        msg_id = k.submit(TRAIN)
        printed = k.wait_for_output(msg_id, "LOGGED", timeout=180)
        values = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
        run_id, first = values["run_id"], Path(values["run_dir"])
        assert wandb_core_pids(k.pid), "the kernel must run its own wandb-core"
        time.sleep(1.0)  # the kill comes 1 s after the last log(), mid-cell
        os.kill(k.pid, signal.SIGKILL)
        k.km.provisioner.process.wait(10)  # type: ignore[union-attr]
    time.sleep(0.5)  # wandb-core notices its parent is gone and exits

    crashed = read_run(first)
    kept = [r["global_step"] for r in crashed.history if "train/loss" in r]
    assert crashed.state == "crashed" and crashed.id == run_id
    assert kept == list(range(len(kept))), "the kept rows are the first ones, in order"

    with Kernel(tmp_path) as k2:  # a fresh kernel, as after Kernel > Restart
        cell = k2.run(RESUME, timeout=180).check()
    init_s, flushed_s, on_disk_s, find_s, restore_s = map(float, cell.value("times").split(","))
    start_step = int(cell.value("start_step"))

    assert cell.value("run_id") == run_id
    assert start_step == kept[-1] + 1, (start_step, kept[-1])
    last_checkpoint = (len(kept) // EVERY) * EVERY - 1
    assert int(cell.value("checkpoint_step")) == last_checkpoint
    assert int(cell.value("segments")) == 1

    joined = read_run(run_id)  # the run id: every segment under WANDB_DIR, joined
    steps = [r["global_step"] for r in joined.history]
    assert joined.id == run_id and joined.state == "finished"
    assert joined.segments == [first, Path(cell.value("run_dir"))]
    assert steps == list(range(len(kept) + MORE)), "one row per step, no gap, no repeat"
    assert [r["_step"] for r in joined.history] == steps  # wandb's own step goes on too
    assert joined.history[len(kept)]["train/loss"] == -1.0  # the first row after the resume

    record(
        "kernel_sigkill_resume",
        rows_logged=ROWS,
        rows_kept=len(kept),
        last_kept_step=kept[-1],
        start_step=start_step,
        checkpoint_step=last_checkpoint,
        rows_after_resume=MORE,
        rows_read_back=len(steps),
        segments=len(joined.segments),
        seconds_init=round(init_s, 2),
        seconds_to_first_row_flushed=round(flushed_s, 2),
        seconds_to_first_row_on_disk=round(on_disk_s, 2),
        seconds_latest_checkpoint=round(find_s, 3),
        seconds_restore_checkpoint=round(restore_s, 3),
    )
    assert len(kept) == ROWS, f"{ROWS - len(kept)} rows lost to the kill"
