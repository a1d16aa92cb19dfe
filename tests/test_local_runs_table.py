"""list_runs over runs in every state: finished, failed, running, and killed (crashed)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbwandb
from nbwandb.local import list_runs, read_run

CHILD = textwrap.dedent(
    """
    import sys, nbwandb
    run = nbwandb.init("states", name="child", mode="offline", config={"lr": 0.5}, quiet=True)
    for step in range(20):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    run.flush()
    print(run.run_dir, flush=True)
    sys.stdin.readline()   # stays alive (a running run) until the test kills it
    """
)


def make_run(name: str, exit_code: int, lr: float) -> Path:
    run = nbwandb.init(
        "states",
        name=name,
        mode="offline",
        config={"lr": lr, "model": {"depth": 2}},
        group="grid",
        tags=["sweep"],
        quiet=True,
    )
    for step in range(5):
        run.log({"loss": lr * (5 - step)}, step=step, prefix="train")
    run.finish(exit_code=exit_code)
    return Path(run.run_dir)


def test_list_runs_states_and_columns(isolated: Path) -> None:
    finished = make_run("good", 0, 0.1)
    failed = make_run("bad", 2, 0.2)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        child_dir = Path(child.stdout.readline().strip())
        # wandb-core may not have written the run record yet: find the child by its folder
        by_path = {row["path"]: row for row in list_runs(isolated / "wandb")}
        assert by_path[str(child_dir)]["state"] == "running"
        assert read_run(child_dir).state == "running"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    table = list_runs()  # default: $WANDB_DIR/wandb
    by_name = {row["name"]: row for row in table}
    by_name["child"] = next(row for row in table if row["path"] == str(child_dir))
    assert len(table) == 3
    assert by_name["good"]["state"] == "finished" and by_name["good"]["exit_code"] == 0
    assert by_name["bad"]["state"] == "failed" and by_name["bad"]["exit_code"] == 2
    assert by_name["child"]["state"] == "crashed" and by_name["child"]["exit_code"] is None
    assert by_name["good"]["config.lr"] == 0.1 and by_name["bad"]["config.model.depth"] == 2
    assert by_name["good"]["summary.train/loss"] == pytest.approx(0.1)
    assert by_name["bad"]["summary.train/loss"] == pytest.approx(0.2)
    assert by_name["good"]["group"] == "grid" and by_name["good"]["tags"] == ["sweep"]
    assert by_name["good"]["steps"] == 5 and by_name["good"]["duration"] >= 0
    assert by_name["good"]["path"] == str(finished) and by_name["bad"]["path"] == str(failed)
    # newest first, as on the W&B Runs page
    starts = [row["start_time"] for row in table]
    assert starts == sorted(starts, reverse=True)

    text = str(table)
    assert "finished" in text and "failed" in text and "crashed" in text and "config.lr" in text
    frame = list_runs(isolated / "wandb", as_dataframe=True)
    assert len(frame) == 3 and {"bad", "good"} <= set(frame["name"])
    assert set(frame.columns) >= {"state", "config.lr", "summary.train/loss"}
    bundle = table._repr_mimebundle_()
    assert "<table" in bundle["text/html"] and bundle["text/plain"] == text
    # in a notebook: a scrolling table with a sticky header, numbers right-aligned and short,
    # durations with units, start times compact (no seconds, so they do not wrap)
    page = bundle["text/html"]
    assert "nbw-scroll" in page and "position:sticky" in page
    assert "<td class='num'>0.1</td>" in page and "<th class=num>steps</th>" in page
    assert re.search(r"<td>\d+(\.\d)? (ms|s)</td>", page), "duration with a unit"
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", page), "compact start time"


def test_unreadable_run_is_listed_not_fatal(isolated: Path) -> None:
    good = make_run("fine", 0, 0.1)
    bogus = isolated / "wandb" / "offline-run-20200101_000000-bogus00"
    bogus.mkdir()
    (bogus / "run-bogus00.wandb").write_bytes(b"PK\x03\x04 not a wandb log")
    table = list_runs()
    assert [row["state"] for row in table] == ["finished", "unreadable"]  # newest first
    assert table[1]["path"] == str(bogus) and "not a wandb run file" in table[1]["error"]
    assert [r.run_dir for r in table.runs] == [good]
    assert "unreadable" in str(table)


def test_list_runs_bad_dir(isolated: Path) -> None:
    with pytest.raises(nbwandb.NbwandbError, match="does not exist"):
        list_runs(isolated / "missing")
    (isolated / "empty").mkdir()
    assert list(list_runs(isolated / "empty")) == []
