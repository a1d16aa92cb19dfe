"""Rank detection for distributed training.

>>> rank_info().world_size >= 1
True
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

_RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_WORLD_VARS = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


@dataclass(frozen=True)
class RankInfo:
    rank: int
    world_size: int
    local_rank: int
    source: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _torch_dist() -> Any:
    # Only look at torch.distributed if torch is already loaded: never import torch here.
    if "torch" not in sys.modules:
        return None
    dist = getattr(sys.modules["torch"], "distributed", None)
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist
    return None


def rank_info() -> RankInfo:
    """This process's rank: an initialised torch.distributed group first, then env variables."""
    dist = _torch_dist()
    local = int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0")) or 0)
    if dist is not None:
        return RankInfo(dist.get_rank(), dist.get_world_size(), local, "torch.distributed")
    for rank_var, world_var in zip(_RANK_VARS, _WORLD_VARS):
        if rank_var in os.environ:
            world = int(os.environ.get(world_var, "1") or 1)
            return RankInfo(int(os.environ[rank_var]), world, local, rank_var)
    return RankInfo(0, 1, 0, "single process")


def is_main_process() -> bool:
    """True on rank 0 (or when not distributed)."""
    return rank_info().is_main


def reduce_metrics(row: dict[str, Any], reduce: str) -> dict[str, Any]:
    """Combine numeric values over ranks; a no-op outside torch.distributed."""
    if reduce not in ("mean", "sum", "max", "min"):
        raise ValueError(f"reduce={reduce!r} is not accepted; use 'mean', 'sum', 'max', 'min' or None")
    dist = _torch_dist()
    if dist is None:
        return row
    raise NotImplementedError("distributed reduction is not implemented yet")
