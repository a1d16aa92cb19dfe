"""Rewrite the figures table of RELIABILITY.md from ``out/reliability.json``.

The reliability suite records what it measured in ``out/reliability.json``; run the suite,
then this script:

    .venv/bin/pytest -q tests/reliability && .venv/bin/python tests/reliability/report.py
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "out" / "reliability.json"
DOC = REPO / "RELIABILITY.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def _cases(f: dict[str, Any]) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(f["error_types"].items()))
    return f"{f['cases']} cases: {f['accepted']} accepted, {f['rejected']} rejected ({errors or 'none'})"


def _kill(f: dict[str, Any]) -> str:
    return (
        f"rows lost of {f['rows_logged']}: plain wandb **{f['raw_wandb']['rows_lost']}**, "
        f"nbwandb mid-cell **{f['nbwandb_mid_cell']['rows_lost']}**, "
        f"nbwandb after the cell **{f['nbwandb_after_cell']['rows_lost']}**; "
        f"files read by nbwandb (state `{f['nbwandb_mid_cell']['nbwandb_state']}`) and wandb leet"
    )


def _unreachable(f: dict[str, Any]) -> str:
    kinds = f["kinds"]
    parts = [
        f"{kind}: auto -> offline in {v.get('auto_s', '?')} s, online -> `NbwandbError` in "
        f"{v.get('online_s', '?')} s"
        for kind, v in sorted(kinds.items())
    ]
    default = kinds.get("blackholed", {}).get("online_default_s")
    tail = f"; default online timeout: error after {default} s" if default else ""
    return (
        "; ".join(parts)
        + f" (online with `network_timeout=3`, auto timeout {f['auto_timeout_s']:g} s){tail}"
    )


def _key_refused(f: dict[str, Any]) -> str:
    return (
        f"rows on the server: {f['rows_on_server_before_sync']} before, "
        f"**{f['rows_on_server_after_sync']}** of {f['rows_logged']} after `nbwandb sync` "
        f"(no `--force`; a sync while the key is still refused fails and marks nothing); "
        f"upload state `incomplete`, run state `upload failed`, one warning naming the key and "
        f"`nbwandb sync RUN_DIR`, {f['seconds_refusal_to_warning']} s after the refusal "
        f"(at `finish`, {f['seconds_first_refused_request_to_warning']} s after wandb's first "
        "refused request)"
    )


# (key in the JSON, scenario, test file, figures -> text)
ROWS: list[tuple[str, str, str, Callable[[dict[str, Any]], str]]] = [
    (
        "keyboard_interrupt",
        "KeyboardInterrupt mid-loop (`km.interrupt_kernel()`)",
        "test_kernel_interrupt.py",
        lambda f: (
            f"rows lost **{f['rows_lost']}** of {f['rows_logged_before_interrupt']} logged before it; "
            f"kernel idle after {f['seconds_to_idle_kernel']} s, next cell logging to the same run "
            f"after {f['seconds_to_next_cell_logging']} s"
        ),
    ),
    (
        "keyboard_interrupt_during_init",
        "KeyboardInterrupt during `init`",
        "test_kernel_interrupt.py",
        lambda f: (
            f"{f['inits_interrupted']} of {f['attempts']} inits interrupted; next `init` works after "
            f"{f['seconds_to_working_init']} s; {f['wandb_core_processes']} wandb-core left"
        ),
    ),
    ("kernel_sigkill", "Kernel SIGKILLed 1 s after the last `log()`", "test_kernel_kill.py", _kill),
    (
        "kernel_restart",
        "Kernel > Restart right after a logging cell",
        "test_kernel_kill.py",
        lambda f: (
            f"rows lost **{f['rows_lost']}** of {f['rows_logged']}; run state `{f['state']}` "
            f"(exit code {f['exit_code']}); kernel back after {f['seconds_to_restart']} s"
        ),
    ),
    (
        "kernel_restart_after_finish",
        "Kernel > Restart right after `%wandb_finish` (the finish still in the background)",
        "test_kernel_kill.py",
        lambda f: (
            f"run `{f['state_when_cell_ended']}` when the cell ended; rows lost "
            f"**{f['rows_lost']}** of {f['rows_logged']}; run state `{f['state']}`; "
            f"restart took {f['seconds_to_restart']} s (Jupyter kills at 5 s)"
        ),
    ),
    (
        "script_without_finish",
        "A script that never calls `finish()`",
        "test_kernel_kill.py",
        lambda f: f"rows lost **{f['rows_lost']}** of {f['rows_logged']}; run state `{f['state']}`",
    ),
    (
        "kernel_sigkill_resume",
        'Kernel SIGKILLed mid-training, then `init(resume="auto")` in a new kernel',
        "test_kernel_kill_resume.py",
        lambda f: (
            f"rows kept **{f['rows_kept']}** of {f['rows_logged']} logged before the kill; went on at "
            f"step **{f['start_step']}** (last kept {f['last_kept_step']}), same id, checkpoint of step "
            f"{f['checkpoint_step']} restored in {f['seconds_restore_checkpoint']} s; `init` "
            f"{f['seconds_init']} s, first new row on disk {f['seconds_to_first_row_on_disk']} s after "
            f"calling it; read back: {f['rows_read_back']} rows, one per step, {f['segments']} segments"
        ),
    ),
    (
        "wandb_core_killed",
        "wandb-core SIGKILLed mid-run",
        "test_service_faults.py",
        lambda f: (
            f"next call fails in {f['seconds_to_clear_error']} s with `{f['error'].split(':')[0]}` "
            f"naming wandb-core; new `init` works after {f['seconds_to_working_init']} s"
        ),
    ),
    (
        "rerun_init_cell",
        "A cell re-running `init`",
        "test_service_faults.py",
        lambda f: (
            f"{f['reruns']} runs: {f['active_runs']} active, {f['finished_runs']} finished, "
            f"{f['wandb_core_processes']} wandb-core process; {f['median_seconds_per_rerun']} s per re-run"
        ),
    ),
    (
        "finish_with_stuck_service",
        "`finish()` with wandb-core stopped (SIGSTOP)",
        "test_service_faults.py",
        lambda f: (
            f"`finish(timeout={f['finish_timeout_s']})` returned after {f['seconds_finish_returned']} s "
            f"with a warning; next `init` replaced the stuck service in {f['seconds_to_working_init']} s"
        ),
    ),
    (
        "run_dir_read_only",
        "Read-only run directory",
        "test_run_dir_faults.py",
        lambda f: f"`NbwandbError` at `init` after {f['ms_to_error']} ms",
    ),
    (
        "run_dir_disk_full_tmpfs",
        "Full disk (1 MiB tmpfs)",
        "test_run_dir_faults.py",
        lambda f: f"`NbwandbError` at `init` after {f['ms_to_error']} ms",
    ),
    (
        "run_dir_disk_full_probe",
        "Low free space (patched `shutil.disk_usage`)",
        "test_run_dir_faults.py",
        lambda f: f"`NbwandbError` at `init` after {f['ms_to_error']} ms",
    ),
    (
        "run_dir_disk_fills_during_run",
        "Disk fills up during a run (60 MiB tmpfs)",
        "test_run_dir_faults.py",
        lambda f: (
            'one `NbwandbWarning` at the next flush/finish: "'
            + re.sub(r"holding \S+ is", "holding RUN_DIR is", f["reported"].split(":")[0])
            + ': ..."'
        ),
    ),
    (
        "fuzz_configs",
        "Random configs (`update_config`, `init`)",
        "test_bad_input.py",
        lambda f: f"{_cases(f['update_config'])}; {f['keys_read_back']} accepted keys read back",
    ),
    (
        "fuzz_metric_dicts",
        "Random metric dicts (`log`)",
        "test_bad_input.py",
        lambda f: f"{_cases(f)}; {f['rows_read_back']} accepted rows read back, values equal",
    ),
    (
        "fuzz_media_arrays",
        "Random media (image, histogram, audio, 3D points, table)",
        "test_bad_input.py",
        lambda f: "; ".join(
            f"{k}: {_cases(f[k])}"
            for k in ("images", "histograms", "audio", "point_clouds", "tables")
            if k in f
        ),
    ),
    ("fuzz_sweep_configs", "Random sweep configs", "test_bad_input.py", _cases),
    ("fuzz_magic_arguments", "Random magic lines (`%wandb_*`)", "test_bad_input.py", _cases),
    (
        "secret_env_key",
        "Key in `WANDB_API_KEY`",
        "test_secrets.py",
        lambda f: (
            f"found **{f['leaks']}** times in {f['scanned_files']} files + all outputs and widget state"
        ),
    ),
    (
        "secret_netrc_colab_panel_magic",
        "Keys via netrc, Colab secret, LoginPanel, `%wandb_login KEY`",
        "test_secrets.py",
        lambda f: (
            f"found **{f['leaks']}** times in {f['scanned_files']} files (IPython history db included) "
            f"+ outputs and widget state; netrc mode {f['netrc_mode']}"
        ),
    ),
    (
        "secret_login_argument",
        "Key via `nbwandb.login(key)`",
        "test_secrets.py",
        lambda f: (
            f"found **{f['leaks']}** times in {f['texts_checked']} reprs/messages and the run dir; "
            f"netrc mode {f['netrc_mode']}"
        ),
    ),
    (
        "online_unreachable_host",
        "Credentials, W&B host unreachable (refused, blackholed, DNS, silent, stopped)",
        "online/test_unreachable_host.py",
        _unreachable,
    ),
    (
        "online_server_stopped",
        "Server stopped (SIGSTOP) mid-run, then back",
        "online/test_server_faults.py",
        lambda f: (
            f"`log()` {f['healthy_log_us']} µs healthy vs {f['stalled_log_us']} µs stalled; "
            f"`finish(timeout={f['finish_timeout_s']})` returned after {f['finish_returned_s']} s naming "
            f"`nbwandb sync RUN_DIR`; script exited after {f['script_exit_s']} s; rows on the server after "
            f"`nbwandb sync`: **{f['rows_on_server_after_sync']}** of {f['rows_logged']}"
        ),
    ),
    (
        "online_server_killed",
        "Server SIGKILLed mid-run, restarted on the same data",
        "online/test_server_faults.py",
        lambda f: (
            f"rows on the server: {f['rows_on_server_before_sync']} before, **{f['rows_on_server_after_sync']}**"
            f" of {f['rows_logged']} after `nbwandb sync` over the folder"
        ),
    ),
    (
        "online_kernel_killed",
        "Online kernel SIGKILLed, run file cut mid-record",
        "online/test_server_faults.py",
        lambda f: (
            f"{f['rows_in_file']} of {f['rows_logged']} rows in complete records; **"
            f"{f['rows_on_server_after_sync']}** on the server after `nbwandb sync` (repaired copy)"
        ),
    ),
    *(
        (
            f"online_key_refused_{status}",
            f"Key refused mid-run (the server answers {status} to every request after `init`)",
            "online/test_upload_refused.py",
            _key_refused,
        )
        for status in (401, 403)
    ),
]


def table(figures: dict[str, Any]) -> str:
    lines = ["| Scenario | Measured | Test |", "|---|---|---|"]
    for key, title, test, fmt in ROWS:
        text = fmt(figures[key]) if key in figures else "_not measured in the last run_"
        path = f"tests/{test}" if "/" in test else f"tests/reliability/{test}"
        lines.append(f"| {title} | {text} | `{path}` |")
    stamps = sorted(f["measured_at"] for f in figures.values() if "measured_at" in f)
    if stamps:
        lines.append("")
        lines.append(f"Measured by the suite between {stamps[0]} and {stamps[-1]} (UTC).")
    return "\n".join(lines)


def main() -> int:
    if not FIGURES.exists():
        print(
            f"{FIGURES} does not exist: run `.venv/bin/pytest -q tests/reliability` first",
            file=sys.stderr,
        )
        return 1
    figures = json.loads(FIGURES.read_text())
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        print(f"{DOC} has no {START} ... {END} block", file=sys.stderr)
        return 1
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table(figures)}\n{END}{tail}")
    print(f"updated {DOC.relative_to(REPO)} from {FIGURES.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
