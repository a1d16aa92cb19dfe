"""Importing ipywidgets with a one-line install hint, and the text forms every panel has.

>>> widgets = import_widgets("LoginPanel")   # doctest: +SKIP
"""

from __future__ import annotations

import html
from types import ModuleType
from typing import Any

INSTALL_HINT = "pip install 'ipywidgets>=8'"


def import_widgets(what: str = "this panel") -> ModuleType:
    """The ipywidgets module, or an ImportError that says how to install it."""
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError(f"{what} needs ipywidgets 8: {INSTALL_HINT}") from exc
    major = int(ipywidgets.__version__.split(".")[0])
    if major < 8:
        raise ImportError(f"{what} needs ipywidgets 8 (found {ipywidgets.__version__}): {INSTALL_HINT}")
    return ipywidgets


class TextForms:
    """Mixin for widgets: ``_repr_mimebundle_`` adds text/plain and text/html to the widget view.

    Frontends that render widgets pick the widget; nbval, terminals and frontends
    without widget support fall back to the text forms. Subclasses define
    ``_text()`` and ``_html()``.
    """

    def _text(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{html.escape(self._text())}</pre>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self._text()
        bundle["text/html"] = self._html()
        return bundle

    def __repr__(self) -> str:
        return self._text()


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)
