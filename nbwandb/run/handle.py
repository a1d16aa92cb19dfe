"""``RunHandle``: the one interface of what ``nbwandb.init`` returns (``Run`` or ``NoOpRun``).

Type checkers see every method here. The core methods (``log``, ``finish``, ...) are
declared with do-nothing bodies, which ``NoOpRun`` keeps and ``Run`` overrides. The
media and artifact methods have one definition each, in ``nbwandb.media`` and
``nbwandb.artifacts.run_artifacts`` (``run.log_image(...)`` is
``nbwandb.media.log_image(run, ...)``): the class attribute says so to type
checkers, and at run time imports that module on first use (media needs numpy).
On a handle that does not log (``enabled`` False) they check their arguments the
same way and do nothing.

>>> with nbwandb.init(project="demo", use_wandb=False) as run:
...     run.log_image("input", [[0, 1], [1, 0]])   # checked, then nothing is written
>>> isinstance(run, RunHandle), run.state
(True, 'finished')
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Self

    from nbwandb import media
    from nbwandb.artifacts import latest, run_artifacts
    from nbwandb.run.outcomes import FinishOutcome, StartOutcome

P = ParamSpec("P")
R = TypeVar("R")
RowListener = Callable[[dict[str, Any]], None]


def _or_none(function: Callable[P, R]) -> Callable[P, R | None]:
    """For type checkers: the artifact methods return None on a handle that does not log."""
    return function  # pragma: no cover - only ever seen by type checkers


class _Deferred:
    """A method whose code lives in ``module``; the module is imported on first use."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.name = ""
        self._function: Any = None
        self._signature: inspect.Signature | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, handle: Any, owner: type | None = None) -> Any:
        function = self._function
        if function is None:  # first use: import the module (once)
            function = self._function = getattr(importlib.import_module(self.module), self.name)
        if handle is None:
            return function
        if handle.enabled:
            return function.__get__(handle, owner)
        signature = self._signature
        if signature is None:
            signature = self._signature = inspect.signature(function)

        def do_nothing(*args: Any, **kwargs: Any) -> None:
            # Bind, so a wrong call fails the same way on both handles; then do nothing.
            signature.bind(handle, *args, **kwargs)

        parameters = list(signature.parameters.values())[1:]  # without the handle
        do_nothing.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        do_nothing.__name__ = self.name
        do_nothing.__doc__ = f"Does nothing: this handle does not log (see {self.module})."
        return do_nothing


class RunHandle:
    """What ``nbwandb.init`` returns: a ``Run``, or a ``NoOpRun`` that logs nothing.

    Attributes: ``enabled`` (False for a ``NoOpRun``), ``id``, ``name``, ``project``,
    ``mode``, ``state``, ``step_metric``, ``run_dir`` (None when nothing is written),
    ``start_outcome`` (what ``init`` did) and ``finish_outcome`` (how the run ended; None
    while it runs).
    """

    enabled: bool
    mode: str
    mode_reason: str
    step_metric: str
    state: str
    exit_code: int | None
    wandb_run: Any
    rows_written: int
    resumed_from: tuple[Path, ...]  # earlier segments of a resumed run, oldest first
    start_step: int  # the first step this segment logs without step=
    start_outcome: StartOutcome | None = None  # set by nbwandb.init

    # -- what each handle has (Run reads it from wandb; NoOpRun has None, () or {}) ----------
    if TYPE_CHECKING:

        @property
        def id(self) -> str | None: ...
        @property
        def name(self) -> str | None: ...
        @property
        def project(self) -> str | None: ...
        @property
        def entity(self) -> str | None: ...
        @property
        def group(self) -> str | None: ...
        @property
        def tags(self) -> tuple[str, ...]: ...
        @property
        def url(self) -> str | None: ...
        @property
        def sync_command(self) -> str | None: ...
        @property
        def run_dir(self) -> Path | None: ...
        @property
        def run_file(self) -> Path | None: ...
        @property
        def files_dir(self) -> Path | None: ...
        @property
        def step(self) -> int | None: ...
        @property
        def config(self) -> dict[str, Any]: ...
        @property
        def summary(self) -> Any: ...
        @property
        def finished(self) -> bool: ...
        @property
        def finish_outcome(self) -> FinishOutcome | None: ...

    # -- core methods: NoOpRun keeps these bodies, Run overrides them -----------------------
    def log(
        self,
        metrics: Mapping[str, Any],
        *,
        step: int | None = None,
        prefix: str | None = None,
        reduce: str | None = None,
    ) -> None:
        """Log metrics for ``step`` (calls with the same step become one history row).

        ``prefix`` ("train", "val") joins keys with ``/``; nested dicts are flattened.
        Without ``step`` each call is its own step, as in wandb. ``reduce`` combines
        values over distributed ranks (see ``nbwandb.distributed``).

        Raises:
            RunFinishedError: the run has finished.
            ValueError, TypeError: a key, value or ``step`` is not accepted (the message
                names it).
            WriterError: the background writer failed on an earlier row (raised once, at
                the next call).
        """
        self._log(metrics, step, prefix, reduce)

    def _log(
        self, metrics: Mapping[str, Any], step: int | None, prefix: str | None, reduce: str | None
    ) -> None:
        """What ``log`` does: nothing here (``Run`` writes; a distributed follower reduces)."""

    def update_config(self, mapping: Mapping[str, Any] | Any = None, /, **values: Any) -> None:
        """Add or change config values."""

    def set_summary(self, mapping: Mapping[str, Any]) -> None:
        """Set summary values."""

    def use_x_axis(self, step_metric: str | None = None) -> None:
        """Plot metrics first logged from now on against ``step_metric``."""

    def add_listener(self, fn: RowListener) -> None:
        """Call ``fn(row)`` after each row is written."""

    def remove_listener(self, fn: RowListener) -> None:
        """Stop calling ``fn``."""

    def recent_rows(self) -> list[dict[str, Any]]:
        """The last rows handed to wandb, oldest first (rows its file may not hold yet)."""
        return []

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged is written; False on timeout."""
        return True

    def _push_after_direct_records(self) -> None:
        """After a record sent to wandb outside the writer (``Run`` pushes it to disk)."""

    def finish(
        self, exit_code: int = 0, *, timeout: float = 60.0, wait: bool | None = None
    ) -> None:
        """End the run; safe to call twice (``wait``: see ``Run.finish``).

        Raises:
            Exception: with ``wait=True`` (or in a script), what made ending the wandb run
                fail (a background finish warns instead).
        """
        if self.state == "running":
            self.exit_code = int(exit_code)
            self.state = "finished" if exit_code == 0 else "failed"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        self.finish(exit_code=0 if exc_type is None else 1)
        return False

    # -- media and artifacts: one definition each, in their modules ---------------------------
    if TYPE_CHECKING:
        log_image = media.log_image
        log_images = media.log_images
        log_figure = media.log_figure
        log_table = media.log_table
        log_text = media.log_text
        log_audio = media.log_audio
        log_histogram = media.log_histogram
        log_video = media.log_video
        log_3d = media.log_3d
        log_checkpoint = _or_none(run_artifacts.log_checkpoint)
        log_dataset = _or_none(run_artifacts.log_dataset)
        use_artifact = _or_none(run_artifacts.use_artifact)
        latest_checkpoint = latest.latest_checkpoint
    else:
        log_image = _Deferred("nbwandb.media")
        log_images = _Deferred("nbwandb.media")
        log_figure = _Deferred("nbwandb.media")
        log_table = _Deferred("nbwandb.media")
        log_text = _Deferred("nbwandb.media")
        log_audio = _Deferred("nbwandb.media")
        log_histogram = _Deferred("nbwandb.media")
        log_video = _Deferred("nbwandb.media")
        log_3d = _Deferred("nbwandb.media")
        log_checkpoint = _Deferred("nbwandb.artifacts.run_artifacts")
        log_dataset = _Deferred("nbwandb.artifacts.run_artifacts")
        use_artifact = _Deferred("nbwandb.artifacts.run_artifacts")
        latest_checkpoint = _Deferred("nbwandb.artifacts.latest")


def run_title(run: Any, *details: str) -> str:
    """How messages name a run: ``'name' (id, details)``, the id once when wandb named the run
    after it (an offline run without ``name=``).

    >>> from types import SimpleNamespace as Run
    >>> run_title(Run(name="bright-sun-3", id="k2j4x9qa"), "finished")
    "'bright-sun-3' (k2j4x9qa, finished)"
    >>> run_title(Run(name="xa8jhxic", id="xa8jhxic"), "finished"), run_title(Run(name=None, id="x1"))
    ('xa8jhxic (finished)', 'x1')
    """
    name, run_id = getattr(run, "name", None), str(getattr(run, "id", None))
    inside = ", ".join(details)
    if name and name != run_id:
        return f"{name!r} ({', '.join([run_id, *details])})"
    return f"{run_id} ({inside})" if inside else run_id
