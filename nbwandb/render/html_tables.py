"""HTML tables that read like pandas' own: numbers right-aligned at a few significant digits,
borders and zebra rows, a scroll box with a sticky header, durations with units, compact times.

Shared by the notebook panels (TablePreview, ConfigForm, sweep leaderboards), ``list_runs``
in a notebook and ``nbwandb.show``'s dashboard, so every table looks the same. Standard
library only (the core imports it).

>>> format_number(0.123456789), format_number(1234567.0), format_number(3)
('0.12346', '1.2346e+06', '3')
>>> format_duration(3725.0)
'1 h 02 m'
>>> "<td class='num'>2.5</td>" in table_html(["x"], [[2.5]])
True
"""

from __future__ import annotations

import datetime as _dt
import enum
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nbwandb.values.metrics import is_number

DIGITS = 5  # significant digits of a float cell: pandas shows 6, W&B's tables about 4
SCROLL_HEIGHT_PX = 360

# Scoped under .nbw: a <style> in an output applies to the whole page.
CSS = """<style>
.nbw{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:12px;color:#222;
max-width:100%}
.nbw .nbw-scroll{max-width:100%;max-height:360px;overflow:auto;border:1px solid #ddd;display:inline-block;
vertical-align:top}
.nbw table.nbw-table{border-collapse:collapse;margin:0;font-size:12px;font-variant-numeric:tabular-nums}
.nbw table.nbw-table th,.nbw table.nbw-table td{border:1px solid #e3e3e3;padding:3px 8px;text-align:left;
vertical-align:top;max-width:28em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.nbw table.nbw-table thead th{position:sticky;top:0;background:#f5f5f5;z-index:1;font-weight:600}
.nbw table.nbw-table tbody tr:nth-child(even){background:#fafafa}
.nbw table.nbw-table tbody tr:hover{background:#eef4fb}
.nbw table.nbw-table td.num,.nbw table.nbw-table th.num{text-align:right}
.nbw table.nbw-table td.wrap{white-space:normal;min-width:18em}
.nbw img.nbw-cell{width:64px;height:64px;object-fit:contain;image-rendering:pixelated;display:block}
.nbw .nbw-caption{color:#555;margin:2px 0 4px}
.nbw .nbw-muted{color:#777}
</style>"""


def format_number(value: float, digits: int = DIGITS) -> str:
    """An int as it is; a float at ``digits`` significant digits (scientific when very large or small)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.{digits}g}"


def format_duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 m 05 s``, ``2 h 03 m``, ``3 d 04 h``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def format_timestamp(value: _dt.datetime) -> str:
    """``2026-11-30 06:24`` in UTC (seconds dropped: a table column, not a log line)."""
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M")


def format_cell(value: Any) -> str:
    """The text of one cell (no HTML): numbers short, strings without quotes, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return format_number(value)
    if isinstance(value, _dt.datetime):
        return format_timestamp(value)
    if isinstance(value, (list, tuple)) and all(is_number(v) or isinstance(v, str) for v in value):
        return ", ".join(format_cell(v) for v in value)
    if isinstance(value, Mapping):
        if "_type" in value:
            return f"<{value['_type']}>"
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def cell_html(value: Any, *, tag: str = "td", title_limit: int = 40) -> str:
    """``<td>`` for ``value``: numbers right-aligned; long text keeps its full form in a tooltip."""
    text = format_cell(value)
    classes = "num" if is_number(value) else ("wrap" if len(text) > 60 else "")
    cls = f" class='{classes}'" if classes else ""
    title = ""
    if isinstance(value, float) and math.isfinite(value) and float(text) != value:
        title = f" title='{html.escape(repr(value))}'"  # the full value on hover
    elif len(text) > title_limit and not classes:
        title = f" title='{html.escape(text)}'"
    return f"<{tag}{cls}{title}>{html.escape(text)}</{tag}>"


def table_html(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str | None = None,
    cell: Callable[[Any, str], str] | None = None,
    max_height: int = SCROLL_HEIGHT_PX,
    css: bool = True,
    wrapper_class: str = "",
) -> str:
    """A scrollable table with a sticky header; ``cell(value, column)`` may render special cells.

    Numeric columns get right-aligned headers too. ``caption`` is escaped text shown above.
    """
    numeric = [
        bool(rows) and all(is_number(r[i]) or r[i] is None for r in rows if i < len(r))
        for i in range(len(columns))
    ]
    head = "".join(
        f"<th{' class=num' if numeric[i] else ''}>{html.escape(str(c))}</th>"
        for i, c in enumerate(columns)
    )
    render = cell or (lambda value, _column: cell_html(value))
    body = "".join(
        "<tr>" + "".join(render(v, str(c)) for v, c in zip(row, columns, strict=False)) + "</tr>"
        for row in rows
    )
    top = f"<div class='nbw-caption'>{html.escape(caption)}</div>" if caption else ""
    style = "" if max_height == SCROLL_HEIGHT_PX else f" style='max-height:{max_height}px'"
    return (
        f"<div class='nbw {wrapper_class}'>{CSS if css else ''}{top}<div class='nbw-scroll'{style}>"
        f"<table class='nbw-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></div>"
    )


def key_value_table(
    values: Mapping[str, Any], *, key_label: str = "key", value_label: str = "value"
) -> str:
    """Two columns, one row per entry (a config, a summary); no style block (the caller adds one)."""
    body = "".join(
        f"<tr><td>{html.escape(str(k))}</td>{cell_html(v)}</tr>" for k, v in values.items()
    )
    return (
        f"<div class='nbw-scroll'><table class='nbw-table'><thead><tr><th>{html.escape(key_label)}</th>"
        f"<th>{html.escape(value_label)}</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


__all__ = [
    "CSS",
    "DIGITS",
    "cell_html",
    "format_cell",
    "format_duration",
    "format_number",
    "format_timestamp",
    "key_value_table",
    "table_html",
]
