"""Sampled series: per key, the min, max and last point of each bucket over the step axis.

Buckets are ``width`` steps wide (a power of two); when a key's points span more than
``buckets`` of them, the width doubles and the kept points are reduced again. Because the
min of mins is the min (and so for max and last), reducing the kept points gives the
same result as reducing every point: a run is sampled a window at a time, and a run file
that grew adds its new rows to the sample it had. Spikes stay visible, as in W&B's
sampled history.

>>> s = SampledSeries(buckets=4)
>>> xs = np.arange(16.0); s.add("loss", xs, np.where(xs == 5, 9.0, 1.0), np.arange(16))
>>> px, py, _ = s.points()["loss"]
>>> 9.0 in py.tolist(), len(px) <= 3 * 4
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def reduce_buckets(
    xs: np.ndarray, ys: np.ndarray, seq: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep, per bucket ``floor(x / width)``, the point of least y, of greatest y, and the
    last one written (greatest ``seq``), and the points of least and greatest x; returned
    in step order (then write order).

    >>> reduce_buckets(np.array([0., 1, 2, 3]), np.array([5., 1, 7, 2]), np.arange(4), 4.0)[1].tolist()
    [5.0, 1.0, 7.0, 2.0]
    """
    if not len(xs):
        return xs, ys, seq
    idx = np.floor(xs / width)
    by_y = np.lexsort((seq, ys, idx))  # within a bucket: by y, ties by write order
    sorted_idx = idx[by_y]
    edge = sorted_idx[1:] != sorted_idx[:-1]
    firsts = by_y[np.concatenate(([True], edge))]
    lasts = by_y[np.concatenate((edge, [True]))]
    by_seq = np.lexsort((seq, idx))
    seq_idx = idx[by_seq]
    latest = by_seq[np.concatenate((seq_idx[1:] != seq_idx[:-1], [True]))]
    # the first and last step of all stay too: charts span the run's whole x-range
    ends = np.array([np.argmin(xs), np.argmax(xs)])
    keep = np.unique(np.concatenate((firsts, lasts, latest, ends)))
    order = keep[np.lexsort((seq[keep], xs[keep]))]
    return xs[order], ys[order], seq[order]


class SampledSeries:
    """The sampled points of many keys, fed a window of rows at a time."""

    def __init__(self, buckets: int = 1024) -> None:
        if buckets < 2:
            raise ValueError(f"buckets={buckets!r} is not accepted; use an int >= 2")
        self.buckets = buckets
        self._points: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._width: dict[str, float] = {}

    def add(self, key: str, xs: np.ndarray, ys: np.ndarray, seq: np.ndarray) -> None:
        """Add points (non-finite x or y are left out: they would break a chart's scale)."""
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            return
        xs, ys, seq = xs[ok], ys[ok], seq[ok]
        old = self._points.get(key)
        if old is not None:
            xs = np.concatenate((old[0], xs))
            ys = np.concatenate((old[1], ys))
            seq = np.concatenate((old[2], seq))
        width = self._width.get(key, 1.0)
        while np.floor(xs.max() / width) - np.floor(xs.min() / width) >= self.buckets:
            width *= 2.0
        self._width[key] = width
        self._points[key] = reduce_buckets(xs, ys, seq, width)

    def points(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``key -> (xs, ys, seq)``: the kept points in step order."""
        return dict(self._points)

    def state(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "width": dict(self._width)}

    def load(
        self, state: dict[str, Any], points: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        """Go on from a cache's sample (its bucket widths and kept points)."""
        self.buckets = int(state["buckets"])
        self._width = {k: float(v) for k, v in state["width"].items()}
        self._points = {
            k: (np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(q, np.int64))
            for k, (x, y, q) in points.items()
        }
