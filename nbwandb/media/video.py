"""Video from a stack of frames: ``(T, C, H, W)`` or ``(T, H, W, C)``, tensor or array.

Pixel values follow the image rules (``nbwandb.media.images``). One-channel frames are
shown as gray RGB and an alpha channel is dropped (GIF has neither). Encoding needs
``moviepy`` and ``imageio`` (``pip install "nbwandb[media]"``); the video is a GIF.

>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_video("rollout", np.random.rand(4, 3, 16, 16), fps=8, step=0)
>>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
[('rollout', 'video')]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbwandb.errors import require
from nbwandb.media.arrays import (
    MediaDependencyError,
    MediaError,
    check_caption,
    describe,
    positive_int,
    wandb_module,
)
from nbwandb.media.images import to_image_batch
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key

VIDEO_SHAPES = (
    "(T, C, H, W) or (T, H, W, C) with C in 1, 3, 4 and T >= 1 (torch tensor or numpy array)"
)
VIDEO_FORMAT = "gif"


def to_video_frames(x: Any, *, key: str = "video") -> np.ndarray:
    """Frames as a ``(T, H, W, 3)`` uint8 array.

    >>> to_video_frames(np.zeros((2, 3, 4, 5), dtype=np.float32), key="v").shape
    (2, 4, 5, 3)
    """
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 4:
        raise MediaError(f"video {key!r}: got {describe(x)}; accepted: {VIDEO_SHAPES}")
    if shape[0] == 0:
        raise MediaError(
            f"video {key!r}: got {describe(x)} with no frames; accepted: {VIDEO_SHAPES}"
        )
    frames = to_image_batch(x, key=key)
    channels = frames.shape[-1]
    if channels == 1:
        frames = np.repeat(frames, 3, axis=-1)
    elif channels == 4:
        frames = frames[..., :3]
    return frames


def log_video(
    run: RunHandle,
    key: str,
    frames: Any,
    *,
    fps: int = 4,
    caption: str | None = None,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log frames as a GIF video played at ``fps`` frames per second.

    Raises:
        MediaError: (also a ValueError) frames of the wrong shape or values, or an ``fps``
            that is not accepted.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        MediaDependencyError: (a MissingDependencyError, an ImportError) imageio or
            moviepy is not installed.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    rate = positive_int(fps, name="fps", what="video", key=full, upper=240)
    check_caption(caption, key=full)
    data = to_video_frames(frames, key=full)
    _require_encoders(full)
    # wandb takes (T, C, H, W).
    value = wandb_module().Video(
        np.ascontiguousarray(data.transpose(0, 3, 1, 2)),
        fps=rate,
        format=VIDEO_FORMAT,
        caption=caption,
    )
    run.log({key: value}, step=step, prefix=prefix)


def _require_encoders(key: str) -> None:
    # wandb encodes with moviepy, which writes with imageio: imageio first, so a missing imageio
    # is named as missing rather than as moviepy failing to import.
    for module in ("imageio", "moviepy"):
        require(module, purpose=f"video {key!r}", extra="media", error=MediaDependencyError)
