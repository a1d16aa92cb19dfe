"""Upload runs with wandb's own ``wandb sync``, several at a time, never hanging, never a false "ok".

Two kinds of run folder are uploaded: offline runs (``offline-run-*``), and online runs
(``run-*``) whose upload did not complete: their server stopped answering, ``finish``
gave up, or the kernel was killed (``nbwandb.run.upload_state`` keeps track). ``wandb
sync`` skips online folders unless told otherwise; nbwandb tells it. A run file that
ends in a cut record, or holds a second exit record, is uploaded from a repaired copy
(``nbwandb.local.repair``), since ``wandb sync`` fails on both.

Each run gets its own ``wandb sync`` subprocess (in its own process group) that is
killed at ``timeout``. Before starting any, a bounded probe asks the W&B host, so a
machine without network fails in seconds with a message that says so, and the runs
stay on disk for later. A run counts as synced only when ``wandb sync`` said it
finished; one with nothing to do is reported as skipped, with the reason.

>>> results = sync_runs(wandb_dir, timeout=60, jobs=2)   # no key here: nothing is sent
>>> [(r.run_dir.name, r.ok) for r in results]
[('offline-run-...', False)]
>>> results[0].message
'no W&B API key found ...'
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from nbwandb.connection.credentials import find_key, resolve_host
from nbwandb.connection.network import probe_host
from nbwandb.errors import NbwandbError
from nbwandb.local.repair import check_run_file, write_repaired_copy
from nbwandb.local.runs_table import find_run_dirs
from nbwandb.local.segments import group_by_run, segment_id, segments_of
from nbwandb.run import finish
from nbwandb.run.upload_state import mark as mark_upload
from nbwandb.run.upload_state import upload_state

NETWORK_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class SyncResult:
    """What happened to one run: ``ok``, a one-line ``message``, the exit code, the time taken.

    ``skipped`` runs had nothing to upload (``ok`` is True, nothing was sent): an online run
    whose upload completed, or an offline run wandb already marked synced.
    """

    run_dir: Path
    ok: bool
    message: str
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("ok" if self.ok else "failed")

    def __str__(self) -> str:
        return f"{self.status}  {self.run_dir.name}: {self.message}"


def wandb_command() -> list[str]:
    """The ``wandb`` CLI next to this Python (the venv's), else on PATH, else ``python -m wandb``."""
    beside = Path(sys.executable).with_name("wandb")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("wandb")
    return [found] if found else [sys.executable, "-m", "wandb"]


def is_online_dir(run_dir: Path) -> bool:
    """An online run's folder (``run-*``), as wandb names it, or one nbwandb marked."""
    return run_dir.name.startswith("run-") or upload_state(run_dir).state != "unknown"


def offline_run_dirs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
) -> list[Path]:
    """Run folders to sync: explicit run folders as given; under a wandb folder, the offline
    runs and the online runs whose upload did not complete."""
    if paths is None or isinstance(paths, (str, os.PathLike)):
        root = None if paths is None else Path(paths)
        if root is not None and any(root.glob("*.wandb")):
            run_id = segment_id(root.resolve())
            # a resumed run: every segment goes up, in order, as one run
            return (segments_of(root.resolve().parent, run_id) if run_id else []) or [root]
        return [
            d
            for d in find_run_dirs(root)
            if d.name.startswith("offline-run-") or upload_state(d).needs_sync
        ]
    out: list[Path] = []
    for p in paths:
        out += offline_run_dirs(p)
    return out


def preflight(timeout: float = NETWORK_CHECK_SECONDS) -> str | None:
    """Why syncing cannot work right now (no key, host unreachable or silent, key rejected), or None."""
    from urllib.parse import urlparse

    host = resolve_host()
    secret = find_key(host)[1]
    if secret is None:
        return (
            "no W&B API key found (WANDB_API_KEY, netrc); log in with nbwandb.login() or "
            "`wandb login`, then sync again"
        )
    probe = probe_host(host, secret, timeout=timeout)
    if probe.key_accepted is False:
        return f"{probe.describe()}; log in again (nbwandb.login(key=...)), then sync again"
    if not probe.reachable:
        url = urlparse(host)
        where = f"{url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)}"
        return (
            f"cannot reach the W&B server {where}: {probe.describe()}; no network? "
            "The runs stay on disk: sync them later"
        )
    return None


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "<api key hidden>") if secret else text


def _last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    line = (errors or lines or [""])[-1]
    return line.removeprefix("wandb: ")[:300]


def _skip_reason(run_dir: Path, online: bool, force: bool) -> str | None:
    """Why there is nothing to upload for ``run_dir`` (None: upload it)."""
    if online:
        state = upload_state(run_dir)
        if state.state == "uploading" and not state.needs_sync:
            return f"still being written by process {state.pid}; sync it once that run has finished"
        if state.done and not force:
            how = "nbwandb sync" if state.state == "synced" else "its online run"
            return f"already uploaded by {how} (pass --force to upload it again)"
        return None
    if not force and any(run_dir.glob("*.wandb.synced")):
        return "already synced (wandb marked it .synced; pass --force to upload it again)"
    return None


def sync_one(
    run_dir: Path, *, timeout: float, command: Sequence[str] | None = None, force: bool = False
) -> SyncResult:
    """Upload one run folder with ``wandb sync``; kill it (and its children) at ``timeout`` seconds."""
    start = time.monotonic()
    online = is_online_dir(run_dir)
    skip = _skip_reason(run_dir, online, force)
    if skip:
        return SyncResult(run_dir, True, skip, skipped=True)
    try:
        check = check_run_file(run_dir)
    except NbwandbError as exc:
        return SyncResult(run_dir, False, f"cannot read the run file: {exc}")
    secret = find_key()[1]
    # WANDB_MODE=offline makes `wandb sync` exit 0 having uploaded nothing, and
    # WANDB_SILENT hides the ERROR line that tells us: neither reaches the child.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WANDB_MODE", "WANDB_SILENT", "WANDB_DISABLED")
    }
    flags = ["--no-skip-online"] if online else []
    flags += ["--include-synced"] if (online or force) else []
    with tempfile.TemporaryDirectory(prefix="nbwandb-sync-") as scratch:
        source = write_repaired_copy(run_dir, scratch, check) if check.needs_repair else run_dir
        proc = subprocess.Popen(
            [*(command or wandb_command()), "sync", *flags, str(source)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=os.name
            == "posix",  # its own process group: the kill reaches wandb-core too
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            output, _ = proc.communicate()
            return SyncResult(
                run_dir,
                False,
                f"timed out after {timeout:g}s (no network?); killed `wandb sync`; "
                "the run stays on disk: sync it again later",
                None,
                True,
                time.monotonic() - start,
            )
    output = _scrub(output or "", secret.reveal() if secret else None)
    ok, message = classify_output(proc.returncode, output)
    if ok:
        repaired = f" from a repaired copy ({check.describe()})" if check.needs_repair else ""
        message = f"uploaded {check.history_rows} history rows{repaired}: {message}"
        if online:
            mark_upload(run_dir, "synced", detail=message)
        else:
            (check.run_file.parent / (check.run_file.name + ".synced")).touch()
    return SyncResult(run_dir, ok, message, proc.returncode, False, time.monotonic() - start)


def classify_output(returncode: int, output: str) -> tuple[bool, str]:
    """``(ok, one-line message)`` from what `wandb sync` printed.

    wandb 0.31's sync exits 0 even after an upload error ("wandb: ERROR <no message>"),
    so an ERROR/Traceback line or "Not authenticated" counts as a failure too, and so does
    "No runs to sync" (it skipped the run: nothing was uploaded).
    """
    failed = returncode != 0 or any(
        m in output
        for m in ("ERROR", "Error:", "Traceback", "Not authenticated", "No runs to sync")
    )
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
    force: bool = False,
) -> list[SyncResult]:
    """Sync offline runs in parallel (``jobs`` at a time), each within ``timeout`` seconds.

    ``on_done`` is called as each run ends (the CLI moves its progress bar there).
    With ``check_network`` a missing key or an unreachable host fails every run at
    once, without starting ``wandb sync``. ``force`` uploads runs again that were already
    uploaded (W&B writes history by offset, so the server keeps one copy of each row).

    A run that fails to sync is not an error: its ``SyncResult`` says why.

    Raises:
        ValueError: ``timeout`` or ``jobs`` is not accepted.
        NbwandbError: ``paths`` holds no run to sync.
    """
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout={timeout!r} is not accepted; use a number of seconds > 0")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} is not accepted; use an int >= 1")
    finish.wait_all()  # runs of this process still finishing in the background: whole first
    run_dirs = offline_run_dirs(paths)
    if not run_dirs:
        raise NbwandbError(
            f"no runs to sync in {str(paths or 'wandb')!r} (looked for offline-run-* folders "
            "and online run-* folders whose upload did not complete)"
        )
    results: list[SyncResult] = []
    skips = {d: _skip_reason(d, is_online_dir(d), force) for d in run_dirs}
    pending = [d for d in run_dirs if not skips[d]]
    problem = preflight(min(timeout, NETWORK_CHECK_SECONDS)) if check_network and pending else None
    if problem:
        for run_dir in run_dirs:
            skip = skips[run_dir]
            results.append(
                SyncResult(run_dir, True, skip, skipped=True)
                if skip
                else SyncResult(run_dir, False, problem)
            )
            if on_done:
                on_done(results[-1])
        return results
    command = wandb_command()

    def sync_run(segments: list[Path]) -> list[SyncResult]:
        # The segments of one resumed run go up one after the other, oldest first.
        done: list[SyncResult] = []
        for i, seg in enumerate(segments):
            if done and not done[-1].ok:
                result = SyncResult(
                    seg,
                    False,
                    f"not uploaded: the earlier segment {segments[i - 1].name} of this run "
                    "failed; sync again once it goes through",
                )
            else:
                result = sync_one(seg, timeout=timeout, command=command, force=force)
            done.append(result)
            if on_done:
                on_done(result)
        return done

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nbwandb-sync") as pool:
        futures = [pool.submit(sync_run, segments) for segments in group_by_run(run_dirs).values()]
        for future in as_completed(futures):
            results += future.result()
    order = {d: i for i, d in enumerate(run_dirs)}
    return sorted(results, key=lambda r: order[r.run_dir])
