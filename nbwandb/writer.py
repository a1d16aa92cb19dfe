"""A bounded background writer: the training thread hands work over and goes on.

``submit`` blocks when the queue is full (back-pressure: nothing is ever dropped);
an error raised in the writer thread is kept and re-raised, wrapped, on the next
``submit``/``flush``/``close`` in the caller's thread.

The thread works in bursts: it takes everything queued, runs it, then waits up to
``linger`` seconds before looking again (a full queue, ``flush`` or ``close`` wake
it at once). On two cores this keeps it from taking the GIL once per row; items
queued with ``submit_batched`` that follow each other reach their function as one
list, so a burst of rows can be written in one go.

>>> w = BackgroundWriter(maxsize=8)
>>> w.submit(print, "written"); w.flush()
written
True
>>> rows: list[int] = []
>>> w.submit_batched(rows.extend, 1); w.submit_batched(rows.extend, 2)  # rows.extend([1, 2])
>>> w.close(), rows
(True, [1, 2])
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from .errors import WriterError

_STOP = object()
_BATCHED = object()  # marks an item queued by submit_batched

# Long enough to gather ~50 rows per burst at a 1 ms step, short enough that rows
# reach wandb-core within 0.05 s (on disk ~0.1 s later); a flush, finish or exit wakes it at once.
LINGER_S = 0.05
MAX_BURST = 512


class BackgroundWriter:
    """One daemon thread that runs submitted calls in order."""

    def __init__(
        self, maxsize: int = 1000, name: str = "nbwandb-writer", linger: float = LINGER_S
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"queue_size={maxsize!r} is not accepted; use an int >= 1")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._linger = linger
        self._wake = threading.Event()  # cuts the linger short: the queue is full, or someone waits
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
                + (
                    " wandb's service process (wandb-core) has stopped: start a new run with nbwandb.init()."
                    if isinstance(self._error, ConnectionError)
                    else ""
                )
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
        self._put((fn, args))

    def submit_batched(self, fn: Callable[[list[Any]], Any], item: Any) -> None:
        """Queue ``item`` for ``fn``; consecutive items for one ``fn`` arrive as one list."""
        self.raise_error(again=True)
        if not self.alive:
            raise WriterError("the background writer is closed; the run has finished")
        self._put((_BATCHED, fn, item))

    def _put(self, item: Any, timeout: float | None = None) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._wake.set()  # the writer may be lingering: the caller waits on it now
            self._queue.put(item, timeout=timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far has run; False on timeout."""
        if self.alive:
            done = threading.Event()
            self._put(done, timeout=timeout)
            self._wake.set()
            finished = done.wait(timeout)
        else:
            finished = True
        self.raise_error()
        return finished

    def close(self, timeout: float | None = None) -> bool:
        """Run what is queued, then stop the thread; False if it did not stop in time."""
        if self.alive:
            try:
                self._put(_STOP, timeout=timeout)
            except queue.Full:
                return False
            self._wake.set()
            self._thread.join(timeout)
        stopped = not self.alive
        self.raise_error()
        return stopped

    def _loop(self) -> None:
        while True:
            burst = [self._queue.get()]
            while len(burst) < MAX_BURST:
                try:
                    burst.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._run_burst(burst):
                return
            if not self._wake.is_set():
                self._wake.wait(self._linger)  # let rows gather instead of waking per row
            self._wake.clear()

    def _run_burst(self, burst: list[Any]) -> bool:
        """Run the items in order; False once the stop marker is reached."""
        batch: list[Any] = []
        batch_fn: Callable[[list[Any]], Any] | None = None
        for item in burst:
            if isinstance(item, tuple) and item[0] is _BATCHED:
                if batch and item[1] != batch_fn:  # == : a bound method is a new object per access
                    self._call(batch_fn, batch)
                    batch = []
                batch_fn = item[1]
                batch.append(item[2])
                continue
            if batch:
                self._call(batch_fn, batch)
                batch = []
            if item is _STOP:
                return False
            if isinstance(item, threading.Event):
                item.set()  # a flush marker: everything before it has run
                continue
            fn, args = item
            self._call(fn, *args)
        if batch:
            self._call(batch_fn, batch)
        return True

    def _call(self, fn: Any, *args: Any) -> None:
        if self._error is not None:
            return  # after a failure, skip work but keep serving flush markers
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller's thread
            self._error = exc
