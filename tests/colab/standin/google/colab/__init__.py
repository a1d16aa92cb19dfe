"""A stand-in for ``google.colab`` in the Colab stand-in kernel (tests only, never shipped).

Colab's kernel imports ``google.colab`` at start, and with it ipywidgets (through anywidget,
for Colab's own widgets), so ipywidgets 7.7.1 is already loaded when the user's first cell
runs. nbwandb detects Colab by this module in ``sys.modules`` and reads the secret
``WANDB_API_KEY`` through ``google.colab.userdata``; the stand-in keeps both behaviours and
nothing else. ``google`` stays a namespace package, so ``google.protobuf`` still imports.
"""

from __future__ import annotations

import ipywidgets  # noqa: F401 - loaded at start, as in Colab

from . import userdata  # noqa: F401
