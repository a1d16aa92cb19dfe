"""One scenario for nbwandb's panels, run on each frontend a user may have: what a person does.

``run_panel_scenario(frontend, ...)`` writes a notebook, opens it and runs its cells:

1. the ``LoginPanel`` (no credentials): "Continue offline";
2. a ``ConfigForm``: a value typed into a text field and one into a slider's box, "Start run";
   the next cell prints the run's config from the kernel, and the test reads it;
3. ``%wandb_status``: the live ``RunPanel``; a training cell logs for a few seconds, and the
   chart must grow while the cell still runs (read from the page at least twice);
4. ``%wandb_finish``: the panel becomes its final HTML with every step; the doctor's report, a
   ``TablePreview`` and a ``MediaGallery``;
5. save, end the kernel, open the notebook again: every panel shows its final HTML and no
   widget error.

A frontend adapter (``ClassicFrontend`` for classic Notebook 6.5.7, ``LabFrontend`` for
Notebook 7 and JupyterLab) knows the page's DOM; the scenario knows nothing of it. Every wait
is bounded.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import classic
import nbformat

STEPS = 120
VAL_EVERY = 30
STEP_SLEEP_S = 0.03  # the training cell runs for about 3.6 s: long enough to see it grow
TYPED_OPTIMIZER = "sgd"
TYPED_EPOCHS = 5
CELLS = {
    "login": "%load_ext nbwandb\n"
    "import dataclasses, json, time\n"
    "import ipywidgets\n"
    "import numpy as np\n"
    "import nbwandb\n"
    "from nbwandb.notebook import ConfigForm, LoginPanel, MediaGallery, TablePreview\n"
    "print('ipywidgets', ipywidgets.__version__)\n"
    "LoginPanel()",
    "form": "@dataclasses.dataclass\n"
    "class Config:\n"
    "    learning_rate: float = 0.01\n"
    "    epochs: int = dataclasses.field(default=3, metadata={'min': 1, 'max': 10})\n"
    "    optimizer: str = 'adam'\n"
    "form = ConfigForm(Config(), project='panels', mode='offline')\n"
    "form",
    "config": "run = form.run\nprint('config', json.dumps(dict(run.config), sort_keys=True))",
    "status": "%wandb_status",
    "training": "rng = np.random.default_rng(0)\n"
    f"for step in range(1, {STEPS + 1}):\n"
    "    run.log({'loss': 2.5 / step ** 0.5 + rng.normal(0, 0.02), 'acc': 1 - 1 / step ** 0.3},\n"
    "            step=step, prefix='train')\n"
    f"    if step % {VAL_EVERY} == 0:\n"
    "        run.log({'loss': 2.7 / step ** 0.5}, step=step, prefix='val')\n"
    f"    time.sleep({STEP_SLEEP_S})",
    "finish": "%wandb_finish",
    "doctor": "%wandb_doctor --no-service",
    "previews": "display(TablePreview({'id': list(range(12)), 'score': rng.random(12).tolist()}))\n"
    "MediaGallery(rng.random((6, 3, 16, 16)), captions=[f'sample {i}' for i in range(6)])",
    # A run still live when the notebook is saved (run only where the server has nbwandb's
    # save hook: the file must hold the panel's HTML, and reopen with no widget error).
    "live": "from nbwandb.notebook import RunPanel\n"
    "live = nbwandb.init(project='scenario-live', mode='offline', quiet=True)\n"
    "for s in range(5):\n"
    "    live.log({'x': float(s)}, step=s)\n"
    "RunPanel(live)",
}
NAMES = list(CELLS)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"  # as save_screenshot's
CHART = "svg[data-title='train/loss']"


@dataclass
class Frontend:
    """What the scenario needs from a page: cells, their outputs, saving, reopening."""

    page: object
    server: object
    kernel: str
    notebook_url: str  # "notebooks/{name}": classic and Notebook 7 alike
    cell_selector: str
    output_selector: str  # one output of a cell
    container: str  # the notebook's cells, for a text check of the whole page
    broken_text: tuple[str, ...] = field(default_factory=tuple)
    # The server runs nbwandb's save hook (installed with nbwandb in its environment): a panel
    # still live at save time is saved as HTML. Colab's stand-in frontend has no nbwandb.
    saves_live_panels: bool = False

    def open(self, name: str) -> None:
        raise NotImplementedError

    def run(self, index: int, wait: bool = True, timeout_ms: int = 60_000) -> None:
        raise NotImplementedError

    def running(self, index: int) -> bool:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        raise NotImplementedError

    def cell(self, index: int):
        return self.page.locator(self.cell_selector).nth(index)

    def outputs(self, index: int):
        return self.cell(index).locator(self.output_selector)

    def widget(self, index: int, css_class: str):
        """The live widget of class ``css_class`` in cell ``index`` (not its HTML form)."""
        return self.cell(index).locator(f".jupyter-widgets.{css_class}")

    def assert_cell_ok(self, index: int) -> None:
        text = self.outputs(index).all_inner_texts()
        joined = "\n".join(text)
        assert not classic.ERROR_OUTPUT.search(joined), f"cell {index} failed:\n{joined[-2000:]}"

    def assert_no_broken_widgets(self, where: str) -> None:
        text = self.page.locator(self.container).inner_text()
        for bad in self.broken_text:
            assert bad not in text, f"{where}: the notebook shows {bad!r}:\n{text[-2000:]}"

    def wait_for_cells(self, count: int) -> None:
        self.page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[self.cell_selector, count],
            timeout=60_000,
        )


class ClassicFrontend(Frontend):
    def __init__(self, page, server, kernel: str) -> None:
        super().__init__(
            page,
            server,
            kernel,
            "notebooks/{name}",
            "#notebook-container .cell",
            ".output_wrapper .output_area",
            "#notebook-container",
            classic.BROKEN_WIDGET_TEXT,
        )

    def open(self, name: str) -> None:
        classic.open_notebook(self.page, self.server, name)

    def run(self, index: int, wait: bool = True, timeout_ms: int = 60_000) -> None:
        classic.run_cell(self.page, index, timeout_ms=timeout_ms, wait=wait)

    def running(self, index: int) -> bool:
        return classic.cell_prompt(self.page, index) == "In [*]:"

    def save(self, path: Path) -> None:
        classic.save(self.page, path)


class LabFrontend(Frontend):
    """Notebook 7 (``notebooks/NAME``) or JupyterLab (``doc/tree/NAME``): JupyterLab's cells."""

    def __init__(self, page, server, url: str = "notebooks/{name}") -> None:
        super().__init__(
            page,
            server,
            "python3",
            url,
            ".jp-Notebook .jp-Cell",
            ".jp-OutputArea-output",
            ".jp-Notebook",
            ("Loading widget...", "Error displaying widget", "model not found", "Traceback"),
            saves_live_panels=True,
        )

    def open(self, name: str) -> None:
        from lab_cells import accept_kernel_dialog

        self.page.goto(self.server.url(self.notebook_url.format(name=name)), timeout=60_000)
        self.page.locator(self.cell_selector).first.wait_for(timeout=60_000)
        # The kernel is up when it answers: its status reads idle in the page's kernel model.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            accept_kernel_dialog(self.page)
            if self._kernel_idle():
                return
            time.sleep(0.2)
        raise AssertionError(f"{name}: the kernel was not idle within 60 s")

    def _kernel_idle(self) -> bool:
        try:
            with urllib.request.urlopen(self.server.url("api/kernels"), timeout=10) as response:
                kernels = json.load(response)
        except (urllib.error.URLError, OSError):
            # jupyter_server answers 500 while a kernel is half started (no last_activity yet)
            return False
        return any(k.get("execution_state") == "idle" for k in kernels)

    def run(self, index: int, wait: bool = True, timeout_ms: int = 60_000) -> None:
        from lab_cells import run_cell

        if wait:
            run_cell(self.page, index, timeout_ms=timeout_ms)
            return
        self.cell(index).locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+Enter")

    def running(self, index: int) -> bool:
        prompt = self.cell(index).locator(".jp-InputArea-prompt").inner_text().strip()
        return prompt == "[*]:"

    def save(self, path: Path) -> None:
        before = path.stat().st_mtime_ns
        self.page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and path.stat().st_mtime_ns == before:
            time.sleep(0.2)
        assert path.stat().st_mtime_ns != before, f"{path.name} was not saved within 20 s"


def wait_until(check, what: str, timeout_s: float = 20):
    """Poll ``check()`` until it returns something true (returned), bounded; outputs reach the
    page on their own channel, after or before the cell's prompt changes."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s:g}s: {what} (last: {last!r})")


def _points(locator) -> int:
    if locator.count() == 0:
        return 0
    return int(locator.first.get_attribute("data-points") or 0)


def _wait_points(locator, expected: int, timeout_s: float = 20) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _points(locator) != expected:
        time.sleep(0.1)
    return _points(locator)


def shut_down_kernels(server) -> int:
    """End every kernel session of the server (REST API), as closing the notebook would."""
    with urllib.request.urlopen(server.url("api/sessions"), timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(
            server.url(f"api/sessions/{session['id']}"), method="DELETE"
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
    return len(sessions)


def new_notebook(path: Path, kernel: str, display_name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": display_name, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    nbformat.write(nb, path)


def run_panel_scenario(fe: Frontend, root: Path, name: str, save_screenshot, shot: str) -> dict:
    """The scenario above on ``fe``; returns what was seen (for the test's report)."""
    page, cell = fe.page, NAMES.index
    seen: dict = {}
    fe.open(name)

    # 1. The login panel: no credentials here, so a key field and "Continue offline".
    fe.run(cell("login"))
    fe.assert_cell_ok(cell("login"))
    first_line = wait_until(
        lambda: fe.outputs(cell("login")).first.inner_text().strip(), "the version printed"
    )
    seen["ipywidgets"] = first_line.split()[-1]
    login = fe.widget(cell("login"), "nbwandb-login-panel")
    login.wait_for(state="visible", timeout=20_000)
    assert login.locator("input[type='password']").count() == 1
    login.get_by_role("button", name="Continue offline").click()
    # In the widget, or in the final HTML that replaces it once the choice is made.
    fe.cell(cell("login")).get_by_text("Runs will be offline").first.wait_for(timeout=20_000)

    # 2. The config form: type into a text field and a slider's box, then "Start run".
    fe.run(cell("form"))
    form = fe.widget(cell("form"), "nbwandb-config-form")
    form.wait_for(state="visible", timeout=20_000)
    fe.assert_no_broken_widgets("the config form")
    optimizer = form.locator(".nbwandb-field").filter(has_text="optimizer").locator("input")
    assert optimizer.input_value() == "adam"
    optimizer.fill(TYPED_OPTIMIZER)
    epochs = form.locator(".nbwandb-field").filter(has_text="epochs")
    typed = epochs.locator(".nbwandb-slider-text input")
    assert typed.input_value() == "3"
    typed.fill("99")  # out of range: refused with a message, the run not started with it
    typed.press("Enter")
    epochs.get_by_text("epochs=99 is above the maximum 10").wait_for(timeout=10_000)
    typed.fill(str(TYPED_EPOCHS))
    typed.press("Enter")
    message = epochs.locator(".nbwandb-field-message")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and message.inner_text().strip():
        time.sleep(0.1)
    assert message.inner_text().strip() == "", "a valid epochs still shows a message"
    form.get_by_role("button", name="Start run").click()
    form.get_by_text("started offline run").wait_for(timeout=60_000)
    save_screenshot(page, f"{shot}_form")

    # The kernel got the typed values: the run it started has them in its config.
    fe.run(cell("config"))
    fe.assert_cell_ok(cell("config"))
    printed = wait_until(
        lambda: fe.outputs(cell("config")).first.inner_text().strip(), "the config printed"
    )
    assert printed.startswith("config "), printed
    seen["config"] = config = json.loads(printed[len("config ") :])
    assert config == {
        "epochs": TYPED_EPOCHS,
        "learning_rate": 0.01,
        "optimizer": TYPED_OPTIMIZER,
    }, config

    # 3. The live run panel, drawn while the training cell logs.
    fe.run(cell("status"))
    fe.assert_cell_ok(cell("status"))
    panel = fe.widget(cell("status"), "nbwandb-run-panel")
    panel.wait_for(state="visible", timeout=20_000)
    chart = panel.locator(CHART)
    fe.run(cell("training"), wait=False)
    counts: list[int] = []
    deadline = time.monotonic() + 60
    started = False
    while time.monotonic() < deadline:
        running = fe.running(cell("training"))
        started = started or running
        if not started and time.monotonic() > deadline - 50:
            raise AssertionError("the training cell never showed as running within 10 s")
        if started and not running:
            break
        if running:
            count = _points(chart)
            if count and (not counts or counts[-1] != count):
                counts.append(count)
        time.sleep(0.05)
    else:
        raise AssertionError(f"the training cell did not finish within 60 s (chart: {counts})")
    seen["points_while_running"] = counts
    grown = [c for c in counts if 0 < c < STEPS]
    assert len(grown) >= 2, f"the chart did not grow while the cell ran: {counts}"
    assert _wait_points(chart, STEPS) == STEPS, "the live chart after the cell"
    fe.assert_cell_ok(cell("training"))
    save_screenshot(page, f"{shot}_live")
    page.mouse.move(0, 0)  # no hover highlight in the picture
    fe.cell(cell("status")).screenshot(path=str(SCREENSHOTS / f"{shot}_run_panel_live.png"))

    # 4. Finish: the panel is its final HTML (no widget) with every step.
    fe.run(cell("finish"))
    fe.assert_cell_ok(cell("finish"))
    final_chart = fe.outputs(cell("status")).locator(f".nbwandb-run-panel {CHART}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        fe.widget(cell("status"), "nbwandb-run-panel").count() == 0
        and _points(final_chart) == STEPS
    ):
        time.sleep(0.1)
    assert fe.widget(cell("status"), "nbwandb-run-panel").count() == 0, "still a live widget"
    assert _points(final_chart) == STEPS
    val = fe.outputs(cell("status")).locator(".nbwandb-run-panel svg[data-title='val/loss']")
    assert _wait_points(val, STEPS // VAL_EVERY) == STEPS // VAL_EVERY
    fe.run(cell("doctor"))
    fe.assert_cell_ok(cell("doctor"))
    doctor = fe.outputs(cell("doctor")).locator(".nbwandb-doctor-report table")
    doctor.wait_for(timeout=20_000)
    seen["doctor"] = doctor.inner_text()
    fe.run(cell("previews"))
    fe.assert_cell_ok(cell("previews"))
    previews = fe.outputs(cell("previews"))
    rows = previews.locator(".nbwandb-table-preview table tbody tr")
    wait_until(lambda: rows.count() == 12, "the table preview's 12 rows")
    images = previews.locator(".nbwandb-media-gallery img")
    wait_until(lambda: images.count() == 6, "the gallery's 6 images")
    fe.assert_no_broken_widgets("after the whole notebook ran")
    fe.outputs(cell("status")).first.scroll_into_view_if_needed()
    save_screenshot(page, shot)
    # The run panel's cell alone, whole (a notebook page scrolls inside itself).
    fe.cell(cell("status")).screenshot(path=str(SCREENSHOTS / f"{shot}_run_panel.png"))

    if fe.saves_live_panels:  # a run still live at save time
        fe.run(cell("live"))
        fe.assert_cell_ok(cell("live"))
        live_chart = fe.widget(cell("live"), "nbwandb-run-panel").locator("svg[data-title='x']")
        assert _wait_points(live_chart, 5) == 5, "the live run's chart"

    # 5. Save, end the kernel, open again: the final panels, no widget errors.
    fe.save(root / name)

    def saved_outputs():
        try:
            saved = nbformat.read(root / name, as_version=4)
        except Exception:  # noqa: BLE001 - the server may still be writing it
            return None
        shown = {
            key: [o for o in saved.cells[cell(key)].outputs if o["output_type"] == "display_data"]
            for key in ("login", "form", "status")
        }
        return shown if all(shown.values()) else None

    for key, shown in wait_until(saved_outputs, "the saved notebook with its outputs").items():
        assert all("text/html" in o["data"] for o in shown), (key, shown)
        seen[f"saved_{key}"] = sorted({m for o in shown for m in o["data"]})
    if fe.saves_live_panels:  # the hook saved the live panel's HTML form, no widget view
        saved = nbformat.read(root / name, as_version=4)
        (live_out,) = [
            o
            for o in saved.cells[cell("live")].outputs
            if o["output_type"] in ("display_data", "execute_result")
        ]
        assert "text/html" in live_out["data"], live_out
        assert "application/vnd.jupyter.widget-view+json" not in live_out["data"], live_out
    page.goto("about:blank")
    assert shut_down_kernels(fe.server) >= 1
    fe.open(name)
    fe.wait_for_cells(len(NAMES))
    final_chart.wait_for(timeout=30_000)
    assert _wait_points(final_chart, STEPS) == STEPS
    form_html = fe.outputs(cell("form")).locator(".nbwandb-config-form")
    wait_until(lambda: "config of run" in form_html.first.inner_text(), "the form's final HTML")
    for key, marker in (
        ("login", ".nbwandb-login-panel"),
        ("previews", ".nbwandb-table-preview table"),
        ("previews", ".nbwandb-media-gallery img"),
    ):
        found = fe.outputs(cell(key)).locator(marker)
        wait_until(lambda found=found: found.count() >= 1, f"{marker} after reopening")
    if fe.saves_live_panels:
        live_html = fe.outputs(cell("live")).locator(".nbwandb-run-panel svg[data-title='x']")
        assert _wait_points(live_html, 5) == 5, "the live run's panel after reopening"
    fe.assert_no_broken_widgets("the reopened notebook")
    save_screenshot(page, f"{shot}_reopened")
    return seen
