"""Line charts of one or more runs: a line per run (its raw values faint under a smoothed copy),
one chart per key, a section of charts sharing one x-range.

The drawing behind ``nbwandb.show`` and the RunPanel. Callers hand in numbers (each run's
``(xs, ys)`` of a key); nothing here reads a run. Standard library only.

>>> lines = smoothed_lines([0, 1, 2], [1.0, 0.0, 0.0], 0.5, label="a")
>>> [line.faint for line in lines], [round(y, 3) for _, y in lines[1].points]
([True, False], [1.0, 0.333, 0.143])
>>> chart = section_chart("train", {"train/loss": [("a", [0, 1], [1.0, 0.5])]}, smoothing=0)
>>> chart.keys, "<polyline" in chart.html()
(['train/loss'], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nbwandb.render.chart_data import downsample, smooth_ema, x_extent
from nbwandb.render.svg_charts import COLORS, Line, line_chart_svg

# One run's points of one key: its label (the run's name), then xs and ys.
RunPoints = tuple[str, Sequence[float], Sequence[float]]


@dataclass
class Chart:
    """One rendered section: its keys and one SVG line chart per key (sharing the x-range)."""

    section: str
    keys: list[str]
    svgs: list[str]

    def html(self) -> str:
        return (
            "<div class='charts'>"
            + "".join(f"<div class='chart'>{svg}</div>" for svg in self.svgs)
            + "</div>"
        )


def smoothed_lines(
    xs: Sequence[float],
    ys: Sequence[float],
    smoothing: float,
    *,
    label: str = "",
    color: str = COLORS[0],
    max_points: int = 0,
    finite: bool = False,
) -> list[Line]:
    """The line of one series: with ``smoothing`` in (0, 1), W&B's debiased moving average
    over the raw values drawn faint (a single point has nothing to smooth). ``max_points``
    (0: all) keeps each bucket's min and max; the average is taken over every point first.
    ``finite=True``: the values are known to be finite (a live ``Series`` drops the others).
    """
    if smoothing > 0 and len(ys) > 1:
        rx, ry = downsample(xs, ys, max_points)
        sx, sy = downsample(xs, smooth_ema(ys, smoothing), max_points)
        return [
            Line(list(zip(rx, ry, strict=True)), label, color, faint=True, finite=finite),
            Line(list(zip(sx, sy, strict=True)), label, color, finite=finite),
        ]
    dx, dy = downsample(xs, ys, max_points)
    return [Line(list(zip(dx, dy, strict=True)), label, color, finite=finite)]


def section_chart(
    section: str,
    points: Mapping[str, Sequence[RunPoints]],
    *,
    smoothing: float,
    max_points: int = 0,
    x_range: tuple[float, float] | None = None,
    x_label: str = "step",
    last: Mapping[str, float] | None = None,
) -> Chart:
    """The charts of one section: for each key of ``points``, a line per run (a run keeps its
    colour, ``COLORS[i]``, in every chart, also where it lacks a key).

    ``x_range``: the range every section shares; None: this section's own. ``last``: the
    value put in a chart's title (one run's summary).
    """
    if x_range is None:
        x_range = x_extent(xs for runs in points.values() for _, xs, _ in runs)
    svgs = []
    for key, runs in points.items():
        lines = [
            line
            for i, (label, xs, ys) in enumerate(runs)
            if len(xs)
            for line in smoothed_lines(
                xs,
                ys,
                smoothing,
                label=label,
                color=COLORS[i % len(COLORS)],
                max_points=max_points,
            )
        ]
        value = (last or {}).get(key)
        svgs.append(line_chart_svg(key, lines, last=value, x_range=x_range, x_label=x_label))
    return Chart(section, list(points), svgs)


__all__ = ["Chart", "RunPoints", "section_chart", "smoothed_lines"]
