"""What a sweep returns: one record per trial, the best run, and a table of all of them.

>>> result = SweepResult(name="s", backend="optuna", method="grid", metric="loss", goal="minimize",
...                      trials=[TrialRecord(0, "complete", {"lr": 0.1}, 0.5, "abc", "s-0", "/r")])
>>> result.best_params, result.best_value
({'lr': 0.1}, 0.5)
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nbwandb.errors import NbwandbError, require
from nbwandb.render.html_tables import format_cell, format_duration, table_html
from nbwandb.values.config import flatten_config

LEADERBOARD_ROWS = 10


@dataclass(frozen=True)
class TrialRecord:
    """One trial. ``state``: "complete", "pruned", "failed" or "running" (another worker's).

    ``value``: the metric's final value; for a pruned trial, the last value it reported.
    """

    number: int
    state: str
    params: dict[str, Any]
    value: float | None = None
    run_id: str | None = None
    run_name: str | None = None
    run_dir: str | None = None
    duration_s: float | None = None
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        """A flat dict: parameters become ``param.<name>`` columns (nested names dotted)."""
        row = {k: v for k, v in asdict(self).items() if k != "params"}
        row.update(flatten_config(self.params, "param."))
        return row


@dataclass
class SweepResult:
    """The trials of a sweep (all workers' when a storage is shared) and the best one.

    ``best_run_id``/``best_run_dir``/``best_params``/``best_value`` raise ``NbwandbError`` when
    no trial completed. ``to_dataframe()`` needs pandas.
    """

    name: str
    backend: str
    method: str
    metric: str | None
    goal: str
    trials: list[TrialRecord] = field(default_factory=list)
    group: str | None = None
    sweep_id: str | None = None
    url: str | None = None
    storage: str | None = None
    planned: int | None = None

    # -- the best trial ---------------------------------------------------------------------
    @property
    def completed(self) -> list[TrialRecord]:
        return [
            t
            for t in self.trials
            if t.state == "complete" and t.value is not None and math.isfinite(t.value)
        ]

    def ranked(self) -> list[TrialRecord]:
        """Completed trials, best first (by ``goal``)."""
        return sorted(self.completed, key=lambda t: t.value, reverse=self.goal == "maximize")  # type: ignore[arg-type,return-value]

    @property
    def best(self) -> TrialRecord | None:
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def _best_or_raise(self) -> TrialRecord:
        best = self.best
        if best is None:
            states = sorted({t.state for t in self.trials}) or ["none run"]
            raise NbwandbError(
                f"sweep {self.name!r} has no completed trial with a finite {self.metric!r} "
                f"(trial states: {', '.join(states)}); see .trials for errors"
            )
        return best

    @property
    def best_run_id(self) -> str | None:
        return self._best_or_raise().run_id

    @property
    def best_run_dir(self) -> str | None:
        return self._best_or_raise().run_dir

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self._best_or_raise().params)

    @property
    def best_value(self) -> float:
        value = self._best_or_raise().value
        assert value is not None
        return value

    # -- tables -----------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        return [t.as_row() for t in self.trials]

    def to_dataframe(self) -> Any:
        """All trials as a pandas DataFrame (one row per trial, ``param.*`` columns)."""
        pd = require(
            "pandas",
            purpose="SweepResult.to_dataframe()",
            extra="media",
            alternative="use .to_records()",
        )
        return pd.DataFrame(self.to_records())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def summary_line(self) -> str:
        done = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items())) or "no trials"
        of = f" of {self.planned}" if self.planned else ""
        line = f"sweep {self.name!r} ({self.method}, {self.backend}): {len(self.trials)}{of} trials ({done})"
        best = self.best
        if best is not None:
            params = ", ".join(
                f"{k}={format_cell(v)}" for k, v in flatten_config(best.params).items()
            )
            line += f"; best {self.metric}={format_cell(best.value)} in run {best.run_name or best.run_id} ({params})"
        return line

    def __repr__(self) -> str:
        return f"<SweepResult {self.summary_line()}>"

    def leaderboard_html(self, rows: int = LEADERBOARD_ROWS) -> str:
        """The best ``rows`` completed trials, then the pruned, failed and running ones, as a table."""
        ranked = self.ranked()[:rows]
        rest = [t for t in sorted(self.trials, key=lambda t: t.number) if t not in self.completed][
            :rows
        ]
        shown = ranked + rest
        names = list(dict.fromkeys(k for t in shown for k in flatten_config(t.params)))
        columns = ["#", "run", "state", str(self.metric), *names, "duration"]
        body = []
        for rank, t in enumerate(shown, 1):
            flat = flatten_config(t.params)
            place: Any = rank if t in ranked else ""
            body.append(
                [
                    place,
                    t.run_name or t.run_id or f"trial {t.number}",
                    t.state,
                    t.value,
                    *(flat.get(n) for n in names),
                    _seconds(t.duration_s),
                ]
            )
        if not body:
            return "<p class='nbw-muted'>no trial finished yet</p>"
        left = len(self.trials) - len(shown)
        # Out of the trials planned, as the summary line counts them ("1 of 10 trials").
        total = max(self.planned or 0, len(self.trials))
        caption = f"{len(shown)} of {total} trials" + (f" ({left} more in .trials)" if left else "")
        return table_html(columns, body, caption=caption, wrapper_class="nbwandb-leaderboard")

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary_line())}</p>{self.leaderboard_html()}"


def _seconds(duration: float | None) -> str | None:
    return format_duration(duration) or None
