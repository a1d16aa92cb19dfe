"""The notebook layer in a real Jupyter kernel (nbclient), as a notebook user drives it.

Checks what only a kernel shows: the outputs a saved notebook keeps (widget views plus
their text/plain and text/html forms), the widget state nbclient saves, and that an
error or interrupt in a cell leaves the next cells working.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from leet import leet_summary  # noqa: E402

from nbwandb.local import read_run  # noqa: E402

KEY = "nbwtest-" + "kern" * 11  # the form of a W&B key; never a real one
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

CELLS = [
    # 0: the login panel; the "frontend" types a key (set_state is what a comm message does)
    "%load_ext nbwandb\n"
    "from nbwandb.notebook import LoginPanel\n"
    "panel = LoginPanel(host='http://127.0.0.1:9', timeout=2)\n"
    "panel",
    "panel.key_field.set_state({'value': KEY})\n"
    "panel.login_button.click()\n"
    "assert panel.wait(10) and panel.result.source == 'argument'\n"
    "print(panel.result)",
    # 2: a key on the magic line is refused
    f"%wandb_login {KEY}",
    "hist = '\\n'.join(In) + '\\n'.join(map(str, _ih))\n"
    "assert KEY not in hist, 'key left in history'\n"
    "print('history clean')",
    # 4: a run with a live panel
    "%wandb_init -p kernel --mode offline --tags nb",
    "for step in range(20):\n"
    "    run.log({'loss': 1 / (step + 1)}, step=step, prefix='train')\n"
    "    run.log({'loss': 2 / (step + 1)}, step=step, prefix='val')",
    "%wandb_status",
    # 7: an error mid-cell, then the next cell keeps logging to the same run
    "run.log({'loss': 0.01}, step=20, prefix='train')\nraise RuntimeError('boom')",
    "run.log({'loss': 0.02}, step=21, prefix='train')\nfirst = run",
    # 9: a one-cell run that fails; the next cell still works
    "%%wandb_run -p kernel --mode offline\nrun.log({'x': 1}, step=0)\nraise ValueError('bad cell')",
    "failed = run\nfailed.finish(wait=True)  # its finish went on in the background\n"
    "assert failed.state == 'failed'\n%wandb_finish",
    "%wandb_doctor --no-service",
]


def _notebook(sources: list[str]):
    """A notebook of code cells for a python3 kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


def _outputs_text(nb) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


@pytest.fixture(autouse=True)
def own_wandb_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel started from here must start its own wandb-core, not log through this process's."""
    monkeypatch.delenv("WANDB_SERVICE", raising=False)


def test_notebook_layer_in_a_real_kernel(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPYTHONDIR", str(isolated / ".ipython"))
    history_db = (
        isolated / "history.sqlite"
    )  # a real file (nbclient's default is :memory:), checked below
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    # the test's stand-in for a key typed in a browser, built so the literal key is in no cell but one
    setup = nbformat.v4.new_code_cell('KEY = "nbwtest-" + "kern" * 11')
    nb.cells = [setup] + [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        store_widget_state=True,
        ipython_hist_file=str(history_db),
        resources={"metadata": {"path": str(isolated)}},
    )
    client.execute()
    cells = nb.cells[1:]

    def errors(i: int) -> list[str]:
        return [o["ename"] for o in cells[i].outputs if o["output_type"] == "error"]

    def data(i: int) -> dict:
        merged: dict = {}
        for o in cells[i].outputs:
            merged.update(o.get("data", {}))
        return merged

    # every panel has text forms for frontends without widgets; once the login is done, the
    # saved output is its outcome alone (no widget view a kernel-less frontend cannot show)
    assert WIDGET_MIME not in data(0) and "nbwandb login" in data(0)["text/plain"]
    assert "not verified" in data(0)["text/html"]
    assert "argument" in "".join(o.get("text", "") for o in cells[1].outputs) or not errors(1)
    assert errors(1) == []
    refusal = "".join(o.get("text", "") for o in cells[2].outputs if o["output_type"] == "stream")
    assert (
        "UsageError" in refusal and "not stored" in refusal
    )  # IPython shows usage errors on stderr
    assert errors(3) == [], cells[3].outputs
    # the key is in no output and in no saved widget state
    assert KEY not in _outputs_text(nb)
    assert KEY not in json.dumps(nb.metadata.get("widgets", {}))
    assert nb.metadata[
        "widgets"
    ]  # nbclient did save widget state (so the check above means something)
    assert (
        KEY in (isolated / ".netrc").read_text()
    )  # stored where wandb keeps keys, as `wandb login` does
    # the cell with the literal key on the magic line was scrubbed from the kernel's history database
    with sqlite3.connect(history_db) as conn:
        stored = conn.execute("SELECT source, source_raw FROM history").fetchall()
    assert any("%wandb_login" in raw for _, raw in stored)
    assert not any(KEY in text for row in stored for text in row)

    # the run ended (the %%wandb_run cell finished it): its panel was saved in its final form
    status = data(6)
    assert WIDGET_MIME not in status and 'class="nbwandb-chart"' in status["text/html"]
    assert "train/loss=0.02" in status["text/plain"] and "wandb sync" in status["text/plain"]
    assert "state=finished" in status["text/plain"]
    assert errors(7) == ["RuntimeError"] and errors(8) == []
    assert errors(9) == ["ValueError"] and errors(10) == []
    assert "nbwandb doctor" in data(11)["text/plain"] and errors(11) == []

    # wandb's own console lines ("wandb: ...") stay out of the cells
    streams = [o.get("text", "") for c in cells for o in c.outputs if o["output_type"] == "stream"]
    assert not [line for text in streams for line in text.splitlines() if line.startswith("wandb:")]

    runs = sorted((isolated / "wandb").glob("offline-run-*"), key=lambda p: p.stat().st_mtime)
    assert len(runs) == 2
    first, failed = (read_run(p) for p in runs)
    assert first.tags == ["nb"] and first.exit_code == 0
    train = [
        (row["global_step"], row["train/loss"]) for row in first.history if "train/loss" in row
    ]
    assert train[-2:] == [(20, 0.01), (21, 0.02)] and len(train) == 22
    assert failed.exit_code == 1 and [row["x"] for row in failed.history] == [1]
    # wandb's own reader agrees
    leet_first, leet_failed = (leet_summary(p) for p in runs)
    assert leet_first["exit_code"] == 0 and leet_first["tags"] == ["nb"]
    assert (
        leet_first["summary"]["train/loss"] == 0.02 and leet_first["summary"]["global_step"] == 21
    )
    assert leet_failed["exit_code"] == 1 and leet_failed["state"] == "failed"


def test_finish_in_a_cell_goes_on_in_the_background(isolated: Path, monkeypatch):
    """In a kernel, finish returns at once; the next read, init or cell sees the whole run."""
    monkeypatch.setenv("IPYTHONDIR", str(isolated / ".ipython"))
    rows = 20_000  # ~1 s of wandb-core's CPU: still going on when the cell prints
    nb = _notebook(
        [
            "%load_ext nbwandb\n%wandb_init -p bgfinish --mode offline",
            f"for step in range({rows}):\n"
            "    run.log({'a': step * 0.5}, step=step)\n"
            "run.finish()\n"
            "print('state after finish:', run.state)",
            "from nbwandb.local import read_run\n"
            "logged = read_run(run.run_dir)\n"
            "print('read:', run.state, len(logged.history), logged.state)",
            "%wandb_init -p bgfinish --mode offline",
            f"for step in range({rows}):\n    run.log({{'a': 1.0}}, step=step)",
            "%wandb_finish",
            "%wandb_finish --wait\nprint('waited:', run.state)",
            "second = run\n%wandb_init -p bgfinish --mode offline",
            "print('previous:', second.state)\n%wandb_finish --wait\nprint('now:', run.state)",
        ]
    )
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(isolated)}}
    )
    client.execute()

    def text(i: int) -> str:
        return "".join(
            o.get("text", "") for o in nb.cells[i].outputs if o["output_type"] == "stream"
        )

    assert "state after finish: finishing" in text(1), nb.cells[1].outputs
    assert f"read: finished {rows} finished" in text(2), nb.cells[2].outputs
    # the first run's panel: its saved output became the final form once the finish ended
    panel = next(o for o in nb.cells[0].outputs if o["output_type"] == "display_data")
    assert WIDGET_MIME not in panel["data"] and "state=finished" in panel["data"]["text/plain"]
    assert f"{rows} rows" in panel["data"]["text/html"]
    assert "finishing in the background; the next cell can go on" in text(5)
    # --wait after the fact waits for the run the last %wandb_finish left finishing
    assert "finished run" in text(6) and "waited: finished" in text(6), nb.cells[6].outputs
    assert (
        "previous: finished" in text(8) and "finished run" in text(8) and "now: finished" in text(8)
    )


def test_killed_kernel_keeps_rows_of_finished_cells(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    """The post-cell hook writes the pending row: a SIGKILLed kernel loses nothing already run."""
    monkeypatch.setenv("IPYTHONDIR", str(isolated / ".ipython"))
    nb = _notebook(
        [
            "%load_ext nbwandb\n%wandb_init -p killed --mode offline",
            # step 9 stays pending in nbwandb (its step has not moved on) until something flushes
            "for step in range(10):\n    run.log({'loss': 1 / (step + 1)}, step=step)",
            "import os\nprint(run.run_dir)\nprint(os.getpid())",
        ]
    )
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(isolated)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        run_dir, pid = nb.cells[2].outputs[0]["text"].split()
        time.sleep(1.0)  # wandb-core writes its file tail every 0.25 s (nbwandb.init sets that)
        os.kill(int(pid), signal.SIGKILL)  # no atexit, no finish: only what was written survives
    deadline = time.monotonic() + 60
    steps: list[int] = []
    while (
        time.monotonic() < deadline
    ):  # wandb's service notices the dead kernel and closes the file
        steps = [row["global_step"] for row in read_run(Path(run_dir)).history]
        if len(steps) == 10:
            break
        time.sleep(0.5)
    assert steps == list(range(10))
