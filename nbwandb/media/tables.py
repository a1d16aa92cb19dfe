"""Tables and text: from lists of rows, dicts of columns, pandas DataFrames, 2-D arrays.

Cells may hold images (tensors, arrays, PIL images, figures: converted as in
``nbwandb.media.images``), numbers (numpy/torch scalars become Python numbers), strings.
A table over wandb's row limit (``wandb.Table.MAX_ROWS``, 10 000) raises unless you ask
for a sample with ``sample=N`` (N rows drawn with a fixed seed, kept in their order).

>>> images = np.zeros((2, 8, 8, 3), np.uint8)
>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_table("preds", {"image": images, "label": ["cat", "dog"], "pred": ["cat", "cat"]})
...     table = PredictionTable()
...     table.add_batch(1, images, ["cat", "dog"], ["cat", "cat"], [0.9, 0.4])
...     table.log(run, "samples", step=1)
>>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
[('preds', 'table'), ('samples', 'table')]
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nbwandb.media.arrays import (
    MediaError,
    MediaTypeError,
    array_to_pil,
    describe,
    is_torch_tensor,
    positive_int,
    scalar,
    wandb_module,
    warn_once,
)
from nbwandb.media.images import list_to_arrays, to_image_array, to_image_batch
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key

TABLE_ACCEPTED = (
    "a list of rows (lists/tuples, or dicts), a dict {column: values}, "
    "a pandas DataFrame, or a 2-D array"
)
SAMPLE_SEED = 0


def default_max_rows() -> int:
    """wandb's row limit for a table logged to a run."""
    return int(wandb_module().Table.MAX_ROWS)


def to_table_rows(
    data: Any,
    columns: Sequence[str] | None = None,
    *,
    key: str = "table",
    sample: int | None = None,
    max_rows: int | None = None,
) -> tuple[list[str], list[list[Any]]]:
    """``(columns, rows)`` ready for a ``wandb.Table``: every cell converted to a value wandb
    tables take, ``sample`` rows drawn (seeded), more than wandb's row limit refused.

    >>> to_table_rows({"a": [1, 2], "b": ["x", "y"]}, key="t")
    (['a', 'b'], [[1, 'x'], [2, 'y']])
    """
    names, raw = _columns_and_rows(data, columns, key=key)
    limit = max_rows if max_rows is not None else default_max_rows()
    if sample is not None:
        sample = positive_int(sample, name="sample", what="table", key=key, upper=limit)
        if sample < len(raw):
            picked = sorted(random.Random(SAMPLE_SEED).sample(range(len(raw)), sample))
            raw = [raw[i] for i in picked]
    elif len(raw) > limit:
        raise MediaError(
            f"table {key!r}: {len(raw)} rows is over wandb's limit of {limit} rows per table; "
            f"pass sample=N (N <= {limit}) to log N rows drawn at random, or slice the data"
        )
    rows = [
        [_cell(value, key=key, column=names[j], row=i) for j, value in enumerate(row)]
        for i, row in enumerate(raw)
    ]
    return names, rows


table_rows = to_table_rows  # its first name (``nbwandb.media.table_rows``), kept


def make_table(
    data: Any,
    columns: Sequence[str] | None = None,
    *,
    key: str = "table",
    sample: int | None = None,
) -> Any:
    """A ``wandb.Table`` from rows, a dict of columns, a DataFrame or a 2-D array."""

    names, rows = to_table_rows(data, columns, key=key, sample=sample)
    return _wandb_table(names, rows, where=f"table {key!r}")


def log_table(
    run: RunHandle,
    key: str,
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    sample: int | None = None,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log a table; ``columns`` names the columns of row lists (or picks DataFrame/dict columns).

    Raises:
        MediaError: (also a ValueError) rows of different lengths, or ``columns`` that do
            not match them.
        MediaTypeError: (also a TypeError) data of a type that is no table.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    run.log({key: make_table(data, columns, key=full, sample=sample)}, step=step, prefix=prefix)


def log_text(
    run: RunHandle, key: str, text: Any, *, step: int | None = None, prefix: str | None = None
) -> None:
    """Log text as a table: a string is one row of column ``text``, a list of strings one row each.

    Rows of several cells, or a dict of columns, become a table as in ``log_table``.

    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     run.log_text("generated", ["a cat sat", "a dog ran"], step=3)
    >>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
    [('generated', 'table')]

    Raises:
        MediaTypeError: (also a TypeError) ``text`` is not a string, a list of strings or rows.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    if isinstance(text, str):
        data: Any = {"text": [text]}
    elif isinstance(text, (list, tuple)) and text and all(isinstance(t, str) for t in text):
        data = {"text": list(text)}
    elif (isinstance(text, (list, tuple, Mapping)) and text) or _is_dataframe(text):
        data = text
    else:
        raise MediaTypeError(
            f"text {full!r}: got {describe(text)}; accepted: a string, a non-empty "
            "list of strings, or rows/columns of text as log_table takes"
        )
    run.log({key: make_table(data, key=full)}, step=step, prefix=prefix)


class PredictionTable:
    """Sample predictions over time: rows (epoch, image, label, prediction, score), one table.

    Rows are kept as small uint8 arrays (at most ``max_rows``; the oldest go first, with a
    warning), and each ``log`` writes the whole table so far, so the W&B table grows epoch
    by epoch. Each row's PNG is encoded once, at its first ``log``, and reused after.

    >>> table = PredictionTable()
    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     for epoch in range(3):
    ...         table.add(epoch, np.zeros((8, 8)), label="cat", prediction="dog", score=0.3)
    ...         table.log(run, "predictions", step=epoch)
    >>> len(table), [row[0] for row in table.rows()]
    (3, [0, 1, 2])
    """

    columns = ("epoch", "image", "label", "prediction", "score")

    def __init__(self, *, max_rows: int = 10_000) -> None:
        self.max_rows = positive_int(
            max_rows, name="max_rows", what="PredictionTable", key="max_rows"
        )
        # [epoch, image array, label, prediction, score, wandb.Image or None (made at first log)]
        self._rows: deque[list[Any]] = deque(maxlen=self.max_rows)

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self, epoch: int, image: Any, label: Any, prediction: Any, score: float | None = None
    ) -> None:
        """Add one row; ``image`` is anything ``to_image_array`` takes."""
        self._append(
            epoch, to_image_array(image, key="PredictionTable.add"), label, prediction, score
        )

    def add_batch(
        self,
        epoch: int,
        images: Any,
        labels: Sequence[Any],
        predictions: Sequence[Any],
        scores: Sequence[float] | None = None,
    ) -> None:
        """Add one row per image of a batch (converted in one vectorised step)."""
        where = "PredictionTable.add_batch"
        arrays = (
            list_to_arrays(images, key=where)
            if isinstance(images, (list, tuple))
            else to_image_batch(images, key=where)
        )
        n = len(arrays)
        for name, values in (("labels", labels), ("predictions", predictions), ("scores", scores)):
            if values is not None and len(values) != n:
                raise MediaError(
                    f"{where}: got {len(values)} {name} for {n} images; pass one per image"
                )
        for i in range(n):
            self._append(
                epoch, arrays[i], labels[i], predictions[i], None if scores is None else scores[i]
            )

    def _append(
        self, epoch: Any, image: np.ndarray, label: Any, prediction: Any, score: Any
    ) -> None:
        epoch = scalar(epoch)
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise MediaTypeError(f"PredictionTable: epoch must be an int, got {describe(epoch)}")
        score = scalar(score)
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise MediaTypeError(
                f"PredictionTable: score must be a number or None, got {describe(score)}"
            )
        if len(self._rows) == self.max_rows:
            warn_once(
                "prediction-table",
                str(id(self)),
                f"PredictionTable is full ({self.max_rows} rows); the oldest rows are dropped",
            )
        self._rows.append([epoch, image.copy(), _label(label), _label(prediction), score, None])

    def rows(self) -> list[list[Any]]:
        """The rows as lists (images as (H, W, C) uint8 arrays), e.g. for a notebook preview."""
        return [row[:5] for row in self._rows]

    def to_wandb(self, *, key: str = "PredictionTable") -> Any:
        """A fresh ``wandb.Table`` of all rows so far."""
        wandb = wandb_module()
        for row in self._rows:
            if row[5] is None:  # wandb.Image encodes the PNG once; later tables reuse it
                row[5] = wandb.Image(array_to_pil(row[1]))
        data = [
            [e, wb_image, label, pred, score] for e, _, label, pred, score, wb_image in self._rows
        ]
        return _wandb_table(list(self.columns), data, where=f"PredictionTable {key!r}")

    def log(
        self, run: RunHandle, key: str, *, step: int | None = None, prefix: str | None = None
    ) -> None:
        """Log all rows so far as one table under ``key``."""
        if not self._rows:
            raise MediaError(
                f"PredictionTable {join_key(prefix, key)!r}: no rows yet; call add(...) first"
            )
        if not getattr(run, "enabled", True):
            return
        run.log({key: self.to_wandb(key=join_key(prefix, key))}, step=step, prefix=prefix)

    def __repr__(self) -> str:
        return f"<PredictionTable {len(self)} rows, columns {list(self.columns)}>"


# -- internals ----------------------------------------------------------------------------------
def _wandb_table(names: list[str], rows: list[list[Any]], *, where: str) -> Any:
    """A wandb.Table, after checking that each column keeps one kind of value.

    wandb checks this too, but its message prints every cell's repr; ours names the column.
    """
    for j, name in enumerate(names):
        first: dict[str, int] = {}
        for i, row in enumerate(rows):
            kind = _kind(row[j])
            if kind is not None and kind not in first:
                first[kind] = i
        if len(first) > 1:
            seen = ", ".join(f"{kind} (first in row {i})" for kind, i in first.items())
            raise MediaTypeError(
                f"{where}: column {name!r} mixes {seen}; keep one type per column "
                "(e.g. every label a str), None is allowed"
            )
    try:
        return wandb_module().Table(columns=names, data=rows)
    except TypeError as exc:
        raise MediaTypeError(
            f"{where}: {str(exc).splitlines()[0]} (keep one type per column; None is allowed)"
        ) from None


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def _label(value: Any) -> Any:
    value = scalar(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise MediaTypeError(
        f"PredictionTable: labels and predictions must be str or numbers, got {describe(value)}"
    )


def _columns_and_rows(
    data: Any, columns: Sequence[str] | None, *, key: str
) -> tuple[list[str], list[Any]]:
    if columns is not None:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise MediaTypeError(
                f"table {key!r}: columns must be a list of strings, got {columns!r}"
            )
        columns = list(columns)
        if len(set(columns)) != len(columns):
            raise MediaError(f"table {key!r}: columns {columns} has duplicate names")
    if _is_dataframe(data):
        data = {str(c): data[c].tolist() for c in data.columns}
    if isinstance(data, Mapping):
        return _from_columns(data, columns, key=key)
    if is_torch_tensor(data) or isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise MediaError(f"table {key!r}: got {describe(data)}; accepted: {TABLE_ACCEPTED}")
        data = list(data)
    if not isinstance(data, (list, tuple)):
        raise MediaTypeError(f"table {key!r}: got {describe(data)}; accepted: {TABLE_ACCEPTED}")
    if data and all(isinstance(row, Mapping) for row in data):
        names = columns or list(dict.fromkeys(k for row in data for k in row))
        return [str(n) for n in names], [[row.get(n) for n in names] for row in data]
    if not data:
        if columns is None:
            raise MediaError(
                f"table {key!r}: got no rows and no columns; pass columns=[...] for an empty table"
            )
        return columns, []
    rows = []
    width = len(columns) if columns is not None else None
    for i, row in enumerate(data):
        if is_torch_tensor(row) or isinstance(row, np.ndarray):
            row = list(row)
        if not isinstance(row, (list, tuple)):
            raise MediaTypeError(
                f"table {key!r}: row {i} is {describe(row)}; each row must be a list or "
                f"tuple of cells; accepted: {TABLE_ACCEPTED}"
            )
        width = len(row) if width is None else width
        if len(row) != width:
            what = (
                f"the {width} columns {columns}"
                if columns is not None
                else f"row 0's {width} cells"
            )
            raise MediaError(f"table {key!r}: row {i} has {len(row)} cells, not {what}")
        rows.append(list(row))
    return (columns or [f"c{j}" for j in range(width or 0)]), rows


def _from_columns(
    data: Mapping[Any, Any], columns: list[str] | None, *, key: str
) -> tuple[list[str], list[Any]]:
    if not data:
        raise MediaError(f"table {key!r}: got an empty dict; accepted: {TABLE_ACCEPTED}")
    names = [str(c) for c in data]
    if columns is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise MediaError(
                f"table {key!r}: columns {missing} are not in the data (it has {names})"
            )
        names = columns
    by_name = {str(c): v for c, v in data.items()}
    values = []
    for name in names:
        column = by_name[name]
        if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
            raise MediaTypeError(
                f"table {key!r}: column {name!r} is {describe(column)}; each column "
                "must be a list, array or tensor of values"
            )
        values.append(column)
    lengths = {name: len(v) for name, v in zip(names, values, strict=True)}
    if len(set(lengths.values())) > 1:
        raise MediaError(f"table {key!r}: the columns have different lengths {lengths}")
    # Index lazily (a tensor column of images is sliced per row, not copied as a whole).
    n = len(values[0])
    return names, [[column[i] for column in values] for i in range(n)]


def _is_dataframe(x: Any) -> bool:
    return (
        type(x).__module__.split(".")[0] == "pandas"
        and hasattr(x, "columns")
        and hasattr(x, "itertuples")
    )


def _cell(value: Any, *, key: str, column: str, row: int) -> Any:
    """A cell wandb can store: numbers, strings, None, wandb media, images from arrays."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if type(value).__module__.startswith("wandb."):
        return value
    if is_torch_tensor(value) or isinstance(value, (np.ndarray, np.generic)):
        shape = tuple(getattr(value, "shape", ()))
        ndim = len(shape)
        if ndim == 0 or shape == (1,):
            return scalar(value.reshape(()) if ndim else value)
        if ndim == 1:
            return [scalar(v) for v in value]
    if (
        isinstance(value, Path)
        or type(value).__module__.startswith(("PIL.", "matplotlib."))
        or is_torch_tensor(value)
        or isinstance(value, np.ndarray)
    ):
        image = to_image_array(value, key=f"{key}[{row}].{column}")
        return wandb_module().Image(array_to_pil(image))
    if isinstance(value, (list, tuple)):
        return [_cell(v, key=key, column=column, row=row) for v in value]
    raise MediaTypeError(
        f"table {key!r}: row {row}, column {column!r} holds {describe(value)}; cells "
        "may be numbers, strings, None, images (tensor, array, PIL, Path) or wandb media"
    )
