"""A resumed run is one run on the server: every row of every segment under one id.

Offline segments go up with ``nbwandb sync``, oldest first; an online run killed mid-run
is continued online with wandb's ``resume="must"``. The server's copy is read back and
compared with the joined local run.
"""

from __future__ import annotations

import signal
from pathlib import Path

from test_online_run import assert_same_rows

import nbwandb
from nbwandb.local import read_run

PROJECT = "resumed"

CRASHED_OFFLINE = """
import json, os, signal, time
import nbwandb
run = nbwandb.init("resumed", config={"lr": 0.1, "width": 4}, mode="offline", name="seg")
for step in range(30):
    run.log({"loss": 1.0 / (step + 1)}, prefix="train")
run.flush()
print("RESULT " + json.dumps({"run_dir": str(run.run_dir), "id": run.id}), flush=True)
time.sleep(0.3)  # wandb-core writes the file every 0.1 s
os.kill(os.getpid(), signal.SIGKILL)
"""

CRASHED_ONLINE = CRASHED_OFFLINE.replace(
    ', mode="offline"', ', settings={"x_file_stream_transmit_interval": 0.2}'
).replace("run.flush()", "run.flush()\ntime.sleep(1.5)  # the rows reach the server")


def test_offline_segments_sync_as_one_run(server, online_env, run_script, cli) -> None:
    done = run_script(CRASHED_OFFLINE, env={"WANDB_MODE": "offline"})
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    run_id, first = done.result["id"], Path(done.result["run_dir"])
    run = nbwandb.init(PROJECT, resume="auto", mode="offline", config={"lr": 0.05}, quiet=True)
    assert run.id == run_id and run.start_step == 30
    for _ in range(10):
        run.log({"loss": 0.01}, prefix="train")
    run.finish()
    joined = read_run(run_id)
    assert [r["_step"] for r in joined.history] == list(range(40))

    env = online_env(server.url)
    synced = cli("sync", str(first), env=env, timeout=300)  # one segment named: the whole run goes
    text = synced.stdout + synced.stderr
    assert synced.returncode == 0, text
    assert "2 synced, 0 failed" in text, text
    rows = server.rows_by_step(PROJECT, run_id)
    assert sorted(rows) == list(range(40))
    assert_same_rows(rows, joined.history)
    assert [rows[s]["global_step"] for s in range(40)] == list(range(40))
    assert server.config(PROJECT, run_id) == {"lr": 0.05, "width": 4}
    assert server.state(PROJECT, run_id) == "finished"
    assert len(server.runs(PROJECT)) >= 1 and run_id in server.runs(PROJECT)


def test_online_run_killed_then_resumed_online(server, online_env, run_script, cli) -> None:
    env = online_env(server.url)
    done = run_script(CRASHED_ONLINE, env=env)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    run_id, first = done.result["id"], Path(done.result["run_dir"])
    assert server.state(PROJECT, run_id) is not None  # the server knows the run

    run = nbwandb.init(PROJECT, resume=run_id, quiet=True)
    assert run.mode == "online" and run.id == run_id and run.start_step == 30
    assert run.resumed_from == (first,)
    for _ in range(10):
        run.log({"loss": 0.01}, prefix="train")
    run.finish()
    assert run.upload_complete is True
    # The killed part's upload did not complete; sync sends what the server lacks.
    synced = cli("sync", str(first), env=env, timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    rows = server.rows_by_step(PROJECT, run_id)
    joined = read_run(run_id)
    assert [r["_step"] for r in joined.history] == list(range(40))
    assert sorted(rows) == list(range(40))  # wandb's _step went on in the resumed part too
    assert_same_rows(rows, joined.history)
    assert server.state(PROJECT, run_id) == "finished"
