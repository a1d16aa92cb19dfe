"""Start a resumed run's wandb ``_step`` where its earlier segment stopped.

Offline, wandb does not know where the earlier segment stopped, so its rows would
start again at ``_step`` 0; wandb-core honours the run record's ``starting_step``, which
wandb fills from the run's ``_starting_step`` in ``InterfaceBase._make_run`` (patched for
the duration of one ``wandb.init``). Without it, rows keep wandb's numbering and
``nbwandb.local`` renumbers them when it joins the segments (the same rows).

>>> with wandb_starting_step(120):      # doctest: +SKIP
...     wandb.init(id=run_id, resume="allow")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbwandb.wandb_compat.registry import available, capability, sets_attribute


@capability(
    "run_starting_step",
    needs="InterfaceBase._make_run (patched), Run._starting_step",
    fallback="wandb's _step starts at 0; the reader renumbers the segment when it joins it",
)
def _has_make_run() -> bool:
    from wandb.sdk import wandb_run
    from wandb.sdk.interface import interface

    base = getattr(interface, "InterfaceBase", None)
    return callable(getattr(base, "_make_run", None)) and sets_attribute(
        wandb_run.Run, "_starting_step"
    )


@contextmanager
def wandb_starting_step(step: int) -> Iterator[None]:
    """Make the run record that ``wandb.init`` sends start wandb's ``_step`` at ``step``."""
    if step <= 0 or not available("run_starting_step"):
        yield
        return
    from wandb.sdk.interface import interface as wandb_interface

    base: Any = wandb_interface.InterfaceBase
    original = base._make_run

    def make_run(self: Any, run: Any) -> Any:
        if getattr(run, "_starting_step", None) == 0:
            run._starting_step = step
        return original(self, run)

    base._make_run = make_run
    try:
        yield
    finally:
        base._make_run = original
