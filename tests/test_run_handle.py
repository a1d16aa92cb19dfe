"""``nbwandb.run.handle.RunHandle``: one interface for ``Run`` and ``NoOpRun``, seen by type checkers."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import nbwandb
from nbwandb import media
from nbwandb.artifacts import run_artifacts
from nbwandb.run.handle import RunHandle
from nbwandb.run.run import NoOpRun, Run

TYPING_SCRIPT = Path(__file__).parent / "typing" / "user_script.py"


def _public_methods() -> set[str]:
    return {n for n in dir(RunHandle) if not n.startswith("_") and callable(getattr(Run, n))}


def test_both_handles_are_run_handles_and_init_says_so():
    assert issubclass(Run, RunHandle) and issubclass(NoOpRun, RunHandle)
    assert nbwandb.RunHandle is RunHandle
    assert "Run | NoOpRun" in str(inspect.signature(nbwandb.init).return_annotation)


def test_media_and_artifact_methods_are_the_module_functions():
    # One signature each: the method is the function, so the two can never drift apart.
    assert Run.log_image is media.log_image and Run.log_3d is media.log_3d
    assert Run.log_checkpoint is run_artifacts.log_checkpoint
    assert NoOpRun.use_artifact is run_artifacts.use_artifact


def test_the_typed_user_script_calls_every_public_method():
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(TYPING_SCRIPT.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "run"
    }
    assert _public_methods() - calls == set(), "add the new methods to tests/typing/user_script.py"


def test_a_do_nothing_handle_checks_arguments_without_importing_wandb():
    code = """
import sys
from nbwandb.run.run import NoOpRun
run = NoOpRun()
assert run.log_image("k", [[0]]) is None and run.log_checkpoint("c.pt") is None
try:
    run.log_image("k", [[0]], captoin="typo")
except TypeError as exc:
    print("TypeError", "captoin" in str(exc))
print("wandb" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["TypeError", "True", "False"]


@pytest.mark.parametrize("name", sorted(_public_methods()))
def test_noop_methods_take_the_same_parameters_as_run(name):
    noop = NoOpRun()
    expected = list(inspect.signature(getattr(Run, name)).parameters)[1:]
    assert list(inspect.signature(getattr(noop, name)).parameters) == expected
