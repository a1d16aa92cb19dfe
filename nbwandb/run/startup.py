"""Starting wandb in the background: the preload after ``%load_ext nbwandb``, and runs whose
``wandb.init`` goes on in a thread.

**The preload.** ``%load_ext nbwandb`` calls ``start_preload()``: a daemon thread imports
wandb, sets it up and starts its service process (wandb-core), and imports what wandb's
first ``init`` would import. It never prints and never raises: a failure is left for
``nbwandb.init`` to meet again and report with its context. ``nbwandb.init`` calls
``before_init()`` first, so it never races the thread (two threads starting two services).

wandb keeps the settings of its first setup for the whole process; the preload takes them
from the environment as it is at ``%load_ext``. If ``WANDB_*`` variables change before the
first run, ``before_init()`` loads them again (wandb itself would ignore the change), so a
run started after the preload sees what a run started without it would see.

**Background init.** After ``%load_ext nbwandb`` (``set_background_init(True)``) an offline
``nbwandb.init`` hands ``wandb.init`` to a ``RunStart`` and returns its ``Run`` straight away
(the cell goes on while wandb-core opens the run). Rows logged meanwhile wait in the run's
writer queue, which starts writing once the wandb run exists. Whatever needs the wandb run
waits for it, for at most ``START_TIMEOUT`` seconds: ``run.wandb_run`` and what uses it
(artifacts, summary, ``run_dir``), and ``wandb.run`` (with ``wandb.config``, ``wandb.log``,
...) read in the thread that called ``init``, where an integration (Lightning, HF) looks for
it.

If ``wandb.init`` fails, the error is raised by the run's next call (``log``, ``flush``,
``finish``, ...) as an ``NbwandbError`` that says what wandb said and how many logged rows
were not written; a dead wandb-core is replaced and the start tried once more first.

>>> start_preload()            # doctest: +SKIP
>>> before_init()              # what nbwandb.init calls first   # doctest: +SKIP
>>> start = RunStart(create, run_id="ab12cd34", name=None, config={}, root=Path("."))  # doctest: +SKIP
>>> start.result(timeout=90)                   # the wandb run, or NbwandbError   # doctest: +SKIP
>>> len(new_run_id())
8
"""

from __future__ import annotations

import importlib
import os
import secrets
import string
import threading
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError

# -- the preload ---------------------------------------------------------------------------
JOIN_TIMEOUT = 60.0  # seconds init waits for a preload still starting wandb-core

# What wandb's first init imports on its own (wandb.sdk.launch, a noticeable import), and
# nbwandb's run modules.
WARM_MODULES = (
    "wandb.sdk.launch.inputs.internal",
    "nbwandb.start.init",
    "nbwandb.run.run",
    "nbwandb.run.finish",
    "nbwandb.run.recovery",
    "nbwandb.distributed",
)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_setup: Any = None  # the wandb setup the preload made (its settings come from the environment then)
_error: BaseException | None = None
_background_init = False


def background_init_enabled() -> bool:
    """Whether ``nbwandb.init`` starts offline runs in the background (a ``RunStart``)."""
    return _background_init


def set_background_init(enabled: bool) -> None:
    """On with ``%load_ext nbwandb``, off again with ``%unload_ext nbwandb``."""
    global _background_init
    _background_init = bool(enabled)


def start_preload(extra_modules: Sequence[str] = ()) -> bool:
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


def preload_started() -> bool:
    """True once ``start_preload()`` ran in this process (``%load_ext nbwandb`` was loaded)."""
    return _thread is not None


def preload_error() -> BaseException | None:
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


def join_preload(timeout: float = JOIN_TIMEOUT) -> bool:
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
    if join_preload(timeout):
        _reload_changed_settings()


def _reload_changed_settings() -> None:
    # Once: the first run after the preload sees the environment as it is then, as it would
    # have without the preload; later changes are ignored, as wandb ignores them.
    global _setup
    setup: Any = _setup
    _setup = None
    from nbwandb.wandb_compat.setup import reload_settings

    reload_settings(setup)


# -- background init -----------------------------------------------------------------------
START_TIMEOUT = 90.0  # wandb.init's own default init_timeout
_ID_ALPHABET = string.ascii_lowercase + string.digits

_pending_start: RunStart | None = None  # the start wandb.run waits for


def new_run_id() -> str:
    """An id of the form wandb gives runs (8 lowercase letters and digits)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class RunStart:
    """``create()`` (which calls ``wandb.init``) running in a daemon thread."""

    def __init__(
        self,
        create: Callable[[], Any],
        *,
        run_id: str,
        name: str | None,
        config: dict[str, Any],
        root: Path,
    ) -> None:
        global _pending_start
        self.run_id = run_id
        self.name = name
        self.config = config
        self.root = root
        self.caller = threading.get_ident()
        self.error: BaseException | None = None
        self.error_reported = False
        self._wandb_run: Any = None
        self._create = create
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"nbwandb-init-{run_id}", daemon=True
        )
        _pending_start = self
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _run(self) -> None:
        global _pending_start
        try:
            self._wandb_run = self._create()
        except BaseException as exc:  # noqa: BLE001 - raised in the user's thread by result()
            self.error = exc
        finally:
            self._done.set()
            if _pending_start is self:
                _pending_start = None

    def wait(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait for the start to end (either way); False on timeout."""
        if threading.current_thread() is self._thread:
            return self.done
        return self._done.wait(timeout)

    def failure(self, unwritten: int = 0) -> NbwandbError | None:
        """The error to raise for a failed start (None while starting or after success)."""
        if not self.done or self.error is None:
            return None
        exc = self.error
        said = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        if len(said) > 400:
            said = said[:400] + "..."
        lost = (
            f"; {unwritten} logged row(s) were not written"
            if unwritten
            else "; nothing was written"
        )
        error = NbwandbError(
            f"wandb could not start run {self.run_id} (nbwandb.init started it in the background): "
            f"{type(exc).__name__}: {said}{lost}. "
            "Start a new run with nbwandb.init(...) or %wandb_init"
        )
        error.__cause__ = exc
        return error

    def result(self, timeout: float = START_TIMEOUT) -> Any:
        """The wandb run, once it exists; ``NbwandbError`` if the start failed or took too long."""
        if not self.wait(timeout):
            raise NbwandbError(
                f"wandb has not started run {self.run_id} after {timeout:g}s "
                "(wandb-core is slow or not answering); run `%wandb_doctor` to see why"
            )
        failure = self.failure()
        if failure is not None:
            raise failure
        return self._wandb_run


def _wait_for_pending() -> None:
    pending = _pending_start
    if pending is not None and pending.caller == threading.get_ident():
        pending.wait()  # the thread that called nbwandb.init sees the run it asked for


def wait_in_wandb_globals(wandb: types.ModuleType) -> None:
    """Make ``wandb.run`` & co. wait (bounded) for a pending start in the thread that started it."""
    from nbwandb.wandb_compat.run_globals import wait_in_run_globals

    wait_in_run_globals(wandb, _wait_for_pending)


__all__ = [
    "JOIN_TIMEOUT",
    "START_TIMEOUT",
    "RunStart",
    "background_init_enabled",
    "before_init",
    "join_preload",
    "new_run_id",
    "preload_error",
    "preload_started",
    "set_background_init",
    "start_preload",
    "wait_in_wandb_globals",
]
