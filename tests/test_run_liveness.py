"""run.liveness: the one check whether a process is alive (run reader, resume, upload state)."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbwandb.run import liveness
from nbwandb.run.liveness import pid_alive
from nbwandb.run.upload_state import mark, upload_state


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_alive_dead_and_a_reused_pid():
    assert pid_alive(os.getpid()) is True
    assert pid_alive(dead_pid()) is False
    # this process existed before now: a pid "known running" an hour ago is another process
    assert pid_alive(os.getpid(), started=time.time() - 3600) is False
    assert pid_alive(os.getpid(), started=time.time()) is True


@pytest.fixture
def no_psutil(monkeypatch):
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        if name == "psutil":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importer)


def test_off_posix_without_psutil_nothing_is_signalled(no_psutil, monkeypatch):
    # On Windows os.kill(pid, 0) sends Ctrl-C: the check must say "cannot tell" instead.
    def kill(*_args):
        raise AssertionError("os.kill called off POSIX")

    monkeypatch.setattr(liveness.os, "name", "nt")
    monkeypatch.setattr(liveness.os, "kill", kill)
    assert pid_alive(os.getpid()) is None


@pytest.mark.skipif(os.name != "posix", reason="the fallback is POSIX's")
def test_posix_fallback_without_psutil(no_psutil):
    assert pid_alive(os.getpid()) is True and pid_alive(dead_pid()) is False


def test_upload_state_asks_the_one_check(tmp_path: Path, monkeypatch):
    mark(tmp_path, "uploading")
    asked = []
    for answer, needs_sync in ((True, False), (False, True), (None, False)):
        monkeypatch.setattr(
            "nbwandb.run.upload_state.pid_alive",
            lambda pid, started, a=answer: asked.append(pid) or a,
        )
        assert upload_state(tmp_path).needs_sync is needs_sync, answer
    assert asked == [os.getpid()] * 3
