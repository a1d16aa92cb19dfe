"""Distributed training: rank detection, one run on rank 0 or one group of runs.

``nbwandb.init`` looks at :func:`rank_info`. With a world size > 1 it follows
``distributed=``:

* ``"main"`` (the default): rank 0 gets the real run; every other rank gets a
  :class:`FollowerRun`, which never imports wandb, never writes a file and never
  prompts. ``run.log(metrics, reduce="mean")`` on *every* rank combines the
  numeric values of all ranks on rank 0 (one ``all_reduce`` of one packed tensor
  per call; gloo on CPU, nccl on GPU), so the run shows all processes' data.
* ``"group"``: every rank makes its own run in one group whose name all ranks
  agree on (rank 0 picks ``ddp-<random>`` and broadcasts it), named ``...-rank-N``.

Rules for ``reduce=`` (it is a collective call, like ``dist.all_reduce``):

* every rank makes the same ``run.log(..., reduce=...)`` calls, in the same order,
  with the same ``reduce``; a rank that skips one makes the others wait until the
  process group's timeout (``init_process_group(timeout=...)``);
* every rank logs the same *set* of numeric keys (the order of keys does not
  matter: they are sorted). A differing set raises ``NbwandbError`` on every rank,
  naming the keys of each rank; nothing already logged is lost;
* values that are not numbers (``wandb.Image``, bools, None) are not combined:
  rank 0's own value is logged.

``run.finish()`` waits for all ranks (a barrier bounded by ``timeout``), so a dead
rank never hangs the others for ever. Under torchrun a failing rank makes the agent
send SIGTERM to the others; a run started here then finishes with exit code 143
(recorded as failed) instead of vanishing half-written.

Several machines: run the same ``torchrun`` command on each node with
``--nnodes=2 --node_rank=K --rdzv_backend=c10d --rdzv_endpoint=HOST:PORT
--rdzv_id=JOB`` (see ``docs/distributed.md``); nothing changes here.

Modules: ``ranks`` (where this process stands), ``reduction`` (collectives),
``handles`` (the run handles, which subclass ``nbwandb.run.run.Run``) and
``launcher`` (``nbwandb.launch``: a torchrun job from a notebook).

>>> rank_info().world_size >= 1
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbwandb._lazy import lazy_getattr
from nbwandb.distributed.launcher import LaunchResult, launch, torchrun_command
from nbwandb.distributed.ranks import RankInfo, is_main_process, rank_info
from nbwandb.distributed.reduction import REDUCE_OPS, reduce_metrics, wait_for_all_ranks

if TYPE_CHECKING:  # pragma: no cover
    from nbwandb.run.distributed import (
        GROUP_ENV,
        DistributedRun,
        FollowerRun,
        agree_on_group,
        group_identity,
    )

# The run handles (``nbwandb.run.distributed``) sit a layer above this package: they subclass
# ``Run``, which uses ``reduction``. They are re-exported by name and loaded on first use.
_FROM_HANDLES = ("GROUP_ENV", "DistributedRun", "FollowerRun", "agree_on_group", "group_identity")

__all__ = [
    "GROUP_ENV",
    "REDUCE_OPS",
    "DistributedRun",
    "FollowerRun",
    "LaunchResult",
    "RankInfo",
    "agree_on_group",
    "group_identity",
    "is_main_process",
    "launch",
    "rank_info",
    "reduce_metrics",
    "torchrun_command",
    "wait_for_all_ranks",
]


__getattr__ = lazy_getattr(
    __name__, {name: ("nbwandb.run.distributed", name) for name in _FROM_HANDLES}, globals()
)
