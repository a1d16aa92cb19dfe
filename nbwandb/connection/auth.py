"""``nbwandb.login`` (this module is ``nbwandb.connection.auth``): find or store a key, never prompt, never echo it.

>>> result = login()             # nothing found here: no env key, no netrc
>>> result.source, result.mode   # ("netrc", "online") where a key is found
(None, 'offline')
"""

from __future__ import annotations

from dataclasses import dataclass

from nbwandb.connection.credentials import Secret, find_key, key_problem, resolve_host, write_netrc
from nbwandb.connection.network import AUTO_TIMEOUT, probe_host
from nbwandb.errors import LoginError


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


def verify_key(secret: Secret, host: str, timeout: float) -> tuple[bool | None, str]:
    """Ask the server who owns the key; (True, user), (False, why) or (None, why) on no answer.

    Bounded: the probe runs in a daemon thread and gives up after ``timeout`` seconds.
    """
    probe = probe_host(host, secret, timeout=timeout)
    if probe.kind == "ok":
        return True, probe.user
    if probe.kind == "rejected":
        return False, "the server rejected the key (check it at https://wandb.ai/authorize)"
    if probe.kind == "http-error":
        return None, f"the server answered {probe.detail}"
    return None, probe.describe()


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

    Raises:
        LoginError: ``key`` (or the key found) is malformed, or the server refused it
            (``verify=True``); the key is never in the message. An unreachable host is not
            an error: the result says runs fall back to offline.
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
                "runs will be offline; `nbwandb sync` uploads them later."
            ),
        )
    problem = key_problem(secret.reveal())
    if problem:
        raise LoginError(f"login: the key from {info.source} is malformed: {problem}.")
    verified: bool | None = None
    detail = ""
    if verify:
        verified, detail = verify_key(secret, host, timeout)
        if verified is False:
            raise LoginError(f"login: {detail}. Nothing was stored.")
    stored = None
    if info.source == "argument" or (relogin and info.source != "netrc"):
        stored = str(write_netrc(host, secret))
    where = {
        "argument": "the key you passed",
        "env": "WANDB_API_KEY",
        "colab": "Colab secret WANDB_API_KEY",
        "netrc": "netrc",
    }[info.source or "netrc"]
    msg = f"W&B credentials from {where} for {host}"
    if verified:
        msg += f" (verified{': ' + detail if detail else ''})"
    if stored:
        msg += f"; stored in {stored}"
    if verify and verified is None:
        # Say what happens next: init will not hang on this host, it falls back.
        msg += (
            f"{',' if stored else ';'} not verified ({detail}): runs try online and fall back to "
            f"offline within {AUTO_TIMEOUT:g}s while the host does not answer"
        )
    return LoginResult(True, info.source, host, "online", verified, msg + ".", stored)
