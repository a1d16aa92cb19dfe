"""This process's wandb-core service: is it alive, its process, closing a run's stream.

wandb keeps the service connection on its setup object (``_singleton._connection``), the
socket client there (``_client``, with ``_broken_exc`` once the socket failed) and the
process (``_proc._process``, a ``Popen``). Without those: the service is taken as alive
(a dead one then fails ``wandb.init``, which reports it), and there is no process to end.

>>> service_is_dead(import_wandb("demo")), service_process(import_wandb("demo"))  # doctest: +SKIP
(False, <Popen: ...>)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from nbwandb.wandb_compat.registry import available, capability, sets_attribute


@capability(
    "service_process",
    needs="wandb_setup._singleton._connection (._client._broken_exc, ._proc._process)",
    fallback="the service is taken as alive; a stuck or orphaned one is not ended",
)
def _has_service_internals() -> bool:
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib.service import service_connection

    cls = service_connection.ServiceConnection
    return (
        hasattr(wandb_setup, "_singleton")
        and sets_attribute(cls, "_client")
        and sets_attribute(cls, "_proc")
    )


@capability(
    "inform_finish",
    needs="ServiceConnection.inform_finish(run_id) (wandb.setup().ensure_service())",
    fallback="a run stream left open by a dead process is not closed; wandb.init reports it",
)
def _has_inform_finish() -> bool:
    from wandb.sdk.lib.service import service_connection

    return callable(getattr(service_connection.ServiceConnection, "inform_finish", None))


@capability(
    "run_finished_flag",
    needs="wandb_run._is_finished",
    fallback="a stuck finish is not seen: the next init finishes the wandb run again (bounded by its timeout)",
)
def _has_finished_flag() -> bool:
    from wandb.sdk import wandb_run

    return sets_attribute(wandb_run.Run, "_is_finished")


def _connection(wandb: ModuleType) -> Any:
    if not available("service_process"):
        return None
    setup = getattr(getattr(getattr(wandb, "sdk", None), "wandb_setup", None), "_singleton", None)
    return getattr(setup, "_connection", None)


def service_is_dead(wandb: ModuleType) -> bool:
    """True when this process's wandb-core has exited or its socket is broken."""
    conn = _connection(wandb)
    if conn is None:
        return False
    client = getattr(conn, "_client", None)
    if getattr(client, "_broken_exc", None) is not None:
        return True
    proc = service_process(wandb)
    return proc is not None and proc.poll() is not None


def service_process(wandb: ModuleType) -> Any:
    """The ``Popen`` of the wandb-core this process started, or None (none, or not visible)."""
    return getattr(getattr(_connection(wandb), "_proc", None), "_process", None)


def sees_service_process() -> bool:
    """Whether ``service_process`` can tell this process's own wandb-core from others."""
    return available("service_process")


def release_stream(wandb: ModuleType, run_id: str) -> bool:
    """Tell wandb-core that run ``run_id`` is finished (its writer died); False where it cannot."""
    if not available("inform_finish"):
        return False
    wandb.setup().ensure_service().inform_finish(run_id)
    return True


def is_finished(wandb_run: Any) -> bool:
    """True once wandb has finished ``wandb_run`` (False where this cannot be seen)."""
    return available("run_finished_flag") and bool(getattr(wandb_run, "_is_finished", False))
