"""The kernel's cache keeper (issue 27): it reads a live run on into its cache between cells,
never while a cell runs before its period, and a stop mid-pass leaves no cache half written.

Runs are real offline runs; what the keeper wrote is compared with a full read of the file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import nbwandb
from nbwandb.local import read_run
from nbwandb.local.cache import cache_path, load_cache
from nbwandb.local.keeper import CacheKeeper

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from relkit import Kernel  # noqa: E402  (the reliability tests' kernel driver)


def _assert_cache_equals_full_read(run_dir: Path, rows: int) -> None:
    full = read_run(run_dir)  # rows kept: no cache involved
    cache = load_cache(full.run_file)
    assert cache is not None and not cache.light
    assert cache.meta["rows"] == len(full.history) == rows
    columns = cache.columns()
    for key in ("loss", "_step"):
        assert np.array_equal(columns[key], [row[key] for row in full.history]), key
    assert cache.meta["state"]["exit_code"] == full.exit_code == 0


def _logged_run(rows: int, *, finish: bool = True) -> nbwandb.Run:
    run = nbwandb.init("keeper", mode="offline", quiet=True)
    for i in range(rows):
        run.log({"loss": 1 / (1 + i), "acc": i / rows}, step=i)
    if finish:
        run.finish()
    return run


def test_keeper_reads_a_live_run_on_and_ends_with_the_full_read(isolated: Path) -> None:
    run = _logged_run(2000, finish=False)
    keeper = CacheKeeper()
    try:
        run.flush()
        keeper.keep(run)
        assert keeper.wait_idle(60)
        first = load_cache(run.run_file)
        assert first is not None and first.meta["rows"] > 0  # what wandb-core had written
        assert keeper.kept == 1  # no exit record yet: still kept
        for i in range(2000, 4000):
            run.log({"loss": 1 / (1 + i), "acc": i / 4000}, step=i)
        run.finish()
        keeper.wake()  # what a background finish's end does in a kernel
        assert keeper.wait_idle(60)
        _assert_cache_equals_full_read(Path(run.run_dir), 4000)
        assert keeper.kept == 0  # the exit record is cached: let go
        assert keeper.last_error is None
    finally:
        keeper.stop()


def test_no_pass_while_a_cell_runs_until_the_cell_ends(isolated: Path) -> None:
    run_dir = Path(_logged_run(500).run_dir)
    cache = cache_path(read_run(run_dir).run_file)
    cache.unlink(missing_ok=True)
    keeper = CacheKeeper()
    try:
        keeper.cell_started()
        keeper.keep(run_dir)
        time.sleep(1.0)  # far less than BUSY_PERIOD
        assert keeper.passes == 0 and not cache.exists()
        keeper.cell_ended()
        assert keeper.wait_idle(60)
        assert cache.exists()
        _assert_cache_equals_full_read(run_dir, 500)
    finally:
        keeper.stop()


def test_a_stop_in_the_middle_of_a_paced_pass_leaves_no_cache_half_written(
    isolated: Path,
) -> None:
    run_dir = Path(_logged_run(20_000).run_dir)
    cache = cache_path(read_run(run_dir).run_file)
    cache.unlink(missing_ok=True)
    keeper = CacheKeeper()
    keeper.cell_started()
    keeper.keep(run_dir)
    keeper.wake()  # a pass while the cell runs: small windows, each followed by a 99x pause
    time.sleep(0.5)
    started = time.monotonic()
    keeper.stop(timeout=10)
    assert time.monotonic() - started < 10  # the pause between windows ends at the stop
    assert not cache.exists()
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    read_run(run_dir, history=False)  # the next read builds it whole
    _assert_cache_equals_full_read(run_dir, 20_000)


def test_a_kernel_keeps_the_cache_of_its_run_between_cells(isolated: Path) -> None:
    with Kernel(isolated) as kernel:
        cell = kernel.run(
            "import nbwandb\n"
            "run = nbwandb.init('kernel-keeper', mode='offline', quiet=True)\n"
            "for i in range(5000):\n"
            "    run.log({'loss': 1 / (1 + i)}, step=i)\n"
            "run.flush()\n"
            "print('dir=' + str(run.run_dir))\n"
        ).check()
        run_dir = Path(cell.value("dir"))
        run_file = read_run(run_dir).run_file
        # the kernel is idle now: its keeper reads the file on without a cell asking
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cache = load_cache(run_file)
            if cache is not None and cache.meta["rows"] >= 1000:
                break
            time.sleep(0.2)
        assert cache is not None and cache.meta["rows"] >= 1000
        kernel.run("run.finish()").check()  # finishes in the background, then wakes the keeper
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cache = load_cache(run_file)
            if cache is not None and cache.meta["state"]["exit_code"] == 0:
                break
            time.sleep(0.2)
        _assert_cache_equals_full_read(run_dir, 5000)
