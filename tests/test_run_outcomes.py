"""Outcomes, not prints: what ``init``, ``finish`` and ``sync`` did, read back as fields.

Real wandb offline; the printed line is checked to be the outcome's own text (one formatter),
and ``quiet=True`` prints nothing while the outcome is still recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nbwandb
from nbwandb.local.sync import sync_runs
from nbwandb.run import finish
from nbwandb.run.outcomes import FinishOutcome, StartOutcome


def test_an_offline_start_is_an_outcome_and_its_message_is_what_init_prints(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = nbwandb.init(project="outcomes", mode="offline", name="first")
    printed = capsys.readouterr().out
    outcome = run.start_outcome
    assert isinstance(outcome, StartOutcome)
    assert (outcome.what, outcome.run_id, outcome.mode) == ("started", run.id, "offline")
    assert outcome.reason == "mode='offline' was asked for" and outcome.replaced is None
    assert outcome.run_dir == run.run_dir and outcome.run_dir.is_dir()
    assert outcome.folder == run.run_dir.parent and outcome.folder.name == "wandb"
    assert outcome.sync_command == f"nbwandb sync {run.run_dir}" and outcome.resumed is None
    assert printed == outcome.message() + "\n"
    assert printed.startswith(f"nbwandb: offline run 'first' ({run.id}) in {run.run_dir} [")
    assert run.finish_outcome is None  # still running
    run.finish()


def test_quiet_prints_nothing_and_still_records_the_outcome(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    assert capsys.readouterr().out == ""
    assert run.start_outcome is not None and run.start_outcome.what == "started"
    assert run.start_outcome.run_dir == run.run_dir
    run.finish()


def test_a_rerun_cell_records_the_live_run_it_finished_first(isolated: Path) -> None:
    first = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    first.log({"loss": 1.0}, step=0)
    second = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    assert first.state == "finished" and second.id != first.id
    assert second.start_outcome is not None and second.start_outcome.replaced == first.id
    assert first.start_outcome is not None and first.start_outcome.replaced is None
    second.finish()


def test_a_disabled_run_says_so_and_prints_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = nbwandb.init(project="outcomes", mode="disabled")
    assert capsys.readouterr().out == ""
    outcome = run.start_outcome
    assert outcome is not None and outcome.what == "disabled" and outcome.run_dir is None
    assert outcome.message() == ""
    run.finish()
    assert run.finish_outcome == FinishOutcome(
        "finished", None, f"NoOpRun ({run.mode_reason})", mode="disabled", exit_code=0
    )


@pytest.mark.parametrize(("exit_code", "what"), [(0, "finished"), (1, "failed")])
def test_finish_outcome_finished_or_failed(isolated: Path, exit_code: int, what: str) -> None:
    run = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    run.log({"loss": 0.5}, step=0)
    run.finish(exit_code=exit_code)
    outcome = run.finish_outcome
    assert outcome is not None
    assert (outcome.what, outcome.run_id, outcome.exit_code) == (what, run.id, exit_code)
    assert outcome.run_dir == run.run_dir and outcome.sync_command == run.sync_command
    assert outcome.upload_complete is None  # offline: nothing was to be uploaded
    assert nbwandb.local.read_run(outcome.run_dir).exit_code == exit_code
    assert outcome.message() == (
        f"nbwandb: finished run {run.id}, exit code {exit_code}, in {run.run_dir}; "
        f"upload later with `{run.sync_command}`"
    )


def test_finish_outcome_in_the_background_then_finished(isolated: Path) -> None:
    run = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    for step in range(20_000):  # ~1 s of wandb-core's CPU: still finishing after finish() returns
        run.log({"a": float(step)}, step=step)
    run.finish(wait=False)  # what a notebook kernel does by default
    during = run.finish_outcome
    assert during is not None and during.what == "finishing" and during.run_dir is None
    assert during.message() == (
        f"nbwandb: run {run.id} finishing in the background; the next cell can go on"
    )
    assert finish.wait_all(60)
    after = run.finish_outcome
    assert after is not None and (after.what, after.exit_code) == ("finished", 0)
    assert after.run_dir == run.run_dir


def test_a_failed_sync_is_a_result_with_the_reason(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = nbwandb.init(project="outcomes", mode="offline", quiet=True)
    run.log({"loss": 0.5}, step=0)
    run.finish()
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)  # the host (loopback :9) refuses at once
    [result] = sync_runs([run.run_dir], timeout=20)
    assert result.run_dir == run.run_dir and not result.ok and not result.skipped
    assert result.status == "failed" and "127.0.0.1:9" in result.message
    assert str(result) == f"failed  {run.run_dir.name}: {result.message}"
