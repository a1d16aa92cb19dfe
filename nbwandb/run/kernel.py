"""Is this process a notebook kernel? Asked by the core (``Run.finish`` does not hold a cell
there); the notebook layer's ``detect_environment`` tells the frontends apart on top of it.

Only ``sys.modules`` is looked at: asking must not import IPython into a plain script.

>>> in_kernel()   # a plain Python process (or a test run)
False
"""

from __future__ import annotations

import sys
from typing import Any


def is_kernel_shell(shell: Any) -> bool:
    """True for ipykernel's shell, or one built on it (Colab's subclasses it)."""
    return "ipykernel" in sys.modules and any(
        cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__
    )


def in_kernel() -> bool:
    """True in a Jupyter, VS Code or Colab kernel."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and is_kernel_shell(ipython.get_ipython())


__all__ = ["in_kernel", "is_kernel_shell"]
