"""Images from what notebook users hold: torch tensors, numpy arrays, PIL images, files, figures.

Pixel values: ``uint8`` is taken as is, ``bool`` becomes 0/255, floats in ``[0, 1]`` are
scaled by 255, integers in ``[0, 255]`` are cast. Anything else (floats such as ``[-1, 1]``
or ``[0, 255]``, 16-bit integers) is **min-max rescaled** to ``[0, 255]`` over the whole
image or batch, with a one-time ``NbwandbWarning`` per key; pass ``uint8`` to keep exact
0-255 values. NaN/inf pixels raise an error.

Layout: 3-D values are ``(C, H, W)`` or ``(H, W, C)`` with ``C`` in 1, 3, 4; when both fit,
tensors are read as ``(C, H, W)`` (torch convention), numpy arrays as ``(H, W, C)``.

>>> import torch
>>> to_image_array(torch.rand(3, 32, 32), key="x").shape
(32, 32, 3)
>>> make_grid(to_image_batch(torch.rand(16, 3, 8, 8), key="b")).shape
(42, 42, 3)
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nbwandb.media.arrays import (
    MediaError,
    MediaTypeError,
    array_to_pil,
    check_caption,
    check_numeric,
    describe,
    is_torch_tensor,
    positive_int,
    to_numpy,
    wandb_module,
    warn_once,
)
from nbwandb.media.overlays import convert_boxes, convert_masks
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key
from nbwandb.wandb_compat.media_list import media_list

CHANNELS = (1, 3, 4)
IMAGE_SHAPES = (
    "(C, H, W) or (H, W, C) with C in 1, 3, 4, or (H, W); a torch tensor, numpy array, "
    "PIL image, matplotlib figure or image file path; uint8, bool, or float in [0, 1]"
)
BATCH_SHAPES = (
    "(N, C, H, W) or (N, H, W, C) with C in 1, 3, 4 and N >= 1 (torch tensor or numpy array), "
    "or a non-empty list of images"
)
# wandb shows at most this many images under one key (wandb.Image.MAX_ITEMS).
WANDB_MAX_IMAGES = 108
# The longest image side wandb.Image (PIL) writes.
MAX_SIDE = 65500


# -- pure converters (also used by the notebook previews) ---------------------------------------
def to_image_array(x: Any, *, key: str = "image") -> np.ndarray:
    """One image as an ``(H, W, C)`` uint8 numpy array, ``C`` in 1, 3, 4.

    >>> to_image_array(np.ones((8, 8)), key="ones").shape
    (8, 8, 1)
    """
    if _is_pil(x):
        return _pil_to_array(x)
    if isinstance(x, (str, Path)):
        return _pil_to_array(_open_image(x, key=key, what="image"))
    if _is_figure(x):
        return figure_to_array(x)
    arr = to_numpy(x, key=key, what="image", accepted=IMAGE_SHAPES)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[:, :, None]
    elif arr.ndim == 3:
        arr = _to_hwc(
            arr, prefer_chw=is_torch_tensor(x), key=key, original=x, accepted=IMAGE_SHAPES
        )
    else:
        hint = "; for a batch use log_images" if arr.ndim == 4 else ""
        raise MediaError(f"image {key!r}: got {describe(x)}; accepted: {IMAGE_SHAPES}{hint}")
    _check_size(arr, key=key, original=x, accepted=IMAGE_SHAPES)
    return _to_uint8(arr, key=key, original=x, accepted=IMAGE_SHAPES)


def to_image_batch(x: Any, *, key: str = "images") -> np.ndarray:
    """A batch as one ``(N, H, W, C)`` uint8 array, converted in one vectorised step.

    A list of images (any form ``to_image_array`` takes) must share one size.

    >>> to_image_batch(np.zeros((4, 3, 8, 8), dtype=np.float32), key="b").shape
    (4, 8, 8, 3)
    """
    if isinstance(x, (list, tuple)):
        arrays = list_to_arrays(x, key=key)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise MediaError(
                f"images {key!r}: the images have different shapes {sorted(shapes)}; "
                "a batch or grid needs one size (resize them first)"
            )
        return np.stack(arrays)
    arr = to_numpy(x, key=key, what="images", accepted=BATCH_SHAPES)
    if arr.ndim != 4:
        hint = (
            " (one image: use log_image; a grayscale batch needs a channel axis, x[:, None])"
            if arr.ndim == 3
            else ""
        )
        raise MediaError(f"images {key!r}: got {describe(x)}; accepted: {BATCH_SHAPES}{hint}")
    if arr.shape[0] == 0:
        raise MediaError(
            f"images {key!r}: got an empty batch, {describe(x)}; accepted: {BATCH_SHAPES}"
        )
    # Decide the layout from the first image (a shape test alone misses C == H == W).
    if _is_chw(arr[0], prefer_chw=is_torch_tensor(x), key=key, original=x, accepted=BATCH_SHAPES):
        arr = arr.transpose(0, 2, 3, 1)
    _check_size(arr, key=key, original=x, accepted=BATCH_SHAPES)
    return _to_uint8(arr, key=key, original=x, accepted=BATCH_SHAPES)


def make_grid(
    batch: np.ndarray, *, ncols: int | None = None, padding: int = 2, pad_value: int = 0
) -> np.ndarray:
    """Tile an ``(N, H, W, C)`` uint8 batch into one ``(H', W', C)`` image, row by row.

    ``ncols`` defaults to ``ceil(sqrt(N))``; ``padding`` pixels of ``pad_value`` go between
    and around the tiles.

    >>> make_grid(np.zeros((5, 4, 4, 3), dtype=np.uint8), padding=1).shape
    (11, 16, 3)
    """
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[0] == 0 or batch.dtype != np.uint8:
        raise MediaError(
            f"make_grid: got {describe(batch)}; accepted: a non-empty (N, H, W, C) uint8 "
            "array (convert with to_image_batch first)"
        )
    n, h, w, c = batch.shape
    ncols = max(1, min(n, ncols or math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    # Each tile carries its top/left padding; one reshape lays the tiles out row by row.
    tiles = np.full((nrows * ncols, h + padding, w + padding, c), pad_value, dtype=np.uint8)
    tiles[:n, padding:, padding:] = batch
    grid = tiles.reshape(nrows, ncols, h + padding, w + padding, c).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(nrows * (h + padding), ncols * (w + padding), c)
    return np.pad(grid, ((0, padding), (0, padding), (0, 0)), constant_values=pad_value)


def figure_to_array(fig: Any) -> np.ndarray:
    """Render a matplotlib figure (or axes) off-screen with Agg to an ``(H, W, 4)`` uint8 array."""
    return _pil_to_array(_render_figure(fig))


# -- logging ------------------------------------------------------------------------------------
def log_image(
    run: RunHandle,
    key: str,
    image: Any,
    *,
    caption: str | None = None,
    masks: Any = None,
    boxes: Any = None,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log one image; ``masks``/``boxes`` use wandb's overlay dicts (see ``nbwandb.media.overlays``).

    ``image``: a tensor or array (C, H, W), (H, W, C) or (H, W); a PIL image; a file path
    (logged as its own bytes); a matplotlib figure; or a ``wandb.Image``. Floats outside
    ``[0, 1]`` are min-max rescaled with a one-time warning (see the module docstring).

    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     run.log_image("input", np.random.rand(3, 64, 64), caption="first batch", step=0)
    >>> [(entry["key"], entry["caption"]) for entry in nbwandb.local.read_run(run).media]
    [('input', 'first batch')]

    Raises:
        MediaError: (also a ValueError) a shape, size or value range that is not an image, a
            missing file, or a mask/box that does not fit the image.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    check_caption(caption, key=full)
    wandb = wandb_module()
    if isinstance(image, wandb.Image) and masks is None and boxes is None:
        # Already a wandb.Image: log it as is. A new caption goes on a copy; wandb's copy
        # constructor keeps the old caption, so it is set on the copy afterwards.
        if caption is not None:
            image = wandb.Image(image)
            image._caption = caption
        run.log({key: image}, step=step, prefix=prefix)
        return
    if isinstance(image, (str, Path)) and masks is None and boxes is None:
        # A file is logged as its own bytes (a JPEG stays a JPEG); opening it checks it first.
        _open_image(image, key=full, what="image")
        source: Any = str(image)
        size = None
    else:
        arr = to_image_array(image, key=full)
        source = array_to_pil(arr)
        size = arr.shape[:2]
    wb_masks = convert_masks(masks, key=full, size=size) if masks is not None else None
    wb_boxes = convert_boxes(boxes, key=full) if boxes is not None else None
    try:
        value = wandb.Image(source, caption=caption, masks=wb_masks, boxes=wb_boxes)
    except (ValueError, TypeError, KeyError) as exc:
        raise MediaError(f"image {full!r}: wandb rejected the masks/boxes: {exc}") from exc
    run.log({key: value}, step=step, prefix=prefix)


def log_images(
    run: RunHandle,
    key: str,
    images: Any,
    *,
    captions: Sequence[str] | None = None,
    grid: bool = False,
    max_images: int = 32,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log a batch as separate images under one key, or as one grid image (``grid=True``).

    The first ``max_images`` images are kept (wandb shows at most 108 under one key; a grid
    holds any number). ``captions`` must have one entry per image; a grid's caption lists
    them in order.

    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     run.log_images("samples", np.random.rand(4, 3, 8, 8), captions=list("abcd"), step=0)
    ...     run.log_images("grid", np.random.rand(4, 3, 8, 8), grid=True, step=1)
    >>> [(e["key"], e["type"], e.get("count", 1)) for e in nbwandb.local.read_run(run).media]
    [('samples', 'images', 4), ('grid', 'image', 1)]

    Raises:
        MediaError: (also a ValueError) a batch of the wrong shape, an empty batch, or
            captions that do not match it.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    max_images = positive_int(max_images, name="max_images", what="images", key=full)
    count = _batch_len(images, key=full)
    if captions is not None:
        if isinstance(captions, str) or not isinstance(captions, Sequence):
            raise MediaTypeError(
                f"images {full!r}: captions must be a list of strings, got {describe(captions)}"
            )
        if len(captions) != count:
            raise MediaError(
                f"images {full!r}: got {len(captions)} captions for {count} images; "
                "pass one caption per image"
            )
        for caption in captions:
            check_caption(caption, key=full)
    if count > max_images:
        images = images[:max_images]
        captions = list(captions[:max_images]) if captions is not None else None
    wandb = wandb_module()
    if grid:
        grid_caption = " | ".join(f"{i}: {c}" for i, c in enumerate(captions)) if captions else None
        tiles = make_grid(to_image_batch(images, key=full))
        _check_size(tiles, key=full, original=tiles, accepted="a grid; lower max_images")
        value: Any = wandb.Image(array_to_pil(tiles), caption=grid_caption)
    else:
        # A tensor/array batch is converted in one vectorised step; a list image by image
        # (its images may differ in size).
        shown = min(count, max_images)
        if shown > WANDB_MAX_IMAGES:
            raise MediaError(
                f"images {full!r}: {shown} images under one key is more than wandb shows "
                f"({WANDB_MAX_IMAGES}); lower max_images or pass grid=True"
            )
        batch: Any = (
            list_to_arrays(images, key=full)
            if isinstance(images, (list, tuple))
            else to_image_batch(images, key=full)
        )
        value = media_list(
            [
                wandb.Image(
                    array_to_pil(arr), caption=captions[i] if captions is not None else None
                )
                for i, arr in enumerate(batch)
            ]
        )
    run.log({key: value}, step=step, prefix=prefix)


def log_figure(
    run: RunHandle,
    key: str,
    fig: Any,
    *,
    close: bool = True,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log a matplotlib figure as a PNG image, rendered off-screen with Agg.

    The figure is closed afterwards (``close=True``) so figures made in a loop do not
    pile up in pyplot's figure list.

    >>> from matplotlib.figure import Figure
    >>> fig = Figure(); _ = fig.subplots().plot([3, 2, 1])
    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     run.log_figure("loss_curve", fig, step=0)
    >>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
    [('loss_curve', 'image')]

    Raises:
        MediaTypeError: (also a TypeError) ``fig`` is not a matplotlib Figure or Axes (a
            user with a figure has matplotlib; nothing else here needs it).
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    if not _is_figure(fig):
        raise MediaTypeError(
            f"figure {full!r}: got {describe(fig)}; accepted: a matplotlib Figure "
            "or Axes (e.g. fig, ax = plt.subplots())"
        )
    figure = _root_figure(fig)
    try:
        image = _render_figure(figure)
    finally:
        if close:
            _close_figure(figure)
    run.log({key: wandb_module().Image(image)}, step=step, prefix=prefix)


# -- internals ----------------------------------------------------------------------------------
def _is_pil(x: Any) -> bool:
    return type(x).__module__.startswith("PIL.") and hasattr(x, "mode") and hasattr(x, "size")


def _is_figure(x: Any) -> bool:
    if not type(x).__module__.startswith("matplotlib."):
        return False
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

    return isinstance(x, (FigureBase, Axes))


def _render_figure(fig: Any) -> Any:
    from PIL import Image

    buf = io.BytesIO()
    # savefig with backend="agg" renders on a temporary Agg canvas: off-screen, and the
    # figure's own canvas (inline, widget, ...) is left as it was.
    _root_figure(fig).savefig(buf, format="png", backend="agg")
    buf.seek(0)
    image = Image.open(buf)
    image.load()
    return image


def _root_figure(fig: Any) -> Any:
    """The top-level Figure of a Figure, SubFigure or Axes."""
    try:
        return fig.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10 has no root=
        figure = fig.get_figure() if hasattr(fig, "get_figure") else fig
        return getattr(figure, "figure", figure) or figure


def _close_figure(fig: Any) -> None:
    # Only pyplot keeps figures alive; a Figure made without pyplot is freed with its last ref.
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _open_image(path: str | Path, *, key: str, what: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise MediaError(
            f"{what} {key!r}: the file {str(p)!r} does not exist; accepted: {IMAGE_SHAPES}"
        )
    try:
        image = Image.open(p)
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(
            f"{what} {key!r}: {str(p)!r} is not an image file PIL can read ({exc})"
        ) from None
    return image


def _pil_to_array(image: Any) -> np.ndarray:
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    arr = np.asarray(image)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _to_hwc(
    arr: np.ndarray, *, prefer_chw: bool, key: str, original: Any, accepted: str
) -> np.ndarray:
    return (
        arr.transpose(1, 2, 0)
        if _is_chw(arr, prefer_chw=prefer_chw, key=key, original=original, accepted=accepted)
        else arr
    )


def _is_chw(arr: np.ndarray, *, prefer_chw: bool, key: str, original: Any, accepted: str) -> bool:
    """Whether one image's axes are (C, H, W) rather than (H, W, C); ambiguous shapes follow ``prefer_chw``."""
    chw = arr.shape[0] in CHANNELS
    hwc = arr.shape[-1] in CHANNELS
    if chw and (prefer_chw or not hwc):
        return True
    if hwc:
        return False
    raise MediaError(
        f"image {key!r}: got {describe(original)}; neither its first nor its last axis has 1, 3 "
        f"or 4 channels; accepted: {accepted}"
    )


def _check_size(arr: np.ndarray, *, key: str, original: Any, accepted: str) -> None:
    """``arr`` is (..., H, W, C): reject empty images and sides PNG files cannot hold."""
    if arr.size == 0:
        raise MediaError(
            f"image {key!r}: got {describe(original)} with no pixels; accepted: {accepted}"
        )
    height, width = arr.shape[-3], arr.shape[-2]
    if max(height, width) > MAX_SIDE:
        raise MediaError(
            f"image {key!r}: got {describe(original)}, {width}x{height} pixels; accepted: "
            f"sides up to {MAX_SIDE} pixels (downsample it first)"
        )


def _to_uint8(arr: np.ndarray, *, key: str, original: Any, accepted: str) -> np.ndarray:
    """Pixels as uint8 following the module's documented range rules (one pass over the batch)."""
    check_numeric(arr, key=key, what="image", accepted=accepted, original=original)
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        return arr
    if kind == "b":
        return arr.astype(np.uint8) * 255
    lo, hi = arr.min(), arr.max()
    if kind in "iu" and lo >= 0 and hi <= 255:
        return arr.astype(np.uint8)
    if kind == "f" and lo >= 0 and hi <= 1:
        return (arr * 255 + 0.5).astype(np.uint8)
    expected = "[0, 255] for integers" if kind in "iu" else "[0, 1] for floats"
    warn_once(
        "image-range",
        key,
        f"image {key!r}: values span [{float(lo):g}, {float(hi):g}], outside {expected}; they are "
        "min-max rescaled to [0, 255] (pass uint8, or x.clamp(0, 1) for floats, to avoid this)",
    )
    if hi == lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    scaled = (arr.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (float(hi) - float(lo)))
    return (scaled + 0.5).astype(np.uint8)


def list_to_arrays(items: Sequence[Any], *, key: str) -> list[np.ndarray]:
    if len(items) == 0:
        raise MediaError(
            f"images {key!r}: got an empty {type(items).__name__}; accepted: {BATCH_SHAPES}"
        )
    return [to_image_array(item, key=f"{key}[{i}]") for i, item in enumerate(items)]


def _batch_len(images: Any, *, key: str) -> int:
    if isinstance(images, (list, tuple)):
        if not images:
            raise MediaError(
                f"images {key!r}: got an empty {type(images).__name__}; accepted: {BATCH_SHAPES}"
            )
        return len(images)
    shape = getattr(images, "shape", None)
    if shape is None or not hasattr(images, "__getitem__"):
        raise MediaTypeError(f"images {key!r}: got {describe(images)}; accepted: {BATCH_SHAPES}")
    if len(shape) != 4:
        hint = (
            " (one image: use log_image; a grayscale batch needs a channel axis, x[:, None])"
            if len(shape) == 3
            else ""
        )
        raise MediaError(f"images {key!r}: got {describe(images)}; accepted: {BATCH_SHAPES}{hint}")
    if shape[0] == 0:
        raise MediaError(
            f"images {key!r}: got an empty batch, {describe(images)}; accepted: {BATCH_SHAPES}"
        )
    return int(shape[0])
