"""In a notebook kernel, keep the active run's cache (``cache.py``) up to date while it logs.

The first ``nbwandb.show`` of a long run would otherwise parse the whole run file (about
20 s for a million rows). The keeper reads on from where the cache ends, so that ``show``,
``columns()`` and ``to_pandas()`` after a training cell find the cache current.

What it may cost the training loop is the rule that shapes it:

- It works when the kernel is idle, between cells, at full speed.
- While a cell runs it takes at most ``BUSY_SHARE`` (1%) of the time: it reads a small
  window of the run file, then sleeps 99 times as long as the window took; a whole pass
  (writing the cache included) is followed by a pause of 99 times the pass, at least
  ``BUSY_PERIOD``.
- Its memory is a window of the file and one column at a time when the cache is written:
  the columns are spilled to a temporary file while they are built (``ColumnBuilder``).
- It runs in one daemon thread, started by the first kept run. At interpreter exit it is
  told to stop and is waited for briefly; a cache half written is a temporary file, never
  the cache.

Scripts have no idle time between cells, and a script's process ends at its finish: there
the first read builds the cache, as for runs nbwandb did not write.

>>> from nbwandb.local.cache import cache_path
>>> from nbwandb.local.reader import read_run
>>> keeper = CacheKeeper()
>>> keeper.keep(run_dir)          # a run folder, or a handle (its folder once it started)
>>> keeper.wait_idle(timeout=30)  # (tests) every kept run read to the end of its file
True
>>> cache_path(read_run(run_dir).run_file).is_file()
True
>>> keeper.stop()
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import Any

BUSY_SHARE = 0.01  # of the time while a cell runs: the keeper's CPU at most, in its windows
BUSY_PERIOD = 30.0  # seconds at least between passes while a cell runs
BUSY_WINDOW = 256 << 10  # bytes of the run file read at a time while a cell runs (~10 ms)
IDLE_WINDOW = 4 << 20  # and while the kernel is idle
STOP_WAIT = 2.0  # seconds the exit waits for a pass to stop


class _Stopped(Exception):
    """Raised from the pace between windows: the keeper is stopping (interpreter exit)."""


class CacheKeeper:
    """One daemon thread that keeps the caches of the runs given to ``keep`` current.

    ``cell_started()`` and ``cell_ended()`` are IPython's ``pre_run_cell`` and
    ``post_run_cell``; ``install(shell)`` registers them. A run is kept until a pass has
    read its exit record (or its folder is gone).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: list[Any] = []  # run folders, or handles whose folder is read when started
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._quiet = threading.Event()  # set when a pass found nothing left to read
        self._thread: threading.Thread | None = None
        self._registered: set[int] = set()
        self.passes = 0
        self.cpu_seconds = 0.0  # the keeper thread's CPU time reading and writing caches
        self.windows = 0  # windows of run files read
        self._cpu = 0.0  # the keeper thread's CPU time when its current window began
        self.last_error: BaseException | None = None

    # -- what the kernel tells it ---------------------------------------------------------
    def keep(self, run: Any) -> None:
        """Keep ``run``'s cache current (a run folder, or a run handle)."""
        with self._lock:
            if not any(kept is run for kept in self._runs):
                self._runs.append(run)
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="nbwandb-cache-keeper", daemon=True
                )
                self._thread.start()
        self._quiet.clear()
        if self._idle.is_set():
            self._wake.set()  # (inside a cell, the first pass waits for its end or BUSY_PERIOD)

    def cell_started(self, *args: Any, **kwargs: Any) -> None:
        """A cell began: from now on the keeper takes at most ``BUSY_SHARE`` of the time."""
        self._idle.clear()

    def cell_ended(self, *args: Any, **kwargs: Any) -> None:
        """A cell ended: read on at full speed while the kernel is idle."""
        self._idle.set()
        self._quiet.clear()
        self._wake.set()

    def wake(self) -> None:
        """Read on now (a run finished in the background)."""
        self._quiet.clear()
        self._wake.set()

    def install(self, shell: Any) -> None:
        """Register the cell hooks on an IPython shell (once per shell), from inside a cell."""
        if id(shell) in self._registered:
            return
        self._idle.clear()  # this cell began before the hooks were there
        shell.events.register("pre_run_cell", self.cell_started)
        shell.events.register("post_run_cell", self.cell_ended)
        self._registered.add(id(shell))

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """Stop the thread (a pass in progress ends at its next window), bounded."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._runs.clear()

    @property
    def kept(self) -> int:
        """How many runs are kept (a run is let go once its exit record is cached)."""
        with self._lock:
            return len(self._runs)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until a pass found every kept run read to its end (for tests and benchmarks)."""
        return self._quiet.wait(timeout)

    # -- the thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        pause: float | None = None if self._idle.is_set() else BUSY_PERIOD
        while not self._stopping.is_set():
            self._wake.wait(timeout=pause)
            self._wake.clear()
            if self._stopping.is_set():
                return
            with self._lock:
                runs = list(self._runs)
            started = time.thread_time()  # the pass's CPU time: its sleeps are not a cost
            busy = not self._idle.is_set()
            read_any = False
            for run in runs:
                try:
                    read_any |= self._pass(run)
                except _Stopped:
                    return
                except Exception as exc:  # noqa: BLE001 - a failed pass leaves the cache to reads
                    self.last_error = exc
                    self._forget(run)
            self.passes += 1
            spent = time.thread_time() - started
            idle = self._idle.is_set()
            with self._lock:
                kept = bool(self._runs)
            if idle and (not read_any or not kept):
                self._quiet.set()  # caught up: the next cell's end or finish wakes it
            if not kept:
                pause = None
            elif busy or not idle:
                # while a cell runs, the next pass waits 99x this one's CPU time, at least BUSY_PERIOD
                pause = max(BUSY_PERIOD, spent / BUSY_SHARE)
            elif read_any:
                # idle, and the file grew during the pass (a background thread logs): read on,
                # at most a tenth of the time
                pause = min(BUSY_PERIOD, max(1.0, 10 * spent))
            else:
                pause = None

    def _pass(self, run: Any) -> bool:
        """Read ``run``'s file on into its cache; True when anything was read."""
        from nbwandb.local.cache import load_cache
        from nbwandb.local.reader import resolve_run_file, update_cache

        if not isinstance(run, (str, os.PathLike)) and not getattr(run, "enabled", False):
            self._forget(run)
            return False
        run_dir = _folder_of(run)
        if run_dir is None:
            return False  # not started yet (a background init): the next pass
        if not run_dir.is_dir():
            self._forget(run)
            return False
        try:
            run_file = resolve_run_file(run_dir)[1]
        except Exception:  # noqa: BLE001 - wandb-core has not created the run file yet
            return False
        before = load_cache(run_file)
        offset = None if before is None or before.light else before.offset
        window = IDLE_WINDOW if self._idle.is_set() else BUSY_WINDOW
        self._cpu = time.thread_time()
        try:
            local = update_cache(run_dir, window=window, pace=self._pace)
        finally:
            self.cpu_seconds += time.thread_time() - self._cpu
        if local.exit_code is not None:
            self._forget(run)  # the exit record is cached: nothing more will come
        return local._cache is not None and local._cache.offset != offset

    def _pace(self) -> None:
        now = time.thread_time()
        spent, self._cpu = now - self._cpu, now
        self.cpu_seconds += spent
        self.windows += 1
        if self._stopping.is_set():
            raise _Stopped
        if self._idle.is_set():
            return
        # a cell runs: sleep 99x the CPU time the window just read took (a pass that falls
        # behind a fast loop goes on from where it is when the cell ends)
        if spent > 0 and self._stopping.wait(spent * (1 / BUSY_SHARE - 1)):
            raise _Stopped
        self._cpu = time.thread_time()

    def _forget(self, run: Any) -> None:
        with self._lock:
            self._runs = [kept for kept in self._runs if kept is not run]


def _folder_of(run: Any) -> Path | None:
    if isinstance(run, (str, os.PathLike)):
        return Path(run)
    if not getattr(run, "enabled", False):
        return None
    started = getattr(run, "_run_dir", None)  # the handle's folder, without waiting for it
    return Path(started) if started else None


_keeper: CacheKeeper | None = None
_keeper_lock = threading.Lock()


def kernel_keeper() -> CacheKeeper:
    """The process's keeper (one per kernel), stopped at interpreter exit."""
    global _keeper
    with _keeper_lock:
        if _keeper is None:
            _keeper = CacheKeeper()
            atexit.register(_keeper.stop)
            from nbwandb.run import finish

            finish.add_listener(_keeper.wake)
        return _keeper


def keep_in_kernel(run: Any, shell: Any) -> CacheKeeper | None:
    """Keep ``run``'s cache current in this kernel (``init`` calls it for each run it starts);
    ``NBWANDB_KEEP_CACHE=0`` turns the keeper off (the first read then builds the cache)."""
    if os.environ.get("NBWANDB_KEEP_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    keeper = kernel_keeper()
    keeper.install(shell)
    keeper.keep(run)
    return keeper


__all__ = ["BUSY_SHARE", "CacheKeeper", "keep_in_kernel", "kernel_keeper"]
