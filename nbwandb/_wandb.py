"""The one place that imports wandb, lazily, with a clear error when it is missing.

>>> wandb = import_wandb("nbwandb.init")   # or WandbMissingError, with the install command
>>> wandb.__name__
'wandb'
"""

from __future__ import annotations

import os
from types import ModuleType

from .errors import WandbMissingError


def import_wandb(what: str = "this call") -> ModuleType:
    """Return the wandb module, or raise WandbMissingError naming `what`."""
    # Keep wandb's own chatter (banners, "syncing" lines) out of notebook outputs;
    # nbwandb prints its own one-line summary instead.
    os.environ.setdefault("WANDB_SILENT", "true")
    try:
        import wandb
    except ImportError as exc:  # pragma: no cover - exercised with a blocked import in tests
        raise WandbMissingError(what) from exc
    return wandb
