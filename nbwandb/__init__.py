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

from nbwandb._lazy import lazy_getattr
from nbwandb.errors import (
    ArtifactInputError,
    LoginError,
    MediaDependencyError,
    MediaError,
    MediaTypeError,
    MissingDependencyError,
    NbwandbError,
    NbwandbWarning,
    OfflineArtifactError,
    ResumeError,
    RunFinishedError,
    WandbMissingError,
    WriterError,
)

__version__ = "0.1.0"

# public name -> (module, attribute); resolved on first access (PEP 562).
_LAZY = {
    "init": ("nbwandb.start.init", "init"),
    "login": ("nbwandb.connection.auth", "login"),
    "LoginResult": ("nbwandb.connection.auth", "LoginResult"),
    "find_credentials": ("nbwandb.connection.credentials", "find_credentials"),
    "resolve_mode": ("nbwandb.connection.modes", "resolve_mode"),
    "Run": ("nbwandb.run.run", "Run"),
    "NoOpRun": ("nbwandb.run.run", "NoOpRun"),
    "RunHandle": ("nbwandb.run.handle", "RunHandle"),
    "active_run": ("nbwandb.run.session", "active_run"),
    "is_main_process": ("nbwandb.distributed", "is_main_process"),
    "rank_info": ("nbwandb.distributed", "rank_info"),
    "sweep": ("nbwandb.sweeps", "sweep"),
    "download": ("nbwandb.artifacts", "download"),
    "CheckpointPolicy": ("nbwandb.artifacts", "CheckpointPolicy"),
    "launch": ("nbwandb.distributed.launcher", "launch"),
    "show": ("nbwandb.views.dashboard", "show"),
    "local": ("nbwandb.local", None),
}

__all__ = [
    "ArtifactInputError",
    "CheckpointPolicy",
    "LoginError",
    "LoginResult",
    "MediaDependencyError",
    "MediaError",
    "MediaTypeError",
    "MissingDependencyError",
    "NbwandbError",
    "NbwandbWarning",
    "NoOpRun",
    "OfflineArtifactError",
    "ResumeError",
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
    from nbwandb import local
    from nbwandb.artifacts import CheckpointPolicy, download
    from nbwandb.connection.auth import LoginResult, login
    from nbwandb.connection.credentials import find_credentials
    from nbwandb.connection.modes import resolve_mode
    from nbwandb.distributed import is_main_process, rank_info
    from nbwandb.distributed.launcher import launch
    from nbwandb.run.handle import RunHandle
    from nbwandb.run.run import NoOpRun, Run
    from nbwandb.run.session import active_run
    from nbwandb.start.init import init
    from nbwandb.sweeps.sweep import sweep
    from nbwandb.views.dashboard import show


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbwandb``: register the magics (the notebook layer is imported only here)."""
    from nbwandb.notebook.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbwandb.notebook.magics import unload_ipython_extension as _unload

    _unload(ipython)
