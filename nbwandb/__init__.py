"""nbwandb: notebook-first helpers for Weights & Biases.

``import nbwandb`` is cheap: wandb, torch, matplotlib, IPython and ipywidgets are
imported only by the calls that need them.

>>> import nbwandb
>>> with nbwandb.init(project="demo", mode="offline", quiet=True) as run:
...     run.log({"loss": 0.1}, step=1, prefix="train")
>>> run.state, run.mode
('finished', 'offline')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_getattr
from .errors import (
    NbwandbError,
    NbwandbWarning,
    RunFinishedError,
    WandbMissingError,
    WriterError,
)

__version__ = "0.1.0"

# public name -> (module, attribute); resolved on first access (PEP 562).
_LAZY = {
    "init": ("nbwandb.api", "init"),
    "login": ("nbwandb.auth", "login"),
    "LoginResult": ("nbwandb.auth", "LoginResult"),
    "find_credentials": ("nbwandb.credentials", "find_credentials"),
    "resolve_mode": ("nbwandb.modes", "resolve_mode"),
    "Run": ("nbwandb.run", "Run"),
    "NoOpRun": ("nbwandb.run", "NoOpRun"),
    "RunHandle": ("nbwandb.handle", "RunHandle"),
    "active_run": ("nbwandb.session", "active_run"),
    "is_main_process": ("nbwandb.distributed", "is_main_process"),
    "rank_info": ("nbwandb.distributed", "rank_info"),
    "sweep": ("nbwandb.sweeps", "sweep"),
    "download": ("nbwandb.artifacts", "download"),
    "CheckpointPolicy": ("nbwandb.artifacts", "CheckpointPolicy"),
    "launch": ("nbwandb.distributed.launcher", "launch"),
    "show": ("nbwandb.dashboard", "show"),
    "local": ("nbwandb.local", None),
}

__all__ = [
    "CheckpointPolicy",
    "LoginResult",
    "NbwandbError",
    "NbwandbWarning",
    "NoOpRun",
    "Run",
    "RunFinishedError",
    "RunHandle",
    "WandbMissingError",
    "WriterError",
    "__version__",
    "active_run",
    "download",
    "find_credentials",
    "init",
    "is_main_process",
    "launch",
    "load_ipython_extension",
    "local",
    "login",
    "rank_info",
    "resolve_mode",
    "show",
    "sweep",
]

if TYPE_CHECKING:  # pragma: no cover
    from . import local
    from .api import init
    from .artifacts import CheckpointPolicy, download
    from .auth import LoginResult, login
    from .credentials import find_credentials
    from .dashboard import show
    from .distributed import is_main_process, rank_info
    from .distributed.launcher import launch
    from .handle import RunHandle
    from .modes import resolve_mode
    from .run import NoOpRun, Run
    from .session import active_run
    from .sweeps.sweep import sweep


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbwandb``: register the magics (the notebook layer is imported only here)."""
    from .notebook.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook.magics import unload_ipython_extension as _unload

    _unload(ipython)
