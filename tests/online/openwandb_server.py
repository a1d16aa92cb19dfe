"""A real W&B-compatible server on loopback for the online tests: ``openwandb``.

openwandb (from the package index, CC-BY-NC-4.0) is a test tool only: the ``test`` extra
installs it, these tests start it, and the package never imports it. Its copy of a run
lies in ``DATA/files/<entity>/<project>/<run_id>/`` and behind ``/api/v2/.../runs``.

Faults come from the process itself: ``pause`` (SIGSTOP: connections are accepted by the
kernel, nothing answers), ``resume``, ``kill`` and ``start`` again on the same data dir.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

KEY = "local" + "0123456789abcdef0123456789abcdef01234567"  # any key of this form is accepted
ENTITY = "default"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def openwandb_command() -> list[str]:
    beside = Path(sys.executable).with_name("openwandb")
    if not beside.is_file():
        raise RuntimeError(
            "openwandb is not installed in this venv: `pip install -e '.[test]'` (make test does)"
        )
    return [str(beside)]


class OpenWandbServer:
    """One ``openwandb serve`` process on ``127.0.0.1:port`` with its own data dir."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"openwandb-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> OpenWandbServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            [
                *openwandb_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"openwandb exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(
                    f"{self.url}/api/v2/projects/{ENTITY}/x/runs", timeout=2
                ):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(
            f"openwandb did not answer on {self.url} within {timeout:g}s; see {self.log_path}"
        )

    def _signal(self, *signals: signal.Signals) -> None:
        """Send ``signals`` in order to the server's process group (SIGCONT first wakes a paused one)."""
        assert self.proc is not None
        for sig in signals:
            os.killpg(self.proc.pid, sig)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            self._signal(signal.SIGCONT, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self._signal(signal.SIGCONT, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()
        self.proc = None

    # -- the server's copy of a run ------------------------------------------------------------
    def run_files(self, project: str, run_id: str) -> Path:
        return self.data_dir / "files" / ENTITY / project / run_id

    def history(self, project: str, run_id: str) -> list[dict[str, Any]]:
        """Every history line the server stored, in order (duplicates included)."""
        path = self.run_files(project, run_id) / "wandb-history.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def rows_by_step(self, project: str, run_id: str) -> dict[int, dict[str, Any]]:
        """One row per ``_step``, the last one sent winning.

        W&B's server writes history at the offsets the client sends, so a re-sent row
        replaces itself; openwandb appends instead. Keyed by step, both read the same.
        """
        return {int(row["_step"]): row for row in self.history(project, run_id)}

    def summary(self, project: str, run_id: str) -> dict[str, Any]:
        path = self.run_files(project, run_id) / "wandb-summary.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def config(self, project: str, run_id: str) -> dict[str, Any]:
        """The run's config as the server stores it, unwrapped from ``{"value": ...}``, minus ``_wandb``."""
        path = self.run_files(project, run_id) / "config.yaml"
        raw = yaml.safe_load(path.read_text()) if path.exists() else {}
        return {k: v["value"] for k, v in (raw or {}).items() if k != "_wandb"}

    def runs(self, project: str) -> dict[str, dict[str, Any]]:
        with urllib.request.urlopen(
            f"{self.url}/api/v2/projects/{ENTITY}/{project}/runs", timeout=10
        ) as resp:
            data = json.load(resp)
        return {r["run_id"]: r for r in data.get("runs", [])}

    def state(self, project: str, run_id: str) -> str | None:
        run = self.runs(project).get(run_id)
        return run["state"] if run else None
