"""Does the Jupyter server that started this kernel save nbwandb's panels as HTML?

The save hook (``nbwandb.notebook.save_hook``) runs inside the Jupyter server, whose Python
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
        path.write_text(json.dumps({"pid": pid, "hook": "nbwandb.notebook.save_hook"}))
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


__all__ = ["HookState", "hook_state", "marker_path", "write_marker"]
