"""Turning what users hold (arrays, tensors, PIL images, paths, wandb.Image) into PNG thumbnails.

``nbwandb.media.to_image_array`` does the conversion when it is available (one set of
rules for logging and previewing); a small local conversion covers the common
cases otherwise.

>>> import numpy as np
>>> png = thumbnail_png(np.zeros((8, 8, 3), dtype=np.uint8))
>>> png[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

THUMB_SIDE = 128
ACCEPTED = "a numpy array or torch tensor (H, W), (H, W, C) or (C, H, W), a PIL image, a file path or a wandb.Image"


def _local_to_array(image: Any) -> Any:
    import numpy as np

    if type(image).__module__.split(".")[0] == "torch":
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.transpose(arr, (1, 2, 0))  # CHW -> HWC
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"an image of shape {tuple(arr.shape)} is not accepted; use {ACCEPTED}")
    if arr.dtype != np.uint8:
        arr = arr.astype("float64")
        if arr.size and (arr.min() < 0 or arr.max() > 1):  # not in [0, 1]: scale by its range
            span = arr.max() - arr.min()
            arr = (arr - arr.min()) / (span if span else 1)
        arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    return arr


def to_pil(image: Any) -> Any:
    """A PIL image from any accepted input (raises ValueError/TypeError naming the input)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"image path {str(path)!r} is not a file; use {ACCEPTED}")
        with Image.open(path) as img:
            img.load()
            return img.copy()
    if type(image).__module__.startswith("wandb") and hasattr(image, "_path"):
        if getattr(image, "_image", None) is not None:
            return image._image
        return to_pil(image._path)
    if not hasattr(image, "__array__") and not hasattr(image, "shape"):
        raise TypeError(f"an image of type {type(image).__name__} is not accepted; use {ACCEPTED}")
    try:
        from nbwandb.media import to_image_array  # the media engineer's converter, when present
    except ImportError:
        arr = _local_to_array(image)
    else:
        arr = to_image_array(image)
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]  # PIL wants (H, W) for one channel
    return Image.fromarray(arr)


def thumbnail_png(image: Any, max_side: int = THUMB_SIDE) -> bytes:
    """PNG bytes of ``image`` scaled down so its longer side is at most ``max_side``."""
    img = to_pil(image)
    if img.mode not in ("RGB", "RGBA", "L"):
        img = img.convert("RGB")
    img = img.copy()
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def is_image_value(value: Any) -> bool:
    """True for a logged wandb.Image (what a run row holds for an image)."""
    return type(value).__name__ == "Image" and type(value).__module__.startswith("wandb")
