"""Errors that users can cause, and the package's warnings.

Every message names the offending key or value and says what is accepted.
Every other module imports these from here (this module imports nothing of
the package), so the error and warning family sits at the bottom of the
import graph.

>>> nbwandb.init(project="demo", config={"lr": object()})
Traceback (most recent call last):
...
nbwandb.errors.NbwandbError: config key 'lr': a value of type builtins.object cannot be stored in a W&B config; accepted: ...
"""

from __future__ import annotations


class NbwandbError(Exception):
    """Base class of every error nbwandb raises on purpose."""


class WandbMissingError(NbwandbError, ImportError):
    """wandb is not installed but the call needs it."""

    def __init__(self, what: str = "this call") -> None:
        super().__init__(
            f"{what} needs the `wandb` package, which is not installed. "
            "Install it with `pip install wandb` (or `pip install nbwandb`), "
            "or pass use_wandb=False to run without tracking."
        )


class RunFinishedError(NbwandbError):
    """A call was made on a run that has already finished."""


class WriterError(NbwandbError):
    """Writing a row to wandb failed in the background writer thread."""


class LoginError(NbwandbError):
    """A key was malformed or could not be verified (the key is never in the message)."""


class NbwandbWarning(UserWarning):
    """Something was accepted but probably not what the user meant (logged anyway)."""
