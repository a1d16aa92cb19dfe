"""Finding a W&B API key without ever showing it.

The order is the one wandb users expect: an explicit key, ``WANDB_API_KEY``,
Colab's secret store (``google.colab.userdata``), then netrc. Nothing here
prompts, and nothing returns the key in a public object.

>>> find_credentials().source in {None, "env", "colab", "netrc"}
True
"""

from __future__ import annotations

import netrc
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_HOST = "https://api.wandb.ai"

_JWT = re.compile(r"[\w-]+\.[\w-]+\.[\w-]+")


@dataclass(frozen=True)
class CredentialInfo:
    """Where a key was found (``source``) and for which host; never the key itself."""

    source: str | None  # "argument", "env", "colab", "netrc" or None
    host: str

    @property
    def found(self) -> bool:
        return self.source is not None


class Secret:
    """Holds a key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret hidden>"

    __str__ = __repr__


def resolve_host(host: str | None = None) -> str:
    """The API host: the argument, ``WANDB_BASE_URL``, or W&B's cloud."""
    value = host or os.environ.get("WANDB_BASE_URL") or DEFAULT_HOST
    if "://" not in value:
        value = "https://" + value
    return value.rstrip("/")


def netrc_path() -> Path:
    """The netrc file wandb reads and writes (``NETRC`` overrides ``~/.netrc``)."""
    env = os.environ.get("NETRC")
    return Path(env).expanduser() if env else Path.home() / ".netrc"


def key_problem(key: str) -> str | None:
    """Describe what is wrong with the key's form, or None; the message never contains the key.

    Mirrors wandb's own rule: 40+ word characters after an optional ``prefix-``.
    """
    if not isinstance(key, str):
        return f"the API key must be a string, got {type(key).__name__}"
    key = key.strip()
    if not key:
        return "the API key is empty"
    if _JWT.fullmatch(key):
        return None
    secret = key.split("-", 1)[-1]
    if not re.fullmatch(r"[\w-]+", secret):
        return "the API key may only contain letters, digits, '_' and '-' (is there a space or quote in it?)"
    if len(secret) < 40:
        return f"the API key is too short ({len(secret)} characters; W&B keys have 40 or more)"
    return None


def _colab_key() -> str | None:
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return userdata.get("WANDB_API_KEY") or None
    except Exception:
        # Missing secret or notebook access not granted: not an error, just no key.
        return None


def _netrc_key(host: str) -> str | None:
    path = netrc_path()
    if not path.exists():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(urlparse(host).hostname or host)
    except (netrc.NetrcParseError, OSError):
        return None
    return entry[2] if entry and entry[2] else None


def find_key(
    host: str | None = None, key: str | None = None
) -> tuple[CredentialInfo, Secret | None]:
    """Find a key in the documented order; returns (info, secret) where secret may be None."""
    host = resolve_host(host)
    candidates = (
        ("argument", lambda: key),
        ("env", lambda: os.environ.get("WANDB_API_KEY") or None),
        ("colab", _colab_key),
        ("netrc", lambda: _netrc_key(host)),
    )
    for source, get in candidates:
        value = get()
        if value:
            return CredentialInfo(source, host), Secret(value.strip())
    return CredentialInfo(None, host), None


def find_credentials(host: str | None = None) -> CredentialInfo:
    """Where wandb would find a key (env, Colab secret, netrc), without the key."""
    return find_key(host)[0]


def write_netrc(host: str, secret: Secret) -> Path:
    """Store the key where wandb would: netrc, mode 0600, replacing this host's entry."""
    path = netrc_path()
    machine = urlparse(host).hostname or host
    lines: list[str] = []
    if path.exists():
        # Drop this machine's old entry (netrc entries span one or more lines).
        skipping = False
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("machine "):
                skipping = stripped.split()[1] == machine
            if not skipping:
                lines.append(line)
    lines += [f"machine {machine}", "  login user", f"  password {secret.reveal()}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path
