"""Metric series out of history rows: x/y arrays, EMA smoothing, downsampling, sections.

>>> xs, ys = metric_series(nbwandb.local.read_run(run_dir).history, "train/loss", "global_step")
>>> xs[:3], ys[:2]
([0.0, 1.0, 2.0], [1.0, 0.5])
>>> [round(v, 3) for v in smooth_ema([1.0, 0.0, 0.0], 0.5)]
[1.0, 0.333, 0.143]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def step_key(histories: Iterable[Sequence[dict[str, Any]]], preferred: str = "global_step") -> str:
    """``preferred`` (``global_step``) when any row has it, else wandb's ``_step``."""
    for history in histories:
        for row in history:
            if preferred in row:
                return preferred
    return "_step"


def metric_series(
    history: Sequence[dict[str, Any]], key: str, x_key: str = "_step"
) -> tuple[list[float], list[float]]:
    """The (x, y) points of ``key``: rows without a numeric value are skipped;
    rows without ``x_key`` fall back to their ``_step``."""
    xs: list[float] = []
    ys: list[float] = []
    for row in history:
        y = row.get(key)
        if y is None:
            continue
        y = _number(y)
        if y is None:
            continue
        x = _number(row.get(x_key, row.get("_step")))
        if x is None:
            continue
        xs.append(x)
        ys.append(y)
    return xs, ys


def smooth_ema(values: Sequence[float], weight: float) -> list[float]:
    """Debiased exponential moving average (what the W&B and TensorBoard sliders do).

    ``weight`` in [0, 1): 0 returns the values unchanged. Non-finite values are
    passed through without entering the average.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing={weight!r} is not accepted; use a number in [0, 1)")
    if weight == 0.0:
        return list(values)
    out: list[float] = []
    last = 0.0
    n = 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1.0 - weight) * v
        out.append(last / (1.0 - weight**n))
    return out


def downsample(
    xs: Sequence[float], ys: Sequence[float], max_points: int
) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points, keeping each bucket's min and max (spikes stay visible)."""
    n = len(xs)
    if max_points <= 0 or n <= max_points:
        return list(xs), list(ys)
    buckets = max(1, max_points // 2)
    size = n / buckets
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo, hi = int(b * size), min(n, int((b + 1) * size))
        if lo >= hi:
            continue
        seg = range(lo, hi)
        i_min = min(seg, key=ys.__getitem__)
        i_max = max(seg, key=ys.__getitem__)
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    if out_x[-1] != xs[-1]:
        out_x.append(xs[-1])
        out_y.append(ys[-1])
    return out_x, out_y


def section_of(key: str) -> str:
    """W&B groups charts by the prefix before the first ``/``; others go to "charts"."""
    return key.split("/", 1)[0] if "/" in key else "charts"


def x_extent(xs_lists: Iterable[Sequence[float]]) -> tuple[float, float] | None:
    """``(lowest, highest)`` x over every non-empty list; None when all are empty.

    >>> x_extent([[3.0, 5.0], [], [1.0, 2.0]])
    (1.0, 5.0)
    """
    lows, highs = [], []
    for xs in xs_lists:
        if len(xs):
            lows.append(min(xs))
            highs.append(max(xs))
    return (min(lows), max(highs)) if lows else None


def chart_sections(keys: Iterable[str]) -> dict[str, list[str]]:
    """Which sections, in which order, holding which keys: train, val, the other prefixes by
    name, then "charts" (keys without a prefix); in a section, keys in the order given.

    >>> chart_sections(["lr", "val/loss", "train/loss", "train/acc"])
    {'train': ['train/loss', 'train/acc'], 'val': ['val/loss'], 'charts': ['lr']}
    """
    sections: dict[str, list[str]] = {}
    for key in sorted(keys, key=lambda k: section_order(section_of(k))):  # stable: keeps order
        sections.setdefault(section_of(key), []).append(key)
    return sections


def section_order(name: str) -> tuple[int, str]:
    """Sort key for sections: train, then val, then the other prefixes by name, then "charts"."""
    rank = {"train": 0, "val": 1, "validation": 1, "eval": 2, "test": 2}.get(
        name, 4 if name == "charts" else 3
    )
    return rank, name
