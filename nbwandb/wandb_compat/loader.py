"""The one place that imports wandb, lazily, with a clear error when it is missing.

>>> wandb = import_wandb("nbwandb.init")   # or WandbMissingError, with the install command
>>> wandb.__name__
'wandb'
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

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


def setup_in_thread(wandb: ModuleType) -> Any:
    """What ``wandb.setup()`` does (settings, then wandb-core), safe beside a ``wandb.init`` elsewhere.

    ``wandb.setup`` starts wandb-core while it holds wandb's setup lock, and starting it takes
    wandb's telemetry lock; ``wandb.init`` holds the telemetry lock while it takes the setup
    lock. Side by side in two threads they deadlock. Here the service starts under the
    setup object's own connection lock only, which ``wandb.init`` waits on in turn.
    """
    try:
        from wandb.sdk import wandb_setup

        setup = (
            wandb_setup.singleton()
        )  # the setup lock, briefly; settings come from the environment
        if not getattr(setup.settings, "_noop", False):  # mode "disabled": no service
            setup.ensure_service()
        return setup
    except (ImportError, AttributeError):  # another wandb version
        return wandb.setup()
