"""Did an online run's upload complete? A small file in the run folder says so.

wandb keeps no record of it: an online run whose server went away mid-run looks like
any other ``run-*`` folder, and ``wandb sync`` skips online folders. nbwandb writes
``nbwandb-upload.json`` beside the ``.wandb`` file: "uploading" at ``init``,
"complete" once wandb's ``finish`` returned and wandb-core's signals say nothing failed
(``nbwandb.run.upload_outcome``: a refused key or file makes wandb-core stop uploading while
its ``finish`` still returns normally), "incomplete" when ``finish`` gave up or the
upload stopped, and "synced" after ``nbwandb sync`` finished the upload.
A folder still saying "uploading" whose writer process is gone was cut off by a
killed kernel: its upload is incomplete too.

>>> folder = __import__("pathlib").Path("run-x"); folder.mkdir()
>>> mark(folder, "uploading", host="https://api.wandb.ai")
>>> upload_state(folder).needs_sync          # this process is still uploading
False
>>> mark(folder, "incomplete", detail="finish timed out after 60s")
>>> upload_state(folder).needs_sync
True
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbwandb.run.liveness import pid_alive

FILE_NAME = "nbwandb-upload.json"
STATES = ("uploading", "complete", "incomplete", "synced")


@dataclass(frozen=True)
class UploadState:
    """What the folder says: ``state`` (one of STATES, or "unknown" without the file)."""

    state: str
    host: str = ""
    detail: str = ""
    pid: int | None = None
    updated: float | None = None

    @property
    def needs_sync(self) -> bool:
        """True when the server may lack some of the run: the upload did not complete."""
        if self.state == "incomplete":
            return True
        if self.state == "uploading":
            # A live writer is still uploading; one that cannot be told is taken as live, so
            # a sync never races the upload. It was running when it wrote ``updated``.
            return not self.pid or pid_alive(self.pid, self.updated) is False
        return False

    @property
    def done(self) -> bool:
        return self.state in ("complete", "synced")


def mark(run_dir: str | os.PathLike[str], state: str, *, host: str = "", detail: str = "") -> None:
    """Write the upload state of ``run_dir`` (atomically: a reader never sees half a file)."""
    if state not in STATES:
        raise ValueError(f"upload state {state!r} is not accepted; use one of {', '.join(STATES)}")
    path = Path(run_dir) / FILE_NAME
    previous = _read_raw(path)
    data = {
        "state": state,
        "host": host or previous.get("host", ""),
        "detail": detail,
        "pid": os.getpid(),
        "updated": time.time(),
    }
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        # A run folder we cannot write to (full disk, removed): the state is advice only.
        tmp.unlink(missing_ok=True)


def _read_raw(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def upload_state(run_dir: str | os.PathLike[str]) -> UploadState:
    """The upload state recorded in ``run_dir``; "unknown" when nbwandb did not write one."""
    data = _read_raw(Path(run_dir) / FILE_NAME)
    state = data.get("state")
    if state not in STATES:
        return UploadState("unknown")
    pid, updated = data.get("pid"), data.get("updated")
    return UploadState(
        state,
        str(data.get("host") or ""),
        str(data.get("detail") or ""),
        pid if isinstance(pid, int) else None,
        updated if isinstance(updated, (int, float)) else None,
    )
