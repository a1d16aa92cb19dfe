"""Cross-checks with ``wandb leet inspect``, wandb's own independent reader of run files.

wandb before 0.29 has no ``leet`` command. The Colab stand-in (wandb 0.28.1) cross-checks
with the main venv's wandb instead: ``make test-colab`` names it in ``NBWANDB_LEET_CLI``. A
newer leet reading an older wandb's file is the stronger check anyway: the file format is
wandb's contract across versions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

WANDB_CLI = os.environ.get("NBWANDB_LEET_CLI") or str(Path(sys.executable).with_name("wandb"))


def leet_summary(run_dir: str | Path) -> dict[str, Any]:
    """``wandb leet inspect --summary --json RUN_DIR`` as a dict."""
    out = subprocess.run(
        [WANDB_CLI, "leet", "inspect", "--summary", "--json", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def leet_records(run_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Every record of the run's ``.wandb`` file (optionally of one type), as leet prints them."""
    out = subprocess.run(
        [WANDB_CLI, "leet", "inspect", "--json", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return [r for r in records if kind is None or r.get("type") == kind]


def leet_history(run_dir: str | Path) -> list[dict[str, Any]]:
    return [r["history"]["item"] for r in leet_records(run_dir, "history")]
