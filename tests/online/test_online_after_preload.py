"""An online run after ``%load_ext nbwandb`` set wandb up in the background.

wandb keeps the settings of its first setup for the whole process. The preload must not
pin settings a later online run needs: the host, key and mode that the environment names
when ``init`` runs (even when they were set after the preload) decide where rows go.
Each scenario runs as a user's script (its own process, so its own first setup), and
reads the server's copy back.
"""

from __future__ import annotations

from nbwandb.local import read_run

PROJECT = "after-preload"

SCRIPT = """
import json, os
import nbwandb
from nbwandb.run import startup

startup.start_preload()
startup.set_background_init(True)  # as %load_ext does: an offline init would start in the background
assert startup.join_preload(60)
{late_env}
run = nbwandb.init({project!r}, config={{"lr": 0.1}}, quiet=True)
for step in range(30):
    run.log({{"loss": 1.0 / (step + 1)}}, step=step, prefix="train")
run.finish()
print("RESULT " + json.dumps({{"mode": run.mode, "id": run.id, "run_dir": str(run.run_dir),
                              "upload_complete": run.upload_complete}}))
"""


def _check(server, result) -> None:
    assert result.returncode == 0, result.stderr
    out = result.result
    assert out["mode"] == "online" and out["upload_complete"] is True
    local = read_run(out["run_dir"])
    assert local.state == "finished" and len(local.history) == 30
    remote = server.rows_by_step(PROJECT, out["id"])
    assert [remote[i]["global_step"] for i in range(30)] == list(range(30))
    assert remote[29]["train/loss"] == local.history[29]["train/loss"] == 1 / 30
    assert server.config(PROJECT, out["id"])["lr"] == 0.1


def test_online_init_after_the_preload(server, online_env, run_script) -> None:
    env = online_env(server.url)
    _check(server, run_script(SCRIPT.format(project=PROJECT, late_env=""), env=env))


def test_online_credentials_set_after_the_preload(server, online_env, run_script) -> None:
    # The preload sets wandb up with no key and an unreachable host (offline); the
    # notebook then sets the server and key, and the run goes online to that server.
    env = online_env(server.url)
    late = (
        f"os.environ['WANDB_BASE_URL'] = {server.url!r}\n"
        f"os.environ['WANDB_API_KEY'] = {env['WANDB_API_KEY']!r}\n"
    )
    script = SCRIPT.format(project=PROJECT, late_env=late)
    _check(
        server,
        run_script(script, env={"WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_API_KEY": ""}),
    )
