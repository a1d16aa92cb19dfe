"""Public names of a package resolved on first access (PEP 562), so importing it stays cheap.

>>> table = {"sqrt": ("math", "sqrt")}
>>> getattr_ = lazy_getattr("demo", table, {})
>>> getattr_("sqrt")(9.0)
3.0
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, table: Mapping[str, tuple[str, str | None]], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``table`` maps a public name to (module, attribute or None for
    the module itself); the value is stored in ``namespace`` (the package's globals) once found."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attr = table[name]
        module = importlib.import_module(module_name)
        value = module if attr is None else getattr(module, attr)
        namespace[name] = value
        return value

    return __getattr__
