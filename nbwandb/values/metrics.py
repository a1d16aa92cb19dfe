"""Checking and flattening one ``run.log`` call into a flat ``{key: value}`` row.

>>> flatten_metrics({"loss": 1, "acc": {"top1": 0.5}}, prefix="val")
{'val/loss': 1, 'val/acc/top1': 0.5}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, TypeGuard

from nbwandb.errors import NbwandbError

ACCEPTED_VALUES = (
    "Python numbers and bools, numpy scalars or 0-d arrays, torch 0-d tensors, "
    "or wandb data types (wandb.Image, wandb.Table, wandb.Histogram, ...) and lists of them"
)


# History keys wandb writes itself; a logged value under them is overwritten without a word.
WANDB_OWN_KEYS = frozenset({"_step", "_runtime"})


def is_number(value: Any) -> TypeGuard[float]:
    """A real number that is not a bool (ints, floats, numpy scalars)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_step(step: Any) -> int:
    """``step`` as a non-negative int (numpy and torch scalars, and whole floats, accepted).

    >>> check_step(3), check_step(2.0)
    (3, 2)
    >>> check_step(-1)
    Traceback (most recent call last):
    ...
    ValueError: step=-1 is not accepted; steps start at 0
    """
    if isinstance(step, bool):
        raise TypeError(f"step={step!r} is not accepted; use a non-negative int")
    try:
        value = int(step.item() if hasattr(step, "item") else step)
    except (TypeError, ValueError):
        raise TypeError(f"step={step!r} is not accepted; use a non-negative int") from None
    if value != step and not hasattr(step, "item"):
        raise TypeError(f"step={step!r} is not accepted; use a non-negative int")
    if value < 0:
        raise ValueError(f"step={value} is not accepted; steps start at 0")
    return value


def join_key(prefix: str | None, key: str) -> str:
    """``prefix/key`` (a prefix's trailing slash is not doubled)."""
    return f"{prefix.rstrip('/')}/{key}" if prefix else key


def flatten_metrics(
    metrics: Mapping[str, Any], prefix: str | None = None, *, step_metric: str | None = None
) -> dict[str, Any]:
    """Flatten nested dicts with ``/``; keys must be non-empty strings, and not ``step_metric``."""
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"run.log expects a dict of metrics, got {type(metrics).__name__}; e.g. run.log({{'loss': 0.1}})"
        )
    if prefix is not None and (not isinstance(prefix, str) or not prefix.strip("/")):
        raise ValueError(
            f"prefix={prefix!r} is not accepted; use a non-empty string such as 'train'"
        )
    out: dict[str, Any] = {}
    _flatten_into(out, metrics, prefix)
    if step_metric is not None and step_metric in out:
        raise ValueError(
            f"metric key {step_metric!r} is the step key of this run; "
            f"pass the step as run.log(..., step=N) instead of as a metric"
        )
    return out


def _flatten_into(out: dict[str, Any], metrics: Mapping[Any, Any], prefix: str | None) -> None:
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise TypeError(
                f"metric key {key!r}{' under ' + repr(prefix) if prefix else ''} is not accepted; "
                "metric keys must be non-empty strings"
            )
        full = join_key(prefix, key)
        if full in WANDB_OWN_KEYS:
            raise ValueError(
                f"metric key {full!r} is not accepted: wandb sets it on every row and would "
                "silently replace your value; use another name"
            )
        if isinstance(value, Mapping):
            _flatten_into(out, value, full)
        else:
            out[full] = value


def is_wandb_value(value: Any) -> bool:
    """True for wandb's data types (Image, Table, Histogram, ...) without importing wandb."""
    return any(c.__module__.startswith("wandb.") for c in type(value).__mro__[:-1])


def convert_metric(key: str, value: Any) -> Any:
    """A loggable value for ``key``: plain numbers stay, numpy/torch 0-d become Python numbers."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return value
    module = type(value).__module__.split(".")[0]
    if module == "torch" and hasattr(value, "detach"):
        if value.numel() != 1 or value.dim() > 1:
            raise _value_error(key, value, f"a tensor of shape {tuple(value.shape)}")
        # .item() copies to the host (one sync on GPU); detach so no graph is kept alive.
        return value.detach().reshape(()).item()
    if module == "numpy":
        shape = getattr(value, "shape", ())
        if shape not in ((), (1,)):
            raise _value_error(key, value, f"an array of shape {shape}")
        item = value.item() if hasattr(value, "item") else value
        if isinstance(item, (numbers.Number, bool)) and not isinstance(item, complex):
            return item
        raise _value_error(key, value, f"a numpy value of dtype {getattr(value, 'dtype', '?')}")
    if is_wandb_value(value):
        return value
    if isinstance(value, (list, tuple)) and value and all(is_wandb_value(v) for v in value):
        return list(value)  # e.g. [wandb.Image(...), ...]: wandb logs it as one media set
    raise _value_error(key, value, f"a {type(value).__name__}")


def _value_error(key: str, value: Any, what: str) -> NbwandbError:
    hint = ""
    if what.startswith(("a tensor", "an array")):
        hint = " (log a histogram with run.log_histogram, or reduce it with .mean())"
    return NbwandbError(
        f"metric {key!r}: {what} cannot be logged as a value{hint}; accepted: {ACCEPTED_VALUES}"
    )


def is_non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
