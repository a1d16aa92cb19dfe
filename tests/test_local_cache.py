"""The cache beside a run file (issue 27), on real offline runs written by wandb and nbwandb."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import nbwandb
from nbwandb.local import list_runs, read_run
from nbwandb.local.cache import cache_path, load_cache
from nbwandb.local.runs_table import run_record
from nbwandb.local.sampled import SampledSeries, reduce_buckets
from nbwandb.wandb_compat.logfile import FILE_HEADER_LEN, LogReader, frame_records
from nbwandb.wandb_compat.protobufs import record_module

ROWS = 3000


def _raw_run(rows: int = ROWS, *, project: str = "cache", spike_every: int = 997) -> Path:
    """A raw wandb offline run: a loss with spikes, a metric logged every 100th row, a bool."""
    import wandb

    # dir: wandb keeps the first init's settings (WANDB_DIR) for the process
    run = wandb.init(
        project=project, dir=os.environ["WANDB_DIR"], config={"lr": 0.01, "opt": {"name": "adam"}}
    )
    for i in range(rows):
        row: dict[str, object] = {"train/loss": 1 / (1 + i) + (7.0 if i % spike_every == 5 else 0)}
        if i % 100 == 99:
            row["val/acc"] = i / rows
            row["flag"] = i % 200 == 199
        run.log(row)
    run.summary["note"] = "done"
    run.finish()
    return Path(run.dir).parent


@pytest.fixture
def raw_run(isolated: Path) -> Path:
    return _raw_run()


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_same_run(cached: nbwandb.local.LocalRun, full: nbwandb.local.LocalRun) -> None:
    assert cached.history == [] and cached.steps == full.steps
    assert cached.summary == full.summary and cached.config == full.config
    assert (cached.id, cached.name, cached.project, cached.exit_code, cached.state) == (
        full.id,
        full.name,
        full.project,
        full.exit_code,
        full.state,
    )
    assert cached.runtime == full.runtime and cached.step == full.step
    assert cached.media == full.media and cached.console == full.console
    assert cached.truncated == full.truncated and cached.record_count == full.record_count
    assert_columns_match(cached, full.history)


def assert_columns_match(run: nbwandb.local.LocalRun, history: list[dict]) -> None:
    """``columns()`` and ``to_pandas()`` hold exactly the row history."""
    columns = run.columns()
    frame = run.to_pandas()
    assert len(frame) == len(history)
    keys = {k for row in history for k in row}
    assert set(frame.columns) == keys
    for key in keys:
        values = frame[key].tolist()
        col = columns[key]
        assert len(col) == len(history)
        for i, row in enumerate(history):
            want = row.get(key)
            got = values[i]
            if want is None:
                assert got is None or (isinstance(got, float) and math.isnan(got)), (key, i)
                assert math.isnan(col[i]), (key, i)
                continue
            if type(want) in (int, float):  # a number: equal (1 and 1.0 share a float column)
                assert type(got) in (int, float) and _same(float(got), float(want)), (key, i)
            else:  # bools, strings, media dicts: the same value, of the same type
                assert type(got) is type(want) and got == want, (key, i, got, want)
            if type(want) in (int, float):
                assert _same(float(col[i]), float(want)), (key, i)
            else:
                assert math.isnan(col[i]), (key, i)  # not a number: NaN in the numeric view


def test_cache_holds_what_a_full_read_gives(raw_run: Path) -> None:
    full = read_run(raw_run)
    cached = read_run(raw_run, history=False)  # builds the cache
    assert cache_path(cached.run_file).is_file()
    assert_same_run(cached, full)
    again = read_run(raw_run, history=False)  # from the cache alone
    assert again._cache.path == cache_path(full.run_file)
    assert_same_run(again, full)
    # the full read's own columns view gives the same columns
    assert_columns_match(full, full.history)
    assert read_run(raw_run).history == full.history  # the row history is as it was


def test_sampled_series_keep_each_buckets_min_max_last(raw_run: Path) -> None:
    full = read_run(raw_run)
    run = read_run(raw_run, history=False)
    width = run._cache.meta["sampler"]["width"]
    for key in ("train/loss", "val/acc", "_runtime"):
        xs, ys = run.sampled(key)
        buckets: dict[int, list[tuple[float, float]]] = {}
        for row in full.history:
            y = row.get(key)
            if type(y) in (int, float) and math.isfinite(y):
                x = row["_step"]
                buckets.setdefault(math.floor(x / width[key]), []).append((x, y))
        assert len(buckets) <= run._cache.meta["sampler"]["buckets"]
        kept = set(zip(xs.tolist(), ys.tolist(), strict=True))
        for points in buckets.values():
            assert min(points, key=lambda p: p[1])[1] in {y for _, y in kept}
            assert min(p[1] for p in points) in ys and max(p[1] for p in points) in ys
            assert points[-1] in kept  # the bucket's last point, at its step
        assert xs.tolist() == sorted(xs.tolist()) and len(xs) <= 5 * len(buckets)
        assert xs[0] == min(p[0] for b in buckets.values() for p in b)
    # every spike (7 above the curve) is drawn
    _, ys = run.sampled("train/loss")
    spikes = [r["train/loss"] for r in full.history if r["train/loss"] > 7]
    assert len(spikes) == ROWS // 997 + 1 and all(s in ys for s in spikes)


def test_sampling_in_windows_equals_sampling_at_once() -> None:
    rng = np.random.default_rng(3)
    xs = np.sort(rng.integers(0, 50_000, 20_000)).astype(float)
    ys = rng.normal(size=xs.size)
    seq = np.arange(xs.size)
    whole = SampledSeries(64)
    whole.add("k", xs, ys, seq)
    parts = SampledSeries(64)
    for lo in range(0, xs.size, 1234):
        parts.add("k", xs[lo : lo + 1234], ys[lo : lo + 1234], seq[lo : lo + 1234])
    width = whole.state()["width"]["k"]
    assert parts.state()["width"]["k"] == width
    a, b = whole.points()["k"], parts.points()["k"]
    # the same bucket extremes and last points, however the points arrived
    for pts in (a, b):
        got = reduce_buckets(*pts, width)
        assert [v.tolist() for v in got] == [v.tolist() for v in reduce_buckets(xs, ys, seq, width)]


def _cut_copy(run_dir: Path, dest: Path, length: int, *, logs: bool = True) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    if logs:  # the writer's logs name its process (alive here: a cut file is "running")
        shutil.copytree(run_dir / "logs", dest / "logs", dirs_exist_ok=True)
    run_file = next(run_dir.glob("run-*.wandb"))
    (dest / run_file.name).write_bytes(run_file.read_bytes()[:length])
    return dest


def test_grown_file_is_read_on_from_the_cache(raw_run: Path, isolated: Path) -> None:
    full = read_run(raw_run)
    data = full.run_file.read_bytes()
    live = _cut_copy(raw_run, isolated / "live", len(data) // 3 + 5)
    first = read_run(live, history=False)
    rows_then, offset_then = first.steps, first._cache.offset
    assert 0 < rows_then < full.steps and first.truncated
    with open(live / full.run_file.name, "ab") as fh:  # the writer goes on
        fh.write(data[len(data) // 3 + 5 : 2 * len(data) // 3])
    middle = read_run(live, history=False)
    assert middle._cache.offset > offset_then and middle.steps > rows_then
    assert middle.columns()["train/loss"].tolist() == [
        r["train/loss"] for r in read_run(live).history
    ]
    with open(live / full.run_file.name, "ab") as fh:
        fh.write(data[2 * len(data) // 3 :])
    done = read_run(live, history=False)
    assert done.state == "finished" and not done.truncated
    full_copy = read_run(live)
    assert_same_run(done, full_copy)
    assert load_cache(done.run_file).meta["rows"] == full.steps


def test_truncated_corrupted_or_stale_cache_is_rebuilt(raw_run: Path, isolated: Path) -> None:
    full = read_run(raw_run)
    data = full.run_file.read_bytes()
    copy = _cut_copy(raw_run, isolated / "copy", len(data))
    run_file = copy / full.run_file.name
    read_run(copy, history=False)
    cache = cache_path(run_file)
    good = cache.read_bytes()

    # the run file cut short (a copy interrupted, a file restored from an older backup)
    run_file.write_bytes(data[: len(data) // 2 + 3])
    part = read_run(copy, history=False)
    assert part.steps < full.steps and part.truncated
    assert_same_run(part, read_run(copy))

    # the cache file cut short, or with bytes flipped in its arrays, or not a cache at all
    run_file.write_bytes(data)
    for damaged in (good[: len(good) // 2], good[:-200] + bytes(200), b"not a zip file"):
        cache.write_bytes(damaged)
        assert_same_run(read_run(copy, history=False), full)
    flipped = bytearray(good)
    for i in range(len(flipped) // 3, len(flipped) // 3 + 64):
        flipped[i] ^= 0xFF
    cache.write_bytes(bytes(flipped))
    assert_same_run(read_run(copy, history=False), full)

    # stale: the run file rewritten in place (same size, another config), with a new mtime
    pb = record_module()
    payloads = LogReader(run_file).read_available()
    for i, payload in enumerate(payloads):
        rec = pb.Record.FromString(payload)
        if rec.WhichOneof("record_type") == "run":
            for item in rec.run.config.update:
                if item.key == "lr":
                    item.value_json = item.value_json.replace("0.01", "0.02")
            payloads[i] = rec.SerializeToString()
    rewritten = frame_records(payloads)
    assert len(rewritten) == len(data) and rewritten[:FILE_HEADER_LEN] == data[:FILE_HEADER_LEN]
    read_run(copy, history=False)
    before = run_file.stat().st_mtime_ns
    run_file.write_bytes(rewritten)
    os.utime(run_file, ns=(before + 10**9, before + 10**9))
    stale = read_run(copy, history=False)
    assert stale.config["lr"] == 0.02 and stale.config == read_run(copy).config

    # another run's cache under this run's name is not trusted either
    other = _raw_run(200, project="other")
    read_run(other, history=False)
    shutil.copy(cache_path(next(other.glob("run-*.wandb"))), cache)
    assert read_run(copy, history=False).steps == full.steps


def test_a_cache_that_cannot_be_written_leaves_the_read_working(raw_run: Path) -> None:
    run_file = next(raw_run.glob("run-*.wandb"))
    cache_path(run_file).mkdir()  # the rename onto it fails, as in a read-only folder
    full = read_run(raw_run)
    cached = read_run(raw_run, history=False)
    assert cached._cache.path is None and not list(raw_run.glob(".*.tmp"))
    assert_same_run(cached, full)
    assert nbwandb.show(cached).keys == nbwandb.show(full).keys


def test_list_runs_agrees_with_a_full_read(isolated: Path) -> None:
    raw = _raw_run(300)  # first: a raw wandb.init while nbwandb's run finishes would join it
    ours = nbwandb.init("cache", config={"lr": 0.1, "nested": {"a": 1}}, mode="offline", quiet=True)
    for step in range(40):
        ours.log({"loss": 1 / (step + 1)}, step=step, prefix="train")
    ours.finish()
    # a crashed copy: the file cut mid-record, no exit record, no logs of a live writer
    data = next(raw.glob("run-*.wandb")).read_bytes()
    crashed = isolated / "wandb" / "offline-run-20200101_000000-crashed1"
    _cut_copy(raw, crashed, len(data) // 2, logs=False)
    (crashed / next(raw.glob("run-*.wandb")).name).rename(crashed / "run-crashed1.wandb")
    # cold: rows counted, not decoded, a light cache (the state) written, then the run shown
    # (which writes the full cache: columns, sampled series); warm: from the full cache
    for attempt in ("cold", "warm"):
        table = list_runs(isolated / "wandb")
        assert len(table) == 3, attempt
        for run in table.runs:
            cache = load_cache(Path(run.run_file))
            assert cache is not None and cache.light == (attempt == "cold"), attempt
        for row, run in zip(table, table.runs, strict=True):
            full = read_run(row["path"])
            assert row == run_record(full), (attempt, row["id"])
            assert read_run(row).id == row["id"]  # a list_runs row is a run to read
            assert (run.step, run.steps, run.media) == (full.step, full.steps, full.media)
            assert nbwandb.show(run).keys == nbwandb.show(full).keys, attempt
            assert run.metric_keys() == full.metric_keys(), attempt  # builds the full cache
            assert_columns_match(run, full.history)
    assert {r["state"] for r in table} == {"finished", "crashed"}


def test_only_redundant_summary_records_are_skipped(isolated: Path) -> None:
    """wandb-core writes a summary record a row; those whose keys are written again later
    (and first earlier) are skipped. The summary, key order included, is the one every
    record applied gives, with removals, nested keys and a key both plain and nested."""
    import json

    import wandb

    from nbwandb.local.reader import _apply_summary, _materialise_summary, iter_records
    from nbwandb.local.records import redundant_summaries

    run = wandb.init(project="summary", dir=os.environ["WANDB_DIR"])
    for i in range(300):
        run.log({"loss": 1 / (i + 1), "acc": i / 300})
        if i % 50 == 10:
            run.summary["best"] = i
        if i == 120:
            run.summary["img"] = {"caption": "a", "n": i}
            del run.summary["best"]
        if i == 200:
            run.summary["img"] = 5  # the nested key becomes a plain value again
        if i == 250:
            run.summary.update({"best": -1, "z/late": "yes"})
    run.finish()
    run_dir = Path(run.dir).parent
    full = read_run(run_dir)  # waits for wandb-core's last records (iter_records does not)
    assert full.exit_code == 0
    records = list(iter_records(run_dir))
    summary_json: dict = {}
    heads: set[str] = set()
    for rec in records:  # every record applied: the reference
        if rec.WhichOneof("record_type") == "summary":
            _apply_summary(summary_json, heads, rec.summary)
        elif rec.WhichOneof("record_type") == "run" and rec.run.HasField("summary"):
            _apply_summary(summary_json, heads, rec.run.summary)
    want = _materialise_summary(summary_json)
    payloads = [rec.SerializeToString() for rec in records]
    skipped = redundant_summaries(payloads)
    summaries = [i for i, rec in enumerate(records) if rec.WhichOneof("record_type") == "summary"]
    assert len(skipped) > len(summaries) // 2  # most are skipped
    assert set(skipped) <= set(summaries)
    for got in (full.summary, read_run(run_dir, history=False).summary):
        assert json.dumps(got) == json.dumps(want)  # values and key order
    assert want["best"] == 260 and want["img"] == 5 and want["z/late"] == "yes"


def test_run_panel_of_an_ended_run_draws_the_sampled_series(isolated: Path) -> None:
    from nbwandb.notebook.run_panel import RunData, RunPanel

    run = nbwandb.init("cache", mode="offline", quiet=True)
    for step in range(2000):
        run.log(
            {"loss": 1 / (step + 1) + (9.0 if step == 1234 else 0.0)}, step=step, prefix="train"
        )
        if step % 100 == 99:
            run.log({"acc": step / 2000}, step=step, prefix="val")
    run.finish()
    panel = RunPanel(run)
    sampled = panel._data
    rows = RunData(run)  # today's path: every row through on_row
    for row in read_run(run.run_dir).history:
        rows.on_row(dict(row))
    assert set(sampled.series) == set(rows.series) == {"train/loss", "val/acc"}
    assert sampled.last_values == rows.last_values
    assert sampled.rows_seen == rows.rows_seen == 2000
    for key in sampled.series:
        assert sampled.series[key].last == rows.series[key].last
        assert sampled.series[key].last_step == rows.series[key].last_step
        assert sampled.series[key].high >= rows.series[key].high  # the spike is drawn
    assert cache_path(Path(read_run(run.run_dir).run_file)).is_file()


def test_columns_built_from_records_hold_every_kind_of_value(isolated: Path) -> None:
    """The cache's columns are built from each record's value texts, not from row dicts (a
    window at a time, spilled to a temporary file): the same values as the row history for
    ints, floats, NaN and infinities, bools, text, null, lists, nested dicts, keys that come
    and go, and a key that turns from int to float."""
    import wandb

    run = wandb.init(project="kinds", dir=os.environ["WANDB_DIR"])
    for i in range(700):
        row: dict[str, object] = {"n": i, "f": i / 7, "flag": i % 2 == 0, "word": f"w{i % 3}"}
        if i % 5 == 0:
            row["odd"] = {"inner": i, "list": [i, "x"]} if i % 10 else None
        if i % 97 == 3:
            row["bad"] = math.nan if i % 2 else math.inf
        row["switch"] = i if i < 350 else i + 0.5
        if i >= 600:
            row["late"] = -i
        run.log(row)
    run.finish()
    run_dir = Path(run.dir).parent
    full = read_run(run_dir)
    from nbwandb.local import cache as cache_module

    window = cache_module.CACHE_WINDOW
    cache_module.CACHE_WINDOW = 4096  # many windows: keys that come and go between them
    try:
        cached = read_run(run_dir, history=False)
    finally:
        cache_module.CACHE_WINDOW = window
    assert_same_run(cached, full)
    stored = load_cache(Path(full.run_file))
    assert stored is not None and not stored.light
    assert "n" in stored.meta["int_keys"] and "switch" not in stored.meta["int_keys"]
    xs, ys = cached.sampled("late")
    assert xs.min() == 600 and ys.min() == -699
