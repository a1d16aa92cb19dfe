"""Read a local wandb run (``wandb/offline-run-*``) back into plain Python data.

>>> run = read_run(run_dir)          # a wandb/offline-run-* folder, its .wandb file, or a run handle
>>> run.state, run.history[-1]["train/loss"], run.config["lr"]
('finished', 0.05, 0.001)
>>> run.refresh()            # a run still being written: read the new records only (none here)
0
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError, require
from nbwandb.local.records import (
    HISTORY_TAG,
    decode_items,
    decode_json,
    decode_row_json,
    history_json,
    item_json,
    item_path,
    loads_json,
    media_entries,
    merge_path,
    record_tags,
    redundant_summaries,
    remove_path,
    set_path,
    unwrap_config,
)
from nbwandb.local.segments import segment_id, segments_of
from nbwandb.render.chart_data import metric_series
from nbwandb.run import finish
from nbwandb.run.liveness import writer_alive, writer_pid
from nbwandb.values.metrics import is_number
from nbwandb.wandb_compat.logfile import LogReader
from nbwandb.wandb_compat.protobufs import record_module

FINISH_WAIT = 5.0  # seconds read_run waits for the exit record of a run finished here
READ_WINDOW = 8 * 1024 * 1024  # bytes of the run file read at a time
CONSOLE_LIMIT = 10_000  # console lines kept (the newest); the file keeps them all


@dataclass
class LocalRun:
    """Everything a ``.wandb`` run file holds, as plain Python data.

    ``state``: "running" (no exit record yet, its process alive), "finished" (exit
    code 0), "failed" (non-zero exit code) or "crashed" (no exit record and its
    process is gone, or, when the process cannot be checked, a file that ends in a
    cut-off record). ``truncated`` says the file ends in such a partial record;
    every complete record before it is read.
    """

    path: Path
    run_dir: Path
    run_file: Path
    id: str = ""
    project: str = ""
    entity: str = ""
    name: str = ""
    group: str = ""
    tags: list[str] = field(default_factory=list)
    job_type: str = ""
    notes: str = ""
    host: str = ""
    start_time: _dt.datetime | None = None
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    truncated: bool = False
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    use_artifacts: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    system: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    record_count: int = 0
    skipped_records: int = 0
    segments: list[Path] = field(default_factory=list)  # a resumed run's folders, oldest first

    # internals: the reader keeps its place in the file; the summary keeps the latest JSON
    # text per key path (bounded by the number of keys) and decodes it on first use
    _reader: LogReader | None = field(default=None, repr=False, compare=False)
    # key -> latest JSON text (None: removed); a plain key is a str, a nested key path a tuple
    _summary_json: dict[str | tuple[str, ...], str | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    _summary_heads: set[str] = field(default_factory=set, repr=False, compare=False)
    _summary: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _runtime: float | None = field(default=None, repr=False, compare=False)
    _console_partial: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _config_raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _keep_history: bool = field(default=True, repr=False, compare=False)
    _history_rows: int = field(default=0, repr=False, compare=False)
    _last_step: Any = field(default=None, repr=False, compare=False)  # the last row's _step
    # rows not kept but given, record by record, to a cache's ColumnBuilder (``add_history``)
    _row_sink: Any = field(default=None, repr=False, compare=False)
    # joining segments: wandb's _step of the next segment's rows continues from _step_base
    _step_base: int | None = field(default=None, repr=False, compare=False)
    _step_shift: int | None = field(default=None, repr=False, compare=False)
    _runtime_before: float = field(default=0.0, repr=False, compare=False)
    # the run file's cache (``cache.RunCache``) when read with history=False: columns, sampled series
    _cache: Any = field(default=None, repr=False, compare=False)

    @property
    def state(self) -> str:
        if self.exit_code is not None:
            return "finished" if self.exit_code == 0 else "failed"
        started = self.start_time.timestamp() if self.start_time else None
        alive = writer_alive(self.run_dir, self.host, started)
        if alive is None:  # no way to tell (another host, no logs): a cut-off file means a crash
            return "crashed" if self.truncated else "running"
        # wandb-core writes whole 32 KiB blocks, so a live run's file often ends mid-record
        return "running" if alive else "crashed"

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (latest value of each key, as wandb keeps it); ``_wandb`` left out."""
        if self._summary is None:
            self._summary = _materialise_summary(self._summary_json)
        return self._summary

    @property
    def runtime(self) -> float | None:
        """Seconds from start to the last record with a time (exit, last row, or summary)."""
        if self._runtime is None and not self.history and self.start_time is not None:
            # rows not kept (a runs table): the summary's last timestamp gives the duration
            last = self.summary.get("_timestamp")
            if is_number(last) and float(last) >= self.start_time.timestamp():
                return float(last) - self.start_time.timestamp()
        if self._runtime is None:
            return self._runtime_before or None
        return self._runtime_before + self._runtime

    @property
    def files_dir(self) -> Path:
        return self.run_dir / "files"

    @property
    def step(self) -> int | None:
        """The last ``_step`` written (None before the first history row)."""
        if self.history:
            return self.history[-1].get("_step")
        if self._cache is not None:  # the last row's, kept by the cache
            return self._cache.meta.get("last_step")  # type: ignore[no-any-return]
        if self._last_step is not None:  # rows counted, not kept: the last one was decoded
            return self._last_step  # type: ignore[no-any-return]
        step = self.summary.get("_step") if self._history_rows else None
        return step if isinstance(step, int) else None

    @property
    def steps(self) -> int:
        """How many history rows the file holds (also when rows were not kept)."""
        return self._history_rows

    @property
    def end_time(self) -> _dt.datetime | None:
        if self.start_time is None or self.runtime is None:
            return None
        return self.start_time + _dt.timedelta(seconds=self.runtime)

    def refresh(self) -> int:
        """Read records written since the last read; returns how many were new."""
        if self._reader is None:
            self._reader = LogReader(self.run_file)
        count = 0
        while True:  # in windows of READ_WINDOW bytes: memory stays flat on a large file
            payloads = self._reader.read_available(max_bytes=READ_WINDOW)
            if payloads:
                _apply_records(self, payloads)
                count += len(payloads)
            if not self._reader.more:
                break
        self.truncated = self._reader.truncated
        return count

    def series(self, key: str, x: str = "_step") -> tuple[list[float], list[float]]:
        """``(xs, ys)`` of one scalar metric; ``x`` is the step key (``global_step``, ``_step``).

        >>> steps, losses = read_run(run_dir).series("train/loss", x="global_step")
        >>> steps[:3], losses[:2]
        ([0.0, 1.0, 2.0], [1.0, 0.5])
        """
        if not self.history and self.steps:
            raise NbwandbError("this run was read with history=False; read it with read_run(path)")
        return metric_series(self.history, key, x)

    def columns(self) -> dict[str, Any]:
        """The history as numpy columns: one array per numeric key, NaN where a row lacks it.

        Read from the run's cache when its rows were not kept (``read_run(p, history=False)``).

        >>> read_run(run_dir, history=False).columns()["train/loss"][:2].tolist()
        [1.0, 0.5]
        """
        from nbwandb.local.cache import history_columns

        return history_columns(self, _apply_records)[0]

    def to_pandas(self) -> Any:
        """The history as a pandas DataFrame (from the cache when rows were not kept).

        >>> float(read_run(run_dir, history=False).to_pandas()["train/loss"].iloc[0])
        1.0
        """
        from nbwandb.local.cache import history_frame

        return history_frame(self, _apply_records)

    def sampled(self, key: str) -> tuple[Any, Any]:
        """``(xs, ys)`` numpy arrays of ``key``: min, max and last per bucket of steps (x:
        ``global_step`` where a row has it, else ``_step``), from the run's cache."""
        from nbwandb.local.cache import sampled_series

        return sampled_series(self, key, _apply_records)

    def to_dataframe(self) -> Any:
        """The history as a pandas DataFrame, one row per step (pandas is needed only here)."""
        pd = require("pandas", purpose="LocalRun.to_dataframe()", extra="media")
        return pd.DataFrame(self.history)

    def metric_keys(self) -> list[str]:
        """Scalar history keys, sorted (``_step``/``_runtime``/... excluded).

        Sorted because wandb-core writes a row's keys in no fixed order.
        """
        if not self.history and self.steps and len(self.segments) <= 1:
            from nbwandb.local.cache import current_cache

            cache = current_cache(self, _apply_records)  # a list_runs run: its cache is built now
            return sorted(k for k in cache.meta["numeric_keys"] if not k.startswith("_"))
        seen: set[str] = set()
        for row in self.history:
            for key, value in row.items():
                if key not in seen and not key.startswith("_") and is_number(value):
                    seen.add(key)
        return sorted(seen)

    def __repr__(self) -> str:
        return (
            f"LocalRun(id={self.id!r}, name={self.name!r}, project={self.project!r}, "
            f"state={self.state!r}, steps={self.steps}, run_dir={str(self.run_dir)!r})"
        )


def resolve_run_file(path: Any) -> tuple[Path, Path]:
    """``(run_dir, run_file)`` for a run folder, a ``.wandb`` file, a wandb folder
    (its ``latest-run``) or a run handle with ``run_dir``/``run_file``."""
    finish.wait_all()  # a run of this process still finishing in the background: whole first
    if isinstance(path, Mapping) and isinstance(path.get("path"), (str, os.PathLike)):
        path = path["path"]  # a row of list_runs()
    if hasattr(path, "run_dir") and not isinstance(path, (str, os.PathLike)):
        run_file = getattr(path, "run_file", None)
        if run_file:
            return Path(path.run_dir), Path(run_file)
        path = path.run_dir
        if path is None:
            raise NbwandbError(
                "this run has no local run folder (was it started with use_wandb=False?)"
            )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"read_run() got {type(path).__name__} {path!r}; pass a run folder "
            "(wandb/offline-run-*), its .wandb file, a run handle or a list_runs() row"
        )
    p = Path(path).expanduser().resolve()  # latest-run is a symlink: report the real folder
    if p.is_file():
        if p.suffix != ".wandb":
            raise NbwandbError(
                f"{str(p)!r} is not a .wandb run file; pass a wandb/offline-run-* folder or its .wandb file"
            )
        return p.parent, p
    if p.is_dir():
        found = sorted(p.glob("run-*.wandb")) or sorted(p.glob("*.wandb"))
        if found:
            return p, found[0]
        latest = p / "latest-run"
        if latest.is_dir():
            return resolve_run_file(latest.resolve())
        raise NbwandbError(
            f"no .wandb run file in {str(p)!r}; pass a wandb/offline-run-* folder, "
            "its run-<id>.wandb file, or a wandb folder with a latest-run link"
        )
    if isinstance(path, str) and path and os.sep not in path and "/" not in path:
        wandb_dir = Path(os.environ.get("WANDB_DIR") or ".").absolute() / "wandb"
        found = segments_of(wandb_dir, path) if wandb_dir.is_dir() else []
        if found:  # a run id: its newest folder (read_run joins the others)
            return resolve_run_file(found[-1])
        raise NbwandbError(
            f"no run folder or run id {path!r}: nothing of that name here, and no "
            f"offline-run-*-{path} or run-*-{path} folder in {str(wandb_dir)!r}; pass a run "
            "folder (wandb/offline-run-*), its .wandb file, or the id of a run under $WANDB_DIR/wandb"
        )
    raise NbwandbError(
        f"run path {str(p)!r} does not exist; pass a wandb/offline-run-* folder or its .wandb file"
    )


def read_run(path: Any, *, history: bool = True, join: bool = True) -> LocalRun:
    """Read a local run: a run folder, its ``.wandb`` file, a run id, or a run handle.

    A resumed run (``init(resume=...)``) has one folder per segment; any of them, or the
    run id, gives the whole run: rows in step order, the state of the newest segment and
    the latest value of each summary key (``join=False`` reads one folder alone).
    ``history=False`` keeps no rows: a run of one folder is then read from its cache
    (``cache.py``: built on the first such read, read on from where it ends when the file
    grew), which gives ``columns()``, ``to_pandas()`` and the sampled series ``show`` draws.
    A ``list_runs()`` row is accepted too.

    >>> run = read_run(run_dir)        # or a run handle, or its .wandb file
    >>> [row["train/loss"] for row in run.history][:3]
    [1, 0.5, 0.333...]

    Raises:
        NbwandbError: no run file at ``path`` (the message says what was looked for), or a
            handle of a run without a local folder (``use_wandb=False``).
        TypeError: ``path`` is of a type that names no run.
        OSError: the run file cannot be read.
    """
    return _read(path, history=history, join=join)


def read_run_state(path: Any, *, join: bool = True) -> LocalRun:
    """A run's state (identity, config, summary, exit code, media, row count), not its rows
    nor their columns: what ``list_runs`` shows. A run of one folder is read from any cache
    of its file; without one, history records are counted, not decoded (only the last
    row's and media rows are), and a light cache (the state alone) is written. ``columns()``,
    ``sampled()`` and ``nbwandb.show`` build the full cache when first asked.

    >>> run = read_run_state(run_dir)
    >>> run.steps, run.summary["train/loss"], run.history
    (20, 0.05, [])
    """
    return _read(path, history=False, join=join, light=True)


def update_cache(
    run_dir: str | os.PathLike[str],
    *,
    window: int = READ_WINDOW,
    pace: Callable[[], None] | None = None,
) -> LocalRun:
    """Bring the cache of a one-folder run up to date with its file, reading only what it
    lacks: ``read_run(run_dir, history=False)`` without the wait for a finishing run, a
    window of ``window`` bytes at a time, ``pace()`` called between windows.

    >>> update_cache(run_dir).steps      # the kernel's cache keeper calls this between cells
    20
    """
    from nbwandb.local.cache import read_cached

    run_dir, run_file = resolve_run_file(run_dir)
    run = LocalRun(path=Path(run_dir), run_dir=run_dir, run_file=run_file, _keep_history=False)
    stem = run.run_file.stem
    run.id = run.name = stem[4:] if stem.startswith("run-") else stem
    read_cached(run, _apply_records, window, pace)
    if run.start_time is None:
        run.start_time = start_from_dir_name(run_dir.name)
    return run


def _read(path: Any, *, history: bool, join: bool, light: bool = False) -> LocalRun:
    if (
        hasattr(path, "flush")
        and getattr(path, "state", None) == "running"
        and hasattr(path, "run_dir")
    ):
        path.flush()  # rows still queued in nbwandb's writer reach wandb first
    run_dir, run_file = resolve_run_file(path)
    segments = [run_dir]
    seg_id = segment_id(run_dir)
    if join and seg_id is not None:
        segments = segments_of(run_dir.parent, seg_id) or [run_dir]
    first_dir = segments[0]
    first_file = run_file if first_dir == run_dir else _run_file_in(first_dir)
    run = LocalRun(
        path=Path(run_dir), run_dir=first_dir, run_file=first_file, _keep_history=history
    )
    # until the run record is read (or when the file holds only its header) the file name says the id
    stem = run.run_file.stem
    run.id = run.name = stem[4:] if stem.startswith("run-") else stem
    if not history and len(segments) == 1:
        from nbwandb.local.cache import read_cached, read_state

        if light:
            read_state(run, _apply_records, READ_WINDOW)  # state only: a runs table's row
        else:
            read_cached(run, _apply_records, READ_WINDOW)  # the cache, and what the file added
    else:
        run.refresh()
    started = run.start_time
    for later in segments[1:]:
        _next_segment(run, later, _run_file_in(later))
    if len(segments) > 1:
        run.start_time = started or run.start_time
    run.segments = list(segments)
    if _finished_here(path, run):
        # wandb-core writes the last block a few ms after wandb's finish() returns, and on a
        # busy machine records logged just before the exit (an artifact) can land after it:
        # wait (bounded) for the exit record and for the stream to report that it closed.
        deadline = time.monotonic() + FINISH_WAIT
        while (
            run.exit_code is None or not _stream_closed(run.run_dir)
        ) and time.monotonic() < deadline:
            time.sleep(0.01)
            run.refresh()
    if run.start_time is None:
        run.start_time = start_from_dir_name(first_dir.name)
    return run


def _run_file_in(run_dir: Path) -> Path:
    return resolve_run_file(run_dir)[1]


def _next_segment(run: LocalRun, run_dir: Path, run_file: Path) -> None:
    """Go on reading ``run`` from the next segment's file, as if it were the same file."""
    if run.history:
        last = run.history[-1].get("_step")
        run._step_base = last + 1 if isinstance(last, int) else len(run.history)
    else:
        run._step_base = run._history_rows
    run._step_shift = None
    run._runtime_before += run._runtime or 0.0
    run._runtime = None
    run.exit_code = None  # the state is the newest segment's
    run.run_dir, run.run_file, run._reader = run_dir, run_file, None
    try:
        run.refresh()
    except NbwandbError as exc:
        raise NbwandbError(f"segment {run_dir} of run {run.id} cannot be read: {exc}") from None


def _stream_closed(run_dir: Path) -> bool:
    """wandb-core logs "stream: all finished" once the run's file is closed (True without a log)."""
    log = run_dir / "logs" / "debug-internal.log"
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            return b"stream: all finished" in fh.read()
    except OSError:
        return True


def _finished_here(handle: Any, run: LocalRun) -> bool:
    """True when this process wrote the run and has already finished it."""
    if hasattr(handle, "wandb_run") and getattr(handle, "state", None) not in (None, "running"):
        return True  # an nbwandb Run handle that says it is finished
    if writer_pid(run.run_dir) != os.getpid():
        return False
    wandb = sys.modules.get("wandb")
    active = getattr(wandb, "run", None) if wandb is not None else None
    return active is None or getattr(active, "id", None) != run.id


_DIR_TIME = re.compile(r"run-(\d{8}_\d{6})-")


def start_from_dir_name(name: str) -> _dt.datetime | None:
    """wandb names run folders ``offline-run-YYYYmmdd_HHMMSS-<id>`` in local time."""
    match = _DIR_TIME.search(name)
    if not match:
        return None
    local = _dt.datetime.strptime(match.group(1), "%Y%m%d_%H%M%S")
    return local.astimezone(_dt.timezone.utc)


def follow_run(
    path: Any, *, poll: float = 0.5, idle_timeout: float | None = 60.0
) -> Iterator[LocalRun]:
    """Yield the run each time new records appear, until it exits or goes idle.

    >>> for run in follow_run(run_dir, idle_timeout=1):   # a finished run: yielded once
    ...     print(run.state, run.summary.get("train/loss"))
    finished 0.05
    """
    run = read_run(path)
    yield run
    last_growth = time.monotonic()
    while run.exit_code is None:
        time.sleep(poll)
        if run.refresh():
            last_growth = time.monotonic()
            yield run
        elif idle_timeout is not None and time.monotonic() - last_growth > idle_timeout:
            return


def iter_records(path: Any) -> Iterator[Any]:
    """Yield every complete protobuf ``Record`` in a run file, in order.

    >>> [r.WhichOneof("record_type") for r in iter_records(run_dir)][:2]
    ['header', 'run']
    """
    _, run_file = resolve_run_file(path)
    pb = record_module()
    reader = LogReader(run_file)
    while True:
        for payload in reader.read_available(max_bytes=READ_WINDOW):
            yield pb.Record.FromString(payload)
        if not reader.more:
            return


def _timestamp(ts: Any) -> _dt.datetime | None:
    if not ts.seconds and not ts.nanos:
        return None
    return _dt.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=_dt.timezone.utc)


def _apply_records(run: LocalRun, payloads: list[bytes]) -> None:
    pb = record_module()
    from google.protobuf.message import DecodeError

    from_string = pb.Record.FromString
    row_texts: list[str] = []  # history rows as JSON objects, decoded in one json.loads
    with_media: list[int] = []  # indexes (into row_texts) of rows that may hold media
    keep_history = run._keep_history
    sink = None if keep_history else run._row_sink
    summary_json, summary_heads = run._summary_json, run._summary_heads
    last_row: bytes | None = None  # rows not kept: the last one is decoded (its step, runtime)
    tags = record_tags(payloads)
    redundant = redundant_summaries(payloads, tags)  # one summary a row: most change nothing
    for i, payload in enumerate(payloads):
        if i in redundant:
            continue
        if not keep_history and tags[i] == HISTORY_TAG:
            # counted without decoding (or given to the sink); a row that may hold media is
            # decoded for its entries
            if sink is not None:
                try:
                    sink.add_history(from_string(payload).history)
                except DecodeError:
                    run.skipped_records += 1
                    continue
            run._history_rows += 1
            if b"_type" in payload:
                with_media.append(len(row_texts))
                row_texts.append(_row_text(from_string, payload))
                last_row = None
            else:
                last_row = payload
            continue
        try:
            record = from_string(payload)
        except DecodeError:  # a checksummed record protobuf cannot read: skip it, keep the rest
            run.skipped_records += 1
            continue
        kind = record.WhichOneof("record_type")
        # the two kinds written every step come first
        if kind == "summary":
            _apply_summary(summary_json, summary_heads, record.summary)
            run._summary = None
        elif kind == "history":
            run._history_rows += 1
            if sink is not None:
                sink.add_history(record.history)
            if keep_history or b"_type" in payload:
                if b"_type" in payload:  # cheap pre-check: media values carry a "_type" key
                    with_media.append(len(row_texts))
                row_texts.append(history_json(record.history))
                last_row = None
            else:
                last_row = payload
        elif kind == "run":
            _apply_run(run, record.run)
        elif kind == "config":
            _apply_config(run, record.config)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
            for stream, rest in run._console_partial.items():  # a last line without "\n"
                if rest:
                    run.console.append(rest.rsplit("\r", 1)[-1])
                    run._console_partial[stream] = ""
            if record.exit.runtime:
                run._runtime = max(run._runtime or 0.0, float(record.exit.runtime))
        elif kind in ("output_raw", "output"):
            _apply_output(run, getattr(record, kind))
        elif kind == "stats":
            stats = record.stats
            row = {"_timestamp": stats.timestamp.seconds + stats.timestamp.nanos / 1e9}
            for item in stats.item:
                row[item.key] = decode_json(item.value_json)
            run.system.append(row)
        elif kind == "artifact":
            run.artifacts.append(_artifact_dict(record.artifact))
        elif kind == "use_artifact":
            use = record.use_artifact
            run.use_artifacts.append({"id": use.id, "type": use.type, "name": use.name})
        elif kind == "files":
            run.files.extend(f.path for f in record.files.files)
    run.record_count += len(payloads)
    if last_row is not None:
        row_texts.append(_row_text(from_string, last_row))
    if row_texts:
        last = _add_rows(run, row_texts, with_media)
        if last is not None:
            # wandb-core writes no runtime in the exit record offline; the last row's is the best
            runtime = last.get("_runtime")
            if is_number(runtime):
                run._runtime = max(run._runtime or 0.0, float(runtime))


def _row_text(from_string: Any, payload: bytes) -> str:
    try:
        return history_json(from_string(payload).history)
    except Exception:  # noqa: BLE001 - a checksummed record protobuf cannot read
        return "{}"


def _add_rows(run: LocalRun, row_texts: list[str], with_media: list[int]) -> dict[str, Any] | None:
    """Decode rows; kept in ``run.history`` unless ``run._keep_history`` is off, when only
    their media entries (with an image's masks and boxes) and the last row's step are kept.
    Returns the last row."""
    try:
        rows = loads_json("[" + ",".join(row_texts) + "]")
    except ValueError:  # one bad value: decode row by row, keeping what can be read
        rows = [decode_row_json(text) for text in row_texts]
    if run._step_base is not None:  # a later segment: _step goes on from the earlier ones
        if run._step_shift is None:
            start = rows[0].get("_step") if rows else None
            run._step_shift = (
                run._step_base - start if isinstance(start, int) and start < run._step_base else 0
            )
        if run._step_shift:
            for row in rows:
                if isinstance(row.get("_step"), int):
                    row["_step"] += run._step_shift
    if not rows:
        return None
    keep = run._keep_history
    if keep:
        run.history.extend(rows)
    last_step = rows[-1].get("_step")
    if last_step is not None:
        run._last_step = last_step
    for i in with_media:
        row = rows[i]
        for entry in media_entries(row, row.get("_step")):
            if not keep:  # the row is let go: an image's masks and boxes stay with its entry
                value = row[entry["key"]]
                if entry["type"] in ("image", "images") and ("masks" in value or "boxes" in value):
                    entry["value"] = value
            if "global_step" in row:  # nbwandb's step metric, next to wandb's own _step
                entry["global_step"] = row["global_step"]
            if entry["path"]:
                entry["file"] = str(run.files_dir / entry["path"])
            if isinstance(entry.get("filenames"), list):  # several images under one key
                entry["files"] = [str(run.files_dir / name) for name in entry["filenames"]]
            run.media.append(entry)
    return rows[-1]  # type: ignore[no-any-return]


def _apply_summary(
    summary_json: dict[str | tuple[str, ...], str | None], heads: set[str], rec: Any
) -> None:
    """Keep the latest JSON text per key. This runs for every logged step, so the common
    case (a plain key) is one dict store. Where paths overlap (``img`` and ``img.caption``)
    the entry moves to the end, so that applying entries in order replays the last writes."""
    for item in rec.update:
        key = item.key
        if not key:
            nested = item.nested_key
            if len(nested) > 1:
                path = tuple(nested)
                heads.add(path[0])
                summary_json.pop(path, None)
                summary_json[path] = item.value_json or item_json(item)
                continue
            key = nested[0] if nested else ""  # "" is a legal key
        if key in heads:
            summary_json.pop(key, None)
        summary_json[key] = item.value_json or item_json(item)
    for item in rec.remove:
        path = item_path(item)
        entry: str | tuple[str, ...] = path[0] if len(path) == 1 else path
        summary_json.pop(entry, None)
        summary_json[entry] = None


def _apply_run(run: LocalRun, rec: Any) -> None:
    run.id = rec.run_id or run.id
    run.project = rec.project or run.project
    run.entity = rec.entity or run.entity
    run.name = rec.display_name or run.name or rec.run_id
    run.group = rec.run_group or run.group
    run.job_type = rec.job_type or run.job_type
    run.notes = rec.notes or run.notes
    run.host = rec.host or run.host
    if rec.tags:
        run.tags = list(rec.tags)
    if rec.HasField("start_time"):
        run.start_time = _timestamp(rec.start_time) or run.start_time
    if rec.HasField("config"):
        _apply_config(run, rec.config)
    if rec.HasField("summary"):  # a resumed run starts from its earlier summary
        _apply_summary(run._summary_json, run._summary_heads, rec.summary)
        run._summary = None


def _apply_config(run: LocalRun, rec: Any) -> None:
    for item in rec.update:
        merge_path(run._config_raw, item_path(item), decode_json(item_json(item)))
    for item in rec.remove:
        remove_path(run._config_raw, item_path(item))
    run.config = unwrap_config(run._config_raw)


def _apply_output(run: LocalRun, rec: Any) -> None:
    # output_raw arrives in pieces ("text", "\n"); join per stream and split on newlines,
    # keeping only what follows the last "\r" (progress bars redraw their line).
    stream = "stderr" if rec.output_type == 1 else "stdout"
    text = run._console_partial.get(stream, "") + rec.line
    *complete, rest = text.split("\n")
    for line in complete:
        run.console.append(line.rsplit("\r", 1)[-1] if "\r" in line else line)
    run._console_partial[stream] = rest
    if len(run.console) > 2 * CONSOLE_LIMIT:
        del run.console[:-CONSOLE_LIMIT]


def _artifact_dict(rec: Any) -> dict[str, Any]:
    metadata = decode_json(rec.metadata) if rec.metadata else {}
    return {
        "name": rec.name,
        "type": rec.type,
        "aliases": list(rec.aliases),
        "tags": list(rec.tags),
        "description": rec.description,
        "metadata": metadata if isinstance(metadata, dict) else {"value": metadata},
        "digest": rec.digest,
        "manifest": [
            {
                "path": e.path,
                "digest": e.digest,
                "size": e.size,
                **({"ref": e.ref} if e.ref else {}),
                **({"local_path": e.local_path} if e.local_path else {}),
            }
            for e in rec.manifest.contents
        ],
    }


def _materialise_summary(summary_json: dict[str | tuple[str, ...], str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry, text in summary_json.items():
        path = (entry,) if isinstance(entry, str) else entry
        if text is None:
            remove_path(out, path)
        else:
            set_path(out, path, decode_json(text))
    out.pop("_wandb", None)  # wandb's own bookkeeping (runtime), as in the W&B UI
    return out


__all__ = [
    "LocalRun",
    "decode_items",
    "follow_run",
    "iter_records",
    "read_run",
    "read_run_state",
    "resolve_run_file",
]
