"""The folders (segments) one run is written to: each resume of a run gets its own.

wandb names a run's folder ``offline-run-<time>-<id>`` (or ``run-<time>-<id>`` online);
a resumed run keeps its id, so its segments lie side by side under one ``wandb/`` folder.

>>> segment_id(Path("wandb/offline-run-20261206_101010-abc123"))
'abc123'
>>> segments_of(run_dir.parent, segment_id(run_dir)) == [run_dir]
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

SEGMENT_NAME = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-(.+)$")


def segment_id(run_dir: Path) -> str | None:
    """The run id of a segment folder: its ``run-<id>.wandb`` file's, else the folder name's.

    The file says it best: wandb adds ``-1``, ``-2`` to a folder name that is taken.
    """
    for run_file in run_dir.glob("run-*.wandb"):
        return run_file.stem[len("run-") :]
    match = SEGMENT_NAME.match(run_dir.name)
    return match.group(3) if match else None


def segment_stamp(run_dir: Path) -> str:
    """The start second in a segment folder's name (``20261206_101010``), or ""."""
    match = SEGMENT_NAME.match(run_dir.name)
    return match.group(2) if match else ""


def segment_key(run_dir: Path) -> tuple[str, float]:
    """Sort key: the start second in the name, then the folder's mtime."""
    try:
        mtime = run_dir.stat().st_mtime
    except OSError:
        mtime = 0.0
    return segment_stamp(run_dir), mtime


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def segments_of(wandb_dir: Path, run_id: str) -> list[Path]:
    """Every folder of run ``run_id`` under ``wandb_dir`` that holds a ``.wandb`` file, oldest first."""
    found = [
        d
        for d in wandb_dir.glob(f"*run-*-{_glob_escape(run_id)}*")
        if d.is_dir() and not d.is_symlink() and (d / f"run-{run_id}.wandb").is_file()
    ]
    return sorted(found, key=segment_key)


def group_by_run(run_dirs: Iterable[Path]) -> dict[str, list[Path]]:
    """Run folders by run id, each run's segments oldest first (a folder with no id is its own)."""
    groups: dict[str, list[Path]] = {}
    for run_dir in run_dirs:
        groups.setdefault(segment_id(run_dir) or str(run_dir), []).append(run_dir)
    for segments in groups.values():
        segments.sort(key=segment_key)
    return groups
