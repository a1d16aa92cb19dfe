"""Finding the run to continue after a crash, and what it left behind.

wandb writes each resumed part of a run (a *segment*) to its own folder,
``offline-run-<time>-<id>`` or ``run-<time>-<id>``, under the same ``wandb/``
folder. This module finds the segments of a run, decides which run
``init(resume="auto")`` continues, and reads what the continuation needs:
the config, the last step, the checkpoints.

>>> notes = []
>>> find_resume_point("auto", project="demo", run_root=Path("."), notes=notes) is None  # nothing crashed here
True
>>> notes
["no run of project 'demo' to resume under wandb (none crashed or failed); starting a new run"]
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbwandb.errors import NbwandbError, ResumeError
from nbwandb.local.reader import LocalRun, read_run, resolve_run_file
from nbwandb.local.runs_table import find_run_dirs
from nbwandb.local.segments import group_by_run, segment_id, segment_key, segment_stamp, segments_of
from nbwandb.run.liveness import writer_alive, writer_pid
from nbwandb.values.metrics import is_number

if TYPE_CHECKING:  # pragma: no cover
    pass

RESUMABLE_STATES = ("crashed", "failed")  # "failed" includes a kill that ran the exit hook
DEFAULT_PROJECT = "uncategorized"  # what wandb names a run's project when none is given


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run goes on: its id, earlier segments, config and last step."""

    run_id: str
    project: str
    segments: tuple[Path, ...]  # oldest first
    state: str  # of the newest segment: "crashed", "failed", "finished"
    name: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    job_type: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    last_step: int | None = None  # the last value of the step metric, None before any row
    rows: int = 0  # history rows in all segments
    next_wandb_step: int = 0  # wandb's own _step for the first row of the new segment

    @property
    def start_step(self) -> int:
        """The step ``log()`` without ``step=`` writes first in the new segment."""
        return 0 if self.last_step is None else self.last_step + 1


def wandb_folder(run_root: Path) -> Path:
    """The ``wandb/`` folder wandb writes runs of ``dir=run_root`` into."""
    return run_root / "wandb"


def _read(run_dir: Path, *, history: bool) -> Any:
    try:
        return read_run(run_dir, history=history, join=False)
    except NbwandbError as exc:
        raise ResumeError(
            f"cannot resume from {run_dir}: its run file cannot be read ({exc})"
        ) from None
    except Exception as exc:  # a corrupt header or record framing
        raise ResumeError(
            f"cannot resume from {run_dir}: its run file is corrupt ({type(exc).__name__}: {exc}); "
            "move that folder away or resume another run"
        ) from None


def _live_pid(run: LocalRun) -> int | None:
    """The pid writing ``run`` when that process is alive on this host, else None."""
    if run.exit_code is not None:
        return None
    started = run.start_time.timestamp() if run.start_time else None
    if writer_alive(run.run_dir, run.host, started):
        return writer_pid(run.run_dir)
    return None


def _last_step(rows: list[dict[str, Any]], key: str) -> int | None:
    """The largest number under ``key`` in ``rows`` (None: none there)."""
    steps = [row[key] for row in rows if is_number(row.get(key))]
    return int(max(steps)) if steps else None


def point_for(segments: list[Path], *, step_metric: str = "global_step") -> ResumePoint:
    """Read ``segments`` (one run, oldest first) into a ``ResumePoint``; raises if one is corrupt."""
    for seg in segments[:-1]:
        _read(seg, history=False)  # a corrupt earlier segment fails here, naming it
    newest = _read(segments[-1], history=False)
    pid = _live_pid(newest)
    if pid is not None:
        raise ResumeError(
            f"run {newest.id} in {segments[-1]} is still being written by process {pid} on this "
            "host; nbwandb never takes over a live run. Finish it there (run.finish()) or stop "
            "that process first"
        )
    joined = read_run(segments[-1])  # all segments, one row per step
    last_wandb_step = _last_step(joined.history, "_step")
    last = _last_step(joined.history, step_metric)
    if last is None:
        last = last_wandb_step
    return ResumePoint(
        run_id=joined.id,
        project=joined.project or DEFAULT_PROJECT,
        segments=tuple(segments),
        state=newest.state,
        name=joined.name,
        group=joined.group,
        tags=tuple(joined.tags),
        job_type=joined.job_type,
        config={k: v for k, v in joined.config.items() if k != "_wandb"},
        last_step=last,
        rows=len(joined.history),
        next_wandb_step=0 if last_wandb_step is None else last_wandb_step + 1,
    )


def _newest_resumable(wandb_dir: Path, project: str) -> tuple[list[Path] | None, list[str]]:
    """The segments of the newest run of ``project`` that did not finish cleanly, and notes
    on runs passed over (live ones)."""
    notes: list[str] = []
    if not wandb_dir.is_dir():
        return None, notes
    candidates: list[tuple[tuple[str, float], list[Path]]] = []
    for rid, dirs in group_by_run(find_run_dirs(wandb_dir)).items():
        try:
            newest = _read(dirs[-1], history=False)
        except ResumeError as exc:
            notes.append(str(exc))
            continue
        if (newest.project or DEFAULT_PROJECT) != project:
            continue
        pid = _live_pid(newest)
        if pid is not None:
            notes.append(f"run {rid} is still being written by process {pid}; not resumed")
            continue
        if newest.state in RESUMABLE_STATES:
            candidates.append((segment_key(dirs[-1]), dirs))
    if not candidates:
        return None, notes
    return max(candidates, key=lambda c: c[0])[1], notes


def resumable_run(
    project: str | None, run_root: Path, *, step_metric: str = "global_step"
) -> ResumePoint | None:
    """What ``init(resume="auto")`` would continue under ``run_root``, without a word; None if nothing."""
    segments, _ = _newest_resumable(wandb_folder(run_root), project or DEFAULT_PROJECT)
    if segments is None:
        return None
    try:
        return point_for(segments, step_metric=step_metric)
    except ResumeError:
        return None


def find_resume_point(
    resume: Any,
    *,
    project: str | None,
    run_root: Path,
    step_metric: str = "global_step",
    notes: list[str] | None = None,
) -> ResumePoint | None:
    """What ``init(resume=...)`` continues: None for a new run (``"auto"`` found nothing).

    ``resume``: ``"auto"``/``True`` (the newest run of ``project`` under ``run_root`` that
    crashed or failed), a run id, or a run folder. Raises ``ResumeError`` when an id or
    folder cannot be found, belongs to another project, is corrupt or is still live.
    ``notes`` gets what ``"auto"`` has to say (runs passed over, nothing found): ``init``
    keeps them in its start outcome, which it prints unless ``quiet``.
    """
    said = notes if notes is not None else []
    wandb_dir = wandb_folder(run_root)
    if resume is True or resume == "auto":
        wanted = project or DEFAULT_PROJECT
        segments, passed_over = _newest_resumable(wandb_dir, wanted)
        said.extend(passed_over)
        if segments is None:
            said.append(
                f"no run of project {wanted!r} to resume under {wandb_dir} "
                "(none crashed or failed); starting a new run"
            )
            return None
        return point_for(segments, step_metric=step_metric)
    if isinstance(resume, os.PathLike) or (
        isinstance(resume, str) and (os.sep in resume or Path(resume).expanduser().exists())
    ):
        return _point_for_folder(Path(resume).expanduser(), project, step_metric)
    if isinstance(resume, str) and resume:
        segments = segments_of(wandb_dir, resume)
        if not segments:
            raise ResumeError(
                f"resume={resume!r}: no run with that id under {wandb_dir} (looked for "
                f"offline-run-*-{resume} and run-*-{resume} folders); pass the run's folder, "
                "dir= where it was written, or resume='auto'"
            )
        point = point_for(segments, step_metric=step_metric)
        _check_project(point, project, segments[-1])
        return point
    raise ResumeError(
        f"resume={resume!r} is not accepted; use None, 'auto', True, a run id or a run folder"
    )


def _point_for_folder(folder: Path, project: str | None, step_metric: str) -> ResumePoint:
    if not folder.exists():
        raise ResumeError(
            f"resume={str(folder)!r}: that folder does not exist; pass a run folder "
            "(wandb/offline-run-*), a run id, or resume='auto'"
        )
    try:
        run_dir, _ = resolve_run_file(folder)
    except NbwandbError as exc:
        raise ResumeError(f"resume={str(folder)!r}: {exc}") from None
    run_id = segment_id(run_dir) or _read(run_dir, history=False).id
    segments = segments_of(run_dir.parent, run_id) or [run_dir]
    point = point_for(segments, step_metric=step_metric)
    _check_project(point, project, run_dir)
    return point


def _check_project(point: ResumePoint, project: str | None, where: Path) -> None:
    if project is not None and point.project != project:
        raise ResumeError(
            f"cannot resume run {point.run_id} ({where}) in project {project!r}: it belongs to "
            f"project {point.project!r}; pass project={point.project!r} or another run"
        )


def changed_config(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``"key: old -> new"`` for each leaf of ``new`` whose value differs from ``old``'s.

    >>> changed_config({"lr": 0.1, "opt": {"m": 0.9}}, {"lr": 0.01, "opt": {"m": 0.9}})
    ['lr: 0.1 -> 0.01']
    """
    out: list[str] = []

    def walk(prefix: str, a: Any, b: Any) -> None:
        if isinstance(b, Mapping) and isinstance(a, Mapping):
            for key, value in b.items():
                walk(f"{prefix}.{key}" if prefix else str(key), a.get(key, _MISSING), value)
        elif a is _MISSING:
            out.append(f"{prefix}: (new) {b!r}")
        elif a != b:
            out.append(f"{prefix}: {a!r} -> {b!r}")

    walk("", old, new)
    return out


_MISSING = object()


def wait_for_new_folder_name(point: ResumePoint) -> None:
    """wandb names a segment's folder by the second it starts: never reuse an earlier one's.

    A resume within the same second as the crashed start would otherwise write into the
    earlier segment's folder and replace its run file.
    """
    deadline = time.monotonic() + 2.0
    taken = {segment_stamp(seg) for seg in point.segments}
    while time.strftime("%Y%m%d_%H%M%S") in taken and time.monotonic() < deadline:
        time.sleep(0.05)


__all__ = [
    "ResumeError",
    "ResumePoint",
    "changed_config",
    "find_resume_point",
    "resumable_run",
    "segments_of",
]
