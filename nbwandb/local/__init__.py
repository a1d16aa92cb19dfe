"""Local W&B runs, read back from their files: ``read_run``, ``list_runs``, ``iter_records``.

Works on ``wandb/offline-run-*`` folders (and online ``run-*`` folders) without a
server: the ``.wandb`` transaction log is parsed directly.

>>> from nbwandb.local import read_run
>>> run = read_run("wandb/latest-run")       # doctest: +SKIP
>>> run.state, len(run.history)              # doctest: +SKIP
('finished', 50)
"""

from __future__ import annotations

from .reader import LocalRun, follow_run, iter_records, read_run, resolve_run_file
from .runs_table import RunsTable, list_runs

__all__ = ["LocalRun", "RunsTable", "follow_run", "iter_records", "list_runs", "read_run", "resolve_run_file"]
