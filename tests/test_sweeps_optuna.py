"""Offline sweeps on Optuna: real offline wandb runs, read back from their files."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from leet import leet_summary

import nbwandb
from nbwandb.errors import NbwandbError
from nbwandb.local import list_runs, read_run

MINIMIZE = {"name": "val/loss", "goal": "minimize"}


def run_dirs(root: Path) -> list[Path]:
    return sorted((root / "wandb").glob("offline-run-*"))


def read_all(root: Path) -> list[Any]:
    return [read_run(d) for d in run_dirs(root)]


def train_with_init(config: dict[str, Any]) -> None:
    """A W&B-agent-style train function: init, log a curve, finish."""
    run = nbwandb.init(project="sweeps", config={"lr": -1.0, "epochs": 3})
    assert run.config["lr"] == config["lr"]  # the trial's value overrides the caller's
    for epoch in range(run.config["epochs"]):
        run.log({"loss": config["lr"] * config["width"] * (3 - epoch)}, step=epoch, prefix="val")
    run.finish()


def test_grid_2x2_runs_exactly_four_offline_runs_in_one_group(isolated: Path) -> None:
    config = {
        "method": "grid",
        "metric": MINIMIZE,
        "parameters": {"lr": {"values": [0.1, 0.2]}, "width": {"values": [1, 4]}},
    }
    result = nbwandb.sweep(config, train_with_init)

    runs = read_all(isolated)
    assert len(runs) == 4 and len(result.trials) == 4
    assert {(r.config["lr"], r.config["width"]) for r in runs} == set(
        itertools.product([0.1, 0.2], [1, 4])
    )
    assert all(r.config["epochs"] == 3 for r in runs)  # the caller's other config stays
    assert {r.group for r in runs} == {result.group} and result.group == result.name
    assert {r.project for r in runs} == {"sweeps"}
    assert all(r.state == "finished" for r in runs)
    # Each record matches its run's files: parameters in config, value = last val/loss in summary.
    by_id = {r.id: r for r in runs}
    for trial in result.trials:
        run = by_id[trial.run_id]
        assert {k: run.config[k] for k in trial.params} == trial.params
        assert run.summary["val/loss"] == pytest.approx(trial.value)
        assert len(run.history) == 3
    assert result.best_params == {"lr": 0.1, "width": 1}
    assert result.best_value == pytest.approx(0.1)
    table = list(list_runs(isolated / "wandb"))  # the runs table agrees
    assert len(table) == 4 and {row["group"] for row in table} == {result.group}
    assert sorted(row["summary.val/loss"] for row in table) == sorted(
        t.value for t in result.trials
    )
    leet = leet_summary(result.best_run_dir)
    assert leet["run_id"] == result.best_run_id
    assert leet["summary"]["val/loss"] == pytest.approx(0.1)
    assert leet["config"]["lr"] == 0.1


@pytest.mark.parametrize(("goal", "expected_x"), [("minimize", -1), ("maximize", 2)])
def test_goal_picks_the_best_run(isolated: Path, goal: str, expected_x: int) -> None:
    # train_fn never calls init and returns the metric: the sweep records the run itself.
    config = {
        "method": "grid",
        "metric": {"name": "score", "goal": goal},
        "parameters": {"x": {"values": [0, -1, 2, 1]}},
    }
    result = nbwandb.sweep(config, lambda cfg: float(cfg["x"]) ** 3)

    assert result.best_params == {"x": expected_x}
    assert result.best_value == expected_x**3
    best = read_run(result.best_run_dir)
    assert best.id == result.best_run_id
    assert best.config == {"x": expected_x} and best.summary["score"] == expected_x**3
    scores = sorted(r.summary["score"] for r in read_all(isolated))
    assert scores == [-1.0, 0.0, 1.0, 8.0]
    df = result.to_dataframe()
    assert sorted(df["param.x"]) == [-1, 0, 1, 2] and set(df["state"]) == {"complete"}


def _check_in_distribution(config: dict[str, Any]) -> None:
    assert 1e-4 <= config["lr"] <= 1e-1
    assert isinstance(config["layers"], int) and 1 <= config["layers"] <= 4
    assert 0.0 <= config["dropout"] <= 0.5
    assert config["act"] in ("relu", "gelu")
    assert config["hidden"] in ([32, 32], [64])
    assert config["epochs"] == 2
    assert config["opt"]["momentum"] in (0.8, 0.9)
    q = config["batch"]
    assert 16 <= q <= 128 and q % 16 == 0
    assert isinstance(config["noise"], float) and math.isfinite(config["noise"])
    assert math.isclose(round(config["decay"] / 0.01) * 0.01, config["decay"], abs_tol=1e-12)
    assert 0.0 <= config["decay"] <= 0.1


SEARCH_SPACE = {
    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "layers": {"distribution": "int_uniform", "min": 1, "max": 4},
    "dropout": {"min": 0.0, "max": 0.5},
    "act": {"values": ["relu", "gelu"]},
    "hidden": {"values": [[32, 32], [64]]},
    "epochs": {"value": 2},
    "opt": {"parameters": {"momentum": {"values": [0.8, 0.9]}}},
    "batch": {"distribution": "q_uniform", "min": 16, "max": 128, "q": 16},
    "noise": {"distribution": "normal", "mu": 0.0, "sigma": 2.0},
    "decay": {"distribution": "q_log_uniform_values", "min": 0.001, "max": 0.1, "q": 0.01},
}


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_random_and_bayes_run_count_trials_inside_the_distributions(
    isolated: Path, method: str
) -> None:
    config = {"method": method, "metric": MINIMIZE, "parameters": SEARCH_SPACE}

    def train(cfg: dict[str, Any]) -> dict[str, float]:
        _check_in_distribution(cfg)  # what train_fn sees
        return {"val/loss": cfg["lr"] * cfg["layers"] + cfg["dropout"]}

    result = nbwandb.sweep(config, train, count=5, seed=3)
    runs = read_all(isolated)
    assert len(runs) == len(result.trials) == 5
    assert all(t.state == "complete" for t in result.trials)
    for run in runs:
        _check_in_distribution(run.config)  # what the run recorded
        assert run.summary["val/loss"] == pytest.approx(
            run.config["lr"] * run.config["layers"] + run.config["dropout"]
        )
    assert len({r.config["lr"] for r in runs}) == 5  # really sampled, not one point repeated
    assert result.best_value == min(r.summary["val/loss"] for r in runs)


def test_normal_samples_follow_mu_and_sigma(isolated: Path) -> None:
    import optuna

    from nbwandb.sweeps.optuna_backend import sample_config
    from nbwandb.sweeps.spec import parse_sweep_config

    spec = parse_sweep_config(
        {
            "method": "random",
            "metric": MINIMIZE,
            "parameters": {
                "z": {"distribution": "normal", "mu": 5.0, "sigma": 2.0},
                "w": {"distribution": "log_uniform", "min": -2, "max": 1},
            },
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    draws = [sample_config(study.ask(), spec) for _ in range(2000)]
    zs = [d["z"] for d in draws]
    mean = sum(zs) / len(zs)
    std = (sum((z - mean) ** 2 for z in zs) / len(zs)) ** 0.5
    assert abs(mean - 5.0) < 0.2 and abs(std - 2.0) < 0.2
    assert all(math.exp(-2) <= d["w"] <= math.exp(1) for d in draws)


def test_hyperband_prunes_bad_trials_and_stops_their_runs(isolated: Path) -> None:
    config = {
        "method": "random",
        "metric": MINIMIZE,
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
        "early_terminate": {"type": "hyperband", "min_iter": 1, "max_iter": 9, "eta": 3},
    }
    steps_run: dict[float, int] = {}

    def train(cfg: dict[str, Any]) -> None:
        with nbwandb.init(project="hb") as run:
            for step in range(9):
                steps_run[cfg["x"]] = step + 1
                run.log({"loss": cfg["x"] + 0.01 * (9 - step)}, step=step, prefix="val")

    result = nbwandb.sweep(config, train, count=12, seed=0, study_name="hb-test")
    pruned = [t for t in result.trials if t.state == "pruned"]
    complete = [t for t in result.trials if t.state == "complete"]
    assert pruned and complete and len(result.trials) == 12
    for trial in pruned:
        run = read_run(trial.run_dir)
        assert run.state == "finished"  # stopped early, not crashed
        assert len(run.history) == steps_run[trial.params["x"]]  # nothing logged after the stop
        # its value is the last one it reported, read back from its run (issue 29, item 5)
        assert trial.value == run.history[-1]["val/loss"]
    assert min(steps_run[t.params["x"]] for t in pruned) < 9  # some stopped well before the end
    for trial in complete:
        assert len(read_run(trial.run_dir).history) == 9
    assert result.best_value == min(t.value for t in complete)


def test_missing_metric_stops_the_sweep_with_the_keys_found(isolated: Path) -> None:
    calls: list[dict] = []

    def train(cfg: dict[str, Any]) -> None:
        calls.append(cfg)
        with nbwandb.init() as run:
            run.log({"loss": 1.0}, prefix="val")

    config = {
        "method": "grid",
        "metric": {"name": "val/acc", "goal": "maximize"},
        "parameters": {"a": {"values": [1, 2, 3]}},
    }
    with pytest.raises(NbwandbError, match=r"metric 'val/acc' was not found.*'val/loss'"):
        nbwandb.sweep(config, train)
    assert len(calls) == 1  # a config mistake stops at the first trial
    (run,) = read_all(isolated)
    assert run.summary["val/loss"] == 1.0  # what was logged is kept


def test_failing_trials_are_recorded_and_caught_ones_let_the_sweep_go_on(isolated: Path) -> None:
    def train(cfg: dict[str, Any]) -> float:
        run = nbwandb.init()
        run.log({"seen": cfg["a"]})
        if cfg["a"] == 2:
            raise ValueError("diverged")
        return float("nan") if cfg["a"] == 3 else float(cfg["a"])

    config = {"method": "grid", "metric": MINIMIZE, "parameters": {"a": {"values": [1, 2, 3]}}}
    seen: list[tuple[int, str]] = []
    result = nbwandb.sweep(
        config,
        train,
        catch=(ValueError,),
        callback=lambda res, trial: seen.append((len(res.trials), trial.state)),
    )
    states = {t.params["a"]: t.state for t in result.trials}
    assert states == {1: "complete", 2: "failed", 3: "failed"}
    assert "ValueError: diverged" in next(t.error for t in result.trials if t.params["a"] == 2)
    assert sorted(state for _, state in seen) == ["complete", "failed", "failed"]
    assert [n for n, _ in seen] == [1, 2, 3]
    by_a = {r.config["a"]: r for r in read_all(isolated)}
    assert by_a[2].exit_code == 1 and by_a[1].exit_code == 0
    assert result.best_params == {"a": 1}
    # Not caught: the error reaches the caller after its run is finished as failed.
    with pytest.raises(ValueError, match="diverged"):
        nbwandb.sweep({**config, "parameters": {"a": {"values": [2]}}}, train)


def test_target_stops_the_sweep_early(isolated: Path) -> None:
    config = {
        "method": "grid",
        "metric": {"name": "v", "goal": "maximize", "target": 2},
        "parameters": {"v": {"values": [1, 2, 3, 4]}},
    }
    result = nbwandb.sweep(config, lambda cfg: cfg["v"], seed=0)
    assert len(result.trials) < 4
    assert result.best_value >= 2
    assert len(run_dirs(isolated)) == len(result.trials)


def test_result_without_completed_trials_says_why() -> None:
    from nbwandb.sweeps import SweepResult, TrialRecord

    result = SweepResult(
        name="s",
        backend="optuna",
        method="grid",
        metric="m",
        goal="minimize",
        trials=[TrialRecord(0, "failed", {"a": 1}, error="ValueError: x")],
    )
    with pytest.raises(NbwandbError, match=r"no completed trial.*failed"):
        _ = result.best_params
    assert "1 failed" in repr(result)


def test_a_sweep_inside_a_trial_is_refused(isolated: Path) -> None:
    inner = {"method": "grid", "metric": MINIMIZE, "parameters": {"b": {"values": [1]}}}

    def outer_train(cfg: dict[str, Any]) -> float:
        nbwandb.sweep(inner, lambda c: 0.0)
        return 0.0

    outer = {"method": "grid", "metric": MINIMIZE, "parameters": {"a": {"values": [1]}}}
    with pytest.raises(NbwandbError, match="already running in this process"):
        nbwandb.sweep(outer, outer_train)
    assert run_dirs(isolated) == []  # neither sweep left a run behind
