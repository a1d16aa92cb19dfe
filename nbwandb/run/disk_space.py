"""Room on the disk under a run: one threshold, checked before a run starts and while it runs.

``MIN_FREE_BYTES`` is the room a run needs. ``nbwandb.init`` refuses a folder with less (or
one it cannot write), ``%wandb_doctor`` reports it, and a running run warns once when its
disk drops below it. That warning matters: wandb-core cannot write a full disk. It logs the
error in its own debug log, drops the records, and once one write has failed it writes
nothing more to that run's file. Nothing reaches the user, so ``Run.flush`` (called after
every notebook cell) and ``Run.finish`` call ``warn_if_disk_full``, before the disk is full.

>>> check_run_dir(run_dir).problem          # None: writable, with room
>>> warn_if_disk_full(run_dir)              # False: there is room (True, with one warning, when not)
False
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from nbwandb.errors import NbwandbWarning

MIB = 1024 * 1024
MIN_FREE_BYTES = 50 * MIB  # read at call time: tests lower or raise it
_warned: set[str] = set()


@dataclass(frozen=True)
class RunDirCheck:
    """Can runs be written under ``directory``? ``probe``: its nearest existing folder (the
    one that is checked); ``free``: bytes free on its disk (None: the disk did not say)."""

    directory: Path
    probe: Path
    writable: bool
    free: int | None

    @property
    def room(self) -> bool:
        return self.free is None or self.free >= MIN_FREE_BYTES

    @property
    def problem(self) -> str | None:
        """What stops runs being written here, or None."""
        if not self.writable:
            return f"{self.probe} is not writable"
        if not self.room:
            return (
                f"only {self.free_mib} MiB free on its disk "
                f"(nbwandb wants at least {MIN_FREE_BYTES // MIB} MiB)"
            )
        return None

    @property
    def free_mib(self) -> int | None:
        return None if self.free is None else self.free // MIB


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free on the disk holding ``path`` (None when the disk cannot be asked)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def check_run_dir(directory: str | os.PathLike[str]) -> RunDirCheck:
    """Whether runs can be written under ``directory`` (which need not exist yet)."""
    directory = Path(directory)
    probe = directory
    while not probe.exists():
        probe = probe.parent
    # Creating a run's folder inside needs write and search (x) permission.
    writable = os.access(probe, os.W_OK | os.X_OK)
    return RunDirCheck(directory, probe, writable, free_bytes(probe))


def disk_full_message(path: str | Path) -> str | None:
    """A message when the disk holding ``path`` has less than ``MIN_FREE_BYTES`` free, else None."""
    free = free_bytes(path)
    if free is None or free >= MIN_FREE_BYTES:
        return None
    return (
        f"the disk holding {path} is full or nearly ({free // MIB} MiB free, under the "
        f"{MIN_FREE_BYTES // MIB} MiB a run needs): once it is full, wandb cannot write this "
        "run's file, so rows logged then are lost, and it stops writing the file altogether. "
        "Free some space now; if rows were lost, start a new run with nbwandb.init()."
    )


def warn_if_disk_full(path: str | Path | None) -> bool:
    """Warn once per run folder when its disk has less room than a run needs; True if so."""
    if path is None:
        return False
    message = disk_full_message(path)
    if message is None:
        return False
    if str(path) not in _warned:
        _warned.add(str(path))
        warnings.warn(message, NbwandbWarning, stacklevel=3)
    return True
