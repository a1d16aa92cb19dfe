"""render.charts: the one builder of smoothed lines and of a section's charts (the RunPanel
and nbwandb.show both draw with it), and render.chart_data's section model."""

from __future__ import annotations

import re

from nbwandb.render.chart_data import chart_sections, smooth_ema, x_extent
from nbwandb.render.charts import section_chart, smoothed_lines
from nbwandb.render.svg_charts import COLORS


def test_smoothed_lines_put_the_raw_values_faint_under_the_average():
    xs, ys = [0.0, 1.0, 2.0, 3.0], [4.0, 0.0, 4.0, 0.0]
    raw, smooth = smoothed_lines(xs, ys, 0.6, label="a", color="#123456")
    assert raw.faint and not smooth.faint and raw.color == smooth.color == "#123456"
    assert [y for _, y in raw.points] == ys
    assert [y for _, y in smooth.points] == smooth_ema(ys, 0.6)
    (plain,) = smoothed_lines(xs, ys, 0.0)
    assert not plain.faint and [y for _, y in plain.points] == ys
    (single,) = smoothed_lines([5.0], [1.0], 0.6)  # one point: nothing to smooth
    assert single.points == [(5.0, 1.0)]


def test_smoothing_averages_every_point_before_thinning():
    xs = [float(i) for i in range(1000)]
    ys = [float(i % 2) for i in range(1000)]
    raw, smooth = smoothed_lines(xs, ys, 0.9, max_points=50)
    assert len(raw.points) <= 51 and len(smooth.points) <= 51
    # the average of a 0,1,0,1 series settles near 0.5; thinned first, it would not
    assert all(0.3 < y < 0.7 for _, y in smooth.points[10:])


def test_a_run_keeps_its_colour_where_another_lacks_a_key():
    points = {
        "train/loss": [("a", [0, 1], [1.0, 0.5]), ("b", [0, 1], [2.0, 1.0])],
        "train/acc": [("a", [], []), ("b", [0, 4], [0.1, 0.2])],
    }
    chart = section_chart("train", points, smoothing=0)
    assert chart.keys == ["train/loss", "train/acc"] and len(chart.svgs) == 2
    assert COLORS[0] in chart.svgs[0] and COLORS[1] in chart.svgs[0]
    assert COLORS[1] in chart.svgs[1] and COLORS[0] not in chart.svgs[1]
    # no shared range given: the section's own (0 to 4) in both charts
    assert re.search(r">4<", chart.svgs[0]) and re.search(r">4<", chart.svgs[1])


def test_sections_in_wandb_order_keys_as_given():
    keys = ["lr", "z/x", "val/loss", "eval/f1", "train/loss", "a/b", "train/acc"]
    assert chart_sections(keys) == {
        "train": ["train/loss", "train/acc"],
        "val": ["val/loss"],
        "eval": ["eval/f1"],
        "a": ["a/b"],
        "z": ["z/x"],
        "charts": ["lr"],
    }
    assert x_extent([[], [2.0, -1.0], [7.0]]) == (-1.0, 7.0) and x_extent([[]]) is None
