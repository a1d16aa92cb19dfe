"""``run.latest_checkpoint()``: the newest checkpoint a run logged, in any of its segments.

A resumed run's earlier segments are read back (their artifact records only, no history), so
a notebook restarted after a crash finds the checkpoint the crashed segment logged.

>>> with nbwandb.init(project="demo", mode="offline", quiet=True) as run:
...     print(run.latest_checkpoint())          # none logged yet
None
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbwandb.artifacts.run_artifacts import logged_checkpoint
from nbwandb.errors import NbwandbWarning
from nbwandb.run.handle import RunHandle


def latest_checkpoint(run: RunHandle, name: str | None = None) -> Path | None:
    """The newest checkpoint logged by this run (any segment) as a local path, or None.

    ``name`` defaults to ``model-{run.id}`` (``log_checkpoint``'s name). A one-file
    checkpoint gives that file (wandb's staged copy); a folder gives a folder. With
    ``nbwandb.checkpoints.load_torch`` it restores model and optimizer after a resume.
    A checkpoint whose staged files are gone gives None and a warning that says so.
    """
    if run.run_dir is None:  # a handle that writes nothing has no checkpoints
        return None
    if not run.finished:
        run.flush()
    name = name if name is not None else f"model-{run.id}"
    record = logged_checkpoint(run, name)  # this segment's newest, known without reading files
    if record is None:
        records = checkpoint_records([*run.resumed_from, run.run_dir], name)
        record = records[-1] if records else None
    if record is None:
        return None
    path = materialise(record, run.run_dir / "nbwandb-checkpoints")
    if path is None:
        warnings.warn(
            f"checkpoint {name!r} ({record.get('digest', '')}) was logged, but its staged files "
            "are no longer on this machine",
            NbwandbWarning,
            stacklevel=2,
        )
    return path


def checkpoint_records(segments: list[Path], name: str) -> list[dict[str, Any]]:
    """The artifact records named ``name`` in ``segments``, in the order they were logged."""
    from nbwandb.local.reader import read_run

    out: list[dict[str, Any]] = []
    for seg in segments:
        try:
            run = read_run(seg, history=False, join=False)
        except Exception:  # noqa: BLE001 - a corrupt segment holds no usable checkpoint
            continue
        out += [a for a in run.artifacts if a.get("name") == name]
    return out


def materialise(record: Mapping[str, Any], target_root: Path) -> Path | None:
    """A local path holding the checkpoint's files: the staged file of a one-file checkpoint,
    or a folder of links to the staged files. None when a staged copy is gone."""
    entries = list(record.get("manifest") or [])
    if not entries:
        return None
    for entry in entries:
        local = entry.get("local_path")
        if not local or not Path(local).is_file():
            return None
        size = entry.get("size")
        if size and Path(local).stat().st_size != size:
            return None
    if len(entries) == 1 and "/" not in entries[0]["path"]:
        return Path(entries[0]["local_path"])
    folder = target_root / f"{record['name']}-{str(record.get('digest', ''))[:12]}"
    for entry in entries:
        dest = folder / entry["path"]
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(entry["local_path"], dest)  # no copy of a large checkpoint where possible
        except OSError:
            shutil.copyfile(entry["local_path"], dest)
    return folder
