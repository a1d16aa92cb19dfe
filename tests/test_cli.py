"""The `nbwandb` command: runs table, HTML report, sync that fails fast offline, demo."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nbwandb
from nbwandb.cli import main
from nbwandb.local import read_run

FAKE_KEY = "k" * 40


def make_run(name: str, lr: float) -> Path:
    run = nbwandb.init("cli", name=name, mode="offline", config={"lr": lr}, quiet=True)
    for step in range(10):
        run.log({"loss": lr / (step + 1)}, step=step, prefix="train")
    run.finish()
    return Path(run.run_dir)


def test_runs_and_show(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run("alpha", 0.1)
    make_run("beta", 0.2)
    assert main(["runs", str(isolated / "wandb")]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["name", "id", "state"]
    assert any(ln.startswith("alpha") and "finished" in ln and "0.1" in ln for ln in lines)
    assert any(ln.startswith("beta") and "finished" in ln and "0.2" in ln for ln in lines)

    assert main(["runs", str(isolated / "wandb"), "--all-columns"]) == 0
    wide = capsys.readouterr().out
    assert "config.lr" in wide and "summary.train/loss" in wide and "alpha" in wide

    report = isolated / "rep" / "report.html"
    assert (
        main(["show", str(a), str(isolated / "wandb"), "-o", str(report), "--smoothing", "0.5"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"report written to {report}" in out and "train: train/loss" in out
    page = report.read_text(encoding="utf-8")
    assert page.count('<svg class="nbwandb-chart-svg"') == 1 and not re.search(r"https?://", page)

    assert main(["show", str(isolated / "missing")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "missing" in err


def test_sync_without_key_fails_fast(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run("offline-only", 0.1)
    start = time.monotonic()
    assert main(["sync", str(isolated / "wandb"), "--timeout", "20"]) == 1
    assert time.monotonic() - start < 10
    out = capsys.readouterr().out
    assert "failed" in out and "no W&B API key found" in out and "0 synced, 1 failed" in out


def test_sync_reports_wandb_errors(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host that refuses (loopback, nothing listening): `wandb sync` retries, prints an ERROR
    or is killed at the timeout; either way the run is reported as failed."""
    run_dir = make_run("refused", 0.1)
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    assert main(["sync", str(run_dir), "--no-check", "--timeout", "10"]) == 1
    captured = capsys.readouterr()
    assert "failed  " + run_dir.name in captured.out and "0 synced, 1 failed" in captured.out
    assert FAKE_KEY not in captured.out + captured.err


def test_sync_output_classification() -> None:
    from nbwandb.local.sync import classify_output

    # what wandb 0.31 prints for an upload that failed, with exit code 0
    printed = (
        "wandb: Syncing 1 run(s):\nwandb:   wandb/offline-run-x/run-x.wandb\n"
        "wandb: [wandb sync] Loaded credentials for http://127.0.0.1:9 from WANDB_API_KEY.\n"
        "wandb: ERROR <no message>\n"
    )
    assert classify_output(0, printed) == (False, "ERROR <no message>")
    assert (
        classify_output(1, "Error: No API key configured. Use `wandb login` to log in.")[0] is False
    )
    assert classify_output(0, "wandb: Syncing 1 run(s):\nwandb: [p/x] done\n") == (
        True,
        "[p/x] done",
    )


def test_sync_unreachable_host_fails_fast(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run("no-route", 0.1)
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv(
        "WANDB_BASE_URL", "http://127.0.0.1:9"
    )  # nothing listens on the discard port
    start = time.monotonic()
    assert main(["sync", "--timeout", "20"]) == 1
    assert time.monotonic() - start < 10
    captured = capsys.readouterr()
    assert "cannot reach the W&B server 127.0.0.1:9" in captured.out
    assert FAKE_KEY not in captured.out + captured.err


def test_sync_killed_at_timeout(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that accepts connections and never answers: `wandb sync` hangs and is killed."""
    import socket

    run_dir = make_run("hangs", 0.1)
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(16)  # the kernel completes the handshakes; nobody ever replies
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{black_hole.getsockname()[1]}")
    start = time.monotonic()
    try:
        assert main(["sync", str(run_dir), "--timeout", "4", "--jobs", "2", "--no-check"]) == 1
    finally:
        black_hole.close()
    elapsed = time.monotonic() - start
    assert 4 <= elapsed < 15
    captured = capsys.readouterr()
    assert "timed out after 4s" in captured.out and "0 synced, 1 failed" in captured.out
    assert "wandb sync" in captured.err  # the progress bar
    assert FAKE_KEY not in captured.out + captured.err
    assert read_run(run_dir).state == "finished"  # the run is left as it was


def test_demo_writes_run_and_report(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = isolated / "demo"
    assert main(["demo", "--out", str(out_dir), "--steps", "12"]) == 0
    printed = capsys.readouterr().out
    report = out_dir / "report.html"
    assert f"report: {report}" in printed and report.is_file()
    run_dir = Path(re.search(r"\): (\S+)", printed).group(1))
    local = read_run(run_dir)
    assert local.state == "finished" and local.config["steps"] == 12
    assert [r["global_step"] for r in local.history] == list(range(12))
    assert all(0 <= r["train/acc"] <= 1 for r in local.history)
    assert "val/loss" in local.history[-1] and "demo" in local.tags
    assert "train/loss" in report.read_text(encoding="utf-8")


def test_console_script_help() -> None:
    script = Path(sys.executable).with_name("nbwandb")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "nbwandb.cli"]
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for command in ("runs", "show", "sync", "demo"):
        assert command in out.stdout


def test_demo_can_execute_a_notebook(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import nbwandb"),
        nbformat.v4.new_code_cell(
            "run = nbwandb.init('nb-demo', mode='offline', quiet=True, config={'lr': 0.3})\n"
            "for s in range(6):\n"
            "    run.log({'loss': 1 / (s + 1)}, step=s, prefix='train')\n"
            "run.finish()\n"
            "print('logged', run.step)"
        ),
    ]
    path = isolated / "quick.ipynb"
    nbformat.write(nb, path)
    out_dir = isolated / "nbout"
    assert main(["demo", "--notebook", str(path), "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    executed = nbformat.read(out_dir / "quick.ipynb", as_version=4)
    assert "logged 5" in executed.cells[1].outputs[0]["text"]
    run_dirs = sorted((out_dir / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1 and f"run: {run_dirs[0]}" in printed
    local = read_run(run_dirs[0])
    assert local.state == "finished" and local.config == {"lr": 0.3} and local.steps == 6
    assert "train/loss" in (out_dir / "report.html").read_text(encoding="utf-8")

    assert main(["demo", "--notebook", str(isolated / "nope.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err
