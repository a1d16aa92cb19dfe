"""Finishing runs: in the background, at exit, before the next run, and after each cell.

One module for every way a run ends, besides ``Run.finish`` itself:

- **In the background.** In a notebook kernel ``run.finish()`` returns once the run has
  stopped taking rows: the rows still queued go through wandb-core (some of its CPU time
  each) in a background thread, so a cell that logged in a tight loop does not wait for
  them. Whatever needs the finished run waits here first (``wait_all``): the next
  ``nbwandb.init``, a read of a run in this process (``nbwandb.local``),
  ``run.finish(wait=True)``, and Python's exit. Another process that reads the run folder
  meanwhile sees a run "still being written" (its writer is alive). Listeners
  (``add_listener``) are told when such a finish ends.
- **At exit** (a script's end, Kernel > Restart). Rows wait in nbwandb's writer queue (and
  the last step in its pending slot) for a moment before wandb has them. wandb finishes its
  run from an ``atexit`` hook; without ours, a script that ends without ``finish()``, or a
  kernel restarted right after a logging cell, lost those rows. And wandb's hook waits for
  the upload without a limit: with a server that stopped answering, the process never
  exited. ``install_exit_hook()`` registers a hook that finishes the active run itself
  (rows first, with the exit code wandb tracked, for at most ``EXIT_FINISH_TIMEOUT``
  seconds; an online run whose upload did not complete is marked so for ``nbwandb sync``),
  with a SIGTERM held until it ends. It is re-registered after every ``wandb.init`` because
  ``atexit`` runs hooks last-in first-out and each ``wandb.init`` adds wandb's own: ours
  must run first.
- **Before the next run** (``finish_active``, ``finish_previous``): a re-run cell finishes
  the active run first; a broken one gives a warning, never a failed ``init``.
- **After each cell** (``flush_active``): ``%load_ext nbwandb`` writes the active run's
  rows after every cell, so a killed kernel loses no finished cell's rows.

>>> import threading
>>> done = threading.Event()
>>> begin(done)
>>> pending()
1
>>> done.set()
>>> wait_all(1.0), pending()
(True, 0)
>>> install_exit_hook()   # init does this; calling it again moves the hook before wandb's
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from nbwandb.errors import NbwandbError, NbwandbWarning
from nbwandb.run import session
from nbwandb.run.handle import RunHandle

EXIT_FINISH_TIMEOUT = 30.0  # seconds a run may take to finish at exit
FLUSH_TIMEOUT = 10.0  # seconds the flush after a cell waits for the run's rows
SLOW_FLUSH_TIMEOUT = 0.5  # ... and for a run whose flush timed out before

_lock = threading.Lock()
_pending: list[threading.Event] = []
_here = threading.local()  # .finishing: this thread runs a background finish
_listeners: list[Callable[[], object]] = []


# -- finishes in the background ---------------------------------------------------------------
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


# -- at exit ----------------------------------------------------------------------------------
def _exit_code(run: RunHandle) -> int:
    # wandb's exit hooks saw sys.exit(N) or an uncaught exception; 0 otherwise.
    if getattr(run, "starting", False):
        return 0  # wandb has not created the run yet: no exit hook of it saw anything
    try:
        wandb_run = getattr(run, "wandb_run", None)
    except Exception:  # noqa: BLE001 - its start failed: finish() reports what it can
        return 1
    from nbwandb.wandb_compat.exit_code import exit_code_seen

    return exit_code_seen(wandb_run)


@contextlib.contextmanager
def _sigterm_deferred() -> Iterator[None]:
    """Hold a SIGTERM that arrives while the run finishes at exit; deliver it afterwards.

    Jupyter's Restart and Shut Down ask the kernel to exit, send SIGTERM 2.5 s later and
    SIGKILL at 5 s. A finish still going on in the background (``%wandb_finish`` right
    before a restart) would be cut at 2.5 s by Python's default SIGTERM action; held, it
    has the 5 s Jupyter gives. The exit finish is bounded by ``EXIT_FINISH_TIMEOUT``, so
    the signal is only delayed; it is then delivered with its previous handler in place.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):  # an embedded interpreter that owns its signals
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        if received:
            os.kill(os.getpid(), signal.SIGTERM)


def _finish_at_exit() -> None:
    with _sigterm_deferred():
        _finish_runs_at_exit()


def _finish_runs_at_exit() -> None:
    run = session.active_run()
    if run is not None and getattr(run, "enabled", False):
        try:
            run.finish(exit_code=_exit_code(run), timeout=EXIT_FINISH_TIMEOUT, wait=True)
        except Exception:  # noqa: BLE001 - at exit there is no one to report to; the rows are on disk
            pass
    wait_all(EXIT_FINISH_TIMEOUT)  # finishes a notebook left in the background


def install_exit_hook() -> None:
    """(Re-)register the exit hook so that it runs before wandb's own."""
    atexit.unregister(_finish_at_exit)
    atexit.register(_finish_at_exit)


# -- before the next run ----------------------------------------------------------------------
def finish_active(exit_code: int = 0, *, wait: bool | None = True) -> Any:
    """Finish the active run, if any, and return it (a re-run cell calls this via init).

    ``wait=True`` by default: init starts the next run only once this one has ended.
    ``%wandb_finish`` passes ``None`` (see ``Run.finish``).

    >>> run = nbwandb.init(project="demo", mode="offline", quiet=True)
    >>> finish_active() is run, run.state, finish_active()
    (True, 'finished', None)
    """
    run = session.active_run()
    if run is not None:
        run.finish(exit_code=exit_code, wait=wait)
    return run


def _warn(message: str) -> None:
    warnings.warn(message, NbwandbWarning, stacklevel=4)


def finish_previous(wandb: ModuleType) -> Any:
    """Finish nbwandb's active run and any plain ``wandb.run``; never let a broken one block init.
    Returns the active run it finished, or None.

    ``nbwandb.init`` calls it before it starts a run. A re-run cell must always get a working
    run, even when wandb's service process (wandb-core) was killed, crashed or stopped
    answering: the old run is finished as well as it can be (with a warning, never an
    exception), and a dead service is replaced by a new one (``nbwandb.run.recovery``).

    >>> import wandb
    >>> run = nbwandb.init(project="demo", quiet=True)
    >>> finish_previous(wandb) is run          # what init does before it starts a run
    True
    >>> run.state, nbwandb.active_run()
    ('finished', None)
    """
    from nbwandb.run.recovery import end_orphan_services, kill_stuck_service, reset_dead_service
    from nbwandb.wandb_compat.service import is_finished

    previous = session.active_run()
    try:
        finish_active()
    except NbwandbError as exc:
        _warn(f"the previous run could not finish cleanly ({exc}); starting a new run anyway")
    end_orphan_services(wandb)  # left by an init that was interrupted (Ctrl-C) while it started one
    if reset_dead_service(wandb):
        _warn("wandb's service process (wandb-core) had stopped; a new one was started")
        return previous
    run = getattr(wandb, "run", None)
    if run is not None and is_finished(run):
        # Its finish began (nbwandb gave up waiting on it) and never ended: the service is
        # stuck, and finishing again would hang this call too. Replace the service.
        if kill_stuck_service(wandb):
            reset_dead_service(wandb)
            _warn(
                "wandb's service process (wandb-core) was not answering; it was stopped and a new one started"
            )
        return previous
    if run is not None:
        # A run someone started with wandb.init directly: finish it rather than nest.
        try:
            run.finish()
        except Exception as exc:  # noqa: BLE001 - whatever broke it, a new run must start
            _warn(f"the previous wandb run could not finish cleanly ({type(exc).__name__}: {exc})")
            reset_dead_service(wandb)
    return previous


# -- after each cell --------------------------------------------------------------------------
@dataclass(frozen=True)
class Flushed:
    """What ``flush_active`` did: ``done`` (every logged row written, or nothing to write),
    and ``slow``: the run whose flush just timed out for the first time (later flushes of it
    wait only ``SLOW_FLUSH_TIMEOUT``), else None."""

    done: bool
    run_id: str | None = None
    timeout: float = FLUSH_TIMEOUT
    slow: bool = False

    def message(self) -> str | None:
        """The line to show when the run turned slow, else None.

        >>> Flushed(False, "ab12cd34", 10.0, slow=True).message()
        'nbwandb: rows of run ab12cd34 are still being written after 10s; later cells will not wait for them'
        >>> Flushed(True).message() is None
        True
        """
        if not self.slow:
            return None
        return (
            f"nbwandb: rows of run {self.run_id} are still being written after {self.timeout:g}s; "
            "later cells will not wait for them"
        )


# Runs whose last flush timed out (a stuck or very busy wandb-core): later cells wait only
# briefly for them, so a stuck service cannot add FLUSH_TIMEOUT to every cell.
_slow_runs: set[str] = set()


def flush_active(timeout: float = FLUSH_TIMEOUT) -> Flushed:
    """Write the active run's logged rows now (after each cell: a killed kernel then loses no
    finished cell's rows).

    >>> run = nbwandb.init(project="demo", mode="offline", quiet=True)
    >>> run.log({"loss": 0.5}, step=0)
    >>> flush_active().done, run.rows_written
    (True, 1)
    >>> run.finish()
    """
    run = session.active_run()
    if run is None or not getattr(run, "enabled", False) or run.finished:
        return Flushed(True)
    slow = run.id in _slow_runs
    done = bool(run.flush(timeout=SLOW_FLUSH_TIMEOUT if slow else timeout))
    if done:
        _slow_runs.discard(run.id)
        return Flushed(True, run.id, timeout)
    if not slow:
        _slow_runs.add(run.id)
    return Flushed(False, run.id, timeout, slow=not slow)


__all__ = [
    "EXIT_FINISH_TIMEOUT",
    "Flushed",
    "add_listener",
    "begin",
    "ended",
    "finish_active",
    "finish_previous",
    "flush_active",
    "install_exit_hook",
    "pending",
    "run_in_background",
    "wait_all",
]
