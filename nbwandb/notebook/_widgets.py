"""ipywidgets (7.7 or 8), imported with a clear message, and the text forms every panel has.

Panel modules do ``from ._widgets import widgets``: a missing or unsupported ipywidgets
fails there, with what fixes it, and never at ``import nbwandb``. Where a ``%pip install``
replaced ipywidgets under the running kernel, the fix is a restart, never a pip command.

>>> from nbwandb.notebook._widgets import widgets, WIDGETS_MAJOR
>>> WIDGETS_MAJOR in (7, 8)
True
"""

from __future__ import annotations

import html
from typing import Any

from nbwandb.checks.loaded_versions import (
    IPYWIDGETS_SPEC,
    installed_version,
    ipywidgets_supported,
    restart_hint,
)
from nbwandb.errors import MissingDependencyError
from nbwandb.notebook._html import escape
from nbwandb.notebook.environment import detect_environment
from nbwandb.notebook.published import publish
from nbwandb.server_hook.save_hook import WIDGET_VIEW

INSTALL_HINT = f"pip install '{IPYWIDGETS_SPEC}'"


def _unsupported_message(loaded: str, installed: str | None) -> str:
    """Why the panels cannot run on ``loaded``, and the one step that fixes it."""
    need = f"nbwandb's notebook panels need {IPYWIDGETS_SPEC} (ipywidgets {loaded} is loaded)"
    if installed is not None and installed != loaded and ipywidgets_supported(installed):
        # The right version is already on disk: only a restart loads it.
        return f"{need}; {installed} is installed: {restart_hint(detect_environment())} to load it"
    return f"{need}: {INSTALL_HINT}, then {restart_hint(detect_environment())}"


try:
    import ipywidgets as widgets  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - ipywidgets is installed where tests run
    raise MissingDependencyError("ipywidgets", purpose="nbwandb's notebook panels") from exc
if not ipywidgets_supported(widgets.__version__):  # pragma: no cover - tested by a subprocess
    raise ImportError(_unsupported_message(widgets.__version__, installed_version("ipywidgets")))

WIDGETS_MAJOR = int(widgets.__version__.split(".")[0])

__all__ = ["INSTALL_HINT", "WIDGETS_MAJOR", "TextForms", "escape", "widget_view", "widgets"]


def widget_view(widget: Any) -> dict[str, Any] | None:
    """The ``application/vnd.jupyter.widget-view+json`` entry ipywidgets shows ``widget`` with.

    None when the widget has no view or was closed. ipywidgets 8 builds it in
    ``Widget._repr_mimebundle_``; 7 has no such method and builds the same entry (protocol
    2.0, the model's id) inside ``_ipython_display_``, which displays at once, so it is
    rebuilt here from the same fields.
    """
    if WIDGETS_MAJOR >= 8:
        bundle = widgets.Widget._repr_mimebundle_(widget) if widget.comm is not None else None
        return (bundle or {}).get(WIDGET_VIEW)
    if widget._view_name is None or widget.comm is None:
        return None
    return {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}


class TextForms:
    """Mixin for widgets: ``_repr_mimebundle_`` adds text/plain and text/html to the widget view.

    Frontends that render widgets pick the widget; nbval, terminals and frontends
    without widget support fall back to the text forms. Subclasses define
    ``_text()`` and ``_html()``, and ``_is_final()`` once their job is done: from then on
    the bundle has no widget view, so a saved notebook shows the final HTML everywhere.
    Displaying the panel goes through ``published.publish`` (on ipywidgets 7 and 8 alike:
    this ``_ipython_display_`` comes before the widget's own), which updates the saved
    output after each cell.
    """

    def _text(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{html.escape(self._text())}</pre>"

    def _is_final(self) -> bool:
        return False

    def _repr_mimebundle_(self, **_kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": self._text(), "text/html": self._html()}
        view = None if self._is_final() else widget_view(self)
        if view is not None:
            bundle[WIDGET_VIEW] = view
        return bundle

    def _ipython_display_(self, **_kwargs: Any) -> None:
        publish(self)
        if WIDGETS_MAJOR < 8:
            # ipywidgets 7 runs the widget's on_displayed callbacks from its own display.
            self._handle_displayed()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return self._text()
