"""Bad input, generated at random (hypothesis): configs, metric dicts, media arrays, sweep configs.

Every rejection must be nbwandb's clear error (``NbwandbError``, ``ValueError`` or
``TypeError``) with a non-empty message; no other exception may escape; and whatever was
accepted before a rejection must still be in the run when it is read back. One run is
shared by all examples of a test (starting a run per example would take minutes).
Set ``NBWANDB_FUZZ_EXAMPLES`` to run more examples than the quick default.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from leet import leet_summary
from relkit import record

import nbwandb
from nbwandb.local import read_run
from nbwandb.sweeps import parse_sweep_config
from nbwandb.values.config import merge_config, to_config_dict

EXAMPLES = int(os.environ.get("NBWANDB_FUZZ_EXAMPLES", "60"))
CLEAR_ERRORS = (nbwandb.NbwandbError, ValueError, TypeError)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="NBWANDB_FUZZ_EXAMPLES" not in os.environ,  # the same cases in `make test`
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


class Tally:
    """Counts accepted and rejected cases, and the error types seen."""

    def __init__(self) -> None:
        self.accepted = 0
        self.errors: Counter[str] = Counter()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # NaN/inf and backwards steps warn; not under test here
                value = fn(*args, **kwargs)
        except CLEAR_ERRORS as exc:
            assert str(exc).strip(), f"{type(exc).__name__} with an empty message"  # noqa: PT017 - a tally, not one expected error
            self.errors[type(exc).__name__] += 1
            return False, exc
        self.accepted += 1
        return True, value

    @property
    def cases(self) -> int:
        return self.accepted + sum(self.errors.values())

    def figures(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "accepted": self.accepted,
            "rejected": sum(self.errors.values()),
            "error_types": dict(self.errors),
        }


# -- strategies ---------------------------------------------------------------------------------
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", "/", "a/b", "_step", "_runtime", "_wandb", "global_step", "x.y", " ", "-lr", "lr-"]
    ),
)
odd_keys = st.one_of(keys, st.integers(), st.none(), st.tuples(st.integers()), st.booleans())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.complex_numbers(),
    st.builds(object),
    st.just(Path("/tmp/x")),
    st.just(print),
    st.just(Ellipsis),
    st.sampled_from(
        [
            np.float32(1.5),
            np.int64(7),
            np.bool_(True),
            np.float64("nan"),
            np.array(3.0),
            np.zeros((2, 2)),
            np.datetime64("2020-01-01"),
            np.str_("s"),
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(odd_keys, inner, max_size=4),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)
good_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# Half plausible (string keys, plain values), half anything: both sides of the line get exercised.
configs = st.one_of(
    st.dictionaries(st.text(max_size=10) | keys, good_values, max_size=6),
    st.dictionaries(odd_keys, values, max_size=6),
    values,
)
metric_values = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.text(max_size=5),
    st.complex_numbers(),
    st.builds(object),
    st.lists(st.floats(), max_size=3),
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64, np.uint8]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
    ),
)
metric_dicts = st.recursive(
    st.dictionaries(keys, metric_values, max_size=5),
    lambda inner: st.dictionaries(keys, st.one_of(metric_values, inner), max_size=4),
    max_leaves=10,
)
any_arrays = hnp.arrays(
    dtype=st.sampled_from(
        [np.uint8, np.float32, np.float64, np.int64, np.bool_, np.int8, np.uint16, np.complex64]
    ),
    shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6),
)
image_like = st.one_of(
    hnp.arrays(
        np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 3, 4]))
    ),
    hnp.arrays(
        np.float32,
        st.tuples(st.sampled_from([1, 3]), st.integers(1, 8), st.integers(1, 8)),
        elements=st.floats(0, 1, width=32),
    ),
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 8), st.integers(1, 8))
    ),  # any range, NaN included
)
image_arrays = st.one_of(any_arrays, image_like)
table_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.builds(object),
    st.lists(st.integers(), max_size=2),
)
table_data = st.one_of(
    st.lists(st.lists(table_cells, min_size=1, max_size=3), max_size=4),  # rows
    st.dictionaries(st.text(max_size=4), st.lists(table_cells, max_size=3), max_size=3),  # columns
    table_cells,
)
waves = st.one_of(
    any_arrays, hnp.arrays(np.float32, st.integers(1, 400), elements=st.floats(-1, 1, width=32))
)
sweep_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.sampled_from(
            [
                "grid",
                "random",
                "bayes",
                "minimize",
                "maximize",
                "hyperband",
                "uniform",
                "int_uniform",
                "log_uniform_values",
                "categorical",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "method",
                    "metric",
                    "parameters",
                    "name",
                    "goal",
                    "values",
                    "value",
                    "min",
                    "max",
                    "distribution",
                    "early_terminate",
                    "type",
                    "min_iter",
                    "eta",
                    "q",
                    "lr",
                    "depth",
                    "target",
                    "run_cap",
                ]
            )
            | st.text(max_size=4),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


def _same(read: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(read, bool):
        return bool(read) == bool(expected)
    if isinstance(expected, (int, float)) and isinstance(read, (int, float)):
        if math.isnan(expected):
            return math.isnan(read)
        return read == expected or math.isclose(read, expected, rel_tol=1e-6)
    return True  # media and other wandb types: presence is what is checked


def _same_tree(a: Any, b: Any) -> bool:
    """Equal JSON trees; numbers to 7 digits (leet reads numbers as float64: ints past 2**53 round)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b, strict=True))
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return math.isclose(a, b, rel_tol=1e-6)
    return bool(a == b)


# -- the properties -----------------------------------------------------------------------------
def test_random_configs_are_accepted_whole_or_rejected_clearly(tmp_path: Path):
    run = nbwandb.init(project="fuzz-config", mode="offline", quiet=True, config={"seed": 1})
    at_init, on_update = Tally(), Tally()
    expected: dict[str, Any] = {"seed": 1}

    @FUZZ
    @given(config=configs)
    def check(config: Any) -> None:
        ok, _ = on_update.call(run.update_config, config)
        if not ok:
            # init rejects it too, before touching the active run (an accepted config with
            # use_wandb=False would finish the shared run, so only rejections go to init).
            init_ok, _ = at_init.call(nbwandb.init, config=config, use_wandb=False)
            assert not init_ok, f"init accepted a config update_config refused: {config!r}"
            assert nbwandb.active_run() is run and run.state == "running"
        if ok:
            merge_config(expected, to_config_dict(config))  # nested dicts merge, as in wandb-core

    check()
    # wandb strips '-' from the ends of keys: '-lr' would silently overwrite 'lr'; nbwandb refuses it.
    run.update_config({"lr": 0.1})
    ok, error = on_update.call(run.update_config, {"-lr": 0.2})
    assert not ok and "'-lr'" in str(error), error
    run.update_config({"last": "kept"})
    expected.update({"lr": 0.1, "last": "kept"})
    run.finish()
    stored = read_run(run.run_dir).config
    assert json.dumps(run.config, sort_keys=True) == json.dumps(stored, sort_keys=True)
    # wandb's own reader of the file agrees (the merge rule is wandb-core's, not ours).
    assert _same_tree(leet_summary(run.run_dir)["config"], stored)
    for key, value in expected.items():
        assert key in stored, f"accepted config key {key!r} is missing from the run"
        assert json.dumps(stored[key], sort_keys=True) == json.dumps(
            json.loads(json.dumps(value)), sort_keys=True
        ), key
    record(
        "fuzz_configs",
        init=at_init.figures(),
        update_config=on_update.figures(),
        keys_read_back=len(expected),
    )


def test_random_metric_dicts_never_lose_accepted_rows(tmp_path: Path):
    run = nbwandb.init(project="fuzz-metrics", mode="offline", quiet=True)
    tally = Tally()
    accepted: dict[int, dict[str, Any]] = {}
    step = [0]

    @FUZZ
    @given(
        metrics=metric_dicts,
        prefix=st.one_of(st.none(), st.sampled_from(["train", "val", "", "a/"])),
    )
    def check(metrics: dict[str, Any], prefix: str | None) -> None:
        ok, _ = tally.call(run.log, metrics, step=step[0], prefix=prefix)
        if ok:
            row = run._prepare_row(metrics, prefix)  # the flattened row, as nbwandb logged it
            accepted[step[0]] = row
            step[0] += 1

    check()
    bad_steps = Tally()
    for bad in (-1, True, "3", 2.5, [1], None):
        ok, _ = bad_steps.call(run.log, {"probe": 1.0}, step=bad)
        assert not ok or bad is None, f"step={bad!r} was accepted"
    for reserved in (
        {"_step": 5.0},
        {"_runtime": 1.0},
        {"global_step": 3},
    ):  # wandb's / the run's own keys
        ok, _ = bad_steps.call(run.log, reserved, step=step[0])
        assert not ok, f"{reserved} was accepted: its value would be replaced silently"
    run.finish()
    rows = {
        row["global_step"]: row for row in read_run(run.run_dir).history if "global_step" in row
    }
    for s, row in accepted.items():
        assert s in rows, f"row of step {s} was accepted but is not in the run"
        for key, value in row.items():
            if key == "global_step":
                continue
            assert key in rows[s], f"step {s}: key {key!r} is missing"
            assert _same(rows[s][key], value), (s, key, rows[s][key], value)
    assert leet_summary(run.run_dir)["state"] == "finished"
    record(
        "fuzz_metric_dicts",
        **tally.figures(),
        rows_read_back=len(accepted),
        bad_steps_and_reserved_keys=bad_steps.figures(),
    )


def test_random_media_arrays_are_logged_or_rejected_clearly(tmp_path: Path):
    run = nbwandb.init(project="fuzz-media", mode="offline", quiet=True)
    images, hists, audio, points, tables = Tally(), Tally(), Tally(), Tally(), Tally()
    logged_images: list[int] = []
    logged_other: dict[str, list[int]] = {}
    step = [0]

    @settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
    @given(
        arr=image_arrays,
        wave=waves,
        rate=st.one_of(st.integers(-10, 96000), st.integers(8000, 48000), st.floats(), st.none()),
        cloud=st.one_of(
            any_arrays,
            hnp.arrays(np.float32, st.tuples(st.integers(0, 20), st.sampled_from([2, 3, 4, 6, 7]))),
        ),
        table=table_data,
    )
    def check(arr: np.ndarray, wave: np.ndarray, rate: Any, cloud: np.ndarray, table: Any) -> None:
        if points.call(run.log_3d, "cloud", cloud, step=step[0])[0]:
            logged_other.setdefault("cloud", []).append(step[0])
        if tables.call(run.log_table, "table", table, step=step[0])[0]:
            logged_other.setdefault("table", []).append(step[0])
        ok, _ = images.call(run.log_image, "img", arr, step=step[0])
        if ok:
            logged_images.append(step[0])
        hists.call(run.log_histogram, "hist", arr, step=step[0])
        audio.call(run.log_audio, "wave", wave, rate, step=step[0])
        step[0] += 1

    check()
    run.log({"after_media": 1.0}, step=step[0])
    run.finish()
    local = read_run(run.run_dir)
    image_steps = sorted(row["global_step"] for row in local.history if "img" in row)
    assert image_steps == logged_images, "an accepted image is missing from the run"
    assert len([m for m in local.media if m["key"] == "img"]) == len(logged_images)
    for entry in local.media:
        if entry["key"] == "img":
            assert Path(entry["file"]).is_file(), entry
    for key, steps in logged_other.items():
        assert sorted(row["global_step"] for row in local.history if key in row) == steps, (
            f"a {key} is missing"
        )
    assert any(row.get("after_media") == 1.0 for row in local.history)
    record(
        "fuzz_media_arrays",
        images=images.figures(),
        histograms=hists.figures(),
        audio=audio.figures(),
        point_clouds=points.figures(),
        tables=tables.figures(),
    )


param_specs = st.one_of(
    st.fixed_dictionaries(
        {"values": st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=3)), max_size=4)}
    ),
    st.fixed_dictionaries({"value": st.one_of(st.integers(), st.text(max_size=3))}),
    st.fixed_dictionaries(
        {
            "min": st.one_of(st.integers(-3, 3), st.floats()),
            "max": st.one_of(st.integers(-3, 9), st.floats()),
        },
        optional={
            "distribution": st.sampled_from(
                [
                    "uniform",
                    "int_uniform",
                    "log_uniform_values",
                    "q_uniform",
                    "normal",
                    "beta",
                    "bogus",
                ]
            )
        },
    ),
    sweep_values,
)
plausible_sweeps = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["grid", "random", "bayes", "grid", "random", "Grid", ""]),
        "metric": st.fixed_dictionaries(
            {"name": st.sampled_from(["loss", "val/acc", "loss", ""])},
            optional={"goal": st.sampled_from(["minimize", "maximize", "up"])},
        ),
        "parameters": st.dictionaries(
            st.sampled_from(["lr", "depth", "opt", "a.b"]), param_specs, min_size=1, max_size=3
        ),
    },
    optional={"run_cap": st.one_of(st.integers(-1, 5), st.text(max_size=2))},
)


def test_random_sweep_configs_are_parsed_or_rejected_clearly():
    tally = Tally()

    @settings(FUZZ, max_examples=EXAMPLES * 4)
    @given(
        config=st.one_of(
            sweep_values,
            plausible_sweeps,
            st.fixed_dictionaries(
                {
                    "method": sweep_values,
                    "parameters": st.dictionaries(st.text(max_size=4), sweep_values, max_size=3),
                },
                optional={"metric": sweep_values, "early_terminate": sweep_values},
            ),
        )
    )
    def check(config: Any) -> None:
        tally.call(parse_sweep_config, config)

    check()
    assert tally.cases >= EXAMPLES
    record("fuzz_sweep_configs", **tally.figures())


magic_tokens = st.one_of(
    st.sampled_from(
        [
            "-p",
            "--project",
            "--mode",
            "offline",
            "disabled",
            "auto",
            "-n",
            "--name",
            "-g",
            "--group",
            "--tags",
            "a,b",
            ",",
            "--config",
            "cfg",
            "missing_var",
            "--var",
            "x",
            "-e",
            "--exit-code",
            "3",
            "--host",
            "--relogin",
            "-h",
            "--help",
            "--no-service",
            "'",
            '"',
            "--",
            "-",
            "=",
            "--mode=offline",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=8),
)
magic_lines = st.lists(magic_tokens, max_size=6).map(" ".join)


def test_random_magic_arguments_run_or_are_refused_clearly(tmp_path: Path):
    from IPython.core.error import UsageError
    from ipython_shell import shared_shell

    shell = shared_shell()
    shell.extension_manager.load_extension("nbwandb")
    shell.user_ns["cfg"] = {"lr": 0.1}
    tally = Tally()

    @settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
    @given(
        magic=st.sampled_from(
            ["wandb_init", "wandb_login", "wandb_config", "wandb_status", "wandb_finish"]
        ),
        line=magic_lines,
    )
    def check(magic: str, line: str) -> None:
        # "--mode online" is left out: with no network an online run could only time out.
        if "online" in line:
            return
        try:
            _, _ = tally.call(shell.run_line_magic, magic, line)
        except UsageError as exc:  # IPython's own clear error for a bad magic line
            assert str(exc).strip()  # noqa: PT017 - any clear UsageError passes
            tally.errors["UsageError"] += 1
        except SystemExit as exc:  # argparse's --help must not end the kernel
            raise AssertionError(f"%{magic} {line}: SystemExit({exc.code})") from exc

    try:
        check()
    finally:
        from nbwandb.run.finish import finish_active

        finish_active()
        shell.extension_manager.unload_extension("nbwandb")
    assert tally.cases >= 10
    record("fuzz_magic_arguments", **tally.figures())
