"""The notebook layer: ``%load_ext nbwandb`` magics and ipywidgets panels.

Panels are imported on first use, so ``import nbwandb.notebook`` stays cheap and a
missing ipywidgets fails only when a panel is built (with the install command).

>>> from nbwandb.notebook import ConfigForm, RunPanel
>>> RunPanel.__module__
'nbwandb.notebook.run_panel'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbwandb._lazy import lazy_getattr

_LAZY = {
    "LoginPanel": "nbwandb.notebook.login_panel",
    "ConfigForm": "nbwandb.notebook.config_form",
    "RunPanel": "nbwandb.notebook.run_panel",
    "TablePreview": "nbwandb.notebook.previews",
    "MediaGallery": "nbwandb.notebook.previews",
    "DoctorReport": "nbwandb.notebook.doctor_report",
    "detect_environment": "nbwandb.notebook.environment",
    "force_environment": "nbwandb.notebook.environment",
}

__all__ = [
    "ConfigForm",
    "DoctorReport",
    "LoginPanel",
    "MediaGallery",
    "RunPanel",
    "TablePreview",
    "detect_environment",
    "force_environment",
]

if TYPE_CHECKING:  # pragma: no cover
    from nbwandb.notebook.config_form import ConfigForm
    from nbwandb.notebook.doctor_report import DoctorReport
    from nbwandb.notebook.environment import detect_environment, force_environment
    from nbwandb.notebook.login_panel import LoginPanel
    from nbwandb.notebook.previews import MediaGallery, TablePreview
    from nbwandb.notebook.run_panel import RunPanel


__getattr__ = lazy_getattr(__name__, {k: (v, k) for k, v in _LAZY.items()}, globals())
