"""A package upgraded under a running kernel (``%pip install``): nbwandb says to restart, not to pip.

The upgrade is reproduced as pip leaves it: a newer ``*.dist-info`` on disk, first on the
path, while the old module stays imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbwandb.checks import doctor, loaded_versions
from nbwandb.checks.loaded_versions import ipywidgets_supported, mismatch, restart_hint

ipywidgets = pytest.importorskip("ipywidgets")
REPO = Path(__file__).resolve().parents[1]


def pip_left(site: Path, dist: str, version: str) -> None:
    """What ``pip install dist==version`` leaves for importlib.metadata to find."""
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")


def newer(version: str) -> str:
    major, minor = loaded_versions.version_tuple(version)
    return f"{major}.{minor + 1}.0"


def test_supported_ipywidgets_range() -> None:
    assert [ipywidgets_supported(v) for v in ("7.6.5", "7.7.1", "8.1.9", "9.0.0")] == [
        False,
        True,
        True,
        False,
    ]
    assert ipywidgets_supported(ipywidgets.__version__)


def test_an_upgrade_under_the_kernel_is_found_and_the_fix_is_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = ipywidgets.__version__
    assert mismatch("ipywidgets") is None  # as installed
    pip_left(tmp_path, "ipywidgets", newer(loaded))
    monkeypatch.syspath_prepend(str(tmp_path))
    found = mismatch("ipywidgets")
    assert found is not None and (found.loaded, found.installed) == (loaded, newer(loaded))
    assert f"ipywidgets {loaded} is loaded but {newer(loaded)} is installed" in found.describe()

    check = doctor.check_ipywidgets("colab")
    assert check.ok is False and check.detail == found.describe()
    assert check.fix == "restart the runtime (Runtime > Restart session)"
    check = doctor.check_ipywidgets("jupyter")
    assert check.fix == "restart the kernel (Kernel > Restart)" and "pip" not in check.fix


def test_wandb_upgraded_under_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    pip_left(tmp_path, "wandb", newer(wandb.__version__))
    monkeypatch.syspath_prepend(str(tmp_path))
    checks = {r.name: r for r in doctor.run_checks(environment="colab", service=False)}
    assert checks["wandb"].ok is False and "pip" not in checks["wandb"].fix
    assert checks["wandb"].fix == restart_hint("colab")
    assert f"wandb {wandb.__version__} is loaded" in checks["wandb"].detail


def test_an_unsupported_ipywidgets_gets_the_supported_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ipywidgets, "__version__", "7.6.5")
    pip_left(tmp_path, "ipywidgets", "7.6.5")
    monkeypatch.syspath_prepend(str(tmp_path))
    check = doctor.check_ipywidgets("colab")
    assert check.ok is False and "7.6.5" in check.detail
    assert check.fix == "pip install 'ipywidgets>=7.7,<9', then " + restart_hint("colab")
    assert ">=8" not in check.fix


def test_load_ext_says_to_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    pytest.importorskip("IPython")
    from nbwandb.notebook import magics
    from nbwandb.notebook.environment import force_environment

    with force_environment("colab"):
        magics._hint_if_modules_replaced()
    assert capsys.readouterr().out == ""  # nothing replaced: nothing said
    pip_left(tmp_path, "ipywidgets", newer(ipywidgets.__version__))
    monkeypatch.syspath_prepend(str(tmp_path))
    with force_environment("colab"):
        magics._hint_if_modules_replaced()
    out = capsys.readouterr().out
    assert out.startswith(f"nbwandb: ipywidgets {ipywidgets.__version__} is loaded but")
    assert "Runtime > Restart session" in out and "pip install" not in out


def _import_panels_with_loaded(tmp_path: Path, loaded: str, installed: str | None) -> str:
    """Import the panels in a process whose ``ipywidgets`` is ``loaded``; its ImportError."""
    fake = tmp_path / "loaded"
    (fake / "ipywidgets").mkdir(parents=True)
    (fake / "ipywidgets" / "__init__.py").write_text(f"__version__ = {loaded!r}\n")
    if installed is not None:
        pip_left(fake, "ipywidgets", installed)
    code = (
        "try:\n    import nbwandb.notebook._widgets\nexcept ImportError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(REPO)])}
    env["NBWANDB_ENVIRONMENT"] = "colab"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_panels_loaded_with_an_old_ipywidgets_say_restart_when_a_good_one_is_installed(
    tmp_path: Path,
) -> None:
    # the fake 7.6.5 has no dist-info: the venv's real (supported) ipywidgets is the installed one
    message = _import_panels_with_loaded(tmp_path, "7.6.5", None)
    assert "ipywidgets 7.6.5 is loaded" in message
    assert f"{ipywidgets.__version__} is installed" in message
    assert "Runtime > Restart session" in message and "pip" not in message


def test_panels_with_no_good_ipywidgets_installed_name_the_range(tmp_path: Path) -> None:
    message = _import_panels_with_loaded(tmp_path, "7.6.5", "7.6.5")
    assert "pip install 'ipywidgets>=7.7,<9', then restart the runtime" in message
    assert ">=8'" not in message
