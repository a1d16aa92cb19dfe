"""Running one sweep trial: the user's ``train_fn(config)`` as one wandb run.

Inside a trial, ``nbwandb.init(...)`` returns the trial's run: ``session.init_defaults`` makes
the trial's parameters override the caller's config and puts the run in the sweep's group,
as ``wandb.init()`` does under a W&B agent. If ``train_fn`` never calls ``init``, the trial
records a run itself once ``train_fn`` returns (its config, and what it returned).

The objective is what ``train_fn`` returns (a number, or a dict holding the metric), else the
metric's final value in the run's summary, read from the run just before it finishes.

Early termination (hyperband) is reported synchronously on the caller's thread: each
``run.log`` call that contains the metric is one report (``min_iter`` counts reports, as in
W&B); when the pruner says stop, the run is finished (exit code 0) and ``optuna.TrialPruned``
is raised from that ``run.log`` call, which ends ``train_fn`` like any exception.

>>> outcome = run_trial(lambda cfg: cfg["x"] ** 2, {"x": 3}, metric="loss",
...                     defaults={"group": "demo"})
>>> outcome.state, outcome.value
('complete', 9.0)
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from nbwandb.errors import NbwandbError
from nbwandb.run import session
from nbwandb.run.handle import RunHandle
from nbwandb.start.init import init
from nbwandb.values.metrics import flatten_metrics, is_number


class Reporter(Protocol):
    """What a backend gives a trial for early termination (Optuna's trial, wrapped)."""

    def report(self, value: float, iteration: int) -> bool:
        """Record one intermediate value; True when the trial should stop now."""


_one_trial_at_a_time = threading.Lock()


class _Pruned(Exception):
    """Stands for "stopped early" when the backend has no exception of its own."""


@dataclass
class TrialOutcome:
    """What one trial produced. ``state``: "complete", "pruned" or "failed"."""

    state: str
    value: float | None = None
    run_id: str | None = None
    run_name: str | None = None
    run_dir: str | None = None
    duration_s: float = 0.0
    error: BaseException | None = None
    summary: dict[str, Any] = field(default_factory=dict, repr=False)


class _RunHooks:
    """Attached to each run started inside the trial: pruning reports and a last summary read."""

    def __init__(
        self, metric: str | None, reporter: Reporter | None, pruned_error: type[BaseException]
    ) -> None:
        self.metric = metric
        self.reporter = reporter
        self.pruned_error = pruned_error
        self.runs: list[Any] = []
        self.summaries: dict[int, dict[str, Any]] = {}
        self.pruned = False

    def attach(self, run: RunHandle) -> None:
        if not getattr(run, "enabled", False):
            return
        self.runs.append(run)
        # Instance attributes shadow the class methods for this one run only; nothing global
        # changes and ``with init() as run`` / re-run cells go through them too.
        original_log, original_finish = run.log, run.finish
        iteration: dict[str, Any] = {"count": 0, "step": None}

        @functools.wraps(original_log)
        def log(metrics: Mapping[str, Any], **kwargs: Any) -> None:
            original_log(metrics, **kwargs)
            if self.reporter is None or self.metric is None:
                return
            flat = flatten_metrics(metrics, kwargs.get("prefix"))
            value = flat.get(self.metric)
            if not is_number(value):
                return
            if run.step == iteration["step"]:
                return  # the same step again: its first value is the report
            iteration["step"] = run.step
            iteration["count"] += 1
            if self.reporter.report(float(value), iteration["count"]):
                self.pruned = True
                run.finish(exit_code=0, wait=True)
                raise self.pruned_error(
                    f"trial pruned by hyperband at report {iteration['count']} ({self.metric}={value})"
                )

        @functools.wraps(original_finish)
        def finish(exit_code: int = 0, **kwargs: Any) -> None:
            if not run.finished:
                with contextlib.suppress(Exception):
                    run.flush(kwargs.get("timeout", 60.0))
                    self.summaries[id(run)] = dict(run.wandb_run.summary)
            original_finish(exit_code, **kwargs)

        run.log = log  # type: ignore[method-assign]
        run.finish = finish  # type: ignore[method-assign]


@contextlib.contextmanager
def _watch_new_runs(on_start: Callable[[Any], None]) -> Iterator[None]:
    """Call ``on_start(run)`` for each run ``nbwandb.init`` starts inside the block.

    ``session`` has no "run started" hook, so the block wraps ``session.set_active`` (which
    ``init`` calls) and puts it back afterwards.
    """
    original = session.set_active

    def set_active(run: RunHandle) -> None:
        original(run)
        if run is not None:
            on_start(run)

    session.set_active = set_active  # type: ignore[assignment]
    try:
        yield
    finally:
        session.set_active = original  # type: ignore[assignment]


def _number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # numpy / torch scalars
        return _number(value.item())
    return None


def _objective(returned: Any, summary: Mapping[str, Any], metric: str | None) -> float | None:
    value = _number(returned)
    if value is not None:
        return value
    if isinstance(returned, Mapping) and metric is not None:
        with contextlib.suppress(TypeError, ValueError):
            value = _number(flatten_metrics(returned).get(metric))
        if value is not None:
            return value
    return _number(summary.get(metric)) if metric is not None else None


def run_trial(
    train_fn: Callable[[dict[str, Any]], Any],
    config: dict[str, Any],
    *,
    metric: str | None,
    defaults: dict[str, Any],
    reporter: Reporter | None = None,
    pruned_error: type[BaseException] | None = None,
) -> TrialOutcome:
    """Run ``train_fn(config)`` as one run and return its outcome (errors are returned, not raised).

    ``pruned_error`` is the exception that means "stopped early" (``optuna.TrialPruned``): a
    trial that raises it, or whose ``reporter`` says stop, ends as "pruned", not "failed".
    """
    if not _one_trial_at_a_time.acquire(blocking=False):
        # One active run per process (wandb.run is global): a trial inside a trial, or two
        # sweeps in two threads, would finish each other's runs.
        raise NbwandbError(
            "a sweep trial is already running in this process; run sweeps one "
            "after another, or in separate processes sharing a storage"
        )
    try:
        return _run_trial(
            train_fn,
            config,
            metric=metric,
            defaults=defaults,
            reporter=reporter,
            pruned_error=pruned_error or _Pruned,
        )
    finally:
        _one_trial_at_a_time.release()


def _run_trial(
    train_fn: Callable[[dict[str, Any]], Any],
    config: dict[str, Any],
    *,
    metric: str | None,
    defaults: dict[str, Any],
    reporter: Reporter | None,
    pruned_error: type[BaseException],
) -> TrialOutcome:
    hooks = _RunHooks(metric, reporter, pruned_error)
    started = time.monotonic()
    returned: Any = None
    error: BaseException | None = None
    pruned = False
    with (
        session.init_defaults(config=copy.deepcopy(config), **defaults),
        _watch_new_runs(hooks.attach),
    ):
        try:
            returned = train_fn(copy.deepcopy(config))
        except BaseException as exc:  # noqa: BLE001 - handed back to the backend, which decides
            if isinstance(exc, pruned_error):
                pruned = True
            else:
                error = exc
        if not hooks.runs and error is None and not pruned:
            _record_run_for(returned, metric)  # train_fn never called init: record it ourselves
        for run in hooks.runs:
            if not run.finished:
                if error is None and metric is not None and _number(returned) is not None:
                    run.set_summary({metric: _number(returned)})
                run.finish(exit_code=1 if error is not None else 0, wait=True)
    outcome = TrialOutcome(state="complete", duration_s=time.monotonic() - started, error=error)
    if hooks.runs:
        last = hooks.runs[-1]
        outcome.run_id, outcome.run_name, outcome.run_dir = last.id, last.name, str(last.run_dir)
        outcome.summary = hooks.summaries.get(id(last), {})
    if pruned or hooks.pruned:
        outcome.state = "pruned"
        return outcome
    if error is not None:
        outcome.state = "failed"
        return outcome
    value = _objective(returned, outcome.summary, metric)
    if value is None and metric is not None:
        keys = sorted(k for k in outcome.summary if not k.startswith("_"))
        outcome.state = "failed"
        outcome.error = NbwandbError(
            f"metric {metric!r} was not found: train_fn returned {type(returned).__name__} and the "
            f"run's summary has {keys}; log it (run.log({{{metric!r}: value}})) or return it"
        )
        return outcome
    if value is not None and not math.isfinite(value):
        outcome.state = "failed"  # a diverged trial: recorded as failed, the sweep goes on
    outcome.value = value
    return outcome


def _record_run_for(returned: Any, metric: str | None) -> None:
    """Start, fill and finish a run for a ``train_fn`` that did not call ``nbwandb.init``."""
    run = init(quiet=True)
    if isinstance(returned, Mapping):
        try:
            flat = flatten_metrics(returned)
        except (TypeError, ValueError):
            flat = {}
        numbers_only = {k: _number(v) for k, v in flat.items() if _number(v) is not None}
        if numbers_only:
            run.log(numbers_only)
    elif metric is not None and _number(returned) is not None:
        run.log({metric: _number(returned)})
    run.finish(wait=True)
