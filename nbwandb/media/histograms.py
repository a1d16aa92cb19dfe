"""Histograms of tensors, arrays or lists (weights, gradients, activations).

The counts are computed here with numpy in one pass (any shape is flattened) and handed
to wandb as ``np_histogram``.

>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_histogram("grads/fc1", np.random.randn(1000), bins=64, step=0)
>>> entry = nbwandb.local.read_run(run).media[0]
>>> entry["type"], len(entry["values"])
('histogram', 64)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..handle import RunHandle
from ..metrics import join_key
from .arrays import MediaError, check_numeric, describe, positive_int, to_numpy, wandb_module

HISTOGRAM_ACCEPTED = "a non-empty tensor, array or list of finite numbers (any shape)"
MAX_BINS = 512  # wandb.Histogram's limit


def histogram_counts(
    x: Any, *, bins: int = 64, key: str = "histogram"
) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)`` of the flattened finite values.

    >>> histogram_counts([1, 2, 2, 3], bins=3, key="h")[0].tolist()
    [1, 2, 1]
    """
    bins = positive_int(bins, name="bins", what="histogram", key=key, upper=MAX_BINS)
    arr = to_numpy(x, key=key, what="histogram", accepted=HISTOGRAM_ACCEPTED)
    check_numeric(arr, key=key, what="histogram", accepted=HISTOGRAM_ACCEPTED, original=x)
    if arr.size == 0:
        raise MediaError(
            f"histogram {key!r}: got {describe(x)} with no values; accepted: {HISTOGRAM_ACCEPTED}"
        )
    counts, edges = np.histogram(arr.reshape(-1).astype(np.float64), bins=bins)
    return counts, edges


def log_histogram(
    run: RunHandle,
    key: str,
    values: Any,
    *,
    bins: int = 64,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log the distribution of ``values`` with ``bins`` bins (1..512)."""
    counts, edges = histogram_counts(values, bins=bins, key=join_key(prefix, key))
    run.log(
        {key: wandb_module().Histogram(np_histogram=(counts, edges), num_bins=bins)},
        step=step,
        prefix=prefix,
    )
