"""run.disk_space: one check of room under a run, and one threshold, for init, the doctor and a
running run (init and %wandb_doctor had near copies; the running run a third threshold)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import nbwandb
from nbwandb.checks.doctor import check_disk
from nbwandb.errors import NbwandbError, NbwandbWarning
from nbwandb.run import disk_space
from nbwandb.run.disk_space import check_run_dir, warn_if_disk_full


def test_a_folder_not_made_yet_is_checked_at_its_nearest_parent(tmp_path: Path):
    check = check_run_dir(tmp_path / "a" / "b")
    assert check.probe == tmp_path and check.writable and check.room and check.problem is None
    assert check_disk(tmp_path / "a").ok is True


def test_init_and_the_doctor_see_one_threshold(isolated: Path, monkeypatch):
    monkeypatch.setattr(disk_space, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    with pytest.raises(NbwandbError, match=r"MiB free on its disk \(nbwandb wants at least"):
        nbwandb.init("disk", mode="offline", dir=isolated / "runs", quiet=True)
    doctor = check_disk(isolated / "runs")
    assert doctor.ok is False and "MiB free under" in doctor.detail and "WANDB_DIR" in doctor.fix
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_if_disk_full(isolated) and warn_if_disk_full(isolated)
    # once per folder, before wandb-core silently drops rows
    assert [str(w.message)[:40] for w in caught if w.category is NbwandbWarning] == [
        f"the disk holding {isolated} is full or nearly"[:40]
    ]
    assert "nbwandb.init()" in str(caught[0].message)


def test_init_and_the_doctor_agree_on_a_folder_they_cannot_write(isolated: Path, monkeypatch):
    # root writes anywhere, so the answer of os.access is what is faked
    asked = []
    monkeypatch.setattr(disk_space.os, "access", lambda path, mode: asked.append(mode) or False)
    with pytest.raises(NbwandbError, match="is not writable; pass dir= a writable folder"):
        nbwandb.init("disk", mode="offline", dir=isolated / "runs", quiet=True)
    doctor = check_disk(isolated / "runs")
    assert doctor.ok is False and doctor.detail == f"{isolated} is not writable"
    # both ask for write and search permission (the doctor asked for write only)
    assert set(asked) == {disk_space.os.W_OK | disk_space.os.X_OK}
