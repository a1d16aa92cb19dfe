"""What wandb-core says about an online run's upload: its run messages and its debug log.

wandb-core gives up for good on a 400/401/403/404/409/410 answer, writes the rest of the
run to disk only, and its ``finish`` returns normally. Two things say so:

- **run messages** (``run_messages``): wandb-core sends the run's warnings to the SDK
  (``InternalMessagesResponse``), and ``wandb.sdk.lib.run_messages`` prints them with
  ``term.termwarn``, "Fatal error while uploading data ..." among them. nbwandb sets
  wandb's ``silent``, which drops them, so ``install_message_tap`` puts a forwarding tap
  in front of that module's ``term``: every message is kept (and still printed where
  wandb would print it). Same module on wandb 0.28.1 and 0.31.
- **the debug log** (``core_debug_log``): ``logs/debug-internal.log`` in the run folder,
  JSON lines written by wandb-core. On 0.28.1 and 0.31 a refused *file* upload and a
  refused run update reach no run message and no poll-exit statistic (``pusher_stats``
  counts the refused bytes as uploaded), so this log is the only place that has them.
  Read last, and only its JSON records, never free text.

>>> install_message_tap()          # True where wandb prints run messages through term
True
>>> upload_errors(Path("run-x") / DEBUG_LOG) is None   # no log: nothing can be confirmed
True
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbwandb.wandb_compat.registry import available, capability

RUN_MESSAGES = "wandb.sdk.lib.run_messages"
DEBUG_LOG = Path("logs") / "debug-internal.log"
FATAL_UPLOAD = "Fatal error while uploading"  # the run message of a stopped upload
# wandb-core's debug-log records (their "msg") that mean: this part is not on the server.
FAILED_PARTS = {
    "filestream: fatal error": "stream",
    "file transfer: upload: failed to upload": "file",
    "runupserter: failed to upload changes": "run",
    "sender: failed to upload run config": "run",
    "sender: uploadConfigFile": "run",
}
REFUSED = (400, 401, 403, 404, 409, 410)  # the answers wandb-core does not retry
MAX_LOG_BYTES = 64 * 1024 * 1024  # a debug log bigger than this is read from its end


@capability(
    "run_messages",
    needs=f"{RUN_MESSAGES}: wandb-core's run messages printed with its module-level "
    "term.termwarn (wandb.sdk.lib.run_messages._RunMessagesImpl)",
    fallback="wandb-core's debug log (core_debug_log) is read for a stopped file stream",
)
def _has_run_messages() -> bool:
    import importlib
    import inspect

    module = importlib.import_module(RUN_MESSAGES)
    impl = module._RunMessagesImpl
    return hasattr(module, "term") and "term.termwarn(" in inspect.getsource(impl)


@capability(
    "core_debug_log",
    needs="logs/debug-internal.log in the run folder, JSON records with level/msg "
    "(wandb-core's slog output)",
    fallback="no view of refused file uploads or run updates: an online run's upload is "
    "marked incomplete (never complete without confirmation), and nbwandb sync re-sends it",
)
def _has_core_debug_log() -> bool:
    from wandb import Settings

    # a computed setting (a property of Settings): where wandb-core writes the run's log
    return isinstance(getattr(Settings, "log_internal", None), property)


# -- run messages -----------------------------------------------------------------------------
_messages: deque[tuple[float, str]] = deque(maxlen=500)
_tap_lock = threading.Lock()


class _TermTap:
    """Stands in for ``wandb.errors.term`` inside ``run_messages``: keeps each warning, then forwards."""

    def __init__(self, term: Any) -> None:
        self._term = term

    def __getattr__(self, name: str) -> Any:
        return getattr(self._term, name)

    def termwarn(self, string: str, *args: Any, **kwargs: Any) -> None:
        _messages.append((time.time(), str(string)))
        self._term.termwarn(string, *args, **kwargs)


def install_message_tap() -> bool:
    """Keep wandb-core's run messages from now on (once per process); False without them."""
    if not available("run_messages"):
        return False
    import importlib

    module: Any = importlib.import_module(RUN_MESSAGES)
    with _tap_lock:
        if not isinstance(module.term, _TermTap):
            module.term = _TermTap(module.term)
    return True


def messages_since(since: float) -> list[str]:
    """The run messages wandb-core sent at or after ``since`` (``time.time()``)."""
    return [text for at, text in list(_messages) if at >= since]


def fatal_upload_message(messages: list[str]) -> str | None:
    """The message that says wandb-core stopped uploading, if one is among ``messages``."""
    return next((m for m in messages if FATAL_UPLOAD in m), None)


# -- the debug log ----------------------------------------------------------------------------
@dataclass
class UploadErrors:
    """What wandb-core's debug log says did not reach the server.

    ``parts``: "stream" (rows, summary, console), "file", "run" (config, run updates),
    "other" (another fatal error of wandb-core);
    ``files``: names of refused files; ``refusals``: ``(status, path)`` of each
    answer wandb-core does not retry.
    """

    parts: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    refusals: list[tuple[int, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.parts)


_TASK_NAME = re.compile(r"\bName: ([^,]+),")


def debug_log_path(wandb_run: Any, run_dir: Path) -> Path:
    """The run's wandb-core debug log (its setting where wandb has one, else the usual place)."""
    configured = getattr(getattr(wandb_run, "settings", None), "log_internal", None)
    return Path(configured) if configured else run_dir / DEBUG_LOG


def upload_errors(path: Path) -> UploadErrors | None:
    """The upload failures recorded in wandb-core's debug log at ``path``.

    None when it cannot tell: the capability is off, the log is missing, or none of its
    lines is a wandb-core JSON record (a format this code does not know).
    """
    if not available("core_debug_log"):
        return None
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - MAX_LOG_BYTES))
            raw = fh.read()
    except OSError:
        return None
    found = UploadErrors()
    known = False
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or "msg" not in entry or "level" not in entry:
            continue
        known = True
        if not str(entry["level"]).startswith("ERROR"):
            continue
        msg = str(entry["msg"])
        status = entry.get("status")
        if msg == "api: HTTP error" and isinstance(status, int) and status in REFUSED:
            url = str(entry.get("url", ""))
            found.refusals.append((status, "/" + url.split("://", 1)[-1].partition("/")[2]))
        for prefix, part in FAILED_PARTS.items():
            if msg.startswith(prefix):
                found.parts.add(part)
                name = _TASK_NAME.search(str(entry.get("task", "")))
                if part == "file" and name and name.group(1) not in found.files:
                    found.files.append(name.group(1))
        if str(entry["level"]).startswith("ERROR+"):  # wandb-core's fatal level: something stopped
            found.parts.add("stream" if "filestream" in msg else "other")
    return found if known else None
