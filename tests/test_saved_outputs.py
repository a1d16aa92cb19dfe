"""A notebook saved after a run ends shows the final panels, with or without a kernel.

A real kernel (nbclient, no widget state saved, as a script or CI would run it) executes a
scratch notebook that shows every panel; the saved outputs are then read as nbconvert,
GitHub and a kernel-less JupyterLab would: the text/html forms, with no widget view left
for a panel whose job is done.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from nbwandb.local import read_run
from nbwandb.server_hook import save_hook

nbclient = pytest.importorskip("nbclient")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STEPS = 30
REPO = Path(__file__).resolve().parents[1]
SERVER_CONFIG = REPO / "jupyter-config" / "jupyter_server_config.d" / "nbwandb.json"

CELLS = [
    # 0: the form, shown as the cell's value
    "%load_ext nbwandb\n"
    "import nbwandb\n"
    "from nbwandb.notebook import ConfigForm, LoginPanel, MediaGallery, RunPanel, TablePreview\n"
    "display(LoginPanel())  # left untouched\n"
    "form = ConfigForm({'lr': 0.05, 'epochs': 3, 'optimizer': 'adam'}, project='saved', mode='offline')\n"
    "form.fields['epochs'].input.value = 4\n"
    "form",
    # 1: a run started with the form's values, and its panel
    "run = nbwandb.init(project='saved', mode='offline', config=form.value)\n%wandb_status",
    # 2: training
    f"for step in range({STEPS}):\n"
    "    run.log({'loss': 1 / (step + 1), 'acc': step / 30}, step=step, prefix='train')\n"
    "    if step % 10 == 9:\n"
    "        run.log({'acc': step / 40}, step=step, prefix='val')",
    # 3: finish (the hook after this cell turns the panels into their final form)
    "%wandb_finish",
    # 4: previews; the finish left in the background has ended first (its panels are final:
    # a notebook saved later holds that form; the test does not race the finishing thread)
    "from nbwandb.run import finish\n"
    "assert finish.wait_all(60)\n"
    "import numpy as np\n"
    "display(TablePreview({'x': [0.123456789, 2.0], 'name': ['a', 'b']}))\n"
    "MediaGallery(np.zeros((20, 3, 8, 8)), max_images=4)",
    # 5: a panel of a run still live when the notebook is saved keeps its widget view
    "live = nbwandb.init(project='saved', mode='offline')\nlive.log({'x': 1.0}, step=0)\nRunPanel(live)",
    "live.log({'x': 2.0}, step=1)",
    # 7: a form nobody used (live at save time), and a widget that is not nbwandb's
    "unused = ConfigForm({'layers': 2, 'act': 'relu'})\ndisplay(unused)\n"
    "import ipywidgets\nipywidgets.IntSlider(value=3)",
]


def _execute(tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    client = nbclient.NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return nb


def _data(cell: nbformat.NotebookNode) -> list[dict]:
    return [
        o["data"] for o in cell.outputs if o["output_type"] in ("display_data", "execute_result")
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, Path]:
    tmp_path = tmp_path_factory.mktemp("saved")
    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_DIR", str(tmp_path))
    mp.setenv("WANDB_MODE", "offline")
    mp.setenv("IPYTHONDIR", str(tmp_path / ".ipython"))
    try:
        nb = _execute(tmp_path)
    finally:
        mp.undo()
    path = tmp_path / "scratch.ipynb"
    nbformat.write(nb, path)
    return nb, path


def test_finished_panels_are_saved_in_their_final_form(executed):
    nb, path = executed
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    # The trained run (the other one is the live run of cell 5). A folder's mtime cannot
    # tell them apart: a read writes its cache beside the run file, touching the folder.
    runs = [read_run(p) for p in (path.parent / "wandb").glob("offline-run-*")]
    (logged,) = [r for r in runs if "train/loss" in r.summary]
    assert logged.state == "finished" and logged.config["epochs"] == 4

    # the login panel nobody used: once a run started, its saved output says what happened
    login, form = _data(nb.cells[0])
    assert WIDGET_VIEW not in login and "Runs are offline for now" in login["text/html"]
    assert "No key" not in login["text/html"]  # nobody was asked: neutral (issue 29, item 7)
    # the form: the config the run used (epochs changed in the form), no widget left
    assert WIDGET_VIEW not in form
    assert "config of run" in form["text/html"] and "finished" in form["text/html"]
    assert re.search(r"<td>epochs</td><td class='num'>4</td>", form["text/html"])

    # the run panel: final state, every point of every chart, the last values in the titles
    (panel,) = _data(nb.cells[1])
    assert WIDGET_VIEW not in panel
    html = panel["text/html"]
    assert ">finished</span>" in html and "no values logged yet" not in html
    points = {
        m[2]: int(m[1]) for m in re.finditer(r'data-points="(\d+)" data-title="([^"]+)"', html)
    }
    assert points == {"train/loss": STEPS, "train/acc": STEPS, "val/acc": 3}
    # sections in W&B's order: train before val
    assert html.index('data-title="train/loss"') < html.index('data-title="val/acc"')
    assert "train/loss=0.03333" in panel["text/plain"]

    # previews are plain HTML from the start
    table, gallery = _data(nb.cells[4])
    assert WIDGET_VIEW not in table and WIDGET_VIEW not in gallery
    assert "4 of 20 images shown" in gallery["text/html"]

    # a run still live at save time: the widget stays (with an up-to-date HTML form beside it)
    (live,) = _data(nb.cells[5])
    assert WIDGET_VIEW in live
    assert re.search(r'data-points="2" data-title="x"', live["text/html"]), (
        "updated after the next cell"
    )


def test_nbconvert_html_shows_the_final_panels(executed):
    _nb, path = executed
    out = path.with_suffix(".html")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            str(path),
            "--output",
            out.name,
        ],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=path.parent,
    )
    page = out.read_text(encoding="utf-8")
    assert re.search(rf'data-points="{STEPS}" data-title="train/loss"', page)
    assert "<polyline" in page and ">finished</span>" in page
    assert "no values logged yet" not in page and "Error displaying widget" not in page
    # Panels still live when saved (widget views, no widget state): nbconvert shows their HTML.
    assert re.search(r'data-points="2" data-title="x"', page)
    assert "<td>act</td>" in page and "config form" in page


def test_refresh_updates_live_outputs_until_final(monkeypatch: pytest.MonkeyPatch):
    """The mechanism in-process: a display id per panel, updates only when the HTML changed,
    none after the final form, and none in the IPython terminal (it would print again)."""
    import IPython.display

    from nbwandb.notebook import ConfigForm, force_environment, published

    shown: list[tuple[dict, str]] = []
    updates: list[tuple[dict, str]] = []
    marks: list[dict] = []  # output metadata: what the server's save hook looks for
    monkeypatch.setattr(
        IPython.display,
        "display",
        lambda bundle, raw, metadata, display_id: (
            shown.append((bundle, display_id)),
            marks.append(metadata),
        ),
    )
    monkeypatch.setattr(
        IPython.display,
        "update_display",
        lambda bundle, raw, metadata, display_id: (
            updates.append((bundle, display_id)),
            marks.append(metadata),
        ),
    )
    # Only this test's panel: panels other tests displayed in this process stay out of it.
    monkeypatch.setattr(published, "_outputs", {})
    form = ConfigForm({"lr": 0.1, "epochs": 3})
    form._ipython_display_()
    ((bundle, display_id),) = shown
    assert WIDGET_VIEW in bundle and published.published(form) == [display_id]
    with force_environment("jupyter"):
        assert not published.refresh(form)  # nothing changed: the live view is left alone
        form.fields["epochs"].input.value = 5
        assert published.refresh(form)
        assert updates[-1][1] == display_id and "5</td>" in updates[-1][0]["text/html"]
        assert WIDGET_VIEW in updates[-1][0]
    with force_environment("ipython"):
        form.fields["epochs"].input.value = 6
        assert not published.refresh(form) and len(updates) == 1
    with force_environment("jupyter"):
        form._configured = type(
            "FinishedRun",
            (),
            {
                "finished": True,
                "name": "r",
                "id": "r1",
                "state": "finished",
                "config": {"lr": 0.1, "epochs": 6},
            },
        )()
        assert published.refresh(form)
        final = updates[-1][0]
        assert WIDGET_VIEW not in final and "config of run <b>r</b>" in final["text/html"]
        form.fields["epochs"].input.value = 7
        assert (
            not published.refresh(form) and published.refresh_all() == 0
        )  # final: never sent again
    assert marks and all(m == {"nbwandb": {"panel": "ConfigForm"}} for m in marks), marks


def test_server_save_hook_writes_live_panels_as_html(executed, tmp_path: Path):
    """A save through jupyter_server's contents manager (what JupyterLab and Notebook 7 do),
    with nbwandb's server extension loaded: a panel still live at save time is written as its
    up-to-date HTML form, so the file reopened without a kernel has no widget to look for.
    Other widgets and every other output are written as the page sent them."""
    from jupyter_server.services.contents.filemanager import FileContentsManager

    nb, _path = executed
    (live,) = _data(nb.cells[5])
    unused, slider = _data(nb.cells[7])
    # as the page holds them: live widgets, each with its HTML beside it
    assert WIDGET_VIEW in live and WIDGET_VIEW in unused and WIDGET_VIEW in slider
    marks = [o.get("metadata", {}).get("nbwandb") for o in nb.cells[7].outputs]
    assert marks == [{"panel": "ConfigForm"}, None]

    manager = FileContentsManager(root_dir=str(tmp_path))
    save_hook._load_jupyter_server_extension(
        SimpleNamespace(contents_manager=manager, log=logging.getLogger("test"))
    )
    content = json.loads(nbformat.writes(nb))  # the JSON a frontend sends to be saved
    manager.save({"type": "notebook", "format": "json", "content": content}, "saved.ipynb")
    saved = nbformat.read(tmp_path / "saved.ipynb", as_version=4)

    (live_saved,) = _data(saved.cells[5])
    assert WIDGET_VIEW not in live_saved and live_saved["text/html"] == live["text/html"]
    assert re.search(r'data-points="2" data-title="x"', live_saved["text/html"])
    unused_saved, slider_saved = _data(saved.cells[7])
    assert WIDGET_VIEW not in unused_saved
    assert (
        "config form" in unused_saved["text/html"] and "<td>act</td>" in unused_saved["text/html"]
    )
    assert slider_saved == slider, "a widget that is not nbwandb's keeps its view"
    untouched = [i for i in range(len(nb.cells)) if i not in (5, 7)]
    assert [saved.cells[i].outputs for i in untouched] == [nb.cells[i].outputs for i in untouched]
    assert [c.outputs for c in nb.cells] != [c.outputs for c in saved.cells], "kept in memory"
    # a file that is not a notebook is saved as it came
    manager.save({"type": "file", "format": "text", "content": WIDGET_VIEW}, "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == WIDGET_VIEW


def test_installing_nbwandb_enables_the_save_hook(tmp_path: Path):
    """``pip install`` (``-e .`` too, as make and binder/ do) puts the config file in this
    environment's ``etc/jupyter/jupyter_server_config.d``; jupyter_server itself finds, imports
    and validates the extension from there, with no config copied in by hand."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(REPO / "pyproject.toml", "rb") as f:
        wheel = tomllib.load(f)["tool"]["hatch"]["build"]["targets"]["wheel"]
    target = "etc/jupyter/jupyter_server_config.d/nbwandb.json"
    assert wheel["shared-data"] == {str(SERVER_CONFIG.relative_to(REPO)): target}
    installed = Path(sys.prefix) / target
    assert installed.read_text() == SERVER_CONFIG.read_text(), f"{installed}: not installed"
    empty_user_config = tmp_path / "jupyter-config"
    empty_user_config.mkdir()
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(empty_user_config), "NO_COLOR": "1"},
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert re.search(r"nbwandb\.server_hook\.save_hook\s+enabled", out), out
    assert re.search(r"nbwandb\.server_hook\.save_hook\s+OK", out), out


def test_the_save_hook_imports_nothing_heavy():
    """The server imports the hook at start-up: it must not load wandb, IPython or ipywidgets."""
    code = (
        "import sys, nbwandb.server_hook.save_hook\n"
        "print(sorted(m for m in ('wandb', 'IPython', 'ipywidgets', 'torch', 'matplotlib')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
