"""Escaping for the HTML the panels and reports build by hand.

>>> escape("<b>")
'&lt;b&gt;'
>>> with_code("run `wandb login` <here>")
'run <code>wandb login</code> &lt;here&gt;'
"""

from __future__ import annotations

import html
import re
from typing import Any

_CODE = re.compile(r"`([^`]+)`")


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def with_code(message: Any) -> str:
    """``message`` escaped, with its `commands` (written in backticks) shown as code."""
    return _CODE.sub(r"<code>\1</code>", escape(message))
