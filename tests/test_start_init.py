"""The foundation: import cost, modes, run lifecycle, config, the do-nothing handle.

Every run here is a real offline wandb run, read back from its files.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import inspect
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from leet import leet_records, leet_summary

import nbwandb
from nbwandb import NbwandbError
from nbwandb.local import read_run
from nbwandb.run.handle import RunHandle
from nbwandb.run.run import NoOpRun, Run

HEAVY = ("wandb", "torch", "matplotlib", "IPython", "ipywidgets")


def run_python(
    code: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )


def test_import_is_light():
    proc = run_python(
        f"""
        import sys, nbwandb
        nbwandb.__version__, nbwandb.NbwandbError
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_auto_mode_without_credentials_or_terminal_goes_offline_without_waiting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_MODE", "WANDB_API_KEY")}
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import nbwandb; r = nbwandb.init(project='auto'); print('MODE', r.mode); r.finish()",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "MODE offline" in proc.stdout
    # One line says which mode was chosen and why.
    lines = [line for line in proc.stdout.splitlines() if line.startswith("nbwandb:")]
    assert len(lines) == 1 and "offline" in lines[0] and "no credentials" in lines[0]
    assert elapsed < 60
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and read_run(runs[0]).state == "finished"


def test_mode_resolution(monkeypatch):
    from nbwandb.connection.modes import resolve_mode

    monkeypatch.delenv("WANDB_MODE")
    assert resolve_mode("auto").mode == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    decision = resolve_mode("auto")
    assert decision.mode == "online" and "env" in decision.reason
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto").mode == "disabled"
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert resolve_mode("auto").mode == "offline"
    assert resolve_mode("offline").mode == "offline"
    with pytest.raises(ValueError, match=r"'sometimes'.*auto, online, offline, disabled"):
        resolve_mode("sometimes")
    monkeypatch.setenv("WANDB_MODE", "bogus")
    with pytest.raises(ValueError, match="WANDB_MODE='bogus'"):
        resolve_mode("auto")


def test_two_inits_leave_one_finished_and_one_active(tmp_path):
    first = nbwandb.init(project="p", quiet=True)
    first.log({"x": 1})
    second = nbwandb.init(project="p", quiet=True)
    assert first.state == "finished" and second.state == "running"
    assert nbwandb.active_run() is second
    assert read_run(first.run_dir).state == "finished"
    assert leet_summary(first.run_dir)["state"] == "finished"
    assert read_run(second.run_dir).state == "running"
    second.finish()
    assert nbwandb.active_run() is None


def test_exception_inside_with_gives_exit_code_1_and_reraises():
    with pytest.raises(RuntimeError, match="boom"):  # noqa: PT012 - raised inside the run under test
        with nbwandb.init(project="p", quiet=True) as run:
            run.log({"loss": 0.5}, step=1)
            raise RuntimeError("boom")
    assert run.exit_code == 1 and run.state == "failed"
    local = read_run(run.run_dir)
    assert local.exit_code == 1 and local.state == "failed"
    assert leet_summary(run.run_dir)["exit_code"] == 1
    assert local.history[-1]["loss"] == 0.5  # the row logged before the error is kept


def test_keyboard_interrupt_inside_with_gives_exit_code_1():
    with pytest.raises(KeyboardInterrupt), nbwandb.init(project="p", quiet=True) as run:
        raise KeyboardInterrupt
    assert read_run(run.run_dir).exit_code == 1


def test_clean_with_block_exits_0_and_finish_is_idempotent():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"a": 1})
    run.finish()
    run.finish(exit_code=3)  # no effect: the run has finished
    assert run.exit_code == 0
    assert read_run(run.run_dir).exit_code == 0
    with pytest.raises(nbwandb.RunFinishedError, match="has finished"):
        run.log({"a": 2})


def test_init_sets_step_metric_for_every_metric():
    with nbwandb.init(project="p", quiet=True, step_metric="it") as run:
        run.log({"loss": 1.0}, step=3)
    metrics = [r["metric"] for r in leet_records(run.run_dir, "metric")]
    assert {"glob_name": "*", "step_metric": "it"}.items() <= {
        k: v for m in metrics for k, v in m.items() if k in ("glob_name", "step_metric")
    }.items()
    assert read_run(run.run_dir).history[0]["it"] == 3


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class HParams:
    lr: float = 1e-3
    layers: int = 2
    data: Path = Path("/data/x")
    color: Color = Color.RED


@pytest.mark.parametrize(
    "config",
    [
        {"lr": 1e-3, "layers": 2, "data": Path("/data/x"), "color": Color.RED},
        HParams(),
        argparse.Namespace(lr=1e-3, layers=2, data=Path("/data/x"), color=Color.RED),
    ],
    ids=["dict", "dataclass", "namespace"],
)
def test_config_sources(config):
    with nbwandb.init(project="p", config=config, quiet=True) as run:
        pass
    assert read_run(run.run_dir).config == {
        "lr": 1e-3,
        "layers": 2,
        "data": "/data/x",
        "color": "red",
    }


def test_config_converts_numpy_and_torch_and_update_config_changes_values():
    import torch

    config = {
        "np": np.float32(0.5),
        "arr": np.arange(3),
        "t": torch.tensor(2.0),
        "nested": {"k": np.int64(4)},
    }
    with nbwandb.init(project="p", config=config, quiet=True) as run:
        run.update_config({"params": 1234})
        run.update_config(np=0.25)  # changing an existing value is allowed
    assert read_run(run.run_dir).config == {
        "np": 0.25,
        "arr": [0, 1, 2],
        "t": 2.0,
        "nested": {"k": 4},
        "params": 1234,
    }
    assert leet_summary(run.run_dir)["config"]["params"] == 1234


def test_config_rejects_what_wandb_cannot_store_naming_the_key():
    with pytest.raises(NbwandbError, match=r"config key 'model\.weights'.*object.*accepted"):
        nbwandb.init(project="p", config={"model": {"weights": object()}}, quiet=True)
    with pytest.raises(TypeError, match="config key 3"):
        nbwandb.init(project="p", config={3: "x"}, quiet=True)
    with pytest.raises(TypeError, match=r"dict, a dataclass instance or an argparse.Namespace"):
        nbwandb.init(project="p", config=[1, 2], quiet=True)
    assert nbwandb.active_run() is None  # nothing was started
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(NbwandbError, match="config key 'f'"):
            run.update_config(f=lambda: 1)
        run.log({"kept": 1})
    assert read_run(run.run_dir).history[0]["kept"] == 1


def _call_args(signature: inspect.Signature) -> tuple[list, dict]:
    args, kwargs = [], {}
    for name, param in list(signature.parameters.items())[1:]:
        if param.default is not inspect.Parameter.empty or param.kind in (
            param.VAR_KEYWORD,
            param.VAR_POSITIONAL,
        ):
            continue
        value = {"metrics": {"x": 1}, "sample_rate": 16000}.get(name, "x")
        if param.kind == param.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return args, kwargs


def test_noop_handle_accepts_every_public_method():
    noop = nbwandb.init(project="p", use_wandb=False)
    assert isinstance(noop, NoOpRun) and not noop.enabled
    # RunHandle is the one interface of both handles (what type checkers see).
    public = [n for n in dir(RunHandle) if not n.startswith("_") and callable(getattr(Run, n))]
    assert {"log", "log_image", "log_table", "log_checkpoint", "use_artifact", "finish"} <= set(
        public
    )
    for name in public:
        method = getattr(noop, name)
        assert (
            list(inspect.signature(method).parameters)
            == list(inspect.signature(getattr(Run, name)).parameters)[1:]
        )
        args, kwargs = _call_args(inspect.signature(getattr(Run, name)))
        method(*args, **kwargs)
    with pytest.raises(TypeError):
        noop.log_image()  # same signature: missing arguments still fail
    with noop:
        noop.log({"x": 1}, step=1, prefix="train")
    assert not Path("wandb").exists()


def test_disabled_mode_and_use_wandb_false_never_touch_wandb():
    proc = run_python(
        """
        import sys, nbwandb
        a = nbwandb.init(project="p", use_wandb=False, config={"lr": 1})
        b = nbwandb.init(project="p", mode="disabled")
        for r in (a, b):
            r.log({"loss": 1.0}, step=1); r.update_config(x=2); r.finish()
        print(type(a).__name__, type(b).__name__, a.config, "wandb" in sys.modules)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["NoOpRun", "NoOpRun", "{'lr':", "1,", "'x':", "2}", "False"]


def test_missing_wandb_gives_one_clear_import_error():
    proc = run_python(
        """
        import sys
        sys.modules["wandb"] = None  # as if wandb were not installed
        import nbwandb
        run = nbwandb.init(project="p", use_wandb=False)
        run.log({"x": 1}); run.finish()
        try:
            nbwandb.init(project="p", mode="offline")
        except ImportError as exc:
            print(type(exc).__name__, "|", exc)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("WandbMissingError |")
    assert "pip install wandb" in proc.stdout and "use_wandb=False" in proc.stdout


def test_init_rejects_bad_arguments_clearly():
    with pytest.raises(ValueError, match="distributed='all'"):
        nbwandb.init(project="p", distributed="all")
    with pytest.raises(ValueError, match="queue_size=0"):
        nbwandb.init(project="p", queue_size=0)
    with pytest.raises(TypeError, match="tags="):
        nbwandb.init(project="p", tags=[1])


def test_unwritable_run_dir_fails_at_init(tmp_path):
    if os.geteuid() == 0:
        # root can write anywhere; use a path under a regular file instead.
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "runs"
    else:  # pragma: no cover - CI runs as root
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    with pytest.raises(NbwandbError, match="cannot write runs under"):
        nbwandb.init(project="p", dir=target, quiet=True)
    assert nbwandb.active_run() is None


def test_init_inside_session_defaults_takes_trial_config_and_group():
    from nbwandb.run.session import init_defaults

    with init_defaults(config={"lr": 0.1}, group="sweep-1"):
        with nbwandb.init(project="p", config={"lr": 1.0, "epochs": 2}, quiet=True) as run:
            pass
    local = read_run(run.run_dir)
    assert local.config == {"lr": 0.1, "epochs": 2}
    assert local.group == "sweep-1"


def test_wandb_settings_object_keeps_nbwandb_defaults():
    import wandb

    with nbwandb.init(project="p", quiet=True, settings=wandb.Settings(console="off")) as run:
        settings = run.wandb_run.settings
        assert settings.console == "off"  # the user's choice
        assert settings.silent is True  # nbwandb's default, not reset by the Settings object
