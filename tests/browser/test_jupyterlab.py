"""The quickstart notebook in a real JupyterLab, driven by headless Chromium.

What a reader would do: open ``notebooks/01_quickstart.ipynb``, run its cells in order,
see the login panel and the config form as widgets (not "Loading widget..." or an error),
type a key and log in (then go offline), move the epochs slider, click "Start run", run
the rest (training, the run panel, finish, the notebook's own checks, the dashboard) and
save. The run that the click started is read back from its files to check that the
slider's value reached its config; the run panel's charts are checked against the run's
history; the saved notebook (widget state included) is checked for the key. Every wait
is bounded; screenshots go to ``out/screenshots/``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from lab_cells import (
    assert_cell_ok,
    assert_no_broken_widgets,
    reopen_without_widget_state,
    run_cell,
)

from nbwandb.local import read_run

SOURCE = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
NOTEBOOK = SOURCE.name
FAKE_KEY = "f00dcafe" * 5  # the form of a W&B key (40 characters); it must never be saved
EPOCHS_DEFAULT = 3
EPOCHS_SET_IN_BROWSER = 4  # one more epoch than the default: a few seconds more training
# Live widgets only: each panel's text/html fallback carries the same class names, and
# JupyterLab shows that fallback when the widget cannot render.
LOGIN = ".jupyter-widgets.nbwandb-login-panel"
FORM = ".jupyter-widgets.nbwandb-config-form"
PANEL = ".jupyter-widgets.nbwandb-run-panel"
CHART = ".jupyter-widgets.nbwandb-chart"
# Once the run has finished, the panel's output is its static HTML (same classes, no widget).
FINAL_PANEL = ".jp-OutputArea-output .nbwandb-run-panel"
ANY_CHART = ".nbwandb-chart"
# The cells the test acts after, found by what they hold (the notebook may gain cells).
LOGIN_CELL = "%wandb_login"
FORM_CELL = "ConfigForm("
TRAIN_CELL = "for epoch in range(cfg.epochs)"
FINISH_CELL = "%wandb_finish"

pytestmark = pytest.mark.timeout(180)


def _code_cells(path: Path) -> list[tuple[int, str]]:
    """(index among all cells, source) of each code cell: the DOM's ``.jp-Cell`` order."""
    nb = nbformat.read(path, as_version=4)
    return [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def _cell_index(cells: list[tuple[int, str]], marker: str) -> int:
    found = [i for i, source in cells if marker in source]
    assert len(found) == 1, (
        f"{NOTEBOOK}: expected one code cell with {marker!r}, found cells {found}"
    )
    return found[0]


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
    raise AssertionError(
        f"no run with a config appeared under {root / 'wandb'} within {timeout:g}s ({last!r})"
    )


def _chart_points(page, key: str, panel: str = PANEL, chart: str = CHART) -> int:
    svg = page.locator(f"{panel} {chart} svg[data-title='{key}']")
    if svg.count() == 0:
        return 0
    return int(svg.first.get_attribute("data-points") or 0)


def test_quickstart_widgets_render_and_drive_a_run(
    browser_page, jupyterlab, lab_root: Path, save_screenshot
):
    # browser_page first: a missing Chromium fails at once, before JupyterLab starts
    page = browser_page
    started = time.monotonic()

    def stage(name: str) -> None:  # shown when the test fails: where the time went
        print(f"{time.monotonic() - started:6.1f}s {name}")

    shutil.copyfile(SOURCE, lab_root / NOTEBOOK)
    cells = _code_cells(lab_root / NOTEBOOK)
    login_cell, form_cell, train_cell, finish_cell = (
        _cell_index(cells, marker) for marker in (LOGIN_CELL, FORM_CELL, TRAIN_CELL, FINISH_CELL)
    )
    # /doc is JupyterLab's single-document view: the notebook without the side panels.
    page.goto(jupyterlab.url(f"doc/tree/{NOTEBOOK}"), timeout=60_000)
    try:
        # A placeholder cell shows while the file loads: wait for all of the notebook's cells.
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n",
            arg=len(nbformat.read(SOURCE, as_version=4).cells),
            timeout=60_000,
        )
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )
        stage("notebook open, kernel idle")

        first = True
        for index, _source in cells:
            # The first cell also waits for the kernel; training gets time for a slow CI machine.
            timeout_ms = 60_000 if first or index == train_cell else 30_000
            first = False
            run_cell(page, index, timeout_ms=timeout_ms)
            assert_cell_ok(page, index)
            if index == login_cell:
                _log_in_then_go_offline(page, save_screenshot)
                stage("login panel")
            elif index == form_cell:
                _move_slider_and_start_run(page, lab_root, save_screenshot)
                stage("config form: slider moved, run started, config read back")
            elif index == train_cell:
                # The run panel (shown by %wandb_status before training) has drawn the steps.
                page.locator(PANEL).wait_for(state="visible", timeout=20_000)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and _chart_points(page, "train/loss") == 0:
                    time.sleep(0.2)
                assert _chart_points(page, "train/loss") > 0, (
                    "the run panel's chart shows no points"
                )
                stage("trained")
            elif index == finish_cell:
                _check_run_panel_against_the_run(page, lab_root, save_screenshot)
                stage("run finished, charts checked")
        assert_no_broken_widgets(page, "after the whole notebook ran")
        page.locator(".jp-Notebook .jp-Cell").last.scroll_into_view_if_needed()
        save_screenshot(page, "04_notebook_end")
        stage("all cells ran")

        # The saved notebook (outputs and widget state) and the page never hold the key.
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        saved = {}
        while time.monotonic() < deadline and "widgets" not in saved.get("metadata", {}):
            time.sleep(0.3)
            saved = nbformat.read(lab_root / NOTEBOOK, as_version=4)
        assert "application/vnd.jupyter.widget-state+json" in saved["metadata"].get(
            "widgets", {}
        ), "the saved notebook should hold the widget state (so the next check means something)"
        assert FAKE_KEY not in (lab_root / NOTEBOOK).read_text()
        assert FAKE_KEY not in page.content()
        stage("saved notebook checked")

        reopen_without_widget_state(page, jupyterlab, lab_root / NOTEBOOK)
        page.locator(f"{FINAL_PANEL} svg[data-title='train/loss']").first.wait_for(timeout=30_000)
        assert _chart_points(page, "train/loss", FINAL_PANEL, ANY_CHART) > 0
        page.locator(".nbwandb-config-form", has_text="config of run").first.wait_for(
            timeout=10_000
        )
        stage("reopened without widget state: final panels, no widget errors")
    except Exception:
        save_screenshot(page, "failure")
        print(jupyterlab.log_tail())
        raise


def _log_in_then_go_offline(page, save_screenshot) -> None:
    """%wandb_login without credentials: the login panel, as a widget; a typed key never stays."""
    login = page.locator(LOGIN)
    login.wait_for(state="visible", timeout=20_000)
    key_field = login.locator("input[type='password']")
    assert key_field.count() == 1
    # A key typed into the masked field leaves the widget as soon as "Log in" is clicked.
    key_field.fill(FAKE_KEY)
    login.get_by_role("button", name="Log in").click()
    login.locator(".nbwandb-status").filter(has_not_text="Checking").filter(
        has_not_text="Paste a key"
    ).wait_for(timeout=30_000)
    assert key_field.input_value() == ""
    save_screenshot(page, "00_login_panel_after_log_in")
    login.get_by_role("button", name="Continue offline").click()
    login.get_by_text("Runs will be offline").wait_for(timeout=20_000)


def _move_slider_and_start_run(page, lab_root: Path, save_screenshot) -> None:
    """The config form: move the epochs slider, click "Start run", read the run's config back."""
    form = page.locator(FORM)
    form.wait_for(state="visible", timeout=20_000)
    assert_no_broken_widgets(page, "after the login panel and config form")
    form.scroll_into_view_if_needed()
    save_screenshot(page, "01_login_panel_and_config_form")

    epochs = form.locator(".nbwandb-field").filter(
        has=page.locator(".widget-slider", has_text="epochs")
    )
    typed = epochs.locator(".nbwandb-slider-text input")
    assert typed.input_value() == str(EPOCHS_DEFAULT)
    # A value out of range is refused with a message, not clamped to the maximum.
    typed.fill("99")
    typed.press("Enter")
    epochs.get_by_text("epochs=99 is above the maximum 10").wait_for(timeout=10_000)
    typed.fill(str(EPOCHS_SET_IN_BROWSER))
    typed.press("Enter")
    page.wait_for_function(
        "el => el.innerText.trim() === ''",
        arg=epochs.locator(".nbwandb-field-message").element_handle(),
        timeout=10_000,
    )

    form.get_by_role("button", name="Start run").click()
    form.get_by_text("started offline run").wait_for(timeout=30_000)
    config = _wait_for_run_config(lab_root, timeout=30)
    assert config["epochs"] == EPOCHS_SET_IN_BROWSER, config
    # Fields nobody touched keep their values (a float choice must not be rounded on the way).
    assert config["lr"] == pytest.approx(0.01, rel=1e-9), config
    assert (config["batch_size"], config["channels"]) == (32, 8), config
    save_screenshot(page, "02_run_started_from_form")


def _check_run_panel_against_the_run(page, lab_root: Path, save_screenshot) -> None:
    """After %wandb_finish: the panel's charts hold every logged step of the finished run."""
    runs = sorted((lab_root / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, f"the notebook should make one run (the form's), found {runs}"
    logged = read_run(runs[0])
    assert logged.state == "finished"
    assert logged.config["epochs"] == EPOCHS_SET_IN_BROWSER, (
        "the notebook trained with the form's run"
    )
    train_steps = sum("train/loss" in row for row in logged.history)
    val_steps = sum("val/acc" in row for row in logged.history)
    assert val_steps == EPOCHS_SET_IN_BROWSER and train_steps > val_steps
    # The run has finished: after the cell, the panel's output was replaced by its final HTML.
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline
        and _chart_points(page, "train/loss", FINAL_PANEL, ANY_CHART) < train_steps
    ):
        time.sleep(0.2)
    assert _chart_points(page, "train/loss", FINAL_PANEL, ANY_CHART) == train_steps
    assert _chart_points(page, "val/acc", FINAL_PANEL, ANY_CHART) == val_steps
    assert page.locator(PANEL).count() == 0, "a finished run's panel is static HTML, not a widget"
    line = page.locator(f"{FINAL_PANEL} svg[data-title='train/loss'] polyline")
    assert len(line.first.get_attribute("points").split()) == train_steps
    assert_no_broken_widgets(page, "after training")
    # The notebook scrolls inside the page: bring the charts into view for the screenshot.
    page.locator(f"{FINAL_PANEL} {ANY_CHART}").last.scroll_into_view_if_needed()
    save_screenshot(page, "03_run_panel_charts")
