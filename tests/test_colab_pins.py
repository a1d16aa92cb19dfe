"""The Colab stand-in's pins are the shared ones (``shared/colab/`` beside the repository).

The Makefile builds ``.venv-colab`` from the copy in ``tests/colab/`` so that a clone outside
this workplace builds too; this check keeps the copy from drifting where the original exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COPY = REPO / "tests" / "colab" / "colab-runtime-2026-08.txt"
SHARED = REPO.parent / "shared" / "colab" / "colab-runtime-2026-08.txt"


def test_the_stand_ins_pins_are_the_shared_ones() -> None:
    if not SHARED.exists():
        pytest.skip(f"no {SHARED} beside this checkout")
    assert COPY.read_text() == SHARED.read_text()


def test_the_floors_admit_colabs_pins() -> None:
    """Every dependency floor in pyproject.toml admits the version Colab pins."""
    import tomllib
    from packaging.requirements import Requirement

    pins = {}
    for line in COPY.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [Requirement(r) for r in project["dependencies"] + extras["torch"] + extras["media"]]
    refused = {
        str(r): pins[r.name.lower()]
        for r in wanted
        if r.name.lower() in pins
        and not r.specifier.contains(pins[r.name.lower()], prereleases=True)
    }
    assert not refused, f"these requirements refuse Colab's pinned versions: {refused}"
    assert {r.name.lower() for r in wanted} & {"wandb", "ipywidgets", "protobuf", "numpy"}
