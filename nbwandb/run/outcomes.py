"""What starting and finishing a run did, as values: the front (``init``'s ``quiet``, the
magics, the CLI) decides whether to print them, and their text comes from here only.

``nbwandb.init`` records a ``StartOutcome`` on the run it returns (``run.start_outcome``)
and prints its ``message()`` unless ``quiet=True``; ``run.finish_outcome`` says how the run
ended (``%wandb_finish`` prints its ``message()``). ``nbwandb.local.sync_runs`` returns a
``SyncResult`` per run, which ``nbwandb sync`` prints.

>>> from pathlib import Path
>>> done = FinishOutcome("finished", "k2j4x9qa", "'bright-sun-3' (k2j4x9qa)", mode="offline",
...                      exit_code=0, run_dir=Path("wandb/offline-run-x-k2j4x9qa"),
...                      sync_command="nbwandb sync wandb/offline-run-x-k2j4x9qa")
>>> print(done.message())
nbwandb: finished run 'bright-sun-3' (k2j4x9qa), exit code 0, in wandb/offline-run-x-k2j4x9qa; upload later with `nbwandb sync wandb/offline-run-x-k2j4x9qa`
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nbwandb.run.handle import run_title

StartWhat = Literal["started", "starting", "resumed", "disabled"]
FinishWhat = Literal["finishing", "finished", "failed", "finish-timeout", "not-started"]


@dataclass(frozen=True)
class Resumed:
    """Where a resumed run goes on: its first step, and what its earlier segments hold."""

    start_step: int
    rows: int  # history rows in the earlier segments
    segments: int  # how many earlier segments
    last_state: str  # of the newest earlier segment: "crashed", "failed", ...
    config_changes: tuple[str, ...] = ()  # "lr: 0.1 -> 0.01", ...


@dataclass(frozen=True)
class StartOutcome:
    """What ``nbwandb.init`` did.

    ``what``: "started" (wandb created the run), "starting" (wandb creates it in the
    background, after ``%load_ext nbwandb``), "resumed" (a crashed run goes on; ``resumed``
    says where) or "disabled" (a ``NoOpRun``: nothing is written). ``run_dir`` is None
    while the run starts in the background (``folder`` is the wandb folder it goes into);
    ``sync_command`` uploads an offline run later. ``replaced``: the id of the active run
    this call finished first (a re-run cell). ``notes``: what was said on the way (runs
    passed over by ``resume="auto"``).
    """

    what: StartWhat
    run_id: str | None
    title: str
    mode: str
    reason: str
    url: str | None = None
    run_dir: Path | None = None
    folder: Path | None = None
    sync_command: str | None = None
    resumed: Resumed | None = None
    replaced: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        run: Any,
        *,
        resumed: Resumed | None = None,
        replaced: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> StartOutcome:
        """The outcome of starting ``run`` (a ``Run`` that ``init`` just made)."""
        common: dict[str, Any] = {
            "run_id": run.id,
            "title": run_title(run),
            "mode": run.mode,
            "reason": run.mode_reason,
            "resumed": resumed,
            "replaced": replaced,
            "notes": notes,
        }
        if not run.has_wandb_run:  # wandb names the folder once it has created the run
            start = run._start
            root = start.root
            folder = root / (".wandb" if (root / ".wandb").exists() else "wandb")
            return cls(
                "starting",
                folder=folder,
                sync_command=f"nbwandb sync {folder}/offline-run-*-{run.id}",
                **common,
            )
        what: StartWhat = "resumed" if resumed is not None else "started"
        return cls(
            what,
            url=run.url,
            run_dir=run.run_dir,
            folder=run.run_dir.parent,
            sync_command=run.sync_command,
            **common,
        )

    def lines(self) -> list[str]:
        """What ``init`` prints (unless ``quiet``), one string per line.

        >>> StartOutcome("started", "k2j4x9qa", "k2j4x9qa", "online", "a key was found",
        ...              url="https://wandb.ai/me/demo/runs/k2j4x9qa").lines()
        ['nbwandb: online run k2j4x9qa at https://wandb.ai/me/demo/runs/k2j4x9qa [a key was found]']
        >>> StartOutcome("disabled", None, "None", "disabled", "use_wandb=False").lines()
        []
        """
        out = [f"nbwandb: {note}" for note in self.notes]
        if self.what == "disabled":
            return out
        if self.what == "starting":
            out.append(
                f"nbwandb: {self.mode} run {self.title} starting in {self.folder} [{self.reason}]; "
                f"upload later with `{self.sync_command}`"
            )
        elif self.mode == "online":
            out.append(f"nbwandb: online run {self.title} at {self.url or 'W&B'} [{self.reason}]")
        else:
            out.append(
                f"nbwandb: {self.mode} run {self.title} in {self.run_dir} [{self.reason}]; "
                f"upload later with `{self.sync_command}`"
            )
        if self.resumed is not None:
            r = self.resumed
            line = (
                f"nbwandb: resumed run {self.title} at step {r.start_step}: "
                f"{r.rows} rows in {r.segments} earlier segment{'s' if r.segments != 1 else ''} "
                f"(last one {r.last_state})"
            )
            if r.config_changes:
                line += "; config changed: " + ", ".join(r.config_changes)
            out.append(line)
        return out

    def message(self) -> str:
        """``lines()`` as one text (empty when there is nothing to say)."""
        return "\n".join(self.lines())


@dataclass(frozen=True)
class FinishOutcome:
    """How a run ended, as far as it has: read ``run.finish_outcome`` again after a
    background finish for the final word.

    ``what``: "finishing" (the rest goes on in the background), "finished", "failed"
    (a nonzero exit code, or wandb failed to finish), "finish-timeout" (wandb's service did
    not answer in time; what was written stays in ``run_dir``) or "not-started" (wandb could
    not start the run, so nothing was written). ``upload_complete`` is None offline.
    """

    what: FinishWhat
    run_id: str | None
    title: str
    mode: str = "offline"
    exit_code: int | None = None
    url: str | None = None
    run_dir: Path | None = None
    sync_command: str | None = None
    upload_complete: bool | None = None

    @classmethod
    def of(cls, run: Any) -> FinishOutcome | None:
        """How ``run`` ended; None while it runs."""
        state = run.state
        if state == "running":
            return None
        common: dict[str, Any] = {"run_id": run.id, "title": run_title(run), "mode": run.mode}
        if state == "finishing":
            return cls("finishing", **common)
        if getattr(run, "has_wandb_run", True) is False:
            return cls("not-started", exit_code=run.exit_code, **common)
        what: FinishWhat = state if state in ("failed", "finish-timeout") else "finished"
        return cls(
            what,
            exit_code=run.exit_code,
            url=run.url,
            run_dir=run.run_dir,
            sync_command=run.sync_command,
            upload_complete=getattr(run, "upload_complete", None),
            **common,
        )

    def message(self) -> str:
        """What ``%wandb_finish`` prints.

        >>> FinishOutcome("finishing", "k2j4x9qa", "k2j4x9qa").message()
        'nbwandb: run k2j4x9qa finishing in the background; the next cell can go on'
        >>> FinishOutcome("not-started", "k2j4x9qa", "k2j4x9qa", exit_code=1).message()
        'nbwandb: run k2j4x9qa ended; wandb could not start it, so nothing was written'
        """
        if self.what == "finishing":
            return f"nbwandb: run {self.title} finishing in the background; the next cell can go on"
        if self.what == "not-started":
            return f"nbwandb: run {self.run_id} ended; wandb could not start it, so nothing was written"
        where = self.url or self.run_dir
        text = f"nbwandb: finished run {self.title}, exit code {self.exit_code}, " + (
            f"in {where}" if where is not None else "nothing was written"
        )
        if self.sync_command:
            text += f"; upload later with `{self.sync_command}`"
        return text


__all__ = ["FinishOutcome", "Resumed", "StartOutcome"]
