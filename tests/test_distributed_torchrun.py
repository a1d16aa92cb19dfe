"""Two real ranks under torchrun (gloo, CPU) train a tiny DDP model: tests/dist_scripts/train_ddp.py.

Each job is started with ``nbwandb.launch`` (``torchrun --standalone`` picks a
free port, so parallel test runs never clash) with a time bound, offline, in this test's
WANDB_DIR, and the runs it wrote are read back from their files.
"""

from __future__ import annotations

import json
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from leet import leet_summary

from nbwandb import launch
from nbwandb.distributed import LaunchResult
from nbwandb.local import read_run

SCRIPT = Path(__file__).parent / "dist_scripts" / "train_ddp.py"
JOB_TIMEOUT = 120  # seconds; a hung rank fails the test instead of hanging it

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="torchrun with gloo on POSIX")


@dataclass
class Job:
    result: LaunchResult
    ranks: dict[int, dict]  # what each rank wrote to rank-N.json
    lines: list[str]  # what echo received
    wandb_dir: Path


def run_job(
    mode: str, folder: Path, script: Path = SCRIPT, nproc: int = 2, timeout: float = JOB_TIMEOUT
) -> Job:
    out = folder / "out"
    out.mkdir(parents=True)
    # The same isolation as conftest's fixture, for the job's processes.
    env = {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "NETRC": str(folder / ".netrc"),
        **{
            f"WANDB_{d}_DIR": str(folder / f".{d.lower()}-wandb")
            for d in ("CONFIG", "CACHE", "DATA")
        },
    }
    lines: list[str] = []
    result = launch(
        script,
        nproc,
        [mode, str(out)],
        timeout=timeout,
        echo=lines.append,
        wandb_dir=folder,
        env=env,
        cwd=folder,
    )
    ranks = {}
    for path in out.glob("rank-*.json"):
        record = json.loads(path.read_text())
        ranks[record["rank"]] = record
    return Job(result, ranks, lines, folder)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Job]:
    """All torchrun jobs of this file at once: most of their time is start-up and waiting."""
    root = tmp_path_factory.mktemp("torchrun")
    sleepy = root / "sleepy.py"
    sleepy.write_text("import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            mode: pool.submit(run_job, mode, root / mode) for mode in ("main", "group", "fail")
        }
        futures["timeout"] = pool.submit(run_job, "-", root / "timeout", sleepy, 1, 8)
        return {name: future.result() for name, future in futures.items()}


def test_main_strategy_logs_the_mean_over_ranks_into_one_run(jobs):
    result, ranks = jobs["main"].result, jobs["main"].ranks
    assert result.ok, result.output[-3000:]
    assert len(result.run_dirs) == 1
    assert sorted(p.name for p in (jobs["main"].wandb_dir / "wandb").glob("*run-*")) == [
        result.run_dirs[0].name
    ]
    # Rank 1 had a follower handle and never imported wandb.
    assert ranks[0]["handle"] == "DistributedRun" and ranks[0]["wandb_imported"]
    assert ranks[1]["handle"] == "FollowerRun" and not ranks[1]["wandb_imported"]

    run = read_run(result.run_dirs[0])
    assert (run.exit_code, run.state) == (0, "finished")
    rows = {row["global_step"]: row for row in run.history}
    assert sorted(rows) == [0, 1, 2, 3]
    for step in range(3):
        losses = [ranks[r]["losses"][step] for r in (0, 1)]
        assert losses[0] != losses[1]  # different data per rank, so the mean is telling
        assert rows[step]["train/loss"] == pytest.approx(statistics.fmean(losses), rel=1e-12)
        assert rows[step]["train/rank_value"] == 1.5  # mean of 1 and 2
        assert rows[step]["biggest_rank"] == 1  # max over ranks
        assert rows[step]["samples"] == 8
        assert rows[step]["samples_seen"] == 2 * 8 * (step + 1)  # sum over ranks
    # A call with different keys per rank failed on every rank, naming each rank's keys,
    # and logging went on afterwards.
    for rank in (0, 1):
        message = ranks[rank]["mismatch_error"]
        assert "only_rank_0" in message and "only_rank_1" in message and "rank 1:" in message
    assert not any(key.startswith("only_rank") for row in run.history for key in row)
    assert rows[3]["train/after_mismatch"] == 1  # 0 + 1
    # Rank 1 came 3 s late to a barrier with a 1 s bound: rank 0 went on after ~1 s.
    assert ranks[0]["barrier_reached"] is False and ranks[0]["barrier_s"] < 10
    assert ranks[1]["barrier_reached"] is True
    # wandb's own reader agrees.
    leet = leet_summary(result.run_dirs[0])
    assert leet["summary"]["train/loss"] == pytest.approx(rows[2]["train/loss"])
    assert leet["exit_code"] == 0


def test_group_strategy_makes_one_run_per_rank_in_one_group(jobs):
    result, ranks = jobs["group"].result, jobs["group"].ranks
    assert result.ok, result.output[-3000:]
    runs = [read_run(path) for path in result.run_dirs]
    assert len(runs) == 2
    group = runs[0].group
    assert group and group.startswith("ddp-") and runs[1].group == group
    by_name = {run.name: run for run in runs}
    assert set(by_name) == {f"{group}-rank-0", f"{group}-rank-1"}
    for rank in (0, 1):
        run = by_name[f"{group}-rank-{rank}"]
        assert run.job_type == f"rank-{rank}" and run.exit_code == 0
        assert ranks[rank]["group"] == group
        assert [row["train/loss"] for row in run.history] == pytest.approx(
            ranks[rank]["losses"], rel=1e-12
        )


def test_a_failing_rank_lets_the_others_finish_with_a_failed_run(jobs):
    result = jobs["fail"].result
    assert result.exit_code != 0 and not result.timed_out
    assert "rank 1 fails on purpose" in result.output
    assert len(result.run_dirs) == 1
    run = read_run(result.run_dirs[0])
    assert run.exit_code not in (None, 0) and run.state == "failed"
    # The steps both ranks completed are there, reduced.
    assert [row["global_step"] for row in run.history] == [0, 1]
    assert all(row["train/rank_value"] == 1.5 for row in run.history)


def test_launch_stops_a_job_that_runs_past_its_timeout(jobs):
    job = jobs["timeout"]
    result = job.result
    assert result.timed_out and not result.ok
    assert result.exit_code != 0
    assert result.duration_s < 8 + 20
    assert result.run_dirs == ()
    assert "timed out" in str(result)
    kept = result.output.splitlines()
    assert kept and kept == job.lines[-len(kept) :]  # echo saw every line the result kept


def test_other_jobs_stayed_within_their_time_bound(jobs):
    for name in ("main", "group", "fail"):
        assert not jobs[name].result.timed_out, jobs[name].result.output[-3000:]
        assert jobs[name].result.duration_s < JOB_TIMEOUT
