"""The run handles of distributed training, and the group name all ranks agree on.

:class:`FollowerRun` is a non-main rank's handle under ``distributed="main"``;
:class:`DistributedRun` is a real run on a rank (SIGTERM finishes it as failed).
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from nbwandb.distributed.ranks import RankInfo, torch_dist
from nbwandb.distributed.reduction import reduce_metrics, wait_for_all_ranks
from nbwandb.errors import NbwandbError, RunFinishedError
from nbwandb.run.run import NoOpRun, Run
from nbwandb.values.metrics import convert_metric, flatten_metrics

GROUP_ENV = "NBWANDB_GROUP"


class FollowerRun(NoOpRun):
    """The handle of a non-main rank under ``distributed="main"``.

    It writes nothing and never imports wandb, but ``log(..., reduce=...)`` takes part
    in rank 0's reduction, and ``finish()`` waits (bounded) for the other ranks.
    Every other method (media, checkpoints, config) does nothing: rank 0 logs those.

    >>> run = FollowerRun(RankInfo(1, 2, 1, "RANK"))   # what nbwandb.init gives rank 1
    >>> run.log({"loss": 0.5}, step=0, reduce="mean")  # joins rank 0's all_reduce (none here)
    >>> run.log_image("input", [[0, 1]]), run.finish(), run.state
    (None, None, 'finished')
    """

    def __init__(
        self,
        ranks: RankInfo,
        *,
        step_metric: str = "global_step",
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            f"rank {ranks.rank} of {ranks.world_size}: rank 0 logs; reduce= joins its reduction",
            step_metric=step_metric,
            config=config,
        )
        self.rank = ranks.rank
        self.world_size = ranks.world_size

    def _log(
        self, metrics: Mapping[str, Any], step: int | None, prefix: str | None, reduce: str | None
    ) -> None:
        # Join rank 0's reduction when ``reduce`` is given; otherwise do nothing.
        if reduce is None:
            return
        if self.finished:
            raise RunFinishedError(f"run.log on rank {self.rank}: the run has finished")
        # The same checks as Run.log, before the collective: a row rank 0 rejects must be
        # rejected here too, or this rank would wait in a reduction rank 0 never joins.
        row = flatten_metrics(metrics, prefix, step_metric=self.step_metric)
        reduce_metrics({k: convert_metric(k, v) for k, v in row.items()}, reduce)

    def finish(
        self, exit_code: int = 0, *, timeout: float = 60.0, wait: bool | None = None
    ) -> None:
        """Wait (at most ``timeout`` s) for the other ranks, then end; safe to call twice."""
        if self.finished:
            return
        if exit_code == 0:
            wait_for_all_ranks(timeout)
        super().finish(exit_code, timeout=timeout, wait=wait)

    def __repr__(self) -> str:
        return f"<nbwandb.distributed.FollowerRun rank {self.rank}/{self.world_size}: rank 0 logs>"


class DistributedRun(Run):
    """A real run on a distributed rank: rank 0 under "main", every rank under "group".

    Under "main", ``finish()`` first waits (bounded) for the followers; under both, a
    SIGTERM (torchrun stopping the job after another rank failed) finishes the run as
    failed (exit code 143) before the process ends.
    """

    def __init__(self, wandb_run: Any, *, ranks: RankInfo, strategy: str, **kwargs: Any) -> None:
        super().__init__(wandb_run, **kwargs)
        self.rank = ranks.rank
        self.world_size = ranks.world_size
        self.strategy = strategy
        _guard_sigterm(self)

    def finish(
        self, exit_code: int = 0, *, timeout: float = 60.0, wait: bool | None = None
    ) -> None:
        if self.strategy == "main" and exit_code == 0 and not self.finished:
            # Only on success: a failing rank 0 must not wait for ranks it may have broken.
            wait_for_all_ranks(timeout)
        try:
            super().finish(exit_code, timeout=timeout, wait=wait)
        finally:
            _release_sigterm()


_guarded: weakref.WeakSet[Run] = weakref.WeakSet()
_previous_handler: Any = None


def _on_sigterm(signum: int, frame: Any) -> None:
    runs = list(_guarded)
    if any(r.state == "finishing" for r in runs):
        return  # the main thread is already finishing; let it complete, then exit
    for run in runs:
        if run.state == "running":
            run.finish(exit_code=128 + signum, timeout=20.0)
    raise SystemExit(128 + signum)


def _guard_sigterm(run: Run) -> None:
    """Finish ``run`` as failed on SIGTERM, if SIGTERM still has its default handler."""
    global _previous_handler
    _guarded.add(run)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return
    if current in (signal.SIG_DFL, None):
        _previous_handler = current
        signal.signal(signal.SIGTERM, _on_sigterm)


def _release_sigterm() -> None:
    # Once no guarded run is left, SIGTERM gets back the handler it had before.
    if any(r.state in ("running", "finishing") for r in list(_guarded)):
        return
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is _on_sigterm
    ):
        signal.signal(signal.SIGTERM, _previous_handler or signal.SIG_DFL)


# -- group names ----------------------------------------------------------------------------


def agree_on_group(ranks: RankInfo, group: str | None = None) -> str:
    """One group name for all ranks, the first of: ``group``, ``$NBWANDB_GROUP``, rank 0's
    ``ddp-<random>`` broadcast over the process group (every rank must call this then),
    or, with no process group, torchrun's ``TORCHELASTIC_RUN_ID`` or SLURM's job id
    (the same on every rank).
    """
    if group:
        return group
    if os.environ.get(GROUP_ENV):
        return os.environ[GROUP_ENV]
    dist = torch_dist()
    if dist is not None:
        box = [f"ddp-{secrets.token_hex(4)}" if dist.get_rank() == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return str(box[0])
    for var in ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID"):
        value = os.environ.get(var, "").strip()
        if value and value != "none":
            step = os.environ.get("SLURM_STEP_ID", "") if var == "SLURM_JOB_ID" else ""
            return f"ddp-{value[:12]}" + (f"-{step}" if step else "")
    raise NbwandbError(
        f"distributed='group' on rank {ranks.rank} of {ranks.world_size}: the ranks cannot agree "
        "on a group name, because no torch.distributed process group is initialised and neither "
        f"${GROUP_ENV}, $TORCHELASTIC_RUN_ID nor $SLURM_JOB_ID is set. Call "
        "dist.init_process_group() before nbwandb.init, pass group='name', or set "
        f"{GROUP_ENV}=name for every rank."
    )


def group_identity(
    ranks: RankInfo, *, group: str | None, name: str | None, job_type: str | None
) -> tuple[str, str, str]:
    """``(group, name, job_type)`` of this rank's run under ``distributed="group"``.

    >>> group_identity(RankInfo(1, 2, 1, "RANK"), group="g", name=None, job_type=None)
    ('g', 'g-rank-1', 'rank-1')
    """
    agreed = agree_on_group(ranks, group)
    tag = f"rank-{ranks.rank}"
    return agreed, f"{name or agreed}-{tag}", f"{job_type}-{tag}" if job_type else tag
