"""Checking a W&B sweep config and turning it into a ``SweepSpec`` before any run starts.

The format is W&B's own (``method``, ``metric``, ``parameters``, ``early_terminate``), so one
config works on both backends. Everything is checked up front; every problem found is listed
in one error that names the key and says what is accepted.

>>> spec = parse_sweep_config({
...     "method": "grid",
...     "metric": {"name": "val/loss", "goal": "minimize"},
...     "parameters": {"lr": {"values": [0.1, 0.01]}, "depth": {"value": 2}},
... })
>>> spec.grid_size()
2
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nbwandb.errors import NbwandbError
from nbwandb.values.metrics import is_number

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
TOP_LEVEL_KEYS = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "name",
    "description",
    "project",
    "entity",
    "run_cap",
    "program",
    "command",
)
METRIC_KEYS = ("name", "goal", "target")
PARAM_KEYS = (
    "distribution",
    "value",
    "values",
    "probabilities",
    "min",
    "max",
    "q",
    "mu",
    "sigma",
    "a",
    "b",
    "parameters",
)
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")

# distribution -> keys it needs (besides "distribution"); optional "q" is checked separately.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "categorical": ("values",),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max"),
    "log_uniform": ("min", "max"),
    "log_uniform_values": ("min", "max"),
    "q_log_uniform": ("min", "max"),
    "q_log_uniform_values": ("min", "max"),
    "inv_log_uniform": ("min", "max"),
    "inv_log_uniform_values": ("min", "max"),
    "normal": (),
    "q_normal": (),
    "log_normal": (),
    "q_log_normal": (),
    "beta": (),
    "q_beta": (),
}
# Only W&B's own sweep server samples these; the Optuna backend refuses them up front.
WANDB_ONLY_DISTRIBUTIONS = ("inv_log_uniform", "inv_log_uniform_values", "beta", "q_beta")
# Finite distributions a grid can enumerate.
GRID_DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "q_uniform")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: ``name`` is the dotted path (``optimizer.lr`` for nested parameters)."""

    name: str
    distribution: str
    value: Any = None
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    q: float | None = None
    mu: float = 0.0
    sigma: float = 1.0
    probabilities: tuple[float, ...] | None = None

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def grid_values(self) -> list[Any]:
        """Every value a grid visits (constant, categorical, int_uniform, q_uniform only)."""
        if self.distribution == "constant":
            return [self.value]
        if self.distribution == "categorical":
            return list(self.values)
        assert self.low is not None and self.high is not None
        if self.distribution == "int_uniform":
            return list(range(int(self.low), int(self.high) + 1))
        if self.distribution == "q_uniform":
            q = self.q or 1
            count = math.floor((self.high - self.low) / q + 1e-9) + 1
            return [tidy(self.low + i * q, q) for i in range(count)]
        raise NbwandbError(f"parameter {self.name!r}: {self.distribution} has no finite grid")


@dataclass(frozen=True)
class Hyperband:
    """``early_terminate: {type: hyperband, ...}``: ``min_iter`` counts metric reports."""

    min_iter: int
    max_iter: int | None
    eta: int


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep config. ``raw`` is the config as given (sent as is to W&B)."""

    method: str
    metric_name: str | None
    goal: str
    target: float | None
    params: tuple[ParamSpec, ...]
    early_terminate: Hyperband | None
    name: str | None
    project: str | None
    entity: str | None
    run_cap: int | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def grid_size(self) -> int:
        return math.prod(len(p.grid_values()) for p in self.params)

    def searched(self) -> tuple[ParamSpec, ...]:
        """The parameters that vary (constants are not searched)."""
        return tuple(p for p in self.params if p.distribution != "constant")


def tidy(value: float, q: float) -> float | int:
    """Round away float noise from ``k * q`` (0.30000000000000004 -> 0.3); ints stay ints."""
    if isinstance(q, int) and float(value).is_integer():
        return int(value)
    return round(float(value), 12)


def parse_sweep_config(config: Any, *, backend: str = "optuna") -> SweepSpec:
    """Check ``config`` (W&B sweep format) and return a ``SweepSpec``; raise listing every problem.

    ``backend="optuna"`` also refuses what only W&B's server samples (beta, inv_log_uniform).
    """
    if not isinstance(config, Mapping):
        raise TypeError(
            f"sweep_config of type {type(config).__name__} is not accepted; pass a dict in W&B's "
            "sweep format, e.g. {'method': 'grid', 'metric': {'name': 'val/loss', 'goal': 'minimize'}, "
            "'parameters': {'lr': {'values': [0.1, 0.01]}}}"
        )
    problems: list[str] = []
    unknown = sorted(str(k) for k in config if k not in TOP_LEVEL_KEYS)
    if unknown:
        problems.append(
            f"unsupported top-level keys {unknown}; accepted: {', '.join(TOP_LEVEL_KEYS)}"
        )

    method = config.get("method")
    if method not in METHODS:
        problems.append(f"method={method!r} is not accepted; use one of {', '.join(METHODS)}")

    metric_name, goal, target = _parse_metric(config.get("metric"), problems)
    needs_metric = (
        method == "bayes" or config.get("early_terminate") is not None or backend == "optuna"
    )
    if "metric" not in config and needs_metric:
        problems.append(
            "metric is required (bayes and early_terminate optimise it, and nbwandb "
            "picks the best run by it); e.g. metric: {name: val/loss, goal: minimize}"
        )

    params: list[ParamSpec] = []
    raw_params = config.get("parameters")
    if not isinstance(raw_params, Mapping) or not raw_params:
        problems.append(
            f"parameters={raw_params!r} is not accepted; use a non-empty dict of "
            "name -> {values: [...]} / {value: ...} / {min: .., max: ..} / {distribution: ..}"
        )
    else:
        _parse_params(raw_params, "", params, problems)

    hyperband = _parse_early_terminate(config.get("early_terminate"), problems)
    run_cap = config.get("run_cap")
    if run_cap is not None and (
        not isinstance(run_cap, int) or isinstance(run_cap, bool) or run_cap < 1
    ):
        problems.append(f"run_cap={run_cap!r} is not accepted; use an int >= 1")
    for key in ("name", "project", "entity", "description"):
        if config.get(key) is not None and not isinstance(config[key], str):
            problems.append(f"{key}={config[key]!r} is not accepted; use a string")

    if backend == "optuna":
        for p in params:
            if p.distribution in WANDB_ONLY_DISTRIBUTIONS:
                problems.append(
                    f"parameter {p.name!r}: distribution {p.distribution!r} is only sampled "
                    "by W&B's sweep server (backend='wandb'); offline use log_uniform_values, "
                    "uniform, normal or values"
                )
            if p.probabilities is not None:
                problems.append(
                    f"parameter {p.name!r}: probabilities are only honoured by W&B's sweep "
                    "server (backend='wandb'); offline drop them (values are equally likely)"
                )
    if method == "grid":
        for p in params:
            if p.distribution not in GRID_DISTRIBUTIONS:
                problems.append(
                    f"parameter {p.name!r}: method 'grid' needs a finite set of values, "
                    f"got distribution {p.distribution!r}; use values: [...], int_uniform or "
                    "q_uniform, or method 'random'/'bayes'"
                )

    if problems:
        raise NbwandbError("invalid sweep config:\n  - " + "\n  - ".join(problems))
    return SweepSpec(
        method=str(method),
        metric_name=metric_name,
        goal=goal,
        target=target,
        params=tuple(params),
        early_terminate=hyperband,
        name=config.get("name"),
        project=config.get("project"),
        entity=config.get("entity"),
        run_cap=run_cap,
        raw=dict(config),
    )


def _parse_metric(metric: Any, problems: list[str]) -> tuple[str | None, str, float | None]:
    if metric is None:
        return None, "minimize", None
    if not isinstance(metric, Mapping):
        problems.append(
            f"metric={metric!r} is not accepted; use {{name: ..., goal: minimize|maximize}}"
        )
        return None, "minimize", None
    unknown = sorted(str(k) for k in metric if k not in METRIC_KEYS)
    if unknown:
        problems.append(f"unsupported metric keys {unknown}; accepted: {', '.join(METRIC_KEYS)}")
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        problems.append(
            f"metric name={name!r} is not accepted; use the logged key, e.g. 'val/loss'"
        )
        name = None
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        problems.append(f"metric goal={goal!r} is not accepted; use 'minimize' or 'maximize'")
        goal = "minimize"
    target = metric.get("target")
    if target is not None and not is_number(target):
        problems.append(f"metric target={target!r} is not accepted; use a number")
        target = None
    return name, goal, target


def _parse_params(
    raw: Mapping[str, Any], prefix: str, out: list[ParamSpec], problems: list[str]
) -> None:
    for key, spec in raw.items():
        name = f"{prefix}{key}"
        if not isinstance(key, str) or not key or "." in key:
            problems.append(
                f"parameter name {name!r} is not accepted; use a non-empty string without '.'"
            )
            continue
        if not isinstance(spec, Mapping):
            problems.append(
                f"parameter {name!r}: {spec!r} is not accepted; use a dict such as "
                "{values: [...]}, {value: ...}, {min: .., max: ..} or {distribution: ..}"
            )
            continue
        unknown = sorted(str(k) for k in spec if k not in PARAM_KEYS)
        if unknown:
            problems.append(
                f"parameter {name!r}: unsupported keys {unknown}; accepted: {', '.join(PARAM_KEYS)}"
            )
            continue
        if "parameters" in spec:
            nested = spec["parameters"]
            if len(spec) != 1 or not isinstance(nested, Mapping) or not nested:
                problems.append(
                    f"parameter {name!r}: nested 'parameters' must be a non-empty dict "
                    "and the only key"
                )
                continue
            _parse_params(nested, f"{name}.", out, problems)
            continue
        parsed = _parse_one(name, spec, problems)
        if parsed is not None:
            out.append(parsed)


def _infer_distribution(name: str, spec: Mapping[str, Any], problems: list[str]) -> str | None:
    if "distribution" in spec:
        dist = spec["distribution"]
        if dist not in DISTRIBUTIONS:
            problems.append(
                f"parameter {name!r}: distribution={dist!r} is not accepted; use one of "
                f"{', '.join(DISTRIBUTIONS)}"
            )
            return None
        return str(dist)
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        both_int = all(
            isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max")
        )
        return "int_uniform" if both_int else "uniform"
    problems.append(
        f"parameter {name!r}: {dict(spec)!r} names no values; give values: [...], "
        "value: x, min/max, or a distribution"
    )
    return None


def _parse_one(name: str, spec: Mapping[str, Any], problems: list[str]) -> ParamSpec | None:
    dist = _infer_distribution(name, spec, problems)
    if dist is None:
        return None
    missing = [k for k in DISTRIBUTIONS[dist] if k not in spec]
    if missing:
        problems.append(f"parameter {name!r}: distribution {dist!r} needs {missing}")
        return None
    before = len(problems)
    for key in ("min", "max", "q", "mu", "sigma", "a", "b"):
        if key in spec and not is_number(spec[key]):
            problems.append(
                f"parameter {name!r}: {key}={spec[key]!r} is not accepted; use a number"
            )
    if len(problems) > before:
        return None
    if dist == "constant":
        return ParamSpec(name, dist, value=spec["value"])
    if dist == "categorical":
        values = spec["values"]
        if not isinstance(values, (list, tuple)) or not values:
            problems.append(
                f"parameter {name!r}: values={values!r} is not accepted; use a non-empty list"
            )
            return None
        probs = spec.get("probabilities")
        if probs is not None and (
            not isinstance(probs, (list, tuple))
            or len(probs) != len(values)
            or not all(is_number(p) and p >= 0 for p in probs)
            or abs(sum(probs) - 1) > 1e-6
        ):
            problems.append(
                f"parameter {name!r}: probabilities={probs!r} is not accepted; use one "
                "non-negative number per value, summing to 1"
            )
            return None
        return ParamSpec(
            name,
            dist,
            values=tuple(values),
            probabilities=tuple(probs) if probs is not None else None,
        )
    low, high, q = spec.get("min"), spec.get("max"), spec.get("q")
    if q is not None and q <= 0:
        problems.append(f"parameter {name!r}: q={q!r} is not accepted; use a number > 0")
        return None
    if dist.startswith("q_") and q is None:
        q = 1
    if dist in ("normal", "q_normal", "log_normal", "q_log_normal"):
        sigma = spec.get("sigma", 1.0)
        if sigma <= 0:
            problems.append(
                f"parameter {name!r}: sigma={sigma!r} is not accepted; use a number > 0"
            )
            return None
        return ParamSpec(name, dist, mu=spec.get("mu", 0.0), sigma=sigma, q=q)
    if dist in ("beta", "q_beta"):
        return ParamSpec(name, dist, q=q)
    assert low is not None and high is not None
    if not low < high:
        problems.append(f"parameter {name!r}: min={low!r} must be smaller than max={high!r}")
        return None
    if dist == "int_uniform" and not (isinstance(low, int) and isinstance(high, int)):
        problems.append(
            f"parameter {name!r}: int_uniform needs int min/max, got min={low!r}, max={high!r}"
        )
        return None
    if dist.endswith("_values") and low <= 0:
        problems.append(
            f"parameter {name!r}: {dist} needs min > 0 (these are the values themselves), "
            f"got min={low!r}"
        )
        return None
    return ParamSpec(name, dist, low=low, high=high, q=q)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _parse_early_terminate(raw: Any, problems: list[str]) -> Hyperband | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or raw.get("type") != "hyperband":
        problems.append(
            f"early_terminate={raw!r} is not accepted; use {{type: hyperband, min_iter: N, "
            "eta: 3}} or {type: hyperband, max_iter: N, s: S}"
        )
        return None
    unknown = sorted(str(k) for k in raw if k not in HYPERBAND_KEYS)
    if unknown:
        problems.append(
            f"unsupported early_terminate keys {unknown}; accepted: {', '.join(HYPERBAND_KEYS)}"
        )
        return None
    eta = raw.get("eta", 3)
    if not _positive_int(eta) or eta < 2:
        problems.append(f"early_terminate eta={eta!r} is not accepted; use an int >= 2")
        return None
    for key in ("min_iter", "max_iter", "s"):
        if key in raw and not _positive_int(raw[key]):
            problems.append(f"early_terminate {key}={raw[key]!r} is not accepted; use an int >= 1")
            return None
    max_iter = raw.get("max_iter")
    if "min_iter" in raw:
        min_iter = raw["min_iter"]
    elif max_iter is not None and "s" in raw:
        # W&B's brackets are max_iter / eta**k for k = 1..s; the smallest one is the first rung.
        min_iter = max(1, max_iter // eta ** raw["s"])
    else:
        problems.append("early_terminate needs min_iter, or max_iter together with s")
        return None
    if max_iter is not None and max_iter <= min_iter:
        problems.append(
            f"early_terminate max_iter={max_iter} must be larger than min_iter={min_iter}"
        )
        return None
    return Hyperband(min_iter=min_iter, max_iter=max_iter, eta=eta)
