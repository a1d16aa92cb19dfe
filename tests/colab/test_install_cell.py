"""The tutorials' install cell, run in the Colab stand-in as a user's first cell.

Colab's runtime pins ipywidgets 7.7.1, wandb 0.28.1, protobuf 5.29.6 and the rest of
``colab-runtime-2026-08.txt``. ``%pip install`` in a live kernel must add nbwandb and change
none of them: a changed package would stay loaded at its old version until a restart, and
protobuf is shared by everything in the runtime. ``make test-colab`` uninstalls nbwandb first,
so the cell really installs it (from this checkout: ``NBWANDB_SOURCE``, which the cell reads
in place of the public repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PINS = Path(__file__).with_name("colab-runtime-2026-08.txt")
FIGURES = REPO / "out" / "colab-install.json"


def pinned() -> dict[str, str]:
    """Colab's pins, by normalised name (setuptools left out: see tests/colab/README.md)."""
    pins = {}
    for line in PINS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = version
    pins.pop("setuptools")
    return pins


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> dict[str, str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {normalise(p["name"]): p["version"] for p in json.loads(listed.stdout)}


def first_code_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_the_stand_in_has_colabs_pins() -> None:
    have = installed()
    wrong = {
        name: (version, have.get(name))
        for name, version in pinned().items()
        if have.get(name) != version
    }
    assert not wrong, f"the stand-in differs from Colab's pins (pinned, installed): {wrong}"


def test_install_cell_adds_nbwandb_and_changes_no_pinned_package(tmp_path: Path) -> None:
    from jupyter_client import KernelManager

    assert os.environ.get("NBWANDB_SOURCE"), "make test-colab sets NBWANDB_SOURCE to this checkout"
    before = installed()
    assert "nbwandb" not in before, "make test-colab uninstalls nbwandb first (a fresh runtime)"
    cell = first_code_cell(REPO / "notebooks" / "01_quickstart.ipynb")

    km = KernelManager(kernel_name="colab-standin")
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        outputs: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] in ("stream", "error"):
                outputs.append(msg["content"].get("text") or msg["content"].get("evalue", ""))

        t0 = time.monotonic()
        reply = kc.execute_interactive(cell, timeout=600, output_hook=keep)
        seconds = time.monotonic() - t0
        assert reply["content"]["status"] == "ok", "".join(outputs)
        probe = (
            "import ipywidgets, wandb, google.protobuf, nbwandb\n"
            "print(ipywidgets.__version__, wandb.__version__, google.protobuf.__version__)"
        )
        loaded: list[str] = []
        kc.execute_interactive(
            probe, timeout=120, output_hook=lambda m: loaded.append(m["content"].get("text", ""))
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    after = installed()
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    added = sorted(set(after) - set(before))
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(
        json.dumps({"seconds": round(seconds, 1), "changed": changed, "added": added}, indent=2)
        + "\n"
    )
    assert not changed, f"the install cell changed installed packages (before, after): {changed}"
    assert "nbwandb" in added
    pins = pinned()
    assert not [name for name in added if name in pins], added
    assert "".join(loaded).split() == [pins["ipywidgets"], pins["wandb"], pins["protobuf"]], loaded


@pytest.mark.parametrize("extras", ["torch,media"])
def test_dry_run_with_colabs_pins_as_constraints_resolves(tmp_path: Path, extras: str) -> None:
    """``pip install --dry-run`` of nbwandb with Colab's pins as constraints: it resolves, and
    would install no other version of a pinned package."""
    constraints = tmp_path / "pins.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in pinned().items()))
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            "-c",
            str(constraints),
            f"nbwandb[{extras}] @ file://{REPO}",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    would = {
        normalise(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    have = installed()
    moved = {
        n: (have.get(n), v)
        for n, v in would.items()
        if n in pinned() or (n in have and have[n] != v)
    }
    assert not moved, f"would change installed packages (installed, new): {moved}"
