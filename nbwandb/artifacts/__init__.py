"""Artifacts: model checkpoints out, datasets in, downloads without a run.

``log_checkpoint`` names checkpoints ``model-{run.id}``, always moves ``latest``,
moves ``best`` when a monitored metric improves, logs only every N steps on
request and skips a checkpoint whose files did not change (same digest).
``log_dataset``/``use_artifact`` mark a run's inputs; offline (where wandb refuses
``use_artifact``) the local input is logged as an artifact with
``metadata["role"] == "input"`` and listed in the run's config under
``_nbwandb_inputs``, both of which ``wandb sync`` uploads.

>>> run = nbwandb.init(project="demo", mode="offline", quiet=True)
>>> _ = open("ckpt.pt", "wb").write(b"weights")
>>> run.log({"loss": 0.31}, step=3, prefix="val")
>>> run.log_checkpoint("ckpt.pt", step=3, monitor="val/loss")
CheckpointResult(name='model-...', type='model', aliases=('latest', 'best'), digest='...', logged=True, ...)
>>> run.finish()

Modules: ``run_artifacts`` (what a run logs and uses), ``refs`` (names, types,
aliases, references), ``digest`` (local files and their W&B digest) and
``checkpoints`` (``save_torch``/``load_torch``, also importable as
``nbwandb.checkpoints``).
"""

from __future__ import annotations

from nbwandb.artifacts.checkpoints import LoadedCheckpoint, load_torch, save_torch
from nbwandb.artifacts.digest import LocalFiles, local_files
from nbwandb.artifacts.refs import ArtifactInputError, ArtifactRef, parse_ref
from nbwandb.artifacts.run_artifacts import (
    INPUTS_KEY,
    CheckpointPolicy,
    CheckpointResult,
    InputResult,
    OfflineArtifactError,
    download,
    log_checkpoint,
    log_dataset,
    use_artifact,
    use_inputs,
)

__all__ = [
    "INPUTS_KEY",
    "ArtifactInputError",
    "ArtifactRef",
    "CheckpointPolicy",
    "CheckpointResult",
    "InputResult",
    "LoadedCheckpoint",
    "LocalFiles",
    "OfflineArtifactError",
    "download",
    "load_torch",
    "local_files",
    "log_checkpoint",
    "log_dataset",
    "parse_ref",
    "save_torch",
    "use_artifact",
    "use_inputs",
]
