"""A broken wandb-core: dead (replaced by a new one), stuck (ended), or left behind (orphans).

``nbwandb.run.finish.finish_previous``, which ``nbwandb.init`` calls before it starts a
run, uses these so that a re-run cell always gets a working run.

>>> import wandb
>>> reset_dead_service(wandb)              # wandb-core is alive (or not started): nothing to do
False
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import ModuleType

from nbwandb.wandb_compat.service import (
    sees_service_process,
    service_is_dead,
    service_process,
)


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
