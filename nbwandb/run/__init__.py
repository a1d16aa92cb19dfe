"""The run: the handle users hold (``handle``: ``RunHandle``; ``run``: ``Run``, ``NoOpRun``;
``distributed``: ``FollowerRun``, ``DistributedRun``), the background writer (``writer``), the one
active run of the process (``session``), wandb-core's start in the background (``startup``),
finishing (``finish``: in the background, at exit, before the next run, after each cell;
``recovery``: a broken wandb-core) and what the run knows of its upload (``upload_state``,
``upload_outcome``).

``Run`` and ``NoOpRun`` are importable from here, loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbwandb._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from nbwandb.run.run import NoOpRun, Run

__all__ = ["NoOpRun", "Run"]

__getattr__ = lazy_getattr(
    __name__,
    {"Run": ("nbwandb.run.run", "Run"), "NoOpRun": ("nbwandb.run.run", "NoOpRun")},
    globals(),
)
