"""Upload offline runs with wandb's own ``wandb sync``, several at a time, never hanging.

Each run gets its own ``wandb sync RUN_DIR`` subprocess (in its own process group)
that is killed at ``timeout``. Before starting any, a cheap check looks for an
API key and for a route to the W&B host, so a machine without network fails in
seconds with a message that says so, and the runs stay on disk for later.

>>> results = sync_runs("wandb", timeout=60, jobs=2)      # doctest: +SKIP
>>> [(r.run_dir.name, r.ok, r.message) for r in results]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..errors import NbwandbError
from .runs_table import find_run_dirs

NETWORK_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class SyncResult:
    """What happened to one run: ``ok``, a one-line ``message``, the exit code, the time taken."""

    run_dir: Path
    ok: bool
    message: str
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'failed'}  {self.run_dir.name}: {self.message}"


def wandb_command() -> list[str]:
    """The ``wandb`` CLI next to this Python (the venv's), else on PATH, else ``python -m wandb``."""
    beside = Path(sys.executable).with_name("wandb")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("wandb")
    return [found] if found else [sys.executable, "-m", "wandb"]


def offline_run_dirs(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None) -> list[Path]:
    """Run folders to sync: explicit run folders as given, or the offline runs under a wandb folder."""
    if paths is None or isinstance(paths, (str, os.PathLike)):
        root = None if paths is None else Path(paths)
        if root is not None and any(root.glob("*.wandb")):
            return [root]
        return [d for d in find_run_dirs(root) if d.name.startswith("offline-run-")]
    out: list[Path] = []
    for p in paths:
        out += offline_run_dirs(p)
    return out


def preflight(timeout: float = NETWORK_CHECK_SECONDS) -> str | None:
    """Why syncing cannot work right now (no key, host unreachable), or None when it may."""
    from ..credentials import find_credentials, resolve_host

    info = find_credentials()
    if not info.found:
        return ("no W&B API key found (WANDB_API_KEY, netrc); log in with nbwandb.login() or "
                "`wandb login`, then sync again")
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # a proxy decides reachability; let wandb try
    host = urlparse(resolve_host()).hostname or ""
    port = urlparse(resolve_host()).port or (80 if resolve_host().startswith("http://") else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return (f"cannot reach the W&B server {host}:{port} ({exc.__class__.__name__}: {exc}); "
                "no network? The runs stay offline on disk: sync them later")


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "<api key hidden>") if secret else text


def _last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    line = (errors or lines or [""])[-1]
    return line.removeprefix("wandb: ")[:300]


def sync_one(run_dir: Path, *, timeout: float, command: Sequence[str] | None = None) -> SyncResult:
    """Run ``wandb sync RUN_DIR``; kill it (and its children) at ``timeout`` seconds."""
    from ..credentials import find_key

    secret = find_key()[1]
    # WANDB_MODE=offline makes `wandb sync` exit 0 having uploaded nothing, and
    # WANDB_SILENT hides the ERROR line that tells us: neither reaches the child.
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_MODE", "WANDB_SILENT", "WANDB_DISABLED")}
    start = time.monotonic()
    proc = subprocess.Popen(
        [*(command or wandb_command()), "sync", str(run_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env,
        start_new_session=os.name == "posix",  # its own process group: the kill reaches wandb-core too
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        output, _ = proc.communicate()
        return SyncResult(run_dir, False,
                          f"timed out after {timeout:g}s (no network?); killed `wandb sync`; the run stays offline",
                          None, True, time.monotonic() - start)
    output = _scrub(output or "", secret.reveal() if secret else None)
    ok, message = classify_output(proc.returncode, output)
    return SyncResult(run_dir, ok, message, proc.returncode, False, time.monotonic() - start)


def classify_output(returncode: int, output: str) -> tuple[bool, str]:
    """``(ok, one-line message)`` from what `wandb sync` printed.

    wandb 0.31's sync exits 0 even after an upload error ("wandb: ERROR <no message>"),
    so an ERROR/Traceback line or "Not authenticated" counts as a failure too.
    """
    failed = returncode != 0 or any(m in output for m in ("ERROR", "Error:", "Traceback", "Not authenticated"))
    message = _last_line(output) or ("synced" if not failed else f"exit code {returncode}")
    return not failed, message


def _kill_group(proc: subprocess.Popen[str]) -> None:
    killpg = getattr(os, "killpg", None)  # POSIX; elsewhere only the direct child can be killed
    try:
        if killpg is None:
            raise OSError("no process groups here")
        killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def sync_runs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    timeout: float = 120.0,
    jobs: int = 2,
    check_network: bool = True,
    on_done: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync offline runs in parallel (``jobs`` at a time), each within ``timeout`` seconds.

    ``on_done`` is called as each run ends (the CLI moves its progress bar there).
    With ``check_network`` a missing key or an unreachable host fails every run at
    once, without starting ``wandb sync``.
    """
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout={timeout!r} is not accepted; use a number of seconds > 0")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} is not accepted; use an int >= 1")
    run_dirs = offline_run_dirs(paths)
    if not run_dirs:
        raise NbwandbError(f"no offline runs to sync in {str(paths or 'wandb')!r} (looked for offline-run-* folders)")
    results: list[SyncResult] = []
    problem = preflight(min(timeout, NETWORK_CHECK_SECONDS)) if check_network else None
    if problem:
        for run_dir in run_dirs:
            results.append(SyncResult(run_dir, False, problem))
            if on_done:
                on_done(results[-1])
        return results
    command = wandb_command()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nbwandb-sync") as pool:
        futures = [pool.submit(sync_one, d, timeout=timeout, command=command) for d in run_dirs]
        for future in as_completed(futures):
            results.append(future.result())
            if on_done:
                on_done(results[-1])
    order = {d: i for i, d in enumerate(run_dirs)}
    return sorted(results, key=lambda r: order[r.run_dir])
