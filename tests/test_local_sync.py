"""Offline pieces of the online story: config merging, repaired run files, upload state, honest sync.

Runs are real offline runs; ``wandb leet inspect`` (wandb's own reader) checks what nbwandb
reads and what a repaired copy holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from leet import leet_summary

import nbwandb
from nbwandb.cli import main
from nbwandb.local import read_run
from nbwandb.local.repair import check_run_file, write_repaired_copy
from nbwandb.local.sync import classify_output
from nbwandb.run.upload_state import mark, upload_state
from nbwandb.wandb_compat.logfile import LogReader, frame_records
from nbwandb.wandb_compat.protobufs import record_module


def _offline_run(rows: int = 20, **config) -> Path:
    run = nbwandb.init("repair", mode="offline", config=config or None, quiet=True)
    for step in range(rows):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.finish()
    return Path(run.run_dir)


def test_nested_config_updates_merge_as_wandb_core_merges(isolated: Path) -> None:
    run = nbwandb.init(
        "merge",
        mode="offline",
        quiet=True,
        config={"nested": {"a": 1, "b": [1, 2]}, "opt": {"lr": 1}, "flat": 1},
    )
    run.update_config(nested={"a": 2})  # dict into dict: merged
    run.update_config(opt=0.5)  # scalar over a dict: replaced
    run.update_config(flat={"x": {"y": 1}})  # dict over a scalar: replaced
    run.update_config({"flat": {"x": {"z": 2}}})  # merged two levels down
    expected = {"nested": {"a": 2, "b": [1, 2]}, "opt": 0.5, "flat": {"x": {"y": 1, "z": 2}}}
    assert run.config == expected
    run.finish()
    assert read_run(run.run_dir).config == expected
    assert leet_summary(run.run_dir)["config"] == expected


def test_frame_records_writes_what_wandb_core_writes(isolated: Path) -> None:
    run_file = next(_offline_run(300).glob("*.wandb"))
    payloads = LogReader(run_file).read_available()
    assert frame_records(payloads) == run_file.read_bytes()  # byte for byte, block padding included


def test_repaired_copy_drops_a_cut_tail_and_a_second_exit(isolated: Path, tmp_path: Path) -> None:
    run_dir = _offline_run(50)
    run_file = next(run_dir.glob("*.wandb"))
    pb = record_module()
    payloads = LogReader(run_file).read_available()
    exits = [p for p in payloads if pb.Record.FromString(p).WhichOneof("record_type") == "exit"]
    assert len(exits) == 1
    # What a finish that timed out plus wandb's exit hook leave: a second exit record; then a cut tail.
    damaged = frame_records([*payloads, exits[0], payloads[-3]])
    run_file.write_bytes(damaged[:-5])
    check = check_run_file(run_dir)
    assert check.cut and check.exit_records == 2 and check.needs_repair and check.history_rows == 50
    assert "cut off" in check.describe() and "2 exit records" in check.describe()

    copy = write_repaired_copy(run_dir, tmp_path / "scratch", check)
    assert (
        copy.name == run_dir.name and run_file.read_bytes() == damaged[:-5]
    )  # the original is untouched
    fixed = check_run_file(copy)
    assert not fixed.needs_repair and fixed.exit_records == 1 and fixed.history_rows == 50
    assert (copy / "files").is_dir()
    assert (
        leet_summary(copy)["state"] == "finished"
        and read_run(copy).history == read_run(run_dir).history
    )


def test_upload_state_of_an_online_run_folder(tmp_path: Path) -> None:
    assert upload_state(tmp_path).state == "unknown" and not upload_state(tmp_path).needs_sync
    mark(tmp_path, "uploading", host="http://127.0.0.1:9")
    assert (
        upload_state(tmp_path).state == "uploading" and not upload_state(tmp_path).needs_sync
    )  # we are alive
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    path = tmp_path / "nbwandb-upload.json"
    path.write_text(path.read_text().replace(str(os.getpid()), dead.stdout.strip()))
    assert upload_state(tmp_path).needs_sync  # its writer is gone: a killed kernel
    mark(tmp_path, "incomplete", detail="finish timed out after 5s")
    state = upload_state(tmp_path)
    assert state.needs_sync and state.host == "http://127.0.0.1:9" and "5s" in state.detail
    mark(tmp_path, "synced")
    assert upload_state(tmp_path).done and not upload_state(tmp_path).needs_sync
    with pytest.raises(ValueError, match="upload state 'done' is not accepted"):
        mark(tmp_path, "done")


def test_sync_never_says_ok_for_nothing() -> None:
    printed = (
        "wandb: Skipped 1 online run(s). Include with --no-skip-online.\nwandb: No runs to sync.\n"
    )
    assert classify_output(0, printed)[0] is False


def test_an_already_synced_run_is_skipped_without_asking_the_network(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _offline_run(5)
    (run_dir / (next(run_dir.glob("*.wandb")).name + ".synced")).touch()
    monkeypatch.setenv(
        "WANDB_API_KEY", "local" + "k" * 40
    )  # the host (loopback :9) refuses: not asked
    assert main(["sync", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert (
        f"skipped  {run_dir.name}: already synced" in out and "0 synced, 0 failed, 1 skipped" in out
    )
