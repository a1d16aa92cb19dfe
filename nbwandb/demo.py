"""``nbwandb demo``: a small offline run end to end, then its HTML report.

It trains a tiny classifier on made-up data (with torch when installed, else
numpy), logs ``train/`` and ``val/`` metrics for 50 steps against ``global_step``,
finishes the run and writes ``report.html`` with ``nbwandb.show``. Nothing is
downloaded and nothing leaves the machine.

>>> result = run_demo("demo-out", steps=5)
nbwandb: offline run ... in .../demo-out/wandb/offline-run-... [mode='offline' was asked for]; upload later with ...
>>> result.state, result.report.name
('finished', 'report.html')
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbwandb.errors import NbwandbError
from nbwandb.local.runs_table import find_run_dirs
from nbwandb.run.handle import RunHandle
from nbwandb.views.dashboard import show

DEMO_CONFIG = {"lr": 0.1, "hidden": 16, "batch_size": 64, "steps": 50, "seed": 0}


@dataclass(frozen=True)
class DemoResult:
    """Where the demo's run and report went."""

    run_dir: Path
    report: Path
    state: str
    steps: int
    backend: str  # "torch" or "numpy"
    final_metrics: dict[str, float]

    def __str__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in self.final_metrics.items())
        return (
            f"demo run ({self.backend}, {self.steps} steps, {self.state}): {self.run_dir}\n"
            f"  final: {metrics}\n  report: {self.report}\n"
            f"  upload later with: nbwandb sync {self.run_dir}"
        )


def _make_data(n: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """Two noisy interleaved spirals-ish clusters: learnable, not trivial."""
    import random

    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        label = i % 2
        angle = rng.uniform(0, 2 * math.pi)
        radius = 1.0 + label + rng.gauss(0, 0.25)
        xs.append([radius * math.cos(angle), radius * math.sin(angle)])
        ys.append(label)
    return xs, ys


def _train_torch(run: RunHandle, cfg: dict[str, Any]) -> dict[str, float]:
    import torch

    torch.manual_seed(cfg["seed"])
    x, y = _make_data(1024, cfg["seed"])
    x_all, y_all = torch.tensor(x), torch.tensor(y)
    x_train, y_train, x_val, y_val = x_all[:768], y_all[:768], x_all[768:], y_all[768:]
    model = torch.nn.Sequential(
        torch.nn.Linear(2, cfg["hidden"]), torch.nn.ReLU(), torch.nn.Linear(cfg["hidden"], 2)
    )
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    final: dict[str, float] = {}
    for step in range(cfg["steps"]):
        idx = torch.randint(0, len(x_train), (cfg["batch_size"],))
        logits = model(x_train[idx])
        loss = loss_fn(logits, y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc = (logits.argmax(1) == y_train[idx]).float().mean()
        run.log({"loss": loss, "acc": acc, "lr": cfg["lr"]}, step=step, prefix="train")
        if step % 5 == 4 or step == cfg["steps"] - 1:
            with torch.no_grad():
                val_logits = model(x_val)
                final = {
                    "val/loss": float(loss_fn(val_logits, y_val)),
                    "val/acc": float((val_logits.argmax(1) == y_val).float().mean()),
                }
            run.log({"loss": final["val/loss"], "acc": final["val/acc"]}, step=step, prefix="val")
    return final


def _train_numpy(run: RunHandle, cfg: dict[str, Any]) -> dict[str, float]:
    import numpy as np

    rng = np.random.default_rng(cfg["seed"])
    x, y = _make_data(1024, cfg["seed"])
    feats = np.asarray(x)
    feats = np.c_[feats, (feats**2).sum(1)]  # the radius makes the classes linearly separable
    labels = np.asarray(y, dtype=float)
    w = np.zeros(feats.shape[1])
    b = 0.0
    final: dict[str, float] = {}

    def forward(xb: Any) -> Any:
        return 1 / (1 + np.exp(-(xb @ w + b)))

    for step in range(cfg["steps"]):
        idx = rng.integers(0, 768, cfg["batch_size"])
        p = forward(feats[idx])
        t = labels[idx]
        loss = float(-np.mean(t * np.log(p + 1e-9) + (1 - t) * np.log(1 - p + 1e-9)))
        w -= cfg["lr"] * feats[idx].T @ (p - t) / len(idx)
        b -= cfg["lr"] * float(np.mean(p - t))
        run.log(
            {"loss": loss, "acc": float(np.mean((p > 0.5) == t)), "lr": cfg["lr"]},
            step=step,
            prefix="train",
        )
        if step % 5 == 4 or step == cfg["steps"] - 1:
            pv = forward(feats[768:])
            tv = labels[768:]
            final = {
                "val/loss": float(
                    -np.mean(tv * np.log(pv + 1e-9) + (1 - tv) * np.log(1 - pv + 1e-9))
                ),
                "val/acc": float(np.mean((pv > 0.5) == tv)),
            }
            run.log({"loss": final["val/loss"], "acc": final["val/acc"]}, step=step, prefix="val")
    return final


def run_demo(
    out_dir: str | os.PathLike[str] = "nbwandb-demo",
    *,
    steps: int = 50,
    use_torch: bool | None = None,
    quiet: bool = False,
) -> DemoResult:
    """Run the offline demo: init, ``steps`` steps of train/val metrics, finish, report.

    The run goes to ``OUT_DIR/wandb/offline-run-*``; the report to ``OUT_DIR/report.html``.
    """
    import importlib.util

    import nbwandb

    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} is not accepted; use an int >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if use_torch is None:
        use_torch = importlib.util.find_spec("torch") is not None
    backend = "torch" if use_torch else "numpy"
    cfg = {**DEMO_CONFIG, "steps": steps, "backend": backend}
    run = nbwandb.init(
        "nbwandb-demo",
        mode="offline",
        config=cfg,
        dir=out,
        tags=["demo"],
        job_type="demo",
        quiet=quiet,
    )
    try:
        final = (_train_torch if use_torch else _train_numpy)(run, cfg)
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    run_dir = getattr(run, "run_dir", None)
    if run_dir is None:  # e.g. WANDB_MODE=disabled gave a do-nothing run
        raise NbwandbError(
            f"the demo run was not recorded ({getattr(run, 'mode_reason', 'tracking disabled')}); "
            "unset WANDB_MODE=disabled and run the demo again"
        )
    report = show(run, title="nbwandb demo").save(out / "report.html")
    return DemoResult(Path(run_dir), report, run.state, steps, backend, final)


@dataclass(frozen=True)
class NotebookDemoResult:
    """A notebook executed offline: the executed copy, the runs it made, their report."""

    notebook: Path
    run_dirs: list[Path]
    report: Path

    def __str__(self) -> str:
        runs = "\n".join(f"  run: {d}" for d in self.run_dirs) or "  (the notebook made no run)"
        return (
            f"executed notebook: {self.notebook}\n{runs}\n  report: {self.report}\n"
            f"open the report in a browser: {self.report.resolve().as_uri()}\n"
            f"open the executed notebook:   jupyter lab {self.notebook}"
        )


# `make demo` in a source checkout runs the quickstart notebook; an installed package has none.
QUICKSTART = Path(__file__).resolve().parents[1] / "notebooks" / "01_quickstart.ipynb"


def default_notebook() -> Path | None:
    """The quickstart notebook when it is there and nbclient can run it, else None.

    >>> path = default_notebook()   # None in an installed package without the notebooks
    >>> path is None or path.name == "01_quickstart.ipynb"
    True
    """
    import importlib.util

    if QUICKSTART.is_file() and importlib.util.find_spec("nbclient") is not None:
        return QUICKSTART
    return None


def run_notebook_demo(
    notebook: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "nbwandb-demo",
    *,
    timeout: float = 600.0,
) -> NotebookDemoResult:
    """Execute a notebook offline in ``out_dir`` (runs land in ``OUT_DIR/wandb``), then report them.

    The executed copy is saved next to the report, so its outputs can be read.

    >>> print(run_notebook_demo("notebooks/01_quickstart.ipynb", "out"))   # doctest: +SKIP
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    src = Path(notebook)
    if not src.is_file():
        raise NbwandbError(f"notebook {str(src)!r} does not exist; pass the path of an .ipynb file")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(src, as_version=4)
    before = set(find_run_dirs(out / "wandb")) if (out / "wandb").is_dir() else set()
    # the kernel inherits this environment: offline, runs under out/, no wandb chatter
    overrides = {
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(out),
        "WANDB_SILENT": "true",
        "MPLBACKEND": "Agg",
    }
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    executed = out / src.name
    try:
        # The kernel's own start-up warnings (e.g. about its local TCP transport) say nothing
        # about the demo; errors still show.
        NotebookClient(
            nb,
            timeout=int(timeout),
            kernel_name="python3",
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(out)}},
        ).execute()
    except CellExecutionError as exc:
        raise NbwandbError(
            f"notebook {src.name!r} failed in a cell: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        nbformat.write(nb, executed)
    new_runs = (
        sorted(set(find_run_dirs(out / "wandb")) - before) if (out / "wandb").is_dir() else []
    )
    report = out / "report.html"
    if new_runs:
        show(new_runs, title=f"nbwandb demo: {src.name}").save(report)
    return NotebookDemoResult(executed, new_runs, report)
