"""Helpers for the media tests (no tests here): history values and the files they point to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbwandb.local import read_run


def media_values(run: Any, key: str) -> list[dict[str, Any]]:
    """The JSON descriptions wandb wrote for ``key``, one per history row that has it."""
    return [row[key] for row in read_run(run.run_dir).history if key in row]


def media_value(run: Any, key: str) -> dict[str, Any]:
    values = media_values(run, key)
    assert len(values) == 1, f"expected one value for {key!r}, got {len(values)}"
    return values[0]


def media_file(run: Any, relative: str) -> Path:
    """A file under the run's files dir (``media/...``), which must exist and be non-empty."""
    path = Path(run.files_dir) / relative
    assert path.is_file(), f"{relative} is not in {run.files_dir}"
    assert path.stat().st_size > 0
    return path


def table_json(run: Any, key: str, index: int = -1) -> dict[str, Any]:
    value = media_values(run, key)[index]
    assert value["_type"] == "table-file"
    return json.loads(media_file(run, value["path"]).read_text())


def png_array(path: Path) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)
