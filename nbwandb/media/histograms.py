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

from nbwandb.media.arrays import (
    MediaError,
    check_numeric,
    describe,
    positive_int,
    to_numpy,
    wandb_module,
)
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key

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
    flat = arr.reshape(-1).astype(np.float64)
    if not np.isfinite(float(flat.max()) - float(flat.min())):
        # max - min overflows float64 (-1.7e308 and 1.7e308): bin the halves (exact), then
        # double the edges, so the counts are those of the values themselves
        counts, edges = np.histogram(flat / 2, bins=bins)
        return counts, edges * 2
    return np.histogram(flat, bins=bins, range=_bin_range(flat, bins))  # type: ignore[no-any-return]


def _bin_range(flat: np.ndarray, bins: int) -> tuple[float, float] | None:
    """numpy's own range (None), unless it leaves no room for ``bins`` distinct edges.

    Near one large value (a constant 4.5e15: numpy takes 4.5e15 +- 0.5) the float64s
    between min and max are too few; numpy 2.1 then fails with an IndexError, 2.4 with
    "Too many bins for data range". Widen the range around its middle to 8 units in the
    last place per bin.

    >>> _bin_range(np.array([4.5e15]), 64)
    (4499999999999872.0, 4500000000000128.0)
    >>> _bin_range(np.array([0.0, 1.0]), 64) is None
    True
    """
    lo, hi = float(flat.min()), float(flat.max())
    width = hi - lo if hi > lo else 1.0  # numpy spreads a constant over +-0.5
    room = 4 * bins * float(np.spacing(max(abs(lo), abs(hi))))
    if width >= 2 * room:
        return None
    mid = lo / 2 + hi / 2
    return mid - room, mid + room


def log_histogram(
    run: RunHandle,
    key: str,
    values: Any,
    *,
    bins: int = 64,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log the distribution of ``values`` with ``bins`` bins (1..512).

    Raises:
        MediaError: (also a ValueError) no finite values, or ``bins`` outside 1..512.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        RunFinishedError: the run has finished.
    """
    counts, edges = histogram_counts(values, bins=bins, key=join_key(prefix, key))
    run.log(
        {key: wandb_module().Histogram(np_histogram=(counts, edges), num_bins=bins)},
        step=step,
        prefix=prefix,
    )
