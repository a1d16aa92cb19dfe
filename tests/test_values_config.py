"""``nbwandb.values.config``: user configs into JSON-safe dicts, and wandb-core's merge, without a run."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import math
from pathlib import Path

import numpy as np
import pytest

from nbwandb.errors import NbwandbError
from nbwandb.values.config import (
    convert_value,
    flatten_config,
    has_leaf,
    merge_config,
    to_config_dict,
)


class Optim(enum.Enum):
    ADAM = "adam"


@dataclasses.dataclass
class Train:
    lr: float = 1e-3
    optim: Optim = Optim.ADAM
    data: Path = Path("/data")


def test_dicts_dataclasses_and_namespaces_become_plain_dicts():
    expected = {"lr": 0.001, "optim": "adam", "data": "/data"}
    assert to_config_dict(Train()) == expected
    assert to_config_dict(argparse.Namespace(**dataclasses.asdict(Train()))) == expected
    assert to_config_dict(None) == {}
    with pytest.raises(TypeError, match="config of type list is not accepted"):
        to_config_dict([1])


def test_values_become_json_safe():
    value = {"nan": math.nan, "arr": np.arange(3), "set": {2, 1}, "t": (1, np.float64(0.5))}
    assert convert_value(value, "v") == {
        "nan": "nan",
        "arr": [0, 1, 2],
        "set": [1, 2],
        "t": [1, 0.5],
    }
    with pytest.raises(
        NbwandbError,
        match=r"config key 'v\.f': a value of type builtins\.builtin_function_or_method",
    ):
        convert_value({"f": print}, "v")


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({1: "x"}, TypeError, "config key 1 is a int"),
        ({"a": {2: "x"}}, TypeError, "config key 2 under 'a'"),
        ({"_wandb": {}}, ValueError, "'_wandb' is wandb's own"),
        ({"-lr": 1}, ValueError, "starts or ends with '-'"),
    ],
)
def test_keys_wandb_would_mangle_are_refused(config, error, message):
    with pytest.raises(error, match=message):
        to_config_dict(config)


def test_merge_goes_down_to_the_leaves_and_ignores_empty_dicts():
    target = {"opt": {"lr": 1, "betas": [0.9]}, "s": 1}
    update = {"opt": {"lr": 2}, "s": {}, "new": {"x": {}}}
    assert merge_config(target, update) == {"opt": {"lr": 2, "betas": [0.9]}, "s": 1}
    assert not has_leaf({"a": {"b": {}}}) and has_leaf({"a": {"b": 0}})


def test_merge_copies_so_later_changes_to_the_update_do_not_leak():
    update = {"layers": [1, 2]}
    target = merge_config({}, update)
    update["layers"].append(3)
    assert target == {"layers": [1, 2]}


NESTED = {
    "opt": {"lr": 0.1, "sched": {"warmup": 5}},
    "table": {"_type": "table-file", "path": "t.json"},
    "extra": {},
    "seed": 1,
}
FLAT = {
    "opt.lr": 0.1,
    "opt.sched.warmup": 5,
    "table": {"_type": "table-file", "path": "t.json"},
    "extra": {},
    "seed": 1,
}


def test_flatten_opens_nested_dicts_only():
    # a wandb value (a dict with _type) is one cell; an empty dict keeps its column
    assert flatten_config(NESTED) == FLAT
    assert flatten_config(NESTED, "config.") == {f"config.{k}": v for k, v in FLAT.items()}
    assert flatten_config({}) == {}


def test_every_table_flattens_a_config_alike():
    # The page's config table, the runs table and the sweep table used three rules before.
    from types import SimpleNamespace

    from nbwandb.sweeps.result import TrialRecord
    from nbwandb.views.dashboard_html import config_table

    keys, values = config_table([SimpleNamespace(config=NESTED)])
    assert keys == list(FLAT) and {k: v[0] for k, v in values.items()} == FLAT
    row = TrialRecord(0, "complete", NESTED).as_row()
    assert {k[len("param.") :]: v for k, v in row.items() if k.startswith("param.")} == FLAT
