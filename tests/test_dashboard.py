"""nbwandb.show on real offline runs: sections, smoothing, overlays, media, self-contained HTML."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nbwandb
from nbwandb.local import list_runs, read_run
from nbwandb.local.series import downsample, metric_series, smooth_ema


def make_run(name: str, lr: float, *, media: bool = False) -> Path:
    import numpy as np
    import wandb

    run = nbwandb.init("dash", name=name, mode="offline", config={"lr": lr, "arch": "mlp", "seed": 0},
                       quiet=True)
    for step in range(40):
        run.log({"loss": lr * 10 / (step + 1), "acc": step / 40 * lr * 10}, step=step, prefix="train")
        if step % 10 == 9:
            run.log({"loss": lr * 12 / (step + 1)}, step=step, prefix="val")
    if media:
        pixels = np.zeros((16, 16, 3), dtype=np.uint8)
        pixels[:, :8, 0] = 255
        run.log({"samples": wandb.Image(pixels, caption="left half red"),
                 "weights": wandb.Histogram([0.1, 0.2, 0.2, 0.9], num_bins=4),
                 "preds": wandb.Table(columns=["input", "label"], data=[["cat", 1], ["dog", 0], ["<b>", 2]])},
                step=45)  # the 41st row: wandb's _step 40, global_step 45
    run.finish()
    return Path(run.run_dir)


def png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def test_two_runs_overlaid_with_config_diff(isolated: Path) -> None:
    a = make_run("small-lr", 0.01, media=True)
    b = make_run("big-lr", 0.1)
    dash = nbwandb.show([a, b], smoothing=0.6)
    assert dash.step_metric == "global_step"
    assert dash.sections == {"train": ["train/acc", "train/loss"], "val": ["val/loss"]}
    assert [c.section for c in dash.charts] == ["train", "val"]
    width, height = png_size(dash.charts[0].png)
    assert width > height > 100  # two charts side by side in one row

    text = repr(dash)
    assert "small-lr" in text and "big-lr" in text and "x = global_step" in text
    assert "lr = 0.01 | 0.1" in text and "arch" not in text.split("config differs")[1]

    page = dash.to_html()
    assert page.count("data:image/png;base64,") == 4  # two chart sections, the image, the histogram
    assert "weights (global_step 45)" in page
    assert "left half red" in page and "&lt;b&gt;" in page and "<b>cat" not in page
    assert "samples (global_step 45)" in page and "3 rows" in page
    sample = next(m for m in dash.runs[0].media if m["key"] == "samples")
    assert sample["step"] == 40 and sample["global_step"] == 45
    bundle = dash._repr_mimebundle_()
    assert bundle["text/plain"] == text and "<img" in bundle["text/html"]


def test_html_report_is_one_self_contained_file(isolated: Path) -> None:
    run_dir = make_run("solo", 0.05, media=True)
    out = nbwandb.show(run_dir).save(isolated / "out" / "report.html")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://", page), "the report must not reference network resources"
    for attr in re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)""", page):
        assert attr.startswith("data:"), attr
    assert "<script" not in page
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    # the single run's full config is listed, the embedded image decodes to what was logged
    assert "config</h3>" in page and "mlp" in page
    from PIL import Image

    b64 = re.findall(r"class='media' alt='samples' src='data:image/png;base64,([^']+)'", page)[0]
    import base64

    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        assert img.size == (16, 16) and img.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_series_smoothing_and_key_selection(isolated: Path) -> None:
    run_dir = make_run("series", 0.1)
    local = read_run(run_dir)
    xs, ys = metric_series(local.history, "val/loss", "global_step")
    assert xs == [9, 19, 29, 39] and ys == pytest.approx([1.2 / 10, 1.2 / 20, 1.2 / 30, 1.2 / 40])
    smoothed = smooth_ema(ys, 0.5)
    assert smoothed[0] == pytest.approx(ys[0])  # debiased: starts at the first value
    assert smoothed[1] == pytest.approx((0.25 * ys[0] + 0.5 * ys[1]) / 0.75)
    assert smooth_ema(ys, 0.0) == ys

    dash = nbwandb.show(local, keys=["val", "train/a*"])
    assert dash.keys == ["val/loss", "train/acc"]
    with pytest.raises(ValueError, match="'nope' matches no metric; logged metrics: train/acc, train/loss, val/loss$"):
        nbwandb.show(local, keys=["nope"])
    with pytest.raises(ValueError, match="smoothing=1.5"):
        nbwandb.show(local, smoothing=1.5)
    with pytest.raises(ValueError, match="x='epoch'"):
        nbwandb.show(local, x="epoch")
    with pytest.raises(ValueError, match="max_points=0 is not accepted; use an int >= 10"):
        nbwandb.show(local, max_points=0)
    with pytest.raises(ValueError, match="show\\(\\) got no runs"):
        nbwandb.show([])
    with pytest.raises(TypeError, match="show\\(\\) got int"):
        nbwandb.show(3)
    # a runs table from list_runs() (read without rows) is re-read in full
    from_table = nbwandb.show(list_runs())
    assert from_table.runs[0].history == local.history


def test_downsample_keeps_extremes_and_end() -> None:
    xs = list(range(10_000))
    ys = [0.0] * 10_000
    ys[1234] = 5.0
    ys[8000] = -3.0
    dx, dy = downsample(xs, ys, 200)
    assert len(dx) <= 201 and dx[-1] == 9999
    assert 5.0 in dy and -3.0 in dy and 1234 in dx
    assert dx == sorted(dx)


def test_core_import_stays_light() -> None:
    code = ("import sys, nbwandb.dashboard, nbwandb.local; "
            "print(sorted(m for m in ('IPython', 'ipywidgets', 'matplotlib', 'wandb', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
