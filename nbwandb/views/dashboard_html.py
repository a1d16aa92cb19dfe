"""The HTML pieces of ``nbwandb.show``'s page: runs table, config, summary, media.

Each piece is a function of the runs it shows; ``dashboard.Dashboard`` puts them together.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbwandb.errors import MissingDependencyError, NbwandbError
from nbwandb.local.media_files import data_uri, load_table, staged_tables, thumbnail_uri
from nbwandb.local.reader import LocalRun
from nbwandb.render.html_tables import cell_html, format_cell, format_duration, table_html
from nbwandb.render.svg_charts import COLORS
from nbwandb.values.config import flatten_config
from nbwandb.views.dashboard_charts import histogram_png
from nbwandb.views.overlays_html import has_overlays, image_with_overlays_svg

CSS = """
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


def config_table(runs: Sequence[LocalRun]) -> tuple[list[str], dict[str, list[Any]]]:
    """``(keys, values)``: every config key for one run; for several, the keys that differ."""
    flats = [flatten_config(run.config) for run in runs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    missing = object()
    rows = {k: [flat.get(k, missing) for flat in flats] for k in keys}
    if len(runs) > 1:
        rows = {k: v for k, v in rows.items() if any(x != v[0] for x in v[1:])}
    return list(rows), {k: [None if x is missing else x for x in v] for k, v in rows.items()}


def runs_html(runs: Sequence[LocalRun], step_metric: str) -> str:
    """The runs table: colour swatch and name, id, state, start, duration, steps, group, tags."""
    e = html.escape
    rows = []
    for i, run in enumerate(runs):
        rows.append(
            [
                (COLORS[i % len(COLORS)], run.name),
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
        + f"<p class='muted'>x axis: {e(step_metric)}</p>"
    )


def config_html(runs: Sequence[LocalRun], metric_keys: Sequence[str]) -> str:
    """The config (its differences, for several runs), then the last value of each metric."""
    keys, values = config_table(runs)
    if not keys:
        return (
            "<h3>config</h3><p class='muted'>"
            + ("same config in every run" if len(runs) > 1 else "no config")
            + "</p>"
        )
    title = "config differences" if len(runs) > 1 else "config"
    rows = [[k, *values[k]] for k in keys]
    table = table_html(["key", *(r.name for r in runs)], rows, css=False)
    return f"<h3>{title}</h3>{table}{summary_html(runs, metric_keys)}"


def summary_html(runs: Sequence[LocalRun], metric_keys: Sequence[str]) -> str:
    if not metric_keys:
        return ""
    rows = [[k, *(r.summary.get(k) for r in runs)] for k in metric_keys]
    return "<h3>summary</h3>" + table_html(
        ["metric (last)", *(r.name for r in runs)], rows, css=False
    )


def media_html(
    runs: Sequence[LocalRun],
    entries: Sequence[tuple[int, dict[str, Any]]],
    *,
    step_metric: str,
    max_rows: int,
    staged_cache: dict[Path, dict[str, dict[str, Path]]],
) -> str:
    """The latest media of each key: images (with overlays), tables, audio, video, histograms."""
    e = html.escape
    blocks: list[str] = []
    others: list[str] = []
    for i, entry in entries:
        run = runs[i]
        step = entry.get(step_metric, entry["step"])
        label = f"{entry['key']} ({step_metric} {step})" + (
            f" — {run.name}" if len(runs) > 1 else ""
        )
        if entry["type"] in ("image", "images"):
            files = entry.get("files") or ([entry["file"]] if entry.get("file") else [])
            imgs = []
            value = row_value(run, entry)
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
            blocks.append(
                table_block(run, entry, label, max_rows=max_rows, staged_cache=staged_cache)
            )
        elif entry["type"] in ("audio", "video") and entry.get("file"):
            src = data_uri(entry["file"])
            tag = entry["type"]
            if src is None:
                body = f"<span class='muted'>{e(entry['path'] or '')} (too large to embed)</span>"
            elif src.startswith(
                "data:image/"
            ):  # wandb writes short videos as GIF: an image, not a <video>
                body = f"<img class='media video' alt='{e(entry['key'])}' src='{src}'>"
            else:
                body = f"<{tag} controls src='{src}'></{tag}>"
            blocks.append(f"<figure>{body}<figcaption>{e(label)}</figcaption></figure>")
        elif entry["type"] == "histogram" and entry.get("bins") and entry.get("values"):
            try:
                png = histogram_png(entry["bins"], entry["values"])
            except MissingDependencyError as exc:  # matplotlib is optional: list it undrawn
                others.append(
                    f"<li>{e(label)}: histogram, not drawn; "
                    f"<code>{e(exc.command)}</code> installs matplotlib to draw it</li>"
                )
                continue
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


def row_value(run: LocalRun, entry: dict[str, Any]) -> Any:
    """The history row's value for a media entry (it names the masks and boxes files)."""
    if "value" in entry:  # a run read from its cache keeps the values that have overlays
        return entry["value"]
    for row in reversed(run.history):
        if row.get("_step") == entry.get("step") and entry["key"] in row:
            return row[entry["key"]]
    return None


def table_block(
    run: LocalRun,
    entry: dict[str, Any],
    label: str,
    *,
    max_rows: int,
    staged_cache: dict[Path, dict[str, dict[str, Path]]],
) -> str:
    """The last ``max_rows`` rows (a table logged each epoch grows at the end), images as thumbnails."""
    e = html.escape
    try:
        table = load_table(entry["file"], max_rows, last=True)
    except NbwandbError as exc:
        return f"<p class='muted'>{e(label)}: {e(str(exc))}</p>"
    staged: dict[str, Path] = {}
    if has_media_artifact(run, entry["key"]):
        # the run-folder copy says only "Image" in image cells; the artifact's copy has the paths
        if run.run_file not in staged_cache:  # one pass over the run file for all its tables
            staged_cache[run.run_file] = staged_tables(run.run_file)
        files = staged_cache[run.run_file].get(entry["key"])
        if files:
            try:
                full = load_table(files[f"{entry['key']}.table.json"], max_rows, last=True)
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
        return cell_html(value if not isinstance(value, str) else short(value))

    columns = [str(c) for c in table["columns"]]
    shown, nrows = len(table["data"]), table["nrows"]
    count = f"{nrows} rows" if shown == nrows else f"last {shown} of {nrows} rows"
    return (
        f"<div><b>{e(label)}</b> <span class='muted'>{count}</span>"
        + table_html(columns, table["data"], cell=cell, css=False)
        + "</div>"
    )


def has_media_artifact(run: LocalRun, key: str) -> bool:
    """Whether ``run`` logged table ``key`` as a run_table artifact with files besides the table."""
    name = f"{key}.table.json"
    return any(
        a.get("type") == "run_table"
        and len(a.get("manifest") or []) > 1
        and any(m.get("path") == name for m in a["manifest"])
        for a in run.artifacts
    )


def short(value: Any, limit: int = 80) -> str:
    """A cell's text (the tables' one number format), cut to ``limit`` characters."""
    text = format_cell(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
