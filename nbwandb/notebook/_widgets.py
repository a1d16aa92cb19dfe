"""ipywidgets, imported with a one-line install hint, and the text forms every panel has.

Panel modules do ``from ._widgets import widgets``: a missing (or pre-8) ipywidgets
fails there, with the command that fixes it, and never at ``import nbwandb``.

>>> from nbwandb.notebook._widgets import widgets
>>> int(widgets.__version__.split(".")[0]) >= 8
True
"""

from __future__ import annotations

import html
from typing import Any

from ._html import escape
from .published import publish

INSTALL_HINT = "pip install 'ipywidgets>=8'"

try:
    import ipywidgets as widgets  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - ipywidgets is installed where tests run
    raise ImportError(f"nbwandb's notebook panels need ipywidgets 8: {INSTALL_HINT}") from exc
if int(widgets.__version__.split(".")[0]) < 8:  # pragma: no cover
    raise ImportError(
        f"nbwandb's notebook panels need ipywidgets 8 (found {widgets.__version__}): {INSTALL_HINT}"
    )

__all__ = ["INSTALL_HINT", "TextForms", "escape", "widgets"]


class TextForms:
    """Mixin for widgets: ``_repr_mimebundle_`` adds text/plain and text/html to the widget view.

    Frontends that render widgets pick the widget; nbval, terminals and frontends
    without widget support fall back to the text forms. Subclasses define
    ``_text()`` and ``_html()``, and ``_is_final()`` once their job is done: from then on
    the bundle has no widget view, so a saved notebook shows the final HTML everywhere.
    Displaying the panel goes through ``published.publish``, which updates the saved
    output after each cell.
    """

    def _text(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{html.escape(self._text())}</pre>"

    def _is_final(self) -> bool:
        return False

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        if self._is_final():
            return {"text/plain": self._text(), "text/html": self._html()}
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self._text()
        bundle["text/html"] = self._html()
        return bundle

    def _ipython_display_(self) -> None:
        publish(self)

    def __repr__(self) -> str:
        return self._text()
