"""Distributed support inside one process: rank detection, the reduction, the handles.

The multi-process behaviour (two ranks under torchrun) is in test_distributed_torchrun.py;
here a one-rank gloo group exercises the real collective path, and env variables stand
in for a launcher. Every run is a real offline wandb run, read back from its files.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import nbwandb
from nbwandb import NbwandbError
from nbwandb.distributed import (
    REDUCE_OPS,
    DistributedRun,
    FollowerRun,
    RankInfo,
    group_identity,
    is_main_process,
    launch,
    rank_info,
    reduce_metrics,
    torchrun_command,
)
from nbwandb.distributed.reduction import _header, _header_agrees, _signature
from nbwandb.local import read_run

LAUNCHER_VARS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_LOCALID",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "PMI_RANK",
    "PMI_SIZE",
    "MPI_LOCALRANKID",
    "TORCHELASTIC_RUN_ID",
    "NBWANDB_GROUP",
)


@pytest.fixture(autouse=True)
def no_launcher(monkeypatch: pytest.MonkeyPatch):
    for var in LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def one_rank_group(tmp_path: Path):
    """A real gloo process group of one rank (the collective code path, no second process)."""
    import torch.distributed as dist

    dist.init_process_group(
        "gloo",
        init_method=f"file://{tmp_path / 'pg-store'}",
        rank=0,
        world_size=1,
        timeout=timedelta(seconds=30),
    )
    yield dist
    dist.destroy_process_group()


# -- rank detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, RankInfo(0, 1, 0, "single process")),
        ({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, RankInfo(1, 4, 1, "RANK (torchrun)")),
        (
            {"SLURM_PROCID": "3", "SLURM_NTASKS": "8", "SLURM_LOCALID": "0"},
            RankInfo(3, 8, 0, "SLURM_PROCID (SLURM)"),
        ),
        (
            {"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "3"},
            RankInfo(2, 3, 2, "OMPI_COMM_WORLD_RANK (Open MPI)"),
        ),
        (
            {"PMI_RANK": "0", "PMI_SIZE": "2", "MPI_LOCALRANKID": "0"},
            RankInfo(0, 2, 0, "PMI_RANK (MPICH/Intel MPI)"),
        ),
        # torchrun inside a SLURM allocation: torchrun's variables win.
        (
            {"RANK": "5", "WORLD_SIZE": "6", "SLURM_PROCID": "0", "SLURM_NTASKS": "1"},
            RankInfo(5, 6, 5, "RANK (torchrun)"),
        ),
    ],
)
def test_rank_info_reads_launcher_variables(monkeypatch, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert rank_info() == expected
    assert nbwandb.is_main_process() is (expected.rank == 0)
    assert is_main_process() is expected.is_main


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RANK": "one", "WORLD_SIZE": "2"}, "RANK='one'"),
        ({"RANK": "0", "WORLD_SIZE": "two"}, "WORLD_SIZE='two'"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 and WORLD_SIZE=2"),
    ],
)
def test_rank_info_rejects_bad_variables_by_name(monkeypatch, env, named):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=named):
        rank_info()


def test_rank_info_prefers_an_initialised_process_group(monkeypatch, one_rank_group):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    info = rank_info()
    assert (info.rank, info.world_size, info.source) == (0, 1, "torch.distributed")


# -- the reduction --------------------------------------------------------------------------


def test_reduce_rejects_unknown_ops_by_name():
    with pytest.raises(ValueError, match="reduce='avg' is not accepted; use 'mean'"):
        reduce_metrics({"loss": 1.0}, "avg")


def test_reduce_without_a_process_group_returns_the_row():
    row = {"loss": 0.25, "n": 3}
    assert reduce_metrics(row, "mean") == row


@pytest.mark.parametrize("reduce", REDUCE_OPS)
def test_reduce_through_a_real_collective_keeps_values_and_types(one_rank_group, reduce):
    # 40 numeric keys: 32 travel with the key check, the rest in a second all_reduce.
    row = {f"m/{i:02d}": float(i) / 3 for i in range(38)}
    row.update({"count": 7, "flag": True, "nothing": None, "text_like": "kept"})
    out = reduce_metrics(row, reduce)
    assert set(out) == set(row)
    for key in (f"m/{i:02d}" for i in range(38)):
        assert out[key] == pytest.approx(row[key], rel=1e-15)
    # one rank: mean == sum == max == min == the value itself; ints stay ints except for mean
    assert out["count"] == 7 and isinstance(out["count"], float if reduce == "mean" else int)
    assert out["flag"] is True and out["nothing"] is None and out["text_like"] == "kept"


def test_key_check_detects_any_disagreement_after_the_reduction():
    # What all_reduce would produce for two ranks, computed by hand: the header must
    # agree only when both ranks logged the same keys with the same op.
    same = _signature(("a", "b"), "mean")
    other = _signature(("a", "c"), "mean")
    for reduce, combine in (("mean", sum), ("sum", sum), ("max", max), ("min", min)):
        mine = _header(_signature(("a", "b"), reduce), reduce)
        theirs = _header(_signature(("a", "c"), reduce), reduce)
        agreed = [combine(pair) for pair in zip(mine, mine, strict=True)]
        differed = [combine(pair) for pair in zip(mine, theirs, strict=True)]
        assert _header_agrees(agreed, reduce, world=2)
        assert not _header_agrees(differed, reduce, world=2)
    assert same != other
    # The signature is stable across processes (crc32, not the salted str hash).
    assert _signature(("loss",), "mean") == _signature(("loss",), "mean")


# -- the handles ----------------------------------------------------------------------------


def test_non_main_rank_gets_a_follower_that_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    run = nbwandb.init(project="ddp", config={"lr": 0.1})
    assert isinstance(run, FollowerRun) and isinstance(run, nbwandb.NoOpRun)
    assert not run.enabled and run.rank == 1 and run.world_size == 2
    assert run.config == {"lr": 0.1}
    run.log({"loss": 0.5}, step=0, reduce="mean")  # no process group yet: nothing to join
    with pytest.raises(ValueError, match="reduce='median'"):
        run.log({"loss": 0.5}, reduce="median")
    # The same checks as rank 0's Run.log, so both ranks fail before the collective.
    with pytest.raises(ValueError, match="'global_step' is the step key"):
        run.log({"global_step": 1}, reduce="mean")
    with pytest.raises(NbwandbError, match="metric 'x'"):
        run.log({"x": [1, 2]}, reduce="mean")
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"weights")
    assert run.log_checkpoint(ckpt, aliases=["best"]) is None  # rank 0 saves checkpoints
    run.finish()
    assert run.state == "finished"
    assert not (tmp_path / "wandb").exists()
    with pytest.raises(nbwandb.RunFinishedError):
        run.log({"loss": 1.0}, reduce="mean")


def test_follower_takes_part_in_the_collective(one_rank_group):
    run = FollowerRun(RankInfo(0, 1, 0, "test"))
    run.log({"loss": 0.5, "acc": {"top1": 1}}, step=0, prefix="val", reduce="sum")
    run.finish()  # the barrier of a one-rank group returns at once
    assert run.state == "finished"


def test_main_rank_gets_a_real_run(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with nbwandb.init(project="ddp", quiet=True) as run:
        assert isinstance(run, DistributedRun) and run.strategy == "main"
        run.log({"loss": 0.5}, step=0, reduce="mean")  # no process group: logged as is
    assert read_run(run.run_dir).history[0]["loss"] == 0.5


def test_group_runs_are_named_after_the_rank(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("NBWANDB_GROUP", "exp-7")
    with nbwandb.init(project="ddp", distributed="group", quiet=True) as run:
        assert isinstance(run, DistributedRun) and run.group == "exp-7"
        run.log({"loss": 0.25}, step=0)
    local = read_run(run.run_dir)
    assert (local.group, local.name, local.job_type) == ("exp-7", "exp-7-rank-1", "rank-1")
    assert local.history[0]["loss"] == 0.25


def test_group_name_sources(monkeypatch):
    ranks = RankInfo(1, 2, 1, "RANK")
    assert group_identity(ranks, group="g", name="exp", job_type="train") == (
        "g",
        "exp-rank-1",
        "train-rank-1",
    )
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "5f2c1a9e-0000")
    assert group_identity(ranks, group=None, name=None, job_type=None)[0] == "ddp-5f2c1a9e-000"
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    with pytest.raises(NbwandbError, match=r"cannot agree on a group name.*NBWANDB_GROUP"):
        group_identity(ranks, group=None, name=None, job_type=None)


def test_group_name_is_chosen_by_rank_zero_over_the_process_group(one_rank_group, monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "not-used-when-a-process-group-exists")
    first = group_identity(RankInfo(0, 1, 0, "t"), group=None, name=None, job_type=None)
    second = group_identity(RankInfo(0, 1, 0, "t"), group=None, name=None, job_type=None)
    assert re.fullmatch(r"ddp-[0-9a-f]{8}", first[0]) and first[0] != second[0]
    assert first[1:] == (f"{first[0]}-rank-0", "rank-0")
    monkeypatch.setenv("NBWANDB_GROUP", "chosen")  # the user's name wins over a random one
    assert (
        group_identity(RankInfo(0, 1, 0, "t"), group=None, name=None, job_type=None)[0] == "chosen"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_finishes_the_run_as_failed(monkeypatch):
    # torchrun sends SIGTERM to the surviving ranks when one fails.
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    run = nbwandb.init(project="ddp", quiet=True)
    run.log({"loss": 1.5}, step=0)
    with pytest.raises(SystemExit) as stopped:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stopped.value.code == 143
    assert (run.state, run.exit_code) == ("failed", 143)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler given back
    local = read_run(run.run_dir)
    assert local.exit_code == 143 and local.history[0]["loss"] == 1.5


# -- launch ---------------------------------------------------------------------------------


def test_launch_command_and_bad_input(tmp_path):
    cmd = torchrun_command("train.py", 3, ["--lr", "0.1"], ["--max-restarts=0"])
    assert cmd[0] == sys.executable
    assert cmd[1:] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=3",
        "--max-restarts=0",
        "train.py",
        "--lr",
        "0.1",
    ]
    script = tmp_path / "s.py"
    script.write_text("")
    with pytest.raises(ValueError, match="nproc=0"):
        launch(script, 0)
    with pytest.raises(TypeError, match="args='--lr 1'"):
        launch(script, 2, "--lr 1")
    with pytest.raises(NbwandbError, match=r"missing.py"):
        launch(tmp_path / "missing.py")
    with pytest.raises(ValueError, match="timeout=0"):
        launch(script, timeout=0)
