"""Start a multi-process (torchrun) training script from a notebook and get its runs back.

A notebook kernel is one process, but DDP needs one per rank: :func:`launch` runs
``python -m torch.distributed.run --standalone --nproc_per_node=N script ...`` as a
child, echoes its output as it comes, and returns a :class:`LaunchResult` with the
exit code and the run folders the job wrote, ready for ``nbwandb.show``.

>>> result = launch("train_ddp.py", nproc=2, args=["--epochs", "1"])   # doctest: +SKIP
>>> result.ok, result.run_dirs                                          # doctest: +SKIP
(True, (PosixPath('.../wandb/offline-run-20260101_120000-abc123'),))
>>> nbwandb.show(result.run_dirs)                                       # doctest: +SKIP

The job runs on this machine only (``--standalone`` picks a free port, so parallel
jobs never clash). For several machines, run torchrun yourself on each node; see
``docs/distributed.md``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbwandb.errors import NbwandbError, require

_RUN_GLOBS = ("offline-run-*", "run-*")


@dataclass(frozen=True)
class LaunchResult:
    """What a torchrun job left behind: exit code, run folders, the tail of its output."""

    exit_code: int
    command: tuple[str, ...]
    run_dirs: tuple[Path, ...]
    output: str = field(repr=False)
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def __str__(self) -> str:
        state = "timed out" if self.timed_out else f"exit code {self.exit_code}"
        runs = ", ".join(str(p) for p in self.run_dirs) or "no runs"
        return f"torchrun job: {state} after {self.duration_s:.1f}s; {runs}"


def _run_dirs(wandb_dir: Path) -> dict[Path, float]:
    found: dict[Path, float] = {}
    root = wandb_dir / "wandb"
    for pattern in _RUN_GLOBS:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                found[path] = path.stat().st_mtime
    return found


def torchrun_command(
    script: str | os.PathLike[str],
    nproc: int = 2,
    args: Sequence[str] = (),
    torchrun_args: Sequence[str] = (),
) -> list[str]:
    """The command :func:`launch` runs (torchrun through this Python, so the same venv).

    >>> torchrun_command("train.py", 2)[1:]
    ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', 'train.py']
    """
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        *map(str, torchrun_args),
        str(script),
        *map(str, args),
    ]


def _stop(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    # torchrun forwards SIGTERM to its workers; SIGKILL the whole session if that is not enough.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _print_line(line: str) -> None:
    print(line, flush=True)


def launch(
    script: str | os.PathLike[str],
    nproc: int = 2,
    args: Sequence[str] = (),
    *,
    timeout: float = 3600.0,
    env: Mapping[str, str] | None = None,
    wandb_dir: str | os.PathLike[str] | None = None,
    echo: bool | Callable[[str], object] = True,
    max_output_lines: int = 2000,
    torchrun_args: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
) -> LaunchResult:
    """Run ``script`` on ``nproc`` processes of this machine with torchrun; wait for it.

    ``echo``: True prints each output line as it arrives (False: quiet; a function: it
    gets each line). The result keeps the last ``max_output_lines`` lines. ``env`` adds
    variables for the job. ``wandb_dir`` (default ``WANDB_DIR`` or the current folder) is passed to the job as ``WANDB_DIR``
    and searched for the run folders it creates. After ``timeout`` seconds the job is
    stopped (SIGTERM, then SIGKILL) and ``timed_out`` is True. stdin is closed, so no rank
    can wait on a prompt. ``cwd``: the folder the job runs in (default: the current one).

    A job that fails or times out is not an error: the result's ``exit_code`` and
    ``timed_out`` say so.

    Raises:
        ValueError, TypeError: ``nproc``, ``args``, ``timeout`` or another argument is not
            accepted.
        NbwandbError: ``script`` is not a file.
        MissingDependencyError: torch (torchrun) is not installed in this Python.
    """
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"nproc={nproc!r} is not accepted; use an int >= 1")
    if isinstance(args, (str, bytes)):
        raise TypeError(
            f"args={args!r} is not accepted; use a list of strings, e.g. ['--lr', '0.1']"
        )
    script = Path(script).resolve()
    if not script.is_file():
        raise NbwandbError(
            f"launch: script {str(script)!r} is not a file; pass the path of a .py file"
        )
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout={timeout!r} is not accepted; use a number of seconds > 0")
    # Only checked, not imported: torchrun imports torch in its own processes.
    require("torch", purpose=f"launch (torchrun in {sys.executable})", extra="torch", load=False)
    env = dict(env or {})
    root = Path(
        wandb_dir or env.get("WANDB_DIR") or os.environ.get("WANDB_DIR") or os.getcwd()
    ).resolve()
    before = _run_dirs(root)
    child_env = {**os.environ, **env, "WANDB_DIR": str(root), "PYTHONUNBUFFERED": "1"}
    command = torchrun_command(script, nproc, args, torchrun_args)
    show: Callable[[str], object] | None = (
        echo if callable(echo) else (_print_line if echo else None)
    )

    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=child_env,
        start_new_session=True,
        cwd=cwd,
    )
    lines: queue.Queue[str | None] = queue.Queue(maxsize=10_000)
    tail: deque[str] = deque(maxlen=max(1, max_output_lines))

    def _read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=_read, name="nbwandb-launch-reader", daemon=True).start()
    timed_out = False
    deadline = start + timeout
    # Lines are echoed from the calling thread, so a notebook shows them in the running cell.
    while True:
        try:
            line = lines.get(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() >= deadline:
                timed_out = True
                _stop(proc)
                break
            continue
        if line is None:
            break
        tail.append(line)
        if show is not None:
            show(line)
    try:
        exit_code = proc.wait(30)
    except subprocess.TimeoutExpired:
        _stop(proc)
        exit_code = proc.wait()
    after = _run_dirs(root)
    new = sorted((p for p in after if p not in before), key=lambda p: (after[p], p.name))
    return LaunchResult(
        exit_code=exit_code,
        command=tuple(command),
        run_dirs=tuple(new),
        output="\n".join(tail),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
    )
