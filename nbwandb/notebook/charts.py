"""The RunPanel's charts: ``nbwandb.render.svg_charts`` (shared with the dashboard) for one series.

>>> svg = line_chart_svg("train/loss", [(0, 1.0), (1, 0.5), (2, 0.25)])
>>> "<polyline" in svg and 'data-points="3"' in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbwandb.render.chart_data import smooth_ema
from nbwandb.render.svg_charts import HEIGHT, WIDTH, Line, format_value
from nbwandb.render.svg_charts import line_chart_svg as _svg

CHART_CLASS = "nbwandb-chart"

__all__ = ["CHART_CLASS", "HEIGHT", "WIDTH", "chart_html", "format_value", "line_chart_svg"]


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
    lines = [Line(points, finite=finite)]
    if smoothing > 0 and len(points) > 1:
        smoothed = smooth_ema([y for _, y in points], smoothing)
        lines = [
            Line(points, faint=True, finite=finite),
            Line(list(zip([x for x, _ in points], smoothed, strict=True))),
        ]
    return _svg(title, lines, last=last, x_range=x_range, log_y=log_y, width=width, height=height)


def chart_html(title: str, points: Sequence[tuple[float, float]], **options: Any) -> str:
    """``line_chart_svg(title, points, **options)`` in a ``div.nbwandb-chart`` (static text/html)."""
    svg = line_chart_svg(title, points, **options)
    return f'<div class="{CHART_CLASS}" style="display:inline-block;margin:2px">{svg}</div>'
