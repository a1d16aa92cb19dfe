"""``RunPanel``: a run's identity, where it lives, its last values and live charts.

Rows reach the panel through ``run.add_listener`` (called in the run's writer thread,
so the training loop never waits on drawing). The listener only appends to bounded,
downsampled buffers; a separate timer thread redraws at most ``1 / interval`` times a
second, whatever the logging rate, and only the charts whose series changed.

>>> run = nbwandb.init(project="demo", mode="offline", quiet=True)
>>> panel = RunPanel(run)          # display(panel): live charts as run.log writes rows
>>> run.log({"loss": 0.5}, step=0, prefix="train"); run.finish()
>>> print(panel)
nbwandb run ...
"""

from __future__ import annotations

import base64
import json
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from nbwandb.local import read_run
from nbwandb.notebook._widgets import TextForms, escape, widgets
from nbwandb.notebook.charts import CHART_CLASS, chart_div, format_value, line_chart_svg
from nbwandb.notebook.images import is_image_value, thumbnail_png
from nbwandb.notebook.series import Series
from nbwandb.render.chart_data import chart_sections, x_extent
from nbwandb.run.finish import ended
from nbwandb.run.handle import RunHandle, run_title
from nbwandb.values.metrics import is_number

PANEL_CSS = """<style>
.nbwandb-run-panel .nbw-head{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#333;
line-height:1.5;overflow-wrap:anywhere}
.nbwandb-run-panel .nbw-head code{font-size:12px;background:#f3f3f3;padding:0 3px;border-radius:3px}
.nbwandb-run-panel .nbw-state{display:inline-block;padding:0 6px;border-radius:8px;color:white;font-size:11px}
.nbwandb-run-panel .nbw-strip{font:12px system-ui,sans-serif;color:#555;white-space:nowrap;overflow-x:auto}
.nbwandb-pixelated,.nbwandb-run-panel img{image-rendering:pixelated}
.nbwandb-run-panel .nbw-section-title{font:600 13px system-ui,sans-serif;color:#333;margin:6px 0 2px;
border-bottom:1px solid #eee}
</style>"""
_STATE_COLORS = {
    "running": "#1f77b4",
    "finishing": "#5c8fc4",  # its last rows still going through wandb-core, in the background
    "finished": "#2e7d32",
    "failed": "#c62828",
    "crashed": "#c62828",
    "upload failed": "#c62828",  # finished on disk, but wandb stopped uploading it (issue 28)
}


class RunData:
    """The points, last values and latest images of one run, shared by all its panels.

    The first panel of a run creates it and registers its listener, so a panel shown
    later (``%wandb_status``) still has every point since then. Buffers are bounded.
    """

    def __init__(
        self,
        run: RunHandle,
        *,
        capacity: int = 256,
        max_series: int = 48,
        max_images: int = 8,
        include: Iterable[str] = (),
    ) -> None:
        self.step_metric = getattr(run, "step_metric", "global_step")
        # Keys starting with "_" are wandb's own (_runtime, _step, _timestamp in the run file):
        # charted only when named here, as W&B's workspace hides them too.
        self.include = set(include)
        self.capacity = capacity
        self.max_series = max_series
        self.max_images = max_images
        self.rows_seen = 0
        self.series: dict[str, Series] = {}
        self.last_values: dict[str, Any] = {}
        self.images: dict[str, Any] = {}
        self.image_versions: dict[
            str, int
        ] = {}  # bumped per new image: panels redraw a changed key
        self._subscribers: list[threading.Event] = []

    def on_row(self, row: dict[str, Any]) -> None:
        """Called by the run for each written row: O(keys), no drawing, no locks held long."""
        step = row.get(self.step_metric, self.rows_seen)
        self.rows_seen += 1
        for key, value in row.items():
            if key == self.step_metric or (key.startswith("_") and key not in self.include):
                continue
            if is_number(value):
                self.last_values[key] = value
                series = self.series.get(key)
                if series is None:
                    if len(self.series) >= self.max_series:
                        continue
                    series = self.series[key] = Series(self.capacity)
                series.append(step, float(value))
            elif is_image_value(value):
                if key in self.images or len(self.images) < self.max_images:
                    self.images[key] = value
                    self.image_versions[key] = self.image_versions.get(key, 0) + 1
            elif isinstance(value, str) and len(value) <= 80:
                self.last_values[key] = value
        for event in list(self._subscribers):
            event.set()

    def subscribe(self, event: threading.Event) -> None:
        self._subscribers.append(event)

    def unsubscribe(self, event: threading.Event) -> None:
        if event in self._subscribers:
            self._subscribers.remove(event)

    def backfill(self, run: RunHandle) -> float | None:
        """Rows already logged (a panel for a run that had none): those in the run's files,
        then, for a live run, the rows it handed to wandb that the file does not hold yet
        (``run.recent_rows()``: wandb writes its file every 0.1 s, or, before that setting existed
        (0.28), only in full 32 KiB blocks).
        Returns the last step taken (None: none).
        """
        if getattr(run, "has_wandb_run", True) is False:
            return None  # a run wandb is still creating has no rows on disk (and is not waited for)
        run_dir = getattr(run, "run_dir", None)
        if run_dir is None:
            return None
        recent: list[dict[str, Any]] = []
        live = getattr(run, "enabled", False) and not run.finished
        if not live:
            drawn = self.backfill_sampled(run_dir)
            if drawn is not False:
                return drawn
        try:
            if live:
                run.flush(timeout=BACKFILL_WAIT)  # queued rows handed to wandb, so in memory
                recent = run.recent_rows()
            history = read_run(run_dir).history
        except Exception:  # noqa: BLE001 - a run still being written, or no reader: start empty
            return None
        last: float | None = None
        for row in history:
            self.on_row(dict(row))
            step = row.get(self.step_metric)
            if is_number(step) and (last is None or step > last):
                last = step
        on_disk = last
        for row in recent:  # what the file does not hold yet: steps after its last one
            step = row.get(self.step_metric)
            if on_disk is None or not is_number(step) or step > on_disk:
                self.on_row(dict(row))
                if is_number(step) and (last is None or step > last):
                    last = step
        return last

    def backfill_sampled(self, run_dir: Any) -> float | bool | None:
        """An ended run's charts from its cache's sampled series (min, max and last per bucket
        of steps), not from every row: a run of a million rows costs what is drawn.

        Returns the last step drawn (None: none), or False when the run has no cache (a
        resumed run of several folders) and its rows are to be read.
        """
        try:
            local = read_run(run_dir, history=False)
            if local._cache is None or len(local.segments) > 1:
                return False
            cache = local._cache
            others = cache.others()
            last_step: float | None = None
            for key in cache.keys:
                if key == self.step_metric or (key.startswith("_") and key not in self.include):
                    continue
                xs, ys = local.sampled(key)
                if len(xs):
                    seq = cache.sampled_seq(key)
                    newest = int(seq.argmax())
                    last = float(ys[newest])
                    self.last_values[key] = (
                        int(last)
                        if last.is_integer() and key in cache.meta.get("int_keys", ())
                        else last
                    )
                    if key in self.series or len(self.series) < self.max_series:
                        series = self.series.setdefault(key, Series(self.capacity))
                        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
                            series.append(x, y)
                        series.last, series.last_step = last, float(xs[newest])
                    top = float(xs.max())
                    last_step = top if last_step is None else max(last_step, top)
                cells = others.get(key)
                if cells and key not in self.last_values:
                    value = json.loads(cells[-1][1])
                    if isinstance(value, str) and len(value) <= 80:
                        self.last_values[key] = value
            self.rows_seen = local.steps
        except Exception:  # noqa: BLE001 - no cache to read: the rows are read instead
            return False
        for event in list(self._subscribers):
            event.set()
        return last_step


BACKFILL_WAIT = 1.0  # seconds a new panel waits for the run's queued rows to reach wandb


class _Handover:
    """The listener of a new ``RunData``: rows written while the files are read wait here, then
    go to the data unless the files held them already (a later step than the files' last)."""

    def __init__(self, data: RunData) -> None:
        self.data = data
        self.lock = threading.Lock()
        self.pending: list[dict[str, Any]] | None = []

    def __call__(self, row: dict[str, Any]) -> None:
        with self.lock:
            if self.pending is not None:
                self.pending.append(row)
                return
        self.data.on_row(row)

    def switch(self, last_on_disk: float | None) -> None:
        with self.lock:
            pending, self.pending = self.pending or [], None
            for row in pending:
                step = row.get(self.data.step_metric)
                if last_on_disk is None or not is_number(step) or step > last_on_disk:
                    self.data.on_row(row)


_run_data: weakref.WeakKeyDictionary[Any, RunData] = weakref.WeakKeyDictionary()
_run_data_lock = threading.Lock()


def run_data(run: RunHandle, **options: Any) -> RunData:
    """The shared ``RunData`` of ``run`` (created, listening and backfilled on first use)."""
    with _run_data_lock:
        try:
            data = _run_data.get(run)
        except TypeError:  # a run-like object without weak references: not shared
            data = None
        live = getattr(run, "enabled", False) and not run.finished
        include = set(options.get("include", ()))
        if data is not None and not include <= data.include:
            if live:
                data.include |= include  # charted from the next row on
            else:
                data = None  # an ended run's files are read again, with the keys now named
        if data is None:
            data = RunData(run, **options)
            try:
                _run_data[run] = data
            except TypeError:
                pass
            if not live:
                data.backfill(run)
                return data
            # Listen first, then read the files: no row is missed in between, none counted twice.
            handover = _Handover(data)
            run.add_listener(handover)
            handover.switch(data.backfill(run))
        return data


class RunPanel(TextForms, widgets.VBox):
    """Live view of a run: a one-line header, last values, charts by section and images.

    ``interval``: seconds between redraws (at most); ``capacity``: points kept per
    series; ``max_series``: charts drawn (later keys still show their last value);
    ``max_images``: image keys shown as thumbnails. These three apply when the run's
    shared ``RunData`` is created (by its first panel). Keys starting with ``_`` (wandb's
    ``_runtime``, ``_step``, ``_timestamp``) are not charted unless named in ``include``
    (``RunPanel(run, include=["_runtime"])``; on a run's later panels, for rows from then on).
    Once the run has finished, the panel's output is its final static HTML (charts as inline SVG).
    """

    def __init__(
        self,
        run: RunHandle,
        *,
        interval: float = 0.25,
        capacity: int = 256,
        max_series: int = 48,
        max_images: int = 8,
        include: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        include = [include] if isinstance(include, str) else list(include)
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(f"interval={interval!r} is not accepted; use seconds > 0")
        self.run = run
        self.interval = float(interval)
        self.redraws = 0
        self._data = run_data(
            run, capacity=capacity, max_series=max_series, max_images=max_images, include=include
        )
        self._drawn: dict[str, tuple[int, tuple[float, float] | None]] = {}
        self._drawn_images: dict[str, int] = {}
        self._charts: dict[str, Any] = {}
        self._sections: dict[str, Any] = {}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._draw_lock = threading.Lock()
        self._drawn_state = ""  # the run state the header last showed ("finishing", ...)

        self._header = widgets.HTML()
        self._values = widgets.HTML()
        # The panel's view settings, as in W&B's workspace: smoothing and a log y-axis.
        self.smoothing = widgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=0.99,
            step=0.01,
            description="smoothing",
            readout_format=".2f",
            continuous_update=False,
            layout=widgets.Layout(width="280px"),
        )
        self.log_scale = widgets.Checkbox(
            value=False, description="log y", indent=False, layout=widgets.Layout(width="auto")
        )
        controls = widgets.HBox(
            [self.smoothing, self.log_scale], layout=widgets.Layout(flex_flow="row wrap")
        )
        controls.add_class("nbwandb-chart-controls")
        self.smoothing.observe(self._on_view_change, names="value")
        self.log_scale.observe(self._on_view_change, names="value")
        self._sections_box = widgets.VBox()
        self._images_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(
            children=[self._header, self._values, controls, self._sections_box, self._images_box],
            **kwargs,
        )
        self.add_class("nbwandb-run-panel")

        self._thread: threading.Thread | None = None
        if not ended(run):  # running, or finishing in the background: its header will change
            self._data.subscribe(self._dirty)
            self._thread = threading.Thread(
                target=self._redraw_loop, name=f"nbwandb-panel-{run.id}", daemon=True
            )
            self._thread.start()
        self.redraw()

    @property
    def rows_seen(self) -> int:
        return self._data.rows_seen

    # -- drawing (timer thread) ------------------------------------------------------------
    def _redraw_loop(self) -> None:
        starting = bool(getattr(self.run, "starting", False))
        while not self._stop.wait(self.interval):
            finished = ended(self.run)
            if starting and not getattr(self.run, "starting", False):
                starting = False
                self._dirty.set()  # wandb created the run: the header shows its folder now
            if self._dirty.is_set() or finished or self.run.state != self._drawn_state:
                self.redraw()
            if finished:
                return

    def redraw(self) -> None:
        """Bring every part of the panel up to date now (the timer calls this when due)."""
        with self._draw_lock:
            self._dirty.clear()
            self._drawn_state = self.run.state
            self.redraws += 1
            self._header.value = PANEL_CSS + self._header_html()
            self._values.value = self._values_html()
            self._draw_charts()
            self._draw_images()

    def _on_view_change(self, _change: Any = None) -> None:
        with self._draw_lock:
            self._drawn.clear()  # every chart is drawn again with the new settings
        self.redraw()

    def _layout(self) -> tuple[dict[str, list[tuple[str, Series]]], tuple[float, float] | None]:
        """The one model both forms draw, the widget and the static HTML: which sections, in
        which order, holding which charts (sorted by key, as in ``nbwandb.show``: a run file
        keeps no key order), and the x-range every section shares (W&B aligns panels on one
        step axis, so a step sits at one x in train and val alike)."""
        series = dict(self._data.series)  # one snapshot: the writer thread adds keys
        points = {key: s.points() for key, s in series.items()}
        x_range = x_extent([x for x, _ in p] for p in points.values())
        sections = {
            name: [(key, series[key]) for key in keys]
            for name, keys in chart_sections(sorted(series)).items()
        }
        return sections, x_range

    def _chart_svg(self, key: str, series: Series, x_range: tuple[float, float] | None) -> str:
        # finite: a Series keeps only finite values, so the chart skips that check.
        return line_chart_svg(
            key,
            series.points(),
            last=series.last,
            x_range=x_range,
            smoothing=float(self.smoothing.value),
            log_y=bool(self.log_scale.value),
            finite=True,
        )

    def _draw_charts(self) -> None:
        sections, x_range = self._layout()
        for name, charts in sections.items():
            for key, series in charts:
                if self._drawn.get(key) == (series.count, x_range):
                    continue
                self._drawn[key] = (series.count, x_range)
                svg = self._chart_svg(key, series, x_range)
                chart = self._charts.get(key)
                if chart is None:
                    chart = self._charts[key] = widgets.HTML(svg)
                    chart.add_class(CHART_CLASS)
                else:
                    chart.value = svg
            section = self._sections.get(name)
            if section is None:
                title = widgets.HTML(f"<b>{escape(name)}</b>")
                grid = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
                section = self._sections[name] = widgets.VBox([title, grid])
                section.add_class("nbwandb-section")
            grid = section.children[1]
            shown = tuple(self._charts[key] for key, _series in charts)
            if grid.children != shown:  # a new chart: set only then (each set is a message)
                grid.children = shown
        placed = tuple(self._sections[name] for name in sections)
        if self._sections_box.children != placed:
            self._sections_box.children = placed

    def _draw_images(self) -> None:
        changed = False
        thumbs = []
        for key, image in list(self._data.images.items()):
            version = self._data.image_versions.get(key, 0)
            if self._drawn_images.get(key) != version:
                self._drawn_images[key] = version
                changed = True
            thumbs.append((key, image))
        if not changed:
            return
        children = []
        for key, image in thumbs:
            try:
                png = thumbnail_png(image)
            except Exception:  # noqa: BLE001 - a missing media file must not stop the panel
                continue
            thumb = widgets.Image(
                value=png,
                format="png",
                layout=widgets.Layout(width="128px", height="128px", object_fit="contain"),
            )
            thumb.add_class("nbwandb-pixelated")
            box = widgets.VBox([thumb, widgets.HTML(f"<small>{escape(key)}</small>")])
            box.add_class("nbwandb-thumbnail")
            children.append(box)
        self._images_box.children = tuple(children)

    # -- text forms ------------------------------------------------------------------------
    def _where(self) -> list[tuple[str, str]]:
        run = self.run
        if not getattr(run, "enabled", False):
            return [("logging", f"off ({run.mode_reason})")]
        if getattr(run, "has_wandb_run", True) is False:
            if getattr(run, "starting", False):
                return [("directory", "(wandb is creating the run)")]
            return [("directory", "(wandb could not create the run)")]
        if run.mode == "online" and run.url:
            later = [("upload later", run.sync_command)] if run.sync_command else []
            return [("url", run.url), *later]
        return [("directory", str(run.run_dir)), ("upload later", run.sync_command or "")]

    def _header_html(self) -> str:
        """One line: state, name (id), mode, then where the run lives (a second line when long)."""
        run = self.run
        color = _STATE_COLORS.get(str(run.state), "#777")
        parts = [
            f"<span class='nbw-state' style='background:{color}'>{escape(run.state)}</span> "
            + (
                f"<b>{escape(run.name)}</b> <span style='color:#777'>({escape(run.id)}, {escape(run.mode)})</span>"
                if run.name and run.name != run.id
                else f"<b>{escape(run.id)}</b> <span style='color:#777'>({escape(run.mode)})</span>"
            )
        ]
        for label, value in self._where():
            if label == "url":
                parts.append(f'<a href="{escape(value)}" target="_blank">{escape(value)}</a>')
            elif label == "upload later":
                parts.append(
                    f"<span style='color:#777'>upload later:</span> <code>{escape(value)}</code>"
                )
            else:
                parts.append(
                    f"<span style='color:#777'>{escape(label)}:</span> <code>{escape(value)}</code>"
                )
        return f"<div class='nbw-head nbwandb-run-header'>{' · '.join(parts)}</div>"

    def _values_html(self) -> str:
        """Last values that have no chart title to live in (strings, keys past ``max_series``), on one line."""
        if not self._data.last_values:
            return "<div class='nbw-strip nbwandb-last-values'><i>no values logged yet</i></div>"
        extra = [
            (k, v) for k, v in sorted(self._data.last_values.items()) if k not in self._data.series
        ]
        steps = f"{self._data.rows_seen} rows"
        shown = " · ".join(
            f"{escape(k)} <b>{escape(format_value(v) if is_number(v) else v)}</b>" for k, v in extra
        )
        return f"<div class='nbw-strip nbwandb-last-values'>{steps}{' · ' + shown if shown else ''}</div>"

    def _is_final(self) -> bool:
        return ended(self.run)

    def _text(self) -> str:
        run = self.run
        lines = [f"nbwandb run {run_title(run)} mode={run.mode} state={run.state}"]
        lines += [f"  {label}: {value}" for label, value in self._where()]
        if self._data.last_values:
            shown = ", ".join(
                f"{k}={format_value(v) if is_number(v) else v}"
                for k, v in sorted(self._data.last_values.items())
            )
            lines.append(f"  last: {shown}")
        return "\n".join(lines)

    def _html(self) -> str:
        parts = [
            f"<div class='nbwandb-run-panel'>{PANEL_CSS}{self._header_html()}{self._values_html()}"
        ]
        sections, x_range = self._layout()
        for name, charts in sections.items():
            drawn = "".join(
                chart_div(self._chart_svg(key, series, x_range)) for key, series in charts
            )
            parts.append(
                f"<div class='nbwandb-section'><div class='nbw-section-title'>{escape(name)}</div>"
                f"<div>{drawn}</div></div>"
            )
        figures = []
        for key, image in list(self._data.images.items()):
            try:
                data = base64.b64encode(thumbnail_png(image)).decode()
            except Exception:  # noqa: BLE001
                continue
            figures.append(
                f"<figure style='display:inline-block;margin:4px;text-align:center'>"
                f"<img style='width:128px;height:128px;object-fit:contain;image-rendering:pixelated' "
                f"src='data:image/png;base64,{data}'/><figcaption><small>{escape(key)}</small>"
                f"</figcaption></figure>"
            )
        if figures:
            parts.append(
                f"<div class='nbwandb-section'><div class='nbw-section-title'>media</div>{''.join(figures)}"
                "</div>"
            )
        parts.append("</div>")
        return "".join(parts)

    # -- lifetime --------------------------------------------------------------------------
    def series(self, key: str) -> Series:
        """The buffered points of one metric (KeyError names the known keys)."""
        try:
            return self._data.series[key]
        except KeyError:
            raise KeyError(
                f"no series {key!r}; the panel has {sorted(self._data.series)}"
            ) from None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the run's rows so far are drawn (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        if getattr(self.run, "enabled", False) and not self.run.finished:
            self.run.flush(timeout)
        while self._dirty.is_set() and time.monotonic() < deadline:
            time.sleep(min(self.interval, 0.05))
        with self._draw_lock:  # a redraw clears the flag when it starts: let it end
            return not self._dirty.is_set()

    def close(self) -> None:
        """Stop redrawing and detach from the run."""
        stop = getattr(self, "_stop", None)  # absent when __init__ refused its arguments
        if stop is not None:
            stop.set()
            self._data.unsubscribe(self._dirty)
        super().close()
