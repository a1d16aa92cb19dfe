"""Artifacts of a run: checkpoints out (``log_checkpoint``), datasets in (``log_dataset``,
``use_artifact``), and ``download`` without a run."""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nbwandb.artifacts.digest import LocalFiles, local_files
from nbwandb.artifacts.refs import (
    ArtifactInputError,
    check_aliases,
    check_name,
    check_type,
    name_from_path,
    parse_ref,
)
from nbwandb.connection.modes import resolve_mode
from nbwandb.errors import NbwandbError, OfflineArtifactError, RunFinishedError
from nbwandb.run.handle import RunHandle
from nbwandb.values.config import convert_value
from nbwandb.values.metrics import check_step
from nbwandb.wandb_compat import import_wandb

INPUTS_KEY = "_nbwandb_inputs"  # config key listing a run's inputs (uploaded by `wandb sync`)
LARGE_DOWNLOAD_BYTES = 50 * 1024 * 1024  # wandb itself calls an artifact "large" from 50 MB
MODES = ("min", "max")

__all__ = [
    "INPUTS_KEY",
    "ArtifactInputError",
    "CheckpointPolicy",
    "CheckpointResult",
    "InputResult",
    "OfflineArtifactError",
    "download",
    "log_checkpoint",
    "log_dataset",
    "use_artifact",
    "use_inputs",
]


@dataclass(frozen=True)
class CheckpointResult:
    """What ``log_checkpoint`` did: ``logged`` is False when skipped, and ``reason`` says why."""

    name: str
    type: str
    aliases: tuple[str, ...]
    digest: str
    logged: bool
    reason: str
    step: int | None = None
    best: bool = False
    size: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    artifact: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class InputResult:
    """An input of a run: where its files are (``path``) and how it was recorded."""

    name: str
    type: str
    digest: str
    path: Path | None
    ref: str | None
    logged: bool
    reason: str
    artifact: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CheckpointPolicy:
    """The checkpoint options a library exposes to its users (the guide's advice).

    >>> policy = CheckpointPolicy(every=2, monitor="val/loss", mode="min")
    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     for epoch in range(4):                     # the loss gets worse: only every 2nd
    ...         run.log({"val/loss": float(epoch)}, step=epoch)
    ...         _ = open("ckpt.pt", "wb").write(bytes([epoch]))
    ...         print(epoch, policy.log(run, "ckpt.pt", step=epoch).logged)
    0 True
    1 False
    2 True
    3 False
    """

    enabled: bool = True
    every: int | None = None
    monitor: str | None = None
    mode: str = "min"

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise TypeError(
                f"CheckpointPolicy(enabled={self.enabled!r}) is not accepted; use True or False"
            )
        _check_every(self.every)
        _check_monitor(self.monitor, self.mode)

    def log(
        self,
        run: RunHandle,
        path: str | os.PathLike[str],
        *,
        step: int | None = None,
        value: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        aliases: Iterable[str] = (),
        name: str | None = None,
    ) -> CheckpointResult:
        """Log ``path`` as this policy says (nothing when disabled or the run is a no-op)."""
        if not self.enabled or not getattr(run, "enabled", False):
            why = (
                "checkpoints are disabled (CheckpointPolicy.enabled=False)"
                if not self.enabled
                else "the run does not log (use_wandb=False, disabled mode or a non-main rank)"
            )
            return CheckpointResult(
                name=name or "",
                type="model",
                aliases=(),
                digest="",
                logged=False,
                reason=why,
                step=step,
            )
        return log_checkpoint(
            run,
            path,
            name=name,
            metadata=metadata,
            aliases=aliases,
            step=step,
            value=value,
            **self.options(),
        )

    def options(self) -> dict[str, Any]:
        """The ``log_checkpoint`` options this policy sets.

        >>> CheckpointPolicy(every=2, monitor="val/loss").options()
        {'every': 2, 'monitor': 'val/loss', 'mode': 'min'}
        """
        return {"every": self.every, "monitor": self.monitor, "mode": self.mode}


# -- per-run memory: what was logged under which name (so unchanged files are skipped) -------
@dataclass
class _Collection:
    digest: str | None = None
    aliases: dict[str, set[str]] = field(default_factory=dict)  # digest -> aliases it holds
    last_step: int | None = None
    best: float | None = None
    last_logged: dict[str, Any] | None = None  # the newest version, as the run reader lists it


@dataclass
class _RunArtifacts:
    lock: threading.Lock = field(default_factory=threading.Lock)
    collections: dict[str, _Collection] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)


_STATE: weakref.WeakKeyDictionary[Any, _RunArtifacts] = weakref.WeakKeyDictionary()
_STATE_LOCK = threading.Lock()


def _state(run: RunHandle) -> _RunArtifacts:
    with _STATE_LOCK:
        if run not in _STATE:
            _STATE[run] = _RunArtifacts()
        return _STATE[run]


# -- checks (all before anything is written) -----------------------------------------------
def _check_every(every: Any) -> int | None:
    if every is None:
        return None
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ArtifactInputError(
            f"every={every!r} is not accepted; use a positive int (steps) or None"
        )
    return every


def _check_monitor(monitor: Any, mode: Any) -> None:
    if mode not in MODES:
        raise ArtifactInputError(f"mode={mode!r} is not accepted; use 'min' or 'max'")
    if monitor is not None and (not isinstance(monitor, str) or not monitor):
        raise ArtifactInputError(
            f"monitor={monitor!r} is not accepted; pass a logged metric key such as 'val/loss'"
        )


def _check_step(step: Any) -> int | None:
    if step is None:
        return None
    try:
        return check_step(step)
    except (TypeError, ValueError) as exc:
        raise ArtifactInputError(str(exc)) from None


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ArtifactInputError(
            f"metadata of type {type(metadata).__name__} is not accepted; pass a dict"
        )
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ArtifactInputError(
                f"metadata key {key!r} is a {type(key).__name__}; metadata keys must be strings"
            )
        try:
            out[key] = convert_value(value, key)
        except NbwandbError as exc:
            text = (
                str(exc)
                .replace("config key", "metadata key")
                .replace("a W&B config", "artifact metadata")
            )
            raise ArtifactInputError(text) from None
    return out


def _as_number(value: Any, what: str) -> float:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArtifactInputError(
            f"{what}={value!r} is not accepted; the monitored value must be a number"
        )
    return float(value)


def _check_run(run: RunHandle, what: str) -> None:
    if not getattr(run, "enabled", False) or getattr(run, "wandb_run", None) is None:
        raise NbwandbError(f"{what} needs a run started with nbwandb.init(...); got {run!r}")
    if getattr(run, "finished", False):
        raise RunFinishedError(
            f"run.{what}: run {run.id} has finished; start a new one with nbwandb.init(...)"
        )


def _wandb_artifact(name: str, kind: str, metadata: dict[str, Any], files: LocalFiles) -> Any:
    wandb = import_wandb("nbwandb artifacts")
    artifact = wandb.Artifact(name=name, type=kind, metadata=metadata)
    for entry in files.entries:
        # "mutable" (wandb's default) stages a copy: the checkpoint file may be overwritten
        # by the next epoch before an offline run is synced.
        artifact.add_file(str(entry.local_path), name=entry.path)
    return artifact


def _latest_value(run: RunHandle, key: str) -> float | None:
    """The run's latest logged value of ``key`` (wandb's summary holds the last value)."""
    summary = run.wandb_run.summary
    try:
        value = summary.get(key) if hasattr(summary, "get") else summary[key]
    except KeyError:
        return None
    return None if value is None else _as_number(value, f"latest {key!r}")


# -- checkpoints ---------------------------------------------------------------------------
def log_checkpoint(
    run: RunHandle,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    aliases: Iterable[str] = (),
    type: str = "model",
    every: int | None = None,
    step: int | None = None,
    monitor: str | None = None,
    mode: str = "min",
    value: float | None = None,
) -> CheckpointResult:
    """Log a checkpoint file or folder as artifact ``name`` (default ``model-{run.id}``).

    ``latest`` is always added. ``every=N``: log only when ``step`` (default: the run's
    latest step) is N or more past the last logged checkpoint. ``monitor="val/loss"``
    (``mode="min"``/``"max"``): the value (``value=`` or the run's latest logged one) goes
    into the metadata, and an improvement adds ``best`` (a new best is logged even between
    ``every`` steps). Unchanged files (same digest) are not logged again.

    The run's pending row is written first, so log a step's metrics before its checkpoint.

    >>> run = nbwandb.init(project="demo", quiet=True)
    >>> _ = open("ckpt.pt", "wb").write(b"weights")
    >>> run.log({"val/acc": 0.9}, step=10)
    >>> result = run.log_checkpoint("ckpt.pt", step=10, monitor="val/acc", mode="max")
    >>> result.name == f"model-{run.id}", result.aliases, result.best
    (True, ('latest', 'best'), True)
    >>> run.finish()
    """
    _check_run(run, "log_checkpoint")
    name = check_name(name if name is not None else f"model-{run.id}")
    kind = check_type(type)
    user_aliases = check_aliases(aliases)
    for reserved in ("latest", "best"):
        if reserved in user_aliases and (reserved == "latest" or monitor is not None):
            # nbwandb moves these itself; a caller's copy would fight with it.
            raise ArtifactInputError(
                f"aliases={list(user_aliases)!r}: {reserved!r} is managed by log_checkpoint"
                + (" (monitor= decides 'best')" if reserved == "best" else " (it is always added)")
            )
    every = _check_every(every)
    _check_monitor(monitor, mode)
    step = _check_step(step)
    user_meta = _check_metadata(metadata)
    explicit = None if value is None else _as_number(value, "value")
    files = local_files(path)

    run.flush()  # rows logged so far come first, and the summary holds their values
    if step is None:
        step = run.step
    if every is not None and step is None:
        raise ArtifactInputError(f"every={every} needs a step: pass step= or log a step first")
    current = explicit
    if monitor is not None and current is None:
        current = _latest_value(run, monitor)
        if current is None:
            raise ArtifactInputError(
                f"monitor={monitor!r} has no logged value in run {run.id}; "
                f"log it before the checkpoint, or pass value="
            )

    state = _state(run)
    with state.lock:
        coll = state.collections.setdefault(name, _Collection())
        improved = (
            monitor is not None
            and current is not None
            and not math.isnan(current)
            and (
                coll.best is None or (current < coll.best if mode == "min" else current > coll.best)
            )
        )
        due = (
            every is None
            or coll.last_step is None
            or (step is not None and step - coll.last_step >= every)
        )
        new_aliases = ("latest", *user_aliases, *(("best",) if improved else ()))
        meta: dict[str, Any] = {"step": step} if step is not None else {}
        if monitor is not None:
            # NaN/inf as text: JSON metadata has no number for them (as in nbwandb configs).
            shown = current if current is not None and math.isfinite(current) else str(current)
            meta.update({monitor: shown, "monitor": monitor, "mode": mode, "best": improved})
        meta.update(user_meta)

        def result(reason: str) -> CheckpointResult:
            """The result when nothing is logged (a logged checkpoint's adds its version)."""
            return CheckpointResult(
                name=name,
                type=kind,
                aliases=(),
                digest=files.digest,
                logged=False,
                reason=reason,
                step=step,
                size=files.size,
                metadata=meta,
                path=files.root,
            )

        if not due and not improved:
            return result(
                f"not due: every={every}, last logged at step {coll.last_step}, now step {step}"
            )
        held = coll.aliases.get(files.digest, set())
        if files.digest == coll.digest and set(new_aliases) <= held:
            if improved:
                coll.best = current
            return result(
                f"unchanged: digest {files.digest} is already logged as {name!r}; not logged again"
            )

        artifact = _wandb_artifact(name, kind, meta, files)
        try:
            run.wandb_run.log_artifact(artifact, aliases=list(new_aliases))
        except Exception as exc:
            raise NbwandbError(
                f"log_checkpoint: wandb could not log artifact {name!r}: {exc}"
            ) from exc
        run._push_after_direct_records()
        digest = artifact.digest
        for other in list(coll.aliases):  # aliases move to the new version
            coll.aliases[other].difference_update(new_aliases)
            if not coll.aliases[other]:
                del coll.aliases[
                    other
                ]  # keeps this bounded by the aliases in use, not the versions
        coll.aliases.setdefault(digest, set()).update(new_aliases)
        coll.digest = digest
        coll.last_step = step if step is not None else coll.last_step
        coll.last_logged = _as_record(name, artifact)
        if improved:
            coll.best = current
        reason = "logged" + (f"; new best {monitor}={current:g}" if improved else "")
        return replace(
            result(reason),
            aliases=new_aliases,
            digest=digest,
            logged=True,
            best=improved,
            artifact=artifact,
        )


def _as_record(name: str, artifact: Any) -> dict[str, Any]:
    """A logged artifact in the reader's form (``LocalRun.artifacts``), with its staged files."""
    entries = getattr(getattr(artifact, "manifest", None), "entries", {}) or {}
    return {
        "name": name,
        "digest": getattr(artifact, "digest", ""),
        "manifest": [
            {
                "path": path,
                "size": getattr(e, "size", None),
                "local_path": getattr(e, "local_path", None),
            }
            for path, e in entries.items()
        ],
    }


def logged_checkpoint(run: RunHandle, name: str) -> dict[str, Any] | None:
    """The newest version of ``name`` that ``run`` logged in this process, or None."""
    coll = _state(run).collections.get(name)
    return coll.last_logged if coll is not None else None


# -- inputs --------------------------------------------------------------------------------
def _is_local(ref: Any) -> bool:
    if isinstance(ref, os.PathLike):
        return True
    return isinstance(ref, str) and bool(ref.strip()) and Path(ref).expanduser().exists()


def _remember_input(run: RunHandle, record: dict[str, Any]) -> None:
    state = _state(run)
    with state.lock:
        state.inputs.append(record)
        listing = [dict(r) for r in state.inputs]
    run.update_config({INPUTS_KEY: listing})


def _record_local_input(
    run: RunHandle,
    path: str | os.PathLike[str],
    name: str,
    kind: str,
    metadata: Mapping[str, Any] | None,
) -> InputResult:
    name = check_name(name, "dataset name")
    kind = check_type(kind)
    user_meta = _check_metadata(metadata)
    files = local_files(path)
    state = _state(run)
    with state.lock:
        seen = any(r["name"] == name and r["digest"] == files.digest for r in state.inputs)
    unchanged = InputResult(
        name=name,
        type=kind,
        digest=files.digest,
        path=files.root,
        ref=None,
        logged=False,
        reason=f"unchanged: {name!r} with this digest is already an input",
    )
    if seen:
        return unchanged
    meta = {"role": "input", "source_path": str(files.root), **user_meta}
    artifact = _wandb_artifact(name, kind, meta, files)
    run.flush()
    try:
        if run.mode == "online":
            run.wandb_run.use_artifact(artifact)  # logs it and links it as this run's input
        else:
            # wandb refuses use_artifact offline; the logged artifact plus the config list
            # keep the lineage until `wandb sync`.
            run.wandb_run.log_artifact(artifact, aliases=["latest"])
    except Exception as exc:
        raise NbwandbError(f"could not record input {name!r}: {exc}") from exc
    run._push_after_direct_records()
    digest = artifact.digest
    _remember_input(
        run,
        {
            "name": name,
            "type": kind,
            "digest": digest,
            "path": str(files.root),
            "ref": None,
            "mode": run.mode,
        },
    )
    how = (
        "used as input"
        if run.mode == "online"
        else f"logged with role=input (wandb cannot use artifacts {run.mode})"
    )
    return replace(unchanged, digest=digest, logged=True, reason=how, artifact=artifact)


def log_dataset(
    run: RunHandle,
    path: str | os.PathLike[str],
    name: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    type: str = "dataset",
) -> InputResult:
    """Log a local dataset file or folder as an input of ``run`` (works offline too).

    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     _ = open("flowers.csv", "w").write("x,y\\n1,2\\n")
    ...     result = run.log_dataset("flowers.csv", "flowers", metadata={"rows": 1})
    >>> result.name, result.type, result.logged
    ('flowers', 'dataset', True)
    """
    _check_run(run, "log_dataset")
    return _record_local_input(run, path, name, type, metadata)


def _offline_message(what: str, ref: str, reason: str) -> str:
    return (
        f"{what}({ref!r}): no local file or folder {ref!r} exists, and a W&B artifact reference "
        f"needs online mode ({reason}). Pass a local path instead (it is recorded as the run's "
        "input), or go online: nbwandb.init(mode='online') with network access and credentials."
    )


def use_artifact(
    run: RunHandle,
    ref: str | os.PathLike[str],
    *,
    download: bool = True,
    root: str | os.PathLike[str] | None = None,
    type: str | None = None,
) -> InputResult:
    """Mark ``ref`` as an input of ``run`` and (by default) download it.

    ``ref`` is a local file/folder (recorded as an input artifact, online or offline) or
    a W&B reference ``[entity/][project/]name[:alias]`` (online only).

    >>> run = nbwandb.init(project="demo", quiet=True)
    >>> _ = open("labels.csv", "w").write("cat")
    >>> run.use_artifact("labels.csv").path.name           # offline too: a local input
    'labels.csv'
    >>> run.use_artifact("my-team/vision/flowers:v3", root="data")  # W&B's copy needs online
    Traceback (most recent call last):
    ...
    nbwandb.errors.OfflineArtifactError: ...
    >>> run.finish()
    """
    _check_run(run, "use_artifact")
    if _is_local(ref):
        local = Path(ref).expanduser()
        return _record_local_input(run, local, name_from_path(local.name), type or "dataset", None)
    parsed = parse_ref(ref)
    if type is not None:
        check_type(type)
    if run.mode != "online":
        raise OfflineArtifactError(
            _offline_message("use_artifact", str(ref), f"run {run.id} is {run.mode}")
        )
    run.flush()
    try:
        artifact = run.wandb_run.use_artifact(str(parsed), type=type)
    except Exception as exc:
        raise NbwandbError(
            f"use_artifact({str(ref)!r}): W&B could not find or use it: {exc}"
        ) from exc
    local_path = _download_with_progress(artifact, root, None) if download else None
    _remember_input(
        run,
        {
            "name": artifact.name,
            "type": artifact.type,
            "digest": artifact.digest,
            "path": str(local_path) if local_path else None,
            "ref": str(parsed),
            "mode": run.mode,
        },
    )
    return InputResult(
        name=artifact.name,
        type=artifact.type,
        digest=artifact.digest,
        path=local_path,
        ref=str(parsed),
        logged=True,
        reason="used as input",
        artifact=artifact,
    )


def use_inputs(
    run: RunHandle,
    refs: Sequence[str | os.PathLike[str]],
    *,
    download: bool = True,
    root: str | os.PathLike[str] | None = None,
) -> list[InputResult]:
    """``use_artifact`` for each input a library's user configured; every ref is checked first.

    >>> with nbwandb.init(project="demo", quiet=True) as run:
    ...     _ = open("train.csv", "w").write("1"), open("labels.csv", "w").write("cat")
    ...     inputs = use_inputs(run, ["train.csv", "labels.csv"])
    >>> [(i.name, i.logged) for i in inputs]
    [('train.csv', True), ('labels.csv', True)]
    """
    if isinstance(refs, (str, os.PathLike)):
        refs = [refs]
    for ref in refs:  # fail before recording any of them
        if not _is_local(ref):
            parse_ref(ref)
            if getattr(run, "mode", None) != "online" and getattr(run, "enabled", False):
                raise OfflineArtifactError(
                    _offline_message("use_inputs", str(ref), f"run {run.id} is {run.mode}")
                )
    if not getattr(run, "enabled", False):
        return []
    return [use_artifact(run, ref, download=download, root=root) for ref in refs]


# -- downloads without a run ---------------------------------------------------------------
def download(
    ref: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    type: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Download a W&B artifact without a run (``wandb.Api``), reusing wandb's cache.

    A local path is returned as is, so code works the same offline with local data.
    ``progress=None`` shows a tqdm bar for artifacts of 50 MB or more.

    >>> _ = open("model.pt", "wb").write(b"weights")
    >>> nbwandb.download("model.pt")      # a local path comes back as it is
    PosixPath('model.pt')
    >>> path = nbwandb.download("my-team/vision/model-abc123:best", root="weights")  # doctest: +SKIP

    Raises:
        ArtifactInputError: ``ref`` or ``type`` is not a valid artifact reference or type.
        OfflineArtifactError: ``ref`` is a W&B reference and runs would be offline.
        NbwandbError: W&B cannot find the artifact, or the download fails.
        WandbMissingError: wandb is not installed.
    """
    if _is_local(ref):
        return Path(ref).expanduser()
    parsed = parse_ref(ref)
    if type is not None:
        check_type(type)

    decision = resolve_mode("auto")
    if decision.mode != "online":
        raise OfflineArtifactError(
            _offline_message("download", str(ref), f"mode is {decision.mode}: {decision.reason}")
        )

    wandb = import_wandb("nbwandb.download")
    try:
        artifact = wandb.Api().artifact(str(parsed), type=type)
    except Exception as exc:
        raise NbwandbError(
            f"download({str(ref)!r}): W&B could not find it: {_exc_name(exc)}: {exc}"
        ) from exc
    return _download_with_progress(artifact, root, progress)


def _exc_name(exc: BaseException) -> str:
    return exc.__class__.__name__


def _folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, filenames in os.walk(folder):
        for filename in filenames:
            try:
                total += os.path.getsize(os.path.join(dirpath, filename))
            except OSError:
                pass  # a file being renamed into place
    return total


def _download_with_progress(
    artifact: Any, root: str | os.PathLike[str] | None, progress: bool | None, poll_s: float = 0.2
) -> Path:
    """``artifact.download(root)`` with a tqdm bar fed by the bytes arriving under ``root``.

    wandb downloads with its own thread pools and cache and has no progress hook, so the
    bar watches the target folder instead of wrapping wandb's internals.
    """
    total = int(getattr(artifact, "size", 0) or 0)
    show = progress if progress is not None else total >= LARGE_DOWNLOAD_BYTES
    if root is None and hasattr(artifact, "_default_root"):
        root = artifact._default_root()
    if not show:
        return Path(artifact.download(root=root))
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["path"] = artifact.download(root=root)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="nbwandb-download", daemon=True)
    bar = tqdm(
        total=total, unit="B", unit_scale=True, desc=f"download {getattr(artifact, 'name', '')}"
    )
    try:
        thread.start()
        while thread.is_alive():
            thread.join(poll_s)
            if root is not None:
                bar.n = min(total, _folder_bytes(Path(root)))
                bar.refresh()
        bar.n = total if "error" not in box else bar.n
        bar.refresh()
    finally:
        bar.close()
    if "error" in box:
        raise NbwandbError(
            f"downloading {getattr(artifact, 'name', '?')!r} failed: {box['error']}"
        ) from box["error"]
    return Path(box["path"])
