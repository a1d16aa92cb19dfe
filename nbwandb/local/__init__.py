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

from typing import TYPE_CHECKING

from nbwandb._lazy import lazy_getattr

# Imported on first use: ``finish`` reads the run file's last record through
# ``nbwandb.wandb_compat.logfile``, and importing this package whole (reader, runs table, sync,
# HTML tables) would add its import time to the first ``finish`` in a process.
_LAZY = {
    "LocalRun": "nbwandb.local.reader",
    "follow_run": "nbwandb.local.reader",
    "iter_records": "nbwandb.local.reader",
    "read_run": "nbwandb.local.reader",
    "resolve_run_file": "nbwandb.local.reader",
    "RunsTable": "nbwandb.local.runs_table",
    "list_runs": "nbwandb.local.runs_table",
    "SyncResult": "nbwandb.local.sync",
    "sync_runs": "nbwandb.local.sync",
}

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

if TYPE_CHECKING:  # pragma: no cover
    from nbwandb.local.reader import LocalRun, follow_run, iter_records, read_run, resolve_run_file
    from nbwandb.local.runs_table import RunsTable, list_runs
    from nbwandb.local.sync import SyncResult, sync_runs


__getattr__ = lazy_getattr(__name__, {k: (v, k) for k, v in _LAZY.items()}, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
