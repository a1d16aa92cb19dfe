"""A server that refuses mid-run (401, 403, a refused file upload): never called "complete".

wandb-core does not retry 400/401/403/404/409/410: it stops uploading, writes the rest of
the run to disk, and its ``finish`` returns normally (issue 28). Each scenario runs as a
user's script against openwandb behind ``RefusingProxy``; the script tells the proxy when
to start refusing (after ``init`` and some healthy rows) and records each warning with the
time it was shown. Then the test runs ``nbwandb sync`` as a user would: first through the
proxy, still refusing (a clear error, nothing marked synced), then to the server directly,
and reads the server's copy back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openwandb_server import OpenWandbServer
from refusing_proxy import RefusingProxy
from relkit import record
from test_online_run import assert_same_rows

from nbwandb.local import read_run
from nbwandb.run.upload_state import upload_state

PROJECT = "refused"
BEFORE, AFTER = 150, 250  # rows logged before the refusal, and after it

# Every warning the script shows, with the time it was shown (scripts print it in RESULT).
CAPTURE_WARNINGS = """
import time, warnings

shown = []
def show(message, category, filename, lineno, file=None, line=None):
    shown.append({"at": time.time(), "category": category.__name__, "text": str(message)})
warnings.showwarning = show
warnings.simplefilter("always")
"""

SCRIPT = (
    CAPTURE_WARNINGS
    + """
import json, os, urllib.request
import nbwandb
from nbwandb.notebook.run_panel import RunPanel

url = os.environ["WANDB_BASE_URL"]
before, after = int(os.environ["BEFORE"]), int(os.environ["AFTER"])
run = nbwandb.init("refused", config={"lr": 0.1, "nested": {"a": 1, "b": [1, 2]}},
                   settings={"x_file_stream_transmit_interval": 0.2})
for step in range(before):
    run.log({"loss": 1.0 / (step + 1), "lr": 0.1}, step=step, prefix="train")
run.flush()
time.sleep(float(os.environ.get("HEALTHY_WAIT", "1.5")))  # the healthy rows reach the server
refuse = urllib.request.Request(url + "/_test_proxy/refuse/" + os.environ["REFUSE"], method="POST")
urllib.request.urlopen(refuse, timeout=5).close()  # the key is revoked now
for step in range(before, before + after):
    run.log({"loss": 1.0 / (step + 1), "lr": 0.1}, step=step, prefix="train")
run.update_config(nested={"a": 2})
run.set_summary({"best/loss": 0.25})
run.finish(timeout=30)
bundle = RunPanel(run)._repr_mimebundle_()
print("RESULT " + json.dumps({
    "run_dir": str(run.run_dir), "id": run.id, "state": run.state,
    "upload_complete": run.upload_complete, "sync_command": run.sync_command, "warnings": shown,
    "panel_text": bundle["text/plain"], "panel_html": bundle["text/html"],
}), flush=True)
"""
)


@pytest.fixture
def proxy(private_server: OpenWandbServer):
    px = RefusingProxy(private_server.port)
    yield px
    px.close()


def _refused_run(proxy: RefusingProxy, run_script, online_env, refuse: str):
    env = online_env(proxy.url)
    env.update(BEFORE=str(BEFORE), AFTER=str(AFTER), REFUSE=refuse)
    done = run_script(SCRIPT, env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.result


def _upload_warnings(result) -> list[dict]:
    return [
        w
        for w in result["warnings"]
        if w["category"] == "NbwandbWarning" and "upload" in w["text"] and "stopped" in w["text"]
    ]


def _assert_told_once(result, *, key_refused: bool, status: int) -> dict:
    """One NbwandbWarning: the upload stopped, why, and the exact sync command; the panel agrees."""
    run_dir = result["run_dir"]
    told = _upload_warnings(result)
    assert len(told) == 1, result["warnings"]
    text = told[0]["text"]
    assert f"(HTTP {status})" in text and f"`nbwandb sync {run_dir}`" in text, text
    assert ("refused the API key" in text and "%wandb_login" in text) is key_refused, text
    assert "local" + "0123456789" not in text  # never the key
    assert result["state"] == "upload failed" and result["upload_complete"] is False
    assert result["sync_command"] == f"nbwandb sync {run_dir}"
    assert "state=upload failed" in result["panel_text"]
    assert f"nbwandb sync {run_dir}" in result["panel_text"]
    assert ">upload failed</span>" in result["panel_html"]
    state = upload_state(run_dir)
    assert state.state == "incomplete" and state.needs_sync, state
    return told[0]


def _sync(cli, url: str, run_dir: str):
    from openwandb_server import KEY

    done = cli("sync", run_dir, env={"WANDB_BASE_URL": url, "WANDB_API_KEY": KEY}, timeout=300)
    return done, done.stdout + done.stderr


def _assert_server_has_it_all(server: OpenWandbServer, result) -> None:
    run_id, local = result["id"], read_run(result["run_dir"])
    assert len(local.history) == BEFORE + AFTER  # every row was safe on disk
    assert_same_rows(server.rows_by_step(PROJECT, run_id), local.history)
    assert (
        server.config(PROJECT, run_id)
        == local.config
        == {"lr": 0.1, "nested": {"a": 2, "b": [1, 2]}}
    )
    remote = server.summary(PROJECT, run_id)
    assert remote.get("best/loss") == 0.25
    assert {k: remote[k] for k in local.summary if not k.startswith("_")} == {
        k: v for k, v in local.summary.items() if not k.startswith("_")
    }
    assert server.state(PROJECT, run_id) == "finished"


@pytest.mark.parametrize("status", [401, 403])
def test_key_refused_mid_run_is_told_and_synced_later(
    status, private_server, proxy, run_script, online_env, cli
) -> None:
    result = _refused_run(proxy, run_script, online_env, str(status))
    run_dir = result["run_dir"]
    assert proxy.refused > 0
    warning = _assert_told_once(result, key_refused=True, status=status)
    before = len(private_server.rows_by_step(PROJECT, result["id"]))
    assert before < BEFORE + AFTER  # the server lacks the rows logged after the refusal

    # The key is still refused: a clear error, nothing marked synced.
    still, text = _sync(cli, proxy.url, run_dir)
    assert still.returncode != 0, text
    assert "rejected the API key" in text and "log in again" in text, text
    assert upload_state(run_dir).state == "incomplete"

    # Access is back (here: the server directly): the same command, no --force.
    done, text = _sync(cli, private_server.url, run_dir)
    assert done.returncode == 0, text
    assert f"ok  {Path(run_dir).name}: uploaded {BEFORE + AFTER} history rows" in text, text
    assert upload_state(run_dir).state == "synced"
    _assert_server_has_it_all(private_server, result)
    assert proxy.refusing_since is not None and proxy.first_refusal is not None
    record(
        f"online_key_refused_{status}",
        status=status,
        rows_logged=BEFORE + AFTER,
        rows_on_server_before_sync=before,
        rows_on_server_after_sync=len(private_server.rows_by_step(PROJECT, result["id"])),
        seconds_refusal_to_warning=round(warning["at"] - proxy.refusing_since, 2),
        seconds_first_refused_request_to_warning=round(warning["at"] - proxy.first_refusal, 2),
    )


def test_refused_file_upload_alone_makes_the_upload_incomplete(
    private_server, proxy, run_script, online_env, cli
) -> None:
    result = _refused_run(proxy, run_script, online_env, "403/file-uploads")
    run_dir = result["run_dir"]
    assert proxy.refused > 0 and all(p.startswith("PUT /files/") for p in proxy.refused_paths)
    warning = _assert_told_once(result, key_refused=False, status=403)
    # config.yaml goes up at finish (the config changed after the refusal): always refused.
    assert "file(s) (" in warning["text"] and "config.yaml" in warning["text"], warning["text"]
    refused = {p.rsplit("/", 1)[-1] for p in proxy.refused_paths}
    assert "config.yaml" in refused

    done, text = _sync(cli, private_server.url, run_dir)
    assert done.returncode == 0, text
    assert upload_state(run_dir).state == "synced"
    _assert_server_has_it_all(private_server, result)
    files = private_server.run_files(PROJECT, result["id"])
    assert all((files / name).exists() for name in refused), sorted(refused)


RESUMED_REFUSED = (
    CAPTURE_WARNINGS
    + """
import json, os, urllib.request
import nbwandb

run = nbwandb.init("resumed", resume=os.environ["RUN_ID"], quiet=True,
                   settings={"x_file_stream_transmit_interval": 0.2})
start = run.start_step
refuse = urllib.request.Request(os.environ["WANDB_BASE_URL"] + "/_test_proxy/refuse/401",
                                method="POST")
urllib.request.urlopen(refuse, timeout=5).close()  # the key is revoked after the resume
for step in range(start, start + 10):
    run.log({"loss": 0.01}, step=step, prefix="train")
run.finish(timeout=30)
print("RESULT " + json.dumps({"run_dir": str(run.run_dir), "id": run.id, "start": start,
                              "state": run.state, "warnings": shown}), flush=True)
"""
)


def test_a_resumed_run_whose_key_is_refused_is_told_and_synced_later(
    private_server, proxy, run_script, online_env, cli
) -> None:
    """The same truth for a resumed run: its own part is "incomplete", and the one command in
    the warning puts every row of every part on the server."""
    import signal

    from test_resume_online import CRASHED_ONLINE

    env = online_env(proxy.url)  # healthy until the resumed script tells the proxy to refuse
    crashed = run_script(CRASHED_ONLINE, env=env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    run_id = crashed.result["id"]
    done = run_script(RESUMED_REFUSED, env={**env, "RUN_ID": run_id}, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    result = done.result
    assert result["id"] == run_id and result["start"] == 30
    told = _upload_warnings(result)
    assert len(told) == 1, result["warnings"]
    assert "refused the API key" in told[0]["text"], told[0]["text"]
    assert f"`nbwandb sync {result['run_dir']}`" in told[0]["text"], told[0]["text"]
    assert result["state"] == "upload failed"
    assert upload_state(result["run_dir"]).state == "incomplete"

    synced, text = _sync(cli, private_server.url, result["run_dir"])  # the command it gave
    assert synced.returncode == 0, text
    rows = private_server.rows_by_step("resumed", run_id)
    joined = read_run(run_id)
    assert [r["global_step"] for r in joined.history] == list(range(40))
    assert sorted(rows) == list(range(40)), sorted(rows)
    assert_same_rows(rows, joined.history)
    assert private_server.state("resumed", run_id) == "finished"


def test_a_distributed_run_uploading_through_rank_0_whose_key_is_refused(
    private_server, proxy, online_env, cli, tmp_path: Path
) -> None:
    """``distributed="main"``: rank 0 uploads the one run; when its key is refused, rank 0
    warns once with the sync command and the run is "incomplete"; the sync completes it."""
    import json

    from nbwandb import launch
    from nbwandb.local import list_runs

    env = online_env(proxy.url)
    out = tmp_path / "out"
    out.mkdir()
    script = Path(__file__).parents[1] / "dist_scripts" / "refused_ddp.py"
    lines: list[str] = []
    done = launch(
        script,
        2,
        [str(out)],
        timeout=180,
        echo=lines.append,
        wandb_dir=tmp_path,
        env={**env, "WANDB_SILENT": "true"},
        cwd=tmp_path,
    )
    assert done.ok, "\n".join(lines[-60:])
    ranks = {r["rank"]: r for r in (json.loads(p.read_text()) for p in out.glob("rank-*.json"))}
    main, other = ranks[0], ranks[1]
    assert main["state"] == "upload failed" and upload_state(main["run_dir"]).state == "incomplete"
    told = _upload_warnings(main)
    assert len(told) == 1 and f"`nbwandb sync {main['run_dir']}`" in told[0]["text"], told
    assert _upload_warnings(other) == []  # rank 1 uploads nothing, and says nothing of it
    assert [r["id"] for r in list_runs(tmp_path / "wandb")] == [main["id"]]  # one run

    synced, text = _sync(cli, private_server.url, main["run_dir"])
    assert synced.returncode == 0, text
    rows = private_server.rows_by_step("ddp-refused", main["id"])
    local = read_run(main["run_dir"])
    assert len(local.history) == 20 and sorted(rows) == [r["_step"] for r in local.history]
    assert_same_rows(rows, local.history)
    assert private_server.state("ddp-refused", main["id"]) == "finished"
