"""Small SVG line charts: cheap to build (no matplotlib), crisp at any zoom, no JavaScript.

>>> svg = line_chart_svg("train/loss", [(0, 1.0), (1, 0.5), (2, 0.25)])
>>> "<polyline" in svg and 'data-points="3"' in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._html import escape

CHART_CLASS = "nbwandb-chart"
WIDTH, HEIGHT = 300, 150
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 48, 10, 24, 20


def format_value(value: float | None) -> str:
    """A short number for labels: 4 significant digits, scientific when very small or large."""
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


def line_chart_svg(title: str, points: Sequence[tuple[float, float]], *, last: float | None = None,
                   width: int = WIDTH, height: int = HEIGHT) -> str:
    """An SVG chart of ``points`` (step, value) titled ``title``, with min/max and last value."""
    inner_w = width - _PAD_LEFT - _PAD_RIGHT
    inner_h = height - _PAD_TOP - _PAD_BOTTOM
    parts = [
        f'<svg class="nbwandb-chart-svg" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" data-points="{len(points)}" '
        f'data-title="{escape(title)}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white" stroke="#ddd"/>',
        f'<text x="6" y="15" font-size="12" font-family="sans-serif" fill="#333">{escape(title)}'
        f'<tspan fill="#888"> {escape(format_value(last))}</tspan></text>',
    ]
    if points:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5

        def sx(x: float) -> float:
            return _PAD_LEFT + (x - x0) / (x1 - x0) * inner_w

        def sy(y: float) -> float:
            return _PAD_TOP + (1 - (y - y0) / (y1 - y0)) * inner_h

        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        parts += [
            f'<line x1="{_PAD_LEFT}" y1="{_PAD_TOP + inner_h}" x2="{width - _PAD_RIGHT}" '
            f'y2="{_PAD_TOP + inner_h}" stroke="#bbb"/>',
            f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + 8}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif" fill="#666">{escape(format_value(y1))}</text>',
            f'<text x="{_PAD_LEFT - 4}" y="{_PAD_TOP + inner_h}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif" fill="#666">{escape(format_value(y0))}</text>',
            f'<text x="{_PAD_LEFT}" y="{height - 5}" font-size="10" font-family="sans-serif" '
            f'fill="#666">{escape(format_value(x0))}</text>',
            f'<text x="{width - _PAD_RIGHT}" y="{height - 5}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif" fill="#666">{escape(format_value(x1))}</text>',
            f'<polyline class="nbwandb-chart-line" fill="none" stroke="#1f77b4" stroke-width="1.5" '
            f'points="{coords}"/>',
        ]
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#1f77b4"/>')
    else:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" font-size="11" text-anchor="middle" '
                     f'font-family="sans-serif" fill="#999">no points yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def chart_html(title: str, points: Sequence[tuple[float, float]], *, last: float | None = None) -> str:
    """The chart wrapped in a ``div.nbwandb-chart`` (for the static text/html form)."""
    return f'<div class="{CHART_CLASS}" style="display:inline-block;margin:2px">' \
           f"{line_chart_svg(title, points, last=last)}</div>"
