"""Local W&B runs, read back from their files: ``read_run``, ``list_runs``, ``sync_runs``.

Works on ``wandb/offline-run-*`` folders (and online ``run-*`` folders) without a
server: the ``.wandb`` transaction log is parsed directly (``iter_records`` gives
the raw protobuf records; ``follow_run`` reads on while a run is being written).

>>> from nbwandb.local import read_run, list_runs
>>> run = read_run(run_dir)                  # or "wandb/latest-run"
>>> run.state, len(run.history)
('finished', 20)
>>> len(list_runs(wandb_dir))                # the runs table of a wandb folder
1
"""

from __future__ import annotations

from .reader import LocalRun, follow_run, iter_records, read_run, resolve_run_file
from .runs_table import RunsTable, list_runs
from .sync import SyncResult, sync_runs

__all__ = [
    "LocalRun",
    "RunsTable",
    "SyncResult",
    "follow_run",
    "iter_records",
    "list_runs",
    "read_run",
    "resolve_run_file",
    "sync_runs",
]
