"""``%load_ext nbwandb`` starts wandb in the background, and an offline init that follows
returns before wandb has created the run. Correctness only, never timing: every row logged
while the run started is read back from the run's file, ``wandb.run`` is the run an
integration finds, and a ``wandb.init`` that fails in the background reaches the user.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbwandb
from nbwandb.local import read_run
from nbwandb.run import finish, session, startup
from nbwandb.run.handle import run_title


@pytest.fixture
def background():
    """As after ``%load_ext nbwandb``: the preload ran, offline inits start in the background."""
    startup.start_preload()
    assert startup.join_preload(timeout=120)
    startup.set_background_init(True)
    yield
    startup.set_background_init(False)
    with contextlib.suppress(nbwandb.NbwandbError):  # a run whose start failed
        finish.finish_active()


def metric_rows(run):
    return [
        {k: v for k, v in row.items() if not k.startswith("_")}
        for row in read_run(run.run_dir).history
    ]


def test_rows_logged_while_the_run_starts_are_all_written(background):
    run = nbwandb.init(project="bg", config={"lr": 0.1}, name="early", quiet=True)
    assert run.id and run.name == "early"  # known at once: nbwandb chose the id
    run.update_config({"epochs": 3})
    n = 500
    for step in range(n):  # most of these are queued before wandb has the run
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
        run.log({"acc": step / n}, step=step, prefix="val")
    run.set_summary({"best": 0.5})
    run.finish()
    assert run.state == "finished" and run.exit_code == 0
    local = read_run(run.run_dir)
    assert local.id == run.id and local.name == "early" and local.exit_code == 0
    assert local.config["lr"] == 0.1 and local.config["epochs"] == 3
    assert local.summary["best"] == 0.5
    rows = metric_rows(run)
    assert [r["global_step"] for r in rows] == list(range(n))
    assert rows[123] == {"global_step": 123, "train/loss": 1 / 124, "val/acc": 123 / n}
    assert run.config == {"lr": 0.1, "epochs": 3}


def test_a_full_queue_while_the_run_starts_loses_nothing(background):
    # More rows than the queue holds before wandb has the run: log() waits for room,
    # the writer waits for wandb's run, then empties the queue.
    run = nbwandb.init(project="bg", queue_size=8, quiet=True)
    n = 2000
    for step in range(n):
        run.log({"x": float(step)}, step=step)
    run.finish()
    assert [r["x"] for r in metric_rows(run)] == [float(s) for s in range(n)]


def test_the_run_knows_its_folder_once_wandb_created_it(background):
    run = nbwandb.init(project="bg", quiet=True)
    run_dir = run.run_dir  # waits for wandb's run
    assert not run.starting
    assert run_dir.name.startswith("offline-run-") and run_dir.name.endswith(run.id)
    assert run.run_file is not None and run.run_file.parent == run_dir
    assert run.wandb_run.id == run.id
    run.finish()
    assert read_run(run_dir).exit_code == 0


def test_wandb_run_is_shared_with_an_integration(background):
    import wandb

    run = nbwandb.init(project="bg", quiet=True)
    # Read at once, in the thread that called init, as an integration does: it waits.
    assert wandb.run is run.wandb_run
    assert wandb.run.id == run.id
    for step in range(20):
        run.log({"loss": step * 1.0}, step=step)
    run.use_x_axis("trainer/global_step")
    for k in range(3):  # what Lightning's WandbLogger does with the active run
        wandb.log({"trainer/global_step": k, "lightning/loss": 0.5 + k})
    run.use_x_axis()
    run.finish()
    history = read_run(run.run_dir).history
    assert [r.get("global_step") for r in history if "loss" in r] == list(range(20))
    assert [r["lightning/loss"] for r in history if "lightning/loss" in r] == [0.5, 1.5, 2.5]


def test_a_rerun_init_cell_finishes_a_run_that_is_still_starting(background):
    first = nbwandb.init(project="bg", quiet=True)
    first.log({"x": 1.0}, step=0)
    second = nbwandb.init(project="bg", quiet=True)
    assert first.state == "finished" and session.active_run() is second
    second.log({"x": 2.0}, step=0)
    second.finish()
    assert [r["x"] for r in metric_rows(first)] == [1.0]
    assert [r["x"] for r in metric_rows(second)] == [2.0]
    assert first.id != second.id


def test_a_failed_background_start_is_raised_at_the_next_call(background):
    # A tag longer than wandb accepts: wandb.init itself refuses it, in the background thread.
    run = nbwandb.init(project="bg", tags=["t" * 70], quiet=True)

    def train() -> None:
        for step in range(1000):  # the failure arrives while the loop logs
            run.log({"x": float(step)}, step=step)
        run.flush()

    with pytest.raises(nbwandb.NbwandbError) as caught:
        train()
    message = str(caught.value)
    assert f"wandb could not start run {run.id}" in message
    assert "64 characters" in message  # what wandb said
    assert "row(s) were not written" in message or "nothing was written" in message
    assert "nbwandb.init" in message  # what to do
    with pytest.raises(nbwandb.NbwandbError, match="could not start"):
        run.log({"x": 0.0}, step=0)  # and again at every later call: no row is taken silently
    run.finish()  # already reported: finish does not raise it again
    assert run.state == "failed" and session.active_run() is None
    again = nbwandb.init(project="bg", quiet=True)  # the next run works
    again.log({"x": 1.0}, step=0)
    again.finish()
    assert [r["x"] for r in metric_rows(again)] == [1.0]


def test_a_failed_start_is_raised_by_finish_when_nothing_else_was_called(background):
    run = nbwandb.init(
        project="bg", config={"a": 1}, config_include_keys=["a"], config_exclude_keys=["b"]
    )
    with pytest.raises(nbwandb.NbwandbError, match="include"):
        run.finish()
    assert run.state == "failed" and session.active_run() is None


def test_an_argument_wandb_init_does_not_take_fails_at_init(background):
    with pytest.raises(TypeError, match="no_such_argument"):
        nbwandb.init(project="bg", no_such_argument=1)


@pytest.mark.parametrize("kwargs", [{"id": "myrunid1"}, {"mode": "disabled"}, {"use_wandb": False}])
def test_what_starts_as_before(background, kwargs):
    run = nbwandb.init(project="bg", quiet=True, **kwargs)
    assert not getattr(run, "starting", False)
    if run.enabled:
        assert run.wandb_run is not None and run.id == "myrunid1"
    run.finish()


def test_without_the_extension_init_waits_for_wandb():
    run = nbwandb.init(project="plain", quiet=True)
    assert not run.starting and run._wandb_run is not None
    run.log({"x": 1.0}, step=0)
    run.finish()
    assert [r["x"] for r in metric_rows(run)] == [1.0]


def _run_dir_of_child(code: str, cwd: Path, drop: tuple[str, ...] = ()) -> str:
    """Run ``code`` in a fresh Python (its own wandb service, without ``drop`` variables);
    the run folder it printed after ``RUN_DIR``."""
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SERVICE", *drop)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("RUN_DIR ")[1].strip()


def test_wandb_settings_changed_after_the_preload_are_seen(tmp_path, monkeypatch):
    """A child process: the preload sets wandb up, then WANDB_PROJECT changes, then init."""
    code = (
        "import os, nbwandb\n"
        "from nbwandb.run import startup\n"
        "startup.start_preload(); assert startup.join_preload(60)\n"
        "os.environ['WANDB_PROJECT'] = 'from-env'\n"
        "run = nbwandb.init(quiet=True)\n"
        "run.log({'x': 1.0}, step=0); run.finish()\n"
        "print('RUN_DIR', run.run_dir)\n"
    )
    run_dir = _run_dir_of_child(code, tmp_path, drop=("WANDB_PROJECT",))
    assert read_run(run_dir).project == "from-env"


@pytest.fixture
def shell():
    """IPython's shell after ``%load_ext nbwandb`` (unloaded afterwards: init waits again)."""
    pytest.importorskip("IPython")
    pytest.importorskip("ipywidgets")
    from ipython_shell import shared_shell

    ip = shared_shell()
    ip.run_line_magic("load_ext", "nbwandb")
    yield ip
    ip.run_line_magic("unload_ext", "nbwandb")
    ip.user_ns.pop("run", None)
    with contextlib.suppress(nbwandb.NbwandbError):  # a run whose start failed
        finish.finish_active()


def test_load_ext_makes_wandb_init_cells_return_before_the_run_exists(shell, capsys):
    assert startup.preload_started() and startup.background_init_enabled()
    result = shell.run_cell(
        "%wandb_init -p cells --mode offline\n"
        "starting = run.starting\n"
        "for step in range(50):\n"
        "    run.log({'loss': 1 / (step + 1)}, step=step)"
    )
    assert result.success, result.error_in_exec
    run = shell.user_ns["run"]
    assert isinstance(shell.user_ns["starting"], bool)  # True unless wandb was quicker
    assert shell.run_cell("%wandb_finish").success
    assert run.state == "finished"
    assert [r["global_step"] for r in metric_rows(run)] == list(range(50))
    assert f"finished run {run_title(run)}" in capsys.readouterr().out  # the id named once
    shell.run_line_magic("unload_ext", "nbwandb")
    assert not startup.background_init_enabled()
    shell.run_line_magic("load_ext", "nbwandb")


def test_a_failed_start_shows_in_the_next_cell(shell, capsys):
    long_tag = "t" * 70
    assert shell.run_cell(f"%wandb_init -p cells --mode offline --tags {long_tag}").success
    result = shell.run_cell(
        "import time\nwhile run.starting:\n    time.sleep(0.01)\nrun.log({'x': 1.0}, step=0)"
    )
    assert isinstance(result.error_in_exec, nbwandb.NbwandbError)
    assert "64 characters" in str(result.error_in_exec)
    assert shell.run_cell("%wandb_finish").success
    assert "wandb could not start it" in capsys.readouterr().out
    assert session.active_run() is None


def test_lightning_wandb_logger_gets_the_run_that_is_still_starting(background):
    pytest.importorskip("lightning")
    import warnings

    import lightning as L
    import torch
    from lightning.pytorch.loggers import WandbLogger

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)
            self.log("lightning/loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    run = nbwandb.init(project="bg", quiet=True)
    run.log({"loss": 1.0}, step=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning says it reuses the active run
        logger = WandbLogger(log_model=False)
        assert logger.experiment is run.wandb_run  # the run nbwandb started, not a second one
        x = torch.randn(16, 2)
        data = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, x.sum(1)), batch_size=4
        )
        run.use_x_axis("trainer/global_step")
        trainer = L.Trainer(
            max_epochs=2,
            logger=logger,
            log_every_n_steps=1,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(Tiny(), data)
    run.use_x_axis()
    run.finish()
    history = read_run(run.run_dir).history
    assert [r["loss"] for r in history if "loss" in r] == [1.0]
    assert len([r for r in history if "lightning/loss" in r]) == 8  # 2 epochs x 4 batches


@pytest.mark.parametrize("delay", [0.0, 0.4])
def test_a_raw_wandb_init_beside_the_preload_does_not_hang(tmp_path, delay):
    """wandb.setup() in one thread beside wandb.init() in another deadlocks in wandb itself;
    the preload must not, whenever the user's own wandb.init comes (a child process)."""
    code = (
        "import time, wandb\n"
        "from nbwandb.run import startup\n"
        f"startup.start_preload(); time.sleep({delay})\n"
        "run = wandb.init(project='raw')\n"
        "run.log({'x': 1}); run.finish()\n"
        "print('RUN_DIR', run.settings.sync_dir)\n"
    )
    run_dir = _run_dir_of_child(code, tmp_path)
    assert [r["x"] for r in read_run(run_dir).history] == [1]


def test_a_raw_wandb_init_while_the_preload_loads_settings_sees_them_loaded(tmp_path):
    """The preload loads wandb's settings in its thread; a raw ``wandb.init`` that comes while
    it does must see them whole, not wandb's defaults (mode "online": it asked for an API key
    in an offline run, seen once on the Colab stand-in). Loading is slowed to widen the window."""
    code = (
        "import threading, time, wandb\n"
        "from wandb.sdk.wandb_settings import Settings\n"
        "original = Settings.update_from_env_vars\n"
        "def slow(self, environ):\n"
        "    if threading.current_thread() is not threading.main_thread():\n"
        "        time.sleep(0.5)  # the preload's thread, inside the load\n"
        "    return original(self, environ)\n"
        "Settings.update_from_env_vars = slow\n"
        "from nbwandb.run import startup\n"
        "startup.start_preload(); time.sleep(0.1)\n"
        "run = wandb.init(project='raw')\n"
        "assert run.settings.mode == 'offline', run.settings.mode\n"
        "run.log({'x': 1}); run.finish()\n"
        "print('RUN_DIR', run.settings.sync_dir)\n"
    )
    run_dir = _run_dir_of_child(code, tmp_path)
    assert [r["x"] for r in read_run(run_dir).history] == [1]


def test_a_background_start_is_a_starting_outcome_with_the_upload_command(background, capsys):
    run = nbwandb.init(project="bg", mode="offline")
    printed = capsys.readouterr().out
    outcome = run.start_outcome
    assert outcome is not None and outcome.what == "starting" and outcome.run_id == run.id
    assert outcome.run_dir is None  # wandb names the run's folder once it has created the run
    assert outcome.folder is not None and outcome.folder.name == "wandb"
    assert outcome.sync_command == f"nbwandb sync {outcome.folder}/offline-run-*-{run.id}"
    assert printed == outcome.message() + "\n" and " starting in " in printed
    run.log({"x": 1.0}, step=0)
    run.finish()
    assert run.run_dir.parent == outcome.folder  # the command names the folder it went into
    assert run.run_dir.match(f"offline-run-*-{run.id}")
