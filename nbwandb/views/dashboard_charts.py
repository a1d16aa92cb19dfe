"""The drawings of ``nbwandb.show``: one SVG line chart per metric, a PNG per histogram.

Runs keep one colour in every chart (``svg_charts.COLORS``, matplotlib's tab10).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from nbwandb.errors import require
from nbwandb.local.reader import LocalRun
from nbwandb.render.chart_data import downsample, metric_series, smooth_ema
from nbwandb.render.svg_charts import COLORS, Line, line_chart_svg


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


def run_points(run: LocalRun, key: str, step_metric: str) -> tuple[list[float], list[float]]:
    """``(xs, ys)`` of ``key`` in ``run``: every row's point when the rows are kept, else the
    sampled series of its cache (min, max and last per bucket of steps: spikes stay)."""
    if run.history or not run.steps:
        return metric_series(run.history, key, step_metric)
    xs, ys = run.sampled(key)
    return xs.tolist(), ys.tolist()


def draw_section(
    runs: Sequence[LocalRun],
    section: str,
    keys: list[str],
    *,
    step_metric: str,
    smoothing: float,
    max_points: int,
    x_range: tuple[float, float] | None = None,
) -> Chart:
    """SVG charts like the RunPanel's, one line per run, raw values faint under smoothed ones.

    ``x_range``: the x-range the charts share (``run_x_range``: every section the same);
    None: this section's own.
    """
    per_key: dict[str, list[Line]] = {}
    lows, highs = [], []
    for key in keys:
        lines = []
        for i, run in enumerate(runs):
            xs, ys = run_points(run, key, step_metric)
            if not xs:
                continue
            lows.append(min(xs))
            highs.append(max(xs))
            color = COLORS[i % len(COLORS)]
            if smoothing:
                rx, ry = downsample(xs, ys, max_points)
                sx, sy = downsample(xs, smooth_ema(ys, smoothing), max_points)
                lines.append(Line(list(zip(rx, ry, strict=True)), run.name, color, faint=True))
                lines.append(Line(list(zip(sx, sy, strict=True)), run.name, color))
            else:
                dx, dy = downsample(xs, ys, max_points)
                lines.append(Line(list(zip(dx, dy, strict=True)), run.name, color))
        per_key[key] = lines
    if x_range is None:
        x_range = (min(lows), max(highs)) if lows else None
    svgs = []
    for key in keys:
        last = runs[0].summary.get(key) if len(runs) == 1 else None
        svgs.append(
            line_chart_svg(
                key,
                per_key[key],
                last=last if isinstance(last, (int, float)) else None,
                x_range=x_range,
                x_label=step_metric,
            )
        )
    return Chart(section, keys, svgs)


def run_x_range(
    runs: Sequence[LocalRun], keys: Sequence[str], step_metric: str
) -> tuple[float, float] | None:
    """The x-range of ``keys`` over ``runs``: what every section shares, as W&B aligns its
    panels on one step axis (train and val then put one step at one x)."""
    lows, highs = [], []
    for run in runs:
        for key in keys:
            xs, _ = run_points(run, key, step_metric)
            if xs:
                lows.append(min(xs))
                highs.append(max(xs))
    return (min(lows), max(highs)) if lows else None


def histogram_png(bins: Sequence[float], values: Sequence[float]) -> bytes:
    """A small bar chart of one logged ``wandb.Histogram`` (``len(bins) == len(values) + 1``).

    Raises:
        MissingDependencyError: matplotlib is not installed (``nbwandb[media]`` installs it).
    """
    # matplotlib is imported on the first histogram only: `import nbwandb` stays light, and
    # without matplotlib only the histograms go undrawn.
    require("matplotlib", purpose="drawing a histogram", extra="media")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2, 2.2), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    n = min(len(values), len(bins) - 1)
    widths = [bins[i + 1] - bins[i] for i in range(n)]
    ax.bar(bins[:n], values[:n], width=widths, align="edge", color=COLORS[0])
    ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.95, bottom=0.15)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    fig.clear()
    return buf.getvalue()
