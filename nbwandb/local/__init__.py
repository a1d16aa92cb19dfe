"""Local W&B runs, read back from their files: ``read_run``, ``list_runs``, ``sync_runs``.

Works on ``wandb/offline-run-*`` folders (and online ``run-*`` folders) without a
server: the ``.wandb`` transaction log is parsed directly (``iter_records`` gives
the raw protobuf records; ``follow_run`` reads on while a run is being written).

>>> from nbwandb.local import read_run, list_runs
>>> run = read_run("wandb/latest-run")       # doctest: +SKIP
>>> run.state, len(run.history)              # doctest: +SKIP
('finished', 50)
>>> print(list_runs("wandb"))                # the runs table   # doctest: +SKIP
"""

from __future__ import annotations

from .reader import LocalRun, follow_run, iter_records, read_run, resolve_run_file
from .runs_table import RunsTable, list_runs
from .sync import SyncResult, sync_runs

__all__ = ["LocalRun", "RunsTable", "SyncResult", "follow_run", "iter_records", "list_runs", "read_run",
           "resolve_run_file", "sync_runs"]
