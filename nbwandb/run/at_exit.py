"""Finish the active run, within a bound, when Python exits (a script's end, Kernel > Restart).

Rows wait in nbwandb's writer queue (and the last step in its pending slot) for a moment
before wandb has them. wandb finishes its run from an ``atexit`` hook; without ours, a
script that ends without ``finish()``, or a kernel restarted right after a logging cell,
lost those rows. And wandb's hook waits for the upload without a limit: with a server
that stopped answering, the process never exited. ``install()`` registers a hook that
finishes the active run itself (rows first, with the exit code wandb tracked, for at most
``EXIT_FINISH_TIMEOUT`` seconds; an online run whose upload did not complete is marked so
for ``nbwandb sync``). It is re-registered after every ``wandb.init`` because ``atexit``
runs hooks last-in first-out and each ``wandb.init`` adds wandb's own: ours must run first.

>>> install()          # init does this; calling it again moves the hook before wandb's
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from nbwandb.run import finishing, session
from nbwandb.run.handle import RunHandle

EXIT_FINISH_TIMEOUT = 30.0  # seconds a run may take to finish at exit


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


def _finish_active_run() -> None:
    with _sigterm_deferred():
        _finish_runs()


def _finish_runs() -> None:
    run = session.active_run()
    if run is not None and getattr(run, "enabled", False):
        try:
            run.finish(exit_code=_exit_code(run), timeout=EXIT_FINISH_TIMEOUT, wait=True)
        except Exception:  # noqa: BLE001 - at exit there is no one to report to; the rows are on disk
            pass
    finishing.wait_all(EXIT_FINISH_TIMEOUT)  # finishes a notebook left in the background


def install() -> None:
    """(Re-)register the exit hook so that it runs before wandb's own."""
    atexit.unregister(_finish_active_run)
    atexit.register(_finish_active_run)
