"""A wandb run created in a background thread, so that ``nbwandb.init`` returns at once.

After ``%load_ext nbwandb`` an offline ``nbwandb.init`` hands ``wandb.init`` to a
``RunStart`` and returns its ``Run`` straight away (the cell goes on while wandb-core
opens the run). Rows logged meanwhile wait in the run's writer queue, which starts
writing once the wandb run exists. Whatever needs the wandb run waits for it, for at most
``START_TIMEOUT`` seconds: ``run.wandb_run`` and what uses it (artifacts, summary,
``run_dir``), and ``wandb.run`` (with ``wandb.config``, ``wandb.log``, ...) read in the
thread that called ``init``, where an integration (Lightning, HF) looks for it.

If ``wandb.init`` fails, the error is raised by the run's next call (``log``, ``flush``,
``finish``, ...) as an ``NbwandbError`` that says what wandb said and how many logged rows
were not written; a dead wandb-core is replaced and the start tried once more first.

>>> start = RunStart(create, run_id="ab12cd34", name=None, config={}, root=Path("."))  # doctest: +SKIP
>>> start.result(timeout=90)                   # the wandb run, or NbwandbError   # doctest: +SKIP
"""

from __future__ import annotations

import secrets
import string
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError

START_TIMEOUT = 90.0  # wandb.init's own default init_timeout
_ID_ALPHABET = string.ascii_lowercase + string.digits

_pending: RunStart | None = None  # the start wandb.run waits for


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
        global _pending
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
        _pending = self
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _run(self) -> None:
        global _pending
        try:
            self._wandb_run = self._create()
        except BaseException as exc:  # noqa: BLE001 - raised in the user's thread by result()
            self.error = exc
        finally:
            self._done.set()
            if _pending is self:
                _pending = None

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
    pending = _pending
    if pending is not None and pending.caller == threading.get_ident():
        pending.wait()  # the thread that called nbwandb.init sees the run it asked for


def wait_in_wandb_globals(wandb: types.ModuleType) -> None:
    """Make ``wandb.run`` & co. wait (bounded) for a pending start in the thread that started it."""
    from nbwandb.wandb_compat.run_globals import wait_in_run_globals

    wait_in_run_globals(wandb, _wait_for_pending)
