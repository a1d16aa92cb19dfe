"""nbwandb's panels on Notebook 7 (the README names it), with ipywidgets 8 in the kernel.

The same scenario as on the Colab stand-in (``panel_scenario.py``): the login panel, a config
form typed into and submitted (the kernel's run gets the values), a run panel whose chart grows
while a cell logs, the final panels after ``%wandb_finish``, previews, then save and reopen
with a fresh kernel: every panel shows its final HTML, no widget error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_scenario import LabFrontend, new_notebook, run_panel_scenario

pytestmark = pytest.mark.timeout(240)

NOTEBOOK = "panels_notebook7.ipynb"


def test_panels_on_notebook7(browser_page, notebook7, lab_root: Path, save_screenshot) -> None:
    import ipywidgets
    import notebook

    assert int(notebook.__version__.split(".")[0]) >= 7, notebook.__version__
    page = browser_page
    new_notebook(lab_root / NOTEBOOK, "python3", "Python 3 (ipykernel)")
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        seen = run_panel_scenario(
            LabFrontend(page, notebook7), lab_root, NOTEBOOK, save_screenshot, "notebook7_panels"
        )
    except Exception:
        save_screenshot(page, "notebook7_panels_failure")
        print(notebook7.log_tail())
        raise
    print(f"Notebook {notebook.__version__}:", seen)
    assert seen["ipywidgets"] == ipywidgets.__version__
