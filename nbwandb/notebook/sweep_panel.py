"""``SweepPanel``: a sweep's progress, a live leaderboard and a parallel-coordinates plot.

The core never imports this module: ``nbwandb.sweep(..., callback=panel.update)`` calls the
panel after each trial (or ``panel.run(config, train_fn, ...)`` does both). The plot is drawn
with matplotlib's Agg canvas on a ``Figure`` that pyplot never sees (so no figure is left
open), at most once per ``plot_interval`` seconds, from at most ``max_lines`` trials.

>>> panel = SweepPanel()                       # then display(panel) in a notebook
>>> config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
...           "parameters": {"x": {"values": [1, 2]}}}
>>> result = panel.run(config, lambda cfg: cfg["x"] ** 2, count=2)
>>> result.best_params
{'x': 1}
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from nbwandb.html_tables import format_cell, format_number

from ..metrics import is_number
from ..sweeps import sweep
from ..sweeps.result import flatten_params
from ._widgets import TextForms, escape, widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _axis_values(values: Sequence[Any]) -> tuple[list[float], list[tuple[float, str]]]:
    """Positions in [0, 1] for one axis and its tick labels (numbers, log when wide, or categories)."""
    numeric = all(is_number(v) and math.isfinite(v) for v in values)
    if numeric:
        lo, hi = min(values), max(values)
        use_log = lo > 0 and hi / lo > 100  # a learning rate: spread its decades evenly
        f = (lambda v: math.log10(v)) if use_log else (lambda v: float(v))
        a, b = f(lo), f(hi)
        span = (b - a) or 1.0
        ticks = (
            [(0.0, format_cell(lo)), (1.0, format_cell(hi))]
            if hi != lo
            else [(0.5, format_cell(lo))]
        )
        return [((f(v) - a) / span) if hi != lo else 0.5 for v in values], ticks
    labels = sorted({repr(v) for v in values})
    step = 1.0 / max(len(labels) - 1, 1)
    where = {label: (i * step if len(labels) > 1 else 0.5) for i, label in enumerate(labels)}
    shown = {repr(v): (v if isinstance(v, str) else repr(v)) for v in values}  # relu, not 'relu'
    return [where[repr(v)] for v in values], [
        (pos, shown[label][:12]) for label, pos in where.items()
    ]


def parallel_coordinates_png(result: Any, *, max_lines: int = 300, dpi: int = 80) -> bytes | None:
    """A PNG of the completed trials: one axis per varying parameter, the metric last.

    None when fewer than two trials completed. The best trial is drawn on top, thick.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ranked = result.ranked()
    if len(ranked) < 2:
        return None
    # Keep the best and the most recent ones: the plot stays readable and cheap.
    chosen = [ranked[0], *sorted(ranked[1:], key=lambda t: t.number)[-(max_lines - 1) :]]
    flat = [flatten_params(t.params) for t in chosen]
    names = [
        n for n in sorted({k for f in flat for k in f}) if len({repr(f.get(n)) for f in flat}) > 1
    ]
    columns = [[f.get(n) for f in flat] for n in names] + [[t.value for t in chosen]]
    labels = [*names, str(result.metric)]
    positions, ticks = zip(*(_axis_values(col) for col in columns), strict=True)

    fig = Figure(figsize=(max(4.0, 1.3 * len(labels)), 3.2), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["viridis"]
    metric_pos = positions[-1]
    xs = list(range(len(labels)))
    for i in reversed(range(len(chosen))):  # the best (index 0) is drawn last, on top
        ys = [axis[i] for axis in positions]
        # Bright = good: flip the colour scale when smaller is better.
        shade = metric_pos[i] if result.goal == "maximize" else 1.0 - metric_pos[i]
        if i == 0:
            ax.plot(xs, ys, color="crimson", linewidth=2.5, zorder=3)
        else:
            ax.plot(xs, ys, color=cmap(shade), linewidth=1.0, alpha=0.7)
    for x, axis_ticks in zip(xs, ticks, strict=True):
        ax.axvline(x, color="#444", linewidth=0.8)
        for pos, text in axis_ticks:
            ax.annotate(
                text,
                (x, pos),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
                color="#222",
            )
    ax.set_xticks(xs, [label[-18:] for label in labels], fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(labels) - 0.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{len(chosen)} trials; best in red", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    fig.clear()  # drop the artists now rather than when the figure is collected
    return buffer.getvalue()


def _shade(fraction: float) -> str:
    """A colour from dark blue (0) to yellow-green (1), like viridis: bright = good."""
    stops = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
    f = min(max(fraction, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(f), len(stops) - 2)
    t = f - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(stops[i], stops[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def parallel_coordinates_svg(
    result: Any, *, max_lines: int = 300, axis_gap: int = 130, height: int = 250
) -> str | None:
    """A crisp SVG of the trials: one axis per varying parameter, the metric last.

    Completed trials are coloured by their value (bright = good), the best is drawn on top
    in red, pruned trials are grey dashes. Hovering a line names its run. None when fewer
    than two trials have parameters.
    """
    ranked = result.ranked()
    others = [t for t in result.trials if t not in ranked and t.params]
    if len(ranked) + len(others) < 2:
        return None
    chosen = [*ranked[:1], *sorted(ranked[1:], key=lambda t: t.number)[-(max_lines - 1) :]]
    chosen += sorted(others, key=lambda t: t.number)[-max(0, max_lines - len(chosen)) :]
    flat = [flatten_params(t.params) for t in chosen]
    names = [
        n for n in sorted({k for f in flat for k in f}) if len({repr(f.get(n)) for f in flat}) > 1
    ]
    if not names:
        names = sorted({k for f in flat for k in f})[:1]
    labels = [*names, str(result.metric)]
    columns: list[list[Any]] = [[f.get(n) for f in flat] for n in names]
    metric_values = [t.value for t in chosen if t.value is not None and math.isfinite(t.value)]
    columns.append(
        [t.value if t.value is not None and math.isfinite(t.value) else None for t in chosen]
    )
    axes = []
    for col in columns:
        present = [v for v in col if v is not None]
        positions, ticks = _axis_values(present) if present else ([], [])
        where = iter(positions)
        axes.append(([next(where) if v is not None else None for v in col], ticks))
    left, top, bottom = 16, 22, height - 34
    caption = (
        f"{len(chosen)} trials · brighter = better {result.metric} · best in red · pruned dashed"
    )
    width = max(
        left + axis_gap * (len(labels) - 1) + 70, int(6.2 * len(caption)) + 16
    )  # the caption fits
    xs = [left + i * axis_gap for i in range(len(labels))]

    def y_of(pos: float) -> float:
        return bottom - pos * (bottom - top)

    parts = [
        f'<svg class="nbwandb-parallel-svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" '
        f'data-trials="{len(chosen)}">',
        f"<rect x='0.5' y='0.5' width='{width - 1}' height='{height - 1}' rx='3' fill='white' stroke='#e0e0e0'/>",
        f"<text x='8' y='14' font-size='11' fill='#555'>{escape(caption)}</text>",
    ]
    lo = min(metric_values) if metric_values else 0.0
    hi = max(metric_values) if metric_values else 1.0
    lines = []
    for i in reversed(range(len(chosen))):  # the best (index 0) last, on top
        trial = chosen[i]
        placed = [(x, axis[0][i]) for x, axis in zip(xs, axes, strict=True)]
        pts = [(x, y_of(pos)) for x, pos in placed if pos is not None]
        if len(pts) < 2:
            continue
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        params = ", ".join(f"{k}={format_cell(v)}" for k, v in flatten_params(trial.params).items())
        value = format_cell(trial.value) if trial.value is not None else "–"  # noqa: RUF001 - an en dash for "no value", on purpose
        tip = f"{trial.run_name or trial.run_id or trial.number} ({trial.state}): {result.metric}={value}; {params}"
        if trial.state != "complete":
            style = "stroke='#999' stroke-width='1' stroke-dasharray='4,3'"
        elif i == 0:
            style = "stroke='crimson' stroke-width='2.5'"
        else:
            good = (trial.value - lo) / (hi - lo) if hi > lo else 1.0
            style = (
                f"stroke='{_shade(good if result.goal == 'maximize' else 1 - good)}' stroke-width='1.2' "
                "stroke-opacity='0.8'"
            )
        lines.append(
            f"<polyline fill='none' {style} points='{coords}'><title>{escape(tip)}</title></polyline>"
        )
    parts += lines
    for x, label, (_, ticks) in zip(xs, labels, axes, strict=True):
        parts.append(
            f"<line x1='{x}' y1='{top}' x2='{x}' y2='{bottom}' stroke='#444' stroke-width='1'/>"
        )
        for pos, text in ticks:
            parts.append(
                f"<text x='{x + 4}' y='{y_of(pos) + 3.5:.1f}' font-size='10' fill='#222' stroke='white' "
                f"stroke-width='3' paint-order='stroke'>{escape(text)}</text>"
            )
        shown = label if len(label) <= 20 else "…" + label[-19:]
        parts.append(
            f"<text x='{x}' y='{height - 14}' font-size='11' text-anchor='{'start' if x == left else 'middle'}' "
            f"fill='#333'>{escape(shown)}<title>{escape(label)}</title></text>"
        )
    parts.append("</svg>")
    return "".join(parts)


PLOT_PLACEHOLDER = (
    "<div class='nbw-plot-placeholder' style='color:#777;font:12px system-ui,sans-serif;"
    "padding:8px 0'>The parallel-coordinates plot appears after the first two trials.</div>"
)


class SweepPanel(TextForms, widgets.VBox):
    """Progress, leaderboard (best ``max_rows``, then pruned and failed trials) and parallel coordinates.

    Pass ``panel.update`` as ``nbwandb.sweep(..., callback=...)``, or call ``panel.run(...)``.
    The plot is an SVG (crisp at any width), redrawn at most once per ``plot_interval``
    seconds from at most ``max_lines`` trials. When the sweep is over, the panel's output
    is its final HTML.
    """

    def __init__(
        self, *, max_rows: int = 10, max_lines: int = 300, plot_interval: float = 1.0, **kwargs: Any
    ) -> None:
        for key, value in (("max_rows", max_rows), ("max_lines", max_lines)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key}={value!r} is not accepted; use an int >= 1")
        if not isinstance(plot_interval, (int, float)) or plot_interval < 0:
            raise ValueError(f"plot_interval={plot_interval!r} is not accepted; use seconds >= 0")
        self.max_rows = max_rows
        self.max_lines = max_lines
        self.plot_interval = float(plot_interval)
        self.result: Any = None
        self.updates = 0
        self.plots_drawn = 0
        self.done = False
        self._svg: str | None = None
        self._plotted_at = -math.inf
        self._header = widgets.HTML("<b>sweep</b>: waiting for the first trial")
        self._progress = widgets.IntProgress(
            value=0, min=0, max=1, description="trials", bar_style="info"
        )
        self._leaderboard = widgets.HTML()
        self._plot = widgets.HTML(
            PLOT_PLACEHOLDER, layout=widgets.Layout(max_width="100%", overflow="auto")
        )
        super().__init__(
            children=[self._header, self._progress, self._leaderboard, self._plot], **kwargs
        )
        self.add_class("nbwandb-sweep-panel")

    # -- the callback ------------------------------------------------------------------------
    def update(self, result: Any, trial: Any = None, *, force_plot: bool = False) -> None:
        """Show ``result`` (a ``SweepResult``); ``trial`` is the one that just ended."""
        self.result = result
        self.updates += 1
        done = sum(1 for t in result.trials if t.state not in ("running", "waiting"))
        total = max(result.planned or 0, done, 1)
        self._progress.max = total
        self._progress.value = done
        self._progress.bar_style = "success" if done >= total else "info"
        self._header.value = f"<b>{escape(result.summary_line())}</b>"
        self._leaderboard.value = result.leaderboard_html(self.max_rows)
        now = time.monotonic()
        if force_plot or now - self._plotted_at >= self.plot_interval:
            svg = parallel_coordinates_svg(result, max_lines=self.max_lines)
            self._plotted_at = now
            if svg is not None:
                self._svg = svg
                self._plot.value = svg
                self.plots_drawn += 1

    def run(
        self, sweep_config: dict[str, Any], train_fn: Callable[[dict[str, Any]], Any], **kwargs: Any
    ) -> Any:
        """``nbwandb.sweep(...)`` with this panel updated after each trial; returns its result."""
        user_callback = kwargs.pop("callback", None)

        def callback(result: Any, trial: Any) -> None:
            self.update(result, trial)
            if user_callback is not None:
                user_callback(result, trial)

        result = sweep(sweep_config, train_fn, callback=callback, **kwargs)
        self.update(result, force_plot=True)
        self.done = True
        return result

    # -- text forms --------------------------------------------------------------------------
    def _is_final(self) -> bool:
        return self.done

    def _text(self) -> str:
        if self.result is None:
            return "SweepPanel: waiting for the first trial"
        lines = [self.result.summary_line()]
        for rank, t in enumerate(self.result.ranked()[: self.max_rows], 1):
            params = ", ".join(f"{k}={format_cell(v)}" for k, v in t.params.items())
            lines.append(
                f"  {rank:>2}. {t.run_name or t.run_id}  {self.result.metric}={format_number(t.value)}  "
                f"{params}"
            )
        return "\n".join(lines)

    def _html(self) -> str:
        if self.result is None:
            return (
                "<div class='nbwandb-sweep-panel' style='font:13px system-ui,sans-serif;color:#555'>"
                "<b>sweep</b>: waiting for the first trial</div>"
            )
        plot = self._svg if self._svg is not None else PLOT_PLACEHOLDER
        return (
            f"<div class='nbwandb-sweep-panel'><p><b>{escape(self.result.summary_line())}</b></p>"
            f"{self.result.leaderboard_html(self.max_rows)}<div style='max-width:100%;overflow-x:auto'>"
            f"{plot}</div></div>"
        )
