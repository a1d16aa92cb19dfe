"""Checkpoints and inputs as artifacts: each test logs offline and reads the run file back.

The records are read with nbwandb's reader and cross-checked with ``wandb leet``;
digests are recomputed here from the file bytes, independently of nbwandb.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
import torch
from leet import leet_records, leet_summary

import nbwandb
from nbwandb.artifacts import INPUTS_KEY, ArtifactInputError, CheckpointResult, OfflineArtifactError
from nbwandb.artifacts.digest import local_files
from nbwandb.artifacts.refs import ArtifactRef, parse_ref
from nbwandb.checkpoints import save_torch
from nbwandb.errors import RunFinishedError
from nbwandb.local import read_run


def md5_b64(path: Path) -> str:
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


def artifacts(run, type: str | None = None) -> list[dict]:
    return [a for a in read_run(run).artifacts if type is None or a["type"] == type]


def tiny_model(seed: int = 0) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    return model, torch.optim.Adam(model.parameters(), lr=0.01)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> float:
    x = torch.randn(8, 4)
    loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def test_checkpoints_are_versions_of_model_run_id_with_latest_best_and_metadata(tmp_path):
    val_losses = [0.50, 0.40, 0.45, 0.30, 0.35]
    model, optimizer = tiny_model()
    file_digests = []
    with nbwandb.init(project="p", quiet=True) as run:
        for epoch, val_loss in enumerate(val_losses):
            train_step(model, optimizer)
            run.log({"loss": val_loss, "acc": 1 - val_loss}, step=epoch, prefix="val")
            path = save_torch(tmp_path / "ckpt" / "model.pt", model, optimizer, step=epoch)
            file_digests.append(md5_b64(path))
            result = run.log_checkpoint(
                tmp_path / "ckpt", monitor="val/loss", metadata={"epoch": epoch}
            )
            assert isinstance(result, CheckpointResult) and result.logged
            assert result.best == (epoch in (0, 1, 3))
    records = artifacts(run, "model")
    assert [a["name"] for a in records] == [f"model-{run.id}"] * 5
    assert [a["metadata"]["val/loss"] for a in records] == val_losses
    assert [a["metadata"]["step"] for a in records] == list(range(5))  # the run's step by default
    assert [a["metadata"]["epoch"] for a in records] == list(range(5))
    assert all("latest" in a["aliases"] for a in records)
    best = [a["metadata"]["val/loss"] for a in records if "best" in a["aliases"]]
    assert best == [0.50, 0.40, 0.30]  # best moves only on improvement, and ends at the minimum
    assert [a["manifest"][0]["digest"] for a in records] == file_digests
    assert all(a["manifest"][0]["path"] == "model.pt" for a in records)
    # wandb's independent reader sees the same versions and digests.
    leet = [r["artifact"] for r in leet_records(run.run_dir, "artifact")]
    assert [r["digest"] for r in leet] == [a["digest"] for a in records]
    # In file order, each checkpoint follows the history row of its step (and precedes the next).
    order = [
        ("row", r["history"]["item"]["global_step"])
        if r["type"] == "history"
        else ("ckpt", json.loads(r["artifact"]["metadata"])["step"])
        for r in leet_records(run.run_dir)
        if r["type"] in ("history", "artifact")
    ]
    assert order == [(kind, step) for step in range(5) for kind in ("row", "ckpt")]


def test_nbwandb_digest_is_wandbs_digest_for_nested_folders(tmp_path):
    folder = tmp_path / "export"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden": 8}')
    (folder / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 50)
    (folder / "sub" / "deeper" / "vocab.txt").write_text("a\nb\n")
    with nbwandb.init(project="p", quiet=True) as run:
        result = run.log_checkpoint(folder, name="exported-model", type="model")
    (record,) = artifacts(run)
    assert record["digest"] == result.digest == local_files(folder).digest
    expected = {
        p.relative_to(folder).as_posix(): md5_b64(p) for p in folder.rglob("*") if p.is_file()
    }
    assert {e["path"]: e["digest"] for e in record["manifest"]} == expected
    assert record["name"] == "exported-model" and record["aliases"] == ["latest"]


def test_an_unchanged_checkpoint_is_not_logged_again(tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    model, optimizer = tiny_model()
    with nbwandb.init(project="p", quiet=True) as run:
        save_torch(ckpt, model, optimizer, step=1)
        first = run.log_checkpoint(ckpt, step=1)
        save_torch(ckpt, model, optimizer, step=1)  # same state, written again: same bytes
        again = run.log_checkpoint(ckpt, step=2)
        train_step(model, optimizer)
        save_torch(ckpt, model, optimizer, step=3)
        changed = run.log_checkpoint(ckpt, step=3)
    assert first.logged and changed.logged
    assert (
        not again.logged and again.reason.startswith("unchanged") and again.digest == first.digest
    )
    assert [a["digest"] for a in artifacts(run)] == [first.digest, changed.digest]


def test_every_n_steps_and_a_new_best_in_between(tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    val_acc = {0: 0.1, 1: 0.2, 2: 0.15, 3: 0.1, 4: 0.3, 5: 0.2, 6: 0.25}
    with nbwandb.init(project="p", quiet=True) as run:
        results = {}
        for step, acc in val_acc.items():
            ckpt.write_bytes(f"weights at {step}".encode())
            run.log({"val/acc": acc}, step=step)
            results[step] = run.log_checkpoint(
                ckpt, every=3, step=step, monitor="val/acc", mode="max"
            )
    logged = [s for s, r in results.items() if r.logged]
    # 0: the first; 1: a new best; 4: due (3 past 1); 2, 3, 5, 6: neither due nor a new best
    assert logged == [0, 1, 4]
    assert "not due" in results[2].reason and "every=3" in results[2].reason
    records = artifacts(run)
    assert [a["metadata"]["step"] for a in records] == [0, 1, 4]
    assert [a["metadata"]["val/acc"] for a in records] == [0.1, 0.2, 0.3]
    assert [("best" in a["aliases"]) for a in records] == [True, True, True]


def test_periodic_checkpoint_without_monitor(tmp_path):
    ckpt = tmp_path / "ckpt.bin"
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(0, 10):
            ckpt.write_bytes(bytes([step]) * 10)
            run.log_checkpoint(ckpt, every=4, step=step, aliases=[f"step-{step}"])
    records = artifacts(run)
    assert [a["metadata"]["step"] for a in records] == [0, 4, 8]
    assert [sorted(a["aliases"]) for a in records] == [["latest", f"step-{s}"] for s in (0, 4, 8)]


def test_explicit_value_wins_and_monitor_needs_a_value(tmp_path):
    ckpt = tmp_path / "c.bin"
    ckpt.write_bytes(b"x")
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(
            ArtifactInputError, match=r"monitor='val/f1' has no logged value.*value="
        ):
            run.log_checkpoint(ckpt, step=0, monitor="val/f1", mode="max")
        run.log({"val/f1": 0.2}, step=0)
        result = run.log_checkpoint(
            ckpt, step=0, monitor="val/f1", mode="max", value=torch.tensor(0.7)
        )
        ckpt.write_bytes(b"y")
        with pytest.warns(UserWarning, match="nan"):
            run.log({"val/f1": float("nan")}, step=1)
        diverged = run.log_checkpoint(ckpt, monitor="val/f1", mode="max")
    assert result.metadata["val/f1"] == pytest.approx(0.7)
    assert diverged.logged and not diverged.best and diverged.aliases == ("latest",)
    first, second = artifacts(run)  # the failed call wrote nothing
    assert first["metadata"]["val/f1"] == pytest.approx(0.7) and "best" in first["aliases"]
    assert second["metadata"]["val/f1"] == "nan" and second["metadata"]["step"] == 1


def test_dataset_input_offline_is_an_artifact_and_in_the_config(tmp_path):
    data = tmp_path / "flowers"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n")
    (data / "test.csv").write_text("x,y\n3,4\n")
    with nbwandb.init(project="p", quiet=True) as run:
        result = run.log_dataset(data, "flowers", metadata={"rows": 2})
        again = run.log_dataset(data, "flowers")
    assert result.logged and not again.logged and "already an input" in again.reason
    (record,) = artifacts(run)
    assert record["name"] == "flowers" and record["type"] == "dataset"
    assert record["metadata"] == {"role": "input", "source_path": str(data.resolve()), "rows": 2}
    assert record["digest"] == result.digest == local_files(data).digest
    expected = {
        "name": "flowers",
        "type": "dataset",
        "digest": result.digest,
        "path": str(data.resolve()),
        "ref": None,
        "mode": "offline",
    }
    assert read_run(run.run_dir).config[INPUTS_KEY] == [expected]
    assert leet_summary(run.run_dir)["config"][INPUTS_KEY] == [
        expected
    ]  # what `wandb sync` uploads


def test_use_artifact_offline_with_a_local_path_records_it(tmp_path):
    (tmp_path / "labels.npy").write_bytes(b"\x93NUMPY fake")
    with nbwandb.init(project="p", quiet=True) as run:
        result = run.use_artifact("labels.npy")  # relative to the cwd, as users type it
    assert result.path == (tmp_path / "labels.npy").resolve() and result.name == "labels.npy"
    (record,) = artifacts(run)
    assert record["metadata"]["role"] == "input" and record["type"] == "dataset"
    assert read_run(run.run_dir).config[INPUTS_KEY][0]["name"] == "labels.npy"


def test_use_artifact_offline_with_a_remote_reference_says_what_to_do(tmp_path):
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(OfflineArtifactError) as info:
            run.use_artifact("my-team/vision/flowers:v3")
        run.log({"loss": 1.0}, step=0)
    message = str(info.value)
    assert (
        "'my-team/vision/flowers:v3'" in message and "online" in message and "local path" in message
    )
    local = read_run(run.run_dir)
    assert local.artifacts == [] and INPUTS_KEY not in local.config
    assert local.history[0]["loss"] == 1.0  # what was logged is kept


def test_download_without_a_run(tmp_path):
    (tmp_path / "w.pt").write_bytes(b"w")
    assert nbwandb.download("w.pt") == Path("w.pt")  # a local path works offline
    with pytest.raises(
        OfflineArtifactError, match=r"download\('team/proj/model-abc:best'\).*online"
    ):
        nbwandb.download("team/proj/model-abc:best")
    with pytest.raises(ArtifactInputError, match="malformed"):
        nbwandb.download("a/b/c/d:latest")


BAD_CHECKPOINT_CALLS = [
    ({"path": "missing.pt"}, r"path 'missing.pt' does not exist"),
    ({"path": "empty_dir"}, r"folder 'empty_dir' holds no files"),
    ({"name": "model/best"}, r"artifact name 'model/best' is not accepted: use 1-128 letters"),
    ({"name": "my model"}, r"artifact name 'my model' is not accepted"),
    ({"name": "m" * 129}, r"is not accepted: use 1-128"),
    ({"type": "wandb-model"}, r"'wandb-' prefix is reserved"),
    ({"aliases": ["v3"]}, r"alias 'v3' is not accepted: 'v<N>' is reserved"),
    ({"aliases": ["a:b"]}, r"alias 'a:b' is not accepted"),
    ({"aliases": ["latest"]}, r"'latest' is managed by log_checkpoint"),
    ({"every": 0}, r"every=0 is not accepted"),
    ({"mode": "mean", "monitor": "loss"}, r"mode='mean' is not accepted; use 'min' or 'max'"),
    ({"step": -1}, r"step=-1 is not accepted"),
    ({"metadata": {"opt": object()}}, r"metadata key 'opt'"),
    ({"metadata": ["epoch", 3]}, r"metadata of type list is not accepted"),
]


def test_bad_checkpoint_input_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "ok.pt").write_bytes(b"ok")
    with nbwandb.init(
        project="p", quiet=True
    ) as run:  # one run for every case: starting runs is slow
        run.log({"loss": 0.5}, step=0)
        for kwargs, message in BAD_CHECKPOINT_CALLS:
            kwargs = {"path": "ok.pt", **kwargs}
            with pytest.raises(ArtifactInputError, match=message):
                run.log_checkpoint(kwargs.pop("path"), **kwargs)
        run.log({"loss": 0.25}, step=1)
    local = read_run(run.run_dir)
    assert local.artifacts == [] and [r["loss"] for r in local.history] == [0.5, 0.25]


MALFORMED_REFS = [
    "a/b/c/d:latest",
    "team//flowers:v1",
    "flowers:",
    "flowers:a:b",
    "team/pro ject/flowers",
    "team/proj/flo wers:v1",
    "",
    "   ",
    "/flowers",
]


@pytest.mark.parametrize("ref", MALFORMED_REFS)
def test_malformed_references_are_refused(ref):
    with pytest.raises(
        ArtifactInputError, match=rf"artifact reference {re.escape(repr(ref))} is malformed"
    ):
        parse_ref(ref)


def test_malformed_references_in_a_run_write_nothing():
    with nbwandb.init(project="p", quiet=True) as run:
        for ref in MALFORMED_REFS:
            with pytest.raises(ArtifactInputError, match="malformed"):
                run.use_artifact(ref)
        with pytest.raises(ArtifactInputError, match="is a int"):
            run.use_artifact(3)
    local = read_run(run.run_dir)
    assert local.artifacts == [] and INPUTS_KEY not in local.config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flowers", ArtifactRef(None, None, "flowers", None)),
        ("flowers:v3", ArtifactRef(None, None, "flowers", "v3")),
        ("vision/flowers:best", ArtifactRef(None, "vision", "flowers", "best")),
        (
            "my-team/vision/model-abc123:latest",
            ArtifactRef("my-team", "vision", "model-abc123", "latest"),
        ),
        (
            " wandb-registry-model/resnet.v2:prod ",
            ArtifactRef(None, "wandb-registry-model", "resnet.v2", "prod"),
        ),
    ],
)
def test_well_formed_references_parse(text, expected):
    assert parse_ref(text) == expected
    assert str(parse_ref(text)) == text.strip()


def test_bad_dataset_calls(tmp_path):
    (tmp_path / "d.csv").write_text("a\n")
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(ArtifactInputError, match=r"dataset name 'my/data' is not accepted"):
            run.log_dataset("d.csv", "my/data")
        with pytest.raises(ArtifactInputError, match=r"path 'nope.csv' does not exist"):
            run.log_dataset("nope.csv", "data")
        with pytest.raises(ArtifactInputError, match=r"artifact type 'a:b' is not accepted"):
            run.log_dataset("d.csv", "data", type="a:b")
    assert read_run(run.run_dir).artifacts == []


def test_finished_and_disabled_runs(tmp_path):
    (tmp_path / "c.pt").write_bytes(b"c")
    run = nbwandb.init(project="p", quiet=True)
    run.finish()
    with pytest.raises(RunFinishedError, match="has finished"):
        run.log_checkpoint("c.pt")
    noop = nbwandb.init(project="p", use_wandb=False, quiet=True)
    assert (
        noop.log_checkpoint("c.pt", monitor="val/loss") is None
    )  # a no-op, like every NoOpRun call
    with pytest.raises(TypeError):
        noop.log_checkpoint("c.pt", bogus=1)  # but a wrong call still fails the same way
