"""Does the Jupyter server that started this kernel save nbwandb's panels as HTML?

The save hook (``nbwandb.server_hook.save_hook``) runs inside the Jupyter server, whose Python
environment may not be the kernel's: with nbwandb installed in the kernel only, the server
never loads the hook, and a notebook saved while a run is live reopens with "Error
displaying widget: model not found". A kernel cannot ask the server for its extensions, so
the hook, once loaded, leaves a marker file beside the server's own ``jpserver-<pid>.json``
in Jupyter's runtime folder. A local server starts its kernels as child processes, so a
kernel looks for both files under its parent's pid.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> hook_state(server_pid=4242, runtime_dir=folder)   # no Jupyter server with that pid
'no-server'
>>> _ = (Path(folder) / "jpserver-4242.json").write_text("{}")
>>> hook_state(server_pid=4242, runtime_dir=folder)   # a server, without the hook
'missing'
>>> write_marker(folder, pid=4242) is not None
True
>>> hook_state(server_pid=4242, runtime_dir=folder)
'active'
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HookState = Literal["active", "missing", "no-server"]


def marker_path(runtime_dir: str | os.PathLike[str], pid: int) -> Path:
    """Where the hook loaded by the server with ``pid`` leaves its marker."""
    return Path(runtime_dir) / f"nbwandb-save-hook-{pid}.json"


def write_marker(
    runtime_dir: str | os.PathLike[str], pid: int | None = None, *, remove_at_exit: bool = False
) -> Path | None:
    """Leave the marker for the server ``pid`` (this process); None if it cannot be written."""
    pid = os.getpid() if pid is None else pid
    path = marker_path(runtime_dir, pid)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": pid, "hook": "nbwandb.server_hook.save_hook"}))
    except OSError:
        return None  # a read-only runtime folder: the hook works, only the doctor cannot tell
    if remove_at_exit:
        atexit.register(_remove, path)
    return path


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _runtime_dir() -> Path | None:
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # no Jupyter here at all
        return None
    return Path(jupyter_runtime_dir())


def hook_state(
    server_pid: int | None = None, runtime_dir: str | os.PathLike[str] | None = None
) -> HookState:
    """ "active", "missing" (a Jupyter server without the hook) or "no-server".

    ``server_pid`` defaults to this process's parent (the server that started this kernel);
    "no-server" covers VS Code, Colab, a kernel gateway, nbclient and plain scripts.
    """
    pid = os.getppid() if server_pid is None else server_pid
    folder = Path(runtime_dir) if runtime_dir is not None else _runtime_dir()
    if folder is None or not (folder / f"jpserver-{pid}.json").exists():
        return "no-server"
    return "active" if marker_path(folder, pid).exists() else "missing"


HOOK_MODULE = "nbwandb.server_hook.save_hook"
ENABLE_COMMAND = f"jupyter server extension enable --sys-prefix {HOOK_MODULE}"


@dataclass(frozen=True)
class ServerEnvironment:
    """The Python environment a Jupyter server runs in, as far as a kernel can tell.

    ``python``: the interpreter that started it; ``prefix``: its ``sys.prefix``;
    ``has_nbwandb``: whether that interpreter imports nbwandb; ``same_as_kernel``: whether
    it is this process's environment. None: could not tell (no /proc, a timeout, ...).
    """

    python: str | None = None
    prefix: str | None = None
    has_nbwandb: bool | None = None
    same_as_kernel: bool | None = None


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            import psutil  # not a dependency: used where installed (macOS, Windows)

            return list(psutil.Process(pid).cmdline())
        except Exception:  # noqa: BLE001 - no psutil, or no such process
            return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _interpreter(argv0: str, pid: int) -> str | None:
    """The Python that runs ``argv0``: itself, or the one named by a script's #! line."""
    if os.sep in argv0 and not os.path.isabs(argv0):  # relative to the process's folder
        try:
            argv0 = os.path.join(os.readlink(f"/proc/{pid}/cwd"), argv0)
        except OSError:
            argv0 = os.path.abspath(argv0)
    path = argv0 if os.path.isabs(argv0) else shutil.which(argv0)
    if not path:
        return None
    if Path(path).name.startswith("python"):
        return path  # as started: a venv's bin/python keeps its venv even when it is a symlink
    try:
        with open(path, "rb") as script:
            first = script.readline(512).decode(errors="replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if words and Path(words[0]).name == "env" and len(words) > 1:
        return shutil.which(words[-1])
    return words[0] if words else None


_PROBE = (
    "import importlib.util, json, sys; "
    "print(json.dumps({'prefix': sys.prefix, 'nbwandb': importlib.util.find_spec('nbwandb') is not None}))"
)


def server_environment(server_pid: int | None = None, timeout: float = 5.0) -> ServerEnvironment:
    """Ask the server's own interpreter (bounded by ``timeout``) where it lives and whether it
    imports nbwandb, so the doctor names the real cause of a missing save hook.

    >>> import subprocess, sys
    >>> code = "print('up', flush=True); import time; time.sleep(60)"
    >>> server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    >>> server.stdout.readline()       # started (before, its command line was still ours)
    b'up\\n'
    >>> server_environment(server.pid).same_as_kernel   # a "server" on this very Python
    True
    >>> server.kill()
    """
    pid = os.getppid() if server_pid is None else server_pid
    argv = _command_line(pid)
    python = _interpreter(argv[0], pid) if argv else None
    if python is None:
        return ServerEnvironment()
    try:
        # From "/": a folder holding nbwandb's sources (a checkout) must not count as installed.
        done = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return ServerEnvironment(python=python)
    prefix = str(found.get("prefix"))
    same = os.path.realpath(prefix) == os.path.realpath(sys.prefix)
    return ServerEnvironment(python, prefix, bool(found.get("nbwandb")), same)


__all__ = [
    "ENABLE_COMMAND",
    "HOOK_MODULE",
    "HookState",
    "ServerEnvironment",
    "hook_state",
    "marker_path",
    "server_environment",
    "write_marker",
]
