"""The online backend: ``wandb.sweep`` creates the sweep on the server, ``wandb.agent`` runs it.

W&B's agent picks each trial's parameters and writes them to the file named by
``WANDB_SWEEP_PARAM_PATH`` before it calls our function; the trial then runs exactly as an
offline one (``nbwandb.init`` inside ``train_fn`` returns the agent's run, with those
parameters). Early termination is W&B's own (its server stops runs).

>>> result = run_wandb_sweep(spec, train_fn, count=5, project="demo")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from nbwandb.errors import NbwandbError
from nbwandb.sweeps.result import SweepResult, TrialRecord
from nbwandb.sweeps.spec import SweepSpec
from nbwandb.sweeps.trial import run_trial
from nbwandb.wandb_compat import import_wandb

TrialCallback = Callable[[SweepResult, TrialRecord], None]


def agent_params() -> dict[str, Any]:
    """The parameters W&B's agent chose for the current run (``{name: value}``)."""
    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if not path or not os.path.exists(path):
        raise NbwandbError(
            f"WANDB_SWEEP_PARAM_PATH={path!r} names no file: this function must be called by "
            "wandb.agent (nbwandb.sweep(..., backend='wandb') does that)"
        )
    import yaml  # a dependency of wandb

    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    raw.pop("wandb_version", None)
    return {
        key: (entry["value"] if isinstance(entry, dict) and "value" in entry else entry)
        for key, entry in raw.items()
    }


def run_wandb_sweep(
    spec: SweepSpec,
    train_fn: Callable[[dict[str, Any]], Any],
    *,
    count: int | None,
    project: str | None,
    entity: str | None,
    callback: TrialCallback | None = None,
) -> SweepResult:
    """Create the sweep on W&B and run ``count`` trials of it in this process."""
    wandb = import_wandb("nbwandb.sweep(backend='wandb')")
    sweep_id = wandb.sweep(dict(spec.raw), project=project, entity=entity)
    result = SweepResult(
        name=spec.name or sweep_id,
        backend="wandb",
        method=spec.method,
        metric=spec.metric_name,
        goal=spec.goal,
        sweep_id=sweep_id,
        planned=count,
        url=_sweep_url(wandb, sweep_id, project, entity),
    )

    def agent_function() -> None:
        params = agent_params()
        outcome = run_trial(
            train_fn,
            params,
            metric=spec.metric_name,
            defaults={"project": project} if project else {},
        )
        record = TrialRecord(
            number=len(result.trials),
            state=outcome.state,
            params=params,
            value=outcome.value,
            run_id=outcome.run_id,
            run_name=outcome.run_name,
            run_dir=outcome.run_dir,
            duration_s=outcome.duration_s,
            error=None
            if outcome.error is None
            else f"{type(outcome.error).__name__}: {outcome.error}",
        )
        result.trials.append(record)
        if callback is not None:
            callback(result, record)
        if outcome.error is not None:
            raise outcome.error  # the agent marks the run as failed and goes on

    wandb.agent(sweep_id, function=agent_function, count=count, project=project, entity=entity)
    return result


def _sweep_url(wandb: Any, sweep_id: str, project: str | None, entity: str | None) -> str | None:
    """Best effort: the sweep's page (needs entity and project, known once logged in)."""
    try:
        settings = wandb.setup().settings
        entity = entity or settings.entity
        project = project or settings.project
        base = (settings.base_url or "https://api.wandb.ai").replace("api.wandb.ai", "wandb.ai")
    except Exception:  # noqa: BLE001 - a link is a nicety, never a failure
        return None
    if not entity or not project:
        return None
    return f"{base}/{entity}/{project}/sweeps/{sweep_id}"
