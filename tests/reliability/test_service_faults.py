"""wandb's service process (wandb-core) under faults, in one real kernel, scenario after scenario.

1. a cell re-run 21 times: one active run, 20 finished ones, one wandb-core;
2. wandb-core killed mid-run: the next call fails fast and clearly, a new ``init`` works;
3. wandb-core stopped (SIGSTOP): ``finish(timeout=..., wait=True)`` returns in time with a
   clear message, and the next ``init`` still gets a working run;
4. the same with the kernel's default finish, which returns at once and goes on in the
   background: it ends within its timeout (the run says "finish-timeout"), and the next
   ``init`` waits for it, then gets a working run.

The test reads runs from its own process: a kernel's cell finishes them with ``wait=True``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from leet import leet_summary
from relkit import Kernel, record, wandb_core_pids

from nbwandb.local import read_run

RERUNS = 21

SETUP = """
import json, time, warnings
import nbwandb
warnings.simplefilter("always")
run_dirs = []
"""

CELL = """
run = nbwandb.init(project="rerun", mode="offline", quiet=True, config={"attempt": len(run_dirs)})
run.log({"attempt": float(len(run_dirs))})
run_dirs.append(str(run.run_dir))
"""

AFTER_CORE_KILL = """
t0 = time.monotonic()
try:
    for i in range(3):
        run.log({"after_kill": float(i)})
        run.flush(timeout=10)
    outcome = "no error"
except nbwandb.NbwandbError as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(f"error_seconds={time.monotonic() - t0:.3f}")
print(f"outcome={outcome}")
"""

NEW_RUN = """
t0 = time.monotonic()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    run = nbwandb.init(project="after-fault", mode="offline", quiet=True)
    run.log({"fresh": 1.0})
print(f"init_seconds={time.monotonic() - t0:.3f}")
print(f"warnings={json.dumps([str(w.message) for w in caught])}")
print(f"new_run_dir={run.run_dir}")
"""

FINISH_STUCK_BACKGROUND = """
t0 = time.monotonic()
stuck_run = run
run.finish(timeout=3)
print(f"finish_seconds={time.monotonic() - t0:.3f}")
print(f"state={run.state}")
"""

INIT_AFTER_BACKGROUND = (
    NEW_RUN
    + """
print(f"previous_state={stuck_run.state}")
"""
)

FINISH_STUCK = """
t0 = time.monotonic()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    run.finish(timeout=3, wait=True)
print(f"finish_seconds={time.monotonic() - t0:.3f}")
print(f"state={run.state}")
print(f"warnings={json.dumps([str(w.message) for w in caught])}")
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory):
    cwd = tmp_path_factory.mktemp("service-faults")
    # The autouse fixture's env is per test; this kernel outlives one test, so give it its own.
    env = {
        "WANDB_DIR": str(cwd),
        "WANDB_MODE": "offline",
        "NETRC": str(cwd / ".netrc"),
        "WANDB_CONFIG_DIR": str(cwd / ".config-wandb"),
        "WANDB_CACHE_DIR": str(cwd / ".cache-wandb"),
        "WANDB_DATA_DIR": str(cwd / ".data-wandb"),
    }
    saved_key = os.environ.pop("WANDB_API_KEY", None)
    k = Kernel(cwd, env=env)
    k.run(SETUP).check()
    yield k
    k.shutdown()
    if saved_key is not None:
        os.environ["WANDB_API_KEY"] = saved_key


def _core(k: Kernel) -> int:
    pids = wandb_core_pids(k.pid)
    assert len(pids) == 1, f"expected one wandb-core, found {pids}"
    return pids[0]


def test_rerun_cell_21_times_one_active_run_20_finished_one_service(kernel: Kernel):
    seconds = []
    for _ in range(RERUNS):
        seconds.append(kernel.run(CELL).check().seconds)
    cores = wandb_core_pids(kernel.pid)
    run_dirs = json.loads(kernel.run("print(f'dirs={json.dumps(run_dirs)}')").check().value("dirs"))
    assert len(set(run_dirs)) == RERUNS
    active = kernel.run("print(f'active={nbwandb.active_run().run_dir}')").check().value("active")
    assert active == run_dirs[-1]
    states = [read_run(d).state for d in run_dirs]
    assert states[:-1] == ["finished"] * (RERUNS - 1), states
    assert states[-1] == "running"
    # the running run's newest records reach its file within 0.1 s: check the finished ones
    assert [read_run(d).config.get("attempt") for d in run_dirs[:-1]] == list(range(RERUNS - 1))
    assert len(cores) == 1, f"leftover wandb-core processes: {cores}"
    record(
        "rerun_init_cell",
        reruns=RERUNS,
        active_runs=1,
        finished_runs=RERUNS - 1,
        wandb_core_processes=len(cores),
        median_seconds_per_rerun=round(sorted(seconds)[len(seconds) // 2], 3),
    )


def test_killed_service_fails_fast_and_a_new_init_works(kernel: Kernel):
    kernel.run(NEW_RUN, timeout=120).check()
    core = _core(kernel)
    os.kill(core, signal.SIGKILL)
    time.sleep(0.2)
    after = kernel.run(AFTER_CORE_KILL, timeout=60).check()
    outcome = after.value("outcome")
    assert outcome.startswith("WriterError: "), outcome
    assert "wandb-core" in outcome and "nbwandb.init()" in outcome, (
        outcome
    )  # says what happened and what to do
    error_seconds = float(after.value("error_seconds"))
    assert error_seconds < 5, f"the error took {error_seconds}s"

    t0 = time.monotonic()
    fresh = kernel.run(NEW_RUN, timeout=120).check()
    recover_seconds = time.monotonic() - t0
    new_core = _core(kernel)
    assert new_core != core
    kernel.run("run.finish(wait=True)").check()
    new_dir = fresh.value("new_run_dir")
    assert read_run(new_dir).exit_code == 0
    assert leet_summary(new_dir)["summary"]["fresh"] == 1.0
    warned = " ".join(json.loads(fresh.value("warnings")))
    assert "wandb-core" in warned, warned
    record(
        "wandb_core_killed",
        seconds_to_clear_error=error_seconds,
        error=outcome,
        seconds_to_working_init=round(recover_seconds, 2),
    )


@contextlib.contextmanager
def _stopped_service(kernel: Kernel) -> Iterator[int]:
    """A new run, then its wandb-core stopped (SIGSTOP) until the block ends; yields its pid."""
    kernel.run(NEW_RUN, timeout=120).check()
    core = _core(kernel)
    os.kill(core, signal.SIGSTOP)
    try:
        yield core
    finally:
        try:
            os.kill(core, signal.SIGCONT)
        except ProcessLookupError:
            pass


def _new_run_works(kernel: Kernel, fresh: Any, core: int) -> None:
    """The run ``fresh`` started has a new wandb-core and ends cleanly."""
    assert _core(kernel) != core
    kernel.run("run.finish(wait=True)").check()
    assert read_run(fresh.value("new_run_dir")).exit_code == 0


def test_stuck_service_finish_returns_within_timeout_and_init_recovers(kernel: Kernel):
    with _stopped_service(kernel) as core:
        stuck = kernel.run(FINISH_STUCK, timeout=60).check()
        finish_seconds = float(stuck.value("finish_seconds"))
        assert finish_seconds < 3 + 5, (
            f"finish(timeout=3) took {finish_seconds}s"
        )  # slack for a loaded box
        assert stuck.value("state") == "finish-timeout"
        message = " ".join(json.loads(stuck.value("warnings")))
        assert "did not finish within 3s" in message, message

        t0 = time.monotonic()
        fresh = kernel.run(NEW_RUN, timeout=120).check()
        recover_seconds = time.monotonic() - t0
        _new_run_works(kernel, fresh, core)
    record(
        "finish_with_stuck_service",
        finish_timeout_s=3,
        seconds_finish_returned=finish_seconds,
        seconds_to_working_init=round(recover_seconds, 2),
    )


def test_stuck_service_background_finish_ends_within_timeout_and_init_recovers(kernel: Kernel):
    with _stopped_service(kernel) as core:
        stuck = kernel.run(FINISH_STUCK_BACKGROUND, timeout=60).check()
        assert float(stuck.value("finish_seconds")) < 3  # returned without waiting on wandb-core
        assert stuck.value("state") == "finishing"
        t0 = time.monotonic()
        fresh = kernel.run(INIT_AFTER_BACKGROUND, timeout=120).check()
        recover_seconds = time.monotonic() - t0
        # init waited for the finish left in the background, which gave up after its 3 s
        assert fresh.value("previous_state") == "finish-timeout"
        warned = " ".join(json.loads(fresh.value("warnings")))
        assert "did not finish within 3s" in warned and "wandb-core" in warned, warned
        _new_run_works(kernel, fresh, core)
    record(
        "background_finish_with_stuck_service",
        finish_timeout_s=3,
        seconds_to_working_init=round(recover_seconds, 2),
    )
