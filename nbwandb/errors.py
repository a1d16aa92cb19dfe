"""Every error and warning class users can see, and ``require`` for optional dependencies.

The tree (each class also importable from the module that raises it, as before)::

    Exception
    ├── NbwandbError                  every error nbwandb raises on purpose
    │   ├── LoginError                a key is malformed or refused (login, init with a key)
    │   ├── RunFinishedError          log/update_config/... on a run that has finished
    │   ├── WriterError               the background writer could not hand a row to wandb
    │   ├── ResumeError               init(resume=...) finds no run to continue, or cannot continue it
    │   ├── OfflineArtifactError      a W&B artifact reference used where W&B cannot be reached
    │   ├── ArtifactInputError        (also ValueError) a bad artifact name, type, alias, ref or path
    │   ├── MediaError                (also ValueError) a media value of the wrong shape, size or range
    │   ├── MediaTypeError            (also TypeError) a media value of a type that cannot be converted
    │   └── MissingDependencyError    (also ImportError) an optional package is not installed
    │       ├── WandbMissingError     wandb is missing (init without use_wandb=False, download, ...)
    │       └── MediaDependencyError  an encoder is missing (soundfile, moviepy, imageio, matplotlib)
    └── Warning
        └── UserWarning
            └── NbwandbWarning        accepted but probably not meant (a value dropped, a key renamed)

Errors that Python convention files under a builtin are raised as that builtin too: a bad shape
is a ``ValueError`` and a ``MediaError``, so ``except ValueError`` and ``except NbwandbError``
both catch it. Arguments of the wrong kind to a public function (``mode="fast"``) raise plain
``ValueError``/``TypeError``. Every message names the offending key or value and says what is
accepted. This module imports nothing of the package, so it sits at the bottom of the import
graph and every layer imports its errors from here.

>>> nbwandb.init(project="demo", config={"lr": object()})
Traceback (most recent call last):
...
nbwandb.errors.NbwandbError: config key 'lr': a value of type builtins.object cannot be stored in a W&B config; accepted: ...
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any, Literal, overload

__all__ = [
    "ArtifactInputError",
    "LoginError",
    "MediaDependencyError",
    "MediaError",
    "MediaTypeError",
    "MissingDependencyError",
    "NbwandbError",
    "NbwandbWarning",
    "OfflineArtifactError",
    "ResumeError",
    "RunFinishedError",
    "WandbMissingError",
    "WriterError",
    "install_command",
    "require",
]


class NbwandbError(Exception):
    """Base class of every error nbwandb raises on purpose."""


class LoginError(NbwandbError):
    """A key was malformed or could not be verified (the key is never in the message)."""


class RunFinishedError(NbwandbError):
    """A call was made on a run that has already finished."""


class WriterError(NbwandbError):
    """Writing a row to wandb failed in the background writer thread."""


class ResumeError(NbwandbError):
    """The run to resume cannot be found or cannot be continued (the message says why)."""


class OfflineArtifactError(NbwandbError):
    """A W&B artifact reference was used where W&B cannot be reached (offline mode)."""


class ArtifactInputError(NbwandbError, ValueError):
    """A bad artifact name, type, alias, reference or path (raised before anything is written)."""


class MediaError(NbwandbError, ValueError):
    """A media value has the wrong shape, size or values (also a ValueError)."""


class MediaTypeError(NbwandbError, TypeError):
    """A media value is of a type or dtype that cannot be converted (also a TypeError)."""


# Import names whose pip name differs: the message must give a command that works.
_PIP_NAMES = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "IPython": "ipython",
    "imageio_ffmpeg": "imageio-ffmpeg",
}


def install_command(package: str, extra: str | None = None) -> str:
    """The pip command that installs ``package``: through nbwandb's extra when it has one.

    >>> install_command("soundfile", "media")
    'pip install "nbwandb[media]"'
    >>> install_command("PIL")
    'pip install pillow'
    """
    if extra:
        # Double quotes: the brackets must not be globbed by zsh, and cmd.exe keeps them.
        return f'pip install "nbwandb[{extra}]"'
    return f"pip install {_PIP_NAMES.get(package, package)}"


class MissingDependencyError(NbwandbError, ImportError):
    """An optional package a call needs is not installed (also an ImportError).

    ``package`` is the import name, ``purpose`` what needs it, ``command`` the pip command
    that installs it; the message says all three.

    >>> err = MissingDependencyError("soundfile", purpose="log_audio", extra="media")
    >>> print(err)
    log_audio needs the `soundfile` package, which is not installed. Install it with `pip install "nbwandb[media]"` (or `pip install soundfile`).
    >>> isinstance(err, ImportError), err.name
    (True, 'soundfile')
    """

    def __init__(
        self,
        package: str,
        *,
        purpose: str = "this call",
        extra: str | None = None,
        alternative: str = "",
        reason: str = "",
    ) -> None:
        self.package = package
        self.purpose = purpose
        self.extra = extra
        self.command = install_command(package, extra)
        self.alternative = alternative
        self.reason = reason
        how = f"`{self.command}`"
        if extra:  # the bare package too, for a user who does not want the whole extra
            how += f" (or `{install_command(package)}`)"
        state = (
            f"which is installed but cannot be imported ({reason}); reinstall it with {how}"
            if reason
            else f"which is not installed. Install it with {how}"
        )
        message = f"{purpose} needs the `{package}` package, {state}"
        if alternative:
            message += f", or {alternative}"
        super().__init__(message + ".", name=package)

    def __reduce__(self) -> tuple[Any, ...]:
        # The default (cls(*args)) would read the message as the package: rebuild from fields.
        return (
            _rebuild,
            (type(self), self.package, self.purpose, self.extra, self.alternative, self.reason),
        )


def _rebuild(
    cls: type[MissingDependencyError],
    package: str,
    purpose: str,
    extra: str | None,
    alternative: str,
    reason: str,
) -> MissingDependencyError:
    error = cls.__new__(cls)
    MissingDependencyError.__init__(
        error, package, purpose=purpose, extra=extra, alternative=alternative, reason=reason
    )
    return error


class WandbMissingError(MissingDependencyError):
    """wandb is not installed but the call needs it (``use_wandb=False`` runs without it).

    >>> print(WandbMissingError("nbwandb.init"))
    nbwandb.init needs the `wandb` package, which is not installed. Install it with `pip install wandb`, or pass use_wandb=False to run without tracking.
    """

    def __init__(
        self,
        what: str = "this call",
        *,
        package: str = "wandb",
        purpose: str | None = None,
        extra: str | None = None,
        alternative: str = "pass use_wandb=False to run without tracking",
        reason: str = "",
    ) -> None:
        super().__init__(
            package,
            purpose=purpose or what,
            extra=extra,
            alternative=alternative,
            reason=reason,
        )


class MediaDependencyError(MissingDependencyError):
    """An optional encoder (moviepy, imageio, soundfile, pandas, matplotlib) is missing."""


@overload
def require(
    package: str,
    *,
    purpose: str,
    extra: str | None = ...,
    alternative: str = ...,
    error: type[MissingDependencyError] = ...,
    load: Literal[True] = ...,
) -> ModuleType: ...
@overload
def require(
    package: str,
    *,
    purpose: str,
    extra: str | None = ...,
    alternative: str = ...,
    error: type[MissingDependencyError] = ...,
    load: Literal[False],
) -> None: ...
def require(
    package: str,
    *,
    purpose: str,
    extra: str | None = None,
    alternative: str = "",
    error: type[MissingDependencyError] = MissingDependencyError,
    load: bool = True,
) -> ModuleType | None:
    """Import an optional ``package``, or raise ``error`` saying what needs it and how to install it.

    ``extra`` names nbwandb's extra that installs it (``pip install "nbwandb[extra]"``);
    ``alternative`` is what the user can do instead. ``load=False`` only checks that the
    package is installed (for one a subprocess imports, as ``launch`` does with torch).

    >>> require("json", purpose="reading a run").__name__
    'json'
    >>> require("no_such_package_xyz", purpose="log_video", extra="media")
    Traceback (most recent call last):
    ...
    nbwandb.errors.MissingDependencyError: log_video needs the `no_such_package_xyz` package, which is not installed. Install it with `pip install "nbwandb[media]"` (or `pip install no_such_package_xyz`).

    Raises:
        MissingDependencyError: (or the ``error`` subclass given) the package is missing or
            its import fails.
    """
    fields: dict[str, Any] = {"purpose": purpose}
    # Only what was given: a subclass's own default (WandbMissingError's use_wandb=False) stays.
    fields.update({k: v for k, v in (("extra", extra), ("alternative", alternative)) if v})
    if not load:
        try:
            found = importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):  # a None in sys.modules, or a broken parent package
            found = False
        if not found:
            raise error(package=package, **fields)
        return None
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        missing = exc.name is not None and (
            package == exc.name or package.startswith(exc.name + ".")
        )
        if isinstance(exc, ModuleNotFoundError) and missing:
            raise error(package=package, **fields) from exc
        # Installed, but its own import failed (a missing shared library, a half-installed
        # wheel): saying "not installed" would send the user the wrong way.
        raise error(package=package, reason=str(exc), **fields) from exc


class NbwandbWarning(UserWarning):
    """Something was accepted but probably not what the user meant (logged anyway)."""
