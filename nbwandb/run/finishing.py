"""Runs whose ``finish`` goes on in a background thread, and waiting for them, bounded.

In a notebook kernel ``run.finish()`` returns once the run has stopped taking rows: the
rows still queued go through wandb-core (CPU time for each one) in the background, so a
cell that logged in a tight loop does not wait for them. Whatever needs the finished run
waits here first: the next ``nbwandb.init``, a read of a run in this process
(``nbwandb.local``), ``run.finish(wait=True)``, and Python's exit. Another process that
reads the run folder meanwhile sees a run "still being written" (its writer is alive).

>>> import threading
>>> done = threading.Event()
>>> begin(done)
>>> pending()
1
>>> done.set()
>>> wait_all(1.0), pending()
(True, 0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_pending: list[threading.Event] = []
_here = threading.local()  # .finishing: this thread runs a background finish
_listeners: list[Callable[[], object]] = []


def ended(run: Any) -> bool:
    """Has ``run`` ended for good: not running, and not finishing in the background?

    >>> from nbwandb.run.run import NoOpRun
    >>> ended(NoOpRun())
    True
    """
    return not getattr(run, "enabled", False) or (bool(run.finished) and run.state != "finishing")


def add_listener(fn: Callable[[], object]) -> None:
    """Call ``fn()`` after each background finish ends (the notebook layer republishes
    its panels' saved forms then, even when no cell runs after the finish)."""
    with _lock:
        if fn not in _listeners:
            _listeners.append(fn)


def run_in_background(work: Callable[[], None], done: threading.Event, name: str) -> None:
    """Start ``work`` in a daemon thread registered here; ``done`` is set when it returns."""

    def target() -> None:
        _here.finishing = True  # reads inside the finish itself must not wait for it
        try:
            work()
        finally:
            done.set()
            for fn in list(_listeners):
                try:
                    fn()
                except Exception:  # noqa: BLE001, S110 - a listener must not break the finish
                    pass

    begin(done)
    threading.Thread(target=target, name=name, daemon=True).start()


def begin(done: threading.Event) -> None:
    """Register a background finish; ``done`` is set when it has ended (however it ended)."""
    with _lock:
        _pending.append(done)


def pending() -> int:
    """How many background finishes have not ended yet."""
    with _lock:
        _pending[:] = [event for event in _pending if not event.is_set()]
        return len(_pending)


def wait_all(timeout: float | None = None) -> bool:
    """Wait until every background finish has ended; False if some had not within ``timeout``.

    Each finish is bounded by its own ``timeout`` (60 s unless the caller chose), so waiting
    without one here still ends.
    """
    if getattr(_here, "finishing", False):
        return True
    deadline = None if timeout is None else time.monotonic() + timeout
    with _lock:
        events = list(_pending)
    for event in events:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not event.wait(left):
            return False
    pending()
    return True


__all__ = ["add_listener", "begin", "ended", "pending", "run_in_background", "wait_all"]
