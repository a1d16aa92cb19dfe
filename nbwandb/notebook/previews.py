"""``TablePreview`` and ``MediaGallery``: look at a table or images before (or after) logging them.

Before: pass the data. After: ``from_run`` reads what a run wrote (its ``.wandb`` file and
media files, through ``nbwandb.local.read_run``), so it works for finished offline runs too.

>>> import numpy as np
>>> preview = TablePreview({"x": [1, 2], "y": ["a", "b"]})
>>> gallery = MediaGallery([np.zeros((8, 8)), np.ones((8, 8))], captions=["cat", "dog"])
>>> logged = MediaGallery.from_run(media_run_dir, key="seg")   # a run handle or its folder
>>> [type(panel).__name__ for panel in (preview, gallery, logged)]
['TablePreview', 'MediaGallery', 'MediaGallery']
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nbwandb.local import read_run
from nbwandb.notebook._widgets import TextForms, escape, widgets
from nbwandb.notebook.images import ACCEPTED as IMAGE_ACCEPTED
from nbwandb.notebook.images import thumbnail_png
from nbwandb.render.html_tables import cell_html, table_html
from nbwandb.run.handle import RunHandle

CELL_IMAGE_PX = 64  # image cells: one fixed size, as in W&B's tables
RunOrFolder = RunHandle | str | os.PathLike[str]  # what from_run reads (via read_run)

TABLE_ACCEPTED = (
    "a list of rows (lists or dicts), a dict of columns, a pandas DataFrame or a wandb.Table"
)


def _logged_media(run: RunOrFolder, kind: str, key: str | None) -> list[dict[str, Any]]:
    """The run's logged media entries of one kind (and key), oldest first; errors name what exists."""
    entries = [m for m in read_run(run).media if m.get("type") == kind and m.get("file")]
    if key is not None:
        chosen = [m for m in entries if m["key"] == key]
        if not chosen:
            known = sorted({m["key"] for m in entries})
            raise KeyError(
                f"no {kind} logged under {key!r} in this run; its {kind} keys are {known}"
            )
        entries = chosen
    return entries


def preview_rows(
    data: Any, columns: Sequence[str] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """The (columns, rows) a ``TablePreview`` shows, cells as given (not converted for wandb:
    that is ``nbwandb.media.to_table_rows``); also reads a ``wandb.Table``. Errors name what
    was received."""
    if type(data).__name__ == "DataFrame":
        return [str(c) for c in data.columns], data.values.tolist()
    if type(data).__name__ == "Table" and hasattr(data, "columns") and hasattr(data, "data"):
        return [str(c) for c in data.columns], [list(r) for r in data.data]
    if isinstance(data, Mapping):
        cols = [str(k) for k in data]
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"table columns have different lengths {lengths}; use columns of one length"
            )
        return cols, [list(r) for r in zip(*data.values(), strict=True)]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        rows = list(data)
        if rows and all(isinstance(r, Mapping) for r in rows):
            cols = list(columns or dict.fromkeys(k for r in rows for k in r))
            return [str(c) for c in cols], [[r.get(c) for c in cols] for r in rows]
        if all(isinstance(r, Sequence) and not isinstance(r, (str, bytes)) for r in rows):
            width = max((len(r) for r in rows), default=0)
            cols = list(columns) if columns is not None else [f"col{i}" for i in range(width)]
            if any(len(r) != len(cols) for r in rows):
                raise ValueError(f"table rows must have {len(cols)} values (the columns {cols})")
            return [str(c) for c in cols], [list(r) for r in rows]
    raise TypeError(f"a table of type {type(data).__name__} is not accepted; use {TABLE_ACCEPTED}")


GALLERY_CSS = """<style>
.nbwandb-media-gallery .nbw-grid{display:flex;flex-wrap:wrap;gap:6px}
.nbwandb-media-gallery figure{margin:0;display:flex;flex-direction:column;align-items:center}
.nbwandb-media-gallery img,.nbwandb-media-gallery .widget-image{object-fit:contain;image-rendering:pixelated;
background:#f6f6f6;border:1px solid #e3e3e3}
.nbwandb-media-gallery figcaption,.nbwandb-media-gallery .nbw-cap{font:11px system-ui,sans-serif;color:#555;
text-align:center;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
</style>"""


def _looks_like_image(value: Any) -> bool:
    """An image in a table cell: a wandb.Image, a PIL image, or a 2-D/3-D array with more than a few pixels."""
    if type(value).__name__ == "Image" and type(value).__module__.split(".")[0] in ("wandb", "PIL"):
        return True
    shape = getattr(value, "shape", None)
    return (
        shape is not None
        and len(shape) in (2, 3)
        and min(shape[:2]) >= 4
        and hasattr(value, "dtype")
    )


class TablePreview(TextForms, widgets.VBox):
    """The first ``max_rows`` rows of a table as HTML, with its shape.

    The content never changes, so its output is plain HTML from the start (it needs no
    kernel to show again); the widget can still be placed inside other widgets.
    """

    def __init__(
        self, data: Any, *, columns: Sequence[str] | None = None, max_rows: int = 20
    ) -> None:
        self.columns, self.rows = preview_rows(data, columns)
        self.max_rows = max_rows
        super().__init__(children=[widgets.HTML(self._html())])
        self.add_class("nbwandb-table-preview")

    @classmethod
    def from_run(cls, run: RunOrFolder, key: str, *, max_rows: int = 20) -> TablePreview:
        """The last table logged under ``key`` in ``run`` (a run handle or a run folder)."""
        entry = _logged_media(run, "table", key)[-1]
        data = json.loads(Path(entry["file"]).read_text())
        return cls(data.get("data", []), columns=data.get("columns"), max_rows=max_rows)

    def _shape(self) -> str:
        shown = min(len(self.rows), self.max_rows)
        return f"{len(self.rows)} rows x {len(self.columns)} columns" + (
            f" (first {shown} shown)" if shown < len(self.rows) else ""
        )

    def _is_final(self) -> bool:
        return True

    def _html(self) -> str:
        def cell(value: Any, column: str) -> str:
            if _looks_like_image(value):
                try:
                    png = thumbnail_png(value, CELL_IMAGE_PX)
                except (TypeError, ValueError):
                    return cell_html(f"<{type(value).__name__}>")
                src = base64.b64encode(png).decode("ascii")
                return f"<td><img class='nbw-cell' alt='{escape(column)}' src='data:image/png;base64,{src}'></td>"
            return cell_html(value)

        return table_html(
            self.columns,
            self.rows[: self.max_rows],
            caption=self._shape(),
            cell=cell,
            wrapper_class="nbwandb-table-preview",
        )

    def _text(self) -> str:
        lines = [f"table: {self._shape()}", " | ".join(self.columns)]
        lines += [" | ".join(str(v) for v in row) for row in self.rows[: self.max_rows]]
        return "\n".join(lines)


class MediaGallery(TextForms, widgets.VBox):
    """Thumbnails of images (arrays, tensors, PIL images, paths, wandb.Image) with captions.

    Every image sits in a ``size`` px cell, small ones upscaled with sharp pixels (as
    TensorBoard does), the caption below; "16 of 40 shown" says when some are left out.
    """

    def __init__(
        self,
        images: Any,
        *,
        captions: Sequence[str] | None = None,
        max_images: int = 16,
        size: int = 128,
    ) -> None:
        items = self._as_list(images)
        if captions is not None and len(captions) != len(items):
            raise ValueError(
                f"captions has {len(captions)} entries for {len(items)} images; give one per image"
            )
        self.captions = (
            [str(c) for c in captions]
            if captions is not None
            else [f"#{i}" for i in range(len(items))]
        )
        self.total = len(items)
        self.size = size
        self.thumbnails = [thumbnail_png(img, size) for img in items[:max_images]]
        boxes = []
        cell = f"{size}px"
        for png, caption in zip(self.thumbnails, self.captions, strict=False):
            image = widgets.Image(
                value=png, format="png", layout=widgets.Layout(width=cell, height=cell)
            )
            label = widgets.HTML(
                f"<div class='nbw-cap' style='width:{size}px' title='{escape(caption)}'>"
                f"{escape(caption)}</div>"
            )
            box = widgets.VBox(
                [image, label], layout=widgets.Layout(width=cell, margin="0 6px 6px 0")
            )
            box.add_class("nbwandb-thumbnail")
            boxes.append(box)
        header = widgets.HTML(GALLERY_CSS + f"<small>{escape(self._count())}</small>")
        super().__init__(
            children=[header, widgets.HBox(boxes, layout=widgets.Layout(flex_flow="row wrap"))]
        )
        self.add_class("nbwandb-media-gallery")

    @classmethod
    def from_run(
        cls, run: RunOrFolder, key: str | None = None, *, max_images: int = 16, size: int = 128
    ) -> MediaGallery:
        """The latest ``max_images`` images ``run`` logged (under ``key``, or all keys)."""
        entries = _logged_media(run, "image", key)[-max_images:]
        captions = [
            f"{m['key']} @ {m.get('step')}" + (f": {m['caption']}" if m.get("caption") else "")
            for m in entries
        ]
        return cls(
            [m["file"] for m in entries], captions=captions, max_images=max_images, size=size
        )

    @staticmethod
    def _as_list(images: Any) -> list[Any]:
        if isinstance(images, (list, tuple)):
            return list(images)
        shape = getattr(images, "shape", None)
        if shape is not None and len(shape) == 4:  # a batch (N, C, H, W) or (N, H, W, C)
            return [images[i] for i in range(shape[0])]
        if shape is not None or hasattr(images, "size") or isinstance(images, str):
            return [images]
        raise TypeError(
            f"images of type {type(images).__name__} are not accepted; use a list of {IMAGE_ACCEPTED}"
        )

    def _count(self) -> str:
        shown = len(self.thumbnails)
        noun = "image" if self.total == 1 else "images"
        return (
            f"{shown} of {self.total} {noun} shown"
            if shown < self.total
            else f"{self.total} {noun}"
        )

    def _is_final(self) -> bool:
        return True

    def _text(self) -> str:
        shown = len(self.thumbnails)
        more = f" (first {shown} shown)" if shown < self.total else ""
        return f"gallery: {self.total} images{more}: " + ", ".join(self.captions[:shown])

    def _html(self) -> str:
        side = self.size
        figures = "".join(
            f"<figure><img width='{side}' height='{side}' style='width:{side}px;height:{side}px' "
            f"src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"
            f"<figcaption style='width:{side}px' title='{escape(c)}'>{escape(c)}</figcaption></figure>"
            for png, c in zip(self.thumbnails, self.captions, strict=False)
        )
        return (
            f"<div class='nbwandb-media-gallery'>{GALLERY_CSS}<small>{escape(self._count())}</small>"
            f"<div class='nbw-grid'>{figures}</div></div>"
        )
