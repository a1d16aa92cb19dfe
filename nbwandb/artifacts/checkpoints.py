"""Saving and loading a torch model, its optimizer and the step in one checkpoint file.

The file is written to a temporary name and renamed into place, so a reader (or an
artifact being staged) never sees half a checkpoint.

>>> import torch
>>> model = torch.nn.Linear(2, 1)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
>>> save_torch("ckpt.pt", model, optimizer, step=120, epoch=3)
PosixPath('ckpt.pt')
>>> loaded = load_torch("ckpt.pt", model, optimizer)
>>> loaded.step, loaded.extra
(120, {'epoch': 3})
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError, require
from nbwandb.values.metrics import check_step

FORMAT = "nbwandb-torch-1"


@dataclass(frozen=True)
class LoadedCheckpoint:
    """What ``load_torch`` restored besides the weights: the step and the extra values."""

    path: Path
    step: int | None
    extra: dict[str, Any] = field(default_factory=dict)


def save_torch(
    path: str | os.PathLike[str],
    model: Any,
    optimizer: Any = None,
    step: int | None = None,
    **extra: Any,
) -> Path:
    """Save ``model`` (and ``optimizer``, ``step``, ``extra`` values) to ``path``; returns the path.

    Raises:
        MissingDependencyError: torch is not installed.
        TypeError: ``model`` (or ``optimizer``) has no ``state_dict``.
    """
    torch = require("torch", purpose="save_torch", extra="torch")

    if not hasattr(model, "state_dict"):
        raise TypeError(
            f"model of type {type(model).__name__} is not accepted; pass a torch.nn.Module"
        )
    if optimizer is not None and not hasattr(optimizer, "state_dict"):
        raise TypeError(
            f"optimizer of type {type(optimizer).__name__} is not accepted; pass a torch optimizer or None"
        )
    if step is not None:
        step = check_step(step)
    target = Path(path)
    if target.is_dir():
        raise NbwandbError(f"path {str(path)!r} is a folder; pass a file name such as 'ckpt.pt'")
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": step,
        "extra": dict(extra),
    }
    partial = target.with_name(f".{target.name}.partial")
    torch.save(payload, partial)
    os.replace(partial, target)
    return target


def load_torch(
    path: str | os.PathLike[str],
    model: Any,
    optimizer: Any = None,
    *,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> LoadedCheckpoint:
    """Load a ``save_torch`` file into ``model`` (and ``optimizer``); returns step and extras.

    ``weights_only=True`` (torch's safe loader) accepts tensors, numbers, strings, lists
    and dicts in ``extra``; pass False only for files you trust.

    Raises:
        MissingDependencyError: torch is not installed.
        NbwandbError: the file is missing or is not a ``save_torch`` checkpoint.
    """
    torch = require("torch", purpose="load_torch", extra="torch")

    source = Path(path)
    if not source.is_file():
        raise NbwandbError(
            f"checkpoint {str(path)!r} does not exist; pass a file written by save_torch"
        )
    try:
        payload = torch.load(source, map_location=map_location, weights_only=weights_only)
    except Exception as exc:
        raise NbwandbError(
            f"checkpoint {str(path)!r} could not be read by torch.load: {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise NbwandbError(
            f"checkpoint {str(path)!r} was not written by nbwandb.checkpoints.save_torch; "
            "load it with torch.load and model.load_state_dict instead"
        )
    try:
        model.load_state_dict(payload["model"])
    except Exception as exc:
        raise NbwandbError(f"checkpoint {str(path)!r} does not fit this model: {exc}") from exc
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise NbwandbError(
                f"checkpoint {str(path)!r} holds no optimizer state; pass optimizer=None"
            )
        optimizer.load_state_dict(payload["optimizer"])
    return LoadedCheckpoint(path=source, step=payload["step"], extra=dict(payload["extra"]))
