"""Turning what users hold (dicts, dataclasses, Namespaces) into a JSON-safe config dict.

>>> to_config_dict({"lr": 1e-3, "path": __import__("pathlib").Path("/data")})
{'lr': 0.001, 'path': '/data'}
"""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from nbwandb.errors import NbwandbError

ACCEPTED = "numbers, str, bool, None, lists/tuples, dicts, numpy/torch values, paths and enums"


def _is_namespace(value: Any) -> bool:
    # Without argparse imported there is no Namespace to meet (and init need not import it).
    argparse = sys.modules.get("argparse")
    return argparse is not None and isinstance(value, argparse.Namespace)


def to_config_dict(config: Any) -> dict[str, Any]:
    """A plain dict from a dict, dataclass instance, argparse.Namespace or None."""
    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        raw: Mapping[str, Any] = {
            f.name: getattr(config, f.name) for f in dataclasses.fields(config)
        }
    elif _is_namespace(config):
        raw = vars(config)
    elif isinstance(config, Mapping):
        raw = config
    else:
        raise TypeError(
            f"config of type {type(config).__name__} is not accepted; "
            "pass a dict, a dataclass instance or an argparse.Namespace"
        )
    return {_check_key(k, ""): convert_value(v, str(k)) for k, v in raw.items()}


def _check_key(key: Any, parent: str) -> str:
    if not isinstance(key, str):
        where = f" under {parent!r}" if parent else ""
        raise TypeError(
            f"config key {key!r}{where} is a {type(key).__name__}; config keys must be strings"
        )
    if not parent and key == "_wandb":
        raise ValueError(
            "config key '_wandb' is wandb's own (its settings and telemetry live there); "
            "use another name"
        )
    if not parent and key != key.strip("-"):
        # wandb strips '-' from both ends of top-level keys: '-lr' would silently overwrite 'lr'.
        raise ValueError(
            f"config key {key!r} starts or ends with '-', which wandb removes (it would be stored "
            f"as {key.strip('-')!r}); use a key without leading or trailing '-'"
        )
    return key


def convert_value(value: Any, key: str) -> Any:
    """A JSON-safe copy of ``value``; raises NbwandbError naming ``key`` when impossible."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, enum.Enum):
        return convert_value(value.value, key)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: convert_value(getattr(value, f.name), f"{key}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {_check_key(k, key): convert_value(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [convert_value(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [convert_value(v, f"{key}[]") for v in sorted(value, key=repr)]
    # numpy and torch without importing them: both have .tolist() (scalars and arrays).
    module = type(value).__module__.split(".")[0]
    if module in ("numpy", "torch") and hasattr(value, "tolist"):
        if module == "torch":
            value = value.detach().cpu()
        return convert_value(value.tolist(), key)
    raise NbwandbError(
        f"config key {key!r}: a value of type {type(value).__module__}.{type(value).__qualname__} "
        f"cannot be stored in a W&B config; accepted: {ACCEPTED}"
    )


def merge_config(target: dict[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a config update as wandb-core does: value by value, down to the leaves.

    A dict merges into a dict already there (or replaces a non-dict); anything else
    replaces. A dict with no value in it (``{}``, ``{"a": {}}``) changes nothing: wandb-core
    stores leaves, so an empty dict is never stored (``wandb leet`` and the server agree).

    >>> merge_config({"opt": {"lr": 1, "betas": [0.9]}}, {"opt": {"lr": 2}})
    {'opt': {'lr': 2, 'betas': [0.9]}}
    >>> merge_config({"s": 1}, {"s": {}, "new": {"x": {}}})
    {'s': 1}
    """
    for key, value in updates.items():
        if isinstance(value, Mapping):
            if not has_leaf(value):
                continue
            old = target.get(key)
            if not isinstance(old, dict):
                old = target[key] = {}
            merge_config(old, value)
        else:
            target[key] = _copy_tree(value)
    return target


def has_leaf(value: Mapping[str, Any]) -> bool:
    """True when a (nested) dict holds at least one non-dict value."""
    return any(not isinstance(v, Mapping) or has_leaf(v) for v in value.values())


def _copy_tree(value: Any) -> Any:
    # A private copy, so a later merge never changes a dict the caller still holds.
    if isinstance(value, Mapping):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One column per leaf: nested keys joined with ``.``, each name after ``prefix``.

    A dict with a ``_type`` key is one wandb value (a table, an image's summary) and stays
    one cell; an empty dict stays as ``{}``, so a key the user set never vanishes from a table.

    >>> flatten_config({"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "seed": 1}, "config.")
    {'config.opt.lr': 0.1, 'config.opt.betas': [0.9, 0.99], 'config.seed': 1}
    >>> flatten_config({"img": {"_type": "image-file", "path": "a.png"}, "extra": {}})
    {'img': {'_type': 'image-file', 'path': 'a.png'}, 'extra': {}}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and "_type" not in value:
            out.update(flatten_config(value, f"{name}."))
        else:
            out[name] = value
    return out
