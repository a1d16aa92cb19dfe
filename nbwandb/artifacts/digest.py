"""The files of a local checkpoint or dataset, and their W&B artifact digest.

The digest is computed the way wandb computes an artifact's manifest digest
(MD5 manifest, wandb's default), without copying anything into wandb's staging
folder: so an unchanged checkpoint is recognised, and skipped, before wandb
makes a staged copy of it.

>>> from pathlib import Path
>>> Path("epoch-3").mkdir()
>>> _ = Path("epoch-3/model.pt").write_bytes(b"weights"), Path("epoch-3/opt.pt").write_bytes(b"adam")
>>> files = local_files("epoch-3")
>>> len(files.digest), files.size, [entry.path for entry in files.entries]
(32, 11, ['model.pt', 'opt.pt'])
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nbwandb.artifacts.refs import ArtifactInputError

_HEADER = b"wandb-artifact-manifest-v1\n"
_CHUNK = 1 << 20  # hash in 1 MiB pieces: memory stays flat for multi-GB checkpoints


@dataclass(frozen=True)
class FileEntry:
    """One file: its path inside the artifact, base64 MD5 (as in wandb manifests) and size."""

    path: str
    digest: str
    size: int
    local_path: Path


@dataclass(frozen=True)
class LocalFiles:
    """A file or folder ready to become an artifact."""

    root: Path
    is_dir: bool
    entries: tuple[FileEntry, ...]
    digest: str

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)


def _md5_b64(path: Path) -> str:
    hasher = hashlib.md5()  # noqa: S324 - wandb's content digest, not a security hash
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
    return base64.b64encode(hasher.digest()).decode("ascii")


def manifest_digest(entries: tuple[FileEntry, ...] | list[FileEntry]) -> str:
    """wandb's manifest digest: MD5 over the header and sorted ``path:digest`` lines."""
    hasher = hashlib.md5(_HEADER)  # noqa: S324
    for entry in sorted(entries, key=lambda e: e.path):
        hasher.update(f"{entry.path}:{entry.digest}\n".encode())
    return hasher.hexdigest()


def local_files(path: str | os.PathLike[str]) -> LocalFiles:
    """Hash a file or every file under a folder; clear errors for missing or empty paths."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArtifactInputError(
            f"path {path!r} is a {type(path).__name__}; pass a file or folder path"
        )
    root = Path(path).expanduser()
    if not root.exists():
        raise ArtifactInputError(
            f"path {str(path)!r} does not exist; pass an existing file or folder"
        )
    if root.is_file():
        entries: list[FileEntry] = [
            FileEntry(root.name, _md5_b64(root), root.stat().st_size, root.resolve())
        ]
    elif root.is_dir():
        entries = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                full = Path(dirpath, filename)
                if not full.is_file():
                    continue  # broken links, sockets: wandb would fail on them too
                rel = full.relative_to(root).as_posix()
                entries.append(FileEntry(rel, _md5_b64(full), full.stat().st_size, full.resolve()))
        if not entries:
            raise ArtifactInputError(
                f"folder {str(path)!r} holds no files; an artifact needs at least one file"
            )
    else:
        raise ArtifactInputError(f"path {str(path)!r} is neither a file nor a folder")
    return LocalFiles(
        root=root.resolve(),
        is_dir=root.is_dir(),
        entries=tuple(entries),
        digest=manifest_digest(entries),
    )
