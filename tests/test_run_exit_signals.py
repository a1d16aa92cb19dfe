"""A SIGTERM during the exit finish waits for it, then ends the process as asked.

Jupyter's restart sends SIGTERM 2.5 s after asking a kernel to exit. A run finishing in the
background at that moment must still complete (the real-kernel scenario is in
``tests/reliability/test_kernel_kill.py``); here the same path runs in a plain process,
where the moment the signal arrives can be chosen exactly.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, threading, time
from pathlib import Path
from nbwandb.run import finish

here = Path(sys.argv[1])
done = threading.Event()
finish.begin(done)   # a finish going on in the background, as %wandb_finish leaves it

def background_finish():
    while not (here / "in_exit_hook").exists():
        time.sleep(0.01)
    time.sleep(1.0)                       # the finish still has work after the SIGTERM
    (here / "finished").write_text("yes")
    done.set()

threading.Thread(target=background_finish, daemon=True).start()
original = finish.wait_all

def wait_all(timeout=None):
    (here / "in_exit_hook").write_text("yes")   # the exit hook is waiting now
    return original(timeout)

finish.wait_all = wait_all
finish.install_exit_hook()
"""


def test_sigterm_in_the_exit_finish_is_held_until_the_finish_ends(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=Path(__file__).resolve().parents[1],
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "in_exit_hook").exists():
        assert process.poll() is None, "the script ended before its exit hook ran"
        assert time.monotonic() < deadline, "the exit hook never ran"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    returncode = process.wait(60)
    assert (tmp_path / "finished").exists(), "the SIGTERM cut the background finish short"
    assert returncode == -signal.SIGTERM, "the held SIGTERM is delivered once the finish ends"


def test_without_a_sigterm_the_exit_is_normal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
    )
    assert done.returncode == 0 and (tmp_path / "finished").exists()
