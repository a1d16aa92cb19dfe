"""nbwandb's widgets in a real JupyterLab, driven by headless Chromium.

What a person would do: open a notebook, run ``%wandb_login`` and ``%wandb_config``, see
the login panel and the config form as widgets (not "Loading widget..." or an error),
type a key and log in, move a slider, click "Start run", then watch the run panel's chart
fill in, and save. The run that the click started is read back from its files to check
that the slider's value reached its config; the saved notebook (widget state included) is
checked for the key. Every wait is bounded; screenshots go to ``out/screenshots/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from nbwandb.local import read_run

NOTEBOOK = "widgets.ipynb"
FAKE_KEY = "f00dcafe" * 5  # the form of a W&B key (40 characters); it must never be saved
EPOCHS_SET_IN_BROWSER = 7
STEPS = 6
BROKEN_WIDGET_TEXT = ("Loading widget...", "Error displaying widget", "Traceback", "Error:")
# Live widgets only: each panel's text/html fallback carries the same class names, and
# JupyterLab shows that fallback when the widget cannot render.
LOGIN = ".jupyter-widgets.nbwandb-login-panel"
FORM = ".jupyter-widgets.nbwandb-config-form"
PANEL = ".jupyter-widgets.nbwandb-run-panel"
CHART = ".jupyter-widgets.nbwandb-chart"

pytestmark = pytest.mark.timeout(180)

CELLS = [
    "%load_ext nbwandb\n%wandb_login",
    (
        "import dataclasses\n\n"
        "@dataclasses.dataclass\n"
        "class Config:\n"
        "    lr: float = dataclasses.field(default=0.01, metadata={'min': 0.001, 'max': 0.1})\n"
        "    epochs: int = dataclasses.field(default=3, metadata={'min': 1, 'max': 10})\n"
        "    optimizer: str = 'adam'\n\n"
        "config = Config()\n"
        "form = %wandb_config config --project browser-test --mode offline\n"
        "form"
    ),
    (
        "from nbwandb.notebook import RunPanel\n\n"
        "run = form.run\n"
        "panel = RunPanel(run, interval=0.1)\n"
        "display(panel)\n"
        f"for step in range(1, {STEPS + 1}):\n"
        "    run.log({'loss': 1 / step, 'accuracy': step / " + str(STEPS) + "}, step=step, prefix='train')\n"
        "assert run.flush(timeout=30)"
    ),
    "%wandb_finish",
]


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, path)


def _run_cell(page, index: int, timeout_ms: int = 30_000) -> None:
    """Select cell ``index`` in command mode, run it (Ctrl+Enter), wait for its ``[n]:`` prompt."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")

    def press_run() -> None:
        _accept_kernel_dialog(page)
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
        if _accept_kernel_dialog(page):  # the key press went to the dialog, not the cell
            press_run()
            pressed = time.monotonic()
        elif text == "[ ]:" and time.monotonic() - pressed > 5:
            # No "[*]": the request never left (the page was still attaching to the kernel).
            press_run()
            pressed = time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"cell {index} did not finish within {timeout_ms / 1000:g}s "
                         f"(prompt {prompt.inner_text()!r})")


def _accept_kernel_dialog(page) -> bool:
    """JupyterLab may still ask which kernel to use (a race while it loads): accept its choice."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        dialog.locator(".jp-mod-accept").first.click()
        return True
    return False


def _assert_no_broken_widgets(page, where: str) -> None:
    text = page.locator(".jp-Notebook").inner_text()
    for bad in BROKEN_WIDGET_TEXT:
        assert bad not in text, f"{where}: the notebook shows {bad!r}:\n{text[-2000:]}"


def _wait_for_run_config(root: Path, timeout: float) -> dict:
    """The config of the single run under ``root/wandb`` once it is on disk."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        runs = sorted((root / "wandb").glob("offline-run-*"))
        if runs:
            try:
                config = read_run(runs[-1]).config
            except Exception as exc:  # noqa: BLE001 - the log may be mid-write; try again
                last = exc
            else:
                if "epochs" in config:
                    assert len(runs) == 1, f"one click must start one run, found {runs}"
                    return config
                last = config
        time.sleep(0.25)
    raise AssertionError(f"no run with a config appeared under {root / 'wandb'} within {timeout:g}s ({last!r})")


def _chart_points(page, key: str) -> int:
    svg = page.locator(f"{PANEL} {CHART} svg[data-title='{key}']")
    if svg.count() == 0:
        return 0
    return int(svg.first.get_attribute("data-points") or 0)


def test_widgets_render_and_drive_a_run(browser_page, jupyterlab, lab_root: Path, save_screenshot):
    # browser_page first: a missing Chromium fails at once, before JupyterLab starts
    page = browser_page
    started = time.monotonic()

    def stage(name: str) -> None:  # shown when the test fails: where the time went
        print(f"{time.monotonic() - started:6.1f}s {name}")

    _write_notebook(lab_root / NOTEBOOK)
    # /doc is JupyterLab's single-document view: the notebook without the side panels.
    page.goto(jupyterlab.url(f"doc/tree/{NOTEBOOK}"), timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    try:
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)

        stage("notebook open, kernel idle")
        # 1. %wandb_login without credentials: the login panel, as a widget
        _run_cell(page, 0, timeout_ms=60_000)  # the first cell also waits for the kernel
        login = page.locator(LOGIN)
        login.wait_for(state="visible", timeout=20_000)
        key_field = login.locator("input[type='password']")
        assert key_field.count() == 1
        # A key typed into the masked field leaves the widget as soon as "Log in" is clicked.
        key_field.fill(FAKE_KEY)
        login.get_by_role("button", name="Log in").click()
        login.locator(".nbwandb-status").filter(has_not_text="Checking").filter(
            has_not_text="Paste a key").wait_for(timeout=30_000)
        assert key_field.input_value() == ""
        stage(f"login answered: {login.locator('.nbwandb-status').inner_text()!r}")
        save_screenshot(page, "00_login_panel_after_log_in")
        login.get_by_role("button", name="Continue offline").click()
        login.get_by_text("Runs will be offline").wait_for(timeout=20_000)

        stage("login panel")
        # 2. %wandb_config: the config form, with a slider per bounded number
        _run_cell(page, 1)
        form = page.locator(FORM)
        form.wait_for(state="visible", timeout=20_000)
        _assert_no_broken_widgets(page, "after the login panel and config form")
        save_screenshot(page, "01_login_panel_and_config_form")

        epochs = form.locator(".widget-slider").filter(has_text="epochs")
        readout = epochs.locator(".widget-readout")
        assert readout.inner_text().strip() == "3"
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(EPOCHS_SET_IN_BROWSER))
        page.keyboard.press("Enter")
        page.wait_for_function(
            "([el, want]) => el.innerText.trim() === want",
            arg=[readout.element_handle(), str(EPOCHS_SET_IN_BROWSER)], timeout=10_000,
        )

        stage("config form, slider moved")
        # 3. "Start run": a run whose config has the slider's new value
        form.get_by_role("button", name="Start run").click()
        form.get_by_text("started offline run").wait_for(timeout=30_000)
        config = _wait_for_run_config(lab_root, timeout=30)
        assert config["epochs"] == EPOCHS_SET_IN_BROWSER, config
        # Fields nobody touched keep their values (a float slider must not snap its default).
        assert config["lr"] == pytest.approx(0.01, rel=1e-9), (
            f"lr was not touched but the run got lr={config['lr']!r}: the slider's step grid "
            "(min + k*step) does not hold the default, and the browser snapped it")
        assert config["optimizer"] == "adam", config
        save_screenshot(page, "02_run_started_from_form")

        stage("run started, config read back")
        # 4. the run panel's charts fill in as steps are logged
        _run_cell(page, 2)
        page.locator(PANEL).wait_for(state="visible", timeout=20_000)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _chart_points(page, "train/loss") < STEPS:
            time.sleep(0.2)
        assert _chart_points(page, "train/loss") == STEPS
        assert _chart_points(page, "train/accuracy") == STEPS
        line = page.locator(f"{PANEL} {CHART} svg[data-title='train/loss'] polyline")
        assert len(line.first.get_attribute("points").split()) == STEPS
        _assert_no_broken_widgets(page, "after logging")
        # The notebook scrolls inside the page: bring the charts into view for the screenshot.
        page.locator(f"{PANEL} {CHART}").last.scroll_into_view_if_needed()
        save_screenshot(page, "03_run_panel_charts")

        stage("charts filled")
        # 5. finish; the run on disk has every step
        _run_cell(page, 3)
        runs = sorted((lab_root / "wandb").glob("offline-run-*"))
        logged = read_run(runs[-1])
        assert [row["global_step"] for row in logged.history] == list(range(1, STEPS + 1))
        assert logged.state == "finished"
        stage("run finished")

        # 6. the saved notebook (outputs and widget state) and the page never hold the key
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        saved = {}
        while time.monotonic() < deadline and "widgets" not in saved.get("metadata", {}):
            time.sleep(0.3)
            saved = nbformat.read(lab_root / NOTEBOOK, as_version=4)
        assert "application/vnd.jupyter.widget-state+json" in saved["metadata"].get("widgets", {}), \
            "the saved notebook should hold the widget state (so the next check means something)"
        assert FAKE_KEY not in (lab_root / NOTEBOOK).read_text()
        assert FAKE_KEY not in page.content()
        stage("saved notebook checked")
    except Exception:
        save_screenshot(page, "failure")
        print(jupyterlab.log_tail())
        raise
