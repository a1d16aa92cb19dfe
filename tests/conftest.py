"""Shared fixtures: every test runs in its own folder, offline, with no real credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_DISABLE_GIT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


# Variables that libraries set in the test process on purpose and that no kernel or run reads
# as a setting of the next test. Anything else a test leaves behind fails it.
ENV_SET_BY_LIBRARIES = frozenset(
    {
        "KMP_DUPLICATE_LIB_OK",  # torch/OpenMP on first import
        "TORCHINDUCTOR_CACHE_DIR",  # torch's compiler, on first use
        "PYTORCH_NVML_BASED_CUDA_CHECK",  # lightning, on import
        "KMP_INIT_AT_FORK",
        "PYDEVD_DISABLE_FILE_VALIDATION",  # ipykernel's debugger
        "PYTEST_CURRENT_TEST",  # pytest's own
        # wandb before 0.29 stores its service's address here when the process first starts
        # wandb-core (as a user's process does); kernels started by the tests drop it (relkit).
        "WANDB_SERVICE",
    }
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Fail a test that leaves ``os.environ`` changed once its fixtures are torn down; restore it.

    Kernels and subprocesses inherit this process's environment: a ``WANDB_*`` variable a test
    set and did not restore changes what every later test's kernel does (issue 30). Tests set
    variables with ``monkeypatch`` or restore them themselves. The check runs around the whole
    test, setup and teardown included, so ``monkeypatch`` has been undone by then.
    """
    before = dict(os.environ)
    yield
    after = dict(os.environ)
    changed = sorted(
        key
        for key in set(before) | set(after)
        if before.get(key) != after.get(key) and key not in ENV_SET_BY_LIBRARIES
    )
    if changed:
        os.environ.clear()
        os.environ.update(before)
        LEAKS.append((item.nodeid, changed))


LEAKS: list[tuple[str, list[str]]] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A leak fails the run: the test ran, but it changed what the tests after it saw."""
    if LEAKS:
        for nodeid, keys in LEAKS:
            print(f"\nenvironment left changed by {nodeid}: {', '.join(keys)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
    from nbwandb.run.finish import finish_active

    finish_active()
