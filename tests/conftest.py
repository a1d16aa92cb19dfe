"""Shared fixtures: every test runs in its own folder, offline, with no real credentials."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_DISABLE_GIT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """cwd and WANDB_DIR in a temp folder, netrc there too, offline unless a test says otherwise."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / ".config-wandb"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / ".cache-wandb"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / ".data-wandb"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    # A host on loopback where nothing listens (refused at once): a test that forgets to name a
    # server never sends a byte off this machine. Tests of the default host delete it.
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("WANDB_MODE", "offline")
    yield tmp_path
    from nbwandb import session

    session.finish_active()
