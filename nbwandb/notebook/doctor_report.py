"""``DoctorReport``: how ``%wandb_doctor`` shows ``nbwandb.doctor.run_checks`` results.

>>> DoctorReport(run_checks(service=False))     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._html import escape

_MARK = {True: "ok", False: "PROBLEM", None: "info"}
_COLOR = {True: "#2e7d32", False: "#c62828", None: "#555"}


class DoctorReport:
    """A list of ``CheckResult`` as a text table and an HTML table (no widgets needed)."""

    def __init__(self, results: Sequence[Any]) -> None:
        self.results = list(results)

    @property
    def problems(self) -> list[Any]:
        return [r for r in self.results if r.ok is False]

    def __repr__(self) -> str:
        width = max((len(r.name) for r in self.results), default=0)
        lines = [f"nbwandb doctor: {len(self.problems)} problem(s)"]
        for r in self.results:
            lines.append(f"  [{_MARK[r.ok]:>7}] {r.name:<{width}}  {r.detail}")
            if r.fix:
                lines.append(f"  {'':>9} {'':<{width}}  fix: {r.fix}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        rows = "".join(
            f"<tr><td style='color:{_COLOR[r.ok]}'>{_MARK[r.ok]}</td><td>{escape(r.name)}</td>"
            f"<td>{escape(r.detail)}</td><td>{escape(r.fix)}</td></tr>"
            for r in self.results)
        html = (f"<table class='nbwandb-doctor'><tr><th></th><th>check</th><th>result</th><th>fix</th></tr>"
                f"{rows}</table>")
        return {"text/plain": repr(self), "text/html": html}
