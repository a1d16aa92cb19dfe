"""A stand-in for Colab's frontend: classic Notebook 6.5.7 with widgetsnbextension 3.6.10.

Colab's frontend is closed, but its runtime pins the frontend packages it serves
(``tests/colab/colab-runtime-2026-08.txt``). They live in ``.venv-colab-frontend`` (``make
colab-venv``), apart from the kernels: a user's ``%pip`` changes the kernel's packages, never
the frontend. The server gets two kernel specs in its own data folder:

- ``colab``: ``.venv-colab``'s Python, Colab's kernel pins (ipywidgets 7.7.1, IPython 7.34,
  ipykernel 6.17.1, wandb 0.28.1), nbwandb from this checkout on ``PYTHONPATH``, and
  ``google.colab`` imported at start as Colab does (the stub in ``tests/colab/standin``, as the
  ``colab-standin`` kernel of ``make colab-venv``: ipywidgets loaded before the first cell, and
  nbwandb sees Colab);
- ``ipywidgets8``: ``.venv``'s Python (ipywidgets 8), what a kernel has after ``%pip install``
  upgraded ipywidgets and the runtime was restarted.

The widgets nbextension is enabled in the server's own config folder as well as by the
frontend venv's install, so the page loads it whatever the machine's other Jupyter folders say.

Driving cells: ``run_cell(page, i)`` selects cell ``i`` in command mode and presses Ctrl+Enter,
as a user would; every wait is bounded.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND_VENV = REPO_ROOT / ".venv-colab-frontend"
FRONTEND_PYTHON = FRONTEND_VENV / "bin" / "python"
COLAB_PYTHON = REPO_ROOT / ".venv-colab" / "bin" / "python"
COLAB_STUB = REPO_ROOT / "tests" / "colab" / "standin"  # google.colab, as Colab's kernel has it
# The main venv (ipywidgets 8); named, not sys.executable, so the spec is right whoever runs pytest.
IPYWIDGETS8_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"

COLAB_KERNEL = "colab"
IPYWIDGETS8_KERNEL = "ipywidgets8"
KERNELS = {
    COLAB_KERNEL: {
        "python": COLAB_PYTHON,
        "display_name": "Colab pins (ipywidgets 7.7.1)",
        # nbwandb is not installed in Colab's packages: the kernel imports this checkout.
        "env": {"PYTHONPATH": f"{REPO_ROOT}:{COLAB_STUB}"},
        "start": ["--IPKernelApp.exec_lines=import google.colab"],
    },
    IPYWIDGETS8_KERNEL: {
        "python": IPYWIDGETS8_PYTHON,
        "display_name": "ipywidgets 8",
        "env": {},
        "start": [],
    },
}
WIDGETS_NBEXTENSION = "jupyter-js-widgets/extension"

# Shown in place of a widget the page could not draw (widgetsnbextension 3.x and its console).
BROKEN_WIDGET_TEXT = (
    "A Jupyter widget could not be displayed",
    "Error displaying widget",
    "model not found",
    "Cannot find model module",
    "Traceback",
)
ERROR_OUTPUT = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b")


def missing_venvs() -> list[Path]:
    """The stand-in's pythons that are not there (``make colab-venv`` builds them)."""
    return [p for p in (FRONTEND_PYTHON, COLAB_PYTHON, IPYWIDGETS8_PYTHON) if not p.exists()]


def write_kernel_specs(data_dir: Path) -> None:
    """The two kernel specs, in ``data_dir/kernels`` (the server's JUPYTER_DATA_DIR)."""
    for name, spec in KERNELS.items():
        folder = data_dir / "kernels" / name
        folder.mkdir(parents=True, exist_ok=True)
        kernel_json = {
            "argv": [
                str(spec["python"]),
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
                *spec["start"],
            ],
            "display_name": spec["display_name"],
            "language": "python",
            "env": spec["env"],
        }
        (folder / "kernel.json").write_text(json.dumps(kernel_json, indent=1))


def enable_widgets_nbextension(config_dir: Path) -> None:
    """``jupyter nbextension enable`` by hand: the notebook section of the server's nbconfig."""
    path = config_dir / "nbconfig" / "notebook.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"load_extensions": {WIDGETS_NBEXTENSION: True}}))


def server_command(port: int, root: Path) -> list[str]:
    return [
        str(FRONTEND_PYTHON),
        "-m",
        "notebook",
        "--no-browser",
        "--NotebookApp.ip=127.0.0.1",
        f"--NotebookApp.port={port}",
        "--NotebookApp.port_retries=0",
        "--NotebookApp.token=",
        "--NotebookApp.password=",
        "--NotebookApp.disable_check_xsrf=True",
        f"--NotebookApp.notebook_dir={root}",
        "--NotebookApp.show_banner=False",  # the "migrate to Notebook 7" strip over the page
    ]


def nbextension_list(env: dict[str, str]) -> str:
    """What ``jupyter nbextension list`` says with the server's config folders."""
    done = subprocess.run(
        [str(FRONTEND_VENV / "bin" / "jupyter"), "nbextension", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def new_notebook(path: Path, kernel: str, sources: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": KERNELS[kernel]["display_name"],
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)


# --- the page ---------------------------------------------------------------------------------

KERNEL_READY_JS = """
() => {
  const nb = window.Jupyter && Jupyter.notebook;
  return !!(nb && nb.kernel && nb.kernel.is_connected() && nb.kernel.widget_manager
            && document.querySelector('#notebook-container .cell'));
}
"""


def open_notebook(page, server, name: str, timeout_ms: int = 60_000) -> None:
    """Open ``name``; wait until its kernel is connected and the widgets extension has hooked in
    (its widget manager sits on the kernel: a cell run earlier could not draw a widget)."""
    page.goto(server.url(f"notebooks/{name}"), timeout=timeout_ms)
    page.wait_for_function(KERNEL_READY_JS, timeout=timeout_ms)


def cell(page, index: int):
    return page.locator("#notebook-container .cell").nth(index)


def run_cell(page, index: int, timeout_ms: int = 30_000, wait: bool = True) -> None:
    """Select cell ``index`` in command mode, press Ctrl+Enter; unless ``wait`` is false, wait
    for its ``In [n]:`` prompt."""
    target = cell(page, index)
    target.locator(".input_prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    if wait:
        wait_for_cell(page, index, timeout_ms)


def cell_prompt(page, index: int) -> str:
    return " ".join(cell(page, index).locator(".input_prompt").inner_text().split())


def wait_for_cell(page, index: int, timeout_ms: int = 30_000) -> None:
    """The prompt numbered (the execute reply) and the kernel idle (its status on the channel
    that carries the outputs, after the cell's last one)."""
    deadline = time.monotonic() + timeout_ms / 1000
    idle = page.locator("#kernel_indicator_icon.kernel_idle_icon")
    while time.monotonic() < deadline:
        if re.fullmatch(r"In \[\d+\]:", cell_prompt(page, index)) and idle.count() == 1:
            return
        time.sleep(0.1)
    raise AssertionError(
        f"cell {index} did not finish within {timeout_ms / 1000:g}s "
        f"(prompt {cell_prompt(page, index)!r})"
    )


def outputs(page, index: int):
    return cell(page, index).locator(".output_wrapper .output")


def assert_cell_ok(page, index: int) -> None:
    text = outputs(page, index).inner_text()
    assert not ERROR_OUTPUT.search(text), f"cell {index} failed:\n{text[-2000:]}"


def assert_no_broken_widgets(page, where: str) -> None:
    text = page.locator("#notebook-container").inner_text()
    for bad in BROKEN_WIDGET_TEXT:
        assert bad not in text, f"{where}: the notebook shows {bad!r}:\n{text[-2000:]}"


def save(page, path: Path, timeout_s: float = 20) -> None:
    """Ctrl+S in command mode; wait until the file on disk changes."""
    before = path.stat().st_mtime_ns
    page.locator("#notebook-container .cell").first.locator(".input_prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path.name} was not saved within {timeout_s:g}s")
