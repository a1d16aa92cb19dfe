"""nbwandb's panels on the Colab stand-in: Colab's pinned frontend (classic Notebook 6.5.7 with
widgetsnbextension 3.6.10) and a kernel with Colab's pins (ipywidgets 7.7.1, IPython 7.34,
wandb 0.28.1, ``google.colab`` loaded at start).

The scenario (``panel_scenario.py``): the login panel, a config form typed into and submitted
(the kernel's run gets the values), a run panel whose chart grows while a cell logs, the
final panels after ``%wandb_finish``, previews, then save and reopen with a fresh kernel:
every panel shows its final HTML, no widget error.
"""

from __future__ import annotations

from pathlib import Path

import classic
import pytest
from panel_scenario import ClassicFrontend, new_notebook, run_panel_scenario

pytestmark = pytest.mark.timeout(240)

NOTEBOOK = "panels_colab.ipynb"


def test_panels_on_colab_frontend_and_colab_kernel(
    browser_page, classic_notebook, lab_root: Path, save_screenshot
) -> None:
    page = browser_page
    kernel = classic.COLAB_KERNEL
    new_notebook(lab_root / NOTEBOOK, kernel, str(classic.KERNELS[kernel]["display_name"]))
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        seen = run_panel_scenario(
            ClassicFrontend(page, classic_notebook, kernel),
            lab_root,
            NOTEBOOK,
            save_screenshot,
            "colab_standin_panels",
        )
    except Exception:
        save_screenshot(page, "colab_standin_panels_failure")
        print(classic_notebook.log_tail())
        raise
    print(seen)
    assert seen["ipywidgets"] == "7.7.1"
    # The doctor sees Colab (google.colab is loaded) and says what was tested: this stand-in.
    widgets_line = [line for line in seen["doctor"].splitlines() if "\twidgets\t" in line]
    assert widgets_line and widgets_line[0].startswith("ok"), seen["doctor"]
    assert "tested on a stand-in of Colab's pinned frontend" in widgets_line[0], widgets_line
