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

import datetime as _dt
import fnmatch
import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nbwandb.local.reader import LocalRun, read_run
from nbwandb.local.runs_table import RunsTable
from nbwandb.render.chart_data import chart_sections
from nbwandb.render.charts import Chart
from nbwandb.render.html_tables import CSS as TABLE_CSS
from nbwandb.values.metrics import is_number
from nbwandb.views.dashboard_charts import draw_section, run_x_range
from nbwandb.views.dashboard_html import (
    CSS,
    config_html,
    config_table,
    media_html,
    runs_html,
    short,
)


def _drawable(run: LocalRun) -> bool:
    """A run whose rows are kept, or whose cache holds its sampled series (one segment)."""
    return bool(run.history) or not run.steps or (run._cache is not None and len(run.segments) <= 1)


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
        # Charts are drawn from each run's cache (sampled series: min, max and last per bucket
        # of steps), so a run of a million rows costs what is drawn; a resumed run (several
        # segments, no cache) is read whole.
        run = item if isinstance(item, LocalRun) else read_run(item, history=False)
        if not _drawable(run) and isinstance(item, LocalRun) and len(item.segments) <= 1:
            run = read_run(item.run_file, history=False)  # a list_runs run: its full cache
        if not _drawable(run):
            run = read_run(run.run_dir if isinstance(item, LocalRun) else item)
        out.append(run)
    return out


def _has_key(run: LocalRun, key: str) -> bool:
    if run.history or run._cache is None:
        return any(key in row for row in run.history)
    return key in run._cache.meta["keys"]


def _hidden_keys(run: LocalRun, step_metric: str) -> set[str]:
    """wandb's own numeric keys (``_runtime``, ``_step``, ...) in ``run``'s rows."""
    if run.history or run._cache is None:
        return {
            k
            for row in run.history
            for k, v in row.items()
            if k.startswith("_") and k != step_metric and is_number(v)
        }
    return {k for k in run._cache.meta["numeric_keys"] if k.startswith("_") and k != step_metric}


def _select_keys(
    available: list[str], keys: Sequence[str] | None, hidden: Sequence[str] = ()
) -> list[str]:
    """The keys to chart: every available one, or those ``keys`` names. wandb's own keys
    (``hidden``: ``_runtime``, ``_step``, ...) are charted only when named exactly or by a glob
    that starts with ``_``.

    >>> _select_keys(["train/loss", "val/loss"], ["train", "_runtime"], hidden=["_runtime"])
    ['train/loss', '_runtime']
    """
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
            if pattern.startswith("_"):
                hits += fnmatch.filter(hidden, pattern)
        elif pattern in available or pattern in hidden:
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
        if self._x_arg is not None:
            if not any(_has_key(r, self._x_arg) for r in self.runs):
                raise ValueError(
                    f"x={self._x_arg!r} is not a logged key; use 'global_step', '_step' or a logged metric"
                )
            self.step_metric = self._x_arg
        else:
            has_global = any(_has_key(r, "global_step") for r in self.runs)
            self.step_metric = "global_step" if has_global else "_step"
        # the sampled series are over global_step (else _step): another x needs the rows
        for i, run in enumerate(self.runs):
            if not run.history and run.steps and not _sampled_on(run, self.step_metric):
                self.runs[i] = read_run(run.run_dir)
        available = list(
            dict.fromkeys(k for r in self.runs for k in r.metric_keys() if k != self.step_metric)
        )
        hidden = (
            sorted(set().union(*(_hidden_keys(r, self.step_metric) for r in self.runs)))
            if self._keys_arg is not None
            else []
        )
        self.keys = _select_keys(available, self._keys_arg, hidden)
        self.sections = chart_sections(self.keys)
        self._charts = None

    def refresh(self) -> Dashboard:
        """Read what the runs wrote since, and redraw on the next display."""
        for run in self.runs:
            run.refresh()  # a cached run's sampled series are read on from its cache when drawn
        self._staged.clear()  # tables logged since have new artifacts
        self._analyse()
        return self

    # -- charts ------------------------------------------------------------------------------
    @property
    def charts(self) -> list[Chart]:
        if self._charts is None:
            shared = run_x_range(self.runs, self.keys, self.step_metric)
            self._charts = [
                draw_section(
                    self.runs,
                    name,
                    keys,
                    step_metric=self.step_metric,
                    smoothing=self.smoothing,
                    max_points=self.max_points,
                    x_range=shared,
                )
                for name, keys in self.sections.items()
            ]
        return self._charts

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
            label = f"{run.name} ({run.id})" if run.name and run.name != run.id else run.id
            lines.append(f"  run {label}: {run.state}, {run.steps} steps, {run.run_dir}")
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
                + "; ".join(f"{k} = " + " | ".join(short(v) for v in values[k]) for k in keys[:8])
            )
        return "\n".join(lines)

    # -- html ----------------------------------------------------------------------------------
    def _html_body(self) -> str:
        e = html.escape
        parts = [f"<h2>{e(self.title)}</h2>", runs_html(self.runs, self.step_metric)]
        for chart in self.charts:
            parts.append(f"<h3>{e(chart.section)}</h3>{chart.html()}")
        if not self.charts:
            parts.append("<p class='muted'>no scalar metrics logged yet</p>")
        parts.append(config_html(self.runs, self.keys))
        if self.media:
            parts.append(
                media_html(
                    self.runs,
                    self.latest_media(),
                    step_metric=self.step_metric,
                    max_rows=self.max_rows,
                    staged_cache=self._staged,
                )
            )
        return "".join(parts)

    def _repr_html_(self) -> str:
        return f"<div class='nbw-dash nbw'><style>{CSS}</style>{TABLE_CSS}{self._html_body()}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def to_html(self) -> str:
        """One self-contained HTML page (charts and media inlined; no network resources)."""
        made = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style>{TABLE_CSS}</head>"
            f"<body><div class='nbw-dash nbw'>{self._html_body()}"
            f"<p class='muted'>made by nbwandb.show on {made}</p></div></body></html>"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_html()`` to ``path`` (folders are created); returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_html(), encoding="utf-8")
        return out


def _sampled_on(run: LocalRun, step_metric: str) -> bool:
    """Whether ``run``'s sampled series are on ``step_metric``'s axis (x: ``global_step`` where
    a row has it, else ``_step``)."""
    return step_metric == "global_step" or (
        step_metric == "_step" and not _has_key(run, "global_step")
    )


def show(runs: Any, **options: Any) -> Dashboard:
    """A dashboard of one or more local runs (folders, ``.wandb`` files, run handles, LocalRuns).

    ``smoothing`` in [0, 1) is the EMA weight (W&B's slider); ``keys`` picks metrics
    by name, section (``"train"``) or glob (``"val/*"``); ``x`` overrides the step
    metric; ``max_points`` bounds the points drawn per line; ``max_rows`` is how many of
    each table's last rows are shown (image cells as thumbnails). Every option is a
    keyword argument of :class:`Dashboard`, which checks it.

    >>> nbwandb.show([run_dir, run_dir], smoothing=0.8, keys=["train", "val/loss"])
    nbwandb: example, example  (2 runs, x = global_step, smoothing 0.8)
    ...
      train: train/loss
      val: val/loss

    Raises:
        ValueError, TypeError: no runs, a value that is no run, or an option not accepted.
        NbwandbError: a run folder or file cannot be found or read.

    Without matplotlib, a logged histogram is listed (with the command that installs it)
    rather than drawn; everything else needs no optional package.
    """
    return Dashboard(_as_local_runs(runs), **options)
