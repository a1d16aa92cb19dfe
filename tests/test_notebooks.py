"""The tutorial notebooks as files: committed clean, Colab-ready, runnable on Binder.

Running them is nbval's job (`pytest --nbval-lax notebooks`); these checks catch what nbval
cannot see: outputs left in a committed notebook, a missing Colab install cell, a Binder set-up
that would pull the CUDA build of torch.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# In Colab the first code cell installs nbwandb from the public repository, or from
# NBWANDB_SOURCE (the Colab stand-in points it at this checkout: tests/colab/).
COLAB_INSTALL = re.compile(
    r'^if "google\.colab" in sys\.modules:\n'
    r'\s+source = os\.environ\.get\("NBWANDB_SOURCE", "git\+https://github\.com/[^"]+"\)\n'
    r'\s+%pip install -q "nbwandb\[[a-z,]+\] @ \{source\}"',
    re.M,
)


def _code(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


TUTORIALS = (
    "01_quickstart",
    "02_media",
    "03_artifacts",
    "04_distributed",
    "05_sweeps",
    "06_local_runs",
    "07_add_to_your_library",
    "08_integrations",
    "09_resume",
)


def test_the_tutorials_exist():
    assert [p.stem for p in NOTEBOOKS] == list(TUTORIALS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], (
            f"{path.name} cell {index} has outputs; commit notebooks without them"
        )
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_starts_with_a_markdown_title_and_a_colab_install_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert COLAB_INSTALL.search(_code(first_code)), (
        f"{path.name}: first code cell must install nbwandb in Colab"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_asserts_its_own_results(path: Path):
    nb = nbformat.read(path, as_version=4)
    asserts = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # IPython syntax (%pip, %load_ext) is not Python: blank those lines before parsing.
        source = re.sub(r"^(\s*)[%!].*$", r"\1pass", _code(cell), flags=re.M)
        tree = ast.parse(source)
        asserts += sum(isinstance(node, ast.Assert) for node in ast.walk(tree))
    assert asserts >= 3, f"{path.name} checks too little of its own results ({asserts} asserts)"


def test_binder_installs_cpu_torch_and_nbwandb():
    requirements = (REPO / "binder" / "requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert "torch==2.13.0" in requirements
    post_build = REPO / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    assert re.search(r'pip install .*-e "\.\[', post_build.read_text())


def test_nbwandb_demo_runs_the_quickstart_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """`nbwandb demo --out DIR` (what `make demo` runs) executes notebooks/01_quickstart.ipynb."""
    from nbwandb.cli import main
    from nbwandb.local import read_run

    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out

    executed = nbformat.read(out / "01_quickstart.ipynb", as_version=4)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors and any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    run = read_run(runs[0])
    assert run.state == "finished" and run.project == "nbwandb-quickstart"
    assert any(a["name"] == f"model-{run.id}" and "best" in a["aliases"] for a in run.artifacts)
    report = out / "report.html"
    assert "val/acc" in report.read_text(encoding="utf-8")
    # it says where everything is and how to open it
    assert f"executed notebook: {out / '01_quickstart.ipynb'}" in printed
    assert f"run: {runs[0]}" in printed
    assert report.resolve().as_uri() in printed and "jupyter lab" in printed
    _assert_nbconvert_shows_the_final_run_panel(out / "01_quickstart.ipynb", run)


def _assert_nbconvert_shows_the_final_run_panel(executed: Path, run) -> None:
    """`jupyter nbconvert --to html` of the executed quickstart, with no widget state (as a script
    or CI saves it): the RunPanel's output is its final form, charts with every point."""
    import subprocess
    import sys

    nb = nbformat.read(executed, as_version=4)
    nb.metadata.pop("widgets", None)
    bare = executed.with_name("quickstart-no-widget-state.ipynb")
    nbformat.write(nb, bare)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(bare)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    page = bare.with_suffix(".html").read_text(encoding="utf-8")
    train_steps = sum("train/loss" in row for row in run.history)
    val_steps = sum("val/acc" in row for row in run.history)
    assert re.search(rf'data-points="{train_steps}" data-title="train/loss"', page), (
        "final train/loss chart"
    )
    assert re.search(rf'data-points="{val_steps}" data-title="val/acc"', page), (
        "final val/acc chart"
    )
    assert ">finished</span>" in page and "no values logged yet" not in page
    # the form shows what the run used: "<b>name</b> (id, finished)", or "<b>id</b> (finished)"
    # for a run named after its id (the id once)
    title = re.search(r"config of run <b>([^<]+)</b> \((?:(\w+), )?finished\)", page)
    assert title and run.id in (html.unescape(title[1]), title[2]), title
    assert "Error displaying widget" not in page
