"""Fixtures for the real-browser tests: a throwaway Jupyter server (JupyterLab 4, Notebook 7, or
Colab's pinned classic Notebook 6.5.7) and a headless Chromium page.

The server listens on a free loopback port with no token, in a temporary root folder; its
settings, runtime files and IPython profile live there too, so nothing of the user's setup leaks
in. Chromium is Debian's (``make browser`` installs it); a missing browser fails the test with
the install command rather than skipping it, because CI is meant to run it.

>>> def test_x(jupyterlab, browser_page):            # doctest: +SKIP
...     browser_page.goto(jupyterlab.url("lab/tree/demo.ipynb"))
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Debian's Chromium (`make browser`); NBWANDB_CHROMIUM points elsewhere on other systems.
CHROMIUM = Path(os.environ.get("NBWANDB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
# What `pip install nbwandb` (or `-e .`) puts in etc/jupyter: it enables the server's save hook.
SERVER_CONFIG = REPO_ROOT / "jupyter-config" / "jupyter_server_config.d" / "nbwandb.json"
SCREENSHOTS = REPO_ROOT / "out" / "screenshots"
SERVER_START_TIMEOUT = 60.0

# JupyterLab settings: no pop-ups (news, update checks, "Select Kernel") over the page.
LAB_SETTINGS = {
    # Every cell in the DOM (no windowing), so the n-th `.jp-Cell` is the notebook's n-th cell.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    # Saved notebooks keep the widgets' state, so tests can check what a saved file would hold.
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class LabServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_lab_settings(settings_dir: Path) -> None:
    for rel, value in LAB_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _wait_until_up(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the Jupyter server exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url("api/status"), timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(
        f"the Jupyter server did not answer within {timeout:g}s:\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), then SIGKILL after a bound."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def _kill_leftover_kernels(runtime_dir: Path) -> None:
    """Kernels run in their own sessions; any still alive (their connection file lies in this
    test's runtime folder) are killed by pid, so no kernel outlives the test."""
    marker = str(runtime_dir).encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


@pytest.fixture
def lab_root(tmp_path: Path) -> Path:
    """The folder JupyterLab serves; tests put their notebooks here."""
    root = tmp_path / "lab"
    root.mkdir()
    return root


def _serve(cmd: list[str], port: int, root: Path, env: dict[str, str], log_path: Path) -> LabServer:
    """Start a Jupyter server (``cmd``, listening on ``port``) in its own session, serving ``root``."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd = [*cmd, "--allow-root"]  # containers and CI often run as root
    with open(log_path, "wb") as log:
        # A new session, so the whole group (server + kernels) can be ended at once.
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return LabServer(root, port, process, log_path)


def _jupyter_env(home: Path, root: Path) -> dict[str, str]:
    """The server's environment: its own config, runtime and IPython folders; offline wandb."""
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        WANDB_DIR=str(root),
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        PYTHONUNBUFFERED="1",
    )
    env.pop("MPLBACKEND", None)  # let the kernel pick its inline backend
    return env


def _lab_based_server(app: str, lab_root: Path, tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab (``app="jupyterlab"``) or Notebook 7 (``app="notebook"``) from this venv, with
    the lab settings above and nbwandb's server config; killed (with its kernels) at the end."""
    home = tmp_path / f"{app}-home"
    settings = home / "settings"
    _write_lab_settings(settings)
    # The save hook is on as the README's install leaves it: `pip install -e .` (make) puts
    # nbwandb's server config in this environment's etc/jupyter, which the server reads
    # besides the test's own config folder. Nothing is copied in by hand (issue 29).
    installed = (
        Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / SERVER_CONFIG.name
    )
    assert installed.exists(), (
        f"{installed} is missing: the install did not turn the save hook on (make venv)"
    )
    (home / "config").mkdir(parents=True)
    # Notebook 7's application is a JupyterLab-style app of its own name.
    app_class = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={lab_root}",
        f"--{app_class}.user_settings_dir={settings}",
        f"--{app_class}.workspaces_dir={home / 'workspaces'}",
        f"--{app_class}.news_url=",
        f"--{app_class}.extension_manager=readonly",  # no PyPI look-ups from the server
    ]
    server = _serve(cmd, port, lab_root, _jupyter_env(home, lab_root), tmp_path / f"{app}.log")
    yield from _running(server, home)


def _running(server: LabServer, home: Path) -> Iterator[LabServer]:
    """Yield ``server`` once it answers; stop it and the kernels it left afterwards."""
    try:
        _wait_until_up(server, SERVER_START_TIMEOUT)
        yield server
    finally:
        _stop(server.process)
        _kill_leftover_kernels(home / "runtime")


@pytest.fixture
def jupyterlab(lab_root: Path, tmp_path: Path) -> Iterator[LabServer]:
    """A JupyterLab 4 server for ``lab_root``; killed (with its kernels) when the test ends."""
    yield from _lab_based_server("jupyterlab", lab_root, tmp_path)


@pytest.fixture
def notebook7(lab_root: Path, tmp_path: Path) -> Iterator[LabServer]:
    """A Notebook 7 server for ``lab_root`` (notebooks open at ``notebooks/NAME``)."""
    yield from _lab_based_server("notebook", lab_root, tmp_path)


@pytest.fixture
def classic_notebook(lab_root: Path, tmp_path: Path) -> Iterator[LabServer]:
    """Colab's pinned frontend (classic Notebook 6.5.7, widgetsnbextension 3.6.10) from its own
    venv, with the ``colab`` and ``ipywidgets8`` kernel specs (``classic.py``); notebooks open
    at ``notebooks/NAME``. The server's ``env`` (its config and data folders) is ``server.env``."""
    import classic

    missing = classic.missing_venvs()
    if missing:
        pytest.fail(
            f"the Colab stand-in is not built ({', '.join(map(str, missing))} missing): "
            "run `make colab-venv`",
            pytrace=False,
        )
    home = tmp_path / "classic-home"
    env = _jupyter_env(home, lab_root)
    env["JUPYTER_DATA_DIR"] = str(home / "data")
    classic.write_kernel_specs(home / "data")
    classic.enable_widgets_nbextension(home / "config")
    port = _free_port()
    server = _serve(
        classic.server_command(port, lab_root), port, lab_root, env, tmp_path / "classic.log"
    )
    server.env = env
    yield from _running(server, home)


@pytest.fixture
def browser_page(tmp_path: Path, request: pytest.FixtureRequest):
    """A page in headless Debian Chromium with a fresh, empty profile."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium` (or `make browser`)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        context.set_default_timeout(20_000)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()


@pytest.fixture
def save_screenshot():
    """``save_screenshot(page, name)`` writes ``out/screenshots/<name>.png`` (ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
