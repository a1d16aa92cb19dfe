"""The error tree, ``require`` and every public entry point that needs an optional package.

A missing package is simulated with ``sys.modules[name] = None`` (then ``import name`` raises
``ModuleNotFoundError``, as when it is not installed), or, in a subprocess, with a meta-path
finder that refuses it and everything under it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nbwandb
from nbwandb import errors
from nbwandb.errors import (
    MediaDependencyError,
    MissingDependencyError,
    NbwandbError,
    WandbMissingError,
    require,
)

# Run in a subprocess before anything else: every import of `name` or `name.*` fails as if the
# package were not installed.
BLOCKER = """
import importlib.abc, sys
class _Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, *names):
        self.names = names
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
"""


def run_blocked(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    source = BLOCKER + f"sys.meta_path.insert(0, _Blocker(*{blocked!r}))\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", source],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )


def assert_missing(
    exc: BaseException, package: str, command: str, error: type[MissingDependencyError]
) -> None:
    """One MissingDependencyError: catchable as ImportError and NbwandbError, with the command."""
    assert isinstance(exc, error)
    assert isinstance(exc, ImportError) and isinstance(exc, NbwandbError)
    assert exc.name == package
    assert f"`{package}`" in str(exc) and "not installed" in str(exc)
    assert f"`{command}`" in str(exc), str(exc)


# -- the tree ---------------------------------------------------------------------------------
TREE = {
    "NbwandbError": (Exception,),
    "LoginError": (errors.NbwandbError,),
    "RunFinishedError": (errors.NbwandbError,),
    "WriterError": (errors.NbwandbError,),
    "ResumeError": (errors.NbwandbError,),
    "OfflineArtifactError": (errors.NbwandbError,),
    "ArtifactInputError": (errors.NbwandbError, ValueError),
    "MediaError": (errors.NbwandbError, ValueError),
    "MediaTypeError": (errors.NbwandbError, TypeError),
    "MissingDependencyError": (errors.NbwandbError, ImportError),
    "WandbMissingError": (errors.MissingDependencyError,),
    "MediaDependencyError": (errors.MissingDependencyError,),
    "NbwandbWarning": (UserWarning,),
}


@pytest.mark.parametrize("name", sorted(TREE))
def test_each_error_has_its_parents_and_is_public(name: str) -> None:
    cls = getattr(errors, name)
    assert cls.__bases__ == TREE[name]
    assert getattr(nbwandb, name) is cls and name in nbwandb.__all__


def test_the_docstring_draws_every_class_of_the_module() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert classes == set(TREE)
    tree = errors.__doc__ or ""
    for name in classes:
        assert f"── {name} " in tree, name


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("nbwandb.media.arrays", "MediaError"),
        ("nbwandb.media.arrays", "MediaTypeError"),
        ("nbwandb.media.arrays", "MediaDependencyError"),
        ("nbwandb.media", "MediaDependencyError"),
        ("nbwandb.start.resume", "ResumeError"),
        ("nbwandb.artifacts.run_artifacts", "OfflineArtifactError"),
        ("nbwandb.artifacts", "OfflineArtifactError"),
        ("nbwandb.artifacts.refs", "ArtifactInputError"),
        ("nbwandb.artifacts", "ArtifactInputError"),
    ],
)
def test_the_old_modules_still_export_their_errors(module: str, name: str) -> None:
    import importlib

    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


# -- require ----------------------------------------------------------------------------------
def test_require_returns_the_module() -> None:
    assert require("json", purpose="x") is sys.modules["json"]
    assert require("json", purpose="x", load=False) is None


def test_require_raises_one_error_with_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(ImportError) as info:
        require("soundfile", purpose="log_audio", extra="media")
    assert_missing(info.value, "soundfile", 'pip install "nbwandb[media]"', MissingDependencyError)
    assert "`pip install soundfile`" in str(info.value) and str(info.value).startswith("log_audio")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(NbwandbError, match="pip install pillow"):  # the pip name, not "PIL"
        require("PIL", purpose="thumbnails")
    with pytest.raises(MissingDependencyError, match="is not installed"):
        require("soundfile", purpose="x", load=False)


def test_a_package_whose_import_fails_is_not_called_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "broken_pkg_for_require"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "raise ImportError('libbroken.so: cannot open shared object file')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingDependencyError) as info:
        require("broken_pkg_for_require", purpose="x", extra="media")
    message = str(info.value)
    assert "installed but cannot be imported" in message and "libbroken.so" in message
    assert "not installed" not in message and "reinstall" in message


def test_the_errors_survive_pickling() -> None:
    # A sweep worker or a DataLoader process sends its exception back pickled.
    for err in (
        MissingDependencyError("optuna", purpose="the sweep", extra="sweeps", alternative="wait"),
        WandbMissingError("nbwandb.init"),
        MediaDependencyError("moviepy", purpose="video 'v'", extra="media"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.name == err.name


def test_wandb_missing_error_keeps_its_one_argument_form() -> None:
    err = WandbMissingError("nbwandb.download")
    assert_missing(err, "wandb", "pip install wandb", WandbMissingError)
    assert str(err).startswith("nbwandb.download needs") and "use_wandb=False" in str(err)


# -- the public entry points that need an optional package ------------------------------------
def test_init_without_wandb() -> None:
    proc = run_blocked(
        ("wandb",),
        """
        import nbwandb
        nbwandb.init(project="p", use_wandb=False).finish()  # no wandb needed
        try:
            nbwandb.init(project="p", mode="offline")
        except nbwandb.MissingDependencyError as exc:
            print(type(exc).__name__, isinstance(exc, ImportError), exc.command)
            print(exc)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    first, message = proc.stdout.splitlines()
    assert first.split() == ["WandbMissingError", "True", "pip", "install", "wandb"]
    assert (
        message.startswith("nbwandb.init needs the `wandb` package")
        and "use_wandb=False" in message
    )


def test_log_audio_without_soundfile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with nbwandb.init(project="deps", mode="offline", quiet=True) as run:
        with pytest.raises(MediaDependencyError) as info:
            run.log_audio("speech", np.zeros(100, np.float32), sample_rate=8000)
    assert_missing(info.value, "soundfile", 'pip install "nbwandb[media]"', MediaDependencyError)
    assert "'speech'" in str(info.value)


@pytest.mark.parametrize("encoder", ["moviepy", "imageio"])
def test_log_video_without_an_encoder(monkeypatch: pytest.MonkeyPatch, encoder: str) -> None:
    monkeypatch.setitem(sys.modules, encoder, None)
    with nbwandb.init(project="deps", mode="offline", quiet=True) as run:
        with pytest.raises(MediaDependencyError) as info:
            run.log_video("clip", np.zeros((2, 3, 4, 4), np.uint8))
    assert_missing(info.value, encoder, 'pip install "nbwandb[media]"', MediaDependencyError)


@pytest.mark.parametrize("function", ["save_torch", "load_torch"])
def test_checkpoints_without_torch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, function: str
) -> None:
    from nbwandb import checkpoints

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError) as info:
        getattr(checkpoints, function)(tmp_path / "ckpt.pt", object())
    assert_missing(info.value, "torch", 'pip install "nbwandb[torch]"', MissingDependencyError)
    assert str(info.value).startswith(function)


def test_launch_without_torch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('never run')\n")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError) as info:
        nbwandb.launch(script, nproc=1, echo=False)
    assert_missing(info.value, "torch", 'pip install "nbwandb[torch]"', MissingDependencyError)
    assert sys.executable in str(info.value)


def test_offline_sweep_without_optuna(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    config = {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [1, 2]}},
    }
    called = []
    with pytest.raises(MissingDependencyError) as info:
        nbwandb.sweep(config, called.append, count=2, backend="optuna")
    assert_missing(info.value, "optuna", 'pip install "nbwandb[sweeps]"', MissingDependencyError)
    assert "backend='wandb'" in str(info.value) and called == []


def _offline_run() -> Path:
    run = nbwandb.init(project="deps", mode="offline", quiet=True)
    run.log({"loss": 0.5}, step=1)
    run.finish()
    return Path(run.run_dir)


def test_dataframes_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbwandb.sweeps.result import SweepResult

    run_dir = _offline_run()
    local = nbwandb.local.read_run(run_dir)
    table = nbwandb.local.list_runs(run_dir.parent)
    result = SweepResult(name="s", backend="optuna", method="grid", metric="loss", goal="minimize")
    monkeypatch.setitem(sys.modules, "pandas", None)
    calls = {
        "LocalRun.to_dataframe()": local.to_dataframe,
        "LocalRun.to_pandas()": local.to_pandas,
        "RunsTable.to_dataframe()": table.to_dataframe,
        "SweepResult.to_dataframe()": result.to_dataframe,
    }
    for purpose, call in calls.items():
        with pytest.raises(MissingDependencyError) as info:
            call()
        assert_missing(info.value, "pandas", 'pip install "nbwandb[media]"', MissingDependencyError)
        assert str(info.value).startswith(purpose)


def test_parallel_coordinates_figure_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbwandb.notebook.sweep_panel import parallel_coordinates_figure
    from nbwandb.sweeps.result import SweepResult

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = SweepResult(name="s", backend="optuna", method="grid", metric="loss", goal="minimize")
    with pytest.raises(MissingDependencyError) as info:
        parallel_coordinates_figure(result)
    assert_missing(
        info.value, "matplotlib", 'pip install "nbwandb[sweeps]"', MissingDependencyError
    )


def test_notebook_panels_without_ipywidgets() -> None:
    proc = run_blocked(
        ("ipywidgets",),
        """
        import nbwandb
        try:
            import nbwandb.notebook._widgets
        except nbwandb.MissingDependencyError as exc:
            print(type(exc).__name__, isinstance(exc, ImportError), exc.command)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["MissingDependencyError", "True", "pip", "install", "ipywidgets"]


def test_init_log_finish_and_show_work_without_matplotlib(tmp_path: Path) -> None:
    # matplotlib is an extra: only the histogram picture in `show` needs it, and that is listed
    # with the command that installs it while everything else is drawn.
    proc = run_blocked(
        ("matplotlib",),
        f"""
        import sys
        import numpy as np
        import wandb
        import nbwandb
        run = nbwandb.init(project="nomp", mode="offline", quiet=True, dir={str(tmp_path)!r})
        for step in range(3):
            run.log({{"loss": 1.0 / (step + 1)}}, step=step, prefix="train")
        run.log({{"weights": wandb.Histogram([0.1, 0.2, 0.9], num_bins=3)}}, step=3)
        run.log_image("sample", np.zeros((8, 8, 3), np.uint8), step=3)
        run.finish()
        page = nbwandb.show(run.run_dir).to_html()
        print(run.state, "matplotlib" in sys.modules)
        print("<svg" in page, "data:image/png;base64," in page)
        print('histogram, not drawn; <code>pip install &quot;nbwandb[media]&quot;</code>' in page)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["finished", "False", "True", "True", "True"], proc.stdout
