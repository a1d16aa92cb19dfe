"""Shared helpers for the media converters: describing inputs, plain numpy arrays, errors.

Every converter turns what the user holds (torch tensor on any device, numpy array,
Python list) into a host numpy array first, so the rest of the code has one path.

>>> describe(np.zeros((2, 3), dtype=np.float32))
'a numpy array of shape (2, 3) and dtype float32'
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np

# The media errors live with the others in errors.py; importing them here keeps
# `from nbwandb.media.arrays import MediaError` working.
from nbwandb.errors import MediaDependencyError as MediaDependencyError
from nbwandb.errors import MediaError, MediaTypeError, NbwandbWarning
from nbwandb.wandb_compat import import_wandb

# Keys already warned about, per kind of warning: a one-time warning per key, bounded so
# a loop over fresh keys cannot grow memory.
_WARNED: dict[str, set[str]] = {}
_MAX_WARNED_KEYS = 1000


def warn_once(kind: str, key: str, message: str) -> None:
    """Warn with NbwandbWarning once per (kind, key)."""
    seen = _WARNED.setdefault(kind, set())
    if key in seen:
        return
    if len(seen) < _MAX_WARNED_KEYS:
        seen.add(key)
    warnings.warn(message, NbwandbWarning, stacklevel=_caller_stacklevel())


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside nbwandb, so the warning shows the user's line."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package + os.sep
    ):
        frame = frame.f_back
        level += 1
    return level


def is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def describe(x: Any) -> str:
    """A short description of a value for error messages: its type, shape, dtype, device."""
    if is_torch_tensor(x):
        where = f" on {x.device}" if str(x.device) != "cpu" else ""
        return f"a torch tensor of shape {tuple(x.shape)} and dtype {x.dtype}{where}"
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape} and dtype {x.dtype}"
    if type(x).__module__.startswith("PIL."):
        return f"a PIL image of size {getattr(x, 'size', '?')} and mode {getattr(x, 'mode', '?')}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return (
        f"a {type(x).__module__}.{type(x).__qualname__}"
        if type(x).__module__ != "builtins"
        else f"a {type(x).__name__}"
    )


def to_numpy(x: Any, *, key: str, what: str, accepted: str) -> np.ndarray:
    """A host numpy array from a torch tensor (any device, with grad), numpy array or list.

    Half-precision floats become float32 (numpy has no bfloat16).
    """
    if is_torch_tensor(x):
        import torch

        t = x.detach()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        if t.is_complex():
            raise MediaTypeError(f"{what} {key!r}: got {describe(x)}; accepted: {accepted}")
        try:
            if t.layout != torch.strided:
                t = t.to_dense()
            return t.cpu().numpy()
        except (
            RuntimeError,
            NotImplementedError,
            TypeError,
        ) as exc:  # e.g. meta tensors hold no data
            raise MediaTypeError(
                f"{what} {key!r}: got {describe(x)}, which cannot be copied to the "
                f"host ({str(exc).splitlines()[0]}); accepted: {accepted}"
            ) from None
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except ValueError as exc:  # ragged nested lists
            raise MediaError(
                f"{what} {key!r}: got {describe(x)} that is not rectangular ({exc}); "
                f"accepted: {accepted}"
            ) from None
        if arr.dtype == object:
            raise MediaTypeError(
                f"{what} {key!r}: got {describe(x)} of mixed or non-numeric values; "
                f"accepted: {accepted}"
            )
        return arr
    raise MediaTypeError(f"{what} {key!r}: got {describe(x)}; accepted: {accepted}")


def check_numeric(arr: np.ndarray, *, key: str, what: str, accepted: str, original: Any) -> None:
    """Reject dtypes that are not bool/int/float, and non-finite floats."""
    if arr.dtype.kind not in "biuf":
        raise MediaTypeError(
            f"{what} {key!r}: got {describe(original)}; dtype {arr.dtype} is not accepted "
            f"(use bool, integer or float values); accepted: {accepted}"
        )
    if arr.dtype.kind == "f" and arr.size and not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise MediaError(
            f"{what} {key!r}: got {describe(original)} with {bad} non-finite value(s) (NaN or inf); "
            f"replace them first, e.g. torch.nan_to_num(x) or np.nan_to_num(x)"
        )


def scalar(value: Any) -> Any:
    """A plain Python value from numpy/torch 0-d values (other values unchanged)."""
    if is_torch_tensor(value) and value.numel() == 1:
        return value.detach().reshape(()).item()
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def positive_int(value: Any, *, name: str, what: str, key: str, upper: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < 1
        or (upper is not None and value > upper)
    ):
        limit = f" and at most {upper}" if upper is not None else ""
        raise MediaError(
            f"{what} {key!r}: {name}={value!r} is not accepted; use an int >= 1{limit}"
        )
    return int(value)


def wandb_module() -> Any:
    """wandb, imported on the first media call (with a clear error when it is missing)."""
    return import_wandb("logging media")


def array_to_pil(arr: np.ndarray) -> Any:
    """A PIL image of an (H, W, C) uint8 array (C = 1 becomes grayscale)."""
    from PIL import Image

    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def check_caption(caption: Any, *, key: str) -> None:
    if caption is not None and not isinstance(caption, str):
        raise MediaTypeError(f"image {key!r}: caption must be a string, got {describe(caption)}")
