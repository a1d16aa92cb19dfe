"""``nbwandb.sweep``: one W&B sweep config, run by W&B Sweeps online or by Optuna offline.

>>> def train(config):
...     run = nbwandb.init(project="demo", quiet=True)   # the trial's run, config = its params
...     for epoch in range(3):
...         run.log({"loss": config["lr"] * (3 - epoch)}, step=epoch, prefix="val")
...     run.finish()
>>> result = nbwandb.sweep({"method": "grid",
...                         "metric": {"name": "val/loss", "goal": "minimize"},
...                         "parameters": {"lr": {"values": [0.1, 0.01]}}}, train)
>>> result.best_params
{'lr': 0.01}
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nbwandb.connection.modes import resolve_mode
from nbwandb.errors import NbwandbError
from nbwandb.sweeps import optuna_backend as ob
from nbwandb.sweeps.result import SweepResult, TrialRecord
from nbwandb.sweeps.spec import SweepSpec, parse_sweep_config
from nbwandb.sweeps.trial import run_trial
from nbwandb.sweeps.wandb_backend import run_wandb_sweep

BACKENDS = ("auto", "wandb", "optuna")
TrialCallback = Callable[[SweepResult, TrialRecord], None]


def choose_backend(backend: str) -> tuple[str, str]:
    """("wandb" | "optuna", why): "auto" goes to W&B with online credentials, else Optuna."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not accepted; use one of {', '.join(BACKENDS)}")
    decision = resolve_mode("auto")
    if backend == "optuna":
        return "optuna", "backend='optuna' was asked for"
    if backend == "wandb":
        if decision.mode != "online":
            raise NbwandbError(
                f"backend='wandb' needs W&B online, but runs would be {decision.mode} "
                f"({decision.reason}); log in with nbwandb.login() (and unset WANDB_MODE=offline), "
                "or use backend='optuna' to run the same sweep offline"
            )
        return "wandb", f"backend='wandb' was asked for ({decision.reason})"
    if decision.mode == "online":
        return "wandb", f"online: {decision.reason}"
    return "optuna", f"{decision.mode}: {decision.reason}"


def default_study_name(spec: SweepSpec, *, shared: bool) -> str:
    """``sweep-<hash of the config>``: workers with the same config join the same study.

    Without shared storage a random suffix is added, so each call is its own group.
    """
    digest = hashlib.sha1(json.dumps(spec.raw, sort_keys=True, default=str).encode()).hexdigest()[
        :8
    ]
    return f"sweep-{digest}" if shared else f"sweep-{digest}-{secrets.token_hex(2)}"


def _check_count(count: Any) -> None:
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise ValueError(f"count={count!r} is not accepted; use an int >= 1 or None")


def sweep(
    sweep_config: dict[str, Any],
    train_fn: Callable[[dict[str, Any]], Any],
    *,
    count: int | None = None,
    backend: str = "auto",
    project: str | None = None,
    entity: str | None = None,
    storage: Any = None,
    study_name: str | None = None,
    seed: int | None = None,
    catch: tuple[type[BaseException], ...] = (),
    callback: TrialCallback | None = None,
) -> SweepResult:
    """Run a hyperparameter sweep; return every trial and the best run.

    ``sweep_config`` is W&B's sweep format (method grid/random/bayes, metric, parameters,
    early_terminate hyperband). It is checked completely before any run starts.
    ``train_fn(config)`` is written as for a W&B agent: ``nbwandb.init(...)`` inside it returns
    the trial's run (its config holds the trial's parameters). The objective is what it
    returns, else the metric's last value in the run's summary.

    ``backend``: "auto" (W&B Sweeps with online credentials, else Optuna), "wandb", "optuna".
    ``count``: trials this call runs (like ``wandb.agent(count=...)``); a grid runs all its
    points when None. ``storage`` (Optuna): ``"sqlite:///sweep.db"``, ``"postgresql://..."``
    or a journal file path lets several processes work on one study; give them the same
    ``study_name`` (or the same config). ``catch``: exception types that fail one trial but
    not the sweep. ``callback(result, trial)`` runs after each trial (the notebook's
    ``SweepPanel.update`` is one).

    Raises:
        NbwandbError: the sweep config is invalid (every problem listed, before any run), or
            ``backend="wandb"`` while runs would be offline.
        ValueError, TypeError: ``count``, ``backend``, ``storage``, ``catch`` or ``callback``
            is not accepted.
        MissingDependencyError: the Optuna backend is chosen and optuna is not installed
            (``pip install "nbwandb[sweeps]"``); WandbMissingError without wandb.
        Exception: what ``train_fn`` raised, unless its type is in ``catch``.
    """
    _check_count(count)
    if not callable(train_fn):
        raise TypeError(f"train_fn={train_fn!r} is not accepted; pass a function train_fn(config)")
    if not isinstance(catch, tuple) or not all(
        isinstance(c, type) and issubclass(c, BaseException) for c in catch
    ):
        raise TypeError(f"catch={catch!r} is not accepted; use a tuple of exception classes")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback={callback!r} is not accepted; pass a function (result, trial)")
    chosen, _reason = choose_backend(backend)
    spec = parse_sweep_config(sweep_config, backend=chosen)
    project = project or spec.project
    if chosen == "wandb":
        return run_wandb_sweep(
            spec,
            train_fn,
            count=count,
            project=project,
            entity=entity or spec.entity,
            callback=callback,
        )
    if spec.method != "grid" and count is None and spec.run_cap is None:
        raise ValueError(
            f"count=None is not accepted for method {spec.method!r}: it would run "
            "forever offline; pass count=N (or run_cap in the config)"
        )
    name = study_name or spec.name or default_study_name(spec, shared=storage is not None)
    with _optuna_quiet() as optuna:
        study = ob.create_study(spec, name=name, storage=storage, seed=seed)
        return _run_optuna(
            spec,
            train_fn,
            optuna,
            study,
            count=count,
            project=project,
            storage=storage,
            catch=catch,
            callback=callback,
        )


@contextmanager
def _optuna_quiet() -> Iterator[Any]:
    """Optuna, logging at WARNING only inside: nbwandb prints one line per run already."""
    optuna = ob.import_optuna()
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield optuna
    finally:
        optuna.logging.set_verbosity(verbosity)


def _run_optuna(
    spec: SweepSpec,
    train_fn: Callable[[dict[str, Any]], Any],
    optuna: Any,
    study: Any,
    *,
    count: int | None,
    project: str | None,
    storage: Any,
    catch: tuple[type[BaseException], ...],
    callback: TrialCallback | None,
) -> SweepResult:
    """Run up to ``count`` trials of ``study`` (its name is the runs' group)."""
    name = study.study_name
    cap = ob.trial_cap(spec)
    defaults: dict[str, Any] = {"group": name}
    if project:
        defaults["project"] = project

    def result_now() -> SweepResult:
        return SweepResult(
            name=name,
            backend="optuna",
            method=spec.method,
            metric=spec.metric_name,
            goal=spec.goal,
            trials=ob.study_records(study),
            group=name,
            storage=None if storage is None else str(storage),
            planned=cap or count,
        )

    def run_one(trial: Any, config: dict[str, Any]) -> Any:
        reporter = ob.OptunaReporter(trial) if spec.early_terminate is not None else None
        return run_trial(
            train_fn,
            config,
            metric=spec.metric_name,
            defaults={**defaults, "name": f"{name}-{trial.number}"},
            reporter=reporter,
            pruned_error=optuna.TrialPruned,
        )

    def after_trial(study: Any, frozen: Any) -> None:
        if frozen.user_attrs.get(ob.SKIPPED_ATTR):
            return
        if callback is not None:
            callback(result_now(), ob.to_record(frozen))
        if (
            spec.target is not None
            and frozen.state.name == "COMPLETE"
            and _reached(spec, frozen.value)
        ):
            study.stop()
        elif cap is not None and len(study.get_trials(deepcopy=False)) >= cap:
            study.stop()  # full: stop here rather than ask for a trial only to skip it

    if cap is not None and len(study.get_trials(deepcopy=False)) >= cap:
        return result_now()  # the study is already complete (another worker, or a re-run)
    study.optimize(
        ob.make_objective(spec, run_one), n_trials=count, catch=catch, callbacks=[after_trial]
    )
    return result_now()


def _reached(spec: SweepSpec, value: float | None) -> bool:
    if value is None or spec.target is None:
        return False
    return value <= spec.target if spec.goal == "minimize" else value >= spec.target
