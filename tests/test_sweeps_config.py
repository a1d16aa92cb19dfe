"""Sweep config checking, backend choice and the guards that run before any trial starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import nbwandb
from nbwandb.errors import NbwandbError
from nbwandb.sweeps import parse_sweep_config
from nbwandb.sweeps.sweep import choose_backend
from nbwandb.sweeps.wandb_backend import agent_params

METRIC = {"name": "val/loss", "goal": "minimize"}


def _config(**parameters: object) -> dict:
    return {"method": "random", "metric": METRIC, "parameters": parameters}


def test_distributions_are_inferred_and_nested_names_dotted() -> None:
    spec = parse_sweep_config(
        {
            "method": "bayes",
            "metric": {"name": "acc", "goal": "maximize", "target": 0.99},
            "parameters": {
                "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
                "layers": {"min": 1, "max": 4},
                "dropout": {"min": 0.0, "max": 0.5},
                "act": {"values": ["relu", "gelu"]},
                "epochs": {"value": 3},
                "opt": {"parameters": {"momentum": {"values": [0.8, 0.9]}}},
            },
        }
    )
    kinds = {p.name: p.distribution for p in spec.params}
    assert kinds == {
        "lr": "log_uniform_values",
        "layers": "int_uniform",
        "dropout": "uniform",
        "act": "categorical",
        "epochs": "constant",
        "opt.momentum": "categorical",
    }
    assert (spec.goal, spec.target, spec.metric_name) == ("maximize", 0.99, "acc")
    assert [p.name for p in spec.searched()] == ["lr", "layers", "dropout", "act", "opt.momentum"]


def test_grid_size_counts_int_and_q_uniform_points() -> None:
    spec = parse_sweep_config(
        {
            "method": "grid",
            "metric": METRIC,
            "parameters": {
                "a": {"values": [1, 2]},
                "b": {"distribution": "int_uniform", "min": 1, "max": 3},
                "c": {"distribution": "q_uniform", "min": 0.0, "max": 0.3, "q": 0.1},
            },
        }
    )
    c = next(p for p in spec.params if p.name == "c")
    assert c.grid_values() == [0.0, 0.1, 0.2, 0.3]
    assert spec.grid_size() == 2 * 3 * 4


def test_every_problem_is_listed_in_one_error() -> None:
    with pytest.raises(NbwandbError) as info:
        parse_sweep_config(
            {
                "method": "grid",
                "metirc": METRIC,
                "paramters": {},
                "parameters": {
                    "lr": {"min": 0.1, "max": 0.01},
                    "bs": {"vals": [1]},
                    "x": {"distribution": "gaussian"},
                },
            }
        )
    text = str(info.value)
    assert "'metirc'" in text and "'paramters'" in text  # unsupported top-level keys, both named
    assert "min=0.1 must be smaller than max=0.01" in text
    assert "parameter 'bs': unsupported keys ['vals']" in text
    assert "distribution='gaussian' is not accepted" in text
    assert "metric is required" in text


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (
            {"method": "evolution", "metric": METRIC, "parameters": {"a": {"value": 1}}},
            "method='evolution'",
        ),
        (_config(a={"values": []}), "values=[] is not accepted"),
        (_config(a={"distribution": "log_uniform_values", "min": 0, "max": 1}), "needs min > 0"),
        (_config(a={"distribution": "int_uniform", "min": 0.5, "max": 3}), "int_uniform needs int"),
        (_config(a={"distribution": "normal", "sigma": -1}), "sigma=-1"),
        (_config(a={"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}), "q=0"),
        (_config(a={"distribution": "beta", "a": 1, "b": 2}), "only sampled by W&B's sweep server"),
        (
            _config(a={"values": [1, 2], "probabilities": [0.5, 0.5]}),
            "probabilities are only honoured",
        ),
        (
            {"method": "grid", "metric": METRIC, "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
            "method 'grid' needs a finite set of values",
        ),
        ({"method": "bayes", "parameters": {"a": {"values": [1]}}}, "metric is required"),
        (
            {
                "method": "random",
                "metric": {"name": "x", "goal": "up"},
                "parameters": {"a": {"value": 1}},
            },
            "goal='up'",
        ),
        (
            {**_config(a={"value": 1}), "early_terminate": {"type": "hyperband", "eta": 3}},
            "needs min_iter",
        ),
        ({**_config(a={"value": 1}), "early_terminate": {"type": "median"}}, "early_terminate="),
        ({**_config(a={"value": 1}), "run_cap": 0}, "run_cap=0"),
    ],
)
def test_invalid_configs_name_the_key(config: dict, fragment: str) -> None:
    with pytest.raises(NbwandbError, match="invalid sweep config") as info:
        parse_sweep_config(config)
    assert fragment in str(info.value)


def test_hyperband_max_iter_and_s_give_the_first_rung() -> None:
    spec = parse_sweep_config(
        {
            **_config(a={"value": 1}),
            "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2},
        }
    )
    assert spec.early_terminate is not None
    assert (
        spec.early_terminate.min_iter,
        spec.early_terminate.max_iter,
        spec.early_terminate.eta,
    ) == (3, 27, 3)


def test_wandb_only_distributions_pass_for_the_wandb_backend() -> None:
    spec = parse_sweep_config(_config(a={"distribution": "beta", "a": 1, "b": 2}), backend="wandb")
    assert spec.params[0].distribution == "beta"


def _no_runs_written(root: Path) -> bool:
    return not list(root.glob("wandb/*run-*"))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {
                "sweep_config": {
                    "method": "grid",
                    "metric": METRIC,
                    "parameters": {"lr": {"min": 1, "max": 0}},
                }
            },
            NbwandbError,
        ),
        ({"sweep_config": "grid"}, TypeError),
        ({"count": 0}, ValueError),
        ({"backend": "ray"}, ValueError),
        ({"catch": ValueError}, TypeError),
        (
            {"sweep_config": _config(lr={"min": 0.0, "max": 1.0})},
            ValueError,
        ),  # random with no count
    ],
)
def test_bad_input_is_rejected_before_any_run_starts(
    isolated: Path, kwargs: dict, error: type
) -> None:
    calls: list[dict] = []
    args = {
        "sweep_config": {"method": "grid", "metric": METRIC, "parameters": {"a": {"values": [1]}}},
        "train_fn": lambda config: calls.append(config) or 0.0,
        **kwargs,
    }
    with pytest.raises(error):
        nbwandb.sweep(**args)
    assert calls == []
    assert _no_runs_written(isolated)


def test_auto_picks_optuna_offline_and_wandb_with_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert choose_backend("auto")[0] == "optuna"
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    backend, reason = choose_backend("auto")
    assert backend == "wandb" and "credentials" in reason
    assert "k" * 40 not in reason
    assert choose_backend("optuna")[0] == "optuna"


def test_wandb_backend_refuses_offline_with_a_way_out(isolated: Path) -> None:
    with pytest.raises(NbwandbError, match="backend='wandb' needs W&B online") as info:
        nbwandb.sweep(
            {"method": "grid", "metric": METRIC, "parameters": {"a": {"values": [1]}}},
            lambda config: 0.0,
            backend="wandb",
        )
    assert "backend='optuna'" in str(info.value)
    assert _no_runs_written(isolated)


def test_missing_optuna_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # what `import optuna` sees when it is absent
    with pytest.raises(ImportError, match=r'pip install "nbwandb\[sweeps\]"'):
        nbwandb.sweep(
            {"method": "grid", "metric": METRIC, "parameters": {"a": {"values": [1]}}},
            lambda config: 0.0,
            backend="optuna",
        )


def test_agent_params_reads_the_file_wandb_agent_writes(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wandb.sdk.lib import config_util

    path = isolated / "wandb" / "sweep-abc" / "config-run1.yaml"
    config_util.save_config_file_from_dict(
        str(path), {"lr": {"value": 0.01}, "opt": {"value": {"m": 0.9}}}
    )
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(path))
    assert agent_params() == {"lr": 0.01, "opt": {"m": 0.9}}
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(isolated / "nope.yaml"))
    with pytest.raises(NbwandbError, match=r"wandb.agent"):
        agent_params()


def test_import_nbwandb_sweeps_stays_light() -> None:
    import subprocess

    code = (
        "import sys, nbwandb; nbwandb.sweep; import nbwandb.sweeps.sweep; "
        "assert callable(nbwandb.sweeps.sweep), nbwandb.sweeps.sweep; "
        "print(sorted(m for m in ('wandb', 'optuna', 'pandas', 'matplotlib', 'ipywidgets', 'IPython') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_wandb_backend_glue_runs_each_agent_job_as_a_trial(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Narrow: W&B's server cannot be reached here, so a stand-in for wandb.sweep/wandb.agent
    hands out jobs the way wandb's pyagent does (param file + env var, then the function).
    The runs themselves are real offline runs."""
    import os

    import wandb
    from wandb.sdk.lib import config_util

    from nbwandb.local import read_run
    from nbwandb.sweeps.wandb_backend import run_wandb_sweep

    jobs = [{"lr": {"value": 0.1}}, {"lr": {"value": 0.2}}, {"lr": {"value": -1.0}}]
    agent_errors: list[BaseException] = []

    def fake_agent(
        sweep_id: str, function: object, count: int | None = None, **kwargs: object
    ) -> None:
        for i, job in enumerate(jobs[:count]):
            path = isolated / "wandb" / f"sweep-{sweep_id}" / f"config-run{i}.yaml"
            config_util.save_config_file_from_dict(str(path), job)
            os.environ["WANDB_SWEEP_PARAM_PATH"] = str(path)
            try:
                function()  # type: ignore[operator]
            except Exception as exc:  # pyagent logs it, marks the run failed and goes on
                agent_errors.append(exc)
            finally:
                os.environ.pop("WANDB_SWEEP_PARAM_PATH")

    monkeypatch.setattr(wandb, "sweep", lambda config, project=None, entity=None: "swp123")
    monkeypatch.setattr(wandb, "agent", fake_agent)

    def train(config: dict) -> None:
        with nbwandb.init(config={"lr": 0.0, "epochs": 1}) as run:
            if config["lr"] < 0:
                raise ValueError("negative lr")
            run.log({"loss": config["lr"] * 10}, prefix="val")

    spec = parse_sweep_config(
        {"method": "random", "metric": METRIC, "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
        backend="wandb",
    )
    seen: list[str] = []
    result = run_wandb_sweep(
        spec,
        train,
        count=3,
        project="p",
        entity=None,
        callback=lambda res, trial: seen.append(trial.state),
    )
    assert result.sweep_id == "swp123" and result.backend == "wandb"
    assert seen == ["complete", "complete", "failed"]
    assert [str(e) for e in agent_errors] == ["negative lr"]
    assert result.best_params == {"lr": 0.1} and result.best_value == pytest.approx(1.0)
    best = read_run(result.best_run_dir)
    assert best.config == {"lr": 0.1, "epochs": 1} and best.summary["val/loss"] == pytest.approx(
        1.0
    )
    failed = read_run(result.trials[2].run_dir)
    assert failed.exit_code == 1 and failed.config["lr"] == -1.0
