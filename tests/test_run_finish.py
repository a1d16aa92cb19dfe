"""``run.finish(wait=False)`` (the default in a notebook kernel): the call returns while the
rows still queued go through wandb-core, and everything that needs the finished run waits for
it. Correctness only, never timing: every row is read back, a failure is warned about and
raised by ``finish(wait=True)``, and Python's exit completes the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import nbwandb
from nbwandb import NbwandbError, NbwandbWarning
from nbwandb.local import list_runs, read_run
from nbwandb.run import finish, kernel, session, startup

ROWS = (
    20_000  # wandb-core takes ~1 s of CPU for these: the finish is still going on after it returns
)


def _log_rows(run, rows: int = ROWS) -> None:
    for step in range(rows):
        run.log({"a": step * 0.5, "b": 1.0}, step=step)


def test_finish_returns_while_the_rows_go_through_and_a_read_waits_for_them():
    run = nbwandb.init(project="bgfinish", quiet=True)
    _log_rows(run)
    run.finish(wait=False)
    assert run.state == "finishing" and run.finished  # takes no more rows, and says it is not done
    assert finish.pending() == 1 and session.active_run() is None
    with pytest.raises(nbwandb.RunFinishedError):
        run.log({"a": 1.0}, step=ROWS)
    local = read_run(run.run_dir)  # waits for the finish in the background
    assert run.state == "finished" and run.exit_code == 0 and finish.pending() == 0
    run.finish()  # a second call is safe
    assert local.state == "finished" and local.exit_code == 0
    assert [row["global_step"] for row in local.history] == list(range(ROWS))
    assert local.history[-1]["a"] == (ROWS - 1) * 0.5


def test_a_colab_kernel_finishes_in_the_background_too(monkeypatch: pytest.MonkeyPatch):
    import ipykernel  # noqa: F401 - in sys.modules, as in any kernel
    import IPython

    class ZMQInteractiveShell:  # stands in for ipykernel's shell class (matched by name)
        pass

    class Shell(ZMQInteractiveShell):  # Colab's shell subclasses ipykernel's
        pass

    run = nbwandb.init(project="bgfinish", quiet=True)
    _log_rows(run)
    with monkeypatch.context() as patch:
        patch.setattr(IPython, "get_ipython", Shell)
        assert kernel.in_kernel()
        run.finish()  # the default: a kernel's finish does not wait for wandb-core
    assert run.state == "finishing"
    assert len(read_run(run.run_dir).history) == ROWS and run.state == "finished"


def test_the_next_init_and_the_runs_table_wait_for_a_background_finish():
    first = nbwandb.init(project="bgfinish", quiet=True)
    _log_rows(first)
    first.finish(exit_code=3, wait=False)
    assert first.state == "finishing"
    second = nbwandb.init(project="bgfinish", quiet=True)
    assert first.state == "failed" and first.exit_code == 3  # ended before the next run began
    assert session.active_run() is second
    second.log({"a": 1.0}, step=0)
    second.finish(wait=False)
    table = list_runs(Path(os.environ["WANDB_DIR"]) / "wandb")  # waits for the second one
    by_id = {row["id"]: row for row in table}
    assert by_id[first.id]["state"] == "failed" and by_id[first.id]["steps"] == ROWS
    assert by_id[second.id]["state"] == "finished"


def test_a_failure_in_the_background_is_warned_and_raised_by_finish_wait():
    startup.start_preload()
    assert startup.join_preload(timeout=120)
    startup.set_background_init(True)  # as after %load_ext: wandb.init runs in the background
    try:
        run = nbwandb.init(
            project="bgfinish",
            config={"a": 1},
            config_include_keys=["a"],
            config_exclude_keys=["b"],  # both: wandb.init refuses
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.finish(wait=False)
            assert finish.wait_all(60)
        said = [str(w.message) for w in caught if issubclass(w.category, NbwandbWarning)]
        assert any("did not finish cleanly" in text and "include" in text for text in said), said
        assert run.state == "failed"
        with pytest.raises(NbwandbError, match="include"):
            run.finish(wait=True)
        run.finish(wait=True)  # said once: a third call is quiet
    finally:
        startup.set_background_init(False)


def test_python_exit_completes_a_finish_left_in_the_background(tmp_path: Path):
    code = (
        "import nbwandb\n"
        "run = nbwandb.init(project='bgexit', quiet=True)\n"
        f"for step in range({ROWS}):\n"
        "    run.log({'a': float(step)}, step=step)\n"
        "run.finish(wait=False)\n"
        "assert run.state == 'finishing'\n"
        "print('RUN_DIR', run.run_dir, flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}  # its own wandb-core
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "WANDB_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = proc.stdout.split("RUN_DIR", 1)[1].split()[0]
    local = read_run(run_dir)
    assert local.state == "finished" and local.exit_code == 0
    assert len(local.history) == ROWS and local.history[-1]["a"] == ROWS - 1
