"""Keeping a displayed panel's saved output up to date, so a notebook tells its story without a kernel.

A widget's output holds a widget view plus the text/plain and text/html forms that nbconvert,
GitHub and nbviewer show. Those forms are computed once, when the panel is displayed, so
a saved notebook would keep the first state ("no values logged yet"). Here each panel is
displayed with a display id, and after every cell the output is replaced in place
(``update_display``) with the panel's current forms. Once a panel's job is done (its run
finished, a choice made) its output drops the widget view: JupyterLab, reopened without a
kernel or saved widget state, then shows the final HTML instead of "model not found".
A panel still live when the notebook is saved keeps its widget view in the page; the server's
save hook (``save_hook``, marked by the output metadata set here) writes its HTML form alone
to the file.

>>> from nbwandb.notebook.doctor_report import DoctorReport
>>> panel = DoctorReport([])
>>> display_id = publish(panel)   # what display(panel) calls; outside IPython, it prints
{'text/plain': 'nbwandb doctor: 0 problems in 0 checks', 'text/html': ...}
>>> refresh_all()                  # what the post-cell hook does: how many outputs changed
0
"""

from __future__ import annotations

import sys
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from nbwandb.notebook.environment import widgets_can_render
from nbwandb.run import finish
from nbwandb.server_hook.save_hook import MARK, WIDGET_VIEW


@dataclass
class _Output:
    """The outputs that show one panel, and what they last showed."""

    panel: weakref.ref[Any]
    display_ids: list[str] = field(default_factory=list)
    html: str | None = None
    final: bool = False


_outputs: dict[int, _Output] = {}
_hooked_shells: set[int] = set()


def _metadata(panel: Any) -> dict[str, Any]:
    """Output metadata that marks a panel's output, for the server's save hook (``save_hook``)."""
    return {MARK: {"panel": type(panel).__name__}}


def _bundle(panel: Any) -> dict[str, Any]:
    prepare = getattr(panel, "_before_publish", None)
    if prepare is not None:
        prepare()
    # The class's method: ipywidgets 8 sets the instance's ``_repr_mimebundle_`` to None on close.
    return dict(type(panel)._repr_mimebundle_(panel))


def publish(panel: Any) -> str:
    """Display ``panel`` with a new display id (kept to update it later); returns the id."""
    from IPython.display import display

    bundle = _bundle(panel)
    display_id = uuid.uuid4().hex
    display(bundle, raw=True, metadata=_metadata(panel), display_id=display_id)
    entry = _outputs.get(id(panel))
    if entry is None or entry.panel() is not panel:
        entry = _outputs[id(panel)] = _Output(weakref.ref(panel))
    entry.display_ids.append(display_id)
    entry.html = bundle.get("text/html")
    entry.final = WIDGET_VIEW not in bundle
    _hook_into_shell()
    return display_id


def refresh(panel: Any, *, settle: bool = True) -> bool:
    """Replace ``panel``'s outputs with its current forms; True when something was sent.

    Only where a frontend keeps outputs (a Jupyter kernel, VS Code, Colab): the IPython
    terminal would print the panel again instead of updating it. ``settle=False`` (an update
    sent from a background thread) sends the final form without counting it as delivered.
    """
    from IPython.display import update_display

    if not widgets_can_render():
        return False
    entry = _outputs.get(id(panel))
    if entry is None or entry.panel() is not panel or entry.final:
        return False
    bundle = _bundle(panel)
    final = WIDGET_VIEW not in bundle
    if bundle.get("text/html") == entry.html and not final:
        return False  # nothing new: no need to re-render the live view
    for display_id in entry.display_ids:
        update_display(bundle, raw=True, metadata=_metadata(panel), display_id=display_id)
    entry.html = bundle.get("text/html")
    # An update from a background thread (a finish ending after its cell) goes out under the
    # header of the cell that started that thread; a client that already closed that cell
    # (nbclient, so nbval and papermill) drops it. The next cell's refresh sends it again.
    entry.final = final and settle
    return True


def refresh_all(*_args: Any, **_kwargs: Any) -> int:
    """Refresh every published panel still live; returns how many outputs changed.

    Registered as IPython's ``post_run_cell`` hook (accepts its arguments); it never raises,
    since IPython would print the hook's arguments, which hold the cell's text.
    """
    changed = 0
    settle = threading.current_thread() is threading.main_thread()
    for key, entry in list(_outputs.items()):
        panel = entry.panel()
        if panel is None or entry.final:
            _outputs.pop(key, None)
            continue
        try:
            changed += refresh(panel, settle=settle)
        except Exception as exc:  # noqa: BLE001 - one broken panel must not stop the others
            print(
                f"nbwandb: could not update a panel's output: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
    return changed


def published(panel: Any) -> list[str]:
    """The display ids that show ``panel`` (empty when it was never published)."""
    entry = _outputs.get(id(panel))
    return list(entry.display_ids) if entry is not None and entry.panel() is panel else []


def _hook_into_shell() -> None:
    ipython_mod = sys.modules.get("IPython")
    shell = ipython_mod.get_ipython() if ipython_mod is not None else None
    if shell is None or id(shell) in _hooked_shells:
        return
    shell.events.register("post_run_cell", refresh_all)
    # A run's finish that ends in the background, after its cell: the saved forms become
    # final then, not only after the next cell (a notebook may end with the finish).
    finish.add_listener(refresh_all)
    _hooked_shells.add(id(shell))


__all__ = ["WIDGET_VIEW", "publish", "published", "refresh", "refresh_all"]
