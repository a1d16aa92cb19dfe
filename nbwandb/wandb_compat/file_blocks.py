"""Getting wandb-core to write its buffered records to the run file, where no setting does.

wandb-core writes the ``.wandb`` file through a LevelDB-log writer in blocks of 32 KiB.
From 0.29 the setting ``x_transaction_log_flush_interval`` (capability
``file_flush_interval``) makes it write a partial block on a timer. wandb 0.28.1 has no
such timer: a block reaches the disk only when it is full or the run finishes. A process
killed before that leaves a file with its 7-byte header alone: no run record (so no
project, name or config), no rows, nothing to resume. Measured on 0.28.1: a run of ten
rows, flushed by nbwandb and killed 20 s later, left 7 bytes.

So where the setting is missing, ``push_block`` sends one record of a full block: an
empty telemetry record (wandb-core merges nothing from it) whose ``uuid`` is 32 KiB of
padding. It fills the block in wandb-core's buffer, which is then written with every
record before it. Its own tail waits in the next block; a crash cuts it, which readers
take as a run file's usual torn end. The cost: up to 32 KiB of file per push, so a run
pushes only when something was logged since its last push: at ``flush()``, and once its
writer has had no row for half a second (rows that keep coming fill blocks themselves).

>>> import nbwandb
>>> run = nbwandb.init(project="demo", quiet=True)
>>> run.log({"loss": 0.5}); run.flush()      # pushes here where the setting is missing
True
>>> run.finish()
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from nbwandb.wandb_compat.registry import available, capability

BLOCK_BYTES = 32 * 1024  # LevelDB-log block size of wandb-core's writer
PADDING = "0" * BLOCK_BYTES  # > a block minus a chunk header: the block always fills
WRITE_WAIT_S = 2.0  # how long push_block waits to see the block on disk


@capability(
    "file_block_push",
    needs="run._interface._make_record/_publish, Record.uuid, wandb.proto's TelemetryRecord",
    fallback="none for a wandb without file_flush_interval: records stay in wandb-core's "
    "32 KiB buffer until the block fills or the run finishes (a crash loses them)",
)
def _has_block_push() -> bool:
    from wandb.proto import wandb_internal_pb2, wandb_telemetry_pb2
    from wandb.sdk.interface.interface_shared import InterfaceShared

    return (
        "uuid" in wandb_internal_pb2.Record.DESCRIPTOR.fields_by_name  # type: ignore[attr-defined]
        and hasattr(wandb_telemetry_pb2, "TelemetryRecord")
        and callable(getattr(InterfaceShared, "_make_record", None))
        and callable(getattr(InterfaceShared, "_publish", None))
    )


def needs_push() -> bool:
    """Whether a flush must push a block: no flush interval setting, and the push works."""
    return not available("file_flush_interval") and available("file_block_push")


def push_block(wandb_run: Any, run_file: Path | None, *, wait: float = WRITE_WAIT_S) -> bool:
    """Make wandb-core write every record it has taken so far; True once the file grew.

    Send it after the rows are in wandb-core's socket. Waits up to ``wait`` seconds for
    the file to grow (0: do not wait); False where nothing was seen or nothing was sent.
    """
    from wandb.proto import wandb_telemetry_pb2

    interface = getattr(wandb_run, "_interface", None)
    if interface is None:
        return False
    before = _size(run_file)
    telemetry = wandb_telemetry_pb2.TelemetryRecord()  # type: ignore[attr-defined]  # generated
    record = interface._make_record(telemetry=telemetry)
    record.uuid = PADDING
    interface._publish(record)
    if run_file is None or wait <= 0:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _size(run_file) > before:
            return True
        time.sleep(0.01)
    return False


def _size(path: Path | None) -> int:
    try:
        return os.path.getsize(path) if path is not None else 0
    except OSError:  # not created yet
        return 0
