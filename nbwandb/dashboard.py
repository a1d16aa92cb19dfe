"""``nbwandb.show``: a W&B-style dashboard of local runs, as one self-contained HTML page.

Line charts are grouped in sections by key prefix (``train/``, ``val/``) and drawn
against the step metric (``global_step`` when logged, else ``_step``); several
runs are overlaid and their config differences tabled; the latest images and
tables are embedded (a table's last ``max_rows`` rows, image cells as 64 px
thumbnails, since a prediction table logged per epoch grows at the end). Everything (charts as PNG, images) is inlined as ``data:``
URIs, so the page needs no network and no server.

>>> dash = nbwandb.show(run_dir, smoothing=0.6)
>>> dash                          # a notebook shows the page (text/html); elsewhere the text form
nbwandb: example  (1 run, x = global_step, smoothing 0.6)...
>>> dash.save("report.html").name  # one file, opens anywhere
'report.html'
"""

from __future__ import annotations

import base64
import datetime as _dt
import fnmatch
import html
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NbwandbError
from .html_tables import CSS as TABLE_CSS
from .html_tables import cell_html, format_duration, table_html
from .local.media_files import data_uri, load_table, staged_tables, thumbnail_uri
from .local.overlays_html import has_overlays, image_with_overlays_svg
from .local.reader import LocalRun, read_run
from .local.runs_table import RunsTable
from .local.series import downsample, metric_series, section_of, section_order, smooth_ema, step_key

# matplotlib's tab10: the same colour for a run in every chart and in the legend
RUN_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

_CSS = """
.nbw-dash{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:13px;color:#222;max-width:100%}
.nbw-dash h2{font-size:18px;margin:8px 0}.nbw-dash h3{font-size:15px;margin:14px 0 6px;
border-bottom:1px solid #ddd;padding-bottom:2px}
.nbw-dash .sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.nbw-dash figure{display:inline-block;margin:4px 8px 4px 0;text-align:center;vertical-align:top}
.nbw-dash figcaption{font-size:11px;color:#555;max-width:256px}
.nbw-dash .charts{display:flex;flex-wrap:wrap;gap:6px}
.nbw-dash img.media,.nbw-dash svg.media{image-rendering:pixelated;width:256px;height:256px;object-fit:contain;
background:#f6f6f6;border:1px solid #e3e3e3}.nbw-dash svg.media{width:auto;height:auto}
.nbw-dash .muted{color:#777}
.nbw-dash img.thumb{width:64px;height:64px;object-fit:contain;image-rendering:pixelated;display:block}
"""
THUMB_PX = 64  # table image cells are embedded at most this big: a report of many rows stays small


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


def _as_local_runs(runs: Any) -> list[LocalRun]:
    if isinstance(runs, (str, os.PathLike, LocalRun)) or hasattr(runs, "run_dir"):
        items: list[Any] = [runs]
    elif isinstance(runs, RunsTable):  # from list_runs()
        items = list(runs.runs)
    elif isinstance(runs, Iterable):
        items = list(runs)
    else:
        raise TypeError(
            f"show() got {type(runs).__name__} {runs!r}; pass a run folder, a .wandb file, "
            "a run handle, a LocalRun, or a list of these"
        )
    if not items:
        raise ValueError("show() got no runs; pass at least one run folder or run handle")
    out = []
    for item in items:
        if isinstance(item, LocalRun):
            # runs from list_runs() are read without history rows: read them fully
            out.append(item if item.history or not item.steps else read_run(item.run_dir))
        else:
            out.append(read_run(item))
    return out


def _select_keys(available: list[str], keys: Sequence[str] | None) -> list[str]:
    if keys is None:
        return available
    if isinstance(keys, str):
        keys = [keys]
    chosen: dict[str, None] = {}
    for pattern in keys:
        if not isinstance(pattern, str):
            raise TypeError(
                f"keys entry {pattern!r} is not accepted; use metric names, prefixes or globs"
            )
        if any(ch in pattern for ch in "*?["):
            hits = fnmatch.filter(available, pattern)
        elif pattern in available:
            hits = [pattern]
        else:  # a section name ("train") or a prefix ("train/")
            prefix = pattern if pattern.endswith("/") else pattern + "/"
            hits = [k for k in available if k.startswith(prefix)]
        if not hits:
            shown = ", ".join(available[:20]) + (" ..." if len(available) > 20 else "")
            raise ValueError(
                f"keys entry {pattern!r} matches no metric; logged metrics: {shown or '(none)'}"
            )
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and (value or not prefix):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def config_table(runs: Sequence[LocalRun]) -> tuple[list[str], dict[str, list[Any]]]:
    """``(keys, values)``: every config key for one run; for several, the keys that differ."""
    flats = []
    for run in runs:
        flat: dict[str, Any] = {}
        _flat("", run.config, flat)
        flats.append(flat)
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    missing = object()
    rows = {k: [flat.get(k, missing) for flat in flats] for k in keys}
    if len(runs) > 1:
        rows = {k: v for k, v in rows.items() if any(x != v[0] for x in v[1:])}
    return list(rows), {k: [None if x is missing else x for x in v] for k, v in rows.items()}


class Dashboard:
    """Charts, media and config of one or more local runs; see ``nbwandb.show``."""

    def __init__(
        self,
        runs: list[LocalRun],
        *,
        smoothing: float = 0.0,
        keys: Sequence[str] | None = None,
        x: str | None = None,
        max_points: int = 1000,
        media: bool = True,
        max_rows: int = 10,
        columns: int = 3,
        title: str | None = None,
    ) -> None:
        if (
            not isinstance(smoothing, (int, float))
            or isinstance(smoothing, bool)
            or not 0 <= smoothing < 1
        ):
            raise ValueError(f"smoothing={smoothing!r} is not accepted; use a number in [0, 1)")
        for name, value, least in (
            ("columns", columns, 1),
            ("max_points", max_points, 10),
            ("max_rows", max_rows, 0),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name}={value!r} is not accepted; use an int >= {least}")
        self.runs = runs
        self.smoothing = float(smoothing)
        self.max_points = max_points
        self.media = media
        self.max_rows = max_rows
        self.columns = columns
        self.title = title or "nbwandb: " + ", ".join(r.name for r in runs[:4]) + (
            " ..." if len(runs) > 4 else ""
        )
        self._keys_arg = keys
        self._x_arg = x
        self._charts: list[Chart] | None = None
        self._staged: dict[Path, dict[str, dict[str, Path]]] = {}  # run file -> its staged tables
        self._analyse()

    def _analyse(self) -> None:
        histories = [r.history for r in self.runs]
        if self._x_arg is not None:
            if not any(self._x_arg in row for h in histories for row in h):
                raise ValueError(
                    f"x={self._x_arg!r} is not a logged key; use 'global_step', '_step' or a logged metric"
                )
            self.step_metric = self._x_arg
        else:
            self.step_metric = step_key(histories)
        available = list(
            dict.fromkeys(k for r in self.runs for k in r.metric_keys() if k != self.step_metric)
        )
        self.keys = _select_keys(available, self._keys_arg)
        self.sections: dict[str, list[str]] = {}
        # train, val, the other prefixes, then "charts" (keys without a prefix)
        for key in sorted(self.keys, key=lambda k: section_order(section_of(k))):
            self.sections.setdefault(section_of(key), []).append(key)
        self._charts = None

    def refresh(self) -> Dashboard:
        """Read what the runs wrote since, and redraw on the next display."""
        for run in self.runs:
            run.refresh()
        self._staged.clear()  # tables logged since have new artifacts
        self._analyse()
        return self

    # -- charts ------------------------------------------------------------------------------
    @property
    def charts(self) -> list[Chart]:
        if self._charts is None:
            self._charts = [self._draw_section(name, keys) for name, keys in self.sections.items()]
        return self._charts

    def _draw_section(self, section: str, keys: list[str]) -> Chart:
        """SVG charts like the RunPanel's, one line per run, raw values faint under smoothed ones."""
        from .svg_charts import Line, line_chart_svg

        per_key: dict[str, list[Line]] = {}
        lows, highs = [], []
        for key in keys:
            lines = []
            for i, run in enumerate(self.runs):
                xs, ys = metric_series(run.history, key, self.step_metric)
                if not xs:
                    continue
                lows.append(min(xs))
                highs.append(max(xs))
                color = RUN_COLORS[i % len(RUN_COLORS)]
                if self.smoothing:
                    rx, ry = downsample(xs, ys, self.max_points)
                    sx, sy = downsample(xs, smooth_ema(ys, self.smoothing), self.max_points)
                    lines.append(Line(list(zip(rx, ry, strict=True)), run.name, color, faint=True))
                    lines.append(Line(list(zip(sx, sy, strict=True)), run.name, color))
                else:
                    dx, dy = downsample(xs, ys, self.max_points)
                    lines.append(Line(list(zip(dx, dy, strict=True)), run.name, color))
            per_key[key] = lines
        x_range = (min(lows), max(highs)) if lows else None
        svgs = []
        for key in keys:
            last = self.runs[0].summary.get(key) if len(self.runs) == 1 else None
            svgs.append(
                line_chart_svg(
                    key,
                    per_key[key],
                    last=last if isinstance(last, (int, float)) else None,
                    x_range=x_range,
                    x_label=self.step_metric,
                )
            )
        return Chart(section, keys, svgs)

    # -- media -------------------------------------------------------------------------------
    def latest_media(self) -> list[tuple[int, dict[str, Any]]]:
        """``(run index, entry)`` for the newest media entry of each key in each run."""
        out = []
        for i, run in enumerate(self.runs):
            latest: dict[str, dict[str, Any]] = {}
            for entry in run.media:
                latest[entry["key"]] = entry  # history order: the last one wins
            out += [(i, e) for e in latest.values()]
        return out

    # -- text ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [
            f"{self.title}  ({len(self.runs)} run{'s' if len(self.runs) != 1 else ''}, "
            f"x = {self.step_metric}, smoothing {self.smoothing:g})"
        ]
        for run in self.runs:
            lines.append(
                f"  run {run.name} ({run.id}): {run.state}, {run.steps} steps, {run.run_dir}"
            )
        for name, keys in self.sections.items():
            lines.append(f"  {name}: " + ", ".join(keys))
        if not self.sections:
            lines.append("  no scalar metrics logged yet")
        kinds: dict[str, int] = {}
        for _, entry in self.latest_media():
            kinds[entry["type"]] = kinds.get(entry["type"], 0) + 1
        if kinds:
            lines.append("  media: " + ", ".join(f"{n} {k}" for k, n in kinds.items()))
        keys, values = config_table(self.runs)
        if len(self.runs) > 1 and keys:
            lines.append(
                "  config differs: "
                + "; ".join(f"{k} = " + " | ".join(_short(v) for v in values[k]) for k in keys[:8])
            )
        return "\n".join(lines)

    # -- html ----------------------------------------------------------------------------------
    def _html_body(self) -> str:
        e = html.escape
        parts = [f"<h2>{e(self.title)}</h2>", self._runs_html()]
        for chart in self.charts:
            parts.append(f"<h3>{e(chart.section)}</h3>{chart.html()}")
        if not self.charts:
            parts.append("<p class='muted'>no scalar metrics logged yet</p>")
        parts.append(self._config_html())
        if self.media:
            parts.append(self._media_html())
        return "".join(parts)

    def _runs_html(self) -> str:
        e = html.escape
        rows = []
        for i, run in enumerate(self.runs):
            rows.append(
                [
                    (RUN_COLORS[i % len(RUN_COLORS)], run.name),
                    run.id,
                    run.state,
                    run.start_time,
                    format_duration(run.runtime) or None,
                    run.steps,
                    run.group,
                    list(run.tags),
                ]
            )

        def cell(value: Any, column: str) -> str:
            if column == "run":
                color, name = value
                return f"<td><span class='sw' style='background:{color}'></span>{e(name)}</td>"
            return cell_html(value)

        columns = ["run", "id", "state", "start (UTC)", "duration", "steps", "group", "tags"]
        return (
            table_html(columns, rows, cell=cell, css=False)
            + f"<p class='muted'>x axis: {e(self.step_metric)}</p>"
        )

    def _config_html(self) -> str:
        keys, values = config_table(self.runs)
        if not keys:
            return (
                "<h3>config</h3><p class='muted'>"
                + ("same config in every run" if len(self.runs) > 1 else "no config")
                + "</p>"
            )
        title = "config differences" if len(self.runs) > 1 else "config"
        rows = [[k, *values[k]] for k in keys]
        table = table_html(["key", *(r.name for r in self.runs)], rows, css=False)
        return f"<h3>{title}</h3>{table}{self._summary_html()}"

    def _summary_html(self) -> str:
        if not self.keys:
            return ""
        rows = [[k, *(r.summary.get(k) for r in self.runs)] for k in self.keys]
        return "<h3>summary</h3>" + table_html(
            ["metric (last)", *(r.name for r in self.runs)], rows, css=False
        )

    def _media_html(self) -> str:
        e = html.escape
        blocks: list[str] = []
        others: list[str] = []
        for i, entry in self.latest_media():
            run = self.runs[i]
            step = entry.get(self.step_metric, entry["step"])
            label = f"{entry['key']} ({self.step_metric} {step})" + (
                f" — {run.name}" if len(self.runs) > 1 else ""
            )
            if entry["type"] in ("image", "images"):
                files = entry.get("files") or ([entry["file"]] if entry.get("file") else [])
                imgs = []
                value = self._row_value(run, entry)
                if has_overlays(value):
                    overlay = image_with_overlays_svg(run.run_dir, value, entry["key"])
                    if overlay is not None:
                        imgs.append(overlay)
                        files = []
                for path in files[:16]:
                    src = data_uri(path)
                    if src is None:
                        imgs.append(
                            f"<span class='muted'>missing or too large: {e(Path(path).name)}</span>"
                        )
                    else:
                        imgs.append(f"<img class='media' alt='{e(entry['key'])}' src='{src}'>")
                caption = entry.get("caption")
                cap = f": {e(str(caption))}" if isinstance(caption, str) and caption else ""
                blocks.append(
                    f"<figure>{''.join(imgs)}<figcaption>{e(label)}{cap}</figcaption></figure>"
                )
            elif entry["type"] == "table" and entry.get("file"):
                blocks.append(self._table_html(run, entry, label))
            elif entry["type"] in ("audio", "video") and entry.get("file"):
                src = data_uri(entry["file"])
                tag = entry["type"]
                if src is None:
                    body = (
                        f"<span class='muted'>{e(entry['path'] or '')} (too large to embed)</span>"
                    )
                elif src.startswith(
                    "data:image/"
                ):  # wandb writes short videos as GIF: an image, not a <video>
                    body = f"<img class='media video' alt='{e(entry['key'])}' src='{src}'>"
                else:
                    body = f"<{tag} controls src='{src}'></{tag}>"
                blocks.append(f"<figure>{body}<figcaption>{e(label)}</figcaption></figure>")
            elif entry["type"] == "histogram" and entry.get("bins") and entry.get("values"):
                png = _histogram_png(entry["bins"], entry["values"])
                src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                blocks.append(
                    f"<figure><img alt='{e(entry['key'])}' src='{src}'><figcaption>{e(label)}</figcaption></figure>"
                )
            else:
                size = f", {entry['size']} bytes" if "size" in entry else ""
                others.append(
                    f"<li>{e(label)}: {e(entry['type'])} {e(entry.get('path') or '')}{e(size)}</li>"
                )
        if not blocks and not others:
            return ""
        listing = f"<ul>{''.join(others)}</ul>" if others else ""
        return "<h3>media</h3>" + "".join(blocks) + listing

    @staticmethod
    def _row_value(run: LocalRun, entry: dict[str, Any]) -> Any:
        """The history row's value for a media entry (it names the masks and boxes files)."""
        for row in reversed(run.history):
            if row.get("_step") == entry.get("step") and entry["key"] in row:
                return row[entry["key"]]
        return None

    def _table_html(self, run: LocalRun, entry: dict[str, Any], label: str) -> str:
        """The last ``max_rows`` rows (a table logged each epoch grows at the end), images as thumbnails."""
        e = html.escape
        try:
            table = load_table(entry["file"], self.max_rows, last=True)
        except NbwandbError as exc:
            return f"<p class='muted'>{e(label)}: {e(str(exc))}</p>"
        staged: dict[str, Path] = {}
        if _has_media_artifact(run, entry["key"]):
            # the run-folder copy says only "Image" in image cells; the artifact's copy has the paths
            if run.run_file not in self._staged:  # one pass over the run file for all its tables
                self._staged[run.run_file] = staged_tables(run.run_file)
            files = self._staged[run.run_file].get(entry["key"])
            if files:
                try:
                    full = load_table(files[f"{entry['key']}.table.json"], self.max_rows, last=True)
                except NbwandbError:
                    full = None
                if full and full["nrows"] == table["nrows"] and full["columns"] == table["columns"]:
                    table, staged = full, files
        thumbs: dict[str, str | None] = {}  # a repeated image is encoded once

        def cell(value: Any, column: str) -> str:
            if (
                isinstance(value, dict)
                and value.get("_type") == "image-file"
                and isinstance(value.get("path"), str)
            ):
                path = value["path"]
                if path not in thumbs:
                    thumbs[path] = thumbnail_uri(
                        staged.get(path) or run.run_dir / "files" / path, THUMB_PX
                    )
                if thumbs[path]:
                    return f"<td><img class='thumb' alt='{e(column)}' src='{thumbs[path]}'></td>"
                return "<td class='muted'>image not embedded (file gone or too large)</td>"
            return cell_html(value if not isinstance(value, str) else _short(value))

        columns = [str(c) for c in table["columns"]]
        shown, nrows = len(table["data"]), table["nrows"]
        count = f"{nrows} rows" if shown == nrows else f"last {shown} of {nrows} rows"
        return (
            f"<div><b>{e(label)}</b> <span class='muted'>{count}</span>"
            + table_html(columns, table["data"], cell=cell, css=False)
            + "</div>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div class='nbw-dash nbw'><style>{_CSS}</style>{TABLE_CSS}{self._html_body()}</div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def to_html(self) -> str:
        """One self-contained HTML page (charts and media inlined; no network resources)."""
        made = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style>{TABLE_CSS}</head>"
            f"<body><div class='nbw-dash nbw'>{self._html_body()}"
            f"<p class='muted'>made by nbwandb.show on {made}</p></div></body></html>"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_html()`` to ``path`` (folders are created); returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_html(), encoding="utf-8")
        return out


def _histogram_png(bins: Sequence[float], values: Sequence[float]) -> bytes:
    """A small bar chart of one logged ``wandb.Histogram`` (``len(bins) == len(values) + 1``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2, 2.2), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    n = min(len(values), len(bins) - 1)
    widths = [bins[i + 1] - bins[i] for i in range(n)]
    ax.bar(bins[:n], values[:n], width=widths, align="edge", color=RUN_COLORS[0])
    ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.95, bottom=0.15)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    fig.clear()
    return buf.getvalue()


def _has_media_artifact(run: LocalRun, key: str) -> bool:
    """Whether ``run`` logged table ``key`` as a run_table artifact with files besides the table."""
    name = f"{key}.table.json"
    return any(
        a.get("type") == "run_table"
        and len(a.get("manifest") or []) > 1
        and any(m.get("path") == name for m in a["manifest"])
        for a in run.artifacts
    )


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, dict) and "_type" in value:
        text = f"<{value['_type']}>"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(
    runs: Any,
    *,
    smoothing: float = 0.0,
    keys: Sequence[str] | None = None,
    x: str | None = None,
    max_points: int = 1000,
    media: bool = True,
    max_rows: int = 10,
    columns: int = 3,
    title: str | None = None,
) -> Dashboard:
    """A dashboard of one or more local runs (folders, ``.wandb`` files, run handles, LocalRuns).

    ``smoothing`` in [0, 1) is the EMA weight (W&B's slider); ``keys`` picks metrics
    by name, section (``"train"``) or glob (``"val/*"``); ``x`` overrides the step
    metric; ``max_points`` bounds the points drawn per line; ``max_rows`` is how many of
    each table's last rows are shown (image cells as thumbnails).

    >>> nbwandb.show([run_a, run_b], smoothing=0.8, keys=["train", "val/acc"])   # doctest: +SKIP
    """
    return Dashboard(
        _as_local_runs(runs),
        smoothing=smoothing,
        keys=keys,
        x=x,
        max_points=max_points,
        media=media,
        max_rows=max_rows,
        columns=columns,
        title=title,
    )
