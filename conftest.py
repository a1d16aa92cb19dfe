"""Fixtures for the examples in nbwandb's docstrings (``pytest --doctest-modules nbwandb``).

Each doctest runs offline in its own empty folder, with these names ready:

- ``nbwandb``: the package;
- ``run_dir``: a finished offline run (project "demo", config ``{"lr": 0.001}``, 20 steps of
  ``train/loss`` and ``val/loss`` against ``global_step``), made once per session;
- ``wandb_dir``: the ``wandb`` folder that holds it;
- ``media_run_dir``: a finished offline run (project "media") with an image ``seg`` (8x8,
  with a mask and a box) and a table ``tab`` (columns x, y) at step 0.

Tests under ``tests/`` have their own fixtures (``tests/conftest.py``); nothing here applies
to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

OFFLINE_ENV = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_BASE_URL": "http://127.0.0.1:9",  # loopback, nothing listens: no example reaches a network
    "MPLBACKEND": "Agg",
}


@pytest.fixture(scope="session")
def example_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The finished offline run the examples read (made in its own folder, once)."""
    import nbwandb

    root = tmp_path_factory.mktemp("doctest-runs")
    patch = pytest.MonkeyPatch()
    for key, value in {**OFFLINE_ENV, "WANDB_DIR": str(root)}.items():
        patch.setenv(key, value)
    patch.delenv("WANDB_API_KEY", raising=False)
    try:
        with nbwandb.init("demo", config={"lr": 0.001}, name="example", quiet=True) as run:
            for step in range(20):
                run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
                run.log({"loss": 1.2 / (step + 1)}, step=step, prefix="val")
    finally:
        patch.undo()
    return Path(run.run_dir)


@pytest.fixture(scope="session")
def example_media_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished offline run with an image (mask and box) and a table, in its own folder."""
    import numpy as np

    import nbwandb

    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("doctest-media-runs")
    for key, value in {**OFFLINE_ENV, "WANDB_DIR": str(root)}.items():
        patch.setenv(key, value)
    patch.delenv("WANDB_API_KEY", raising=False)
    box = {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5}, "class_id": 1}
    try:
        with nbwandb.init("media", name="media", quiet=True) as run:
            run.log_image(
                "seg",
                np.zeros((8, 8, 3), np.uint8),
                masks={"pred": {"mask_data": np.eye(8, dtype=np.uint8)}},
                boxes={"pred": {"box_data": [box], "class_labels": {1: "cat"}}},
                step=0,
            )
            run.log_table("tab", [[1, 2]], columns=["x", "y"], step=0)
    finally:
        patch.undo()
    return Path(run.run_dir)


@pytest.fixture(autouse=True)
def doctest_folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For doctests only: an empty offline folder, and the names the examples use."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    import nbwandb

    run_dir = request.getfixturevalue("example_run_dir")
    media_run_dir = request.getfixturevalue("example_media_run_dir")
    monkeypatch.chdir(tmp_path)
    for key, value in {**OFFLINE_ENV, "WANDB_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / ".config-wandb"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    namespace = request.node.dtest.globs  # type: ignore[attr-defined]
    namespace.update(
        nbwandb=nbwandb, run_dir=run_dir, wandb_dir=run_dir.parent, media_run_dir=media_run_dir
    )
    yield
    from nbwandb.run.finish import finish_active

    finish_active()
