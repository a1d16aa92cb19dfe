"""Following a run while another process writes it: follow_run, LocalRun.refresh, Dashboard.refresh."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbwandb
from nbwandb.local import follow_run, read_run

WRITER = textwrap.dedent(
    """
    import sys, nbwandb
    run = nbwandb.init("follow", name="live", mode="offline", quiet=True)
    print(run.run_dir, flush=True)
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    run.flush()
    sys.stdin.readline()          # the test has seen the first half: write the rest
    for step in range(10, 20):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    run.finish()
    """
)


def test_follow_a_run_being_written(isolated: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        run_dir = Path(child.stdout.readline().strip())
        seen: list[int] = []
        released = False
        dash = None
        for run in follow_run(run_dir, poll=0.1, idle_timeout=60):
            seen.append(run.steps)
            if not released and run.steps >= 10:
                assert run.state == "running" and run.exit_code is None
                assert [r["global_step"] for r in run.history[:10]] == list(range(10))
                dash = nbwandb.show(run)
                assert "train/loss" in dash.keys
                child.stdin.write("go\n")
                child.stdin.flush()
                released = True
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert released, f"never saw the first 10 rows while the run was live (saw {seen})"
    assert seen == sorted(seen) and seen[-1] == 20
    assert run.state == "finished" and run.exit_code == 0
    assert run.series("train/loss", x="global_step") == (
        [float(s) for s in range(20)],
        [1.0 / (s + 1) for s in range(20)],
    )
    assert run.history == read_run(run_dir).history  # reading on == reading from scratch
    assert dash is not None and dash.refresh().runs[0].steps == 20
    assert "20 steps" in repr(dash)
