"""A logged image with its masks and boxes drawn over it, as one self-contained SVG.

wandb stores an image's overlays beside it: each mask as a PNG of class ids
(``media/images/mask/*.mask.png``), each box set as JSON (``media/metadata/boxes2D/*.json``),
both named in the history row's image value. Here the mask is coloured per class and
laid over the image at 45 % opacity, and each box is a rectangle with its caption.
Pillow colours the masks (without it, only boxes are drawn).

>>> row = nbwandb.local.read_run(media_run_dir).history[0]
>>> svg = image_with_overlays_svg(media_run_dir, row["seg"], "seg")
>>> svg.startswith("<svg"), "cat" in svg
(True, True)
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from nbwandb.local.media_files import data_uri

# tab10: class 1 gets the first colour; class 0 (background) stays clear
CLASS_COLORS = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
DISPLAY_PX = 256


def has_overlays(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("masks") or value.get("boxes"))


def _mask_uri(path: Path) -> str | None:
    """The class-id mask as a transparent PNG: each class its colour, the background clear."""
    try:
        import numpy as np
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as img:
            ids = np.asarray(img.convert("L"))
    except OSError:
        return None
    rgba = np.zeros((*ids.shape, 4), dtype=np.uint8)
    for class_id in np.unique(ids):
        if class_id == 0:
            continue
        rgba[ids == class_id] = (*CLASS_COLORS[(int(class_id) - 1) % len(CLASS_COLORS)], 255)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _boxes(path: Path, width: int, height: int) -> list[str]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    labels = {str(k): v for k, v in (payload.get("class_labels") or {}).items()}
    out = []
    for box in payload.get("box_data") or []:
        pos = box.get("position") or {}
        pixel = box.get("domain") == "pixel"
        sx, sy = (1, 1) if pixel else (width, height)
        if {"minX", "maxX", "minY", "maxY"} <= pos.keys():
            x0, x1, y0, y1 = pos["minX"] * sx, pos["maxX"] * sx, pos["minY"] * sy, pos["maxY"] * sy
        elif {"middle", "width", "height"} <= pos.keys():
            (mx, my), bw, bh = pos["middle"], pos["width"], pos["height"]
            x0, x1, y0, y1 = (
                (mx - bw / 2) * sx,
                (mx + bw / 2) * sx,
                (my - bh / 2) * sy,
                (my + bh / 2) * sy,
            )
        else:
            continue
        class_id = box.get("class_id", 1)
        r, g, b = (
            CLASS_COLORS[(int(class_id) - 1) % len(CLASS_COLORS)]
            if isinstance(class_id, int)
            else CLASS_COLORS[0]
        )
        caption = box.get("box_caption") or labels.get(str(class_id)) or ""
        stroke = max(width, height) / 128
        out.append(
            f"<rect x='{x0:.2f}' y='{y0:.2f}' width='{x1 - x0:.2f}' height='{y1 - y0:.2f}' fill='none' "
            f"stroke='rgb({r},{g},{b})' stroke-width='{stroke:.2f}'><title>{html.escape(str(caption))}</title>"
            "</rect>"
        )
        if caption:
            out.append(
                f"<text x='{x0 + stroke:.2f}' y='{y0 + 9 * stroke:.2f}' font-size='{8 * stroke:.2f}' "
                f"font-family='sans-serif' fill='white' stroke='rgb({r},{g},{b})' "
                f"stroke-width='{stroke:.2f}' paint-order='stroke'>{html.escape(str(caption))}</text>"
            )
    return out


def image_with_overlays_svg(
    run_dir: str | Path, value: dict[str, Any], alt: str, display_px: int = DISPLAY_PX
) -> str | None:
    """An ``<svg>`` of the image in ``value`` (a history row's image dict) with its overlays, or None."""
    files = Path(run_dir) / "files"
    src = data_uri(files / str(value.get("path", "")))
    if src is None:
        return None
    width, height = int(value.get("width") or 0), int(value.get("height") or 0)
    if not (width and height):
        return None
    scale = display_px / max(width, height)
    parts = [
        f"<svg class='media overlay' role='img' aria-label='{html.escape(alt)}' "
        f"width='{width * scale:.0f}' height='{height * scale:.0f}' viewBox='0 0 {width} {height}'>",
        f"<image href='{src}' width='{width}' height='{height}' style='image-rendering:pixelated'/>",
    ]
    masks = value.get("masks") or {}
    for name, mask in masks.items():
        uri = _mask_uri(files / str(mask.get("path", ""))) if isinstance(mask, dict) else None
        if uri:
            parts.append(
                f"<image class='mask' href='{uri}' width='{width}' height='{height}' opacity='0.45' "
                f"style='image-rendering:pixelated'><title>{html.escape(str(name))}</title></image>"
            )
    for boxes in (value.get("boxes") or {}).values():
        if isinstance(boxes, dict) and boxes.get("path"):
            parts += _boxes(files / str(boxes["path"]), width, height)
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["has_overlays", "image_with_overlays_svg"]
