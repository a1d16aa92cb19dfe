"""The SVG line charts shared by the RunPanel and nbwandb.show: ticks, labels, odd series, hover."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbwandb.render.svg_charts import (
    CHAR_PX,
    HOVER_BANDS,
    Line,
    line_chart_svg,
    nice_step,
    nice_ticks,
    tick_label,
)


def y_labels(svg: str) -> list[str]:
    return re.findall(
        r"<text class='tick' x='[\d.]+' y='[\d.]+' font-size='10' text-anchor='end'[^>]*>([^<]+)<",
        svg,
    )


def x_labels(svg: str) -> list[str]:
    # x labels sit on a whole-pixel baseline under the plot; y labels at fractional heights
    return re.findall(
        r"<text class='tick' x='[\d.]+' y='\d+' font-size='10' text-anchor='(?:start|middle|end)' "
        r"fill='#666'>([^<]+)<",
        svg,
    )


@pytest.mark.parametrize(
    ("lo", "hi", "target", "expected"),
    [
        (0, 298.5, 6, [0, 50, 100, 150, 200, 250]),
        (0.1, 0.9, 4, [0.2, 0.4, 0.6, 0.8]),
        (-1, 1, 4, [-1, -0.5, 0, 0.5, 1]),
        (0, 1e-3, 4, [0, 2.5e-4, 5e-4, 7.5e-4, 1e-3]),
    ],
)
def test_nice_ticks(lo, hi, target, expected):
    assert nice_ticks(lo, hi, target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [
        (0.25, 0.25, "0.25"),
        (0.5, 0.25, "0.50"),
        (0.0, 0.1, "0"),
        (25_000, 5000, "25k"),
        (1_500_000, 500_000, "1.5M"),
        (3e-4, 1e-4, "3e-4"),
        (0.0004979, 0.0001, "5e-4"),
        (200, 50, "200"),
        (1234.5, 0.5, "1234.5"),
        (7.5e-4, 2.5e-4, "7.5e-4"),  # was '8e-4' (issue 29)
        (1_796_728_335.0, 5, "1796728335"),  # was '1.797G' on every tick
        (1_250_000, 250_000, "1.25M"),
    ],
)
def test_tick_labels_are_short_and_exact(value, step, label):
    assert tick_label(value, step) == label


def read_label(label: str) -> float:
    """What a person reads in a tick label, as a number."""
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(label[-1], 1.0)
    return float(label[:-1] if scale != 1.0 else label) * scale


# Ranges a chart meets: tiny (learning rates), huge (timestamps, token counts), negative,
# spanning zero, narrow next to a big offset; and log axes' decades.
CENTRES = st.builds(
    lambda sign, exponent, mantissa: sign * mantissa * 10.0**exponent,
    st.sampled_from([-1.0, 1.0]),
    st.integers(-12, 14),
    st.floats(1.0, 9.99),
)
RELATIVE_SPANS = st.builds(lambda e, m: m * 10.0**e, st.integers(-8, 2), st.floats(1.0, 9.99))


@settings(max_examples=400, deadline=None)
@given(centre=CENTRES, relative_span=RELATIVE_SPANS, zero=st.booleans(), target=st.integers(3, 8))
def test_tick_labels_are_distinct_and_read_back_as_their_ticks(centre, relative_span, zero, target):
    span = abs(centre) * relative_span
    lo, hi = (centre - span, centre + span) if not zero else (-span, span * 0.7)  # around 0
    step = nice_step(hi - lo, target)
    ticks = nice_ticks(lo, hi, step=step)
    assert ticks, (lo, hi, step)
    labels = [tick_label(t, step) for t in ticks]
    assert len(set(labels)) == len(labels), list(zip(ticks, labels, strict=True))
    for tick, label in zip(ticks, labels, strict=True):
        # exact at the step's precision: far closer than half a step (no rounding to a neighbour)
        assert abs(read_label(label) - tick) <= step * 1e-6 + abs(tick) * 1e-12, (tick, label, step)


@settings(max_examples=100, deadline=None)
@given(low=st.integers(-15, 12), decades=st.integers(1, 6))
def test_log_axis_decade_labels_are_distinct_and_exact(low, decades):
    values = [10.0**e for e in range(low, low + decades + 1)]
    labels = [tick_label(v, v) for v in values]
    assert len(set(labels)) == len(labels)
    for value, label in zip(values, labels, strict=True):
        assert math.isclose(read_label(label), value, rel_tol=1e-9), (value, label)


def test_constant_and_one_point_series_get_a_range_around_their_value():
    constant = line_chart_svg("c", [Line([(0, 2.0), (1, 2.0), (2, 2.0)])])
    values = [float(v) for v in y_labels(constant)]
    assert values and min(values) >= 1.7 and max(values) <= 2.3 and 2.0 in values
    one = line_chart_svg("one", [Line([(5, 0.3)])], last=0.3)
    values = [float(v) for v in y_labels(one)]
    assert min(values) >= 0.26 and max(values) <= 0.34  # not an invented 0..1 range
    assert x_labels(one) == ["4", "5", "6"]  # whole steps around the single step
    assert "<circle cx=" in one  # a lone point is drawn as a dot


def test_tick_labels_fit_inside_the_chart():
    for values in (
        [1e6 * (1 + i % 5) for i in range(20)],
        [1e-4 * (1 + i % 7) for i in range(20)],
        [123456.789 + i for i in range(20)],
    ):
        svg = line_chart_svg("k", [Line(list(enumerate(values)))])
        width = int(re.search(r'width="(\d+)"', svg).group(1))
        for x, anchor, label in re.findall(
            r"<text class='tick' x='([\d.]+)' y='[\d.]+' font-size='10' "
            r"text-anchor='(\w+)'[^>]*>([^<]+)<",
            svg,
        ):
            extent = CHAR_PX * len(label)
            left = {"end": float(x) - extent, "middle": float(x) - extent / 2, "start": float(x)}[
                anchor
            ]
            assert left >= 0 and left + extent <= width + 1, (label, x, anchor)


def test_hover_reads_step_and_value_including_the_latest_point():
    points = [(step, 1 / (step + 1)) for step in range(300)]
    svg = line_chart_svg("train/loss", [Line(points)], x_label="global_step")
    readouts = re.findall(r"<title>(global_step [^<]+)</title>", svg)
    assert len(readouts) == HOVER_BANDS == 20
    assert readouts[0] == "global_step 0 · 1" and readouts[-1] == "global_step 299 · 0.003333"
    steps = [int(r.split()[1]) for r in readouts]
    assert steps == sorted(steps)
    # hidden by an attribute, shown by CSS on hover: no script, and hidden where styles are stripped
    assert "<script" not in svg and svg.count("visibility='hidden'") == HOVER_BANDS


def test_several_runs_share_a_chart_and_a_readout():
    a = Line([(s, s * 1.0) for s in range(10)], label="run-a")
    b = Line([(s, s * 2.0) for s in range(10)], label="run-b", color="#ff7f0e")
    svg = line_chart_svg("x", [a, b])
    assert svg.count("<polyline") == 2 and "run-a 9 · run-b 18" in svg
