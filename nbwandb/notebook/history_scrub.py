"""Removing secrets from IPython's input history (memory, pending cache and sqlite database).

A key typed on a magic line is already in the history when the magic runs: IPython
stores each cell before executing it. ``scrub_history`` replaces the secret in every
place IPython keeps inputs for this session: ``In``/``_ih``, ``_i``/``_ii``/``_iii``/``_iN``,
the cache that waits to be written, and rows already written to ``history.sqlite``.

>>> scrub_text("%wandb_login abc123", ["abc123"])
'%wandb_login <removed>'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

REPLACEMENT = "<removed>"
# Shorter tokens are removed from the current cell only: replacing a 3-letter word in
# every past cell would damage unrelated history.
GLOBAL_MIN_LENGTH = 8


def scrub_text(text: Any, secrets: Sequence[str]) -> Any:
    if not isinstance(text, str):
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, REPLACEMENT)
    return text


def _contains(text: Any, secrets: Sequence[str]) -> bool:
    return isinstance(text, str) and any(s and s in text for s in secrets)


def scrub_history(shell: Any, secrets: Iterable[str], line_num: int | None = None) -> int:
    """Replace ``secrets`` in this session's history; returns how many entries changed.

    ``line_num`` (default: the cell now running) is scrubbed of every secret; other
    entries only of secrets at least ``GLOBAL_MIN_LENGTH`` long.
    """
    all_secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not all_secrets:
        return 0
    long_secrets = [s for s in all_secrets if len(s) >= GLOBAL_MIN_LENGTH]
    if line_num is None:
        line_num = getattr(shell, "execution_count", None)

    def pick(line: int | None) -> list[str]:
        return all_secrets if line == line_num else long_secrets

    changed = 0
    hm = getattr(shell, "history_manager", None)
    if hm is None:
        return 0
    for hist in (hm.input_hist_parsed, hm.input_hist_raw):
        for index, entry in enumerate(hist):
            secrets_here = pick(index)
            if _contains(entry, secrets_here):
                hist[index] = scrub_text(entry, secrets_here)
                changed += 1
    for attr in ("_i00", "_i", "_ii", "_iii"):
        value = getattr(hm, attr, None)
        if _contains(value, all_secrets):
            setattr(hm, attr, scrub_text(value, all_secrets))
    user_ns = getattr(shell, "user_ns", {})
    for name in [
        n
        for n in list(user_ns)
        if n in ("_i", "_ii", "_iii") or (n.startswith("_i") and n[2:].isdigit())
    ]:
        value = user_ns[name]
        secrets_here = pick(int(name[2:])) if name[2:].isdigit() else all_secrets
        if _contains(value, secrets_here):
            user_ns[name] = scrub_text(value, secrets_here)
    # The cache and the database are also touched by IPython's history-saving thread:
    # hold its lock so a write cannot slip in between.
    with hm.db_input_cache_lock:
        cache = hm.db_input_cache
        for index, (line, source, source_raw) in enumerate(list(cache)):
            secrets_here = pick(line)
            if _contains(source, secrets_here) or _contains(source_raw, secrets_here):
                cache[index] = (
                    line,
                    scrub_text(source, secrets_here),
                    scrub_text(source_raw, secrets_here),
                )
                changed += 1
        changed += _scrub_database(hm, pick)
    return changed


def _scrub_database(hm: Any, pick: Any) -> int:
    db = getattr(hm, "db", None)
    session = getattr(hm, "session_number", None)
    if db is None or not hasattr(db, "execute") or not session:
        return 0
    changed = 0
    try:
        rows = db.execute(
            "SELECT line, source, source_raw FROM history WHERE session=?", (session,)
        ).fetchall()
        updates = []
        for line, source, source_raw in rows:
            secrets_here = pick(line)
            if _contains(source, secrets_here) or _contains(source_raw, secrets_here):
                updates.append(
                    (
                        scrub_text(source, secrets_here),
                        scrub_text(source_raw, secrets_here),
                        session,
                        line,
                    )
                )
        if updates:
            with db:
                db.executemany(
                    "UPDATE history SET source=?, source_raw=? WHERE session=? AND line=?", updates
                )
            changed = len(updates)
    except Exception:  # noqa: BLE001 - no database (history disabled, DummyDB): nothing stored there
        return 0
    return changed
