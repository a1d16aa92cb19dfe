"""``nbwandb.values.metrics``: one ``run.log`` call checked and flattened, without a run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nbwandb.errors import NbwandbError
from nbwandb.values.metrics import (
    check_step,
    convert_metric,
    flatten_metrics,
    is_non_finite,
    is_number,
    join_key,
)


def test_flatten_joins_prefix_and_nested_keys():
    assert flatten_metrics({"loss": 1, "acc": {"top1": 0.5}}, prefix="val") == {
        "val/loss": 1,
        "val/acc/top1": 0.5,
    }
    assert flatten_metrics({"a": {"b": {"c": 2}}}) == {"a/b/c": 2}
    assert join_key("train/", "loss") == "train/loss" and join_key(None, "loss") == "loss"


@pytest.mark.parametrize(
    ("metrics", "kwargs", "error", "message"),
    [
        ([1, 2], {}, TypeError, "expects a dict of metrics, got list"),
        ({"": 1}, {}, TypeError, "metric key '' is not accepted"),
        ({"x": {3: 1}}, {}, TypeError, "metric key 3 under 'x'"),
        ({"_step": 1}, {}, ValueError, "'_step' is not accepted: wandb sets it"),
        ({"x": 1}, {"prefix": "/"}, ValueError, "prefix='/' is not accepted"),
        ({"global_step": 3}, {"step_metric": "global_step"}, ValueError, "is the step key"),
    ],
)
def test_flatten_rejects_bad_input_naming_it(metrics, kwargs, error, message):
    with pytest.raises(error, match=message):
        flatten_metrics(metrics, **kwargs)


def test_convert_metric_keeps_numbers_and_unwraps_one_element_arrays():
    assert convert_metric("a", 3) == 3 and convert_metric("b", True) is True
    assert convert_metric("c", None) is None
    assert convert_metric("d", np.float32(0.5)) == 0.5  # a numpy scalar is a number already
    for array in (np.array(7), np.array([7])):
        value = convert_metric("e", array)
        assert value == 7 and type(value) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros(3), r"metric 'k': an array of shape \(3,\).*log_histogram"),
        ("text", "metric 'k': a str cannot be logged"),
        (1j, "metric 'k': a complex cannot be logged"),
    ],
)
def test_convert_metric_rejects_what_wandb_cannot_chart(value, message):
    with pytest.raises(NbwandbError, match=message):
        convert_metric("k", value)


def test_is_number_and_is_non_finite():
    assert is_number(1) and is_number(0.5) and is_number(np.float64(2.0))
    assert not is_number(True) and not is_number("1") and not is_number(None)
    assert is_non_finite(math.nan) and is_non_finite(-math.inf) and not is_non_finite(1.0)


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 0), (5, 5), (2.0, 2), (np.int64(7), 7), (np.float32(3), 3)]
)
def test_check_step_accepts_whole_non_negative_numbers(step, expected):
    assert check_step(step) == expected and type(check_step(step)) is int


@pytest.mark.parametrize(
    ("step", "error"), [(True, TypeError), (1.5, TypeError), ("3", TypeError), (-1, ValueError)]
)
def test_check_step_rejects_the_rest(step, error):
    with pytest.raises(error, match=r"step=.* is not accepted"):
        check_step(step)
