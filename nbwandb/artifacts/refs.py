"""Checking artifact names, types, aliases and references before anything is written.

W&B rejects some of these only on the server, long after an offline run was
recorded (at ``wandb sync`` time); checking them here makes the error appear at
the call, with the value that was wrong and what is accepted.

>>> parse_ref("my-team/vision/flowers:v3")
ArtifactRef(entity='my-team', project='vision', name='flowers', alias='v3')
>>> check_name("model/best")
Traceback (most recent call last):
...
nbwandb.errors.ArtifactInputError: artifact name 'model/best' is not accepted: ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nbwandb.errors import ArtifactInputError

MAX_LEN = 128
# The W&B server accepts these characters in artifact names (the client only checks "/").
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
# Entity and project names: W&B forbids characters that break URLs.
_URL_FORBIDDEN = set("/\\#?%:\r\n ")
_VERSION = re.compile(r"^v\d+$")
REF_FORMS = "'name', 'name:alias', 'project/name:alias' or 'entity/project/name:alias'"


@dataclass(frozen=True)
class ArtifactRef:
    """A parsed reference to a W&B artifact: ``[entity/][project/]name[:alias]``."""

    entity: str | None
    project: str | None
    name: str
    alias: str | None

    def __str__(self) -> str:
        prefix = "/".join(p for p in (self.entity, self.project) if p)
        text = f"{prefix}/{self.name}" if prefix else self.name
        return f"{text}:{self.alias}" if self.alias else text


def check_name(name: object, what: str = "artifact name") -> str:
    """Return ``name`` if W&B accepts it as an artifact name, else raise ArtifactInputError."""
    if not isinstance(name, str):
        raise ArtifactInputError(f"{what} {name!r} is a {type(name).__name__}; pass a string")
    if not name or len(name) > MAX_LEN or not _NAME.match(name):
        raise ArtifactInputError(
            f"{what} {name!r} is not accepted: use 1-{MAX_LEN} letters, digits, '-', '_' or '.'"
        )
    return name


def _check_label(value: object, what: str, example: str) -> str:
    """A non-empty string of at most MAX_LEN characters without '/' or ':' (types, aliases)."""
    if not isinstance(value, str) or not value:
        raise ArtifactInputError(
            f"{what} {value!r} is not accepted; pass a non-empty string such as {example!r}"
        )
    if len(value) > MAX_LEN or set(value) & {"/", ":"}:
        raise ArtifactInputError(
            f"{what} {value!r} is not accepted: at most {MAX_LEN} characters, without '/' or ':'"
        )
    return value


def check_type(kind: object) -> str:
    """Return ``kind`` if W&B accepts it as an artifact type ("model", "dataset", ...)."""
    kind = _check_label(kind, "artifact type", "model")
    if kind.startswith("wandb-"):
        raise ArtifactInputError(
            f"artifact type {kind!r} is not accepted: the 'wandb-' prefix is reserved by W&B"
        )
    return kind


def check_alias(alias: object) -> str:
    """Return ``alias`` if W&B accepts it as a user alias ("best", "epoch-10", ...)."""
    alias = _check_label(alias, "alias", "best")
    if _VERSION.match(alias):
        # W&B numbers versions itself (v0, v1, ...); a user alias of that form is refused at upload.
        raise ArtifactInputError(
            f"alias {alias!r} is not accepted: 'v<N>' is reserved for W&B's version numbers"
        )
    return alias


def check_aliases(aliases: Iterable[str] | str | None) -> tuple[str, ...]:
    """Aliases as a tuple without duplicates (a single string is one alias, not letters)."""
    if aliases is None:
        return ()
    if isinstance(aliases, str):
        aliases = (aliases,)
    out: list[str] = []
    for alias in aliases:
        if check_alias(alias) not in out:
            out.append(alias)
    return tuple(out)


def parse_ref(ref: object) -> ArtifactRef:
    """Parse ``[entity/][project/]name[:alias]``; raise ArtifactInputError naming what is wrong."""
    if not isinstance(ref, str):
        raise ArtifactInputError(
            f"artifact reference {ref!r} is a {type(ref).__name__}; pass a string: {REF_FORMS}"
        )
    text = ref.strip()
    bad = f"artifact reference {ref!r} is malformed"
    if not text:
        raise ArtifactInputError(f"{bad}: it is empty; use {REF_FORMS}")
    path, sep, alias = text.partition(":")
    if sep and not alias:
        raise ArtifactInputError(
            f"{bad}: nothing after ':'; use e.g. 'flowers:latest' or 'flowers:v3'"
        )
    if ":" in alias or "/" in alias:
        raise ArtifactInputError(f"{bad}: the alias {alias!r} contains ':' or '/'; use {REF_FORMS}")
    parts = path.split("/")
    if len(parts) > 3:
        raise ArtifactInputError(
            f"{bad}: {len(parts)} '/'-separated parts (at most 3); use {REF_FORMS}"
        )
    if any(not p for p in parts):
        raise ArtifactInputError(f"{bad}: an empty part between '/'; use {REF_FORMS}")
    *prefix, name = parts
    for part in prefix:
        if set(part) & _URL_FORBIDDEN:
            raise ArtifactInputError(
                f"{bad}: {part!r} contains a character W&B forbids in entity/project names"
            )
    check_name(name, what=f"{bad}: artifact name")
    entity, project = (
        (prefix[0], prefix[1]) if len(prefix) == 2 else (None, prefix[0] if prefix else None)
    )
    return ArtifactRef(entity=entity, project=project, name=name, alias=alias or None)


def name_from_path(stem: str) -> str:
    """An artifact name made from a file or folder name ("my data.npy" -> "my-data.npy")."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", stem).strip("-") or "input"
    return name[:MAX_LEN]
