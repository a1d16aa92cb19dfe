"""Which version of a package the process runs, against the one installed on disk.

A ``%pip install`` in a live kernel replaces a package's files but not the copy already
imported: the kernel keeps running the old ipywidgets or wandb (or a mix of old and new
modules) until it restarts. No pip command can fix that, only a restart, so the message
names the restart of the frontend at hand.

>>> mismatch("json") is None            # stdlib: no distribution to compare with
True
>>> restart_hint("colab")
'restart the runtime (Runtime > Restart session)'
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata

# ipywidgets releases nbwandb's panels run on: 7.7 (Colab's pin is 7.7.1) and 8.
IPYWIDGETS_SUPPORTED = ((7, 7), (9, 0))
IPYWIDGETS_SPEC = "ipywidgets>=7.7,<9"


@dataclass(frozen=True)
class Mismatch:
    """A package imported at one version while another is installed."""

    dist: str
    loaded: str
    installed: str

    def describe(self) -> str:
        return (
            f"{self.dist} {self.loaded} is loaded but {self.installed} is installed "
            "(it changed on disk after this process imported it)"
        )


def installed_version(dist: str) -> str | None:
    """The version on disk now (read afresh: pip may have changed it since start-up)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def loaded_version(module: str) -> str | None:
    """``module.__version__`` of the copy this process imported, or None when not imported."""
    mod = sys.modules.get(module)
    version = getattr(mod, "__version__", None) if mod is not None else None
    return version if isinstance(version, str) else None


def mismatch(module: str, dist: str | None = None) -> Mismatch | None:
    """A :class:`Mismatch` when ``module`` is imported at another version than is installed."""
    loaded = loaded_version(module)
    installed = installed_version(dist or module)
    if loaded is None or installed is None or loaded == installed:
        return None
    return Mismatch(dist or module, loaded, installed)


def mismatches(modules: tuple[str, ...] = ("ipywidgets", "wandb")) -> list[Mismatch]:
    """Every package among ``modules`` whose loaded copy is not the installed one."""
    return [m for m in (mismatch(name) for name in modules) if m is not None]


def restart_hint(environment: str | None) -> str:
    """How to restart the kernel in ``environment`` (as ``notebook.environment`` names it)."""
    if environment == "colab":
        return "restart the runtime (Runtime > Restart session)"
    return "restart the kernel (Kernel > Restart)"


def version_tuple(version: str) -> tuple[int, int]:
    """``"7.7.1"`` -> ``(7, 7)``; a part that is not a number counts as 0."""
    major, minor, *_ = [*(int(p) if p.isdigit() else 0 for p in version.split(".")[:2]), 0, 0]
    return major, minor


def ipywidgets_supported(version: str) -> bool:
    """True for the ipywidgets releases the panels run on (``IPYWIDGETS_SPEC``)."""
    low, high = IPYWIDGETS_SUPPORTED
    return low <= version_tuple(version) < high


__all__ = [
    "IPYWIDGETS_SPEC",
    "Mismatch",
    "installed_version",
    "ipywidgets_supported",
    "loaded_version",
    "mismatch",
    "mismatches",
    "restart_hint",
]
