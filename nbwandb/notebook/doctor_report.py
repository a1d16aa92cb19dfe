"""``DoctorReport``: how ``%wandb_doctor`` shows ``nbwandb.checks.doctor.run_checks`` results.

>>> from nbwandb.checks.doctor import run_checks
>>> report = DoctorReport(run_checks(service=False))
>>> print(report)
nbwandb doctor...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbwandb.notebook._html import escape, with_code

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
        count = len(self.problems)
        lines = [
            f"nbwandb doctor: {count} problem{'s' if count != 1 else ''} in {len(self.results)} checks"
        ]
        for r in self.results:
            lines.append(f"  [{_MARK[r.ok]:>7}] {r.name:<{width}}  {r.detail}")
            if r.fix:
                lines.append(f"  {'':>9} {'':<{width}}  fix: {r.fix}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # Inline styles: JupyterLab right-aligns output tables unless told otherwise.
        cell = "style='text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #eee'"
        rows = "".join(
            f"<tr><td {cell}><span style='color:{_COLOR[r.ok]};font-weight:600'>{_MARK[r.ok]}</span></td>"
            f"<td {cell}>{escape(r.name)}</td><td {cell}>{with_code(r.detail)}</td><td {cell}>{with_code(r.fix)}</td></tr>"
            for r in self.results
        )
        count = len(self.problems)
        summary = (
            f"<span style='color:#2e7d32'>no problems</span> in {len(self.results)} checks"
            if not count
            else f"<span style='color:#c62828'>{count} problem{'s' if count != 1 else ''}</span> "
            f"in {len(self.results)} checks"
        )
        head = "".join(f"<th {cell}>{h}</th>" for h in ("", "check", "result", "fix"))
        html = (
            f"<div class='nbwandb-doctor-report' style='font:13px system-ui,sans-serif;text-align:left'>"
            f"<div style='margin:2px 0 6px'><b>nbwandb doctor</b>: {summary}</div>"
            f"<table class='nbwandb-doctor' style='border-collapse:collapse;margin:0'><thead><tr>{head}</tr>"
            f"</thead><tbody>{rows}</tbody></table></div>"
        )
        return {"text/plain": repr(self), "text/html": html}
