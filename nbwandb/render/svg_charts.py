"""Small SVG line charts in the manner of W&B's workspace plots, drawn without matplotlib.

Nice-number ticks (1, 2, 2.5, 5 x 10^k) with a light grid, tick labels sized so they are never
clipped, the last value in the title, and a hover read-out (step and value) made of plain SVG
and CSS: it works in a live widget, in a saved notebook and in an HTML report, with no
JavaScript. Used by the RunPanel and by ``nbwandb.show``. Standard library only.

>>> svg = line_chart_svg("train/loss", [Line([(0, 1.0), (1, 0.5), (2, 0.25)])])
>>> "<polyline" in svg and 'data-points="3"' in svg
True
>>> nice_ticks(0, 298.5, 6)
[0.0, 50.0, 100.0, 150.0, 200.0, 250.0]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 300, 170
PAD_TOP, PAD_RIGHT, PAD_BOTTOM = 26, 12, 20
MARKERS_UP_TO = 12  # a line with this many points or fewer shows a dot at each
CHAR_PX = 6.2  # width of one digit at 10 px sans-serif, with a little margin
HOVER_BANDS = (
    20  # hover targets per chart: enough to read a curve, few enough to stay small and fast
)
COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_FONT = "font-family='system-ui,-apple-system,Segoe UI,Roboto,sans-serif'"
# The hover read-out: hidden until the pointer is over its band (CSS only, no script).
# The groups are hidden by an attribute, so where styles are stripped (GitHub) they stay hidden.
_STYLE = (
    "<style>.nbw-hv:hover>.g{visibility:visible}.nbw-hv line{stroke:#999;stroke-dasharray:2,2}"
    ".nbw-hv circle{stroke:white}.nbw-hv text{font-size:10px;fill:#111;stroke:white;stroke-width:3px;"
    "paint-order:stroke}</style>"
)


@dataclass
class Line:
    """One line of a chart: (x, y) points, and how to draw and name it."""

    points: Sequence[tuple[float, float]]
    label: str = ""
    color: str = COLORS[0]
    faint: bool = False  # the raw series under a smoothed one
    finite: bool = (
        False  # the points are known to be finite (a live series drops the others): no check
    )


def nice_step(span: float, target: int = 5) -> float:
    """A step of 1, 2, 2.5 or 5 x 10^k that cuts ``span`` into about ``target`` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    rough = span / target
    power = 10 ** math.floor(math.log10(rough))
    for mult in (1, 2, 2.5, 5, 10):
        if mult * power >= rough * 0.999:
            return mult * power
    return 10 * power


def nice_ticks(lo: float, hi: float, target: int = 5, step: float | None = None) -> list[float]:
    """Tick positions at nice numbers inside [lo, hi] (every ``step``, or a nice step of its own)."""
    step = step or nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    place = _step_place(step)
    ticks: list[float] = []
    for index in range(first, min(last, first + 49) + 1):
        tick = index * step
        # Rounded at the step's last digit: 3 * 0.1 is 0.3, not 0.30000000000000004.
        ticks.append(0.0 if index == 0 else _round_to_place(tick, place))
    return ticks


def _step_place(step: float) -> int:
    """The power of ten of the step's last digit: 2.5e-4 -> -5, 0.5 -> -1, 50 -> 1.

    >>> _step_place(2.5e-4), _step_place(0.5), _step_place(50.0)
    (-5, -1, 1)
    """
    if step <= 0 or not math.isfinite(step):
        return 0
    place = math.floor(math.log10(step) + 1e-9)
    for _ in range(4):  # nice steps have at most two significant digits (2.5)
        scaled = step / 10.0**place
        if abs(scaled - round(scaled)) <= 1e-6 * scaled:
            return place
        place -= 1
    return place


def _round_to_place(value: float, place: int) -> float:
    """``value`` rounded to a multiple of ``10**place``, without binary noise."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = math.floor(math.log10(abs(value))) - place + 1
    return float(f"{value:.{max(1, min(17, digits))}g}")


def tick_label(value: float, step: float) -> str:
    """A label exact to the step's last digit: plain decimals, SI suffixes for big, scientific for tiny.

    Every tick of an axis gets a different label, and each label reads back as its tick:

    >>> [tick_label(v, 2.5e-4) for v in (2.5e-4, 5e-4, 7.5e-4)]
    ['2.5e-4', '5e-4', '7.5e-4']
    >>> [tick_label(1796728335.0 + i * 5, 5) for i in range(3)]
    ['1796728335', '1796728340', '1796728345']
    >>> tick_label(25_000, 5000), tick_label(0.5, 0.25)
    ('25k', '0.50')
    """
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    place = _step_place(step)
    if magnitude >= 1e4 and place >= 0:
        # A suffix when the step needs at most 2 decimals of it (1.25M), else the whole number.
        for suffix, power in (("G", 9), ("M", 6), ("k", 3)):
            if magnitude >= 10.0**power and power - place <= 2:
                return f"{value / 10.0**power:.{max(0, power - place)}f}{suffix}"
        if magnitude < 1e15:
            return f"{round(value / 10.0**place) * 10**place:d}"
    if magnitude < 1e-3 or magnitude >= 1e6:
        exponent = math.floor(math.log10(magnitude) + 1e-12)
        mantissa = round(value / 10.0**exponent, max(0, exponent - place))
        if abs(mantissa) >= 10:  # 9.96e-4 rounded at 1e-5 is 1.0e-3
            exponent += 1
            mantissa = round(value / 10.0**exponent, max(0, exponent - place))
        text = f"{mantissa:.{max(0, exponent - place)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")  # 5e-4, not 5.0e-4: still exact
        return f"{text}e{exponent}"
    return f"{value:.{max(0, -place)}f}"


def format_value(value: float | None) -> str:
    """A short number for titles and hover: 4 significant digits, integers as they are."""
    if value is None:
        return "–"  # noqa: RUF001 - an en dash for "no value", on purpose
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e6):
        return str(int(value))
    text = f"{value:.4g}"
    return text.replace("e-0", "e-").replace("e+0", "e+")


def _fast_value(value: float) -> str:
    """``format_value`` for finite numbers, without its checks (the hover read-out calls it most)."""
    value = float(value)  # steps and values may be ints (no is_integer before Python 3.12)
    if value.is_integer() and -1e6 < value < 1e6:
        return str(int(value))
    text = f"{value:.4g}"
    return text.replace("e-0", "e-").replace("e+0", "e+") if "e" in text else text


def _range(values: list[float], pad_fraction: float) -> tuple[float, float]:
    """[lo, hi] with a little air; a constant series gets a range around its value, not an invented one."""
    lo, hi = min(values), max(values)
    if hi == lo:
        half = abs(lo) * 0.1 or 1.0
        return lo - half, hi + half
    pad = (hi - lo) * pad_fraction
    return lo - pad, hi + pad


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    isfinite = math.isfinite
    return [p for p in points if isfinite(p[1]) and isfinite(p[0])]


def line_chart_svg(
    title: str,
    lines: Sequence[Line],
    *,
    last: float | None = None,
    x_range: tuple[float, float] | None = None,
    x_label: str = "step",
    width: int = WIDTH,
    height: int = HEIGHT,
    log_y: bool = False,
) -> str:
    """An SVG chart of ``lines`` titled ``title`` (``last`` goes at the title's right).

    ``x_range`` makes charts of one section share their x axis; ``log_y`` draws the y axis
    in decades when every value is positive.
    """
    drawn = [(line, list(line.points) if line.finite else _finite(line.points)) for line in lines]
    if log_y:
        log_y = all(y > 0 for _, pts in drawn for _, y in pts) and any(pts for _, pts in drawn)
    total = sum(len(pts) for _, pts in drawn)
    head = (
        f"<svg class='nbwandb-chart-svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' data-points='{len(drawn[0][1]) if drawn else 0}' "
        f"data-title='{escape(title)}' {_FONT}>"
    )
    head = head.replace("'", '"')
    last_text = (
        f"<tspan x='{width - PAD_RIGHT}' text-anchor='end' font-weight='600' fill='#222'>"
        f"{escape(format_value(last))}</tspan>"
        if last is not None
        else ""
    )
    title_max = max(
        8, int((width - 24 - (7 * len(format_value(last)) if last is not None else 0)) / 6.6)
    )
    shown_title = title if len(title) <= title_max else "…" + title[-(title_max - 1) :]
    parts = [
        head,
        _STYLE,
        f"<rect x='0.5' y='0.5' width='{width - 1}' height='{height - 1}' rx='3' fill='white' stroke='#e0e0e0'/>",
        f"<text x='8' y='16' font-size='12' fill='#333'>{escape(shown_title)}<title>{escape(title)}</title>"
        f"</text><text y='16' font-size='12'>{last_text}</text>",
    ]
    if total == 0:
        parts.append(
            f"<text x='{width / 2}' y='{height / 2 + 4}' font-size='11' text-anchor='middle' "
            f"fill='#999'>no points yet</text></svg>"
        )
        return "".join(parts)

    ys = (
        [math.log10(y) for _, pts in drawn for _, y in pts]
        if log_y
        else [y for _, pts in drawn for _, y in pts]
    )
    if x_range is not None:
        x0, x1 = x_range
    else:
        x0 = min(pts[0][0] for _, pts in drawn if pts)  # points are in step order
        x1 = max(pts[-1][0] for _, pts in drawn if pts)
    # Whole-number steps (checked on the first points: enough to tell steps from averaged buckets).
    integer_steps = all(float(x).is_integer() for _, pts in drawn for x, _ in pts[:8])
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1  # one step: the point sits in the middle
    y0, y1 = _range(ys, 0.05)
    if log_y:
        y_ticks = [float(t) for t in range(math.ceil(y0), math.floor(y1) + 1)]
        if len(y_ticks) < 2:
            log_y, ys = False, [y for _, pts in drawn for _, y in pts]
            y0, y1 = _range(ys, 0.05)
    if not log_y:
        y_step = nice_step(y1 - y0, 4)
        y_ticks = nice_ticks(y0, y1, step=y_step)
        y_labels = [tick_label(t, y_step) for t in y_ticks]
    else:
        y_labels = [tick_label(10**t, 10**t) for t in y_ticks]
    x_step = nice_step(x1 - x0, 4)
    if x_step < 1 and integer_steps:
        x_step = 1.0  # steps are whole numbers: no "4.5" between them
    start = math.floor(x0 / x_step) * x_step
    if x0 - start < 0.15 * (x1 - x0):
        x0 = start  # begin at a round step (0, not 0.5, when the first bucket is an average)
    x_ticks = nice_ticks(x0, x1, step=x_step)
    x_labels = [tick_label(t, x_step) for t in x_ticks]

    left = int(8 + CHAR_PX * max((len(label) for label in y_labels), default=1))
    right, top, bottom = width - PAD_RIGHT, PAD_TOP, height - PAD_BOTTOM
    sx_scale = (right - left) / (x1 - x0)
    sy_scale = (bottom - top) / (y1 - y0)

    def sx(x: float) -> float:
        return left + (x - x0) * sx_scale

    def sy(y: float) -> float:
        return bottom - ((math.log10(y) if log_y else y) - y0) * sy_scale

    grid = []
    for t, label in zip(y_ticks, y_labels, strict=True):
        py = bottom - (t - y0) * sy_scale
        grid.append(
            f"<line x1='{left}' y1='{py:.1f}' x2='{right}' y2='{py:.1f}' stroke='#eee'/>"
            f"<text class='tick' x='{left - 4}' y='{py + 3.5:.1f}' font-size='10' text-anchor='end' "
            f"fill='#666'>{label}</text>"
        )
    for t, label in zip(x_ticks, x_labels, strict=True):
        px = sx(t)
        # The outermost labels are anchored inwards so they never cross the SVG's edge.
        half = CHAR_PX * len(label) / 2
        anchor = "end" if px + half > width - 2 else ("start" if px - half < 2 else "middle")
        grid.append(
            f"<line x1='{px:.1f}' y1='{top}' x2='{px:.1f}' y2='{bottom}' stroke='#eee'/>"
            f"<text class='tick' x='{px:.1f}' y='{height - 6}' font-size='10' text-anchor='{anchor}' "
            f"fill='#666'>{label}</text>"
        )
    parts += grid
    parts.append(f"<line x1='{left}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='#bbb'/>")

    for line, pts in drawn:
        if not pts:
            continue
        # Inlined sx/sy: this loop is most of a redraw's time.
        if log_y:
            coords = " ".join(
                [
                    f"{left + (x - x0) * sx_scale:.1f},{bottom - (math.log10(y) - y0) * sy_scale:.1f}"
                    for x, y in pts
                ]
            )
        else:
            coords = " ".join(
                [
                    f"{left + (x - x0) * sx_scale:.1f},{bottom - (y - y0) * sy_scale:.1f}"
                    for x, y in pts
                ]
            )
        opacity = " stroke-opacity='0.3'" if line.faint else ""
        parts.append(
            f"<polyline class='nbwandb-chart-line' fill='none' stroke='{line.color}' stroke-width='1.5'"
            f"{opacity} stroke-linejoin='round' points='{coords}'/>"
        )
        if len(pts) <= MARKERS_UP_TO and not line.faint:
            # A few points get a dot each: three values joined by lines are not a measured curve.
            parts.append(
                "".join(
                    f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{line.color}' "
                    "class='nbwandb-marker'/>"
                    for x, y in pts
                )
            )
    parts.append(
        _hover(
            drawn, sx, sy, lambda px: x0 + (px - left) / sx_scale, left, right, top, bottom, x_label
        )
    )
    parts.append("</svg>")
    return "".join(parts)


def _hover(
    drawn: Sequence[tuple[Line, list[tuple[float, float]]]],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    x_of: Callable[[float], float],
    left: int,
    right: int,
    top: int,
    bottom: int,
    x_label: str,
) -> str:
    """Bands across the plot; over one, a guide line, a dot per line and "step · value" show."""
    shown = [(line, pts) for line, pts in drawn if pts and not line.faint]
    if not shown:
        return ""
    bands = min(HOVER_BANDS, max(len(pts) for _, pts in shown))
    band_w = (right - left) / bands
    out = ["<g class='nbw-hover'>"]
    # Bisect in data units (no per-point conversion); the pixel distance decides a pick.
    data_xs = [[p[0] for p in pts] for _, pts in shown]
    reach = max(band_w, 12)
    names = {id(line): f"{escape(line.label)} " if line.label else "" for line, _ in shown}
    x_name, middle, rect_w = escape(x_label), (left + right) / 2, f"{band_w + 0.5:.1f}"
    band_head = f"' y='{top}' width='{rect_w}' height='{bottom - top}'/><g class='g' visibility='hidden'><line x1='"
    line_tail = f"' y1='{top}' y2='{bottom}' x2='"
    text_y = f"' y='{top + 11}' class='hover-value' text-anchor='"
    for b in range(bands):
        centre = left + (b + 0.5) * band_w
        picks = []
        data_centre = x_of(centre)
        for (line, pts), xs in zip(shown, data_xs, strict=True):
            # Points are in step order: the nearest to the band's centre is next to the bisection point.
            j = bisect.bisect_left(xs, data_centre)
            if j == len(xs) or (j > 0 and data_centre - xs[j - 1] <= xs[j] - data_centre):
                j -= 1
            if b == 0:
                j = 0  # the first band reads the first point, the last band the latest one
            elif b == bands - 1:
                j = len(pts) - 1
            if abs(sx(xs[j]) - centre) <= reach:
                picks.append((line, pts[j]))
        if not picks:
            continue
        step = picks[0][1][0]
        px = sx(step)
        # Labels are escaped once above; numbers need no escaping.
        several = len(picks) > 1
        if several:
            values = " · ".join(
                names[id(line)] + _fast_value(value) for line, (_, value) in picks[:3]
            )
        else:
            values = _fast_value(picks[0][1][1])
        text = f"{x_name} {_fast_value(step)} · {values}"
        anchor, tx = ("end", px - 6) if px > middle else ("start", px + 6)
        est = CHAR_PX * 0.95 * len(text)  # keep the read-out inside the SVG
        if anchor == "start" and tx + est > right:
            tx = max(left + 2.0, right - est)
        elif anchor == "end" and tx - est < 2:
            tx = min(right - 2.0, 2 + est)
        pxs = f"{px:.1f}"
        dots = "".join(
            [
                f"<circle cx='{pxs}' cy='{sy(y):.1f}' r='3' fill='{line.color}'/>"
                for line, (_, y) in picks
            ]
        )
        # Styled by _STYLE; only what must hold without styles (hidden, transparent) is an attribute.
        out.append(
            f"<g class='nbw-hv'><rect fill='transparent' x='{left + b * band_w:.1f}{band_head}{pxs}"
            f"{line_tail}{pxs}'/>{dots}<text x='{tx:.1f}{text_y}{anchor}'>{text}</text></g>"
            f"<title>{text}</title></g>"
        )
    out.append("</g>")
    return "".join(out)


__all__ = [
    "COLORS",
    "HEIGHT",
    "WIDTH",
    "Line",
    "format_value",
    "line_chart_svg",
    "nice_step",
    "nice_ticks",
    "tick_label",
]
