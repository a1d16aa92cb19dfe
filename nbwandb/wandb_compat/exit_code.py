"""The exit code wandb's exit hooks saw (``sys.exit(N)`` or an uncaught exception).

>>> exit_code_seen(None)     # no wandb run: nothing was seen
0
"""

from __future__ import annotations

from typing import Any

from nbwandb.wandb_compat.registry import available, capability


@capability(
    "exit_code_hooks",
    needs="wandb_run._hooks.exit_code (wandb.sdk.lib.exit_hooks.ExitHooks)",
    fallback="exit code 0 at interpreter exit (a failed script's run ends 'finished')",
)
def _has_exit_hooks() -> bool:
    from wandb.sdk.lib.exit_hooks import ExitHooks

    hooks = ExitHooks()
    return isinstance(getattr(hooks, "exit_code", None), int)


def exit_code_seen(wandb_run: Any) -> int:
    """The code wandb's exit hooks recorded for ``wandb_run``; 0 without them."""
    if wandb_run is None or not available("exit_code_hooks"):
        return 0
    code = getattr(getattr(wandb_run, "_hooks", None), "exit_code", 0)
    return code if isinstance(code, int) else 1
