"""Hyperparameter sweeps: one W&B sweep config, W&B Sweeps online or Optuna offline.

``nbwandb.sweep(sweep_config, train_fn, count=..., backend="auto")`` checks the config
(W&B's format), then runs ``train_fn(config)`` once per trial. Online (credentials found)
it is ``wandb.sweep`` + ``wandb.agent``; offline it is an Optuna study (grid -> GridSampler,
random -> RandomSampler, bayes -> TPESampler, hyperband -> HyperbandPruner) where each trial
is one offline wandb run in a group named after the sweep (``nbwandb sync`` uploads them later).

Inside ``train_fn``, ``nbwandb.init(...)`` returns the trial's run, with the trial's
parameters overriding the config passed to ``init`` (as under a W&B agent). A ``train_fn``
that never calls ``init`` is recorded as a run after it returns. The objective is what
``train_fn`` returns, else the metric's last value in the run's summary.

Early termination offline: each ``run.log`` call that holds the metric is one report to the
pruner (``min_iter`` counts reports, as W&B's hyperband does); when it says stop, the run is
finished and ``optuna.TrialPruned`` is raised from that ``run.log`` call.

Outgrowing one machine offline: pass ``storage="sqlite:///sweep.db"`` (one machine, several
processes), ``"postgresql://user@host/db"`` (several machines), or a journal file path on a
shared disk, and the same ``study_name`` in every worker. Optuna's storage hands out trial
numbers atomically, so workers split a grid without duplicates; ``count`` is per worker and
``run_cap`` in the config caps the whole study. See docs/sweeps.md.

>>> def train(config):
...     return (config["lr"] - 0.01) ** 2              # the objective (or log it to a run)
>>> config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
...           "parameters": {"lr": {"values": [0.1, 0.01]}}}
>>> result = nbwandb.sweep(config, train, count=2, backend="optuna")
>>> result.best_params, result.best_value
({'lr': 0.01}, 0.0)
"""

from __future__ import annotations

# All light (no wandb, optuna or pandas): those are imported by the calls that need them.
# ``sweep`` the function is bound here, over the submodule of the same name.
from nbwandb.sweeps.result import SweepResult, TrialRecord
from nbwandb.sweeps.spec import parse_sweep_config
from nbwandb.sweeps.sweep import sweep

__all__ = ["SweepResult", "TrialRecord", "parse_sweep_config", "sweep"]
