"""A server that goes away mid-run costs nothing: no row lost, a bounded finish, a sync that finishes.

Each scenario runs as a user's script (its own process and wandb-core) against a private
openwandb; the script faults the server itself at a known point (SIGSTOP or SIGKILL by
pid), so the timing is the script's, not the test's. Afterwards the test brings the
server back, runs ``nbwandb sync`` as a user would, and reads the server's copy back.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from openwandb_server import OpenWandbServer
from relkit import record
from test_online_run import assert_same_rows

from nbwandb.local import read_run
from nbwandb.run.upload_state import upload_state
from nbwandb.wandb_compat.logfile import FILE_HEADER_LEN, LogReader

PROJECT = "faults"

# A training loop in a script: HEALTHY rows, then the fault, then FAULTED rows, then finish.
SCRIPT = """
import json, os, signal, sys, time, warnings
import nbwandb

HEALTHY, FAULTED, FAULT = int(os.environ["HEALTHY"]), int(os.environ["FAULTED"]), os.environ["FAULT"]
server_pid = int(os.environ["SERVER_PID"])
run = nbwandb.init("faults", config={"fault": FAULT, "nested": {"a": 1, "b": [1, 2]}},
                   settings={"x_file_stream_transmit_interval": 0.2})

def loop(first, count):
    # A training step of about 0.3 ms between logs, so the writer keeps up as in real training:
    # what is timed is the cost of log() itself, healthy or not.
    spent = []
    for step in range(first, first + count):
        sum(i * i for i in range(4000))
        t = time.perf_counter()
        run.log({"loss": 1.0 / (step + 1), "lr": 0.1}, step=step, prefix="train")
        spent.append(time.perf_counter() - t)
    return spent

healthy = loop(0, HEALTHY)
run.flush()
time.sleep(1.0)  # let the healthy rows reach the server
os.killpg(server_pid, signal.SIGSTOP if FAULT == "stop" else signal.SIGKILL)
faulted = loop(HEALTHY, FAULTED)
run.update_config(nested={"a": 2})  # while the server is away
run.set_summary({"best/loss": 0.5})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    t = time.perf_counter()
    run.finish(timeout=float(os.environ.get("FINISH_TIMEOUT", "5")))
    finish_s = time.perf_counter() - t
print("RESULT " + json.dumps({
    "run_dir": str(run.run_dir), "id": run.id, "state": run.state, "finish_s": finish_s,
    "upload_complete": run.upload_complete, "warnings": [str(w.message) for w in caught],
    "healthy_log_us": 1e6 * sum(healthy) / len(healthy), "faulted_log_us": 1e6 * sum(faulted) / len(faulted),
}), flush=True)
"""


def _faulted_run(
    server: OpenWandbServer,
    run_script,
    online_env,
    fault: str,
    healthy: int = 1000,
    faulted: int = 1000,
):
    env = online_env(server.url)
    assert server.proc is not None
    env.update(
        HEALTHY=str(healthy), FAULTED=str(faulted), FAULT=fault, SERVER_PID=str(server.proc.pid)
    )
    start = time.monotonic()
    done = run_script(SCRIPT, env=env, timeout=180)
    exit_s = time.monotonic() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return done.result, env, exit_s


def _sync(cli, env, run_dir: str, *extra: str):
    done = cli("sync", *extra, run_dir, env=env, timeout=300)
    return done, done.stdout + done.stderr


def test_server_stopped_mid_run_then_synced(private_server, run_script, online_env, cli) -> None:
    result, env, exit_s = _faulted_run(private_server, run_script, online_env, "stop")
    run_dir = result["run_dir"]
    # finish is bounded and says exactly what to run; every row is on disk.
    assert result["state"] == "finish-timeout" and result["finish_s"] < 5 + 2
    assert result["upload_complete"] is False
    assert any(f"nbwandb sync {run_dir}" in w for w in result["warnings"]), result["warnings"]
    assert upload_state(run_dir).state == "incomplete"
    local = read_run(run_dir)
    assert len(local.history) == 2000
    before = (
        len(private_server.rows_by_step(PROJECT, result["id"]))
        if _answers(private_server)
        else None
    )

    private_server.resume()
    done, text = _sync(cli, env, run_dir)
    assert done.returncode == 0, text
    assert (
        f"ok  {Path(run_dir).name}: uploaded 2000 history rows" in text
        and "1 synced, 0 failed" in text
    )
    assert_same_rows(private_server.rows_by_step(PROJECT, result["id"]), local.history)
    assert private_server.state(PROJECT, result["id"]) == "finished"
    assert (
        local.config
        == private_server.config(PROJECT, result["id"])
        == {"fault": "stop", "nested": {"a": 2, "b": [1, 2]}}
    )
    remote_summary = private_server.summary(PROJECT, result["id"])
    assert {k: remote_summary[k] for k in local.summary if not k.startswith("_")} == {
        k: v for k, v in local.summary.items() if not k.startswith("_")
    }
    assert upload_state(run_dir).state == "synced"
    again, text = _sync(cli, env, run_dir)
    assert again.returncode == 0 and "already uploaded by nbwandb sync" in text
    record(
        "online_server_stopped",
        rows_logged=2000,
        rows_on_server_before_sync=before,
        rows_on_server_after_sync=len(private_server.rows_by_step(PROJECT, result["id"])),
        finish_timeout_s=5,
        finish_returned_s=round(result["finish_s"], 2),
        script_exit_s=round(exit_s, 1),
        healthy_log_us=round(result["healthy_log_us"], 1),
        stalled_log_us=round(result["faulted_log_us"], 1),
    )


def _answers(server: OpenWandbServer) -> bool:
    try:
        server.runs(PROJECT)
    except OSError:
        return False
    return True


def test_server_killed_mid_run_and_restarted_then_synced(
    private_server, run_script, online_env, cli
) -> None:
    result, env, _ = _faulted_run(
        private_server, run_script, online_env, "kill", healthy=300, faulted=700
    )
    run_dir = result["run_dir"]
    assert result["finish_s"] < 5 + 2 and result["upload_complete"] is False
    assert len(read_run(run_dir).history) == 1000
    private_server.proc = None
    private_server.start()  # same port, same data dir
    before = len(private_server.rows_by_step(PROJECT, result["id"]))
    assert before < 1000  # the server lost the rows logged after the kill

    # Over the whole folder: the incomplete online run is found without naming it.
    done, text = _sync(cli, env, str(Path(run_dir).parent))
    assert done.returncode == 0, text
    assert_same_rows(private_server.rows_by_step(PROJECT, result["id"]), read_run(run_dir).history)
    assert private_server.state(PROJECT, result["id"]) == "finished"
    record(
        "online_server_killed",
        rows_logged=1000,
        rows_on_server_before_sync=before,
        rows_on_server_after_sync=len(private_server.rows_by_step(PROJECT, result["id"])),
    )


KILLED = """
import json, os, signal, time
import nbwandb

run = nbwandb.init("faults", config={"fault": "kernel-killed"})
print("RESULT " + json.dumps({"run_dir": str(run.run_dir), "id": run.id}), flush=True)
os.killpg(int(os.environ["SERVER_PID"]), signal.SIGSTOP)  # nothing reaches the server
for step in range(1500):
    run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
run.flush()
time.sleep(0.5)  # wandb-core writes the file every 0.1 s
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_kernel_with_a_cut_record_syncs_up_to_its_last_complete_record(
    private_server, run_script, online_env, cli
) -> None:
    env = online_env(private_server.url)
    assert private_server.proc is not None
    env["SERVER_PID"] = str(private_server.proc.pid)
    done = run_script(KILLED, env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    run_dir = Path(done.result["run_dir"])
    private_server.resume()
    # The kill left the file on a record boundary here; cut the last record in half, as a
    # kill in the middle of a write does.
    run_file = next(run_dir.glob("*.wandb"))
    reader = LogReader(run_file)
    sizes = [len(p) for p in reader.read_available()]
    assert reader.offset > FILE_HEADER_LEN and sizes
    with open(run_file, "r+b") as fh:
        fh.truncate(reader.offset - sizes[-1] // 2)
    local = read_run(run_dir)
    assert local.truncated and local.state in ("crashed", "running")
    kept = len(local.history)
    assert kept >= 1400  # only the rows in the cut tail are gone
    assert upload_state(run_dir).needs_sync  # "uploading" by a process that is gone

    synced, text = _sync(cli, env, str(run_dir))
    assert synced.returncode == 0, text
    assert "from a repaired copy (the last record is cut off" in text
    assert_same_rows(private_server.rows_by_step(PROJECT, done.result["id"]), local.history)
    record(
        "online_kernel_killed",
        rows_logged=1500,
        rows_in_file=kept,
        rows_on_server_after_sync=len(private_server.rows_by_step(PROJECT, done.result["id"])),
    )


def test_plain_wandb_sync_skips_the_same_folder(private_server, run_script, online_env) -> None:
    """Why nbwandb sync exists for online folders: wandb's own skips them and says ok."""
    import subprocess

    from nbwandb.local.sync import wandb_command

    result, env, _ = _faulted_run(
        private_server, run_script, online_env, "stop", healthy=50, faulted=150
    )
    private_server.resume()
    plain = subprocess.run(
        [*wandb_command(), "sync", result["run_dir"]],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert "No runs to sync" in plain.stdout + plain.stderr
    assert plain.returncode == 0  # wandb's exit code says nothing went wrong
    assert len(private_server.rows_by_step(PROJECT, result["id"])) < 200


def test_offline_fallback_run_is_synced_once_the_server_is_back(
    private_server, online_env, cli
) -> None:
    """The whole story of a dead network: auto gives an offline run, the command it printed uploads it."""
    import nbwandb

    env = online_env(private_server.url)
    private_server.kill()
    run = nbwandb.init(PROJECT, config={"nested": {"a": 1, "b": [1, 2]}})
    assert run.mode == "offline" and "refused the connection" in run.mode_reason
    for step in range(200):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    run.update_config(nested={"a": 2})
    run.finish()
    private_server.start()
    done, text = _sync(cli, env, str(run.run_dir))
    assert done.returncode == 0 and "uploaded 200 history rows" in text, text
    local = read_run(run.run_dir)
    assert_same_rows(private_server.rows_by_step(PROJECT, run.id), local.history)
    assert (
        private_server.config(PROJECT, run.id) == local.config == {"nested": {"a": 2, "b": [1, 2]}}
    )
    assert private_server.state(PROJECT, run.id) == "finished"
