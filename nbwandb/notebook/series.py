"""Bounded, downsampled buffers of (step, value) points for live charts.

A run that logs a million steps keeps at most ``capacity`` points per series:
when the buffer is full, neighbouring points are averaged in pairs and each later
point stands for twice as many raw samples. Appending is O(1) amortised, memory
stays flat, and the chart still spans the whole run.

>>> s = Series(capacity=4)
>>> for step in range(10):
...     s.append(step, float(step))
>>> len(s.points()) <= 5, s.last, s.count
(True, 9.0, 10)
"""

from __future__ import annotations

import math
import threading


class Series:
    """One metric's points, averaged into buckets of ``stride`` raw samples."""

    __slots__ = (
        "_acc_n",
        "_acc_x",
        "_acc_y",
        "_lock",
        "_stride",
        "_xs",
        "_ys",
        "capacity",
        "count",
        "high",
        "last",
        "last_step",
        "low",
    )

    def __init__(self, capacity: int = 256) -> None:
        if not isinstance(capacity, int) or capacity < 4:
            raise ValueError(f"capacity={capacity!r} is not accepted; use an int >= 4")
        self.capacity = capacity
        self._xs: list[float] = []
        self._ys: list[float] = []
        self._stride = 1
        self._acc_x = 0.0
        self._acc_y = 0.0
        self._acc_n = 0
        self.last: float | None = None
        self.last_step: float | None = None
        self.count = 0
        self.low = math.inf
        self.high = -math.inf
        # The writer thread appends while the redraw thread reads.
        self._lock = threading.Lock()

    def append(self, step: float, value: float) -> None:
        with self._lock:
            self.last, self.last_step = value, step
            self.count += 1
            if not math.isfinite(value):
                return  # shown as the last value, but it would break the chart's scale
            self.low = min(self.low, value)
            self.high = max(self.high, value)
            self._acc_x += step
            self._acc_y += value
            self._acc_n += 1
            if self._acc_n < self._stride:
                return
            self._xs.append(self._acc_x / self._acc_n)
            self._ys.append(self._acc_y / self._acc_n)
            self._acc_x = self._acc_y = 0.0
            self._acc_n = 0
            if len(self._xs) >= self.capacity:
                self._halve()

    def _halve(self) -> None:
        xs, ys = self._xs, self._ys
        self._xs = [(xs[i] + xs[i + 1]) / 2 for i in range(0, len(xs) - 1, 2)]
        self._ys = [(ys[i] + ys[i + 1]) / 2 for i in range(0, len(ys) - 1, 2)]
        if len(xs) % 2:
            self._xs.append(xs[-1])
            self._ys.append(ys[-1])
        self._stride *= 2

    def points(self) -> list[tuple[float, float]]:
        """The buffered points plus the partly filled bucket (so the line reaches the latest step)."""
        with self._lock:
            pts = list(zip(self._xs, self._ys, strict=True))
            if self._acc_n:
                pts.append((self._acc_x / self._acc_n, self._acc_y / self._acc_n))
            return pts

    def __len__(self) -> int:
        return len(self._xs) + (1 if self._acc_n else 0)
