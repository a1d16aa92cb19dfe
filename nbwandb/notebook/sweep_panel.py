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

from nbwandb.errors import require
from nbwandb.notebook._widgets import TextForms, escape, widgets
from nbwandb.render.html_tables import format_cell, format_number
from nbwandb.sweeps import sweep
from nbwandb.values.config import flatten_config
from nbwandb.values.metrics import is_number

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def decade_label(exponent: int) -> str:
    """The label of the decade 10**exponent on a log axis: 0.1, 1, 10, 100, else 1eN.

    >>> [decade_label(e) for e in (-3, -2, -1, 0, 2, 3)]
    ['1e-3', '1e-2', '0.1', '1', '100', '1e3']
    """
    return f"{10.0**exponent:g}" if -1 <= exponent <= 2 else f"1e{exponent}"


def _axis_values(values: Sequence[Any]) -> tuple[list[float], list[tuple[float, str]], bool]:
    """Positions in [0, 1] for one axis, its tick labels, and whether it is log-scaled.

    Numbers spanning more than two decades (a learning rate) are placed on a log scale,
    labelled at the decades inside their range (and at the ends when fewer than two
    decades fall inside); other numbers at their ends; anything else as categories.
    """
    numeric = all(is_number(v) and math.isfinite(v) for v in values)
    if numeric:
        lo, hi = min(values), max(values)
        use_log = lo > 0 and hi / lo > 100  # a learning rate: spread its decades evenly
        f = (lambda v: math.log10(v)) if use_log else (lambda v: float(v))
        a, b = f(lo), f(hi)
        span = (b - a) or 1.0
        if hi == lo:
            ticks = [(0.5, format_cell(lo))]
        elif use_log:
            decades = range(math.ceil(a - 1e-9), math.floor(b + 1e-9) + 1)
            ticks = [((e - a) / span, decade_label(e)) for e in decades]
            if len(ticks) < 2:
                ticks = [(0.0, format_cell(lo)), *ticks, (1.0, format_cell(hi))]
        else:
            ticks = [(0.0, format_cell(lo)), (1.0, format_cell(hi))]
        return [((f(v) - a) / span) if hi != lo else 0.5 for v in values], ticks, use_log
    labels = sorted({repr(v) for v in values})
    step = 1.0 / max(len(labels) - 1, 1)
    where = {label: (i * step if len(labels) > 1 else 0.5) for i, label in enumerate(labels)}
    shown = {repr(v): (v if isinstance(v, str) else repr(v)) for v in values}  # relu, not 'relu'
    return (
        [where[repr(v)] for v in values],
        [(pos, shown[label][:12]) for label, pos in where.items()],
        False,
    )


def _plotted(result: Any, max_lines: int) -> list[Any]:
    """The trials a plot draws: the best, the most recent completed ones, then pruned and
    failed ones that have parameters (up to ``max_lines`` in all)."""
    ranked = result.ranked()
    others = [t for t in result.trials if t not in ranked and t.params]
    chosen = [*ranked[:1], *sorted(ranked[1:], key=lambda t: t.number)[-(max_lines - 1) :]]
    chosen += sorted(others, key=lambda t: t.number)[-max(0, max_lines - len(chosen)) :]
    return chosen


def _finite_value(trial: Any) -> float | None:
    value = trial.value
    return value if value is not None and math.isfinite(value) else None


LABEL_PX = 12  # tick and axis labels of the PNG, in pixels at its natural size


Axis = tuple[list[Any], list[Any], bool]  # per trial its position (None: no value), ticks, log


def _parallel_axes(
    chosen: list[Any], *, keep_one: bool
) -> tuple[list[str], list[list[Any]], list[Axis]]:
    """The axes both parallel-coordinate plots draw: the parameters that vary among the
    ``chosen`` trials (``keep_one``: the first parameter when none varies), then the metric.

    Returns the parameter names, each axis's values per trial, and each axis's positions,
    ticks and whether it is log-scaled (``_axis_values``).
    """
    flat = [flatten_config(t.params) for t in chosen]
    names = [
        n for n in sorted({k for f in flat for k in f}) if len({repr(f.get(n)) for f in flat}) > 1
    ]
    if not names and keep_one:
        names = sorted({k for f in flat for k in f})[:1]
    columns: list[list[Any]] = [[f.get(n) for f in flat] for n in names]
    columns.append([_finite_value(t) for t in chosen])
    axes: list[Axis] = []
    for col in columns:
        present = [v for v in col if v is not None]
        positions, ticks, log = _axis_values(present) if present else ([], [], False)
        where = iter(positions)
        axes.append(([next(where) if v is not None else None for v in col], ticks, log))
    return names, columns, axes


def parallel_coordinates_figure(result: Any, *, max_lines: int = 300, dpi: int = 80) -> Any:
    """The matplotlib ``Figure`` of ``parallel_coordinates_png`` (None below two trials).

    >>> fig = parallel_coordinates_figure(result)   # doctest: +SKIP
    >>> fig.savefig("trials.png")                   # doctest: +SKIP

    Raises:
        MissingDependencyError: matplotlib is not installed (``nbwandb[sweeps]`` installs it;
            the panel itself draws SVG and needs none).
    """
    require("matplotlib", purpose="parallel_coordinates_figure", extra="sweeps")
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = _plotted(result, max_lines)
    if len(chosen) < 2:
        return None
    names, _, axes = _parallel_axes(chosen, keep_one=False)
    labels = [
        f"{label[-18:]} (log)" if log else label[-18:]
        for label, (_, _, log) in zip([*names, str(result.metric)], axes, strict=True)
    ]
    size = LABEL_PX * 72 / dpi  # points for LABEL_PX pixels at this dpi

    fig = Figure(figsize=(max(4.5, 1.6 * len(labels)), 3.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["viridis"]
    xs = list(range(len(labels)))
    for i in reversed(range(len(chosen))):  # the best (index 0) is drawn last, on top
        trial = chosen[i]
        pts = [(x, axis[0][i]) for x, axis in zip(xs, axes, strict=True) if axis[0][i] is not None]
        if len(pts) < 2:
            continue
        px, py = zip(*pts, strict=True)
        if trial.state != "complete":  # pruned (its last reported value) or failed: dashed
            ax.plot(px, py, color="#999", linewidth=1.0, linestyle=(0, (4, 3)), zorder=1)
        elif i == 0:
            ax.plot(px, py, color="crimson", linewidth=2.5, zorder=3)
        else:
            good = axes[-1][0][i]  # the metric axis runs from its lowest value (0) to its highest
            good = 0.5 if good is None else good
            # Bright = good: flip the colour scale when smaller is better.
            shade = good if result.goal == "maximize" else 1.0 - good
            ax.plot(px, py, color=cmap(shade), linewidth=1.0, alpha=0.7, zorder=2)
    for x, (_, axis_ticks, _) in zip(xs, axes, strict=True):
        ax.axvline(x, color="#444", linewidth=0.8, zorder=4)
        for pos, text in axis_ticks:
            # On a white box above the lines, so no line runs through a label.
            ax.annotate(
                text,
                (x, pos),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=size,
                va="center",
                color="#222",
                zorder=5,
                bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"},
            )
    ax.set_xticks(xs, labels, fontsize=size)
    ax.set_yticks([])
    ax.set_ylim(-0.06, 1.06)
    ax.set_xlim(-0.2, len(labels) - 0.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    pruned = sum(1 for t in chosen if t.state != "complete")
    title = f"{len(chosen)} trials; best in red" + (
        f"; {pruned} pruned or failed dashed" if pruned else ""
    )
    ax.set_title(title, fontsize=size)
    fig.tight_layout()
    return fig


def parallel_coordinates_png(result: Any, *, max_lines: int = 300, dpi: int = 80) -> bytes | None:
    """A PNG of the trials: one axis per varying parameter, the metric last.

    Pruned and failed trials are grey dashes (at their last reported value), the best is
    red, on top; log axes are labelled at their decades and marked "(log)"; labels are
    ``LABEL_PX`` pixels high at the PNG's natural size. None below two trials.
    """
    fig = parallel_coordinates_figure(result, max_lines=max_lines, dpi=dpi)
    if fig is None:
        return None
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
    chosen = _plotted(result, max_lines)
    if len(chosen) < 2:
        return None
    names, columns, axes = _parallel_axes(chosen, keep_one=True)
    metric_values = [v for v in columns[-1] if v is not None]
    labels = [
        f"{label} (log)" if log else label
        for label, (_, _, log) in zip([*names, str(result.metric)], axes, strict=True)
    ]
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
        params = ", ".join(f"{k}={format_cell(v)}" for k, v in flatten_config(trial.params).items())
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
    for x, label, (_, ticks, _log) in zip(xs, labels, axes, strict=True):
        parts.append(
            f"<line x1='{x}' y1='{top}' x2='{x}' y2='{bottom}' stroke='#444' stroke-width='1'/>"
        )
        for pos, text in ticks:
            parts.append(
                f"<text x='{x + 4}' y='{y_of(pos) + 3.5:.1f}' font-size='10' fill='#222' stroke='white' "
                f"stroke-width='3' paint-order='stroke'>{escape(text)}</text>"
            )
        shown = label if len(label) <= 26 else "…" + label[-25:]
        parts.append(
            f"<text x='{x}' y='{height - 14}' font-size='11' text-anchor='{'start' if x == left else 'middle'}' "
            f"fill='#333'>{escape(shown)}<title>{escape(label)}</title></text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _planned(sweep_config: Any, count: Any) -> int | None:
    """How many trials a sweep plans, when known before it starts (grid, run_cap, count)."""
    try:
        from nbwandb.sweeps.spec import parse_sweep_config

        spec = parse_sweep_config(sweep_config)
        found = [spec.grid_size() if spec.method == "grid" else None, spec.run_cap]
    except Exception:  # noqa: BLE001 - a bad config: nbwandb.sweep says why, right after
        found = []
    caps = [c for c in found if c]
    # As the offline backend counts: the grid or run_cap when there is one, else count.
    planned = min(caps) if caps else count
    return planned if isinstance(planned, int) and not isinstance(planned, bool) else None


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
        self._planned: int | None = None
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

    def waiting(self, planned: int | None) -> None:
        """Before the first trial: "0 of N trials" (N: ``planned``, when known) and an empty bar."""
        self._planned = planned
        self._progress.max = max(planned or 0, 1)
        self._progress.value = 0
        self._progress.description = f"0 of {planned}" if planned else "trials"
        self._header.value = f"<b>sweep</b>: {escape(self._waiting_line())}"

    def _waiting_line(self) -> str:
        planned = self._planned
        return (
            f"0 of {planned} trials; waiting for the first one"
            if planned
            else ("waiting for the first trial")
        )

    # -- the callback ------------------------------------------------------------------------
    def update(self, result: Any, trial: Any = None, *, force_plot: bool = False) -> None:
        """Show ``result`` (a ``SweepResult``); ``trial`` is the one that just ended."""
        self.result = result
        self.updates += 1
        done = sum(1 for t in result.trials if t.state not in ("running", "waiting"))
        total = max(result.planned or 0, done, 1)
        self._progress.max = total
        self._progress.value = done
        self._progress.description = f"{done} of {total}"
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

        self.waiting(_planned(sweep_config, kwargs.get("count")))
        result = sweep(sweep_config, train_fn, callback=callback, **kwargs)
        self.update(result, force_plot=True)
        self.done = True
        return result

    # -- text forms --------------------------------------------------------------------------
    def _is_final(self) -> bool:
        return self.done

    def _text(self) -> str:
        if self.result is None:
            return f"SweepPanel: {self._waiting_line()}"
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
                f"<b>sweep</b>: {escape(self._waiting_line())}</div>"
            )
        plot = self._svg if self._svg is not None else PLOT_PLACEHOLDER
        return (
            f"<div class='nbwandb-sweep-panel'><p><b>{escape(self.result.summary_line())}</b></p>"
            f"{self.result.leaderboard_html(self.max_rows)}<div style='max-width:100%;overflow-x:auto'>"
            f"{plot}</div></div>"
        )
