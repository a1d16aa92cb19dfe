"""A bounded background writer: the training thread hands work over and goes on.

``submit`` blocks when the queue is full (back-pressure: nothing is ever dropped);
an error raised in the writer thread is kept and re-raised, wrapped, on the next
``submit``/``flush``/``close`` in the caller's thread.

>>> w = BackgroundWriter(maxsize=8); w.submit(print, "written"); w.flush()  # doctest: +SKIP
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from .errors import WriterError

_STOP = object()


class BackgroundWriter:
    """One daemon thread that runs submitted calls in order."""

    def __init__(self, maxsize: int = 1000, name: str = "nbwandb-writer") -> None:
        if maxsize < 1:
            raise ValueError(f"queue_size={maxsize!r} is not accepted; use an int >= 1")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._error_reported = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        """How many calls wait in the queue (an estimate, as with any queue)."""
        return self._queue.qsize()

    def raise_error(self, *, again: bool = False) -> None:
        """Re-raise an error the writer thread met: in full once, then (``again``) briefly."""
        if self._error is None:
            return
        if not self._error_reported:
            self._error_reported = True
            raise WriterError(
                f"writing to wandb failed in the background: {type(self._error).__name__}: {self._error}. "
                "Rows logged before it were written; this one and later ones were not."
                + (" wandb's service process (wandb-core) has stopped: start a new run with nbwandb.init()."
                   if isinstance(self._error, ConnectionError) else "")
            ) from self._error
        if again:
            raise WriterError(
                f"the background writer stopped after an earlier error ({type(self._error).__name__}); "
                "nothing more can be logged to this run: finish it and start a new one"
            ) from self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``; waits while the queue is full."""
        self.raise_error(again=True)
        if not self.alive:
            raise WriterError("the background writer is closed; the run has finished")
        self._queue.put((fn, args))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far has run; False on timeout."""
        if self.alive:
            done = threading.Event()
            self._queue.put(done, timeout=timeout)
            finished = done.wait(timeout)
        else:
            finished = True
        self.raise_error()
        return finished

    def close(self, timeout: float | None = None) -> bool:
        """Run what is queued, then stop the thread; False if it did not stop in time."""
        if self.alive:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                return False
            self._thread.join(timeout)
        stopped = not self.alive
        self.raise_error()
        return stopped

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()  # a flush marker: everything before it has run
                continue
            if self._error is not None:
                continue  # after a failure, skip work but keep serving flush markers
            fn, args = item
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller's thread
                self._error = exc
