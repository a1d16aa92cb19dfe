"""wandb settings that only some wandb versions know.

wandb's ``Settings`` rejects a name it does not know (pydantic's ``ValidationError``), so
a private setting is set only where the installed wandb has it.

>>> settings = {"silent": True}
>>> set_file_flush_interval(settings, 0.1)   # True where wandb has the setting
True
>>> settings["x_transaction_log_flush_interval"]
0.1
"""

from __future__ import annotations

from typing import Any

from nbwandb.wandb_compat.registry import available, capability

FLUSH_SETTING = "x_transaction_log_flush_interval"


def known_setting(name: str) -> bool:
    """Whether the installed wandb's ``Settings`` has a field ``name``."""
    from wandb import Settings

    return name in getattr(Settings, "model_fields", {})


@capability(
    "file_flush_interval",
    needs=f"the setting {FLUSH_SETTING} (wandb 0.29+)",
    fallback="wandb-core writes full 32 KiB blocks only (and at finish); Run.flush pushes "
    "a block (file_block_push), panels show rows from memory meanwhile",
    missing_in=((0, 28, 1),),
)
def _has_flush_setting() -> bool:
    return known_setting(FLUSH_SETTING)


def set_file_flush_interval(settings: dict[str, Any], seconds: float) -> bool:
    """Ask wandb-core to write the run file every ``seconds`` (unless the caller set it);
    False where this wandb cannot (it keeps its own interval)."""
    if not available("file_flush_interval"):
        return False  # a value the caller set is left for wandb to accept or refuse
    settings.setdefault(FLUSH_SETTING, seconds)
    return True
