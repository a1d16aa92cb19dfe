"""Did an online run really reach the server? "complete" only when wandb-core says nothing failed.

wandb's ``finish`` returns normally after wandb-core gave up uploading (a 401 or 403 from
a revoked key, a refused file): it keeps writing the run to disk only. So a normal return
is not enough. ``watch`` starts listening to wandb-core's run messages when the run is
bound; ``settle`` (after wandb's finish returned) reads them and wandb-core's debug log
(``nbwandb.wandb_compat.upload_signals``) and marks ``nbwandb-upload.json`` "complete" or
"incomplete"; ``report`` says it to the user once, in nbwandb's words, with the command
that finishes the upload, and shows "upload failed" as the run's state.

>>> outcome = UploadOutcome(False, parts=("stream",), status=401, key_refused=True)
>>> print(outcome.why())
the server refused the API key (HTTP 401), so wandb stopped uploading the run's rows, summary and console
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbWarning
from nbwandb.run.upload_state import mark as mark_upload

# The run's state: it finished, its upload did not (as panels show it).
UPLOAD_FAILED = "upload failed"

_PART_TEXT = {
    "stream": "the run's rows, summary and console",
    "run": "the run's config and state",
    "file": "some of the run's files",
    "other": "some of the run's data",
}


@dataclass(frozen=True)
class UploadWatch:
    """Started with a run: when its messages begin (``since``), and whether they can be heard."""

    since: float
    messages: bool


@dataclass(frozen=True)
class UploadOutcome:
    """What reached the server. ``source`` names the signals it was judged on."""

    complete: bool
    parts: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    status: int | None = None
    key_refused: bool = False
    source: str = ""
    unconfirmed: bool = False  # no signal could vouch for the upload: not called complete

    def why(self) -> str:
        """One clause: why the upload stopped, and what of the run did not go up."""
        if self.unconfirmed:
            return "nbwandb could not confirm that wandb uploaded every part of it"
        what = ", ".join(_PART_TEXT[p] for p in self.parts if p != "file")
        if self.files:
            shown = ", ".join(self.files[:5]) + (", ..." if len(self.files) > 5 else "")
            what = ", ".join(x for x in (what, f"{len(self.files)} file(s) ({shown})") if x)
        what = what or "some of the run's data"
        code = f" (HTTP {self.status})" if self.status else ""
        if self.key_refused:
            return f"the server refused the API key{code}, so wandb stopped uploading {what}"
        if self.status:
            return f"the server refused an upload{code}, so wandb did not upload {what}"
        return f"wandb-core reported a fatal upload error, so it did not upload {what}"


def watch(wandb_run: Any) -> UploadWatch:
    """Start listening to wandb-core's messages about ``wandb_run``'s upload (online runs)."""
    from nbwandb.wandb_compat.upload_signals import install_message_tap

    return UploadWatch(time.time(), install_message_tap())


def judge(wandb_run: Any, run_dir: Path, watched: UploadWatch | None) -> UploadOutcome:
    """What wandb-core's signals say about the upload, once wandb's ``finish`` has returned."""
    from nbwandb.wandb_compat import upload_signals as sig

    heard = watched is not None and watched.messages
    fatal = (
        sig.fatal_upload_message(sig.messages_since(watched.since)) if watched and heard else None
    )
    errors = sig.upload_errors(sig.debug_log_path(wandb_run, run_dir))
    sources = [s for s, used in (("run messages", heard), ("debug log", errors)) if used]
    source = "wandb-core's " + " and ".join(sources) if sources else "none"
    if errors is None:
        # A refused file upload or run update shows nowhere else: without the log nothing
        # confirms them, so the run is not called complete (a sync re-sends it, harmlessly).
        stream = ("stream",) if fatal else ()
        return UploadOutcome(False, stream, source=source, unconfirmed=not fatal)
    parts = set(errors.parts) | ({"stream"} if fatal else set())
    if not parts:
        return UploadOutcome(True, source=source)
    statuses = [status for status, _ in errors.refusals]
    # A refused key: any 401, or a 403 from the API itself (not from a file's storage URL).
    key_refused = 401 in statuses or any(
        status == 403 and not errors.files for status, _ in errors.refusals
    )
    status = 401 if 401 in statuses else (statuses[0] if statuses else None)
    return UploadOutcome(
        False,
        tuple(sorted(parts)),
        tuple(errors.files),
        status,
        key_refused,
        source,
    )


def settle(run: Any) -> UploadOutcome:
    """Judge ``run``'s upload after wandb's finish and write it to ``nbwandb-upload.json``."""
    outcome = judge(run.wandb_run, run.run_dir, getattr(run, "_upload_watch", None))
    if outcome.complete:
        mark_upload(run.run_dir, "complete", detail=f"judged on {outcome.source}")
    else:
        mark_upload(run.run_dir, "incomplete", detail=outcome.why())
    run.upload_complete = outcome.complete
    return outcome


def report(run: Any, outcome: UploadOutcome | None, *, stacklevel: int) -> None:
    """Tell the user once that the upload stopped (and why); the run's state says so too."""
    if outcome is None or outcome.complete:
        return
    if run.state == "finished":
        run.state = UPLOAD_FAILED
    login = (
        " Log in again with `%wandb_login` (in a script: `nbwandb.login()` or `wandb login`),"
        " then run"
        if outcome.key_refused
        else " Once that is fixed, run"
    )
    warnings.warn(
        f"run {run.id}: the upload to {run.host or 'W&B'} stopped: {outcome.why()}. Every row "
        f"is saved in {run.run_dir}.{login} `nbwandb sync {run.run_dir}` to finish the upload.",
        NbwandbWarning,
        stacklevel=stacklevel + 1,
    )
