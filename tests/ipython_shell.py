"""One IPython shell for every in-process test: IPython allows only one per process."""

from __future__ import annotations

from typing import Any


def shared_shell() -> Any:
    """IPython's test shell, started on first use and reused afterwards."""
    import IPython
    from IPython.testing.globalipapp import start_ipython

    # start_ipython returns the shell the first time and None afterwards.
    return start_ipython() or IPython.get_ipython()
