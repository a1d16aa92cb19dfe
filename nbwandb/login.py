"""``nbwandb.login``: find or store a key, never prompt, never echo it.

>>> result = login()          # doctest: +SKIP
>>> result.source, result.mode   # e.g. ("netrc", "online") or (None, "offline")
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from .credentials import _Secret, find_key, key_problem, resolve_host, write_netrc
from .errors import LoginError


@dataclass(frozen=True)
class LoginResult:
    """What ``login`` found. It never holds the key.

    ``source`` is where the key came from ("argument", "env", "colab", "netrc") or None;
    ``mode`` is the mode ``init(mode="auto")`` will choose; ``verified`` is True/False
    after a server check, None when none was made.
    """

    logged_in: bool
    source: str | None
    host: str
    mode: str
    verified: bool | None
    message: str
    stored_in: str | None = None

    def __str__(self) -> str:
        return self.message


def verify_key(secret: _Secret, host: str, timeout: float) -> tuple[bool | None, str]:
    """Ask the server who owns the key; (True, user), (False, why) or (None, why) on no answer."""
    token = base64.b64encode(f"api:{secret.reveal()}".encode()).decode()
    body = json.dumps({"query": "query { viewer { username } }"}).encode()
    req = urllib.request.Request(
        f"{host}/graphql",
        data=body,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return False, "the server rejected the key (check it at https://wandb.ai/authorize)"
        return None, f"the server answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, f"could not reach {host} ({type(exc).__name__})"
    viewer = (payload.get("data") or {}).get("viewer")
    if not viewer:
        return False, "the server did not accept the key"
    return True, str(viewer.get("username") or "")


def _verify_with_deadline(secret: _Secret, host: str, timeout: float) -> tuple[bool | None, str]:
    # A daemon thread: a dead network must never keep the kernel waiting past `timeout`.
    box: list[tuple[bool | None, str]] = []
    worker = threading.Thread(target=lambda: box.append(verify_key(secret, host, timeout)), daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return box[0] if box else (None, f"no answer from {host} within {timeout:g}s")


def login(
    key: str | None = None,
    *,
    host: str | None = None,
    relogin: bool = False,
    verify: bool = False,
    timeout: float = 10.0,
) -> LoginResult:
    """Find (or store) W&B credentials without prompting; returns a LoginResult.

    With ``key``, its form is checked and it is written to netrc (mode 0600), as wandb
    does. Without it, the key is looked up in ``WANDB_API_KEY``, Colab's secrets and
    netrc. ``verify=True`` asks the server, giving up after ``timeout`` seconds.
    With nothing found, the result says runs will be offline.
    """
    host = resolve_host(host)
    if key is not None:
        problem = key_problem(key)
        if problem:
            raise LoginError(f"login: {problem}. Nothing was stored.")
    info, secret = find_key(host, key)
    if secret is None:
        return LoginResult(
            logged_in=False,
            source=None,
            host=host,
            mode="offline",
            verified=None,
            message=(
                "No W&B credentials found (WANDB_API_KEY, Colab secret WANDB_API_KEY, netrc): "
                "runs will be offline; `wandb sync` uploads them later."
            ),
        )
    problem = key_problem(secret.reveal())
    if problem:
        raise LoginError(f"login: the key from {info.source} is malformed: {problem}.")
    verified: bool | None = None
    detail = ""
    if verify:
        verified, detail = _verify_with_deadline(secret, host, timeout)
        if verified is False:
            raise LoginError(f"login: {detail}. Nothing was stored.")
    stored = None
    if info.source == "argument" or (relogin and info.source != "netrc"):
        stored = str(write_netrc(host, secret))
    where = {"argument": "the key you passed", "env": "WANDB_API_KEY", "colab": "Colab secret WANDB_API_KEY", "netrc": "netrc"}[info.source or "netrc"]
    msg = f"W&B credentials from {where} for {host}"
    if verified:
        msg += f" (verified{': ' + detail if detail else ''})"
    elif verify:
        msg += f" (not verified: {detail})"
    if stored:
        msg += f"; stored in {stored}"
    return LoginResult(True, info.source, host, "online", verified, msg + ".", stored)
