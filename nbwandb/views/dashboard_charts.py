"""The drawings of ``nbwandb.show``: its runs' numbers handed to ``render.charts`` (one SVG line
chart per metric), and a PNG per histogram (matplotlib, so not in ``render/``, which is
standard library only).

Runs keep one colour in every chart (``svg_charts.COLORS``, matplotlib's tab10).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from nbwandb.errors import require
from nbwandb.local.reader import LocalRun
from nbwandb.render.chart_data import metric_series, x_extent
from nbwandb.render.charts import Chart, section_chart
from nbwandb.render.svg_charts import COLORS

__all__ = ["Chart", "draw_section", "histogram_png", "run_points", "run_x_range"]


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
    points = {key: [(run.name, *run_points(run, key, step_metric)) for run in runs] for key in keys}
    last = {}
    if len(runs) == 1:
        last = {k: v for k in keys if isinstance(v := runs[0].summary.get(k), (int, float))}
    return section_chart(
        section,
        points,
        smoothing=smoothing,
        max_points=max_points,
        x_range=x_range,
        x_label=step_metric,
        last=last,
    )


def run_x_range(
    runs: Sequence[LocalRun], keys: Sequence[str], step_metric: str
) -> tuple[float, float] | None:
    """The x-range of ``keys`` over ``runs``: what every section shares, as W&B aligns its
    panels on one step axis (train and val then put one step at one x)."""
    return x_extent(run_points(run, key, step_metric)[0] for run in runs for key in keys)


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
