"""Get wandb ready in the background, so that the run a notebook starts next starts quickly.

``%load_ext nbwandb`` calls ``start()``: a daemon thread imports wandb, sets it up and
starts its service process (wandb-core), and imports what wandb's first ``init`` would
import. It never prints and never raises: a failure is left for ``nbwandb.init`` to meet
again and report with its context. ``nbwandb.init`` calls ``before_init()`` first, so it never
races the thread (two threads starting two services).

wandb keeps the settings of its first setup for the whole process; the preload takes
them from the environment as it is at ``%load_ext``. If ``WANDB_*`` variables change
before the first run, ``before_init()`` loads them again (wandb itself would ignore the change),
so a run started after the preload sees what a run started without it would see.

>>> start()                    # doctest: +SKIP
>>> before_init()              # what nbwandb.init calls first   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from typing import Any

JOIN_TIMEOUT = 60.0  # seconds init waits for a preload still starting wandb-core

# What wandb's first init imports on its own (wandb.sdk.launch, a noticeable import), and
# nbwandb's run modules.
WARM_MODULES = (
    "wandb.sdk.launch.inputs.internal",
    "nbwandb.start.init",
    "nbwandb.run.run",
    "nbwandb.run.recovery",
    "nbwandb.distributed",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_setup: Any = None  # the wandb setup the preload made (its settings come from the environment then)
_error: BaseException | None = None
_background_init = False


def background_init_enabled() -> bool:
    """Whether ``nbwandb.init`` starts offline runs in the background (``nbwandb.run.background_init``)."""
    return _background_init


def set_background_init(enabled: bool) -> None:
    """On with ``%load_ext nbwandb``, off again with ``%unload_ext nbwandb``."""
    global _background_init
    _background_init = bool(enabled)


def start(extra_modules: Sequence[str] = ()) -> bool:
    """Start the preload thread (once per process); True if this call started it."""
    global _thread
    with _lock:
        if _thread is not None:
            return False
        _thread = threading.Thread(
            target=_preload, args=(tuple(extra_modules),), name="nbwandb-preload", daemon=True
        )
        _thread.start()
        return True


def started() -> bool:
    """True once ``start()`` ran in this process (``%load_ext nbwandb`` was loaded)."""
    return _thread is not None


def error() -> BaseException | None:
    """What the preload met (wandb missing, wandb-core failing), or None."""
    return _error


def _preload(extra_modules: tuple[str, ...]) -> None:
    global _setup, _error
    try:
        # The same quiet default as nbwandb.init: wandb's banners stay out of cell outputs.
        os.environ.setdefault("WANDB_SILENT", "true")
        from nbwandb.wandb_compat import import_wandb
        from nbwandb.wandb_compat.setup import current_setup, setup_in_thread

        wandb = import_wandb("nbwandb's preload")
        existing = current_setup()
        # Starts wandb-core unless the environment says mode "disabled".
        setup = setup_in_thread(wandb)
        if existing is None:  # ours: its settings may be reloaded once (see before_init)
            _setup = setup
        for name in (*WARM_MODULES, *extra_modules):
            importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - init meets it again and reports it with context
        _error = exc


def join(timeout: float = JOIN_TIMEOUT) -> bool:
    """Wait (at most ``timeout`` s) for the preload; True if it is done or never started."""
    thread = _thread
    if thread is None:
        return True
    if thread is not threading.current_thread():
        thread.join(timeout)
    return not thread.is_alive()


def before_init(timeout: float = JOIN_TIMEOUT) -> None:
    """What ``nbwandb.init`` calls first: wait for the preload (never race it), then, the first
    time, load wandb's settings again if the ``WANDB_*`` environment changed since the
    preload set wandb up and no wandb run has started since.
    """
    if join(timeout):
        _reload_changed_settings()


def _reload_changed_settings() -> None:
    # Once: the first run after the preload sees the environment as it is then, as it would
    # have without the preload; later changes are ignored, as wandb ignores them.
    global _setup
    setup: Any = _setup
    _setup = None
    from nbwandb.wandb_compat.setup import reload_settings

    reload_settings(setup)
