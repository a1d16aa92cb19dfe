"""Tests that run only on the Colab stand-in (``make test-colab``, in ``.venv-colab``).

They check what a Colab user gets from the tutorials' install cell: nbwandb added to Colab's
pinned packages without changing any of them. Outside the stand-in (no ``colab-standin``
kernel spec, or ipywidgets 8) they are skipped with the reason; ``make test`` runs them in
the stand-in.
"""

from __future__ import annotations

import pytest

PINNED_IPYWIDGETS = "7.7.1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import ipywidgets  # type: ignore[import-untyped]

    if ipywidgets.__version__ == PINNED_IPYWIDGETS:
        return
    skip = pytest.mark.skip(reason="runs in the Colab stand-in (make test-colab)")
    for item in items:
        if "tests/colab/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
