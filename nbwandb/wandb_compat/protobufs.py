"""wandb's generated protobuf modules: the ``Record`` messages of a ``.wandb`` run file.

There is no public reader of run files, so this capability is required: a wandb
without ``wandb.proto.wandb_internal_pb2`` cannot have its runs read back.

>>> pb = record_module()
>>> pb.Record().WhichOneof("record_type") is None
True
"""

from __future__ import annotations

from typing import Any

from nbwandb.wandb_compat.loader import import_wandb
from nbwandb.wandb_compat.registry import capability


@capability(
    "record_protobufs",
    needs="wandb.proto.wandb_internal_pb2 (Record, HistoryRecord, ...)",
    fallback="none: reading run files needs them (required)",
    required=True,
)
def _has_record_protobufs() -> bool:
    from wandb.proto import wandb_internal_pb2

    return hasattr(wandb_internal_pb2, "Record")


def record_module() -> Any:
    """wandb's generated protobuf module (imports wandb, with a clear error if missing)."""
    import_wandb("reading a .wandb run file")
    from wandb.proto import wandb_internal_pb2

    return wandb_internal_pb2


def is_exit_record(payload: bytes) -> bool:
    """True if ``payload`` is a run's exit record, or a record this wandb cannot parse
    (then nothing should wait on it)."""
    try:
        record = record_module().Record()
        record.ParseFromString(payload)
    except Exception:  # noqa: BLE001 - not a record this wandb knows: do not wait on it
        return True
    return bool(record.WhichOneof("record_type") == "exit")
