"""The torch checkpoint helper, CheckpointPolicy as a library exposes it, and download progress."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

import nbwandb
from nbwandb.artifacts import (
    INPUTS_KEY,
    ArtifactInputError,
    CheckpointPolicy,
    OfflineArtifactError,
    use_inputs,
)
from nbwandb.artifacts.run_artifacts import _download_with_progress
from nbwandb.checkpoints import load_torch, save_torch
from nbwandb.errors import NbwandbError
from nbwandb.local import read_run


def make(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return model, torch.optim.Adam(model.parameters(), lr=0.05)


def fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        x = torch.randn(16, 5, generator=gen)
        loss = (model(x).squeeze(1) - x[:, 0] * 2).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def test_save_and_load_torch_round_trip_resumes_training_exactly(tmp_path):
    model, optimizer = make(0)
    fit(model, optimizer, steps=5, seed=1)
    path = save_torch(
        tmp_path / "ckpts" / "last.pt", model, optimizer, step=5, epoch=2, best_loss=0.25
    )
    assert path.is_file() and not list(path.parent.glob(".*partial"))

    restored, restored_opt = make(99)  # different weights, fresh optimizer
    loaded = load_torch(path, restored, restored_opt)
    assert loaded.step == 5 and loaded.extra == {"epoch": 2, "best_loss": 0.25}
    for a, b in zip(model.state_dict().values(), restored.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # The optimizer's moments came back too: both continue identically.
    assert fit(model, optimizer, steps=3, seed=7) == fit(restored, restored_opt, steps=3, seed=7)


def test_load_torch_errors_are_clear(tmp_path):
    model, optimizer = make(0)
    with pytest.raises(NbwandbError, match=r"checkpoint 'nope.pt' does not exist"):
        load_torch("nope.pt", model)
    torch.save({"weights": model.state_dict()}, tmp_path / "plain.pt")
    with pytest.raises(NbwandbError, match=r"not written by nbwandb.checkpoints.save_torch"):
        load_torch(tmp_path / "plain.pt", model)
    save_torch(tmp_path / "small.pt", torch.nn.Linear(2, 2))
    with pytest.raises(NbwandbError, match="does not fit this model"):
        load_torch(tmp_path / "small.pt", model)
    save_torch(tmp_path / "no_opt.pt", model)
    with pytest.raises(NbwandbError, match="holds no optimizer state"):
        load_torch(tmp_path / "no_opt.pt", model, optimizer)
    with pytest.raises(TypeError, match=r"pass a torch.nn.Module"):
        save_torch(tmp_path / "x.pt", {"w": 1})
    with pytest.raises(ValueError, match=r"step=-2 is not accepted"):
        save_torch(tmp_path / "x.pt", model, step=-2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": 0}, r"every=0 is not accepted"),
        ({"every": 1.5}, r"every=1.5 is not accepted"),
        ({"mode": "lowest"}, r"mode='lowest' is not accepted"),
        ({"monitor": ""}, r"monitor='' is not accepted"),
        ({"enabled": "yes"}, r"enabled='yes'"),
    ],
)
def test_checkpoint_policy_checks_its_options(kwargs, message):
    with pytest.raises((ArtifactInputError, TypeError), match=message):
        CheckpointPolicy(**kwargs)


@dataclass
class TinyTrainer:
    """How a library uses nbwandb: users pick checkpointing and inputs, the library logs."""

    checkpoints: CheckpointPolicy = field(default_factory=CheckpointPolicy)
    inputs: tuple[str, ...] = ()
    use_wandb: bool = True

    def fit(self, epochs: int, out: Path) -> tuple[nbwandb.Run | nbwandb.NoOpRun, list]:
        results = []
        with nbwandb.init(project="lib", use_wandb=self.use_wandb, quiet=True) as run:
            for inp in use_inputs(run, self.inputs):
                assert inp.path is not None and inp.path.exists()
            model, optimizer = make(0)
            for epoch in range(epochs):
                loss = fit(model, optimizer, steps=2, seed=epoch)
                run.log({"loss": loss}, step=epoch, prefix="val")
                save_torch(out / "model.pt", model, optimizer, step=epoch)
                results.append(self.checkpoints.log(run, out, step=epoch))
        return run, results


def test_a_library_exposes_checkpoint_and_input_options(tmp_path):
    np.save(tmp_path / "train.npy", np.arange(10))
    trainer = TinyTrainer(CheckpointPolicy(every=2, monitor="val/loss"), inputs=("train.npy",))
    run, results = trainer.fit(epochs=5, out=tmp_path / "out")
    local = read_run(run.run_dir)
    models = [a for a in local.artifacts if a["type"] == "model"]
    assert [a["metadata"]["step"] for a in models] == [r.step for r in results if r.logged]
    assert {0, 2, 4} <= {a["metadata"]["step"] for a in models}  # every 2 epochs, plus new bests
    losses = {r.step: r.metadata["val/loss"] for r in results}
    best = [a for a in models if "best" in a["aliases"]][-1]
    logged_losses = [losses[a["metadata"]["step"]] for a in models]
    assert best["metadata"]["val/loss"] == min(logged_losses)
    (data,) = [a for a in local.artifacts if a["type"] == "dataset"]
    assert data["name"] == "train.npy" and data["metadata"]["role"] == "input"
    assert local.config[INPUTS_KEY][0]["digest"] == data["digest"]


def test_a_disabled_policy_or_run_logs_nothing(tmp_path):
    run, results = TinyTrainer(CheckpointPolicy(enabled=False)).fit(epochs=2, out=tmp_path / "out")
    assert [r.logged for r in results] == [False, False] and "disabled" in results[0].reason
    assert read_run(run.run_dir).artifacts == []
    noop, results = TinyTrainer(use_wandb=False, inputs=("missing-but-unused",)).fit(
        epochs=1, out=tmp_path / "o2"
    )
    assert noop.run_dir is None and not results[0].logged and "does not log" in results[0].reason


def test_use_inputs_checks_every_reference_before_recording_any(tmp_path):
    (tmp_path / "a.csv").write_text("a\n")
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(OfflineArtifactError, match="team/proj/b:v1"):
            use_inputs(run, ["a.csv", "team/proj/b:v1"])
        with pytest.raises(ArtifactInputError, match="malformed"):
            use_inputs(run, ["a.csv", "x:"])
    assert read_run(run.run_dir).artifacts == []


class SlowArtifact:
    """A stand-in for a remote wandb Artifact: its download writes files into root bit by bit."""

    def __init__(self, size: int, fail: bool = False) -> None:
        self.name = "weights:v0"
        self.size = size
        self.fail = fail
        self.calls: list[str] = []

    def download(self, root: str | None = None) -> str:
        self.calls.append(threading.current_thread().name)
        Path(root).mkdir(parents=True, exist_ok=True)
        for i in range(4):
            (Path(root) / f"part{i}").write_bytes(b"x" * (self.size // 4))
            time.sleep(0.05)
            if self.fail:
                raise ConnectionError("connection reset")
        return str(root)


def test_download_progress_bar_follows_the_bytes(tmp_path, capsys):
    art = SlowArtifact(4000)
    path = _download_with_progress(art, tmp_path / "w", progress=True, poll_s=0.01)
    assert path == tmp_path / "w" and sum(p.stat().st_size for p in path.iterdir()) == 4000
    assert art.calls == ["nbwandb-download"]
    err = capsys.readouterr().err
    assert "download weights:v0" in err and "4.00k" in err
    small = SlowArtifact(400)
    _download_with_progress(small, tmp_path / "s", progress=None)  # small: no bar, no thread
    assert small.calls == [threading.current_thread().name] and capsys.readouterr().err == ""
    with pytest.raises(NbwandbError, match=r"downloading 'weights:v0' failed: connection reset"):
        _download_with_progress(
            SlowArtifact(400, fail=True), tmp_path / "f", progress=True, poll_s=0.01
        )


class RemoteStandIn(SlowArtifact):
    """What ``wandb_run.use_artifact("team/proj/weights:v0")`` returns online (no server here)."""

    type = "model"
    digest = "0123456789abcdef0123456789abcdef"


def test_online_use_artifact_branch_downloads_and_records_the_reference(tmp_path, monkeypatch):
    # A narrow check of nbwandb's online branch only: wandb's server side cannot run here, so
    # the real offline run is relabelled online and wandb's use_artifact answers with a stand-in.
    used = []
    with nbwandb.init(project="p", quiet=True) as run:
        monkeypatch.setattr(run, "mode", "online")
        monkeypatch.setattr(
            run.wandb_run,
            "use_artifact",
            lambda name, type=None: used.append((name, type)) or RemoteStandIn(400),
        )
        result = run.use_artifact(" team/proj/weights:v0 ", root=tmp_path / "w", type="model")
        monkeypatch.setattr(run, "mode", "offline")
    assert used == [("team/proj/weights:v0", "model")]
    assert result.path == tmp_path / "w" and len(list(result.path.iterdir())) == 4
    assert (result.name, result.ref, result.logged) == ("weights:v0", "team/proj/weights:v0", True)
    (record,) = read_run(run).config[INPUTS_KEY]
    assert record == {
        "name": "weights:v0",
        "type": "model",
        "digest": RemoteStandIn.digest,
        "path": str(tmp_path / "w"),
        "ref": "team/proj/weights:v0",
        "mode": "online",
    }
