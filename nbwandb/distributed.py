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

>>> rank_info().world_size >= 1
True
>>> is_main_process()
True
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import sys
import threading
import warnings
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import NbwandbError, RunFinishedError
from .metrics import convert_metric, flatten_metrics
from .run import NbwandbWarning, NoOpRun, Run

REDUCE_OPS = ("mean", "sum", "max", "min")
GROUP_ENV = "NBWANDB_GROUP"

# (rank variable, world-size variable, local-rank variable, who sets them)
_ENV_SOURCES = (
    ("RANK", "WORLD_SIZE", "LOCAL_RANK", "torchrun"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "Open MPI"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPICH/Intel MPI"),
)

# The first packet of a reduction has a fixed length, so every rank sends the same
# shape even when their key sets differ (a shape mismatch would hang or corrupt the
# collective). Up to _FIRST_SLOTS values travel with the key check in ONE all_reduce;
# more values follow in a second one, once all ranks know the count matches.
_FIRST_SLOTS = 32
_HEADER = 6  # two 16-bit halves of the key signature and the key count, each twice


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


def _torch_dist() -> Any:
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

    >>> rank_info()   # doctest: +SKIP
    RankInfo(rank=1, world_size=2, local_rank=1, source='torch.distributed')
    """
    dist = _torch_dist()
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


# -- reduction ----------------------------------------------------------------------------


def _check_reduce(reduce: Any) -> str:
    if reduce not in REDUCE_OPS:
        raise ValueError(
            f"reduce={reduce!r} is not accepted; use 'mean', 'sum', 'max', 'min' or None"
        )
    return str(reduce)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@functools.lru_cache(maxsize=256)
def _signature(keys: tuple[str, ...], reduce: str) -> tuple[int, int, int]:
    # crc32, not hash(): str hashes differ between processes (PYTHONHASHSEED).
    crc = zlib.crc32("\0".join((reduce, *keys)).encode())
    return crc >> 16, crc & 0xFFFF, len(keys)


def _device(dist: Any, torch: Any) -> Any:
    backend = str(dist.get_backend())
    if backend == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    if backend == "xccl":
        return torch.device("xpu", torch.xpu.current_device())
    return torch.device("cpu")  # gloo, mpi, and "cpu:gloo,cuda:nccl" take CPU tensors


def _header(sig: tuple[int, int, int], reduce: str) -> list[float]:
    # After the reduction every rank sees the same header, so all decide alike:
    # with MAX/MIN, (v, -v) gives the largest and smallest v; with SUM, (v, v*v) gives
    # sums whose Cauchy-Schwarz equality W*sum(v*v) == sum(v)**2 holds only if all v agree.
    # Every number is an integer < 2**53 for any sane world size, so floats stay exact.
    if reduce in ("max", "min"):
        return [float(x) for v in sig for x in (v, -v)]
    return [float(x) for v in sig for x in (v, v * v)]


def _header_agrees(header: Sequence[float], reduce: str, world: int) -> bool:
    values = [int(x) for x in header]
    pairs = list(zip(values[0::2], values[1::2], strict=True))
    if reduce == "max":
        return all(a == -b for a, b in pairs)
    if reduce == "min":
        return all(-a == b for a, b in pairs)
    return all(world * sq == s * s for s, sq in pairs)


def _mismatch_error(dist: Any, keys: list[str], reduce: str) -> NbwandbError:
    # Rare path: gather every rank's keys so the message can say what differs.
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, (keys, reduce))
    common = set(gathered[0][0]).intersection(*(set(k) for k, _ in gathered))
    lines = []
    for rank, (rank_keys, rank_reduce) in enumerate(gathered):
        extra = sorted(set(rank_keys) - common)
        lines.append(
            f"rank {rank}: reduce={rank_reduce!r}, {len(rank_keys)} numeric keys"
            + (f", only here: {extra}" if extra else "")
        )
    return NbwandbError(
        "run.log(..., reduce=...) needs the same numeric keys and the same reduce on every rank, "
        "but they differ (" + "; ".join(lines) + "). Log the same keys on all ranks "
        "(e.g. 0.0 for a missing value), or log rank-only keys with reduce=None on rank 0."
    )


def reduce_metrics(row: dict[str, Any], reduce: str) -> dict[str, Any]:
    """Combine the numeric values of ``row`` over all ranks; a no-op outside torch.distributed.

    Every rank must call it with the same numeric keys (any order) and the same
    ``reduce``. Every rank gets the combined row back; non-numeric values stay as given.

    >>> reduce_metrics({"loss": 0.5}, "mean")   # no process group: unchanged
    {'loss': 0.5}
    """
    reduce = _check_reduce(reduce)
    dist = _torch_dist()
    if dist is None:
        return row
    torch = sys.modules["torch"]
    keys = sorted(k for k, v in row.items() if _is_number(v))
    world = dist.get_world_size()
    op = {
        "mean": dist.ReduceOp.SUM,
        "sum": dist.ReduceOp.SUM,
        "max": dist.ReduceOp.MAX,
        "min": dist.ReduceOp.MIN,
    }[reduce]
    values = [float(row[k]) for k in keys]
    first = values[:_FIRST_SLOTS]
    packet = _header(_signature(tuple(keys), reduce), reduce) + first
    packet += [0.0] * (_HEADER + _FIRST_SLOTS - len(packet))
    device = _device(dist, torch)
    tensor = torch.tensor(packet, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=op)
    reduced = tensor.tolist()
    if not _header_agrees(reduced[:_HEADER], reduce, world):
        raise _mismatch_error(dist, keys, reduce)
    combined = reduced[_HEADER : _HEADER + len(first)]
    if len(values) > _FIRST_SLOTS:  # all ranks know the counts match, so all come here
        rest = torch.tensor(values[_FIRST_SLOTS:], dtype=torch.float64, device=device)
        dist.all_reduce(rest, op=op)
        combined += rest.tolist()
    out = dict(row)
    for key, value in zip(keys, combined, strict=True):
        if reduce == "mean":
            out[key] = value / world
        elif isinstance(row[key], int) and value.is_integer():
            out[key] = int(value)  # sum/max/min of ints stays an int
        else:
            out[key] = value
    return out


# -- barrier ------------------------------------------------------------------------------


def wait_for_all_ranks(timeout: float = 60.0) -> bool:
    """A barrier over all ranks that gives up after ``timeout`` seconds; False then.

    Without an initialised process group it returns True at once.
    """
    dist = _torch_dist()
    if dist is None or dist.get_world_size() < 2:
        return True
    from datetime import timedelta

    try:
        work = dist.barrier(async_op=True)
        work.wait(timeout=timedelta(seconds=timeout))
        return True
    except Exception as exc:  # a dead peer closes its socket, a slow one times out
        warnings.warn(
            f"rank {dist.get_rank()}: not every rank reached run.finish() within {timeout:g}s "
            f"({type(exc).__name__}: {str(exc)[:200]}); finishing anyway",
            NbwandbWarning,
            stacklevel=3,
        )
        return False


# -- handles --------------------------------------------------------------------------------


class FollowerRun(NoOpRun):
    """The handle of a non-main rank under ``distributed="main"``.

    It writes nothing and never imports wandb, but ``log(..., reduce=...)`` takes part
    in rank 0's reduction, and ``finish()`` waits (bounded) for the other ranks.
    Every other method (media, checkpoints, config) does nothing: rank 0 logs those.

    >>> run = nbwandb.init(project="ddp")          # doctest: +SKIP
    >>> run.log({"loss": loss.item()}, step=i, reduce="mean")   # doctest: +SKIP
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

    def log(
        self,
        metrics: Mapping[str, Any],
        *,
        step: int | None = None,
        prefix: str | None = None,
        reduce: str | None = None,
    ) -> None:
        """Join rank 0's reduction when ``reduce`` is given; otherwise do nothing."""
        if reduce is None:
            return
        if self.finished:
            raise RunFinishedError(f"run.log on rank {self.rank}: the run has finished")
        # The same checks as Run.log, before the collective: a row rank 0 rejects must be
        # rejected here too, or this rank would wait in a reduction rank 0 never joins.
        row = flatten_metrics(metrics, prefix)
        if self.step_metric in row:
            raise ValueError(
                f"metric key {self.step_metric!r} is the step key of this run; "
                f"pass the step as run.log(..., step=N) instead of as a metric"
            )
        reduce_metrics({k: convert_metric(k, v) for k, v in row.items()}, reduce)

    def finish(self, exit_code: int = 0, *, timeout: float = 60.0) -> None:
        """Wait (at most ``timeout`` s) for the other ranks, then end; safe to call twice."""
        if self.finished:
            return
        if exit_code == 0:
            wait_for_all_ranks(timeout)
        super().finish(exit_code, timeout=timeout)

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

    def finish(self, exit_code: int = 0, *, timeout: float = 60.0) -> None:
        if self.strategy == "main" and exit_code == 0 and not self.finished:
            # Only on success: a failing rank 0 must not wait for ranks it may have broken.
            wait_for_all_ranks(timeout)
        try:
            super().finish(exit_code, timeout=timeout)
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
    dist = _torch_dist()
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


def launch(
    script: str | os.PathLike[str], nproc: int = 2, args: Sequence[str] = (), **options: Any
) -> Any:
    """Run ``script`` under torchrun with ``nproc`` processes (see ``nbwandb.launch.launch``)."""
    from .launch import launch as _launch

    return _launch(script, nproc, args, **options)
