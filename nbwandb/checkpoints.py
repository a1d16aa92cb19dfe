"""``nbwandb.checkpoints``: where ``save_torch``/``load_torch`` are documented; they live in
``nbwandb.artifacts.checkpoints``."""

from __future__ import annotations

from nbwandb.artifacts.checkpoints import FORMAT, LoadedCheckpoint, load_torch, save_torch

__all__ = ["FORMAT", "LoadedCheckpoint", "load_torch", "save_torch"]
