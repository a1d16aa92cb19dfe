"""The offline backend: a W&B sweep config run as an Optuna study, one offline run per trial.

Mapping: ``grid`` -> ``GridSampler``, ``random`` -> ``RandomSampler``, ``bayes`` ->
``TPESampler``, ``early_terminate: hyperband`` -> ``HyperbandPruner``. W&B distributions map
to Optuna's ``suggest_*`` calls; those Optuna lacks are sampled through a quantile
(``normal``: ``suggest_float("<name>:quantile", 0, 1)`` through the normal's inverse CDF) or
rounded afterwards (``q_log_uniform_values``). The trial's config (what ``train_fn`` sees) is
stored in the trial's user attribute ``nbwandb.values.config``.

Several processes share a study through ``storage`` (an RDB URL or a journal file). Trial
numbers are handed out by the storage, so they are unique across workers; ``GridSampler`` maps
trial number ``n < grid size`` to grid point ``n`` (the same shuffled order in every worker),
which is why workers split a grid without duplicates. A worker that draws a number past the
grid (or ``run_cap``) marks that trial skipped and stops.

>>> from nbwandb.sweeps.spec import parse_sweep_config
>>> spec = parse_sweep_config({"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
...                            "parameters": {"lr": {"values": [0.1, 0.01]}}})
>>> study = create_study(spec, name="s", storage="sweep.journal", seed=0)  # a file other workers share
>>> study.study_name
's'
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

from nbwandb.errors import NbwandbError, require
from nbwandb.sweeps.result import TrialRecord
from nbwandb.sweeps.spec import ParamSpec, SweepSpec, tidy

CONFIG_ATTR = "nbwandb.values.config"
SKIPPED_ATTR = "nbwandb.skipped"
SPEC_ATTR = "nbwandb.sweep_config"
RUN_ATTRS = ("run_id", "run_name", "run_dir", "error")
_PRIMITIVES = (type(None), bool, int, float, str)
_QUANTILE_EPS = 1e-9  # keeps the inverse CDF finite at 0 and 1


def import_optuna() -> Any:
    """The optuna module.

    Raises:
        MissingDependencyError: optuna is not installed (an ImportError; the message gives
            the pip command).
    """
    return require(
        "optuna",
        purpose="the offline sweep backend",
        extra="sweeps",
        alternative="run online with backend='wandb'",
    )


# -- parameters ------------------------------------------------------------------------------
def _choices(p: ParamSpec) -> tuple[list[Any], dict[Any, Any] | None]:
    """Optuna stores only None/bool/int/float/str choices: other values travel as JSON text."""
    if all(isinstance(v, _PRIMITIVES) for v in p.values):
        return list(p.values), None
    encoded = {json.dumps(v, sort_keys=True, default=str): v for v in p.values}
    return list(encoded), encoded


def _quantize(value: float, q: float | None) -> float | int:
    q = q or 1
    return tidy(round(value / q) * q, q)


def _all_int(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _q_high(p: ParamSpec) -> float | int:
    """The largest ``min + k*q`` not above ``max`` (Optuna wants ``max - min`` divisible by q)."""
    assert p.low is not None and p.high is not None and p.q is not None
    steps = math.floor((p.high - p.low) / p.q + 1e-9)
    return tidy(p.low + steps * p.q, p.q)


def grid_choices(p: ParamSpec) -> list[Any]:
    """The values ``GridSampler`` hands out for ``p`` (as ``suggest`` will ask for them)."""
    if p.distribution == "categorical":
        return _choices(p)[0]
    return p.grid_values()


def suggest(trial: Any, p: ParamSpec) -> Any:
    """Sample ``p`` on an Optuna trial; returns the value ``train_fn`` sees."""
    d = p.distribution
    if d == "constant":
        return p.value
    if d == "categorical":
        choices, encoded = _choices(p)
        picked = trial.suggest_categorical(p.name, choices)
        return encoded[picked] if encoded is not None else picked
    if d in ("normal", "q_normal", "log_normal", "q_log_normal"):
        u = trial.suggest_float(f"{p.name}:quantile", _QUANTILE_EPS, 1 - _QUANTILE_EPS)
        x = NormalDist(p.mu, p.sigma).inv_cdf(u)
        if d.startswith(("log_", "q_log_")):
            x = math.exp(x)
        return _quantize(x, p.q) if d.startswith("q_") else x
    assert p.low is not None and p.high is not None
    if d == "int_uniform":
        return trial.suggest_int(p.name, int(p.low), int(p.high))
    if d == "uniform":
        return trial.suggest_float(p.name, p.low, p.high)
    if d == "q_uniform":
        assert p.q is not None
        if _all_int(p.low, p.high, p.q):
            return trial.suggest_int(p.name, p.low, _q_high(p), step=p.q)
        return tidy(trial.suggest_float(p.name, p.low, _q_high(p), step=p.q), p.q)
    if d in ("log_uniform", "q_log_uniform"):
        # W&B's log_uniform takes natural-log bounds: the values run from e**min to e**max.
        x = trial.suggest_float(p.name, math.exp(p.low), math.exp(p.high), log=True)
        return _quantize(x, p.q) if d == "q_log_uniform" else x
    if d in ("log_uniform_values", "q_log_uniform_values"):
        if d == "q_log_uniform_values" and p.q == 1 and _all_int(p.low, p.high):
            return trial.suggest_int(p.name, p.low, p.high, log=True)
        x = trial.suggest_float(p.name, p.low, p.high, log=True)
        return _quantize(x, p.q) if d == "q_log_uniform_values" else x
    raise NbwandbError(
        f"parameter {p.name!r}: distribution {d!r} is not sampled by the Optuna backend"
    )


def sample_config(trial: Any, spec: SweepSpec) -> dict[str, Any]:
    """The trial's config: every parameter sampled, nested names nested again."""
    config: dict[str, Any] = {}
    for p in spec.params:
        node = config
        *parents, leaf = p.path
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = suggest(trial, p)
    return config


# -- study -----------------------------------------------------------------------------------
def open_storage(storage: Any) -> Any:
    """None (in memory), an Optuna storage, an RDB URL (``sqlite:///...``), or a journal file path."""
    optuna = import_optuna()
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(
            f"storage={storage!r} is not accepted; use 'sqlite:///sweep.db', "
            "'postgresql://...', a journal file path, or an optuna storage"
        )
    text = os.fspath(storage)
    if "://" in text:
        return _rdb_storage(optuna, text)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(text))


def _rdb_storage(optuna: Any, url: str, attempts: int = 5) -> Any:
    """An RDB storage; workers that start together on a new database race to create its
    tables (one gets an IntegrityError), so a failed first open is retried once the other has."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url)
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def make_sampler(spec: SweepSpec, *, seed: int | None, shared: bool) -> Any:
    optuna = import_optuna()
    if spec.method == "grid":
        space = {p.name: grid_choices(p) for p in spec.searched()}
        # Every worker builds the same shuffled grid (seed 0 unless given), so trial number n is
        # the same grid point everywhere.
        return optuna.samplers.GridSampler(space, seed=seed)
    if spec.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: running trials of other workers count as pessimistic guesses, so parallel
    # workers do not all sample the same promising point.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=shared)


def make_pruner(spec: SweepSpec) -> Any:
    optuna = import_optuna()
    hb = spec.early_terminate
    if hb is None:
        return optuna.pruners.NopPruner()
    return optuna.pruners.HyperbandPruner(
        min_resource=hb.min_iter, max_resource=hb.max_iter or "auto", reduction_factor=hb.eta
    )


def create_study(spec: SweepSpec, *, name: str, storage: Any, seed: int | None) -> Any:
    """Create or join the study ``name`` (joining checks that the sweep config is the same)."""
    optuna = import_optuna()
    store = open_storage(storage)
    study = optuna.create_study(
        study_name=name,
        storage=store,
        load_if_exists=True,
        sampler=make_sampler(spec, seed=seed, shared=store is not None),
        pruner=make_pruner(spec),
        direction=spec.goal,
    )
    mine = json.loads(json.dumps(spec.raw, sort_keys=True, default=str))
    theirs = study.user_attrs.get(SPEC_ATTR)
    if theirs is None:
        study.set_user_attr(SPEC_ATTR, mine)
    elif theirs != mine:
        raise NbwandbError(
            f"study {name!r} in {storage} was started with a different sweep config; "
            "use the same config to join it, or pass another study_name"
        )
    return study


class OptunaReporter:
    """``trial.report`` + ``trial.should_prune`` for one trial (called from ``run.log``)."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def report(self, value: float, iteration: int) -> bool:
        self.trial.report(value, iteration)
        return bool(self.trial.should_prune())


_STATES = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}


def _value(trial: Any) -> float | None:
    """A complete trial's value; a pruned one's last reported value (where it was stopped)."""
    if trial.state.name == "COMPLETE":
        return trial.value  # type: ignore[no-any-return]
    if trial.state.name == "PRUNED" and trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return None


def to_record(trial: Any) -> TrialRecord:
    attrs = trial.user_attrs
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRecord(
        number=trial.number,
        state=_STATES.get(trial.state.name, trial.state.name.lower()),
        params=dict(attrs.get(CONFIG_ATTR, {})),
        value=_value(trial),
        run_id=attrs.get("run_id"),
        run_name=attrs.get("run_name"),
        run_dir=attrs.get("run_dir"),
        duration_s=duration,
        error=attrs.get("error"),
    )


def study_records(study: Any) -> list[TrialRecord]:
    """Every trial of the study (all workers), skipped placeholders left out."""
    return [
        to_record(t) for t in study.get_trials(deepcopy=False) if not t.user_attrs.get(SKIPPED_ATTR)
    ]


def trial_cap(spec: SweepSpec) -> int | None:
    """How many trials the whole study may hold: the grid size and/or ``run_cap``."""
    caps = [c for c in (spec.grid_size() if spec.method == "grid" else None, spec.run_cap) if c]
    return min(caps) if caps else None


def make_objective(
    spec: SweepSpec, run_one: Callable[[Any, dict[str, Any]], Any]
) -> Callable[[Any], float]:
    """The Optuna objective: sample, run the trial via ``run_one(trial, config)``, return its value."""
    optuna = import_optuna()
    cap = trial_cap(spec)

    def objective(trial: Any) -> float:
        if cap is not None and trial.number >= cap:
            # Another worker took the last slot between our check and this ask.
            trial.set_user_attr(SKIPPED_ATTR, True)
            trial.study.stop()
            raise optuna.TrialPruned(f"trial {trial.number} is past the sweep's {cap} trials")
        config = sample_config(trial, spec)
        trial.set_user_attr(CONFIG_ATTR, json.loads(json.dumps(config, default=str)))
        outcome = run_one(trial, config)
        for key in RUN_ATTRS[:3]:
            if getattr(outcome, key) is not None:
                trial.set_user_attr(key, getattr(outcome, key))
        if outcome.error is not None:
            trial.set_user_attr("error", f"{type(outcome.error).__name__}: {outcome.error}"[:500])
            raise outcome.error
        if outcome.state == "pruned":
            raise optuna.TrialPruned()
        return float("nan") if outcome.value is None else float(outcome.value)

    return objective
