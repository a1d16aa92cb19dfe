"""Metric logging: one row per step, prefixes, value conversion, warnings, back-pressure, errors.

Each test reads the offline run file back (nbwandb's reader, cross-checked with wandb leet).
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest
import torch
from leet import leet_history

import nbwandb
from nbwandb import NbwandbError, NbwandbWarning, WriterError
from nbwandb.local import read_run


def metric_rows(run):
    """History rows without wandb's own underscore keys."""
    return [
        {k: v for k, v in row.items() if not k.startswith("_")}
        for row in read_run(run.run_dir).history
    ]


def test_train_and_val_calls_for_one_step_make_one_row():
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
            run.log({"loss": 2.0 / (step + 1), "acc": 0.5}, step=step, prefix="val")
    rows = metric_rows(run)
    assert len(rows) == 5
    assert rows[2] == {"global_step": 2, "train/loss": 1 / 3, "val/loss": 2 / 3, "val/acc": 0.5}
    assert [r["global_step"] for r in leet_history(run.run_dir)] == list(range(5))


def test_without_step_each_call_is_its_own_step():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"a": 1})
        run.log({"b": 2})
        run.log({"c": 3}, step=10)
        run.log({"d": 4})
    assert metric_rows(run) == [
        {"global_step": 0, "a": 1},
        {"global_step": 1, "b": 2},
        {"global_step": 10, "c": 3},
        {"global_step": 11, "d": 4},
    ]


def test_pending_row_is_committed_by_flush_and_finish():
    run = nbwandb.init(project="p", quiet=True)
    run.log({"x": 1}, step=0)
    assert run.flush(timeout=30)
    assert run.rows_written == 1
    run.log({"x": 2}, step=1)
    run.finish()
    assert [r["x"] for r in metric_rows(run)] == [1, 2]


def test_nested_dicts_are_flattened_and_prefix_joins_with_slash():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"acc": {"top1": 0.7, "top5": 0.9}, "lr": 0.1}, step=0, prefix="val/")
    assert metric_rows(run) == [
        {"global_step": 0, "val/acc/top1": 0.7, "val/acc/top5": 0.9, "val/lr": 0.1}
    ]


def test_values_are_converted():
    values = {
        "py_int": 3,
        "py_float": 0.25,
        "flag": True,
        "np_scalar": np.float32(0.5),
        "np_int": np.int64(7),
        "np_0d": np.array(1.5),
        "torch_0d": torch.tensor(2.5, requires_grad=True) * 1,
        "torch_int": torch.tensor(4),
    }
    with nbwandb.init(project="p", quiet=True) as run:
        run.log(values, step=0)
    row = metric_rows(run)[0]
    assert row == {
        "global_step": 0,
        "py_int": 3,
        "py_float": 0.25,
        "flag": True,
        "np_scalar": 0.5,
        "np_int": 7,
        "np_0d": 1.5,
        "torch_0d": 2.5,
        "torch_int": 4,
    }


def test_nan_and_inf_are_kept_and_warned_about_once_per_key():
    with nbwandb.init(project="p", quiet=True) as run:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(3):
                run.log({"loss": float("nan"), "grad": float("inf")}, step=step)
    messages = [str(w.message) for w in caught if issubclass(w.category, NbwandbWarning)]
    assert len(messages) == 2 and any("'loss' is nan" in m for m in messages)
    rows = read_run(run.run_dir).history
    assert len(rows) == 3
    assert all(math.isnan(r["loss"]) and r["grad"] == math.inf for r in rows)


@pytest.mark.parametrize(
    ("metrics", "match", "error"),
    [
        ({"img": np.zeros((2, 2))}, r"metric 'img': an array of shape \(2, 2\)", NbwandbError),
        ({"t": torch.ones(3)}, r"metric 't': a tensor of shape \(3,\)", NbwandbError),
        ({"s": "text"}, r"metric 's': a str cannot be logged.*accepted", NbwandbError),
        ({"o": object()}, r"metric 'o': a object", NbwandbError),
        ({1: 0.5}, r"metric key 1 .*non-empty strings", TypeError),
        ({"": 0.5}, r"metric key '' ", TypeError),
        ([("a", 1)], r"expects a dict", TypeError),
        ({"global_step": 3}, r"'global_step' is the step key", ValueError),
    ],
)
def test_bad_values_fail_at_the_call_naming_the_key_and_lose_nothing(metrics, match, error):
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"good": 1}, step=0)
        with pytest.raises(error, match=match):
            run.log(metrics, step=1)
        run.log({"good": 2}, step=2)
    assert [r["good"] for r in metric_rows(run)] == [1, 2]


def test_bad_steps_and_prefixes_are_rejected():
    with nbwandb.init(project="p", quiet=True) as run:
        for step in (-1, 1.5, "3", True):
            with pytest.raises((TypeError, ValueError), match="step="):
                run.log({"x": 1}, step=step)
        with pytest.raises(ValueError, match="prefix="):
            run.log({"x": 1}, prefix="/")
        run.log({"x": 1}, step=np.int64(5))
        run.log({"y": 1}, step=torch.tensor(5))
    assert metric_rows(run) == [{"global_step": 5, "x": 1, "y": 1}]


def test_a_step_going_backwards_is_warned_once_per_key_and_still_logged():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"loss": 1.0}, step=10)
        run.log({"loss": 0.9}, step=11)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.log({"loss": 0.8}, step=3)
            run.log({"loss": 0.7}, step=12)
            run.log({"loss": 0.6}, step=4)  # same key again: no second warning
    messages = [str(w.message) for w in caught if issubclass(w.category, NbwandbWarning)]
    assert len(messages) == 1
    assert (
        "step 3" in messages[0]
        and "last committed step 11" in messages[0]
        and "'loss'" in messages[0]
    )
    assert [r["global_step"] for r in metric_rows(run)] == [10, 11, 3, 12, 4]


def test_back_pressure_with_a_tiny_queue_drops_nothing():
    with nbwandb.init(project="p", quiet=True, queue_size=1) as run:
        for step in range(300):
            run.log({"a": step, "b": -step}, step=step)
    rows = metric_rows(run)
    assert [r["a"] for r in rows] == list(range(300))
    assert all(r["b"] == -r["a"] for r in rows)


def test_logging_happens_off_the_calling_thread():
    threads = set()
    with nbwandb.init(project="p", quiet=True) as run:
        run.add_listener(lambda row: threads.add(threading.current_thread().name))
        for step in range(3):
            run.log({"x": step}, step=step)
        run.flush()
    assert threads and all(name.startswith("nbwandb-writer") for name in threads)


def test_an_error_in_the_writer_surfaces_on_the_next_call(monkeypatch):
    run = nbwandb.init(project="p", quiet=True)
    run.log({"x": 0}, step=0)
    run.flush()
    real_log = run.wandb_run.log

    def broken(row, *args, **kwargs):  # fault injection: the wandb service refuses a row
        raise ConnectionResetError("wandb service went away")

    monkeypatch.setattr(run.wandb_run, "log", broken)
    run.log({"x": 1}, step=1)
    run.log({"x": 2}, step=2)  # commits step 1, which fails in the writer
    with pytest.raises(WriterError, match="ConnectionResetError: wandb service went away"):
        run.flush()
    monkeypatch.setattr(run.wandb_run, "log", real_log)
    with pytest.raises(WriterError):
        run.log({"x": 3}, step=3)
    run.finish(exit_code=1)
    local = read_run(run.run_dir)
    assert [r["x"] for r in local.history] == [0]  # what was written before the failure stays
    assert local.exit_code == 1


def test_a_list_of_wandb_images_is_logged_as_one_media_set():
    import wandb

    images = [wandb.Image(np.full((4, 4, 3), i * 60, dtype=np.uint8)) for i in range(3)]
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"samples": images, "loss": 0.5}, step=0)
        with pytest.raises(NbwandbError, match="metric 'mixed'"):
            run.log({"mixed": [images[0], 3]}, step=1)
    row = read_run(run.run_dir).history[0]
    assert row["samples"]["_type"] == "images/separated" and row["samples"]["count"] == 3
    assert row["loss"] == 0.5


def test_use_x_axis_gives_an_integration_its_own_step():
    from leet import leet_records

    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"loss": 1.0}, step=0)
        run.use_x_axis("trainer/global_step")
        # what Lightning's WandbLogger does with the active run
        run.wandb_run.log({"trainer/global_step": 7, "lightning/loss": 0.5})
        run.use_x_axis()
        run.log({"loss": 0.9}, step=1)
        with pytest.raises(ValueError, match="step_metric=''"):
            run.use_x_axis("")
    rows = read_run(run.run_dir).history
    assert [sorted(k for k in r if not k.startswith("_")) for r in rows] == [
        ["global_step", "loss"],
        ["lightning/loss", "trainer/global_step"],
        ["global_step", "loss"],
    ]
    axes = [
        r["metric"].get("step_metric")
        for r in leet_records(run.run_dir, "metric")
        if r["metric"].get("glob_name") == "*"
    ]
    assert axes == ["global_step", "trainer/global_step", "global_step"]
