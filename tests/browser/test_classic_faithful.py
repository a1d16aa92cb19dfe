"""The Colab stand-in is faithful where it matters: Colab's pinned frontend (classic Notebook
6.5.7 with widgetsnbextension 3.6.10) draws ipywidgets 7.7.1's widgets, and not all of
ipywidgets 8's.

The same three core widgets (an ``IntSlider``, an ``HTML``, a ``Checkbox``) are shown from a
kernel with Colab's pins and from one with ipywidgets 8 (what a ``%pip`` upgrade and a restart
give). On ipywidgets 7.7.1 all three are drawn. On ipywidgets 8 the slider still is (its models
exist in widgetsnbextension 3 under the same names), but ``HTML`` and ``Checkbox`` are not:
their version-8 models refer to style models (``HTMLStyleModel``, ``CheckboxStyleModel``) that
the version-3 frontend lacks, and the page logs "Cannot find model module". If the stand-in
ever drew them, it would no longer stand for Colab's frontend, and this test says so.
"""

from __future__ import annotations

import time
from pathlib import Path

import classic
import pytest

pytestmark = pytest.mark.timeout(150)

CELLS = [
    "import ipywidgets as w\nprint('ipywidgets', w.__version__)",
    "w.IntSlider(value=7, min=0, max=10, description='slider probe')",
    "w.HTML('<b class=\"nbw-html-probe\">html probe</b>')",
    "w.Checkbox(value=True, description='checkbox probe')",
]
# widget: (cell, what it looks like drawn, its text (None: a ticked box), its style model)
PROBES = {
    "slider": (1, ".widget-slider .widget-readout", "7", "SliderStyleModel"),
    "html": (2, ".widget-html .nbw-html-probe", "html probe", "HTMLStyleModel"),
    "checkbox": (3, ".widget-checkbox input[type='checkbox']", None, "CheckboxStyleModel"),
}
OUTCOME_TIMEOUT_S = 20.0


def _drawn(page, index: int, selector: str, text: str | None) -> bool:
    found = classic.outputs(page, index).locator(selector)
    if found.count() != 1 or not found.is_visible():
        return False
    if text is None:  # the checkbox: drawn and ticked, as the kernel set it
        return found.is_checked()
    return found.inner_text().strip() == text


def _outcome(page, console: list[str], probe: tuple) -> str:
    """ "drawn", or the page's error about the widget's model, or "nothing" after a bound."""
    index, selector, text, style_model = probe
    deadline = time.monotonic() + OUTCOME_TIMEOUT_S
    while time.monotonic() < deadline:
        if _drawn(page, index, selector, text):
            return "drawn"
        # "error: Couldn't process kernel message Error: Cannot find model module ..., NAME"
        # and a stack trace under it
        for message in console:
            first = message.splitlines()[0].rstrip() if message else ""
            if "Cannot find model module" in first and first.endswith(f", {style_model}"):
                return "error: " + first.split("Error: ", 1)[-1]
        time.sleep(0.1)
    return f"nothing within {OUTCOME_TIMEOUT_S:g}s"


def _show_widgets(page, server, root: Path, kernel: str, console: list[str]) -> dict[str, str]:
    """Run the probes on ``kernel``: the ipywidgets version and what became of each widget."""
    name = f"faithful_{kernel}.ipynb"
    classic.new_notebook(root / name, kernel, CELLS)
    console.clear()
    classic.open_notebook(page, server, name)
    for index in range(len(CELLS)):
        classic.run_cell(page, index, timeout_ms=60_000)
    seen = {"ipywidgets": classic.outputs(page, 0).inner_text().split()[-1]}
    seen.update({what: _outcome(page, console, probe) for what, probe in PROBES.items()})
    return seen


def test_colab_frontend_draws_ipywidgets_7_but_not_all_of_8(
    browser_page, classic_notebook, lab_root: Path, save_screenshot
) -> None:
    page = browser_page
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    # The extension is enabled where this server looks; the slider below shows the page loads it.
    listed = " ".join(classic.nbextension_list(classic_notebook.env).split())
    assert f"{classic.WIDGETS_NBEXTENSION} enabled" in listed, listed
    try:
        on7 = _show_widgets(page, classic_notebook, lab_root, classic.COLAB_KERNEL, console)
        save_screenshot(page, "colab_standin_ipywidgets7")
        on8 = _show_widgets(page, classic_notebook, lab_root, classic.IPYWIDGETS8_KERNEL, console)
        save_screenshot(page, "colab_standin_ipywidgets8")
    except Exception:
        save_screenshot(page, "colab_standin_faithful_failure")
        print(classic_notebook.log_tail())
        raise
    print("ipywidgets 7 kernel:", on7)
    print("ipywidgets 8 kernel:", on8)
    assert on7 == {"ipywidgets": "7.7.1", "slider": "drawn", "html": "drawn", "checkbox": "drawn"}
    assert on8["ipywidgets"].startswith("8."), on8
    assert on8["slider"] == "drawn", f"the stand-in should still draw ipywidgets 8's slider: {on8}"
    for what, style_model in (("html", "HTMLStyleModel"), ("checkbox", "CheckboxStyleModel")):
        assert on8[what] == (
            f"error: Cannot find model module @jupyter-widgets/controls@2.0.0, {style_model}"
        ), f"Colab's frontend does not draw ipywidgets 8's {what}; the stand-in did: {on8}"
