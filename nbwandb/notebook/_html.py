"""Escaping for the HTML the panels and reports build by hand.

>>> escape("<b>")
'&lt;b&gt;'
"""

from __future__ import annotations

import html
from typing import Any


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)
