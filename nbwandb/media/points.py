"""3-D point clouds: ``(N, 3)`` xyz, ``(N, 4)`` xyz + category, ``(N, 6)`` xyz + RGB (0-255).

>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_3d("lidar", np.random.randn(100, 3), step=0)
>>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
[('lidar', 'object3d')]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbwandb.media.arrays import MediaError, check_numeric, describe, to_numpy, wandb_module
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key

POINT_SHAPES = "(N, 3) xyz, (N, 4) xyz + category, or (N, 6) xyz + RGB in 0..255, with N >= 1"


def to_point_cloud(x: Any, *, key: str = "points") -> np.ndarray:
    """A float ``(N, 3|4|6)`` array checked for shape, finiteness and colour range.

    >>> to_point_cloud([[0, 0, 0], [1, 2, 3]], key="p").shape
    (2, 3)
    """
    arr = to_numpy(x, key=key, what="point cloud", accepted=POINT_SHAPES)
    check_numeric(arr, key=key, what="point cloud", accepted=POINT_SHAPES, original=x)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4, 6) or arr.shape[0] == 0:
        raise MediaError(f"point cloud {key!r}: got {describe(x)}; accepted: {POINT_SHAPES}")
    arr = arr.astype(np.float64)
    if arr.shape[1] == 6 and (arr[:, 3:].min() < 0 or arr[:, 3:].max() > 255):
        raise MediaError(
            f"point cloud {key!r}: RGB columns span [{arr[:, 3:].min():g}, {arr[:, 3:].max():g}]; "
            "accepted: colours in 0..255"
        )
    return arr


def log_3d(
    run: RunHandle, key: str, points: Any, *, step: int | None = None, prefix: str | None = None
) -> None:
    """Log a point cloud (wandb writes it as ``media/object3D/*.pts.json``).

    Raises:
        MediaError: (also a ValueError) points that are not ``(N, 3)``, ``(N, 4)`` or
            ``(N, 6)``, or values that are not finite.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        RunFinishedError: the run has finished.
    """
    data = to_point_cloud(points, key=join_key(prefix, key))
    run.log({key: wandb_module().Object3D(data)}, step=step, prefix=prefix)
