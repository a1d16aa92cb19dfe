"""Fixtures of the online tests: a real W&B-compatible server (openwandb) on loopback, faults.

``server`` is one healthy server for the session. Tests that stop, kill or restart a
server get their own (``private_server``). ``online_env(url)`` points wandb at a host
with a key of the accepted form. Scenarios whose server goes away mid-run run as a
user's script would (``run_script``), so a wandb-core left retrying never outlives them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

from openwandb_server import KEY, OpenWandbServer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def offline_wandb_setup(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Set wandb up once, offline, before the first online test (a no-op if already set up).

    wandb keeps the settings of its first setup in a process (mode, base URL, folder) for
    every later ``wandb.init`` that does not name them. nbwandb names mode and host for each
    run, but a raw ``wandb.init()`` in a later test would otherwise go online to a server
    of these tests, long gone.
    """
    import wandb

    patch = pytest.MonkeyPatch()
    patch.setenv("WANDB_MODE", "offline")
    patch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    patch.setenv("WANDB_DIR", str(tmp_path_factory.mktemp("wandb-setup")))
    patch.delenv("WANDB_API_KEY", raising=False)
    try:
        wandb.setup()
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenWandbServer]:
    srv = OpenWandbServer(tmp_path_factory.mktemp("openwandb") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenWandbServer]:
    srv = OpenWandbServer(tmp_path_factory.mktemp("openwandb-private") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture
def online_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dict[str, str]]:
    """``online_env(url)``: credentials for ``url`` in this process; returns them for a child."""

    def point_at(url: str) -> dict[str, str]:
        monkeypatch.setenv("WANDB_BASE_URL", url)
        monkeypatch.setenv("WANDB_API_KEY", KEY)
        monkeypatch.delenv("WANDB_MODE", raising=False)
        return {"WANDB_BASE_URL": url, "WANDB_API_KEY": KEY}

    return point_at


@pytest.fixture
def panel_login(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``panel_login(host, timeout=...)``: paste the test key into a LoginPanel, click, wait; the panel."""

    def log_in(host: str, *, timeout: float) -> Any:
        pytest.importorskip("ipywidgets")
        from nbwandb.notebook.login_panel import LoginPanel

        monkeypatch.delenv("WANDB_API_KEY", raising=False)  # the key comes from the panel only
        panel = LoginPanel(host=host, timeout=timeout)
        panel.key_field.value = KEY
        panel.login_button.click()
        assert panel.wait(10)
        return panel

    return log_in


@dataclass
class ScriptResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def result(self) -> dict[str, Any]:
        """The JSON the script printed on its ``RESULT `` line."""
        for line in self.stdout.splitlines():
            if line.startswith("RESULT "):
                return dict(json.loads(line[len("RESULT ") :]))
        raise AssertionError(f"no RESULT line; stdout:\n{self.stdout}\nstderr:\n{self.stderr}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This test's environment for a child (its own wandb service), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", "WANDB_MODE")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[..., ScriptResult]:
    """``run_script(code, env=..., timeout=...)``: run ``code`` as a user's script would."""
    import time

    def run(code: str, *, env: dict[str, str] | None = None, timeout: float = 120) -> ScriptResult:
        script = tmp_path / f"script-{time.monotonic_ns()}.py"
        script.write_text(textwrap.dedent(code))
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
        )
        return ScriptResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)

    return run


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("sync", DIR, env=...)``: the ``nbwandb`` command, as a user runs it in a terminal."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nbwandb.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
        )

    return run
