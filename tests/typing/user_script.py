"""A user's typed script: every public method of the handle ``nbwandb.init`` returns.

Checked with ``mypy --strict`` (``make lint``); never run by pytest (no ``test_`` name).
"""

from __future__ import annotations

from pathlib import Path

import nbwandb
from nbwandb.artifacts import CheckpointResult, InputResult


def on_row(row: dict[str, object]) -> None:
    print(sorted(row))


def train(out: Path) -> None:
    run: nbwandb.RunHandle = nbwandb.init(project="typed", mode="offline", config={"lr": 0.1})
    with run:
        run.log({"loss": 0.5}, step=0, prefix="train")
        run.update_config({"batch": 32})
        run.set_summary({"best": 0.5})
        run.use_x_axis()
        run.add_listener(on_row)
        run.remove_listener(on_row)
        run.log_image("image", [[0.0, 1.0], [1.0, 0.0]], caption="a checkerboard", step=1)
        run.log_images("images", [[[0.0, 1.0]]], captions=["one"], step=1)
        run.log_figure("figure", object(), close=True, step=1)
        run.log_table("table", [[1, "a"]], columns=["n", "s"], step=1)
        run.log_text("text", "hello", step=1)
        run.log_audio("audio", [0.0, 0.1], 16000, caption="beep", step=1)
        run.log_histogram("histogram", [1.0, 2.0], bins=8, step=1)
        run.log_video("video", [[[[0]]]], fps=4, step=1)
        run.log_3d("points", [[0.0, 0.0, 0.0]], step=1)
        checkpoint: CheckpointResult | None = run.log_checkpoint(out / "ckpt.pt", step=1)
        dataset: InputResult | None = run.log_dataset(out / "data.csv", "data")
        used: InputResult | None = run.use_artifact(out / "data.csv", download=False)
        print(checkpoint, dataset, used, run.step, run.config, run.summary)
        latest: Path | None = run.latest_checkpoint()
        earlier: tuple[Path, ...] = run.resumed_from
        print(latest, earlier, run.start_step + 1)
        done: bool = run.flush(timeout=5.0)
        recent: list[dict[str, object]] = run.recent_rows()  # what a panel shows before the file
        print(len(recent))
        identity: tuple[str | None, str | None, str | None] = (run.id, run.name, run.project)
        print(done, identity, run.url, run.run_dir, run.enabled, run.finished, run.state)
    run.finish(exit_code=0, timeout=30.0)


def use_the_concrete_types() -> None:
    # init's declared return type is the union of the two handles; each has every method.
    run = nbwandb.init(use_wandb=False)
    assert isinstance(run, nbwandb.NoOpRun)
    run.log_text("text", "not written")
    run.finish()
