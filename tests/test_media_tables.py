"""Tables, text and PredictionTable: logged to real offline runs, the table JSON read back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from media_support import media_value, media_values, table_json

import nbwandb
from nbwandb import NbwandbError
from nbwandb.local import read_run
from nbwandb.media import PredictionTable, table_rows, to_table_rows
from nbwandb.media import tables as tables_module
from nbwandb.run.run import NoOpRun


def table_artifact_images(run, key):
    """Image files wandb put in the run_table artifact of ``key`` (where table images live)."""
    arts = [
        a
        for a in read_run(run.run_dir).artifacts
        if a["type"] == "run_table" and a["name"].endswith(key)
    ]
    return [[e for e in a["manifest"] if e["path"].endswith(".png")] for a in arts]


def test_rows_columns_and_dataframes_are_written_as_table_json():
    df = pd.DataFrame({"name": ["a", "b", "c"], "score": [0.1, 0.2, 0.3], "n": [1, 2, 3]})
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"loss": 1.0}, step=2)
        run.log_table(
            "rows",
            [[1, "x", np.float32(0.5)], (2, "y", torch.tensor(1.5))],
            columns=["id", "label", "value"],
            step=2,
        )
        run.log_table("df", df, step=2, prefix="eval")
        run.log_table("df_pick", df, columns=["score", "name"], step=2)
        run.log_table("dicts", [{"a": 1, "b": "u"}, {"a": 2, "c": True}], step=2)
        run.log_table("matrix", np.arange(6).reshape(2, 3), step=2)
    history = read_run(run.run_dir).history
    assert len(history) == 1 and history[0]["loss"] == 1.0  # one row for step 2
    rows = media_value(run, "rows")
    assert (rows["nrows"], rows["ncols"]) == (2, 3)
    assert table_json(run, "rows") == {
        "columns": ["id", "label", "value"],
        "data": [[1, "x", 0.5], [2, "y", 1.5]],
    }
    assert table_json(run, "eval/df") == {
        "columns": ["name", "score", "n"],
        "data": [["a", 0.1, 1], ["b", 0.2, 2], ["c", 0.3, 3]],
    }
    assert table_json(run, "df_pick")["columns"] == ["score", "name"]
    assert table_json(run, "dicts") == {
        "columns": ["a", "b", "c"],
        "data": [[1, "u", None], [2, None, True]],
    }
    assert table_json(run, "matrix") == {
        "columns": ["c0", "c1", "c2"],
        "data": [[0, 1, 2], [3, 4, 5]],
    }


def test_image_cells_become_images_in_the_table_artifact():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_table(
            "preds",
            {
                "image": torch.rand(3, 3, 8, 8),
                "label": torch.tensor([1, 2, 3]),
                "prob": np.array([0.1, 0.5, 0.9]),
            },
            step=0,
        )
    data = table_json(run, "preds")
    assert data["columns"] == ["image", "label", "prob"]
    assert [row[1:] for row in data["data"]] == [[1, 0.1], [2, 0.5], [3, 0.9]]
    assert [row[0] for row in data["data"]] == [
        "Image"
    ] * 3  # wandb's placeholder; files in the artifact
    [images] = table_artifact_images(run, "preds")
    assert len(images) == 3


def test_row_limit_raises_unless_sampled():
    big = {"i": list(range(10_050))}
    with nbwandb.init(project="p", quiet=True) as run:
        with pytest.raises(NbwandbError, match=r"'big'.*10050 rows.*10000.*sample=N"):
            run.log_table("big", big, step=0)
        run.log_table("big", big, sample=100, step=0)
        run.log_table("small", {"i": [3, 1, 2]}, sample=2, step=0)
    value = media_value(run, "big")
    assert value["nrows"] == 100
    kept = [row[0] for row in table_json(run, "big")["data"]]
    assert kept == sorted(kept) and len(set(kept)) == 100  # distinct rows, original order
    assert kept == [row[0] for row in to_table_rows(big, key="again", sample=100)[1]]  # fixed seed
    assert len(table_json(run, "small")["data"]) == 2


def test_text_as_a_one_column_table():
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_text("note", "hello world", step=0)
        run.log_text("samples", ["a cat", "a dog"], step=1)
        run.log_text("pairs", [("prompt", "completion")], step=1)
        run.log_text("frame", pd.DataFrame({"prompt": ["p"], "answer": ["a"]}), step=1)
    assert table_json(run, "note") == {"columns": ["text"], "data": [["hello world"]]}
    assert table_json(run, "samples") == {"columns": ["text"], "data": [["a cat"], ["a dog"]]}
    assert table_json(run, "pairs") == {"columns": ["c0", "c1"], "data": [["prompt", "completion"]]}
    assert table_json(run, "frame") == {"columns": ["prompt", "answer"], "data": [["p", "a"]]}


def test_prediction_table_grows_each_epoch():
    table = PredictionTable()
    with nbwandb.init(project="p", quiet=True) as run:
        for epoch in range(3):
            images = torch.rand(2, 3, 6, 6)
            table.add_batch(
                epoch,
                images,
                labels=["cat", "dog"],
                predictions=["cat", "cat"],
                scores=torch.tensor([0.9, 0.4]),
            )
            table.add(
                epoch,
                np.full((6, 6), 50 + epoch, np.uint8),
                label="bird",
                prediction=np.str_("dog"),
            )
            table.log(run, "samples", step=epoch)
            run.log({"val/acc": 0.5 + epoch / 10}, step=epoch)
    values = media_values(run, "samples")
    assert [v["nrows"] for v in values] == [3, 6, 9]
    assert {v["ncols"] for v in values} == {5}
    last = table_json(run, "samples")
    assert last["columns"] == ["epoch", "image", "label", "prediction", "score"]
    assert [row[0] for row in last["data"]] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert last["data"][0][2:] == ["cat", "cat", pytest.approx(0.9)]
    assert last["data"][2][2:] == ["bird", "dog", None]
    assert [len(images) for images in table_artifact_images(run, "samples")] == [3, 6, 9]
    assert len(read_run(run.run_dir).history) == 3


def test_prediction_table_is_bounded_and_checks_its_input():
    table = PredictionTable(max_rows=4)
    with pytest.warns(nbwandb.NbwandbWarning, match="oldest rows are dropped"):  # noqa: PT031 - the third batch warns
        for epoch in range(3):
            table.add_batch(epoch, np.zeros((2, 4, 4, 3), np.uint8), ["a", "b"], ["a", "b"])
    assert len(table) == 4 and [row[0] for row in table.rows()] == [1, 1, 2, 2]
    with pytest.raises(NbwandbError, match="3 labels for 2 images"):
        table.add_batch(3, torch.rand(2, 3, 4, 4), ["a", "b", "c"], ["a", "b"])
    with pytest.raises(TypeError, match="epoch must be an int"):
        table.add("one", np.zeros((4, 4)), "a", "b")
    with pytest.raises(NbwandbError, match="no rows yet"):
        PredictionTable().log(NoOpRun(), "k")
    table.log(NoOpRun(), "k")  # a no-op run logs nothing and does not fail
    table.add(3, np.zeros((4, 4)), label=7, prediction=7)
    with pytest.raises(
        TypeError,
        match=r"'k': column 'label' mixes str \(first in row 0\), number \(first in row 3\)",
    ):
        table.to_wandb(key="k")


BAD = [
    ("ragged rows", {"data": [[1, 2], [3]]}, ValueError, ["row 1 has 1 cells"]),
    (
        "row vs columns",
        {"data": [[1, 2]], "columns": ["a"]},
        ValueError,
        ["row 0 has 2 cells", "['a']"],
    ),
    (
        "column lengths",
        {"data": {"a": [1, 2], "b": [1]}},
        ValueError,
        ["different lengths", "'a': 2", "'b': 1"],
    ),
    (
        "unknown cell",
        {"data": [[object()]], "columns": ["x"]},
        TypeError,
        ["row 0, column 'x'", "object"],
    ),
    (
        "mixed column",
        {"data": [[1], ["a"]], "columns": ["x"]},
        TypeError,
        ["column 'x' mixes number", "one type"],
    ),
    ("no rows no columns", {"data": []}, ValueError, ["no rows and no columns"]),
    ("not a table", {"data": 42}, TypeError, ["int", "accepted"]),
    ("3-d array", {"data": np.zeros((2, 2, 2))}, ValueError, ["(2, 2, 2)", "accepted"]),
    (
        "missing column",
        {"data": {"a": [1]}, "columns": ["b"]},
        ValueError,
        ["['b'] are not in the data"],
    ),
    ("sample zero", {"data": {"a": [1]}, "sample": 0}, ValueError, ["sample=0"]),
    (
        "bad image cell",
        {"data": {"img": [torch.rand(2, 5, 5)]}},
        ValueError,
        ["(2, 5, 5)", "channels"],
    ),
    (
        "columns type",
        {"data": [[1]], "columns": "a"},
        TypeError,
        ["columns must be a list of strings"],
    ),
]


@pytest.mark.parametrize(("case", "kwargs", "kind", "words"), BAD, ids=[c[0] for c in BAD])
def test_bad_tables_get_clear_errors(case, kwargs, kind, words):
    with pytest.raises(kind) as info:
        tables_module.log_table(NoOpRun(), "tab", **kwargs)
    assert isinstance(info.value, NbwandbError)
    assert "'tab" in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("text", [None, 3, [], [1, 2]])
def test_bad_text_gets_a_clear_error(text):
    with pytest.raises((TypeError, ValueError), match="'txt'"):
        tables_module.log_text(NoOpRun(), "txt", text)


def test_table_rows_is_the_converter_under_its_first_name():
    # two functions were called table_rows; the converter's old public name still works
    assert table_rows is to_table_rows
    assert to_table_rows({"n": [np.float32(0.5)]}, key="t") == (["n"], [[0.5]])
