"""Make ``wandb.run`` & co. wait for a run nbwandb is still starting in the background.

``wandb.init`` sets ``wandb.run``, ``wandb.config``, ``wandb.log``, ... on the wandb
module (``wandb.sdk.lib.module.set_global``). An integration (Lightning, HF) reads them
right after ``nbwandb.init`` returns, while the run may still be starting in a thread.
The module's class is swapped for a subclass whose properties call ``wait()`` first.
Without that (a wandb module that is not a plain module), the globals are read as they
are: ``wandb.run`` is None until the run exists, as with a plain background start.

>>> wait_in_run_globals(import_wandb("demo"), wait=lambda: None)   # doctest: +SKIP
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from nbwandb.wandb_compat.registry import available, capability

# Names wandb.init sets on the wandb module (wandb.sdk.lib.module.set_global).
GLOBALS = (
    "run",
    "config",
    "summary",
    "log",
    "save",
    "use_artifact",
    "log_artifact",
    "define_metric",
    "log_model",
    "use_model",
    "link_model",
    "watch",
    "unwatch",
)


@capability(
    "waiting_run_globals",
    needs="wandb.sdk.lib.module.set_global; the wandb module's class replaced (a patch)",
    fallback="wandb.run stays None until the background start ends",
)
def _can_patch_module() -> bool:
    import wandb
    from wandb.sdk.lib import module

    return callable(getattr(module, "set_global", None)) and isinstance(wandb, types.ModuleType)


_wait: Callable[[], None] = lambda: None  # noqa: E731 - replaced by wait_in_run_globals


def _waiting_global(name: str) -> property:
    def get(module: types.ModuleType) -> Any:
        _wait()
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'wandb' has no attribute {name!r}") from None

    def set_(module: types.ModuleType, value: Any) -> None:
        module.__dict__[name] = value

    def del_(module: types.ModuleType) -> None:
        module.__dict__.pop(name, None)

    return property(get, set_, del_)


class _WandbModule(types.ModuleType):
    """The wandb module, whose run globals wait for a run nbwandb is still starting."""


for _name in GLOBALS:
    setattr(_WandbModule, _name, _waiting_global(_name))


def wait_in_run_globals(wandb: types.ModuleType, wait: Callable[[], None]) -> bool:
    """Make reading ``wandb.run`` & co. call ``wait()`` first; False where it cannot."""
    global _wait
    _wait = wait
    if type(wandb) is _WandbModule:
        return True
    if type(wandb) is not types.ModuleType or not available("waiting_run_globals"):
        return False
    wandb.__class__ = _WandbModule
    return True
