"""A kernel can tell whether the Jupyter server that started it saves panels as HTML.

Real ``jupyter server`` processes, one with nbwandb's save hook and one without, each start
a real kernel through their REST API; the test then talks to that kernel over its connection
file (jupyter_client) and asks it what ``%wandb_doctor`` and ``%load_ext nbwandb`` see.
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

import pytest

from nbwandb.checks.doctor import check_save_hook
from nbwandb.server_hook.presence import ENABLE_COMMAND, hook_state, marker_path, server_environment

START_TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path, *, hook: bool):
        self.runtime = tmp / "runtime"
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE",)}
        self.env.update(
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTER_CONFIG_DIR=str(tmp / "config"),
            IPYTHONDIR=str(tmp / "ipython"),
            WANDB_DIR=str(tmp),
            WANDB_MODE="offline",
        )
        # The hook is enabled by the file installed with nbwandb; a server from an environment
        # without nbwandb is modelled by switching that extension off on the command line.
        self.enabled = "True" if hook else "False"
        for attempt in range(3):  # a free port can be taken by another process before the server
            if self._start(last=attempt == 2):
                return

    def _start(self, *, last: bool) -> bool:
        self.port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.tmp}",
            f"--ServerApp.jpserver_extensions={{'nbwandb.server_hook.save_hook': {self.enabled}}}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        log_path = self.tmp / "server.log"
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            cmd,
            cwd=self.tmp,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Up once its info file is written and its API answers (the file can come first).
        deadline = time.monotonic() + START_TIMEOUT
        while not (
            (self.runtime / f"jpserver-{self.process.pid}.json").exists() and self._answers()
        ):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                if last or self.process.returncode is None:
                    pytest.fail(log_path.read_text(errors="replace")[-3000:])
                return False
            time.sleep(0.1)
        return True

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status", timeout=5):
                return True
        except OSError:  # refused, reset or timed out: not up yet
            return False

    def start_kernel(self):
        from jupyter_client import BlockingKernelClient

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/kernels", data=b"{}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            kernel_id = json.loads(response.read())["id"]
        connection = self.runtime / f"kernel-{kernel_id}.json"
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.log.close()


def run_in(client, code: str) -> str:
    out: list[str] = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=hook, timeout=120)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


ASK = (
    "import os\n"
    "from nbwandb.server_hook.presence import hook_state\n"
    "from nbwandb.checks.doctor import check_save_hook\n"
    "check = check_save_hook()\n"
    "print(hook_state(), check.ok, os.getppid())\n"
)


@pytest.mark.parametrize("hook", [True, False], ids=["server-with-hook", "server-without"])
def test_a_kernel_knows_whether_its_server_saves_panels_as_html(tmp_path: Path, hook: bool):
    server = Server(tmp_path, hook=hook)
    try:
        pid = server.process.pid
        assert marker_path(server.runtime, pid).exists() is hook
        assert hook_state(server_pid=pid, runtime_dir=server.runtime) == (
            "active" if hook else "missing"
        )
        client = server.start_kernel()
        try:
            state, ok, parent = run_in(client, ASK).split()
            assert int(parent) == pid  # a local server starts its kernels as its children
            assert (state, ok) == (("active", "True") if hook else ("missing", "False"))
            loaded = run_in(client, "%load_ext nbwandb")
            if hook:
                assert "save hook" not in loaded
            else:
                assert "does not have nbwandb's save hook" in loaded
                # nbwandb is installed where this server runs: the cause is the switched-off
                # extension, and the fix is the command that enables it (issue 29, item 2)
                assert f"Fix: {ENABLE_COMMAND}, then restart the server" in loaded
                assert "not installed" not in loaded
        finally:
            client.stop_channels()
    finally:
        server.stop()
    if hook:  # the server removes its marker when it ends
        assert not marker_path(server.runtime, pid).exists()


def test_outside_a_kernel_and_without_a_server_the_doctor_only_informs(tmp_path: Path):
    assert check_save_hook(in_kernel=False).ok is None
    assert hook_state(server_pid=os.getpid(), runtime_dir=tmp_path) == "no-server"
    result = check_save_hook(in_kernel=True)  # this test process was not started by a server
    assert result.ok is None and "finish runs before saving" in result.detail
    for environment in ("colab", "vscode"):  # they save without a Jupyter server
        result = check_save_hook(environment, in_kernel=True)
        assert result.ok is None and f"{environment} saves notebooks itself" in result.detail


REPO = Path(__file__).resolve().parents[1]
COLAB_PYTHON = REPO / ".venv-colab" / "bin" / "python"  # Colab's pins; nbwandb not installed


@pytest.mark.parametrize("where", ["kernel's environment", "another without nbwandb"])
def test_the_doctor_names_the_real_cause_of_a_missing_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
):
    """A process stands in for a server without the hook (its jpserver file, no marker); the
    doctor asks that process's own interpreter where it lives and whether it has nbwandb."""
    python = sys.executable if where == "kernel's environment" else str(COLAB_PYTHON)
    if not Path(python).exists():
        pytest.skip(f"{python} is not built here")
    monkeypatch.delenv("PYTHONPATH", raising=False)  # nbwandb only where it is installed
    server = subprocess.Popen(
        [python, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline() == "up\n"  # exec'd, running
        (tmp_path / f"jpserver-{server.pid}.json").write_text("{}")
        assert hook_state(server_pid=server.pid, runtime_dir=tmp_path) == "missing"
        env = server_environment(server.pid)
        check = check_save_hook(
            "jupyter", in_kernel=True, server_pid=server.pid, runtime_dir=tmp_path
        )
    finally:
        server.kill()
        server.communicate()
    assert check.ok is False and "model not found" in check.detail
    if where == "kernel's environment":
        assert env.same_as_kernel is True and env.has_nbwandb is True
        assert "not installed" not in check.detail and "is not enabled" in check.detail
        assert check.fix.startswith(f"{ENABLE_COMMAND}, then restart the server")
        assert "pip install" not in check.fix
    else:
        assert env.same_as_kernel is False and env.has_nbwandb is False
        assert "nbwandb is not installed in its environment" in check.detail
        assert str(Path(env.prefix).resolve()) == str(COLAB_PYTHON.parent.parent.resolve())
        assert check.fix.startswith(f"{COLAB_PYTHON} -m pip install nbwandb")
