"""A cache beside each ``.wandb`` run file: what showing and tabling a run needs, without its rows.

The first read of a run (``read_run(path, history=False)``, ``nbwandb.show``, ``list_runs``)
parses the run file once and writes ``.<run file name>.nbwandb-cache.npz`` next to it:

- the run's state (identity, config, summary, exit code, media entries, console) as JSON;
- the history as columns: one array per key, NaN where a row lacks the key (non-numeric
  cells kept as JSON text beside them);
- sampled series (``sampled.SampledSeries``): per numeric key, the min, max and last
  point of each of at most ``SAMPLE_BUCKETS`` buckets over the step axis.

``list_runs`` needs the state alone: ``read_state`` counts the rows without decoding them
and writes a light cache (the state, no arrays), which the first ``read_cached`` (``show``,
``columns()``) replaces with the full one.

It is keyed on the run file's size and modification time (nanoseconds). A file that grew
is read on from the byte offset where the cache ends, once the bytes before that offset
are checked to be the ones cached; a file that shrank or changed in place, a cache of
another version, or one that cannot be read whole is rebuilt, never trusted. The cache is
written to a temporary file and renamed, so a reader never sees half of one; a folder
that cannot be written to leaves the run uncached and the read goes on.

numpy's ``.npz`` (no pickles: ``allow_pickle=False``) is used because numpy is already a
dependency and its members load one at a time (``show`` loads the sampled points only).

>>> from nbwandb.local import read_run
>>> run = read_run(run_dir, history=False)    # builds the cache (or reuses it)
>>> cache_path(run.run_file).is_file()
True
>>> sorted(run.columns())[:2]
['_runtime', '_step']
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from nbwandb.errors import require
from nbwandb.local.records import decode_json, decode_row_json, history_json, item_json
from nbwandb.local.sampled import SampledSeries
from nbwandb.wandb_compat.logfile import LogReader

CACHE_VERSION = 1
SAMPLE_BUCKETS = 1024  # buckets per key: 3 points each at most, ~3,000 points a line
CHECK_LEN = 4096  # bytes before the cached offset checked before reading a grown file on
CACHE_WINDOW = 2 << 20  # bytes of the run file decoded into rows at a time when building it
_NAN = math.nan
_NUMBER = (int, float)

# LocalRun fields kept in the cache's JSON state (history rows are the columns)
_PLAIN_FIELDS = (
    "id",
    "project",
    "entity",
    "name",
    "group",
    "tags",
    "job_type",
    "notes",
    "host",
    "config",
    "exit_code",
    "truncated",
    "artifacts",
    "use_artifacts",
    "media",
    "console",
    "system",
    "files",
    "record_count",
    "skipped_records",
    "_runtime",
    "_console_partial",
    "_config_raw",
    "_history_rows",
)


def cache_path(run_file: str | os.PathLike[str]) -> Path:
    """Where the cache of ``run_file`` lives: a hidden file beside it.

    >>> cache_path(Path("wandb/offline-run-x/run-abc.wandb")).name
    '.run-abc.wandb.nbwandb-cache.npz'
    """
    p = Path(run_file)
    return p.with_name(f".{p.name}.nbwandb-cache.npz")


def step_of(row: dict[str, Any]) -> Any:
    """The x of a row on the step axis: nbwandb's ``global_step``, else wandb's ``_step``."""
    return row.get("global_step", row.get("_step"))


class ColumnBuilder:
    """History rows into columns, a window of rows at a time (memory: the arrays, not the rows).

    With ``spill=True`` each window's arrays go to one temporary file as they are made, and a
    column is put together only when asked (``column``: one at a time, as the cache is
    written), so building the cache of a million-row run holds a window, not the columns.

    >>> b = ColumnBuilder(); b.add_rows([{"a": 1}, {"a": 2.5, "b": "x"}])
    >>> cols = b.columns(); cols["a"].tolist(), b.others["b"]
    ([1.0, 2.5], [(1, '"x"')])
    >>> with ColumnBuilder(spill=True) as s:
    ...     s.add_rows([{"a": 1}]); s.add_rows([{"b": 2}]); s.column("b").tolist()
    [nan, 2.0]
    """

    def __init__(self, *, spill: bool = False) -> None:
        self.rows = 0
        # key -> (first row, values): an array, or (offset, length) in the spill file
        self.chunks: dict[str, list[tuple[int, Any]]] = {}
        self.others: dict[str, list[tuple[int, str]]] = {}  # key -> (row, JSON text)
        self.int_keys: dict[str, bool] = {}  # key -> every row so far holds an int
        self.sampler = SampledSeries(SAMPLE_BUCKETS)
        self.has_global_step = False
        self.last_step: Any = None  # the last row's _step (a run's ``step``)
        # closed by close() (or the with block): it outlives this call
        self._pending = 0  # rows given to add_history since the last flush
        self._texts: dict[str, tuple[list[int], list[str]]] = {}  # key -> (rows, JSON texts)
        self._spill: IO[bytes] | None = tempfile.TemporaryFile() if spill else None  # noqa: SIM115
        self._spill_end = 0

    def __enter__(self) -> ColumnBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let the spill file go (it is deleted when closed)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def _keep(self, key: str, first: int, values: np.ndarray) -> None:
        if self._spill is None:
            self.chunks.setdefault(key, []).append((first, values))
            return
        self._spill.seek(self._spill_end)
        self._spill.write(values.tobytes())
        self.chunks.setdefault(key, []).append((first, (self._spill_end, len(values))))
        self._spill_end += values.nbytes

    def _values(self, chunk: Any) -> np.ndarray:
        if isinstance(chunk, np.ndarray):
            return chunk
        offset, length = chunk
        assert self._spill is not None
        self._spill.seek(offset)
        return np.frombuffer(self._spill.read(length * 8), dtype=np.float64)

    def add_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add decoded rows (dicts)."""
        cells: dict[str, tuple[list[int], list[Any]]] = {}
        for i, row in enumerate(rows):
            for key, value in row.items():
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = ([], [])
                cell[0].append(i)
                cell[1].append(value)
        self._add_window(len(rows), cells)

    def add_history(self, history: Any) -> None:
        """Add one ``HistoryRecord`` without making its row: each value's JSON text is kept
        under its key, and a window's texts are decoded key by key in ``flush``."""
        r = self._pending
        cells = self._texts
        has_step = False
        for item in history.item:
            key = item.key
            if not key:
                nested = item.nested_key
                if len(nested) != 1:  # a nested key path: the row as the reader makes it
                    for rows, texts in cells.values():  # this row's cells so far go first
                        while rows and rows[-1] == r:
                            rows.pop()
                            texts.pop()
                    row = decode_row_json(history_json(history))
                    for k, v in row.items():
                        rows, texts = self._text_cell(k)
                        rows.append(r)
                        texts.append(json.dumps(v))
                    self._pending += 1
                    return
                key = nested[0]
            if key == "_step":
                has_step = True
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = ([], [])
            cell[0].append(r)
            cell[1].append(item.value_json or item_json(item))
        if not has_step and history.HasField("step"):
            rows, texts = self._text_cell("_step")
            rows.append(r)
            texts.append(str(history.step.num))
        self._pending += 1

    def _text_cell(self, key: str) -> tuple[list[int], list[str]]:
        cell = self._texts.get(key)
        if cell is None:
            cell = self._texts[key] = ([], [])
        return cell

    def flush(self) -> None:
        """Decode the texts ``add_history`` kept (one ``json.loads`` a key) into the columns."""
        n, texts = self._pending, self._texts
        self._pending, self._texts = 0, {}
        cells: dict[str, tuple[list[int], list[Any]]] = {}
        for key, (rows, cell_texts) in texts.items():
            try:
                values = json.loads("[" + ",".join(cell_texts) + "]")
            except ValueError:  # one unreadable value: each decoded alone, kept as its text
                values = [decode_json(t) for t in cell_texts]
            cells[key] = (rows, values)
        self._add_window(n, cells)

    def _add_window(self, n: int, cells: dict[str, tuple[list[int], list[Any]]]) -> None:
        """Add ``n`` rows given as ``key -> (row indexes, values)``."""
        if not n:
            return
        xs = np.full(n, _NAN)
        for x_key in ("_step", "global_step"):  # a row's global_step, else its _step
            if x_key in cells:
                rows, values = cells[x_key]
                xs[rows] = self._numbers(n, rows, values)[rows]
        if "global_step" in cells:
            self.has_global_step = True
        seq = np.arange(self.rows, self.rows + n, dtype=np.int64)
        for key, (rows, values) in cells.items():
            column = self._numbers(n, rows, values, key)
            all_int = len(rows) == n and set(map(type, values)) == {int}
            was_int = self.int_keys.get(key, self.rows == 0)
            self.int_keys[key] = was_int and all_int
            self._keep(key, self.rows, column)
            self.sampler.add(key, xs, column, seq)
        step = cells.get("_step")
        self.last_step = step[1][-1] if step and step[0][-1] == n - 1 else None
        self.rows += n

    def _numbers(
        self, n: int, rows: list[int], values: list[Any], key: str | None = None
    ) -> np.ndarray:
        """Numbers as float64 at their rows (NaN: missing, or not a number: bools and text
        too); with ``key``, those other cells are kept as JSON text in ``others``."""
        if set(map(type, values)) <= {int, float}:
            if len(rows) == n:
                return np.array(values, dtype=np.float64)
            out = np.full(n, _NAN)
            out[rows] = values
            return out
        out = np.full(n, _NAN)
        for r, v in zip(rows, values, strict=True):
            if type(v) in _NUMBER:
                out[r] = v
            elif key is not None:  # anything else is kept as JSON
                self.others.setdefault(key, []).append((self.rows + r, json.dumps(v)))
        return out

    def columns(self) -> dict[str, np.ndarray]:
        """Every key's numeric column over all rows (int64 where every row holds an int)."""
        return {key: self.column(key) for key in self.chunks}

    def column(self, key: str) -> np.ndarray:
        """One key's column over all rows (made when asked: one at a time stays small)."""
        chunks = self.chunks[key]
        if self.int_keys.get(key) and sum(n for _, n in map(_chunk_len, chunks)) == self.rows:
            try:
                return np.concatenate([self._values(c) for _, c in chunks]).astype(np.int64)
            except (OverflowError, ValueError):
                pass
        col = np.full(self.rows, _NAN)
        for start, chunk in chunks:
            values = self._values(chunk)
            col[start : start + len(values)] = values
        return col

    def seed(self, cache: RunCache) -> None:
        """Start from a cache's columns (a grown file: only the new rows are parsed); each
        column is loaded, kept (spilled) and let go before the next."""
        self.rows = int(cache.meta["rows"])
        for key in cache.keys:
            col = cache.column(key)
            self._keep(key, 0, col.astype(np.float64))
            self.int_keys[key] = col.dtype.kind == "i"
        for key, cells in cache.others().items():
            self.others[key] = list(cells)


def _chunk_len(item: tuple[int, Any]) -> tuple[int, int]:
    first, chunk = item
    return first, len(chunk) if isinstance(chunk, np.ndarray) else chunk[1]


class RunCache:
    """A loaded cache: its state, its sampled series and (loaded on use) its columns."""

    def __init__(self, meta: dict[str, Any], arrays: Any, path: Path | None) -> None:
        self.meta = meta
        self._arrays = arrays  # an NpzFile (members read on use) or a dict of arrays
        self.path = path

    @property
    def light(self) -> bool:
        """A cache of the state alone (``read_state``): no columns, no sampled series."""
        return bool(self.meta.get("light"))

    @property
    def offset(self) -> int:
        return int(self.meta["offset"])

    @property
    def keys(self) -> list[str]:
        return list(self.meta["keys"])

    def sampled(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(xs, ys)`` of ``key``'s sampled points, in step order (empty when not numeric)."""
        index = self.meta["sampled"].get(key)
        if index is None:
            return np.empty(0), np.empty(0)
        return self._arrays[f"s{index}x"], self._arrays[f"s{index}y"]

    def sampled_seq(self, key: str) -> np.ndarray:
        index = self.meta["sampled"].get(key)
        return np.empty(0, np.int64) if index is None else self._arrays[f"s{index}q"]

    def columns(self) -> dict[str, np.ndarray]:
        """Every key's numeric column (NaN where a row lacks the key or holds no number)."""
        return {key: self._arrays[f"c{i}"] for i, key in enumerate(self.keys)}

    def column(self, key: str) -> np.ndarray:
        """One key's column, loaded alone."""
        return self._arrays[f"c{self.keys.index(key)}"]  # type: ignore[no-any-return]

    def others(self) -> dict[str, list[tuple[int, str]]]:
        """Non-numeric cells per key: ``(row, JSON text)``."""
        out: dict[str, list[tuple[int, str]]] = {}
        for i, key in enumerate(self.keys):
            if f"o{i}r" in self.meta["other_keys"]:
                rows = self._arrays[f"o{i}r"].tolist()
                texts = json.loads(bytes(self._arrays[f"o{i}j"]).decode("utf-8"))
                out[key] = list(zip(rows, texts, strict=True))
        return out


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _check_bytes(run_file: Path, offset: int) -> int:
    """CRC-32 of the bytes just before ``offset``: a grown file must still hold them."""
    with open(run_file, "rb") as fh:
        start = max(0, offset - CHECK_LEN)
        fh.seek(start)
        return zlib.crc32(fh.read(offset - start))


def snapshot(run: Any) -> dict[str, Any]:
    """The JSON-able state of a ``LocalRun`` read without rows (what a cache restores)."""
    state = {name: getattr(run, name) for name in _PLAIN_FIELDS}
    state["start_time"] = run.start_time.isoformat() if run.start_time else None
    state["_summary_json"] = [
        [list(k) if isinstance(k, tuple) else k, v] for k, v in run._summary_json.items()
    ]
    state["_summary_heads"] = sorted(run._summary_heads)
    return state


def restore(run: Any, state: dict[str, Any]) -> None:
    import datetime as _dt

    for name in _PLAIN_FIELDS:
        setattr(run, name, state[name])
    start = state["start_time"]
    run.start_time = _dt.datetime.fromisoformat(start) if start else None
    run._summary_json = {
        (tuple(k) if isinstance(k, list) else k): v for k, v in state["_summary_json"]
    }
    run._summary_heads = set(state["_summary_heads"])
    run._summary = None


def load_cache(run_file: Path) -> RunCache | None:
    """The cache of ``run_file`` as stored (None: missing, unreadable or of another version).

    Whether it still matches the run file is for the caller (``read_cached``) to check.
    """
    path = cache_path(run_file)
    try:
        arrays = np.load(path, allow_pickle=False)
        meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
        if meta.get("version") != CACHE_VERSION:
            return None
        # members are read on use (zipfile checks each one's CRC-32 then): a damaged one
        # raises there, and the caller reads the run file again
        return RunCache(meta, arrays, path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        return None


def _write(
    run_file: Path,
    members: Iterator[tuple[str, np.ndarray]],
    meta: Callable[[], dict[str, Any]],
) -> Path | None:
    """Write the cache atomically (temp file, then rename); None when the folder is read-only.

    Members are written one at a time as ``members`` makes them (a million-row column is
    made, written and let go before the next), then ``meta()``: the layout of ``np.savez``.
    """
    target = cache_path(run_file)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for name, array in members:
                with zf.open(name + ".npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, array, allow_pickle=False)
            with zf.open("meta.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, _text_array(json.dumps(meta())), allow_pickle=False)
        os.replace(tmp, target)
        return target
    except OSError:  # a read-only folder or a full disk: no cache, the read still works
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return None


def _store(
    run: Any, builder: ColumnBuilder, file_size: int, mtime_ns: int, reader: LogReader
) -> RunCache:
    """Write what ``builder`` holds (and ``run``'s state) as the cache; returns it loaded."""
    keys = list(builder.chunks)
    other_keys = [f"o{i}r" for i, key in enumerate(keys) if builder.others.get(key)]
    points = builder.sampler.points()
    sampled = {key: j for j, key in enumerate(points)}
    int_keys: list[str] = []
    numeric: list[str] = []

    def members() -> Iterator[tuple[str, np.ndarray]]:
        int_keys.clear()
        numeric.clear()
        for i, key in enumerate(keys):
            col = builder.column(key)
            if col.dtype.kind == "i":
                int_keys.append(key)
            if col.dtype.kind == "i" or np.isfinite(col).any():
                numeric.append(key)
            yield f"c{i}", col
            cells = builder.others.get(key)
            if cells:
                yield f"o{i}r", np.array([r for r, _ in cells], dtype=np.int64)
                yield f"o{i}j", _text_array(json.dumps([t for _, t in cells]))
        for key, (xs, ys, seq) in points.items():
            j = sampled[key]
            yield f"s{j}x", xs
            yield f"s{j}y", ys
            yield f"s{j}q", seq

    def meta() -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "size": file_size,
            "mtime_ns": mtime_ns,
            "offset": reader.offset,
            "check": _check_bytes(run.run_file, reader.offset),
            "corrupt_reason": reader.corrupt_reason,
            "rows": builder.rows,
            "keys": keys,
            "other_keys": other_keys,
            "numeric_keys": list(numeric),
            "has_global_step": builder.has_global_step,
            "last_step": builder.last_step,
            "int_keys": list(int_keys),
            "sampled": sampled,
            "sampler": builder.sampler.state(),
            "state": snapshot(run),
        }

    if _write(run.run_file, members(), meta) is not None:
        cached = load_cache(run.run_file)
        if cached is not None:
            return cached
    arrays = dict(members())  # kept in memory: this read still uses it
    return RunCache(meta(), arrays, None)


def read_cached(
    run: Any,
    apply_records: Callable[[Any, list[bytes]], None],
    window: int = 8 << 20,
    pace: Callable[[], None] | None = None,
) -> RunCache:
    """Fill ``run`` (a fresh ``LocalRun`` of one run file, rows not kept) from the cache,
    reading only what the cache lacks; the cache is written when anything was read.

    ``apply_records(run, payloads)`` is the reader's record decoder (it gives each history
    record to ``run._row_sink``: the columns, decoded a window at a time). ``pace()`` is
    called after each window (the kernel's cache keeper sleeps there while a cell runs).
    """
    run_file = Path(run.run_file)
    st = os.stat(run_file)  # before reading: a write after it makes the next read read on
    cache = load_cache(run_file)
    if cache is not None and cache.light:
        cache = None  # the state alone (list_runs wrote it): the columns are built now
    builder: ColumnBuilder | None = None
    reader = LogReader(run_file)
    if cache is not None:
        meta = cache.meta
        same = meta["size"] == st.st_size and meta["mtime_ns"] == st.st_mtime_ns
        grew = st.st_size > meta["size"] and _grown_from(run_file, meta)
        if same or grew:
            try:
                restore(run, meta["state"])
                run._last_step = meta["last_step"]
                if same:
                    reader.offset = cache.offset
                    reader.truncated = bool(meta["state"]["truncated"])
                    reader.corrupt_reason = meta["corrupt_reason"]
                    run._reader, run._cache = reader, cache
                    return cache
                builder = ColumnBuilder(spill=True)
                builder.seed(cache)
                builder.sampler.load(
                    meta["sampler"],
                    {k: (*cache.sampled(k), cache.sampled_seq(k)) for k in meta["sampled"]},
                )
                builder.has_global_step = meta["has_global_step"]
                builder.last_step = meta["last_step"]
                reader.offset = cache.offset
            except _DAMAGED:
                if builder is not None:
                    builder.close()
                builder, reader = None, LogReader(run_file)  # damaged: read it all
                _reset(run)
    with builder or ColumnBuilder(spill=True) as columns:
        # rows go to the columns record by record, never made into dicts (media rows are, for
        # their entries, as in any read that keeps no rows)
        run._keep_history, run._row_sink = False, columns
        try:
            while True:
                payloads = reader.read_available(max_bytes=min(window, CACHE_WINDOW))
                if payloads:
                    apply_records(run, payloads)
                    columns.flush()
                if not reader.more:
                    break
                if pace is not None:
                    pace()
        finally:
            run._row_sink = None
        run.truncated = reader.truncated
        run._reader = reader
        run._cache = _store(run, columns, st.st_size, st.st_mtime_ns, reader)
    return run._cache  # type: ignore[no-any-return]


def read_state(
    run: Any, apply_records: Callable[[Any, list[bytes]], None], window: int = 8 << 20
) -> None:
    """Fill ``run`` (a fresh ``LocalRun`` of one run file, ``_keep_history`` off) with its
    state alone, as ``list_runs`` needs it: from the cache when it matches the file, else by
    reading the file with its rows counted, not decoded. What was read is written as a light
    cache (meta only), which a later ``read_cached`` replaces with the full one.

    A full cache of a file that grew is read on as a full one (it stays whole); a light one
    is read on from its offset; one of neither kind, or stale, is not trusted.
    """
    run_file = Path(run.run_file)
    st = os.stat(run_file)
    cache = load_cache(run_file)
    reader = LogReader(run_file)
    if cache is not None:
        meta = cache.meta
        same = meta["size"] == st.st_size and meta["mtime_ns"] == st.st_mtime_ns
        grew = not same and st.st_size > meta["size"] and _grown_from(run_file, meta)
        if grew and not cache.light:
            read_cached(run, apply_records, window)  # reads on, and keeps the columns whole
            run.history.clear()
            return
        if same or grew:
            try:
                restore(run, meta["state"])
                run._last_step = meta["last_step"]
                reader.offset = cache.offset
                reader.truncated = bool(meta["state"]["truncated"])
                reader.corrupt_reason = meta["corrupt_reason"]
            except _DAMAGED:
                reader = LogReader(run_file)
                _reset(run)
                same = False
            if same:
                run._reader = reader
                if not cache.light:
                    run._cache = cache  # the columns and samples are there: show uses them
                return
    while True:
        payloads = reader.read_available(max_bytes=window)
        if payloads:
            apply_records(run, payloads)
        if not reader.more:
            break
    run.truncated = reader.truncated
    run._reader = reader
    meta = {
        "version": CACHE_VERSION,
        "light": True,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "offset": reader.offset,
        "check": _check_bytes(run_file, reader.offset),
        "corrupt_reason": reader.corrupt_reason,
        "rows": run._history_rows,
        "last_step": run._last_step,
        "state": snapshot(run),
    }
    _write(run_file, iter(()), lambda: meta)


def _grown_from(run_file: Path, meta: dict[str, Any]) -> bool:
    try:
        return bool(_check_bytes(run_file, int(meta["offset"])) == meta["check"])
    except (OSError, KeyError, ValueError, TypeError):
        return False


def _reset(run: Any) -> None:
    fresh = type(run)(path=run.path, run_dir=run.run_dir, run_file=run.run_file)
    restore(run, snapshot(fresh))


def history_columns(
    run: Any, apply_records: Callable[[Any, list[bytes]], None]
) -> tuple[dict[str, np.ndarray], dict[str, list[tuple[int, str]]]]:
    """``(columns, other cells)`` of a run: from its rows when they were kept, else its cache
    (read again, grown or rebuilt, when it no longer matches what the run has read)."""
    if run.history or not run.steps:
        builder = ColumnBuilder()
        builder.add_rows(run.history)
        return builder.columns(), dict(builder.others)
    for _ in range(2):
        cache = current_cache(run, apply_records)
        try:
            columns, others = cache.columns(), cache.others()
            if all(len(c) == cache.meta["rows"] for c in columns.values()):
                return columns, others
        except _DAMAGED:
            pass
        _drop(run)  # a damaged member: read the run file again
    raise OSError(f"the cache of {run.run_file} cannot be read or rebuilt")


_DAMAGED = (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError)


def _drop(run: Any) -> None:
    run._cache = None
    try:
        os.unlink(cache_path(run.run_file))
    except OSError:
        pass


def current_cache(run: Any, apply_records: Callable[[Any, list[bytes]], None]) -> RunCache:
    """The run's cache, read again when the run has read past it (a refresh since)."""
    cache = run._cache
    if (
        cache is not None
        and not cache.light
        and run._reader is not None
        and cache.offset == run._reader.offset
    ):
        return cache  # type: ignore[no-any-return]
    if len(run.segments) > 1:
        from nbwandb.errors import NbwandbError

        raise NbwandbError(
            "a resumed run (several folders) has no cache; read it with read_run(path) for its rows"
        )
    fresh = type(run)(
        path=run.path, run_dir=run.run_dir, run_file=run.run_file, _keep_history=False
    )
    cache = read_cached(fresh, apply_records)
    run._cache = cache
    return cache


def sampled_series(
    run: Any, key: str, apply_records: Callable[[Any, list[bytes]], None]
) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)`` of ``key``'s sampled points; from the rows when they were kept."""
    if run.history or not run.steps:
        builder = ColumnBuilder()
        builder.add_rows(run.history)
        xs, ys, _ = builder.sampler.points().get(key, (np.empty(0), np.empty(0), None))
        return xs, ys
    for _ in range(2):
        cache = current_cache(run, apply_records)
        try:
            xs, ys = cache.sampled(key)
            if len(xs) == len(ys):
                return xs, ys
        except _DAMAGED:
            pass
        _drop(run)  # a damaged member: read the run file again
    raise OSError(f"the cache of {run.run_file} cannot be read or rebuilt")


def history_frame(run: Any, apply_records: Callable[[Any, list[bytes]], None]) -> Any:
    """The history as a pandas DataFrame: numeric columns as arrays, other cells as objects."""
    pd = require("pandas", purpose="LocalRun.to_pandas()", extra="media")
    columns, others = history_columns(run, apply_records)
    data: dict[str, Any] = {}
    for key, col in columns.items():
        cells = others.get(key)
        if not cells:
            data[key] = col
            continue
        mixed = np.full(len(col), None, dtype=object)
        present = ~np.isnan(col)
        mixed[present] = col[present]
        for row, text in cells:
            mixed[row] = json.loads(text)
        data[key] = mixed
    return pd.DataFrame(data, copy=False)
