"""The run handle that ``nbwandb.init`` returns, and its do-nothing twin.

``Run.log`` checks and flattens metrics on the caller's thread (so bad input fails
at the call, naming the key), merges calls for the same step into one history
row, and hands finished rows to a background writer that feeds wandb.

>>> with nbwandb.init(project="demo", mode="offline", quiet=True) as run:
...     run.log({"loss": 0.5}, step=1, prefix="train")
...     run.log({"loss": 0.6}, step=1, prefix="val")      # same history row
>>> [(row["global_step"], row["train/loss"], row["val/loss"]) for row in nbwandb.local.read_run(run).history]
[(1, 0.5, 0.6)]
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from nbwandb.distributed.reduction import reduce_metrics
from nbwandb.errors import NbwandbError, NbwandbWarning, RunFinishedError
from nbwandb.run import session, upload_outcome
from nbwandb.run.disk_space import warn_if_disk_full
from nbwandb.run.handle import RowListener, RunHandle
from nbwandb.run.kernel import in_kernel
from nbwandb.run.outcomes import FinishOutcome, FinishWhat
from nbwandb.run.startup import START_TIMEOUT, RunStart
from nbwandb.run.upload_state import mark as mark_upload
from nbwandb.run.writer import BackgroundWriter
from nbwandb.values.config import convert_value, merge_config, to_config_dict
from nbwandb.values.metrics import (
    WANDB_OWN_KEYS,
    check_step,
    convert_metric,
    flatten_metrics,
    is_non_finite,
)
from nbwandb.wandb_compat.batch_publish import BatchPublisher, is_plain
from nbwandb.wandb_compat.file_blocks import WRITE_WAIT_S as FILE_WRITE_WAIT_S
from nbwandb.wandb_compat.file_blocks import needs_push, push_block
from nbwandb.wandb_compat.protobufs import is_exit_record as _is_exit_record

RECENT_ROWS = 5000  # rows kept in memory for panels (wandb 0.28 holds up to a 32 KiB block back)
EXIT_RECORD_WAIT = 2.0  # seconds finish waits for wandb-core to write the run's last records


class Run(RunHandle):
    """A live W&B run (offline or online) with notebook-friendly logging.

    Create it with ``nbwandb.init``. Attributes: ``id``, ``name``, ``project``,
    ``mode``, ``run_dir`` (the ``offline-run-*``/``run-*`` folder), ``run_file`` (its
    ``.wandb`` log), ``url`` (online), ``step_metric``, ``state``, ``exit_code``.
    """

    enabled = True

    def __init__(
        self,
        wandb_run: Any,
        *,
        mode: str,
        mode_reason: str = "",
        step_metric: str = "global_step",
        queue_size: int = 1000,
    ) -> None:
        self.mode = mode
        self.mode_reason = mode_reason
        self.step_metric = step_metric
        self.state = "running"
        self.exit_code: int | None = None
        self._lock = threading.RLock()
        self._listeners: list[RowListener] = []
        self._pending: dict[str, Any] | None = None
        self._pending_step: int | None = None
        self._last_committed: int | None = None
        self._warned_backwards: set[str] = set()
        self._warned_nonfinite: set[str] = set()
        self.rows_written = 0
        self.rows_logged = 0
        # The last rows handed to wandb: wandb before 0.29 writes its run file only in full
        # 32 KiB blocks (and at finish), so a panel made now reads the newest rows here.
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_ROWS)
        self.upload_complete: bool | None = None  # online: set by finish (None while running)
        self._finish_done: threading.Event | None = None  # set when a background finish ends
        self._finish_error: BaseException | None = None  # what it raised, for finish(wait=True)
        self.resumed_from: tuple[Path, ...] = ()  # earlier segments of a resumed run, oldest first
        self.start_step = 0  # the first step this segment logs without step=

        self._publisher: BatchPublisher | None = None  # None: every row goes through wandb_run.log
        self._pushed_at = 0  # the writer's submitted count at the last file block push
        self._push_lock = threading.Lock()
        self._wandb_run: Any = None
        self._upload_watch: Any = None  # online: wandb-core's upload signals (upload_outcome)
        self._upload_outcome: Any = None  # online: what finish found about the upload
        self._bind_lock = threading.Lock()
        self._id = ""
        # A RunStart: wandb.init still runs in the background (see nbwandb.run.startup).
        self._start: RunStart | None = None
        if isinstance(wandb_run, RunStart):
            self._start = wandb_run
            self._id = wandb_run.run_id
            self._config_cache = merge_config({}, wandb_run.config)
        else:
            self._config_cache = {}
            self._bind(wandb_run)
        self._writer = BackgroundWriter(queue_size, name=f"nbwandb-writer-{self._id}")
        self._writer.settle = self._settle_rows
        self._writer.on_idle = self._push_when_idle
        self._write_rows_fn = self._write_rows  # one bound method, not a new one per row

    def _continue_from(self, point: Any) -> None:
        """A resumed run: ``log()`` without ``step=`` goes on after the earlier segments' last step."""
        self.resumed_from = tuple(point.segments)
        self.start_step = point.start_step
        self._last_committed = point.last_step

    def _bind(self, wandb_run: Any) -> None:
        """Take what the handle needs from the wandb run (once it exists)."""
        initial = wandb_run.config.as_dict() if hasattr(wandb_run.config, "as_dict") else {}
        # As wandb-core stores it (no empty dicts); updates made while it started win. In
        # place and without self._lock: the writer thread binds while log() may hold that
        # lock, waiting for room in the queue that this thread empties.
        for key, value in merge_config({}, initial).items():
            self._config_cache.setdefault(key, value)
        settings = wandb_run.settings
        self._run_file = Path(settings.sync_file) if getattr(settings, "sync_file", None) else None
        self._files_dir = Path(wandb_run.dir)
        self._run_dir = self._files_dir.parent
        self._host = str(getattr(settings, "base_url", "") or "") if self.mode == "online" else ""
        self._id = str(wandb_run.id)
        self._publisher = BatchPublisher.attach(wandb_run)
        if self.mode == "online":
            self._upload_watch = upload_outcome.watch(wandb_run)
        self._wandb_run = wandb_run

    @property
    def wandb_run(self) -> Any:
        """The wandb run; a run still starting in the background is waited for (bounded)."""
        wandb_run = self._wandb_run
        if wandb_run is None:
            wandb_run = self._await_start()
        return wandb_run

    def _await_start(self, timeout: float | None = None) -> Any:
        start = self._start
        assert start is not None
        try:
            wandb_run = start.result(START_TIMEOUT if timeout is None else timeout)
        except NbwandbError:
            failure = start.failure(self.rows_logged)
            if failure is not None:
                start.error_reported = True
                raise failure from start.error
            raise
        with self._bind_lock:
            if self._wandb_run is None:
                self._bind(wandb_run)
        self._start = None
        return wandb_run

    # -- where it lives (known once wandb has created the run) --------------------------------
    def _started(self) -> Run:
        """This run, once wandb has created its run (waited for, bounded, if still starting)."""
        if self._wandb_run is None:
            self._await_start()
        return self

    @property
    def run_dir(self) -> Path:
        """The ``offline-run-*``/``run-*`` folder."""
        return self._started()._run_dir

    @property
    def files_dir(self) -> Path:
        return self._started()._files_dir

    @property
    def run_file(self) -> Path | None:
        """The run's ``.wandb`` log."""
        return self._started()._run_file

    @property
    def host(self) -> str:
        return self._started()._host

    @property
    def starting(self) -> bool:
        """True while wandb still creates this run in the background."""
        return self._wandb_run is None and self._start is not None and not self._start.done

    @property
    def has_wandb_run(self) -> bool:
        """True once wandb's run exists (False while it starts, or if its start failed)."""
        return self._wandb_run is not None

    def _check_started(self) -> None:
        """Bind a background start that ended; raise it at every call if it failed."""
        start = self._start
        if self._wandb_run is None and start is not None and start.done:
            self._await_start()  # a failure raises, with what wandb said

    # -- identity ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        if not self.has_wandb_run and self._start is not None:
            assert self._start is not None
            return self._start.name or self._id
        return str(self.wandb_run.name or self.wandb_run.id)

    @property
    def project(self) -> str | None:
        return self.wandb_run.project

    @property
    def entity(self) -> str | None:
        return getattr(self.wandb_run, "entity", None) or None

    @property
    def group(self) -> str | None:
        return self.wandb_run.group or None

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.wandb_run.tags or ())

    @property
    def url(self) -> str | None:
        return self.wandb_run.url if self.mode == "online" else None

    @property
    def sync_command(self) -> str | None:
        """The command that uploads this run later: offline runs, and online runs whose upload did not complete."""
        if self.mode == "offline":
            # nbwandb sync: every segment of a resumed run, in order, as one run; the one
            # command for offline runs and online runs whose upload did not complete.
            return f"nbwandb sync {self.run_dir}"
        if self.upload_complete is False:
            # `wandb sync` skips online run folders; nbwandb sync finishes their upload.
            return f"nbwandb sync {self.run_dir}"
        return None

    @property
    def step(self) -> int | None:
        """The latest step logged (pending or committed)."""
        return self._pending_step if self._pending_step is not None else self._last_committed

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the run's config as a plain dict (nested updates merged, as wandb-core does)."""
        return merge_config({}, self._config_cache)

    @property
    def summary(self) -> Any:
        """wandb's summary of this run, after everything logged so far is written."""
        self.flush()
        return self.wandb_run.summary

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def finish_outcome(self) -> FinishOutcome | None:
        """How the run ended (None while it runs); "finishing" until a background finish ends."""
        return FinishOutcome.of(self)

    # -- logging ----------------------------------------------------------------------------
    def _log(
        self, metrics: Mapping[str, Any], step: int | None, prefix: str | None, reduce: str | None
    ) -> None:
        # The call at every training step (an int step, a flat dict of finite floats and
        # ints) takes the fewest Python calls: it runs right after the step's torch work has
        # pushed it out of the CPU caches, where it costs several times its warm time
        # (benchmarks/bench_logging.py prints the time spent in run.log per step).
        checked = (
            reduce is None
            and type(step) is int
            and step >= 0
            and self.state == "running"
            and self._start is None
            and self._writer.healthy
        )
        row = self._plain_row(metrics, prefix) if checked else None
        if row is None:
            self._check_open("log")
            self._writer.raise_error(again=True)
            row = self._prepare_row(metrics, prefix, plain_tried=checked)
            if reduce is not None:
                row = reduce_metrics(row, reduce)
        with self._lock:
            if step is None:
                step = self._next_step()
                self._commit_pending()
                self._pending, self._pending_step = row, step
                self._commit_pending()
                return
            if not checked:
                step = check_step(step)
            if self._pending is not None and step == self._pending_step:
                self._pending.update(row)
                return
            self._commit_pending()
            if self._last_committed is not None and step < self._last_committed:
                self._warn_backwards(row, step)
            self._pending, self._pending_step = row, step

    def _prepare_row(
        self, metrics: Mapping[str, Any], prefix: str | None, *, plain_tried: bool = False
    ) -> dict[str, Any]:
        """The row to log: flattened, converted and checked (``plain_tried``: the caller's
        ``_plain_row`` already found it is not a plain row)."""
        row = None if plain_tried else self._plain_row(metrics, prefix)
        if row is not None:
            return row
        flat = flatten_metrics(metrics, prefix, step_metric=self.step_metric)
        row = {key: convert_metric(key, value) for key, value in flat.items()}
        for key, value in row.items():
            if is_non_finite(value) and key not in self._warned_nonfinite:
                self._warned_nonfinite.add(key)
                warnings.warn(
                    f"metric {key!r} is {value}; it is logged as is", NbwandbWarning, stacklevel=3
                )
        return row

    def _plain_row(self, metrics: Any, prefix: Any) -> dict[str, Any] | None:
        """The row for a flat dict of finite Python floats/ints, or None (then the full checks run).

        The common case at every training step, checked with exact types so that
        anything unusual (nested dicts, tensors, NaN, a reserved key) takes the path
        that converts it or fails naming the key.
        """
        if type(metrics) is not dict:
            return None
        if prefix is None:
            lead = ""
        elif type(prefix) is str and prefix and prefix[-1] != "/":
            lead = prefix + "/"
        else:
            return None
        row = {}
        for key, value in metrics.items():
            kind = type(value)
            if type(key) is not str or not key or (kind is not float and kind is not int):
                return None
            if kind is float and value - value != 0:
                return None  # NaN or inf: the full path warns about it
            row[lead + key] = value
        if self.step_metric in row or not WANDB_OWN_KEYS.isdisjoint(row):
            return None  # the full path raises, naming the key
        return row

    def _next_step(self) -> int:
        seen = [s for s in (self._pending_step, self._last_committed) if s is not None]
        return max(seen) + 1 if seen else 0

    def _warn_backwards(self, row: Mapping[str, Any], step: int) -> None:
        new = sorted(set(row) - self._warned_backwards)
        if new:
            self._warned_backwards.update(new)
            warnings.warn(
                f"step {step} is lower than the last committed step {self._last_committed} "
                f"for {', '.join(repr(k) for k in new)}; the row is logged anyway "
                "(wandb would drop it), but its x-axis goes backwards",
                NbwandbWarning,
                stacklevel=3,
            )

    def _commit_pending(self) -> None:
        if self._pending is None:
            return
        row, step = self._pending, self._pending_step
        assert step is not None
        row[self.step_metric] = step
        # Hand the row over before forgetting it: Ctrl-C while submit waits on a full queue
        # must leave the row pending (the next call commits it), not drop it.
        self._writer.submit_batched(self._write_rows_fn, (row, time.time()))
        self.rows_logged += 1
        self._pending, self._pending_step = None, None
        self._last_committed = (
            step if self._last_committed is None else max(step, self._last_committed)
        )

    def _write_rows(self, rows: list[tuple[dict[str, Any], float]]) -> None:
        # Runs in the writer thread with a burst of rows: runs of plain-scalar rows go to
        # wandb-core in one hop each, others (media) through wandb's public Run.log.
        # wandb's own step advances once per row; the x-axis comes from the step metric.
        if self._wandb_run is None:
            self._await_start()  # rows logged while wandb started the run waited in the queue
        publisher = self._publisher
        start = 0
        while start < len(rows):
            end = start
            if publisher is not None and publisher.usable():
                while end < len(rows) and is_plain(rows[end][0]):
                    end += 1
            if end > start:
                publisher.publish(rows[start:end])  # type: ignore[union-attr]
            else:
                end = start + 1
                self.wandb_run.log(rows[start][0])
            for row, _ in rows[start:end]:
                self.rows_written += 1
                self._recent.append(row)
                self._notify(row)
            start = end

    def _settle_rows(self) -> None:
        # in the writer thread, before a flush or finish completes: rows sent without
        # waiting are in wandb-core's socket, or the error that stopped them is raised
        if self._publisher is not None:
            self._publisher.settle()

    def _notify(self, row: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(row)
            except Exception as exc:  # a broken chart must not stop logging
                warnings.warn(
                    f"a row listener failed and was removed: {exc!r}", NbwandbWarning, stacklevel=1
                )
                self.remove_listener(listener)

    def use_x_axis(self, step_metric: str | None = None) -> None:
        """Plot every metric first logged from now on against ``step_metric`` (default: the run's).

        For integrations that count their own steps in the same run (Lightning's
        ``trainer/global_step``, HF's ``train/global_step``): without it, wandb's step sync
        would stamp the run's frozen ``global_step`` on their rows.

        >>> with nbwandb.init(project="demo", quiet=True) as run:
        ...     run.use_x_axis("trainer/global_step")   # before trainer.fit(...)
        ...     run.wandb_run.log({"trainer/global_step": 7, "trainer/acc": 0.9})  # the integration
        ...     run.use_x_axis()                        # back to the run's own step
        >>> [row["trainer/global_step"] for row in nbwandb.local.read_run(run).history]
        [7]
        """
        self._check_open("use_x_axis")
        key = self.step_metric if step_metric is None else step_metric
        if not isinstance(key, str) or not key:
            raise ValueError(
                f"step_metric={step_metric!r} is not accepted; use a non-empty string or None"
            )

        def define() -> None:
            self.wandb_run.define_metric(key)
            self.wandb_run.define_metric("*", step_metric=key, step_sync=True)

        # In order with the rows already logged, and done before an integration logs its own.
        with self._lock:
            self._commit_pending()
        self._writer.submit(define)
        self._writer.flush()

    def add_listener(self, fn: RowListener) -> None:
        """Call ``fn(row)`` in the writer thread after each row is written (for live charts)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: RowListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def recent_rows(self) -> list[dict[str, Any]]:
        """The last ``RECENT_ROWS`` rows handed to wandb, oldest first, as written.

        A panel shows these with the rows read from the run file: wandb may not have
        written the newest ones to it yet (wandb before 0.29 writes full 32 KiB blocks).

        >>> run = nbwandb.init(project="demo", quiet=True)
        >>> run.log({"loss": 0.5}); run.flush()
        True
        >>> [row["loss"] for row in run.recent_rows()]
        [0.5]
        >>> run.finish()
        """
        return list(self._recent.copy())  # copy(): one C call, safe while the writer appends

    def flush(self, timeout: float | None = None) -> bool:
        """Commit the pending row and wait until everything is written; False on timeout."""
        if self.finished:
            return True
        if self._start is not None:
            self._check_started()
        with self._lock:
            self._commit_pending()
        done = self._writer.flush(timeout)
        if done and self._wandb_run is not None:
            self._push_file_block()
        if self._wandb_run is not None:  # (a run still starting has written nothing yet)
            warn_if_disk_full(
                self.run_dir
            )  # wandb-core drops records on a full disk without a word
        return done

    def _push_file_block(self, *, wait: float = FILE_WRITE_WAIT_S) -> None:
        # wandb before 0.29 keeps the newest records in a 32 KiB buffer until the block
        # fills: without a push, a crash after flush() would lose them (all of a short run,
        # its project and config included). A push costs up to 32 KiB of file, so only
        # when something was queued since the last one.
        with self._push_lock:
            submitted = self._writer.submitted
            if submitted == self._pushed_at or self._wandb_run is None or not needs_push():
                return
            self._pushed_at = submitted
        push_block(self._wandb_run, self._run_file, wait=wait)

    def _push_after_direct_records(self) -> None:
        """A record went to wandb outside the writer (an artifact, from the caller's thread):
        push it to disk as the idle push does for rows, which never sees such records.

        A checkpoint logged as the last act before a crash was otherwise lost where wandb
        holds partial blocks (0.28: tutorial 09 resumed from the checkpoint before it).
        """
        if self._wandb_run is None or not needs_push():
            return
        with self._push_lock:
            self._pushed_at = -1  # something new, whatever the writer's count says
        self._push_file_block(wait=0)

    def _push_when_idle(self) -> None:
        # In the writer thread, once no row came for half a second (the end of a cell, or a
        # pause in training): a kernel killed from then on loses none of the rows before.
        # Rows that keep coming fill blocks by themselves, and cost no padding.
        if self._wandb_run is None or not needs_push():
            return
        try:
            self._settle_rows()  # the rows are in wandb-core's socket before the push
            self._push_file_block(wait=0)
        except Exception:  # noqa: BLE001 - a broken stream is reported by the next log or flush
            return

    def update_config(self, mapping: Mapping[str, Any] | Any = None, /, **values: Any) -> None:
        """Add or change config values (e.g. the parameter count once the model exists)."""
        self._check_open("update_config")
        data = to_config_dict(mapping) if mapping is not None else {}
        data.update({k: convert_value(v, k) for k, v in values.items()})
        merge_config(self._config_cache, data)  # nested dicts merge, as wandb-core stores them
        self._writer.submit(lambda: self.wandb_run.config.update(data, allow_val_change=True))

    def set_summary(self, mapping: Mapping[str, Any]) -> None:
        """Set summary values (e.g. the best validation score) in order with logged rows."""
        self._check_open("set_summary")
        data = {k: convert_value(v, k) for k, v in dict(mapping).items()}
        self._writer.submit(lambda: self.wandb_run.summary.update(data))

    # -- ending -----------------------------------------------------------------------------
    def finish(
        self, exit_code: int = 0, *, timeout: float = 60.0, wait: bool | None = None
    ) -> None:
        """Write everything, then finish the wandb run. Safe to call twice.

        ``wait=None`` (the default) waits in a script, and in a notebook kernel returns as
        soon as the run has stopped taking rows: the rows still queued go through wandb-core
        in a background thread (``state`` is "finishing" until the run file is complete).
        The next ``nbwandb.init``, a read of a run in this process, ``finish(wait=True)``
        and Python's exit wait for it; a failure there is warned about, and raised by
        ``finish(wait=True)``. If wandb's service does not answer within ``timeout``
        seconds, a warning says so and the finish ends (the data written so far stays in
        ``run_dir``).

        Raises:
            Exception: with ``wait=True`` (or in a script), what made ending the wandb run
                fail; in a kernel's background finish it is a warning instead (and raised by a
                later ``finish(wait=True)``). A service that does not answer within
                ``timeout`` is a warning, not an error.
        """
        with self._lock:
            first = not self.finished
            if first:
                self.state = "finishing"
                try:
                    self._commit_pending()
                except NbwandbError:
                    pass  # the writer failed earlier; still end the wandb run below
        if not first:
            # A second call: wait for a finish still going on in the background, if asked to.
            background = self._finish_done
            if background is not None and (wait or (wait is None and not in_kernel())):
                background.wait(timeout)
                self._raise_finish_error()
            return
        session.forget(self)
        if wait is None:
            wait = not in_kernel()
        if wait:
            self._complete_finish(exit_code, timeout)
            return
        from nbwandb.run.finish import run_in_background

        def in_background() -> None:
            try:
                self._complete_finish(exit_code, timeout)
            except BaseException as exc:  # noqa: BLE001 - kept for finish(wait=True), and said now
                self._finish_error = exc
                warnings.warn(
                    f"run {self.id} did not finish cleanly: {exc} (finish(wait=True) raises it)",
                    NbwandbWarning,
                    stacklevel=1,
                )

        self._finish_done = threading.Event()
        run_in_background(in_background, self._finish_done, f"nbwandb-finish-{self.id}")

    def _raise_finish_error(self) -> None:
        error, self._finish_error = self._finish_error, None
        if error is not None:
            raise error

    def _complete_finish(self, exit_code: int, timeout: float) -> None:
        """The work of ``finish`` once the run takes no more rows (on the caller's thread or not)."""
        try:
            self._end_wandb_run(exit_code, timeout)
        finally:
            # It raised (or was interrupted) before saying how it ended.
            if self.state == "finishing":
                self.state = "failed"

    def _end_wandb_run(self, exit_code: int, timeout: float) -> None:
        if self._wandb_run is None and not self._finish_start(exit_code, timeout):
            return
        warn_if_disk_full(self.run_dir)
        error: BaseException | None = None
        try:
            if not self._writer.close(timeout):
                warnings.warn(
                    f"rows were still being written after {timeout:g}s",
                    NbwandbWarning,
                    stacklevel=4,
                )
        except NbwandbError as exc:
            error = exc
            exit_code = exit_code or 1
        self.exit_code = int(exit_code)
        final_state = "finished" if self.exit_code == 0 else "failed"
        done = threading.Event()
        box: list[BaseException] = []

        online = self.mode == "online"

        def _finish() -> None:
            try:
                self.wandb_run.finish(exit_code=self.exit_code)
            except BaseException as exc:  # noqa: BLE001
                box.append(exc)
            else:
                # wandb's finish returns once the upload is through, even a late one, unless its
                # own finish_timeout setting made it give up.
                if online and getattr(self.wandb_run, "_finish_timed_out", False):
                    self.upload_complete = False
                    mark_upload(self.run_dir, "incomplete", detail="wandb's finish_timeout expired")
                elif online:
                    # A normal return is not enough: wandb-core may have given up (401/403).
                    self._upload_outcome = upload_outcome.settle(self)
            finally:
                done.set()

        threading.Thread(target=_finish, name="nbwandb-finish", daemon=True).start()
        in_time = done.wait(timeout)
        if in_time and not box:
            self._wait_for_exit_record()
        self.state = final_state  # (after the exit record: a background finish says so only now)
        if in_time and not box:
            upload_outcome.report(self, self._upload_outcome, stacklevel=4)
        if not done.is_set():
            self.state = "finish-timeout"
            if online:
                self.upload_complete = False
                mark_upload(
                    self.run_dir, "incomplete", detail=f"finish timed out after {timeout:g}s"
                )
                warnings.warn(
                    f"run {self.id}: the upload to {self.host or 'W&B'} did not complete within {timeout:g}s "
                    f"(the server is not answering). Every row is saved in {self.run_dir}; once the server "
                    f"is back, run `nbwandb sync {self.run_dir}` to finish the upload. The kernel is free to go on.",
                    NbwandbWarning,
                    stacklevel=4,
                )
            else:
                warnings.warn(
                    f"run {self.id}: wandb did not finish within {timeout:g}s (its service is not answering). "
                    f"The data written so far is in {self.run_dir}; the kernel is free to go on.",
                    NbwandbWarning,
                    stacklevel=4,
                )
        elif box:
            raise NbwandbError(f"run {self.id}: wandb failed to finish: {box[0]!r}") from box[0]
        if error is not None:
            raise error

    def _wait_for_exit_record(self, bound: float = EXIT_RECORD_WAIT) -> bool:
        """Wait (at most ``bound`` s) until the run file ends with wandb's exit record.

        wandb's ``finish`` returns before wandb-core has closed the run's stream, and the
        stream writes its last records to disk (within 0.1 s, or when it closes). Waiting
        here means that what ``finish`` returns to (a read of the run, a killed kernel)
        finds every record on disk. True once it is there.
        """
        path = self._run_file
        if path is None:
            return False
        from nbwandb.wandb_compat.logfile import last_record

        deadline = time.monotonic() + bound
        while True:
            payload = last_record(path)
            if payload is not None and _is_exit_record(payload):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0005)

    def _finish_start(self, exit_code: int, timeout: float) -> bool:
        """``finish`` of a run started in the background: wait for wandb's run (bounded).

        False when there is none to finish: the start failed (raised here unless an earlier
        call raised it already) or did not end within ``timeout`` (raised here).
        """
        start = self._start
        assert start is not None
        reported = start.error_reported
        try:
            self._await_start(timeout)
        except NbwandbError:
            self.exit_code = int(exit_code or 1)
            self.state = "failed"
            try:
                self._writer.close(0.1)  # its rows cannot be written: there is no wandb run
            except NbwandbError:
                pass
            if reported:
                return False
            raise
        return True

    def _check_open(self, what: str) -> None:
        if self.state != "running":
            raise RunFinishedError(
                f"run.{what}: run {self.id} has finished; start a new one with nbwandb.init(...)"
            )
        if self._start is not None:
            self._check_started()

    def __repr__(self) -> str:
        if not self.has_wandb_run:  # never wait (or raise) in a repr
            state = "starting" if self.starting else f"{self.state}, wandb could not start it"
            return f"<nbwandb.Run {self.name!r} id={self.id} mode={self.mode} state={state}>"
        where = self.url or str(self.run_dir)
        return f"<nbwandb.Run {self.name!r} id={self.id} mode={self.mode} state={self.state} at {where}>"


class NoOpRun(RunHandle):
    """The do-nothing handle: same methods as ``Run``, nothing written, next to no cost.

    Returned for ``use_wandb=False``, ``mode="disabled"`` and non-main distributed ranks,
    so library code needs no ``if`` around each call. Its methods are ``RunHandle``'s.
    """

    enabled = False
    id = None
    name = None
    project = None
    entity = None
    group = None
    tags: tuple[str, ...] = ()
    url = None
    sync_command = None
    run_dir = None
    files_dir = None
    run_file = None
    wandb_run = None
    exit_code = None
    step = None
    summary: ClassVar[dict[str, Any]] = {}  # never written to: a NoOpRun has no summary
    rows_written = 0
    resumed_from: tuple[Path, ...] = ()
    start_step = 0

    def __init__(
        self,
        reason: str = "use_wandb=False",
        mode: str = "disabled",
        step_metric: str = "global_step",
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.mode = mode
        self.mode_reason = reason
        self.step_metric = step_metric
        self.state = "running"
        self._config = dict(config or {})

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._config)

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def finish_outcome(self) -> FinishOutcome | None:
        if self.state == "running":
            return None
        what: FinishWhat = "finished" if self.state == "finished" else "failed"
        title = f"NoOpRun ({self.mode_reason})"
        return FinishOutcome(what, None, title, mode=self.mode, exit_code=self.exit_code)

    def update_config(self, mapping: Mapping[str, Any] | Any = None, /, **values: Any) -> None:
        self._config.update(to_config_dict(mapping) if mapping is not None else {})
        self._config.update(values)

    def __repr__(self) -> str:
        return f"<nbwandb.NoOpRun ({self.mode_reason}): nothing is logged>"
