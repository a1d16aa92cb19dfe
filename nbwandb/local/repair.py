"""A copy of a run folder that ``wandb sync`` can upload whole.

Two things in a ``.wandb`` file make ``wandb sync`` fail or stop early:

- a record cut off by a killed kernel ("transactionlog: error getting next record: EOF");
- a second exit record, written when wandb's exit hook finished a run whose first
  ``finish`` was still waiting on a server that did not answer ("ERROR No response.").

``check_run_file`` finds both; ``write_repaired_copy`` writes a copy of the folder whose
run file holds every complete record once (and one exit record), framed as wandb-core
frames it. The original folder is never changed.

>>> check = check_run_file(run_dir)
>>> check.needs_repair, check.history_rows, check.exit_records
(False, 20, 1)
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbwandb.local.reader import resolve_run_file
from nbwandb.wandb_compat.logfile import LogReader, frame_records
from nbwandb.wandb_compat.protobufs import record_module

READ_WINDOW = 8 * 1024 * 1024


@dataclass(frozen=True)
class RunFileCheck:
    """What ``check_run_file`` found in one run file."""

    run_file: Path
    records: int
    history_rows: int
    exit_records: int
    cut: bool
    cut_reason: str = ""
    drop: frozenset[int] = field(default_factory=frozenset)  # record indexes a repair leaves out

    @property
    def needs_repair(self) -> bool:
        return self.cut or bool(self.drop)

    def describe(self) -> str:
        parts = []
        if self.cut:
            parts.append(f"the last record is cut off ({self.cut_reason})")
        if self.exit_records > 1:
            parts.append(f"{self.exit_records} exit records")
        return "; ".join(parts) or "intact"


def _payloads(run_file: Path) -> tuple[list[bytes], LogReader]:
    reader = LogReader(run_file)
    payloads: list[bytes] = []
    while True:
        payloads += reader.read_available(max_bytes=READ_WINDOW)
        if not reader.more:
            return payloads, reader


def check_run_file(run_dir: str | os.PathLike[str]) -> RunFileCheck:
    """Read the run file of ``run_dir`` and say whether ``wandb sync`` needs a repaired copy."""
    _, run_file = resolve_run_file(Path(run_dir))
    pb = record_module()
    payloads, reader = _payloads(run_file)
    history = exits = 0
    drop: set[int] = set()
    for index, payload in enumerate(payloads):
        kind = pb.Record.FromString(payload).WhichOneof("record_type")
        if kind == "history":
            history += 1
        elif kind == "exit":
            exits += 1
            if exits > 1:
                drop.add(index)
    return RunFileCheck(
        run_file,
        len(payloads),
        history,
        exits,
        reader.truncated,
        reader.corrupt_reason,
        frozenset(drop),
    )


def write_repaired_copy(
    run_dir: str | os.PathLike[str],
    dest_root: str | os.PathLike[str],
    check: RunFileCheck | None = None,
) -> Path:
    """Copy ``run_dir`` under ``dest_root`` (same folder name) with a repaired run file; return the copy.

    Media and other files are hard-linked where the file system allows (no second copy
    of a large run), else copied.
    """
    source = Path(run_dir)
    check = check or check_run_file(source)
    target = Path(dest_root) / source.name
    if target.exists():
        shutil.rmtree(target)

    def link_or_copy(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
            return dst
        except OSError:
            return shutil.copy2(src, dst)

    ignore = shutil.ignore_patterns("*.wandb", "*.wandb.synced", "nbwandb-upload.json", "*.tmp-*")
    shutil.copytree(source, target, copy_function=link_or_copy, ignore=ignore, symlinks=True)
    payloads, _ = _payloads(check.run_file)
    kept = [p for i, p in enumerate(payloads) if i not in check.drop]
    (target / check.run_file.name).write_bytes(frame_records(kept))
    return target
