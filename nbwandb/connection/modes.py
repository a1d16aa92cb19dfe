"""Choosing the run mode: ``auto`` goes online with credentials, otherwise offline.

>>> resolve_mode("offline").mode
'offline'
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nbwandb.connection.credentials import find_credentials

MODES = ("auto", "online", "offline", "disabled")
_WANDB_MODE_ALIASES = {
    "run": "online",
    "online": "online",
    "offline": "offline",
    "dryrun": "offline",
    "disabled": "disabled",
}


@dataclass(frozen=True)
class ModeDecision:
    """The mode a run gets and a short reason that can be shown to the user.

    ``fallback``: True when "online" was chosen only because credentials exist (mode
    "auto"), so an unreachable host gives an offline run instead of an error.
    """

    mode: str
    reason: str
    fallback: bool = False


def resolve_mode(mode: str = "auto", host: str | None = None) -> ModeDecision:
    """Turn ``mode`` (auto/online/offline/disabled) into a concrete mode and a reason."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not accepted; use one of {', '.join(MODES)}")
    if mode != "auto":
        return ModeDecision(mode, f"mode={mode!r} was asked for")
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    if env:
        if env not in _WANDB_MODE_ALIASES:
            raise ValueError(
                f"WANDB_MODE={env!r} is not accepted; use one of {', '.join(sorted(_WANDB_MODE_ALIASES))}"
            )
        return ModeDecision(_WANDB_MODE_ALIASES[env], f"WANDB_MODE={env}")
    if os.environ.get("WANDB_DISABLED", "").lower() in ("1", "true", "yes"):
        return ModeDecision("disabled", "WANDB_DISABLED is set")
    creds = find_credentials(host)
    if creds.found:
        return ModeDecision("online", f"credentials found in {creds.source}", fallback=True)
    return ModeDecision("offline", "no credentials found (WANDB_API_KEY, Colab secret, netrc)")
