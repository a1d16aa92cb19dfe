"""An unwritable run directory or a full disk: a clear error at ``init``, not a crash later.

The real cases need a file system of their own: a read-only or a 1 MiB tmpfs, mounted
when the test runs as root with the right to mount (CI containers often have it);
otherwise a read-only directory (non-root) or the patched free-space probe stands in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from relkit import record

import nbwandb
from nbwandb.errors import NbwandbError
from nbwandb.run import session


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _init_fails(where: Path) -> tuple[str, float]:
    import wandb  # noqa: F401 - imported before timing: the figure is init's check, not wandb's import

    t0 = time.monotonic()
    with pytest.raises(NbwandbError) as info:
        nbwandb.init(project="disk", mode="offline", dir=where / "runs", quiet=True)
    seconds = time.monotonic() - t0
    message = str(info.value)
    assert str(where / "runs") in message and ("dir=" in message or "WANDB_DIR" in message), message
    assert session.active_run() is None
    return message, seconds


def _good_init_still_works(tmp_path: Path) -> None:
    with nbwandb.init(project="disk", mode="offline", dir=tmp_path / "good", quiet=True) as run:
        run.log({"ok": 1.0})
    assert run.exit_code == 0


def test_read_only_run_dir_fails_at_init(tmp_path: Path):
    if os.geteuid() == 0:
        context = tmpfs(
            tmp_path / "ro", "ro,size=1m"
        )  # root writes anywhere except a read-only mount
    else:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o500)
        context = _nullcontext(tmp_path / "ro")
    with context as where:
        message, seconds = _init_fails(where)
    assert "not writable" in message
    _good_init_still_works(tmp_path)
    record("run_dir_read_only", error=message, ms_to_error=round(seconds * 1000, 2))


def test_full_disk_fails_at_init(tmp_path: Path):
    with tmpfs(tmp_path / "tiny", "size=1m") as where:  # 1 MiB: far below the 50 MiB nbwandb wants
        message, seconds = _init_fails(where)
    assert "MiB free" in message
    _good_init_still_works(tmp_path)
    record("run_dir_disk_full_tmpfs", error=message, ms_to_error=round(seconds * 1000, 2))


def test_low_free_space_reported_by_the_disk_fails_at_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    usage = namedtuple("usage", "total used free")
    with monkeypatch.context() as patch:
        patch.setattr(
            shutil, "disk_usage", lambda path: usage(10 << 30, (10 << 30) - (3 << 20), 3 << 20)
        )
        message, seconds = _init_fails(tmp_path)
    assert "only 3 MiB free" in message
    _good_init_still_works(tmp_path)
    record("run_dir_disk_full_probe", error=message, ms_to_error=round(seconds * 1000, 2))


@contextmanager
def _nullcontext(value: Path) -> Iterator[Path]:
    yield value


def test_disk_filling_up_during_a_run_is_reported(tmp_path: Path):
    """wandb-core drops records on a full disk and says nothing; nbwandb's flush/finish must say it."""
    import warnings

    with tmpfs(tmp_path / "small", "size=60m") as where:  # passes init's 50 MiB check
        run = nbwandb.init(project="disk", mode="offline", dir=where, quiet=True)
        for i in range(100):
            run.log({"x": float(i)}, step=i)
        run.flush()
        time.sleep(0.3)
        with open(where / "filler", "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * (1 << 20))
            except OSError:
                pass  # the disk is full now
        reported: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                for i in range(100, 3000):
                    run.log({"x": float(i)}, step=i)
                run.flush()
                time.sleep(0.3)
                run.finish()
            except NbwandbError as exc:
                reported.append(str(exc))
        reported += [str(w.message) for w in caught]
        (where / "filler").unlink()
    full = [m for m in reported if "is full" in m]
    assert len(full) == 1 and "nbwandb.init()" in full[0], (
        f"the full disk must be reported once: {reported}"
    )
    record("run_dir_disk_fills_during_run", reported=full[0])
