"""An online run against a real W&B-compatible server: one truth on the server and on disk.

Each check reads the server's copy back (its files and its REST API) and compares it
with what ``nbwandb.local.read_run`` reads from the run's own ``.wandb`` file.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import nbwandb
from nbwandb.local import read_run
from nbwandb.run.upload_state import upload_state

PROJECT = "online-truth"


def _log_two_prefixes(run: nbwandb.Run, steps: int) -> None:
    for step in range(steps):
        run.log({"loss": 1 / (step + 1), "acc": step / steps}, step=step, prefix="train")
        run.log({"loss": 1.5 / (step + 1)}, step=step, prefix="val")


def assert_same_rows(
    server_rows: dict[int, dict], local_history: list[dict], step_metric: str = "global_step"
):
    """Server rows (by _step) and the local history carry the same values, row for row."""
    assert len(server_rows) == len(local_history)
    for local in local_history:
        remote = server_rows[int(local["_step"])]
        keys = {k for k in local if not k.startswith("_")}
        assert keys <= set(remote), (
            f"row {local['_step']}: {keys - set(remote)} missing on the server"
        )
        for key in keys:
            assert math.isclose(remote[key], local[key], rel_tol=1e-12), (
                key,
                remote[key],
                local[key],
            )
        assert remote[step_metric] == local[step_metric]


def test_online_run_matches_the_server(server, online_env, capsys) -> None:
    online_env(server.url)
    config = {
        "lr": 0.01,
        "nested": {"a": 1, "b": [1, 2]},
        "opt": {"name": "adam", "betas": [0.9, 0.99]},
    }
    run = nbwandb.init(PROJECT, config=config, name="truth")
    assert run.mode == "online" and run.url and run.url.startswith(server.url)
    printed = capsys.readouterr().out
    assert f"online run 'truth' ({run.id}) at {run.url}" in printed
    _log_two_prefixes(run, 60)
    run.update_config(nested={"a": 2})  # merged: b stays, as wandb-core keeps it
    run.update_config({"opt": {"name": "sgd"}, "params": 123})
    run.set_summary({"best/val_loss": 0.025})
    expected_config = {
        "lr": 0.01,
        "nested": {"a": 2, "b": [1, 2]},
        "opt": {"name": "sgd", "betas": [0.9, 0.99]},
        "params": 123,
    }
    assert run.config == expected_config
    run.finish()
    assert run.upload_complete is True and run.sync_command is None
    assert upload_state(run.run_dir).state == "complete"

    local = read_run(run.run_dir)
    assert local.state == "finished" and len(local.history) == 60
    assert local.config == expected_config == server.config(PROJECT, run.id)
    assert_same_rows(server.rows_by_step(PROJECT, run.id), local.history)
    assert len(server.history(PROJECT, run.id)) == 60  # no row sent twice
    remote_summary = server.summary(PROJECT, run.id)
    for key in ("train/loss", "val/loss", "train/acc", "best/val_loss", "global_step"):
        assert math.isclose(remote_summary[key], local.summary[key]), key
    assert server.state(PROJECT, run.id) == "finished"


def test_a_finish_in_the_background_uploads_everything(server, online_env) -> None:
    """A notebook's default finish: the call returns during the upload; a read waits for it."""
    online_env(server.url)
    run = nbwandb.init(PROJECT, name="background", quiet=True)
    _log_two_prefixes(run, 200)
    run.finish(wait=False)
    assert run.state == "finishing" and run.upload_complete is None  # not said before it happened
    local = read_run(run.run_dir)  # waits for the finish in the background
    assert run.state == "finished" and run.upload_complete is True
    assert upload_state(run.run_dir).state == "complete"
    assert local.state == "finished" and len(local.history) == 200
    assert_same_rows(server.rows_by_step(PROJECT, run.id), local.history)
    assert server.state(PROJECT, run.id) == "finished"


def test_url_shows_in_repr_status_and_run_panel(server, online_env, capsys) -> None:
    pytest.importorskip("ipywidgets")
    from IPython.testing.globalipapp import start_ipython

    from nbwandb.notebook.run_panel import RunPanel

    online_env(server.url)
    run = nbwandb.init(PROJECT, name="where")
    try:
        assert run.url in repr(run)
        panel = RunPanel(run)
        bundle = panel._repr_mimebundle_()
        assert run.url in bundle["text/plain"] and run.url in bundle["text/html"]
        import IPython

        shell = start_ipython() or IPython.get_ipython()
        shell.run_line_magic("load_ext", "nbwandb")
        capsys.readouterr()
        shell.run_line_magic("wandb_status", "")
        assert run.url in capsys.readouterr().out
        shell.run_line_magic("unload_ext", "nbwandb")
    finally:
        run.finish()


def test_show_and_sync_on_an_online_run_folder(server, online_env, cli) -> None:
    env = online_env(server.url)
    run = nbwandb.init(PROJECT, name="shown")
    _log_two_prefixes(run, 10)
    run.finish()
    dash = nbwandb.show(run.run_dir)
    html = dash._repr_html_()
    # show draws from the run's sampled series (its cache), not from every row
    assert [r.id for r in dash.runs] == [run.id] and dash.runs[0].steps == 10
    assert (
        "<svg" in html and "train" in html and "val" in html
    )  # one chart section per prefix (inline SVG)

    # A complete upload: nothing to do, and sync says so instead of "ok".
    done = cli("sync", str(run.run_dir), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"skipped  {run.run_dir.name}: already uploaded" in done.stdout
    assert "0 synced, 0 failed, 1 skipped" in done.stdout
    assert len(server.history(PROJECT, run.id)) == 10  # nothing sent again

    # Over a folder, complete online runs are not picked up at all: here nothing is left to sync.
    folder = cli("sync", str(Path(run.run_dir).parent), env=env)
    assert folder.returncode == 2 and "no runs to sync" in folder.stderr, (
        folder.stdout + folder.stderr
    )


def test_login_against_the_server_is_verified(server, online_env, isolated) -> None:
    online_env(server.url)
    result = nbwandb.login(verify=True, timeout=5)
    assert (
        result.verified is True
        and "verified" in result.message
        and "not verified" not in result.message
    )


def test_login_panel_against_the_server_says_verified(server, online_env, panel_login) -> None:
    from openwandb_server import KEY

    online_env(server.url)
    panel = panel_login(server.url, timeout=5)
    assert panel.result is not None and panel.result.verified is True
    assert "verified" in panel.status.value and "not verified" not in panel.status.value
    assert KEY not in str(panel.get_state())


def test_latency_on_every_packet_still_gives_one_truth(server, online_env) -> None:
    from fault_proxy import FaultProxy

    proxy = FaultProxy(server.port, mode="latency", latency=0.05)
    try:
        online_env(proxy.url)
        run = nbwandb.init(PROJECT, name="slow-link", network_timeout=10)
        assert run.mode == "online"
        _log_two_prefixes(run, 30)
        run.finish(timeout=60)
        assert run.upload_complete is True
        assert_same_rows(server.rows_by_step(PROJECT, run.id), read_run(run.run_dir).history)
    finally:
        proxy.close()
