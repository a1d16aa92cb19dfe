"""What an offline sweep costs per trial, against the loop users write by hand.

The same grid of N points, each trial logging 20 steps of 3 metrics:

  (a) a hand-written loop: ``wandb.init(config=..., group=...)`` + ``wandb.log`` + ``wandb.finish``
  (b) ``nbwandb.sweep(config, train)`` on Optuna (one offline run per trial, read-back objective)
  (c) the same Optuna study with no runs at all (the sampler's own cost)

Prints seconds per trial and the ratio of (b) to (a), then checks that (b) wrote N runs.

    .venv/bin/python benchmarks/bench_sweeps.py [--points 12]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WANDB_SILENT", "true")
os.environ["WANDB_MODE"] = "offline"

STEPS = 20


def loss_curve(lr: float, width: int, step: int) -> float:
    return lr * width / (step + 1)


def grid_config(points: int) -> dict:
    lrs = [round(0.01 * (i + 1), 4) for i in range(max(points // 2, 1))]
    return {
        "method": "grid",
        "metric": {"name": "val/loss", "goal": "minimize"},
        "parameters": {"lr": {"values": lrs}, "width": {"values": [1, 2]}},
    }


def hand_written(config: dict, root: Path) -> float:
    import itertools

    import wandb

    params = config["parameters"]
    start = time.perf_counter()
    for lr, width in itertools.product(params["lr"]["values"], params["width"]["values"]):
        run = wandb.init(
            project="bench",
            group="hand",
            config={"lr": lr, "width": width},
            dir=str(root),
            mode="offline",
            reinit="finish_previous",
        )
        for step in range(STEPS):
            run.log({"val/loss": loss_curve(lr, width, step), "train/loss": 1.0, "train/acc": 0.5})
        run.finish()
    return time.perf_counter() - start


def with_nbwandb(config: dict, root: Path) -> tuple[float, int]:
    import nbwandb

    os.environ["WANDB_DIR"] = str(root)

    def train(cfg: dict) -> None:
        with nbwandb.init(project="bench", quiet=True) as run:
            for step in range(STEPS):
                run.log(
                    {"loss": loss_curve(cfg["lr"], cfg["width"], step)}, step=step, prefix="val"
                )
                run.log({"loss": 1.0, "acc": 0.5}, step=step, prefix="train")

    start = time.perf_counter()
    result = nbwandb.sweep(config, train, backend="optuna")
    return time.perf_counter() - start, len(result.trials)


def optuna_only(config: dict) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {k: v["values"] for k, v in config["parameters"].items()}
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(space))

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_categorical("lr", space["lr"])
        width = trial.suggest_categorical("width", space["width"])
        return min(loss_curve(lr, width, s) for s in range(STEPS))

    start = time.perf_counter()
    study.optimize(objective)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=12)
    args = parser.parse_args()
    config = grid_config(args.points)
    n = len(config["parameters"]["lr"]["values"]) * 2
    import wandb  # noqa: F401  (import cost outside every timing)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "a").mkdir()
        (root / "b").mkdir()
        hand_written(grid_config(2), root / "a")  # warm-up: wandb-core starts once
        a = hand_written(config, root / "a")
        b, trials = with_nbwandb(config, root / "b")
        c = optuna_only(config)
        written = len(list((root / "b" / "wandb").glob("offline-run-*")))
    print(f"grid of {n} trials, {STEPS} steps x 3 metrics each (offline)")
    print(f"  (a) hand-written wandb loop : {a / n * 1000:8.1f} ms/trial")
    print(f"  (b) nbwandb.sweep (Optuna)  : {b / n * 1000:8.1f} ms/trial   ratio b/a = {b / a:.2f}")
    print(f"  (c) Optuna alone, no runs   : {c / n * 1000:8.1f} ms/trial")
    print(f"  nbwandb.sweep recorded {trials} trials and wrote {written} runs (expected {n})")


if __name__ == "__main__":
    main()
