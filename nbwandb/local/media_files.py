"""Load the files behind media entries of a local run (images, tables) for display.

>>> media = {entry["key"]: entry for entry in nbwandb.local.read_run(media_run_dir).media}
>>> image, table = media["seg"], media["tab"]
>>> data_uri(image["file"])[:22]
'data:image/png;base64,'
>>> load_table(table["file"], max_rows=5)
{'columns': ['x', 'y'], 'data': [[1, 2]], 'nrows': 1, 'first_row': 0}

A table with image cells: the ``files/media/table/...`` copy wandb writes next to the run
holds only the word "Image" in those cells; the full table (cells like
``{"_type": "image-file", "path": "media/images/....png"}``) and its images live in the
``run_table`` artifact wandb logs with it, staged on disk until the run is synced.
``staged_tables`` finds those staged files; ``thumbnail_uri`` embeds one image small.
"""

from __future__ import annotations

import base64
import io
import json
import mimetypes
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError
from nbwandb.wandb_compat.logfile import LogReader
from nbwandb.wandb_compat.protobufs import record_module

MAX_EMBED_BYTES = 4 * 1024 * 1024  # larger files are listed, not embedded in an HTML report
IMAGE_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


def data_uri(path: str | Path, max_bytes: int = MAX_EMBED_BYTES) -> str | None:
    """The file as a ``data:`` URI, or None when it is missing or larger than ``max_bytes``."""
    p = Path(path)
    try:
        if p.stat().st_size > max_bytes:
            return None
        raw = p.read_bytes()
    except OSError:
        return None
    mime = (
        IMAGE_MIME.get(p.suffix.lower())
        or mimetypes.guess_type(p.name)[0]
        or "application/octet-stream"
    )
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def load_table(path: str | Path, max_rows: int = 20, *, last: bool = False) -> dict[str, Any]:
    """The columns and first (or, with ``last=True``, last) ``max_rows`` rows of a ``*.table.json``.

    ``first_row`` is the index of the first row returned (``nrows - max_rows`` for the last rows).
    """
    p = Path(path)
    try:
        payload = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NbwandbError(f"cannot read table file {str(p)!r}: {exc}") from exc
    if not isinstance(payload, dict) or "columns" not in payload:
        raise NbwandbError(f"{str(p)!r} is not a wandb table file (no 'columns')")
    data = payload.get("data") or []
    first = max(0, len(data) - max_rows) if last else 0
    return {
        "columns": list(payload["columns"]),
        "data": data[first : first + max_rows],
        "nrows": len(data),
        "first_row": first,
    }


def staged_tables(run_file: str | Path) -> dict[str, dict[str, Path]]:
    """``{table key: {path in the artifact: staged file}}`` for the newest ``run_table`` artifact per key.

    wandb logs every table as an artifact whose entry ``<key>.table.json`` is the full table;
    an offline run keeps the entries as staged files (named in the run file's artifact record)
    until it is synced. One pass over the run file; only artifact records are decoded.
    Keys whose table file is gone (synced, cleaned up) are left out.

    >>> run_file = nbwandb.local.read_run(media_run_dir).run_file
    >>> files = staged_tables(run_file)["tab"]
    >>> load_table(files["tab.table.json"], 10, last=True)["data"]
    [[1, 2]]
    """
    found: dict[str, dict[str, Path]] = {}
    pb = record_module()
    reader = LogReader(run_file)
    try:
        while True:
            for payload in reader.read_available(max_bytes=8 * 1024 * 1024):
                if b"run_table" not in payload:  # cheap pre-check on the raw bytes
                    continue
                record = pb.Record.FromString(payload)
                if (
                    record.WhichOneof("record_type") != "artifact"
                    or record.artifact.type != "run_table"
                ):
                    continue
                files = {
                    e.path: Path(e.local_path)
                    for e in record.artifact.manifest.contents
                    if e.local_path
                }
                for name in files:
                    if name.endswith(".table.json"):
                        # the run file is in logging order: the last artifact of a key is its newest
                        found[name[: -len(".table.json")]] = files
            if not reader.more:
                break
    except (OSError, NbwandbError, ValueError):
        return {}
    return {key: files for key, files in found.items() if files[f"{key}.table.json"].is_file()}


def thumbnail_uri(
    path: str | Path, max_px: int = 64, max_bytes: int = MAX_EMBED_BYTES
) -> str | None:
    """A PNG ``data:`` URI of the image at ``path``, shrunk to fit ``max_px`` x ``max_px``.

    None when the file is missing, too large, or not an image PIL can read.

    >>> image = next(e for e in nbwandb.local.read_run(media_run_dir).media if e["key"] == "seg")
    >>> thumbnail_uri(image["file"], 64)[:22]
    'data:image/png;base64,'
    """
    p = Path(path)
    try:
        if p.stat().st_size > max_bytes:
            return None
        from PIL import Image

        with Image.open(p) as img:
            img.thumbnail((max_px, max_px))  # keeps the aspect ratio; never enlarges
            small = img.convert("RGBA" if "A" in img.getbands() else "RGB")
            buf = io.BytesIO()
            small.save(buf, format="PNG")
    except (OSError, ValueError, ImportError):
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
