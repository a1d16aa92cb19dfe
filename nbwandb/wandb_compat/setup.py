"""wandb's setup object (settings and the wandb-core service), reached from another thread.

``setup_in_thread`` starts the service as ``wandb.setup()`` does, but without wandb's setup
lock (see its docstring); ``current_setup`` and ``reload_settings`` let the preload give
the first run the environment as it is then. Without the internals: ``wandb.setup()``,
and settings as wandb first read them.

>>> setup = setup_in_thread(import_wandb("demo"))   # doctest: +SKIP
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from nbwandb.wandb_compat.registry import available, capability


@capability(
    "setup_without_lock",
    needs=(
        "wandb.sdk.wandb_setup._singleton_lock/_singleton, _WandbSetup(pid=)._update(), "
        "settings_if_loaded, ensure_service()"
    ),
    fallback="wandb.setup() (may deadlock beside a wandb.init in another thread)",
)
def _has_lock_free_setup() -> bool:
    import inspect

    from wandb.sdk import wandb_setup

    cls = wandb_setup._WandbSetup
    return (
        hasattr(wandb_setup, "_singleton_lock")
        and hasattr(wandb_setup, "_singleton")
        and "pid" in inspect.signature(cls.__init__).parameters
        and all(callable(getattr(cls, name, None)) for name in ("_update", "ensure_service"))
        and isinstance(getattr(cls, "settings_if_loaded", None), property)
    )


def _loaded_setup(wandb_setup: Any) -> tuple[Any, bool]:
    """wandb's setup object, and whether its settings may be read now.

    A new one is made and its settings loaded under wandb's singleton lock, and only then
    made wandb's: ``wandb_setup.singleton()`` hands out the object before its settings are
    read, and a ``wandb.init`` in another thread that read them while this thread loaded
    them saw wandb's defaults (mode "online": "No API key configured" in an offline run).
    One made by another thread whose settings are not loaded yet is that thread's to load.
    """
    pid = os.getpid()
    with wandb_setup._singleton_lock:
        current = wandb_setup._singleton
        if current is None or getattr(current, "_pid", None) != pid:
            current = wandb_setup._WandbSetup(pid=pid)
            current._update(None)  # the settings, from the environment, before anyone sees it
            wandb_setup._singleton = current
            return current, True
    return current, current.settings_if_loaded is not None


@capability(
    "setup_settings_reload",
    needs="wandb_setup._singleton, _WandbSetup.did_environment_change/_load_settings",
    fallback="the first run keeps the WANDB_* settings of the preload's time",
)
def _has_settings_reload() -> bool:
    from wandb.sdk import wandb_setup

    cls = wandb_setup._WandbSetup
    return (
        hasattr(wandb_setup, "_singleton")
        and callable(getattr(cls, "did_environment_change", None))
        and callable(getattr(cls, "_load_settings", None))
    )


def setup_in_thread(wandb: ModuleType) -> Any:
    """What ``wandb.setup()`` does (settings, then wandb-core), safe beside a ``wandb.init`` elsewhere.

    ``wandb.setup`` starts wandb-core while it holds wandb's setup lock, and starting it takes
    wandb's telemetry lock; ``wandb.init`` holds the telemetry lock while it takes the setup
    lock. Side by side in two threads they deadlock. Here the service starts under the
    setup object's own connection lock only, which ``wandb.init`` waits on in turn.
    """
    if available("setup_without_lock"):
        try:
            from wandb.sdk import wandb_setup

            setup, readable = _loaded_setup(wandb_setup)
            # mode "disabled": no service; settings another thread is loading: its init
            # starts the service
            if readable and not getattr(setup.settings, "_noop", False):
                setup.ensure_service()
            return setup
        except (ImportError, AttributeError):  # pragma: no cover - detected above
            pass
    return wandb.setup()


def current_setup() -> Any:
    """wandb's setup object if one exists, else None (None too where it cannot be seen)."""
    if not available("setup_settings_reload"):
        return None
    from wandb.sdk import wandb_setup

    return wandb_setup._singleton


def reload_settings(setup: Any) -> bool:
    """Load wandb's settings again if ``setup`` is still wandb's, unused, and the
    environment changed since it read them; True if it did."""
    if setup is None or not available("setup_settings_reload"):
        return False
    try:
        if current_setup() is not setup or getattr(setup, "_active_runs", None):
            return False  # someone set wandb up again, or started a run: their settings stay
        if setup.did_environment_change():
            setup._load_settings(system_settings_path=None, disable_sagemaker=False)
            return True
    except Exception:  # noqa: BLE001 - wandb internals moved: wandb warns about the change itself
        pass
    return False
