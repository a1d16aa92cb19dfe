"""Is a process alive? The one check, safe off POSIX, and the pid of a run's writer.

``LocalRun.state`` uses it to tell a run still being written ("running") from one
whose process died without an exit record ("crashed"); ``upload_state`` to tell an upload
still going on from one a killed kernel cut off; ``resume`` whether a crashed segment's
writer is still alive.

>>> pid_alive(__import__("os").getpid())
True
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

# "2026-12-06 10:14:30,059 INFO    MainThread:15709 [wandb_setup.py:...]": the thread that
# called wandb.init (nbwandb's background init names its own), then the pid.
_PID_IN_DEBUG_LOG = re.compile(rb"(?m)^[\d-]+ [\d:,]+ +[A-Z]+ +[^\s:]+:(\d+) \[")


def writer_pid(run_dir: Path) -> int | None:
    """The pid of the process that started the run, from the first line of ``logs/debug.log``."""
    try:
        with open(run_dir / "logs" / "debug.log", "rb") as fh:
            match = _PID_IN_DEBUG_LOG.search(fh.read(4096))
    except OSError:
        return None
    return int(match.group(1)) if match else None


def writer_alive(run_dir: Path, host: str = "", started: float | None = None) -> bool | None:
    """Is the process that writes this run alive? None when that cannot be told.

    A run with no exit record is "running" while its process lives and "crashed"
    after (SIGKILL, OOM, a dead kernel). Runs from another host, or copied
    without their ``logs/``, give None. ``started`` (the run's start, epoch seconds)
    rules out a new process that got the dead writer's pid.
    """
    if host and host != socket.gethostname():
        return None
    pid = writer_pid(run_dir)
    if pid is None:
        return None
    return pid_alive(pid, started)


def pid_alive(pid: int, started: float | None = None) -> bool | None:
    """Is process ``pid`` alive? None when that cannot be told.

    ``started`` (epoch seconds): when the process was known to be running; a process
    created after it is a new one that got a dead process's pid, so the answer is False.
    """
    try:
        import psutil  # a wandb dependency; also the safe check off POSIX
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            created = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return None
        return started is None or created <= started + 2.0  # clocks differ by up to ~1 s
    if os.name != "posix":  # os.kill(pid, 0) would send Ctrl-C on Windows: never do that
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the pid exists, owned by someone else
        return True
    return True
