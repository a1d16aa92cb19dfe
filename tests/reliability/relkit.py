"""Tools the reliability suite shares: a real Jupyter kernel, run read-back, measured figures.

Every scenario records what it measured with ``record(scenario, **figures)`` into
``out/reliability.json`` at the repository root; ``report.py`` turns that file into the
table in RELIABILITY.md.

>>> with Kernel(tmp_path) as k:                       # doctest: +SKIP
...     k.run("x = 1").status
'ok'
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "out" / "reliability.json"


# -- measured figures ---------------------------------------------------------------------------
def record(scenario: str, **figures: Any) -> None:
    """Store the figures of one scenario (read-modify-write: a partial run keeps the others)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if FIGURES.exists():
        try:
            data = json.loads(FIGURES.read_text())
        except ValueError:
            data = {}
    data[scenario] = {**figures, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    FIGURES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# -- a real kernel ------------------------------------------------------------------------------
@dataclass
class CellResult:
    status: str  # "ok" or "error"
    stdout: str = ""
    stderr: str = ""
    ename: str = ""
    evalue: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)  # raw iopub contents
    seconds: float = 0.0

    def check(self) -> CellResult:
        assert self.status == "ok", (
            f"cell failed: {self.ename}: {self.evalue}\n{self.stdout}\n{self.stderr}"
        )
        return self

    def value(self, tag: str) -> str:
        """The text after ``tag=`` on the last stdout line that has it (cells print ``tag=value``)."""
        hits = [
            line.split("=", 1)[1] for line in self.stdout.splitlines() if line.startswith(tag + "=")
        ]
        assert hits, f"{tag}= not printed; stdout was:\n{self.stdout}\nstderr:\n{self.stderr}"
        return hits[-1]


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a kernel, minus wandb's service token.

    wandb stores the address of this process's wandb-core in ``WANDB_SERVICE``; a kernel
    that inherited it would log through the test process's service instead of its own.
    """
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env.update(extra or {})
    return env


class Kernel:
    """An ipykernel driven through jupyter_client, as JupyterLab drives it."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        from jupyter_client import KernelManager

        self.km = KernelManager(kernel_name="python3")
        kernel_env = kernel_environment(env)
        kernel_env.setdefault("PYTHONPATH", str(REPO))
        self.km.start_kernel(cwd=str(cwd), env=kernel_env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    @property
    def pid(self) -> int:
        return int(self.km.provisioner.pid)  # type: ignore[union-attr]

    def submit(self, code: str) -> str:
        return self.kc.execute(code, store_history=True)

    def wait_for_output(self, msg_id: str, text: str, timeout: float = 60) -> str:
        """Read the cell's stdout until ``text`` appears (the cell keeps running)."""
        seen = ""
        deadline = time.monotonic() + timeout
        while text not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not printed within {timeout}s; got {seen!r}"
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Exception:  # queue.Empty
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                seen += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                raise AssertionError(f"cell failed before {text!r}: {msg['content']['evalue']}")
        return seen

    def collect(self, msg_id: str, timeout: float = 120, prefix: str = "") -> CellResult:
        """Wait for the cell to finish; gather its outputs."""
        start = time.monotonic()
        deadline = start + timeout
        result = CellResult(status="?", stdout=prefix)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, (
                f"cell did not finish within {timeout}s; stdout so far: {result.stdout!r}"
            )
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind == "error":
                result.ename, result.evalue = content["ename"], content["evalue"]
            if kind in ("stream", "error", "display_data", "execute_result", "update_display_data"):
                result.outputs.append({"msg_type": kind, **content})
        while True:
            reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result.status = reply["content"]["status"]
        result.seconds = time.monotonic() - start
        return result

    def run(self, code: str, timeout: float = 120) -> CellResult:
        return self.collect(self.submit(code), timeout)

    def shutdown(self) -> None:
        """End the kernel as Jupyter does (Shut Down, or the first half of Restart).

        jupyter_client asks the kernel to exit, sends SIGTERM after half of
        ``shutdown_wait_time`` (5 s) and SIGKILL at its end. Python's exit hooks run in
        that time, as they do for a user: a test that ended the kernel with an immediate
        SIGKILL here raced the run's background finish (issue 30). A test that means a
        crash kills the process itself (``os.kill(k.pid, SIGKILL)``).
        """
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


# -- reading runs back --------------------------------------------------------------------------
def history_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """History rows of a run, by nbwandb's reader (complete records only)."""
    from nbwandb.local import read_run

    return read_run(run_dir).history


# -- processes ----------------------------------------------------------------------------------
def wandb_core_pids(parent_pid: int) -> list[int]:
    """wandb-core processes started by ``parent_pid`` (they run in their own session)."""
    import psutil

    try:
        children = psutil.Process(parent_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [
        p.pid for p in children if p.name() == "wandb-core" and p.status() != psutil.STATUS_ZOMBIE
    ]


# -- secrets ------------------------------------------------------------------------------------
def fake_api_key() -> str:
    """A well-formed but fake W&B key: 40 random [a-z0-9] characters."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def files_containing(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle`` (also inside binary files)."""
    hits = []
    raw = needle.encode()
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if raw in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    return hits
