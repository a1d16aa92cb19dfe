"""Which process this is: rank, world size and local rank, from torch.distributed or the launcher's variables.

>>> rank_info().world_size >= 1
True
>>> is_main_process()
True
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

# (rank variable, world-size variable, local-rank variable, who sets them)
_ENV_SOURCES = (
    ("RANK", "WORLD_SIZE", "LOCAL_RANK", "torchrun"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "Open MPI"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPICH/Intel MPI"),
)


@dataclass(frozen=True)
class RankInfo:
    """Where this process stands: ``rank`` of ``world_size``, and which source said so."""

    rank: int
    world_size: int
    local_rank: int
    source: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def torch_dist() -> Any:
    # Only look at torch.distributed if torch is already loaded: never import torch here.
    if "torch" not in sys.modules:
        return None
    dist = getattr(sys.modules["torch"], "distributed", None)
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist
    return None


def _env_int(name: str, default: int | None = None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"environment variable {name}={raw!r} is not accepted; a rank or world size must be "
            "an integer (it is set by torchrun, SLURM or MPI: unset it if it is stale)"
        ) from None


def rank_info() -> RankInfo:
    """This process's rank: an initialised torch.distributed group first, then env variables.

    Env variables are tried in order: ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (torchrun,
    accelerate, deepspeed), ``SLURM_PROCID``, ``OMPI_COMM_WORLD_RANK``, ``PMI_RANK``.

    >>> rank_info()   # under torchrun: RankInfo(rank=1, world_size=2, ..., source='torch.distributed')
    RankInfo(rank=0, world_size=1, local_rank=0, source='single process')
    """
    dist = torch_dist()
    if dist is not None:
        local = _env_int("LOCAL_RANK", None)
        if local is None:
            local = dist.get_rank()  # single node without the variable: the best guess
        return RankInfo(dist.get_rank(), dist.get_world_size(), local, "torch.distributed")
    for rank_var, world_var, local_var, who in _ENV_SOURCES:
        rank = _env_int(rank_var)
        if rank is None:
            continue
        world = _env_int(world_var, 1)
        assert world is not None
        if rank < 0 or world < 1 or rank >= world:
            raise ValueError(
                f"environment variables {rank_var}={rank} and {world_var}={world} are not accepted; "
                "a rank must be in 0..world size-1 (they are set by the launcher: unset stale ones)"
            )
        local = _env_int(local_var, None)
        return RankInfo(rank, world, rank if local is None else local, f"{rank_var} ({who})")
    return RankInfo(0, 1, 0, "single process")


def is_main_process() -> bool:
    """True on rank 0 (or when not distributed): the process that should log and save."""
    return rank_info().is_main
