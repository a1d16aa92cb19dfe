"""Saying so when the disk under a run fills up while it runs.

wandb-core cannot write a full disk: it logs the error in its own debug log, drops the
records, and once one write has failed it writes nothing more to that run's file. Nothing
reaches the user. ``Run.flush`` (called after every notebook cell) and ``Run.finish``
call ``warn_if_disk_full`` so that a full disk is reported where the user looks.

>>> warn_if_disk_full(run_dir)     # False: there is room (True, with one warning, when full)
False
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from nbwandb.errors import NbwandbWarning

FULL_BELOW_BYTES = 1024 * 1024
_warned: set[str] = set()


def disk_full_message(path: str | Path) -> str | None:
    """A message when the disk holding ``path`` has less than 1 MiB free, else None."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return None
    if free >= FULL_BELOW_BYTES:
        return None
    return (
        f"the disk holding {path} is full ({free // 1024} KiB free): wandb cannot write this run's file, "
        "so rows logged now are lost, and it stops writing the file altogether. Free some space, "
        "then start a new run with nbwandb.init()."
    )


def warn_if_disk_full(path: str | Path | None) -> bool:
    """Warn once per run folder when its disk is full; True if it is."""
    if path is None:
        return False
    message = disk_full_message(path)
    if message is None:
        return False
    if str(path) not in _warned:
        _warned.add(str(path))
        warnings.warn(message, NbwandbWarning, stacklevel=3)
    return True
