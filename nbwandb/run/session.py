"""Process-wide state: the one active run, and defaults that a sweep trial pushes.

>>> active_run() is None
True
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from nbwandb.run.handle import RunHandle

_lock = threading.RLock()
_active: Any = None
_defaults: list[dict[str, Any]] = []


def active_run() -> Any:
    """The run nbwandb started last and that has not finished, or None."""
    return _active


def set_active(run: RunHandle) -> None:
    global _active
    with _lock:
        _active = run


def forget(run: RunHandle) -> None:
    """Called by ``Run.finish``: the run is no longer the active one."""
    global _active
    with _lock:
        if _active is run:
            _active = None


@contextlib.contextmanager
def init_defaults(**defaults: Any) -> Iterator[None]:
    """Inside the block, ``nbwandb.init`` uses these values (a sweep trial's config, group, ...).

    ``config`` entries override the caller's config, as a W&B sweep agent's do.
    """
    with _lock:
        _defaults.append(defaults)
    try:
        yield
    finally:
        with _lock:
            _defaults.remove(defaults)


def current_defaults() -> dict[str, Any]:
    return dict(_defaults[-1]) if _defaults else {}
