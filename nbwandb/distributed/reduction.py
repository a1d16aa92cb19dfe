"""Collectives over all ranks: ``reduce_metrics`` (``run.log(..., reduce=...)``) and a bounded barrier.

This module knows nothing of run handles, so ``nbwandb.run.run`` imports it directly.
"""

from __future__ import annotations

import functools
import sys
import warnings
import zlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from nbwandb.distributed.ranks import torch_dist
from nbwandb.errors import NbwandbError, NbwandbWarning
from nbwandb.values.metrics import is_number

REDUCE_OPS = ("mean", "sum", "max", "min")

# The first packet of a reduction has a fixed length, so every rank sends the same
# shape even when their key sets differ (a shape mismatch would hang or corrupt the
# collective). Up to _FIRST_SLOTS values travel with the key check in ONE all_reduce;
# more values follow in a second one, once all ranks know the count matches.
_FIRST_SLOTS = 32
_HEADER = 6  # two 16-bit halves of the key signature and the key count, each twice


def _check_reduce(reduce: Any) -> str:
    if reduce not in REDUCE_OPS:
        raise ValueError(
            f"reduce={reduce!r} is not accepted; use 'mean', 'sum', 'max', 'min' or None"
        )
    return str(reduce)


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
    dist = torch_dist()
    if dist is None:
        return row
    torch = sys.modules["torch"]
    keys = sorted(k for k, v in row.items() if is_number(v))
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


def wait_for_all_ranks(timeout: float = 60.0) -> bool:
    """A barrier over all ranks that gives up after ``timeout`` seconds; False then.

    Without an initialised process group it returns True at once.
    """
    dist = torch_dist()
    if dist is None or dist.get_world_size() < 2:
        return True
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
