"""Several worker processes on one Optuna storage: they split the trials without duplicates."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nbwandb
from nbwandb.local import read_run

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"a": {"values": [1, 2]}, "b": {"values": [10, 20, 30]}},
}

WORKER = """
import json, sys, time
from pathlib import Path
import nbwandb, optuna, wandb  # imported before the barrier, so both start trials together

root, worker, storage = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
config = json.loads(sys.argv[4])
(root / f"ready-{worker}").touch()
deadline = time.time() + 90
while len(list(root.glob("ready-*"))) < 2 and time.time() < deadline:
    time.sleep(0.05)

def train(cfg):
    run = nbwandb.init(project="shared", config={"worker": worker}, quiet=True)
    time.sleep(0.3)  # a trial long enough for the other worker to ask meanwhile
    run.log({"loss": cfg["a"] * cfg["b"]})
    run.finish()

result = nbwandb.sweep(config, train, backend="optuna", storage=storage, study_name="shared-grid")
print(json.dumps({"worker": worker, "seen": len(result.trials)}))
"""


def storage_for(kind: str, root: Path) -> str:
    return f"sqlite:///{root / 'sweep.db'}" if kind == "sqlite" else str(root / "sweep.journal")


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_two_workers_split_a_grid_without_duplicates(isolated: Path, kind: str) -> None:
    storage = storage_for(kind, isolated)
    script = isolated / "worker.py"
    script.write_text(WORKER)
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(isolated), str(i), storage, json.dumps(GRID)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=240) for w in workers]
    for i, (w, (out, err)) in enumerate(zip(workers, outputs, strict=True)):
        assert w.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        assert report["worker"] == str(i) and 1 <= report["seen"] <= 6

    runs = [read_run(d) for d in sorted((isolated / "wandb").glob("offline-run-*"))]
    points = [(r.config["a"], r.config["b"]) for r in runs]
    assert len(points) == 6 and set(points) == set(itertools.product([1, 2], [10, 20, 30]))
    assert {r.config["worker"] for r in runs} == {"0", "1"}  # both workers took a share
    assert {r.group for r in runs} == {"shared-grid"}
    assert all(
        r.state == "finished" and r.summary["loss"] == r.config["a"] * r.config["b"] for r in runs
    )

    # The study itself: six completed trials, one per grid point, whichever worker ran it.
    result = nbwandb.sweep(
        GRID, lambda cfg: 0.0, backend="optuna", storage=storage, study_name="shared-grid"
    )
    assert (
        len(list((isolated / "wandb").glob("offline-run-*"))) == 6
    )  # a finished grid runs nothing more
    assert sorted((t.params["a"], t.params["b"]) for t in result.trials) == sorted(points)
    assert {t.state for t in result.trials} == {"complete"}
    assert {t.run_id for t in result.trials} == {r.id for r in runs}
    assert result.best_params == {"a": 1, "b": 10} and result.best_value == 10


def test_run_cap_limits_the_study_and_a_second_call_resumes(isolated: Path) -> None:
    config = {
        "method": "random",
        "metric": {"name": "loss", "goal": "minimize"},
        "run_cap": 3,
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    storage = str(isolated / "cap.journal")
    first = nbwandb.sweep(config, lambda cfg: cfg["x"], count=2, storage=storage, seed=1)
    assert len(first.trials) == 2 and first.name.startswith("sweep-")  # named after the config
    second = nbwandb.sweep(config, lambda cfg: cfg["x"], count=10, storage=storage, seed=2)
    assert second.name == first.name and len(second.trials) == 3  # the cap counts the whole study
    assert len(list((isolated / "wandb").glob("offline-run-*"))) == 3
    import optuna

    from nbwandb.sweeps.optuna_backend import open_storage

    study = optuna.load_study(study_name=first.name, storage=open_storage(storage))
    assert len(study.trials) == 3  # stopped at the cap, no placeholder trial asked for and skipped


def test_joining_a_study_with_another_config_is_refused(isolated: Path) -> None:
    storage = str(isolated / "s.journal")
    nbwandb.sweep(GRID, lambda cfg: 1.0, storage=storage, study_name="s", count=1)
    other = {**GRID, "parameters": {"a": {"values": [5]}}}
    with pytest.raises(nbwandb.NbwandbError, match="different sweep config"):
        nbwandb.sweep(other, lambda cfg: 1.0, storage=storage, study_name="s")
