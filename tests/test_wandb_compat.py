"""The seam to wandb's internals (``nbwandb.wandb_compat``), on whichever wandb is installed.

The internals come from the seam's own registry. Each capability's detection is checked
against the installed wandb (its version and the internal itself), and the important
ones are switched off to check that the public fallback writes the same run (read back
from the run file). Runs in both test environments: wandb 0.31 (``.venv``) and 0.28.1
(``.venv-colab``, Colab's pin).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import nbwandb
from nbwandb.local import read_run
from nbwandb.wandb_compat import registry, wandb_version

PACKAGE = Path(nbwandb.__file__).parent
SEAM = PACKAGE / "wandb_compat"
CAPABILITIES = registry.all_capabilities()
NAMES = [c.name for c in CAPABILITIES]
# wandb's private names the seam reaches for: none may appear in the code outside it.
PRIVATE_NAMES = ("_singleton", "_interface", "_hooks", "_local_step", "_make_run", "_is_finished")


def test_the_registry_lists_every_internal_of_the_seam():
    assert len(NAMES) == len(set(NAMES)) >= 10
    for cap in CAPABILITIES:
        assert cap.needs and cap.fallback, cap.name
    # every seam module that reaches into wandb.sdk registers what it uses
    for path in SEAM.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "wandb.sdk" in source:
            assert path.stem in registry.MODULES, path.name
            assert "@capability(" in source, path.name


def _wandb_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "wandb"]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [node.module] if node.module.split(".")[0] == "wandb" else []
    return found


def test_wandb_is_imported_and_its_private_names_used_only_in_the_seam():
    for path in PACKAGE.rglob("*.py"):
        if SEAM in path.parents:
            continue
        assert _wandb_imports(path) == [], path
        code = ast.unparse(ast.parse(path.read_text(encoding="utf-8")))  # no comments/docstrings
        used = [name for name in PRIVATE_NAMES if f".{name}" in code or f"'{name}'" in code]
        assert used == [], (path, used)


@pytest.mark.parametrize("name", NAMES)
def test_detection_matches_the_installed_wandb(name):
    cap = next(c for c in CAPABILITIES if c.name == name)
    version = wandb_version()
    expected = not any(version[: len(v)] == v for v in cap.missing_in)
    assert registry.detected(name) is expected, (version, cap.needs)
    if cap.required:
        assert registry.detected(name), f"wandb {version} lacks a required internal: {cap.needs}"


def test_the_flush_setting_is_detected_as_wandb_settings_take_it():
    import pydantic
    import wandb

    try:
        wandb.Settings(x_transaction_log_flush_interval=0.1)
        accepted = True
    except pydantic.ValidationError:
        accepted = False
    assert registry.detected("file_flush_interval") is accepted


def test_a_forced_fallback_is_off_only_inside_its_block(monkeypatch):
    assert registry.available("batch_publish")
    with registry.forced_fallback("batch_publish"):
        assert not registry.available("batch_publish")
    assert registry.available("batch_publish")
    monkeypatch.setenv(registry.FALLBACK_ENV, "framed_socket_write, batch_publish")
    assert not registry.available("batch_publish")
    with pytest.raises(ValueError, match="unknown wandb capability"):
        with registry.forced_fallback("no_such_thing"):
            pass


def _log_scalars(run):
    for step in range(300):  # more than a burst, so the batch path takes many rows per hop
        run.log({"loss": 1.0 / (step + 1), "ok": step % 3 == 0, "n": step}, step=step, prefix="t")
    run.log({"nan": float("nan"), "big": 10**18}, step=300, prefix="t")


def _contents(run):
    read = read_run(run.run_dir)
    history = [
        {k: v for k, v in row.items() if k not in ("_timestamp", "_runtime")}
        for row in read.history
    ]
    summary = {k: v for k, v in read.summary.items() if not k.startswith("_")}
    return history, summary, read.config


def _nan_safe(value):
    # NaN != NaN: compare it as text; 1 == 1.0 (wandb's encoders differ in how they write it)
    if isinstance(value, dict):
        return {k: _nan_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_safe(v) for v in value]
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def _same(a, b):
    assert _nan_safe(a) == _nan_safe(b)


@pytest.mark.parametrize(
    "names",
    [
        ("batch_publish",),
        ("framed_socket_write",),
        ("history_typed_values",),
        ("file_flush_interval",),
        ("service_process", "run_finished_flag", "setup_without_lock"),
    ],
    ids=lambda names: "+".join(names),
)
def test_the_public_fallback_writes_the_same_run(names):
    def one_run():
        with nbwandb.init(project="compat", config={"lr": 0.1}, quiet=True) as run:
            _log_scalars(run)
        return _contents(run)

    with_internals = one_run()
    with registry.forced_fallback(*names):
        with_fallback = one_run()
    _same(with_fallback, with_internals)
    assert len(with_internals[0]) == 301


def test_batch_publishing_is_used_where_detected_and_not_when_forced_off():
    with nbwandb.init(project="compat", quiet=True) as run:
        assert (run._publisher is not None) is registry.detected("batch_publish")
    with registry.forced_fallback("batch_publish"):
        with nbwandb.init(project="compat", quiet=True) as run:
            assert run._publisher is None
            _log_scalars(run)
    assert [r["t/n"] for r in read_run(run.run_dir).history[:300]] == list(range(300))


def test_a_list_of_images_is_one_entry_with_or_without_wandb_base_class():
    images = np.random.default_rng(0).integers(0, 255, (3, 8, 8, 3), dtype=np.uint8)

    def entry():
        with nbwandb.init(project="compat", quiet=True) as run:
            run.log_images("imgs", images, step=0)
        row = read_run(run.run_dir).history[0]
        return {k: v for k, v in row["imgs"].items() if k not in ("filenames", "_type")}, row[
            "imgs"
        ]["_type"]

    with_internal = entry()
    with registry.forced_fallback("media_list_value"):
        with_fallback = entry()
    assert with_fallback == with_internal
    assert with_internal[1] == "images/separated" and with_internal[0]["count"] == 3


def test_a_panel_made_after_logging_shows_every_row_even_before_wandb_writes_its_file():
    # Without the flush setting (wandb 0.28.1, or forced off here) wandb-core holds the
    # newest records back until a 32 KiB block fills; with no block push either (forced off
    # too), the panel can take them only from the run's memory.
    pytest.importorskip("ipywidgets")
    from nbwandb.notebook.run_panel import run_data

    with registry.forced_fallback("file_flush_interval", "file_block_push"):
        run = nbwandb.init(project="compat", quiet=True)
        try:
            for step in range(40):
                run.log({"loss": float(step)}, step=step)
            run.flush()  # a cell before: the rows are with wandb already, not in nbwandb's queue
            data = run_data(run)
            assert data.rows_seen == 40
            assert data.last_values["loss"] == 39.0
            assert [int(x) for x, _ in data.series["loss"].points()] == list(range(40))
        finally:
            run.finish()
    assert [row["loss"] for row in read_run(run.run_dir).history] == [float(s) for s in range(40)]


KILLED_AFTER_FLUSH = """
import os, signal, time, nbwandb
run = nbwandb.init(project="blocks", config={"lr": 0.1}, name="short", mode="offline", quiet=True)
for step in range(10):
    run.log({"loss": 1.0 / (step + 1)})
run.flush()
print(run.run_dir, flush=True)
time.sleep(0.3)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_after_flush(fallbacks: str) -> Path:
    """A process logs ten rows, flushes, and dies by SIGKILL; its run folder."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}  # its own wandb-core
    env["PYTHONPATH"] = str(PACKAGE.parent)
    env[registry.FALLBACK_ENV] = fallbacks
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FLUSH], capture_output=True, text=True, env=env
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    return Path(proc.stdout.split()[-1])


def test_a_run_killed_after_flush_has_its_records_in_the_file_without_the_flush_setting(
    isolated,
):
    # wandb 0.28.1 (or any wandb with the setting switched off) writes only full 32 KiB
    # blocks: flush() pushes one, so the run record, config and rows are on disk.
    if not registry.detected("file_block_push"):
        pytest.skip("this wandb lacks what file_block_push needs")
    run = read_run(_killed_after_flush("file_flush_interval"), join=False)
    assert (run.project, run.name, run.config, run.state) == (
        "blocks",
        "short",
        {"lr": 0.1},
        "crashed",
    )
    assert [row["loss"] for row in run.history] == [1.0 / (s + 1) for s in range(10)]
    # without the push, wandb-core still held all of it when the process died
    bare = _killed_after_flush("file_flush_interval,file_block_push")
    assert next(bare.glob("*.wandb")).stat().st_size == 7  # the file's header alone
    assert read_run(bare, join=False).history == []


KILLED_AFTER_CHECKPOINT = """
import os, signal, time, nbwandb
from pathlib import Path
run = nbwandb.init(project="blocks", name="ckpt", mode="offline", quiet=True)
for step in range(3):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    Path(f"ckpt-{step}.txt").write_text(f"weights of step {step}")
    run.log_checkpoint(f"ckpt-{step}.txt", step=step)   # the last act before the crash
print(run.id, flush=True)
time.sleep(1.5)   # no flush, no new row: only the checkpoint's push can put it on disk
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_checkpoint_logged_just_before_a_kill_is_in_the_file_without_the_flush_setting(
    isolated,
):
    # An artifact goes to wandb from the caller's thread, not through the writer, so the
    # writer's idle push never sees it: log_checkpoint pushes the block itself.
    import os
    import subprocess
    import sys

    if not registry.detected("file_block_push"):
        pytest.skip("this wandb lacks what file_block_push needs")
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    env["PYTHONPATH"] = str(PACKAGE.parent)
    env[registry.FALLBACK_ENV] = "file_flush_interval"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_CHECKPOINT], capture_output=True, text=True, env=env
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    run_id = proc.stdout.split()[-1]
    with nbwandb.init(project="blocks", resume=run_id, mode="offline", quiet=True) as resumed:
        path = resumed.latest_checkpoint()
        assert path is not None and path.read_text() == "weights of step 2"
