"""Load the files behind media entries of a local run (images, tables) for display.

>>> entry = read_run(path).media[0]            # doctest: +SKIP
>>> data_uri(entry["file"])[:22]               # doctest: +SKIP
'data:image/png;base64,'
>>> load_table(entry["file"], max_rows=5)      # doctest: +SKIP
{'columns': ['x', 'y'], 'data': [[1, 2]], 'nrows': 1}
"""

from __future__ import annotations

import base64
import json
import mimetypes
from pathlib import Path
from typing import Any

from ..errors import NbwandbError

MAX_EMBED_BYTES = 4 * 1024 * 1024  # larger files are listed, not embedded in an HTML report
IMAGE_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
              ".bmp": "image/bmp", ".webp": "image/webp", ".svg": "image/svg+xml"}


def data_uri(path: str | Path, max_bytes: int = MAX_EMBED_BYTES) -> str | None:
    """The file as a ``data:`` URI, or None when it is missing or larger than ``max_bytes``."""
    p = Path(path)
    try:
        if p.stat().st_size > max_bytes:
            return None
        raw = p.read_bytes()
    except OSError:
        return None
    mime = IMAGE_MIME.get(p.suffix.lower()) or mimetypes.guess_type(p.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def load_table(path: str | Path, max_rows: int = 20) -> dict[str, Any]:
    """The columns and first ``max_rows`` rows of a ``*.table.json`` file wandb wrote."""
    p = Path(path)
    try:
        payload = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NbwandbError(f"cannot read table file {str(p)!r}: {exc}") from exc
    if not isinstance(payload, dict) or "columns" not in payload:
        raise NbwandbError(f"{str(p)!r} is not a wandb table file (no 'columns')")
    data = payload.get("data") or []
    return {"columns": list(payload["columns"]), "data": data[:max_rows], "nrows": len(data)}
