"""Every panel in a real JupyterLab: laid out inside its cell, readable, and still there after reopening.

A scratch notebook shows each panel (login, config form, run panel, table preview, media
gallery, sweep panel, doctor report, dashboard, runs table). After running it, at 800 and
1300 px wide: no element runs past its cell unless it sits in a scroll box, every chart tick
label lies inside its SVG, hovering a chart shows a step and a value, and each panel's
screenshot goes to ``out/screenshots/``. Then the saved notebook is opened again without
widget state and without running a cell: no "Error displaying widget", and the final
panels are there.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from lab_cells import assert_cell_ok, reopen_without_widget_state, run_cell

pytestmark = pytest.mark.timeout(240)

NOTEBOOK = "panels.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"  # as save_screenshot's
WIDTHS = (800, 1300)
CELLS = {
    "login_panel": "%load_ext nbwandb\n"
    "import dataclasses\n"
    "import numpy as np\n"
    "import nbwandb\n"
    "from nbwandb.notebook import ConfigForm, LoginPanel, MediaGallery, TablePreview\n"
    "from nbwandb.notebook.sweep_panel import SweepPanel\n"
    "LoginPanel()",
    "config_form": "@dataclasses.dataclass\n"
    "class Config:\n"
    "    learning_rate: float = dataclasses.field(default=0.01, metadata={'min': 1e-4, 'max': 0.1})\n"
    "    epochs: int = dataclasses.field(default=3, metadata={'min': 1, 'max': 10})\n"
    "    optimizer: str = 'adam'\n"
    "    augment: bool = True\n"
    "form = ConfigForm(Config(), project='panels', mode='offline')\n"
    "form",
    "run_panel": "run = nbwandb.init(project='panels', mode='offline', config=form.value)\n%wandb_status",
    "training": "rng = np.random.default_rng(0)\n"
    "for step in range(1, 241):\n"
    "    run.log({'loss': 2.5 / step ** 0.5 + rng.normal(0, 0.02), 'acc': 1 - 1 / step ** 0.3,\n"
    "             'lr': 0.01 * 0.99 ** step}, step=step, prefix='train')\n"
    "    if step % 40 == 0:\n"
    "        run.log({'loss': 2.7 / step ** 0.5, 'acc': 0.9 - 1 / step}, step=step, prefix='val')\n"
    "run.log_image('samples/digit', rng.random((12, 12)), step=240)",
    "table_preview": "TablePreview({'id': list(range(30)), 'score': rng.random(30).tolist(),\n"
    "              'seconds': (rng.random(30) * 1e4).tolist(),\n"
    "              'comment': ['a rather long free-text comment that should wrap, not stretch'] * 30,\n"
    "              **{f'feature_{i}': rng.random(30).tolist() for i in range(10)}})",
    "media_gallery": "MediaGallery(rng.random((40, 3, 24, 24)), captions=[f'sample {i}: a caption' for i in range(40)])",
    "finish": "%wandb_finish",
    "sweep_panel": "sweep = SweepPanel(plot_interval=0)\n"
    "display(sweep)\n"
    "config = {'method': 'grid', 'metric': {'name': 'loss', 'goal': 'minimize'},\n"
    "          'parameters': {'lr': {'values': [0.001, 0.01, 0.1]}, 'act': {'values': ['relu', 'tanh']}}}\n"
    "result = sweep.run(config, lambda cfg: {'loss': cfg['lr'] * (2 if cfg['act'] == 'relu' else 1)})",
    "doctor_report": "%wandb_doctor --no-service",
    "dashboard": "nbwandb.show(run.run_dir)",
    "runs_table": "from nbwandb.local import list_runs\nlist_runs()",
    # Saved while still live: a form nobody used and the panel of a run not yet finished.
    "unused_form": "unused = ConfigForm({'lr': 0.1, 'layers': 2}, project='panels', mode='offline')\n"
    "unused",
    "live_run_panel": "from nbwandb.notebook import RunPanel\n"
    "live = nbwandb.init(project='panels', mode='offline')\n"
    "display(RunPanel(live))\n"
    "for step in range(5):\n"
    "    live.log({'loss': 1 / (step + 1)}, step=step)",
}

# Elements wider than their cell must sit in a scroll box inside the cell (JS: runs in the page).
OVERFLOW_JS = """
() => {
  const bad = [];
  for (const out of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')) {
    const limit = out.getBoundingClientRect().right + 1;
    for (const el of out.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= limit) continue;
      let p = el.parentElement, boxed = false;
      while (p && p !== out) {
        const style = getComputedStyle(p);
        if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && p.getBoundingClientRect().right <= limit) {
          boxed = true;
          break;
        }
        p = p.parentElement;
      }
      if (!boxed) bad.push(`${el.tagName}.${el.getAttribute('class')} ends ${Math.round(r.right - limit)} px past its cell`);
    }
  }
  return bad.slice(0, 10);
}
"""
TICKS_JS = """
() => {
  let count = 0;
  const bad = [];
  for (const svg of document.querySelectorAll('svg.nbwandb-chart-svg')) {
    const w = +svg.getAttribute('width'), h = +svg.getAttribute('height');
    for (const t of svg.querySelectorAll('text.tick')) {
      const b = t.getBBox();
      count += 1;
      if (b.x < 0 || b.y < 0 || b.x + b.width > w || b.y + b.height > h) {
        bad.push(`${svg.dataset.title}: '${t.textContent}' at ${b.x.toFixed(1)},${b.y.toFixed(1)}`);
      }
    }
  }
  return [count, bad];
}
"""
HOVER_JS = """
() => [...document.querySelectorAll('.nbw-hv > .g')]
  .filter(g => getComputedStyle(g).visibility === 'visible').map(g => g.textContent)
"""


def _cell_outputs(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def test_every_panel_fits_reads_and_survives_reopening(
    browser_page, jupyterlab, lab_root: Path, save_screenshot
) -> None:
    page = browser_page
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    nbformat.write(nb, lab_root / NOTEBOOK)
    names = list(CELLS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(jupyterlab.url(f"doc/tree/{NOTEBOOK}"), timeout=60_000)
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n",
            arg=len(names),
            timeout=60_000,
        )
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )
        for index, name in enumerate(names):
            run_cell(page, index, timeout_ms=60_000)
            assert_cell_ok(page, index)
            if name == "login_panel":
                login = page.locator(".jupyter-widgets.nbwandb-login-panel")
                login.get_by_role("button", name="Continue offline").click()
                login.get_by_text("Runs will be offline").wait_for(timeout=20_000)

        # The finished run's panel is its final HTML, with every step of the run.
        chart = page.locator(
            ".jp-OutputArea-output .nbwandb-run-panel svg[data-title='train/loss']"
        )
        chart.wait_for(timeout=20_000)
        assert chart.get_attribute("data-points") == "240"

        # The overflow check can fail: a probe wider than its cell is reported, then removed.
        page.evaluate(
            "() => { const d = document.createElement('div'); d.id = 'nbw-probe'; "
            "d.style.width = '3000px'; d.textContent = 'probe'; "
            "document.querySelector('.jp-OutputArea-output').appendChild(d); }"
        )
        assert any(item.startswith("DIV.null") for item in page.evaluate(OVERFLOW_JS))
        page.evaluate("() => document.getElementById('nbw-probe').remove()")

        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 2000})  # tall: whole panels in view
            page.wait_for_timeout(500)  # let JupyterLab lay the cells out again
            overflow = page.evaluate(OVERFLOW_JS)
            assert overflow == [], f"at {width} px: {overflow}"
            count, bad = page.evaluate(TICKS_JS)
            assert count > 30 and bad == [], (
                f"at {width} px, tick labels outside their chart: {bad}"
            )
            for index, name in enumerate(names):
                outputs = _cell_outputs(page, index)
                if outputs.count() and outputs.inner_text().strip():
                    outputs.scroll_into_view_if_needed()
                    outputs.screenshot(path=str(SCREENSHOTS / f"panel_{name}_{width}.png"))

        # Hovering a chart shows the step and the value under the pointer.
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(200)
        shown = page.evaluate(HOVER_JS)
        assert len(shown) == 1 and shown[0].startswith("step ") and " · " in shown[0], shown
        step = float(shown[0].split()[1])
        assert 100 < step < 200, shown  # 60 % across an x axis of 0..240
        outputs = _cell_outputs(page, names.index("run_panel"))
        outputs.screenshot(path=str(SCREENSHOTS / "panel_run_panel_hover.png"))

        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            saved = nbformat.read(lab_root / NOTEBOOK, as_version=4)
            if all(c.get("outputs") for c in saved.cells):
                break
            time.sleep(0.3)
        # Saving leaves the page's live widgets alone; the file holds their HTML forms alone.
        for live in (".nbwandb-config-form", ".nbwandb-run-panel"):
            assert page.locator(f".jupyter-widgets{live}").count() == 1, f"{live} live after saving"
        # The file now differs from the page: a second save must not raise JupyterLab's
        # "changed on disk" conflict (it compares the file's hash with the last save's).
        before = (lab_root / NOTEBOOK).stat().st_mtime_ns
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (lab_root / NOTEBOOK).stat().st_mtime_ns == before:
            time.sleep(0.3)
        assert (lab_root / NOTEBOOK).stat().st_mtime_ns != before, "the second save"
        page.wait_for_timeout(500)
        assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
        saved = nbformat.read(lab_root / NOTEBOOK, as_version=4)
        for name in ("unused_form", "live_run_panel"):
            outputs = saved.cells[names.index(name)].outputs
            (output,) = [o for o in outputs if o["output_type"] == "display_data"]
            assert WIDGET_VIEW not in output["data"] and "text/html" in output["data"], outputs
        reopen_without_widget_state(page, jupyterlab, lab_root / NOTEBOOK)
        chart.wait_for(timeout=30_000)
        assert chart.get_attribute("data-points") == "240"
        # The form nobody used and the panel of the run that was live: their last HTML forms.
        unused = _cell_outputs(page, names.index("unused_form"))
        assert "config form" in unused.inner_text() and "layers" in unused.inner_text()
        live_chart = _cell_outputs(page, names.index("live_run_panel")).locator(
            ".nbwandb-run-panel svg[data-title='loss']"
        )
        assert live_chart.get_attribute("data-points") == "5"
        for marker in (
            ".nbwandb-config-form",
            ".nbwandb-sweep-panel svg",
            ".nbwandb-media-gallery img",
            ".nbwandb-login-panel",
            ".nbwandb-table-preview table",
        ):
            assert page.locator(f".jp-OutputArea-output {marker}").count() >= 1, (
                f"{marker} after reopening"
            )
        assert (
            "config of run"
            in page.locator(".jp-OutputArea-output .nbwandb-config-form").first.inner_text()
        )
        save_screenshot(page, "panels_reopened")
    except Exception:
        save_screenshot(page, "panels_failure")
        print(jupyterlab.log_tail())
        raise
