"""The shared HTML tables: short numbers, units, compact times, escaping, scroll box."""

from __future__ import annotations

import datetime as dt
import enum

import pytest

from nbwandb.render.html_tables import (
    cell_html,
    format_cell,
    format_duration,
    format_timestamp,
    table_html,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0123, "12 ms"),
        (5.25, "5.2 s"),
        (65, "1 m 05 s"),
        (3725, "1 h 02 m"),
        (90000, "1 d 01 h"),
        (None, ""),
    ],
)
def test_durations_have_units(seconds, text):
    assert format_duration(seconds) == text


def test_timestamps_are_compact_utc():
    when = dt.datetime(2026, 11, 30, 7, 1, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_timestamp(when) == "2026-11-30 05:01"


class Act(enum.Enum):
    RELU = "relu"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.33333"),
        (12345678.9, "1.2346e+07"),
        (2.0, "2"),
        (7, "7"),
        (True, "true"),
        ("relu", "relu"),
        (Act.RELU, "relu"),
        ([1, 0.5], "1, 0.5"),
        (None, ""),
        ({"_type": "image-file"}, "<image-file>"),
    ],
)
def test_cells_read_like_pandas(value, text):
    assert format_cell(value) == text


def test_cell_html_aligns_numbers_and_escapes_text():
    assert cell_html(1 / 3) == "<td class='num' title='0.3333333333333333'>0.33333</td>"
    assert cell_html(4.0) == "<td class='num'>4</td>"  # nothing lost: no tooltip
    assert cell_html("<b>") == "<td>&lt;b&gt;</td>"
    assert cell_html("x" * 80).startswith(
        "<td class='wrap'>"
    )  # long text wraps instead of stretching


def test_table_has_a_scroll_box_and_a_sticky_header():
    page = table_html(["name", "loss"], [["a", 0.5], ["b", None]], caption="2 runs")
    assert "<th class=num>loss</th>" in page  # a numeric column (empty cells allowed)
    assert "<div class='nbw-caption'>2 runs</div>" in page and "<div class='nbw-scroll'>" in page
    assert "position:sticky" in page and "nth-child(even)" in page  # sticky header, zebra rows
    assert "<style>" not in table_html(["a"], [[1]], css=False)


def test_every_table_writes_a_float_alike():
    # the runs table's text form used .4g and the page's config diff .6g; one format now
    from nbwandb.local.runs_table import RunsTable
    from nbwandb.views.dashboard_html import short

    value = 0.123456789
    table = RunsTable([{"name": "a", "summary.loss": value}])
    assert "0.12346" in str(table) and "0.12346" in table._repr_html_()
    assert short(value) == format_cell(value) == "0.12346"
    assert short("x" * 100, limit=10) == "x" * 9 + "…"
