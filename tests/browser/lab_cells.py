"""Driving notebook cells in a real JupyterLab page: run one, check its output, reopen a saved notebook.

Shared by the browser tests (``from lab_cells import run_cell``: pytest puts this folder on
the import path). Every wait is bounded.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import nbformat

BROKEN_WIDGET_TEXT = ("Loading widget...", "Error displaying widget", "Traceback", "Error:")
# An exception shown in an output ("NameError", "AssertionError: ...", a traceback).
ERROR_OUTPUT = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b")


def run_cell(page, index: int, timeout_ms: int = 30_000) -> None:
    """Select cell ``index`` in command mode, run it (Ctrl+Enter), wait for its ``[n]:`` prompt."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")

    def press_run() -> None:
        accept_kernel_dialog(page)
        cell.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")

    press_run()
    pressed = time.monotonic()
    deadline = pressed + timeout_ms / 1000
    while time.monotonic() < deadline:
        text = prompt.inner_text().strip()
        if re.fullmatch(r"\[\d+\]:", text):
            return
        if accept_kernel_dialog(page):  # the key press went to the dialog, not the cell
            press_run()
            pressed = time.monotonic()
        elif text == "[ ]:" and time.monotonic() - pressed > 5:
            # No "[*]": the request never left (the page was still attaching to the kernel).
            press_run()
            pressed = time.monotonic()
        time.sleep(0.1)
    raise AssertionError(
        f"cell {index} did not finish within {timeout_ms / 1000:g}s "
        f"(prompt {prompt.inner_text()!r})"
    )


def accept_kernel_dialog(page) -> bool:
    """JupyterLab may still ask which kernel to use (a race while it loads): accept its choice."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        dialog.locator(".jp-mod-accept").first.click()
        return True
    return False


def assert_no_broken_widgets(page, where: str) -> None:
    text = page.locator(".jp-Notebook").inner_text()
    for bad in BROKEN_WIDGET_TEXT:
        assert bad not in text, f"{where}: the notebook shows {bad!r}:\n{text[-2000:]}"


def assert_cell_ok(page, index: int) -> None:
    """Cell ``index`` ran without an exception (the notebook's own asserts included)."""
    outputs = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")
    text = outputs.inner_text() if outputs.count() else ""
    assert not ERROR_OUTPUT.search(text), f"cell {index} failed:\n{text[-2000:]}"


def shut_down_kernels(jupyterlab) -> int:
    """End every kernel session of the server (its REST API), as closing the notebook and
    coming back later would; returns how many there were."""
    with urllib.request.urlopen(jupyterlab.url("api/sessions"), timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(
            jupyterlab.url(f"api/sessions/{session['id']}"), method="DELETE"
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
    return len(sessions)


def reopen_without_widget_state(page, jupyterlab, path: Path) -> None:
    """Open the saved notebook again, as a fresh JupyterLab would: its kernel ended, no widget
    state, no cell run. Every panel must show its HTML, not "Error displaying widget"."""
    from nbformat.sign import NotebookNotary

    page.goto("about:blank")
    # A kernel still alive would hand its widget models to the reopened page.
    assert shut_down_kernels(jupyterlab) >= 1

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # JupyterLab's default: widget state is not saved
    # Signed as JupyterLab signs what its user saves (same notary files): the notebook stays
    # trusted, so its HTML is shown as saved rather than sanitized.
    NotebookNotary().sign(nb)
    nbformat.write(nb, path)
    page.goto(jupyterlab.url(f"doc/tree/{path.name}"), timeout=60_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n",
        arg=len(nb.cells),
        timeout=60_000,
    )
    page.wait_for_timeout(3000)  # the widget manager gives up on missing models after about 2 s
    text = page.locator(".jp-Notebook").inner_text()
    for bad in ("Error displaying widget", "model not found", "Loading widget..."):
        assert bad not in text, f"the reopened notebook shows {bad!r}:\n{text[-2000:]}"
