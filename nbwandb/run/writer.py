"""A bounded background writer: the training thread hands work over and goes on.

``submit`` blocks when the queue is full (back-pressure: nothing is ever dropped);
an error raised in the writer thread is kept and re-raised, wrapped, on the next
``submit``/``flush``/``close`` in the caller's thread.

The thread works in bursts: it takes everything queued, runs it, then waits up to
``linger`` seconds before looking again (a quarter-full queue, ``flush`` or
``close`` wake it at once; so does the first item after it found nothing to do).
On two cores this keeps it from taking the GIL once per row; items
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
from collections import deque
from collections.abc import Callable
from typing import Any

from nbwandb.errors import WriterError

_STOP = object()
_BATCHED = object()  # marks an item queued by submit_batched

# Each burst has a fixed cost in GIL time on a busy two-core machine (cold wake-ups of
# this thread and of wandb's asyncio thread), which the training thread waits for at the
# end of its step. Fewer bursts, less waiting: the training thread waited less per step
# with bursts every 0.2 s than every 0.1 s (benchmarks/bench_logging.py prints that wait;
# run it with another LINGER_S to compare). Rows reach wandb-core within
# 0.2 s (live charts redraw every 0.25 s); a flush, finish, exit or a quarter-full queue
# wakes it at once. The cost of a longer linger: up to 0.2 s of rows still to hand over
# when a finish follows the logging in the same cell.
LINGER_S = 0.2
MAX_BURST = 512


class BackgroundWriter:
    """One daemon thread that runs submitted calls in order."""

    def __init__(
        self, maxsize: int = 1000, name: str = "nbwandb-writer", linger: float = LINGER_S
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"queue_size={maxsize!r} is not accepted; use an int >= 1")
        # A deque, not a queue.Queue: appending takes no lock (a fraction of Queue.put's cost,
        # in the training thread, once per row). Callers check the bound themselves (_put).
        self._items: deque[Any] = deque()
        self._maxsize = maxsize
        # this many queued: wake the writer before its linger ends
        self._early = max(1, maxsize // 4)
        # callers wait here while the queue is full
        self._space = threading.Condition(threading.Lock())
        self._space_waiters = 0
        self._idle = False  # the writer found nothing to do and waits for the next item
        self._linger = linger
        self._wake = threading.Event()  # cuts the linger short: work is waiting, or someone waits
        self._error: BaseException | None = None
        self._error_reported = False
        # Called before a flush or close completes, for work handed on without waiting
        # (rows sent to wandb-core): it waits for that work and raises what went wrong.
        self.settle: Callable[[], None] | None = None
        self.submitted = 0  # calls queued so far: tells a flush whether anything is new
        # Called in this thread once the queue has stayed empty ``idle_after`` seconds after
        # some work (the run pushes wandb's file block there; errors are the hook's own).
        self.on_idle: Callable[[], None] | None = None
        self.idle_after = 0.5
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def pending(self) -> int:
        """How many calls wait in the queue (an estimate, as with any queue)."""
        return len(self._items)

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
        self.submitted += 1
        self._put((fn, args))

    @property
    def healthy(self) -> bool:
        """No error so far (an alive thread is checked on submit)."""
        return self._error is None

    def submit_batched(self, fn: Callable[[list[Any]], Any], item: Any) -> None:
        """Queue ``item`` for ``fn``; consecutive items for one ``fn`` arrive as one list."""
        if self._error is not None:
            self.raise_error(again=True)
        if not self._thread.is_alive():
            raise WriterError("the background writer is closed; the run has finished")
        self.submitted += 1
        self._put((_BATCHED, fn, item))

    def _put(self, item: Any, timeout: float | None = None) -> None:
        """Append ``item``, waiting (up to ``timeout``) while the queue is full; queue.Full after it."""
        items = self._items
        if len(items) >= self._maxsize:
            self._wait_for_space(timeout)
        items.append(item)
        if self._idle or len(items) >= self._early:
            self._wake.set()

    def _wait_for_space(self, timeout: float | None) -> None:
        self._wake.set()  # the writer may be lingering: the caller waits on it now
        with self._space:
            self._space_waiters += 1
            try:
                if not self._space.wait_for(lambda: len(self._items) < self._maxsize, timeout):
                    raise queue.Full
            finally:
                self._space_waiters -= 1

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
                return False  # the writer is stuck on a call: it cannot take the stop in time
            self._wake.set()
            self._thread.join(timeout)
        stopped = not self.alive
        self.raise_error()
        return stopped

    def _loop(self) -> None:
        items = self._items
        worked = False  # a burst ran since the last on_idle call
        while True:
            if not items:
                self._idle = True  # from here on, the next _put wakes this thread
                if worked and self.on_idle is not None and not items:
                    worked = False
                    if not self._wake.wait(self.idle_after) and not items:
                        self._idle_hook()
                if not items:  # (checked again: an item put just before the flag was set)
                    self._wake.wait()
                self._idle = False
            self._wake.clear()  # before taking the burst: a wake-up for a later item is kept
            burst: list[Any] = []
            while items and len(burst) < MAX_BURST:
                burst.append(items.popleft())
            if self._space_waiters:
                with self._space:
                    self._space.notify_all()
            if not self._run_burst(burst):
                return
            worked = True
            if not self._wake.is_set():
                self._wake.wait(self._linger)  # let rows gather instead of waking per row

    def _idle_hook(self) -> None:
        # The hook's errors are its own (the next log or flush meets a broken stream), and none
        # may end this thread: a BaseException from wandb's asyncio side (a cancelled future)
        # would end it silently, and every later log would read "the writer is closed".
        try:
            self.on_idle()  # type: ignore[misc]
        except BaseException:  # noqa: BLE001, S110
            pass

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
            if item is _STOP or isinstance(item, threading.Event):
                if self.settle is not None:
                    self._call(self.settle)
                if not isinstance(item, threading.Event):
                    return False  # the stop marker
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
