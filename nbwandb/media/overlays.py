"""Segmentation masks and bounding boxes for ``log_image``, in wandb's own overlay format.

Masks: ``{"prediction": {"mask_data": HxW ints, "class_labels": {0: "bg", 1: "cat"}}}``
(a bare ``HxW`` array is taken as ``{"mask_data": array}``); ``mask_data`` may be a torch
tensor or numpy array of integer class ids in 0..255, the same height and width as the image.

Boxes: ``{"prediction": {"box_data": [{"position": {"minX": .1, "maxX": .4, "minY": .2,
"maxY": .5}, "class_id": 1, "scores": {"p": 0.9}}], "class_labels": {1: "cat"}}}``; numbers
may be numpy/torch scalars.

>>> labels = {0: "bg", 1: "cat"}
>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_image("seg", np.zeros((4, 4, 3)), masks={"pred": {"mask_data": np.eye(4, dtype=int),
...                                                            "class_labels": labels}})
>>> sorted(nbwandb.local.read_run(run).history[0]["seg"]["masks"])
['pred']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nbwandb.media.arrays import MediaError, MediaTypeError, describe, scalar, to_numpy

MASK_ACCEPTED = (
    "a dict {name: {'mask_data': (H, W) integer class ids in 0..255, "
    "'class_labels': {id: name}}} (torch tensor or numpy array)"
)
BOX_ACCEPTED = (
    "a dict {name: {'box_data': [{'position': {'minX', 'maxX', 'minY', 'maxY'} "
    "or {'middle', 'width', 'height'}, 'class_id': int, ...}], 'class_labels': {id: name}}}"
)


def convert_masks(
    masks: Any, *, key: str, size: tuple[int, int] | None
) -> dict[str, dict[str, Any]]:
    """Check masks and turn their arrays into the uint8 numpy maps wandb stores."""

    def convert(spec: Any, where: str) -> dict[str, Any]:
        if not isinstance(spec, Mapping):
            spec = {"mask_data": spec}
        if "mask_data" not in spec:
            raise MediaError(f"{where}: 'mask_data' is missing; accepted: {MASK_ACCEPTED}")
        original = spec["mask_data"]
        data = to_numpy(original, key=key, what="mask of image", accepted=MASK_ACCEPTED)
        if data.ndim == 3 and 1 in (data.shape[0], data.shape[-1]):
            data = data.reshape(data.shape[1:] if data.shape[0] == 1 else data.shape[:-1])
        if data.ndim != 2:
            raise MediaError(f"{where}: got {describe(original)}; accepted: {MASK_ACCEPTED}")
        if size is not None and data.shape != tuple(size):
            raise MediaError(
                f"{where}: got {describe(original)} for an image of height and width "
                f"{tuple(size)}; the mask must have the image's (H, W)"
            )
        if data.dtype.kind not in "biu":
            raise MediaTypeError(
                f"{where}: got {describe(original)}; class ids must be integers "
                f"(e.g. logits.argmax(0)); accepted: {MASK_ACCEPTED}"
            )
        if data.size and (data.min() < 0 or data.max() > 255):
            raise MediaError(
                f"{where}: class ids span [{data.min()}, {data.max()}]; accepted: 0..255"
            )
        return {"mask_data": data.astype(np.uint8)}

    return _convert_overlays(
        masks, convert, key=key, kind="masks", item="mask", accepted=MASK_ACCEPTED
    )


def convert_boxes(boxes: Any, *, key: str) -> dict[str, dict[str, Any]]:
    """Check boxes and replace numpy/torch numbers with plain ones."""

    def convert(spec: Any, where: str) -> dict[str, Any]:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("box_data"), (list, tuple)):
            raise MediaError(
                f"{where}: got {describe(spec)} without a 'box_data' list; accepted: {BOX_ACCEPTED}"
            )
        box_data = []
        for i, box in enumerate(spec["box_data"]):
            if not isinstance(box, Mapping) or "position" not in box or "class_id" not in box:
                raise MediaError(
                    f"{where}: box {i} needs 'position' and 'class_id'; accepted: {BOX_ACCEPTED}"
                )
            box_data.append(_plain(box))
        return {"box_data": box_data}

    return _convert_overlays(
        boxes, convert, key=key, kind="boxes", item="boxes", accepted=BOX_ACCEPTED
    )


def _convert_overlays(
    overlays: Any,
    convert: Callable[[Any, str], dict[str, Any]],
    *,
    key: str,
    kind: str,
    item: str,
    accepted: str,
) -> dict[str, dict[str, Any]]:
    """``{name: convert(spec, where)}`` for a non-empty dict of masks or boxes, with each one's
    ``class_labels`` (where given) checked."""
    if not isinstance(overlays, Mapping) or not overlays:
        raise MediaTypeError(
            f"image {key!r}: {kind} got {describe(overlays)}; accepted: {accepted}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name, spec in overlays.items():
        where = f"image {key!r} {item} {name!r}"
        converted = convert(spec, where)
        if isinstance(spec, Mapping) and "class_labels" in spec:
            converted["class_labels"] = _class_labels(spec["class_labels"], where=where)
        out[str(name)] = converted
    return out


def _class_labels(labels: Any, *, where: str) -> dict[int, str]:
    if not isinstance(labels, Mapping):
        raise MediaTypeError(
            f"{where}: class_labels got {describe(labels)}; accepted: a dict {{int id: str name}}"
        )
    try:
        return {int(scalar(k)): str(v) for k, v in labels.items()}
    except (TypeError, ValueError):
        raise MediaTypeError(
            f"{where}: class_labels keys must be integer class ids, got {list(labels)[:5]}"
        ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist() if getattr(value, "ndim", 0) else scalar(value)
    return value
