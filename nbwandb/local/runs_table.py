"""The local runs table, like the Runs page of the W&B app: one row per run folder.

>>> table = list_runs(wandb_dir)
>>> print(table)                                  # a text table (what `nbwandb runs` prints)
name     id        state     start_time ...
-------  ...
example  ...  finished  ...
>>> len(table.to_dataframe())                     # with pandas installed
1
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError, require
from nbwandb.local.reader import LocalRun, read_run_state, start_from_dir_name
from nbwandb.local.segments import group_by_run
from nbwandb.render.html_tables import format_cell, format_duration, table_html
from nbwandb.run import finish
from nbwandb.values.config import flatten_config

FIXED_COLUMNS = (
    "name",
    "id",
    "state",
    "project",
    "start_time",
    "duration",
    "steps",
    "group",
    "tags",
    "job_type",
)
MAX_TEXT_COLUMNS = 12  # the text form stays readable; the dataframe keeps every column


def default_wandb_dir() -> Path:
    """Where wandb puts runs: ``$WANDB_DIR/wandb`` or ``./wandb``."""
    base = Path(os.environ.get("WANDB_DIR") or ".")
    return base / "wandb" if (base / "wandb").is_dir() or base.name != "wandb" else base


def find_run_dirs(wandb_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Run folders (``offline-run-*``, ``run-*``) under ``wandb_dir`` that hold a ``.wandb`` file."""
    finish.wait_all()  # runs of this process still finishing in the background: whole first
    root = Path(wandb_dir) if wandb_dir is not None else default_wandb_dir()
    if not root.exists():
        raise NbwandbError(
            f"wandb folder {str(root)!r} does not exist; pass the folder that holds offline-run-* runs"
        )
    if any(root.glob("run-*.wandb")):
        return [root]  # a single run folder
    if (root / "wandb").is_dir() and not any(root.glob("*run-*")):
        root = root / "wandb"
    found = [
        d
        for pattern in ("offline-run-*", "run-*")
        for d in root.glob(pattern)
        if d.is_dir() and not d.is_symlink() and any(d.glob("*.wandb"))
    ]
    return sorted(set(found))


def run_record(run: LocalRun) -> dict[str, Any]:
    """One row of the runs table: fixed columns, then ``config.*`` and ``summary.*``."""
    row: dict[str, Any] = {
        "name": run.name,
        "id": run.id,
        "state": run.state,
        "project": run.project,
        "start_time": run.start_time,
        "duration": round(run.runtime, 3) if run.runtime is not None else None,
        "steps": run.steps,
        "group": run.group,
        "tags": list(run.tags),
        "job_type": run.job_type,
        "exit_code": run.exit_code,
        "path": str(run.run_dir),
    }
    row.update(flatten_config(run.config, "config."))
    # media values and wandb's own keys (_runtime, _timestamp) are not table cells
    summary = {
        key: value
        for key, value in run.summary.items()
        if not key.startswith("_") and not (isinstance(value, dict) and "_type" in value)
    }
    row.update(flatten_config(summary, "summary."))
    return row


class RunsTable(list):
    """A list of run rows (dicts) with ``.runs`` (the LocalRun objects) and ``.to_dataframe()``."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), runs: Iterable[LocalRun] = ()) -> None:
        super().__init__(rows)
        self.runs: list[LocalRun] = list(runs)

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self:
            for key in row:
                seen.setdefault(key, None)
        return list(seen)

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame (pandas is needed only here)."""
        pd = require("pandas", purpose="RunsTable.to_dataframe()", extra="media")
        return pd.DataFrame(list(self), columns=self.columns)

    def _cells(self, max_columns: int = MAX_TEXT_COLUMNS) -> tuple[list[str], list[list[str]]]:
        cols = [c for c in self.columns if c not in ("path", "exit_code", "project", "job_type")]
        fixed = [c for c in cols if c in FIXED_COLUMNS]
        extra = [c for c in cols if c not in FIXED_COLUMNS]
        shown = fixed + extra[: max(0, max_columns - len(fixed))]
        return shown, [[format_cell(row.get(c)) for c in shown] for row in self]

    def __str__(self) -> str:
        if not self:
            return "no runs"
        header, cells = self._cells()
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        hidden = len(self.columns) - len(header) - 4
        if hidden > 0:
            lines.append(
                f"({len(self)} run{'s' if len(self) != 1 else ''}; {hidden} more columns in .to_dataframe())"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The table as pandas would show it: numbers right-aligned, durations with units, scrolling."""
        cols = [c for c in self.columns if c not in ("path", "exit_code", "project", "job_type")]
        fixed = [c for c in cols if c in FIXED_COLUMNS]
        shown = fixed + [c for c in cols if c not in FIXED_COLUMNS][: max(0, 40 - len(fixed))]
        rows = [
            [format_duration(row.get(c)) or None if c == "duration" else row.get(c) for c in shown]
            for row in self
        ]
        caption = f"{len(self)} run{'s' if len(self) != 1 else ''} (start time in UTC)"
        return table_html(shown, rows, caption=caption, wrapper_class="nbwandb-runs")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}

    def __repr__(self) -> str:
        return f"RunsTable({len(self)} runs)"


def list_runs(
    wandb_dir: str | os.PathLike[str] | None = None, *, as_dataframe: bool = False
) -> Any:
    """The runs under ``wandb_dir`` (default ``$WANDB_DIR/wandb`` or ``./wandb``), newest first.

    >>> runs = list_runs(wandb_dir)
    >>> [(r["name"], r["state"], r["summary.train/loss"]) for r in runs]
    [...('example', 'finished', 0.05)...]

    A run folder that cannot be read is a row saying why, not an error.

    Raises:
        NbwandbError: ``wandb_dir`` does not exist.
        MissingDependencyError: ``as_dataframe=True`` without pandas.
    """
    runs: list[LocalRun] = []
    unreadable: list[dict[str, Any]] = []
    # a resumed run is one row: its newest segment joins the rest. A run of one folder is
    # read from its cache (summary, config, state: not its rows) without looking for others,
    # which is a scan of the whole wandb folder per run. Without a cache, its rows are
    # counted, not decoded, and a light cache (the state) is written: columns and sampled
    # series are built when a run is first shown.
    newest = {
        segments[-1]: len(segments) > 1
        for segments in group_by_run(find_run_dirs(wandb_dir)).values()
    }
    for run_dir in sorted(newest):
        try:
            runs.append(read_run_state(run_dir, join=newest[run_dir]))
        except (NbwandbError, OSError) as exc:  # one broken folder does not hide the others
            unreadable.append(
                {
                    "name": run_dir.name,
                    "id": "",
                    "state": "unreadable",
                    "start_time": start_from_dir_name(run_dir.name),
                    "path": str(run_dir),
                    "error": str(exc),
                }
            )
    oldest = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    runs.sort(key=lambda r: (r.start_time or oldest, r.id), reverse=True)
    rows = [run_record(r) for r in runs] + unreadable
    rows.sort(key=lambda row: (row["start_time"] or oldest, row["id"]), reverse=True)
    table = RunsTable(rows, runs)
    return table.to_dataframe() if as_dataframe else table
