"""The lazy ``import wandb``, with a clear error when it is missing.

>>> wandb = import_wandb("nbwandb.init")   # or WandbMissingError, with the install command
>>> wandb.__name__
'wandb'
"""

from __future__ import annotations

import os
from types import ModuleType

from nbwandb.errors import WandbMissingError, require


def import_wandb(what: str = "this call") -> ModuleType:
    """Return the wandb module, or raise WandbMissingError naming `what`.

    Raises:
        WandbMissingError: wandb is not installed (a MissingDependencyError, an ImportError).
    """
    # Keep wandb's own chatter (banners, "syncing" lines) out of notebook outputs;
    # nbwandb prints its own one-line summary instead.
    os.environ.setdefault("WANDB_SILENT", "true")
    return require("wandb", purpose=what, error=WandbMissingError)


def wandb_version() -> tuple[int, ...]:
    """The installed wandb's version as numbers, e.g. ``(0, 28, 1)`` (imports wandb)."""
    parts = []
    for part in str(import_wandb("reading wandb's version").__version__).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
