"""The wandb internals nbwandb uses, each with a check and a public fallback.

Every module of ``nbwandb.wandb_compat`` that touches a private wandb name registers it
here with ``capability(...)``: its name, what it needs from wandb, what nbwandb does
without it, and ``detect()``, which looks at the installed wandb. ``available(name)``
is what the rest of the seam asks before it uses an internal; a name can be switched
off (``forced_fallback`` in tests, or ``NBWANDB_WANDB_FALLBACK=name,name`` in the
environment) so the public path is taken even where the internal exists.

>>> from nbwandb.wandb_compat import registry
>>> "batch_publish" in {c.name for c in registry.all_capabilities()}
True
>>> with registry.forced_fallback("batch_publish"):
...     registry.available("batch_publish")
False
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

FALLBACK_ENV = "NBWANDB_WANDB_FALLBACK"  # comma-separated capability names to switch off

# The seam's modules that register capabilities (imported by all_capabilities()).
MODULES = (
    "batch_publish",
    "exit_code",
    "file_blocks",
    "media_list",
    "protobufs",
    "run_globals",
    "service",
    "settings",
    "setup",
    "starting_step",
    "upload_signals",
)


@dataclass(frozen=True)
class Capability:
    """One wandb internal: ``needs`` (what of wandb), ``fallback`` (what nbwandb does without it).

    ``required``: no public path does the same (the reader's protobufs); a wandb without it
    is not supported, and the error says so. ``missing_in``: supported wandb versions
    checked to lack it (every other supported version checked has it).
    """

    name: str
    needs: str
    fallback: str
    detect: Callable[[], bool]
    required: bool = False
    missing_in: tuple[tuple[int, ...], ...] = ()


_registry: dict[str, Capability] = {}
_detected: dict[str, bool] = {}
_forced: set[str] = set()
_lock = threading.Lock()


def capability(
    name: str,
    *,
    needs: str,
    fallback: str,
    required: bool = False,
    missing_in: tuple[tuple[int, ...], ...] = (),
) -> Callable[[Callable[[], bool]], Callable[[], bool]]:
    """Register the decorated ``detect()`` (True where the installed wandb has the internal)."""

    def register(detect: Callable[[], bool]) -> Callable[[], bool]:
        _registry[name] = Capability(name, needs, fallback, detect, required, missing_in)
        return detect

    return register


def sets_attribute(cls: type, name: str) -> bool:
    """Whether ``cls``'s constructor (``__init__`` or wandb's ``_init``) assigns ``self.<name>``."""
    import inspect

    for method in ("__init__", "_init"):
        fn = getattr(cls, method, None)
        try:
            if fn is not None and f"self.{name} =" in inspect.getsource(fn):
                return True
        except (OSError, TypeError):  # no source (a compiled or built-in method)
            continue
    return False


def all_capabilities() -> list[Capability]:
    """Every registered capability (imports the seam's modules; none imports wandb by that)."""
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return [_registry[name] for name in sorted(_registry)]


def detected(name: str) -> bool:
    """Whether the installed wandb has ``name``'s internal (checked once per process)."""
    with _lock:
        known = _detected.get(name)
    if known is None:
        try:
            known = bool(_registry[name].detect())
        except Exception:  # noqa: BLE001 - any error while looking means: not there
            known = False
        with _lock:
            _detected[name] = known
    return known


def available(name: str) -> bool:
    """Whether nbwandb may use ``name``'s internal now: detected, and not switched off."""
    if name in _forced:
        return False
    off = os.environ.get(FALLBACK_ENV, "")
    if off and name in {part.strip() for part in off.split(",")}:
        return False
    return detected(name)


@contextmanager
def forced_fallback(*names: str) -> Iterator[None]:
    """Take the public fallback of ``names`` inside the block (for tests and comparisons)."""
    unknown = [n for n in names if n not in _registry]
    if unknown:
        all_capabilities()
        unknown = [n for n in names if n not in _registry]
        if unknown:
            raise ValueError(f"unknown wandb capability {unknown}; known: {sorted(_registry)}")
    added = set(names) - _forced
    _forced.update(added)
    try:
        yield
    finally:
        _forced.difference_update(added)
