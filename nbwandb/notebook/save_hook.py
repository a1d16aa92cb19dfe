"""The save hook's first name, kept for Jupyter configs written with it
(``jupyter server extension enable nbwandb.notebook.save_hook``): the hook itself is
``nbwandb.server_hook.save_hook``."""

from __future__ import annotations

from nbwandb.server_hook.save_hook import (
    _jupyter_server_extension_points,
    _load_jupyter_server_extension,
    pre_save_hook,
    strip_panel_widgets,
)

__all__ = [
    "_jupyter_server_extension_points",
    "_load_jupyter_server_extension",
    "pre_save_hook",
    "strip_panel_widgets",
]
