"""A Jupyter server hook: a saved notebook holds nbwandb's panels as HTML, never "model not found".

A panel still live when its notebook is saved (a run not yet finished, a config form nobody
used) has a widget view in its output. The widget's model lives in the kernel; once that
kernel has ended, JupyterLab and Notebook 7 render the saved view as "Error displaying
widget: model not found" (or "Loading widget..." with no kernel at all): their widget
renderer is preferred over the output's text/html and has no fallback. Only the frontend
could save the model's state into the notebook, and it does so only when its user turned
"save widget state" on.

So this hook, run by the server before it writes a notebook, drops the widget view from the
outputs nbwandb published (marked in their output metadata) and keeps their text/html and
text/plain forms, which ``published.refresh_all`` keeps up to date after each cell. The page
being edited is not touched: it keeps its live widgets until it is reloaded. Outputs of
other widgets are never changed.

Installing nbwandb enables it (``etc/jupyter/jupyter_server_config.d/nbwandb.json``); by hand:
``jupyter server extension enable nbwandb.server_hook.save_hook``. Once loaded it leaves a marker
in Jupyter's runtime folder, so that ``%wandb_doctor`` in a kernel can say whether the server
saves panels as HTML (``nbwandb.server_hook.presence``).

>>> nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
...     "metadata": {"nbwandb": {"panel": "RunPanel"}},
...     "data": {WIDGET_VIEW: {"model_id": "m1"}, "text/html": "<div>chart</div>"}}]}]}
>>> strip_panel_widgets(nb)
1
>>> sorted(nb["cells"][0]["outputs"][0]["data"])
['text/html']
"""

from __future__ import annotations

import logging
from typing import Any

from nbwandb.server_hook.presence import write_marker

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The output metadata key that marks an output as a panel's (set by ``published.publish``).
MARK = "nbwandb"

log = logging.getLogger(__name__)


def strip_panel_widgets(notebook: dict[str, Any]) -> int:
    """Drop the widget view from every nbwandb panel output that has an HTML form.

    Works on the notebook's JSON (a v4 dict, as a frontend sends it to be saved), in place;
    returns how many outputs changed.
    """
    changed = 0
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = output.get("data")
            metadata = output.get("metadata")
            if not isinstance(data, dict) or not isinstance(metadata, dict):
                continue
            if MARK in metadata and WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
                changed += 1
    return changed


def pre_save_hook(model: dict[str, Any], path: str = "", **_kwargs: Any) -> None:
    """A ``ContentsManager`` pre-save hook (``model`` is the contents model being saved)."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    changed = strip_panel_widgets(model["content"])
    if changed:
        log.debug("nbwandb: saved %d panel(s) of %s as HTML", changed, path)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    contents_manager = serverapp.contents_manager
    register = getattr(contents_manager, "register_pre_save_hook", None)
    if register is None:  # a contents manager from before jupyter_server 2
        serverapp.log.warning(
            "nbwandb: %s has no register_pre_save_hook; saved notebooks keep panels' widget views",
            type(contents_manager).__name__,
        )
        return
    register(pre_save_hook)
    # so that a kernel this server starts can tell its user the hook is on (%wandb_doctor)
    runtime_dir = getattr(serverapp, "runtime_dir", None)
    if runtime_dir:
        write_marker(runtime_dir, remove_at_exit=True)


__all__ = ["MARK", "WIDGET_VIEW", "pre_save_hook", "strip_panel_widgets"]
