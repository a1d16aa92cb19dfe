"""The one seam between nbwandb and wandb: every ``import wandb`` and every private name.

One nbwandb runs on wandb 0.28.1 (Colab's pin) through 0.31. Each wandb internal it
uses is a *capability* (``registry``), checked against the installed wandb, with the
public path that gives the same rows next to it:

- ``loader``: ``import_wandb`` (the lazy import, with the install hint);
- ``settings``: settings only some versions know (the run file's flush interval);
- ``file_blocks``: where that setting is missing (0.28.1), a flush pushes wandb-core's
  buffered 32 KiB block to the run file, so a killed process leaves its records;
- ``setup``: starting wandb-core from a thread, reloading settings after a preload;
- ``service``: is wandb-core alive, its process, closing a dead writer's stream;
- ``batch_publish`` + ``history_frames``: many history rows in one socket write;
- ``run_globals``: ``wandb.run`` waiting for a background start;
- ``starting_step``: a resumed run's ``_step``; ``exit_code``: wandb's exit hooks;
- ``protobufs``: the run file's ``Record`` messages; ``media_list``: a list as one value;
- ``upload_signals``: wandb-core's run messages and debug log (did the upload stop?).

Nothing here imports wandb at import time (``import nbwandb`` stays fast).

>>> from nbwandb.wandb_compat import import_wandb, registry
>>> import_wandb("demo").__name__
'wandb'
>>> all(c.fallback for c in registry.all_capabilities())
True
"""

from __future__ import annotations

from nbwandb.wandb_compat.loader import import_wandb, wandb_version
from nbwandb.wandb_compat.registry import (
    Capability,
    all_capabilities,
    available,
    detected,
    forced_fallback,
)

__all__ = [
    "Capability",
    "all_capabilities",
    "available",
    "detected",
    "forced_fallback",
    "import_wandb",
    "wandb_version",
]
