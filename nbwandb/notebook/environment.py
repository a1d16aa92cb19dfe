"""Where the code runs (Colab, VS Code, Jupyter, IPython terminal, plain Python), in ONE place.

Everything in the notebook layer asks :func:`detect_environment`; tests (and users
whose frontend is misdetected) override it with :func:`force_environment`.

>>> with force_environment("colab"):
...     detect_environment()
'colab'
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from nbwandb.run.kernel import is_kernel_shell

ENVIRONMENTS = ("colab", "vscode", "jupyter", "ipython", "terminal")
# Frontends that render ipywidgets core widgets (7.7 or 8) without a custom widget manager.
WIDGET_FRONTENDS = ("colab", "vscode", "jupyter")

_forced: str | None = None


def detect_environment() -> str:
    """One of ``ENVIRONMENTS``.

    "colab": Google Colab; "vscode": a VS Code notebook; "jupyter": a Jupyter kernel
    (JupyterLab, Notebook 7, nbclient); "ipython": the IPython terminal; "terminal":
    plain Python. ``NBWANDB_ENVIRONMENT`` or :func:`force_environment` override it.
    """
    if _forced is not None:
        return _forced
    env = os.environ.get("NBWANDB_ENVIRONMENT", "").strip().lower()
    if env:
        if env not in ENVIRONMENTS:
            raise ValueError(
                f"NBWANDB_ENVIRONMENT={env!r} is not accepted; use one of {', '.join(ENVIRONMENTS)}"
            )
        return env
    # Look at sys.modules only: detecting must not import IPython into a plain script.
    ipython_mod = sys.modules.get("IPython")
    shell = ipython_mod.get_ipython() if ipython_mod is not None else None
    if shell is None:
        return "terminal"
    if "google.colab" in sys.modules:
        return "colab"
    in_kernel = is_kernel_shell(shell)
    # VS Code starts its kernels with these variables set; Jupyter servers do not.
    if in_kernel and ("VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ):
        return "vscode"
    if in_kernel:
        return "jupyter"
    return "ipython"


def widgets_can_render(environment: str | None = None) -> bool:
    """True when the frontend shows ipywidgets (otherwise the text/html form is what users see)."""
    return (environment or detect_environment()) in WIDGET_FRONTENDS


@contextlib.contextmanager
def force_environment(name: str | None) -> Iterator[None]:
    """Make :func:`detect_environment` return ``name`` inside the block (None: detect again)."""
    global _forced
    if name is not None and name not in ENVIRONMENTS:
        raise ValueError(
            f"environment {name!r} is not accepted; use one of {', '.join(ENVIRONMENTS)}"
        )
    previous, _forced = _forced, name
    try:
        yield
    finally:
        _forced = previous
