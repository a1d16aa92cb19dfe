"""Starting a new run after the previous one broke: a dead wandb-core, a finish that failed.

``nbwandb.init`` calls ``finish_previous(wandb)`` before it starts a run. A re-run
cell must always get a working run, even when wandb's service process (wandb-core)
was killed, crashed or stopped answering: the old run is finished as well as it can
be (with a warning, never an exception), and a dead service is replaced by a new one.

>>> import wandb
>>> run = nbwandb.init(project="demo", quiet=True)
>>> finish_previous(wandb)                 # what init does before it starts a run
>>> run.state, nbwandb.active_run()
('finished', None)
"""

from __future__ import annotations

import os
import signal
import warnings
from pathlib import Path
from types import ModuleType

from nbwandb.errors import NbwandbError, NbwandbWarning
from nbwandb.run import session
from nbwandb.wandb_compat.service import (
    is_finished,
    sees_service_process,
    service_is_dead,
    service_process,
)


def _warn(message: str) -> None:
    warnings.warn(message, NbwandbWarning, stacklevel=4)


def reset_dead_service(wandb: ModuleType) -> bool:
    """Forget a dead wandb-core so the next ``wandb.init`` starts a fresh one; True if it did."""
    if not service_is_dead(wandb):
        return False
    try:
        # Clears wandb's singleton, its WANDB_SERVICE token and its atexit hook first; the
        # goodbye message to the dead process then fails, which is expected.
        wandb.teardown()
    except Exception:  # noqa: BLE001 - the service is gone; there is nothing to report to it
        pass
    return True


def kill_stuck_service(wandb: ModuleType) -> bool:
    """End this process's own wandb-core when it stopped answering; True if one was ended.

    Only called when a finish is known to be stuck. What wandb-core wrote so far stays in
    the run's ``.wandb`` file (nbwandb has it written every 0.1 s).
    """
    proc = service_process(wandb)
    if proc is None or proc.poll() is not None:
        return False
    proc.kill()
    try:
        proc.wait(5)
    except Exception:  # noqa: BLE001 - a zombie is reaped later; the connection is dropped anyway
        pass
    return True


def _service_pid(wandb: ModuleType) -> int | None:
    return getattr(service_process(wandb), "pid", None)


def orphan_services(wandb: ModuleType) -> list[int]:
    """wandb-core processes this process started but wandb does not use (Linux ``/proc``).

    Ctrl-C while ``wandb.init`` starts the service leaves one behind: wandb has started it
    but never stored the connection. It would live until the kernel exits.
    """
    if not sees_service_process():
        return []  # wandb's own service cannot be told apart: never end a live one
    me, own = str(os.getpid()), _service_pid(wandb)
    found = []
    try:  # this process's children, cheaply (kernels with CONFIG_PROC_CHILDREN) ...
        children = {
            pid
            for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()
        }
        stat_files = [Path("/proc", pid, "stat") for pid in children]
    except OSError:  # ... or every process's parent
        stat_files = list(Path("/proc").glob("[0-9]*/stat"))
    for stat_file in stat_files:
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
            head, _, tail = stat_file.read_text().rpartition(")")
            state, ppid = tail.split()[:2]
            pid, comm = head.split(" (", 1)
            if comm != "wandb-core" or ppid != me or state == "Z" or int(pid) == own:
                continue
            args = (stat_file.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"--detached" not in args:  # a detached service is shared on purpose: never ours to end
            found.append(int(pid))
    return found


def end_orphan_services(wandb: ModuleType) -> int:
    """SIGKILL the orphans ``orphan_services`` finds; returns how many."""
    ended = 0
    for pid in orphan_services(wandb):
        try:
            os.kill(pid, signal.SIGKILL)
            ended += 1
        except OSError:
            pass
    return ended


def finish_previous(wandb: ModuleType) -> None:
    """Finish nbwandb's active run and any plain ``wandb.run``; never let a broken one block init."""
    try:
        session.finish_active()
    except NbwandbError as exc:
        _warn(f"the previous run could not finish cleanly ({exc}); starting a new run anyway")
    end_orphan_services(wandb)  # left by an init that was interrupted (Ctrl-C) while it started one
    if reset_dead_service(wandb):
        _warn("wandb's service process (wandb-core) had stopped; a new one was started")
        return
    run = getattr(wandb, "run", None)
    if run is not None and is_finished(run):
        # Its finish began (nbwandb gave up waiting on it) and never ended: the service is
        # stuck, and finishing again would hang this call too. Replace the service.
        if kill_stuck_service(wandb):
            reset_dead_service(wandb)
            _warn(
                "wandb's service process (wandb-core) was not answering; it was stopped and a new one started"
            )
        return
    if run is not None:
        # A run someone started with wandb.init directly: finish it rather than nest.
        try:
            run.finish()
        except Exception as exc:  # noqa: BLE001 - whatever broke it, a new run must start
            _warn(f"the previous wandb run could not finish cleanly ({type(exc).__name__}: {exc})")
            reset_dead_service(wandb)
