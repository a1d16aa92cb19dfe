"""Resuming a run: after a SIGKILL, by id, by folder, with config changes and checkpoints.

The crashed part of each run is written by a real process that kills itself with SIGKILL
mid-training (``crash``), as a dead kernel leaves it; the tests read the joined run back
from its files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import nbwandb
from nbwandb.local import list_runs, read_run
from nbwandb.local.segments import group_by_run
from nbwandb.run.outcomes import Resumed
from nbwandb.start.resume import ResumeError

REPO = Path(__file__).resolve().parents[1]

CRASH = """
import os, signal, pathlib, torch, nbwandb
from nbwandb.checkpoints import save_torch
torch.manual_seed(0)
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
run = nbwandb.init(project={project!r}, config={config!r}, name="trainer", group="g", tags=["t1"],
                   mode="offline", quiet=True)
for step in range({steps}):
    run.log({{"loss": 1.0 / (step + 1)}}, prefix="train")
    if {ckpt_every} and step % {ckpt_every} == {ckpt_every} - 1:
        save_torch("ckpt.pt", model, opt, step=step)
        run.log_checkpoint("ckpt.pt", step=step)
run.flush()
print(run.id, run.run_dir, flush=True)
{after}
"""
KILL = "import time; time.sleep(0.3); os.kill(os.getpid(), signal.SIGKILL)"


def crash(
    project: str = "p",
    steps: int = 10,
    config: dict | None = None,
    ckpt_every: int = 0,
    after: str = KILL,
    wait: bool = True,
    share_service: bool = False,
) -> tuple[str, Any]:
    """Run a training script that logs ``steps`` rows and then dies by SIGKILL."""
    code = CRASH.format(
        project=project,
        config=config or {"lr": 0.1, "width": 8},
        steps=steps,
        ckpt_every=ckpt_every,
        after=after,
    )
    # A child of this process would log through this process's wandb service (WANDB_SERVICE);
    # a crashed kernel takes its own service with it. The shared case has its own test.
    env = {k: v for k, v in os.environ.items() if share_service or k != "WANDB_SERVICE"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    if not wait:
        return proc, None
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -9, err[-2000:]
    run_id, run_dir = out.split()[-2:]
    return run_id, Path(run_dir)


def test_killed_run_resumes_auto_with_same_id_and_next_step(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, first = crash(steps=10)
    assert read_run(first).state == "crashed"

    run = nbwandb.init(project="p", resume="auto", mode="offline")
    out = capsys.readouterr().out
    assert run.id == run_id and run.name == "trainer" and run.group == "g" and run.tags == ("t1",)
    assert run.resumed_from == (first,) and run.start_step == 10 and run.run_dir != first
    assert f"resumed run 'trainer' ({run_id}) at step 10: 10 rows in 1 earlier segment" in out
    assert run.sync_command == f"nbwandb sync {run.run_dir}"
    outcome = run.start_outcome  # the same, as fields; the printed lines are its message
    assert outcome is not None and outcome.what == "resumed" and out == outcome.message() + "\n"
    assert outcome.resumed == Resumed(start_step=10, rows=10, segments=1, last_state="crashed")
    assert outcome.run_dir == run.run_dir and outcome.sync_command == run.sync_command
    for _ in range(3):
        run.log({"loss": 0.01}, prefix="train")  # no step=: goes on at 10, 11, 12
    run.finish()

    joined = read_run(run.run_dir)
    assert joined.segments == [first, run.run_dir] and joined.state == "finished"
    assert [r["global_step"] for r in joined.history] == list(range(13))
    assert [r["_step"] for r in joined.history] == list(range(13))  # wandb's own step too
    assert joined.summary["train/loss"] == 0.01 and joined.summary["global_step"] == 12
    assert joined.config == {"lr": 0.1, "width": 8}
    # any segment, or the run id, gives the same joined run; the one-folder view stays
    assert read_run(first).history == joined.history == read_run(run_id).history
    assert len(read_run(first, join=False).history) == 10
    # one row in the runs table, and the dashboard draws all 13 steps
    table = list_runs(isolated / "wandb")
    assert [(r["id"], r["state"], r["steps"]) for r in table] == [(run_id, "finished", 13)]
    dash = nbwandb.show(first)
    assert [len(r.history) for r in dash.runs] == [13]


def test_auto_without_a_crashed_run_starts_a_new_one(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = nbwandb.init(project="p", mode="offline", quiet=True)
    done.log({"a": 1})
    done.finish()
    run = nbwandb.init(project="p", resume=True, mode="offline")
    out = capsys.readouterr().out
    assert run.id != done.id and run.resumed_from == () and run.start_step == 0
    assert "no run of project 'p' to resume" in out and "starting a new run" in out
    run.finish()


def test_auto_takes_the_newest_crashed_run_of_this_project(isolated: Path) -> None:
    older, _ = crash(project="p", steps=3)
    other, _ = crash(project="other", steps=4)
    time.sleep(1.1)  # folder names differ by the second they started in
    newer, _ = crash(project="p", steps=5)
    run = nbwandb.init(project="p", resume="auto", mode="offline", quiet=True)
    assert run.id == newer != older and run.start_step == 5
    run.finish()
    run = nbwandb.init(project="other", resume="auto", mode="offline", quiet=True)
    assert run.id == other and run.start_step == 4
    run.finish()


def test_resume_by_id_and_by_folder(isolated: Path) -> None:
    run_id, first = crash(steps=4)
    run = nbwandb.init(project="p", resume=run_id, mode="offline", quiet=True)
    assert run.id == run_id and run.start_step == 4
    run.log({"loss": 0.5}, prefix="train")
    run.finish()
    # by folder, from the first segment: the run goes on after the second
    run = nbwandb.init(resume=str(first), mode="offline", quiet=True)
    assert run.id == run_id and run.project == "p" and run.start_step == 5
    assert run.resumed_from[0] == first and len(run.resumed_from) == 2
    run.log({"loss": 0.25}, step=9, prefix="train")
    run.finish()
    joined = read_run(run_id)
    assert [r["global_step"] for r in joined.history] == [0, 1, 2, 3, 4, 9]
    assert len(joined.segments) == 3 and joined.state == "finished"


def test_a_live_run_is_never_taken_over(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc, _ = crash(steps=3, after="import time; time.sleep(60)", wait=False)
    try:
        run_id, live_dir = proc.stdout.readline().split()  # type: ignore[union-attr]
        run = nbwandb.init(project="p", resume="auto", mode="offline", quiet=True)
        assert run.id != run_id and run.start_step == 0
        # quiet=True prints nothing; the run passed over is in the start outcome
        assert capsys.readouterr().out == ""
        assert run.start_outcome is not None and run.start_outcome.what == "started"
        note = f"run {run_id} is still being written by process {proc.pid}; not resumed"
        assert note in run.start_outcome.notes
        run.finish()
        with pytest.raises(ResumeError, match=f"still being written by process {proc.pid}"):
            nbwandb.init(project="p", resume=run_id, mode="offline", quiet=True)
        assert read_run(live_dir, join=False).state == "running"
    finally:
        proc.kill()
        proc.communicate()


def test_config_is_merged_and_changes_are_listed(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _ = crash(steps=2, config={"lr": 0.1, "opt": {"name": "sgd", "momentum": 0.9}})
    run = nbwandb.init(
        project="p",
        resume="auto",
        mode="offline",
        config={"lr": 0.01, "opt": {"momentum": 0.5}, "new": 1},
    )
    out = capsys.readouterr().out
    assert "config changed: lr: 0.1 -> 0.01, opt.momentum: 0.9 -> 0.5, new: (new) 1" in out
    expected = {"lr": 0.01, "opt": {"name": "sgd", "momentum": 0.5}, "new": 1}
    assert run.config == expected
    run.finish()
    assert read_run(run_id).config == expected


def test_latest_checkpoint_across_segments_restores_model(isolated: Path) -> None:
    import torch

    from nbwandb.checkpoints import load_torch, save_torch

    _run_id, _ = crash(steps=10, ckpt_every=4)  # checkpoints at steps 3 and 7, killed after 9
    run = nbwandb.init(project="p", resume="auto", mode="offline", quiet=True)
    path = run.latest_checkpoint()
    assert path is not None and path.is_file()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loaded = load_torch(path, model, opt)
    assert loaded.step == 7
    torch.manual_seed(0)
    assert torch.equal(model.weight, torch.nn.Linear(3, 1).weight)  # the saved (seed 0) weights
    # a checkpoint of this segment is newer
    save_torch("ckpt.pt", model, opt, step=12)
    run.log({"loss": 0.1}, step=12, prefix="train")
    run.log_checkpoint("ckpt.pt", step=12)
    assert load_torch(run.latest_checkpoint(), model, opt).step == 12
    assert run.latest_checkpoint("no-such-name") is None
    run.finish()
    fresh = nbwandb.init(project="q", mode="offline", quiet=True)
    assert fresh.latest_checkpoint() is None
    fresh.finish()


def test_bad_resume_input_names_what_was_looked_for(isolated: Path) -> None:
    with pytest.raises(ResumeError, match=r"no run with that id under .*offline-run-\*-nosuch"):
        nbwandb.init(project="p", resume="nosuch", mode="offline", quiet=True)
    with pytest.raises(ResumeError, match="that folder does not exist"):
        nbwandb.init(
            project="p", resume=str(isolated / "wandb" / "gone"), mode="offline", quiet=True
        )
    with pytest.raises(ResumeError, match="is not accepted"):
        nbwandb.init(project="p", resume=12, mode="offline", quiet=True)  # type: ignore[arg-type]
    run_id, first = crash(project="a", steps=2)
    with pytest.raises(ResumeError, match="it belongs to project 'a'; pass project='a'"):
        nbwandb.init(project="b", resume=str(first), mode="offline", quiet=True)
    with pytest.raises(ResumeError, match="it belongs to project 'a'"):
        nbwandb.init(project="b", resume=run_id, mode="offline", quiet=True)
    # a corrupt segment: the error names its folder; nothing in it is changed
    run_file = next(first.glob("*.wandb"))
    run_file.write_bytes(b"garbage, not a wandb run file" * 10)
    with pytest.raises(ResumeError, match=rf"cannot resume from {first}"):
        nbwandb.init(project="a", resume=run_id, mode="offline", quiet=True)
    assert run_file.read_bytes().startswith(b"garbage")
    assert nbwandb.run.session.active_run() is None


def test_resume_right_after_the_crash_never_reuses_its_folder(isolated: Path) -> None:
    _run_id, first = crash(steps=2, after=KILL.replace("0.3", "0"))
    before = next(first.glob("*.wandb")).read_bytes()
    run = nbwandb.init(project="p", resume="auto", mode="offline", quiet=True)
    assert run.run_dir.name != first.name
    run.finish()
    assert next(first.glob("*.wandb")).read_bytes() == before


def test_sync_uploads_segments_in_order_one_job_per_run(isolated: Path) -> None:
    a1, a2, b1 = (
        isolated / "wandb" / n
        for n in (
            "offline-run-20260101_000002-aaa",
            "offline-run-20260101_000001-aaa",
            "offline-run-20260101_000001-bbb",
        )
    )
    assert group_by_run([a1, b1, a2]) == {"aaa": [a2, a1], "bbb": [b1]}


def test_init_magic_resume(isolated: Path) -> None:
    from ipython_shell import shared_shell

    run_id, _ = crash(steps=3)
    ip = shared_shell()
    ip.run_line_magic("load_ext", "nbwandb")
    try:
        ip.run_line_magic("wandb_init", "--project p --mode offline --resume")
        run = ip.user_ns["run"]
        assert run.id == run_id and run.start_step == 3
        run.finish()
        ip.run_line_magic("wandb_init", f"--project p --mode offline --resume {run_id}")
        assert ip.user_ns["run"].id == run_id and ip.user_ns["run"].start_step == 3
    finally:
        ip.run_line_magic("unload_ext", "nbwandb")


def test_config_form_offers_resume_of_the_last_crashed_run(isolated: Path) -> None:
    from nbwandb.notebook import ConfigForm

    assert ConfigForm({"lr": 0.1}, project="p", mode="offline").resume_button is None
    run_id, _ = crash(steps=5)
    form = ConfigForm({"lr": 0.05, "width": 8}, project="p", mode="offline")
    assert form.resume_button is not None
    assert form.resume_button.description == "Resume last run (trainer, step 5)"
    form.resume_button.click()
    assert form.run.id == run_id and form.run.start_step == 5
    assert "resumed run trainer" in form.status.value
    assert form.run.config == {"lr": 0.05, "width": 8}
    form.run.finish()


def test_resume_of_a_child_that_died_inside_this_kernels_wandb_service(isolated: Path) -> None:
    import wandb

    wandb.setup().ensure_service()  # as in a kernel that has run wandb before starting the child
    run_id, first = crash(steps=3, share_service=True)
    run = nbwandb.init(project="p", resume=run_id, mode="offline", quiet=True)
    assert run.id == run_id and run.start_step == 3
    run.log({"loss": 0.5}, prefix="train")
    run.finish()
    assert [r["global_step"] for r in read_run(run_id).history] == [0, 1, 2, 3]
    assert read_run(first, join=False).exit_code is None  # the crashed part stays as it was
