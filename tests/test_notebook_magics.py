"""The %wandb_* magics through IPython's real shell; the same cases through the public functions.

Runs are real wandb offline runs, read back with ``nbwandb.local.read_run``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import nbwandb
from nbwandb.local import read_run
from nbwandb.run import session

pytest.importorskip("IPython")
pytest.importorskip("ipywidgets")

from IPython.core.error import UsageError  # noqa: E402

from nbwandb.notebook.environment import force_environment  # noqa: E402
from nbwandb.notebook.magics import NbwandbMagics, _loaded, flush_active_run  # noqa: E402

FAKE_KEY = "nbwtest-" + "k3y" * 14  # the form of a W&B key; never a real one


@pytest.fixture
def shell():
    """IPython's test shell with ``%load_ext nbwandb``; unloaded afterwards."""
    from ipython_shell import shared_shell

    ip = shared_shell()
    ip.run_line_magic("load_ext", "nbwandb")
    yield ip
    ip.run_line_magic("unload_ext", "nbwandb")
    for name in ("run", "cfg", "form", "value"):
        ip.user_ns.pop(name, None)


def run_cell(shell: Any, source: str) -> Any:
    """Run a cell as a notebook does (stored in history, hooks fired)."""
    return shell.run_cell(source, store_history=True)


# -- one parametrised fixture: the magic and the public function, same cases ----------------
def _magic_line(kwargs: dict[str, Any]) -> str:
    flags = {"project": "-p", "entity": "-e", "name": "-n", "group": "-g", "mode": "--mode"}
    parts = [f"{flags[k]} {v}" for k, v in kwargs.items() if k in flags]
    if "tags" in kwargs:
        parts.append("--tags " + ",".join(kwargs["tags"]))
    return " ".join(parts)


@pytest.fixture(params=["magic", "function"])
def start(request, shell):
    """``start(**init_kwargs) -> run``: through ``%wandb_init`` or ``nbwandb.init``."""

    def via_magic(**kwargs: Any) -> Any:
        line = _magic_line(kwargs)
        if "config" in kwargs:
            shell.user_ns["cfg"] = kwargs["config"]
            line += " --config cfg"
        result = run_cell(shell, f"%wandb_init {line}")
        assert result.success, result.error_in_exec
        return shell.user_ns["run"]

    def via_function(**kwargs: Any) -> Any:
        return nbwandb.init(**kwargs)

    return via_magic if request.param == "magic" else via_function


@pytest.mark.parametrize(
    "case",
    [
        {
            "project": "magics",
            "mode": "offline",
            "tags": ["a", "b"],
            "group": "g1",
            "name": "first",
        },
        {"project": "magics", "config": {"lr": 0.01, "epochs": 2}},
    ],
)
def test_init_case_same_through_magic_and_function(start, case):
    run = start(**case)
    run.log({"loss": 0.5}, step=1, prefix="train")
    run.finish()
    local = read_run(run.run_dir)
    assert local.project == "magics"
    assert local.exit_code == 0
    assert [row["train/loss"] for row in local.history] == [0.5]
    if "tags" in case:
        assert local.tags == ["a", "b"] and local.group == "g1" and local.name == "first"
    if "config" in case:
        assert local.config["lr"] == 0.01 and local.config["epochs"] == 2


def test_rerunning_init_cell_finishes_previous_run(shell):
    run_cell(shell, "%wandb_init -p rerun")
    first = shell.user_ns["run"]
    run_cell(shell, "%wandb_init -p rerun")
    second = shell.user_ns["run"]
    assert first.id != second.id
    assert first.state == "finished" and second.state == "running"
    assert session.active_run() is second
    assert read_run(first.run_dir).exit_code == 0


def test_init_magic_bad_config_variable_names_it(shell):
    result = run_cell(shell, "%wandb_init -p x --config nosuchvar")
    assert isinstance(result.error_in_exec, UsageError)
    assert "nosuchvar" in str(result.error_in_exec)
    assert session.active_run() is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, "config of type int is not accepted"),
        ({"lr": object()}, "config key 'lr'"),
    ],
)
def test_init_magic_bad_config_value_is_a_one_line_error(shell, value, expected):
    shell.user_ns["cfg"] = value
    result = run_cell(shell, "%wandb_init -p x --config cfg")
    assert isinstance(result.error_in_exec, UsageError) and expected in str(result.error_in_exec)
    assert session.active_run() is None


def test_init_magic_rejects_unknown_mode(shell, capsys):
    result = run_cell(shell, "%wandb_init --mode sometimes")
    assert not result.success
    assert "sometimes" in capsys.readouterr().out + capsys.readouterr().err + str(
        result.error_in_exec
    )
    assert session.active_run() is None


def test_magics_offer_the_modes_init_accepts():
    # the magics had their own copy of the mode list; a mode added to init reaches them
    from IPython.core.magic_arguments import parse_argstring

    from nbwandb.connection.modes import MODES
    from nbwandb.notebook.magics import NbwandbMagics

    for mode in MODES:
        assert parse_argstring(NbwandbMagics.wandb_init, f"--mode {mode}").mode == mode


def test_wandb_run_cell_finishes_with_exit_code_0(shell):
    result = run_cell(
        shell, "%%wandb_run -p cells\nfor i in range(3):\n    run.log({'x': i}, step=i)\n41 + 1"
    )
    assert result.success and result.result == 42  # the last expression still displays
    run = shell.user_ns["run"]
    assert run.state == "finished" and session.active_run() is None
    local = read_run(run.run_dir)
    assert local.exit_code == 0
    assert [row["x"] for row in local.history] == [0, 1, 2]


@pytest.mark.parametrize("error", ["ValueError('bad batch')", "KeyboardInterrupt"])
def test_wandb_run_cell_that_raises_fails_the_run_and_next_cell_works(shell, error, capsys):
    result = run_cell(shell, f"%%wandb_run -p cells\nrun.log({{'x': 1}}, step=0)\nraise {error}")
    assert result.error_in_exec is not None  # the error still shows and fails the cell
    assert type(result.error_in_exec).__name__ == error.split("(")[0]
    failed = shell.user_ns["run"]
    assert failed.state == "failed"
    local = read_run(failed.run_dir)
    assert local.exit_code == 1
    assert [row["x"] for row in local.history] == [1]  # what was logged before the error is kept
    # the next cells start a new run and log to it
    assert run_cell(shell, "%wandb_init -p after").success
    assert run_cell(shell, "run.log({'y': 2}, step=0)").success
    assert run_cell(shell, "%wandb_finish").success
    after = read_run(shell.user_ns["run"].run_dir)
    assert after.exit_code == 0 and [row["y"] for row in after.history] == [2]


@pytest.fixture(params=["magic", "function"])
def one_cell_run(request, shell):
    """``one_cell_run(body) -> (result, run)``: ``%%wandb_run`` or ``with nbwandb.init(...) as run:``."""

    def run_body(body: str) -> tuple[Any, Any]:
        if request.param == "magic":
            source = "%%wandb_run -p onecell --tags t1\n" + body
        else:
            indented = "\n".join("    " + line for line in body.splitlines())
            source = (
                "import nbwandb\nwith nbwandb.init(project='onecell', tags=['t1']) as run:\n"
                + indented
            )
        return run_cell(shell, source), shell.user_ns["run"]

    return run_body


@pytest.mark.parametrize(
    ("body", "exit_code", "error"),
    [
        ("run.log({'x': 1}, step=0)\nrun.log({'x': 2}, step=1)", 0, None),
        (
            "run.log({'x': 1}, step=0)\nrun.log({'x': 2}, step=1)\nraise ValueError('bad')",
            1,
            ValueError,
        ),
        (
            "run.log({'x': 1}, step=0)\nrun.log({'x': 2}, step=1)\nraise KeyboardInterrupt",
            1,
            KeyboardInterrupt,
        ),
    ],
)
def test_one_cell_run_same_through_magic_and_function(one_cell_run, body, exit_code, error):
    result, run = one_cell_run(body)
    assert (
        (result.error_in_exec is None) if error is None else isinstance(result.error_in_exec, error)
    )
    assert session.active_run() is None
    local = read_run(run.run_dir)
    assert local.exit_code == exit_code and local.tags == ["t1"]
    assert [row["x"] for row in local.history] == [1, 2]


def test_interrupted_plain_cell_then_next_cell_keeps_logging(shell):
    run_cell(shell, "%wandb_init -p interrupt")
    run = shell.user_ns["run"]
    result = run_cell(shell, "run.log({'loss': 1.0}, step=0)\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert run.state == "running"
    assert run_cell(shell, "run.log({'loss': 0.5}, step=1)").success
    run.finish()
    local = read_run(run.run_dir)
    assert [(row["global_step"], row["loss"]) for row in local.history] == [(0, 1.0), (1, 0.5)]


def test_post_run_cell_hook_writes_rows_of_finished_cells(shell):
    run_cell(shell, "%wandb_init -p flush")
    run = shell.user_ns["run"]
    # A row for step 5 stays pending until the step moves on; the hook commits and writes it.
    run_cell(shell, "run.log({'acc': 0.9}, step=5)")
    assert run.rows_written == 1
    run_cell(shell, "run.log({'acc': 0.95}, step=6)")
    assert run.rows_written == 2


def test_flush_hook_does_not_make_every_cell_wait_for_a_stuck_writer(capsys):
    run = nbwandb.init(project="slow")
    gate = threading.Event()
    run._writer.submit(
        gate.wait
    )  # the writer is busy (as with a stuck wandb-core) until the gate opens
    try:
        assert flush_active_run(timeout=0.3) is False
        assert "still being written" in capsys.readouterr().err
        started = time.monotonic()
        assert flush_active_run(timeout=30) is False  # the next cells wait only briefly
        assert time.monotonic() - started < 5
    finally:
        gate.set()
    assert flush_active_run() is True
    run.log({"x": 1}, step=0)
    assert flush_active_run() is True and run.rows_written == 1


def test_post_run_cell_hook_accepts_any_arguments(shell):
    magics = _loaded[id(shell)]
    nbwandb.init(project="hook")
    magics.post_run_cell()
    magics.post_run_cell(object(), extra=1)
    magics.post_run_cell(result=None)


def test_status_and_finish_magics(shell, capsys):
    run_cell(shell, "%wandb_status")
    assert "no active run" in capsys.readouterr().out
    run_cell(shell, "%wandb_init -p status")
    run = shell.user_ns["run"]
    run_cell(shell, "%wandb_status")
    out = capsys.readouterr().out
    assert run.id in out and "wandb sync" in out
    run_cell(shell, "%wandb_finish --exit-code 3")
    out = capsys.readouterr().out
    assert f"finished run {run.id}, exit code 3" in out  # offline: named after its id, once
    assert read_run(run.run_dir).exit_code == 3
    run_cell(shell, "%wandb_finish")
    assert "no active run to finish" in capsys.readouterr().out


def test_config_magic_for_variable_and_active_run(shell):
    shell.user_ns["cfg"] = {"lr": 0.1, "epochs": 3}
    result = run_cell(shell, "%wandb_config cfg -p cfgproj --mode offline")
    form = result.result
    assert type(form).__name__ == "ConfigForm" and form.value == {"lr": 0.1, "epochs": 3}
    form.fields["epochs"].input.value = 5
    form.button.click()
    assert form.run.project == "cfgproj"
    # no variable: the active run's config, and the button updates that run
    form2 = run_cell(shell, "%wandb_config").result
    assert form2.value == {"lr": 0.1, "epochs": 5}
    form2.fields["lr"].input.value = 0.2
    form2.button.click()
    form.run.finish()
    assert read_run(form.run.run_dir).config["lr"] == 0.2


def test_config_magic_with_a_non_config_variable(shell):
    shell.user_ns["value"] = [1, 2]
    result = run_cell(shell, "%wandb_config value")
    assert isinstance(result.error_in_exec, UsageError)
    assert "config of type list is not accepted; pass a dict or a dataclass" in str(
        result.error_in_exec
    )


def test_config_magic_without_run_or_variable_says_what_to_do(shell):
    result = run_cell(shell, "%wandb_config")
    assert isinstance(result.error_in_exec, UsageError)
    assert "%wandb_config config" in str(result.error_in_exec)


def test_doctor_magic_renders_checks_without_the_key(shell, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    result = run_cell(shell, "%wandb_doctor --no-service")
    assert result.success
    out = capsys.readouterr().out
    for name in (
        "python",
        "wandb",
        "ipywidgets",
        "frontend",
        "mode",
        "credentials",
        "disk",
        "widgets",
    ):
        assert name in out
    assert "WANDB_API_KEY" in out and FAKE_KEY not in out


# -- login -------------------------------------------------------------------------------------
def _history_texts(shell: Any) -> list[str]:
    hm = shell.history_manager
    hm.writeout_cache()
    db_rows = hm.db.execute("SELECT source, source_raw FROM history").fetchall()
    file_rows = []
    if Path(str(hm.hist_file)).is_file():
        with sqlite3.connect(str(hm.hist_file)) as conn:
            file_rows = conn.execute("SELECT source, source_raw FROM history").fetchall()
    user_inputs = [v for k, v in shell.user_ns.items() if k.startswith("_i") and isinstance(v, str)]
    return [
        *hm.input_hist_parsed,
        *hm.input_hist_raw,
        *[t for row in db_rows + file_rows for t in row],
        *user_inputs,
        hm._i00,
        hm._i,
        hm._ii,
        hm._iii,
    ]


@pytest.mark.parametrize(
    "line",
    [
        f"{FAKE_KEY}",
        f"--relogin {FAKE_KEY}",
        f"--host https://x.example '{FAKE_KEY}'",
        f"--key {FAKE_KEY}",
    ],
)
def test_key_on_login_line_is_refused_not_stored_and_scrubbed(shell, capsys, isolated, line):
    result = run_cell(shell, f"x_before = 1\n%wandb_login {line}")
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert "history" in message and "not stored" in message
    out = capsys.readouterr()
    assert FAKE_KEY not in out.out + out.err + message
    assert FAKE_KEY not in result.info.raw_cell and "%wandb_login" in result.info.raw_cell
    assert FAKE_KEY not in shell.last_execution_result.info.raw_cell
    texts = _history_texts(shell)
    assert any("x_before = 1" in t for t in texts if t)  # the rest of the cell's history is kept
    assert not any(FAKE_KEY in t for t in texts if t)
    assert not (isolated / ".netrc").exists()
    assert nbwandb.find_credentials().source is None


def test_login_magic_help(shell, capsys):
    assert run_cell(shell, "%wandb_login --help").success
    out = capsys.readouterr().out
    assert "--relogin" in out and "--host" in out


def test_login_magic_with_env_key_same_as_function(shell, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    # The magic checks a found key with the server (here: loopback, refused at once).
    expected = nbwandb.login(verify=True, timeout=5).message
    run_cell(shell, "%wandb_login")
    out = capsys.readouterr().out
    assert expected in out and "WANDB_API_KEY" in out and FAKE_KEY not in out
    assert "not verified" in out and "fall back to offline" in out
    run_cell(shell, "%wandb_login --no-verify")
    out = capsys.readouterr().out
    assert nbwandb.login().message in out and "verified" not in out


def test_login_magic_without_credentials_shows_panel_or_instructions(shell, capsys):
    with force_environment("jupyter"):
        run_cell(shell, "%wandb_login")
    assert "nbwandb login (widget)" in capsys.readouterr().out
    with force_environment("ipython"):
        run_cell(shell, "%wandb_login")
    assert "WANDB_API_KEY" in capsys.readouterr().out


# -- registration ---------------------------------------------------------------------------
def test_extension_never_takes_wandbs_own_magic_names(shell):
    names = set(NbwandbMagics.magics["line"]) | set(NbwandbMagics.magics["cell"])
    assert "wandb" not in names
    assert {
        "wandb_login",
        "wandb_init",
        "wandb_config",
        "wandb_status",
        "wandb_finish",
        "wandb_doctor",
        "wandb_run",
    } <= names


def test_unload_removes_magics_and_hook(shell):
    magics = _loaded[id(shell)]
    shell.run_line_magic("unload_ext", "nbwandb")
    assert "wandb_init" not in shell.magics_manager.magics["line"]
    assert magics.post_run_cell not in shell.events.callbacks["post_run_cell"]
    shell.run_line_magic("load_ext", "nbwandb")
    assert "wandb_init" in shell.magics_manager.magics["line"]
    assert (
        len(
            [
                c
                for c in shell.events.callbacks["post_run_cell"]
                if getattr(c, "__self__", None).__class__ is NbwandbMagics
            ]
        )
        == 1
    )


def test_status_shows_a_run_finishing_in_the_background_then_its_final_state(
    shell, capsys, monkeypatch
):
    # In a kernel %wandb_finish returns while the run's last rows go through wandb-core
    # (issue 29, item 6): %wandb_status shows that run, finishing, then finished.
    from nbwandb.run import finish

    monkeypatch.setattr("nbwandb.run.run.in_kernel", lambda: True)
    run_cell(shell, "%wandb_init -p finishing")
    run = shell.user_ns["run"]
    for step in range(20_000):  # ~1 s of wandb-core's CPU: still finishing after the magic
        run.log({"a": step * 0.5}, step=step)
    capsys.readouterr()
    run_cell(shell, "%wandb_finish")
    out = capsys.readouterr().out.strip()
    assert run.name == run.id  # an offline run wandb named after its id: named once
    assert out == f"nbwandb: run {run.id} finishing in the background; the next cell can go on"
    shown: list = []
    monkeypatch.setattr("nbwandb.notebook.magics._show", shown.append)
    run_cell(shell, "%wandb_status")
    assert "no active run" not in capsys.readouterr().out
    (panel,) = shown
    assert panel.run is run and "state=finishing" in repr(panel)
    assert ">finishing</span>" in panel._header.value
    assert finish.wait_all(60) and run.state == "finished"
    deadline = time.monotonic() + 10
    while ">finished</span>" not in panel._header.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ">finished</span>" in panel._header.value  # the live panel moved on by itself
    run_cell(shell, "%wandb_status")
    assert "state=finished" in repr(shown[-1]) and shown[-1].run is run
    assert len(read_run(run.run_dir).history) == 20_000
