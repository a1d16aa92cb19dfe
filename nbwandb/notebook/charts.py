"""The RunPanel's charts: ``nbwandb.render.svg_charts`` (shared with the dashboard) for one series.

>>> svg = line_chart_svg("train/loss", [(0, 1.0), (1, 0.5), (2, 0.25)])
>>> "<polyline" in svg and 'data-points="3"' in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbwandb.render.charts import smoothed_lines
from nbwandb.render.svg_charts import HEIGHT, WIDTH, format_value
from nbwandb.render.svg_charts import line_chart_svg as _svg

CHART_CLASS = "nbwandb-chart"

__all__ = [
    "CHART_CLASS",
    "HEIGHT",
    "WIDTH",
    "chart_div",
    "chart_html",
    "format_value",
    "line_chart_svg",
]


def line_chart_svg(
    title: str,
    points: Sequence[tuple[float, float]],
    *,
    last: float | None = None,
    x_range: tuple[float, float] | None = None,
    log_y: bool = False,
    smoothing: float = 0.0,
    finite: bool = False,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """An SVG chart of one series of (step, value) ``points``, the ``last`` value in its title.

    ``smoothing`` in [0, 1) draws W&B's debiased moving average over the raw values (faint);
    ``finite=True`` skips the check for NaN and inf (a ``Series`` keeps only finite values).
    """
    xs, ys = [x for x, _ in points], [y for _, y in points]
    lines = smoothed_lines(xs, ys, smoothing, finite=finite)
    return _svg(title, lines, last=last, x_range=x_range, log_y=log_y, width=width, height=height)


def chart_html(title: str, points: Sequence[tuple[float, float]], **options: Any) -> str:
    """``line_chart_svg(title, points, **options)`` in a ``div.nbwandb-chart`` (static text/html)."""
    return chart_div(line_chart_svg(title, points, **options))


def chart_div(svg: str) -> str:
    """A drawn chart as the static HTML shows it: what the widget form's chart holds, in a
    ``div.nbwandb-chart`` (the class the widget's chart has)."""
    return f'<div class="{CHART_CLASS}" style="display:inline-block;margin:2px">{svg}</div>'
