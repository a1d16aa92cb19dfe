"""Write the active run's queued rows when Python exits (a script's end, Kernel > Restart).

Rows wait in nbwandb's writer queue (and the last step in its pending slot) for a moment
before wandb has them. wandb finishes its run from an ``atexit`` hook; without ours, a
script that ends without ``finish()``, or a kernel restarted right after a logging cell,
lost those rows. ``install()`` registers a hook that flushes the active run; it is
re-registered after every ``wandb.init`` because ``atexit`` runs hooks last-in first-out
and each ``wandb.init`` adds wandb's own: ours must run first. wandb's hook then finishes
the run with the exit code it tracked.

>>> install()          # doctest: +SKIP
"""

from __future__ import annotations

import atexit

EXIT_FLUSH_TIMEOUT = 30.0


def _flush_active_run() -> None:
    from . import session

    run = session.active_run()
    if run is None or not getattr(run, "enabled", False):
        return
    try:
        run.flush(timeout=EXIT_FLUSH_TIMEOUT)
    except Exception:  # noqa: BLE001 - at exit there is no one to report to; wandb still finishes
        pass


def install() -> None:
    """(Re-)register the exit hook so that it runs before wandb's own."""
    atexit.unregister(_flush_active_run)
    atexit.register(_flush_active_run)
