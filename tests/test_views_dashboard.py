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
from nbwandb.render.chart_data import downsample, metric_series, smooth_ema


def make_run(name: str, lr: float, *, media: bool = False) -> Path:
    import numpy as np
    import wandb

    run = nbwandb.init(
        "dash", name=name, mode="offline", config={"lr": lr, "arch": "mlp", "seed": 0}, quiet=True
    )
    for step in range(40):
        run.log(
            {"loss": lr * 10 / (step + 1), "acc": step / 40 * lr * 10}, step=step, prefix="train"
        )
        if step % 10 == 9:
            run.log({"loss": lr * 12 / (step + 1)}, step=step, prefix="val")
    if media:
        pixels = np.zeros((16, 16, 3), dtype=np.uint8)
        pixels[:, :8, 0] = 255
        run.log(
            {
                "samples": wandb.Image(pixels, caption="left half red"),
                "weights": wandb.Histogram([0.1, 0.2, 0.2, 0.9], num_bins=4),
                "preds": wandb.Table(
                    columns=["input", "label"], data=[["cat", 1], ["dog", 0], ["<b>", 2]]
                ),
            },
            step=45,
        )  # the 41st row: wandb's _step 40, global_step 45
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
    train = dash.charts[0]
    assert len(train.svgs) == 2 and all(svg.startswith("<svg") for svg in train.svgs)
    # both runs in every chart, raw values faint under the smoothed line, one x-range per section
    assert (
        train.svgs[0].count("<polyline") == 4 and train.svgs[0].count("stroke-opacity='0.3'") == 2
    )
    ticks = [
        re.findall(r"<text class='tick' x='([\d.]+)' y='164'[^>]*>([^<]+)<", svg)
        for svg in train.svgs
    ]
    assert ticks[0] == ticks[1] and [label for _, label in ticks[0]] == ["0", "10", "20", "30"]
    assert "global_step 39" in train.svgs[1]  # the hover read-out names the step metric

    text = repr(dash)
    assert "small-lr" in text and "big-lr" in text and "x = global_step" in text
    assert "lr = 0.01 | 0.1" in text and "arch" not in text.split("config differs")[1]

    page = dash.to_html()
    assert (
        page.count("data:image/png;base64,") == 2
    )  # the image and the histogram (charts are inline SVG)
    assert page.count('<svg class="nbwandb-chart-svg"') == 3
    assert "weights (global_step 45)" in page
    assert "left half red" in page and "&lt;b&gt;" in page and "<b>cat" not in page
    assert "samples (global_step 45)" in page and "3 rows" in page
    sample = next(m for m in dash.runs[0].media if m["key"] == "samples")
    assert sample["step"] == 40 and sample["global_step"] == 45
    bundle = dash._repr_mimebundle_()
    assert (
        bundle["text/plain"] == text
        and "<img" in bundle["text/html"]
        and "<svg" in bundle["text/html"]
    )


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
    with pytest.raises(
        ValueError,
        match=r"'nope' matches no metric; logged metrics: train/acc, train/loss, val/loss$",
    ):
        nbwandb.show(local, keys=["nope"])
    with pytest.raises(ValueError, match=r"smoothing=1.5"):
        nbwandb.show(local, smoothing=1.5)
    with pytest.raises(ValueError, match="x='epoch'"):
        nbwandb.show(local, x="epoch")
    with pytest.raises(ValueError, match="max_points=0 is not accepted; use an int >= 10"):
        nbwandb.show(local, max_points=0)
    with pytest.raises(ValueError, match="show\\(\\) got no runs"):
        nbwandb.show([])
    with pytest.raises(TypeError, match="show\\(\\) got int"):
        nbwandb.show(3)
    # a runs table from list_runs() (read without rows) is drawn from its cache's sampled
    # series: for a short run they hold every point, so the charts are the same
    from_table = nbwandb.show(list_runs())
    assert from_table.runs[0].history == [] and from_table.runs[0].steps == len(local.history)
    from_rows = nbwandb.show(local)
    assert from_table.sections == from_rows.sections
    assert [c.svgs for c in from_table.charts] == [c.svgs for c in from_rows.charts]


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
    code = (
        "import sys, nbwandb.views.dashboard, nbwandb.local; "
        "print(sorted(m for m in ('IPython', 'ipywidgets', 'matplotlib', 'wandb', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


EPOCH_COLORS = [(255, 0, 0), (0, 200, 0), (0, 0, 255)]


def table_rows_html(page: str, key: str) -> tuple[str, list[list[str]]]:
    """The caption and the body cells (raw HTML) of the embedded table logged under ``key``."""
    block = re.search(
        rf"<div><b>{re.escape(key)} \([^)]*\)</b> <span class='muted'>([^<]*)</span>"
        r".*?<table class='nbw-table'>(.*?)</table>",
        page,
    )
    assert block, f"no table {key!r} in the page"
    rows = re.findall(r"<tr>(.*?)</tr>", block.group(2))[1:]  # [0] is the header
    return block.group(1), [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def mean_rgb(cell: str) -> tuple[tuple[int, int], tuple[float, ...]]:
    import base64

    import numpy as np
    from PIL import Image

    src = re.fullmatch(r"<img class='thumb' alt='image' src='data:image/png;base64,([^']+)'>", cell)
    assert src, cell
    with Image.open(io.BytesIO(base64.b64decode(src.group(1)))) as img:
        return img.size, tuple(
            np.asarray(img.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)
        )


def log_prediction_table(epochs: int = 3, per_epoch: int = 8) -> Path:
    """A table that grows per epoch, as in the quickstart: every image one solid epoch colour."""
    import numpy as np

    from nbwandb.media import PredictionTable

    run = nbwandb.init("dash", name="preds", mode="offline", quiet=True)
    table = PredictionTable()
    for epoch in range(epochs):
        for i in range(per_epoch):
            pixels = np.empty((100, 50, 3), dtype=np.uint8)  # taller than the 64 px thumbnail
            pixels[...] = EPOCH_COLORS[epoch]
            table.add(epoch, pixels, label=i % 3, prediction=(i + epoch) % 3, score=i / 10)
        run.log({"loss": 1 / (epoch + 1)}, step=epoch, prefix="train")
        table.log(run, "predictions", step=epoch, prefix="val")
    run.finish()
    return Path(run.run_dir)


def test_table_images_are_thumbnails_of_the_last_rows(isolated: Path) -> None:
    run_dir = log_prediction_table()
    page = nbwandb.show(run_dir).save(isolated / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page) and "<script" not in page

    caption, rows = table_rows_html(page, "val/predictions")
    assert caption == "last 10 of 24 rows"
    # the newest rows: the last 2 of epoch 1, then all 8 of epoch 2, in logged order
    assert [r[0] for r in rows] == ["1", "1"] + ["2"] * 8
    assert [r[4] for r in rows] == [
        "0.6",
        "0.7",
        "0",
        "0.1",
        "0.2",
        "0.3",
        "0.4",
        "0.5",
        "0.6",
        "0.7",
    ]
    for row in rows:
        size, rgb = mean_rgb(row[1])
        assert size == (32, 64)  # 50 x 100 shrunk to fit 64 x 64, aspect kept
        assert rgb == pytest.approx(EPOCH_COLORS[int(row[0])], abs=1)
    assert len(page) < 100_000  # thumbnails keep the report small

    # max_rows bounds the rows shown; a table that fits says just how many rows it has
    caption, rows = table_rows_html(nbwandb.show(run_dir, max_rows=3).to_html(), "val/predictions")
    assert caption == "last 3 of 24 rows" and [r[4] for r in rows] == ["0.5", "0.6", "0.7"]
    caption, rows = table_rows_html(nbwandb.show(run_dir, max_rows=50).to_html(), "val/predictions")
    assert caption == "24 rows" and [r[0] for r in rows] == ["0"] * 8 + ["1"] * 8 + ["2"] * 8


def test_log_table_image_cells_and_images_gone_after_sync(isolated: Path) -> None:
    import numpy as np

    from nbwandb.local.media_files import staged_tables

    run = nbwandb.init("dash", name="tbl", mode="offline", quiet=True)
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    for i, color in enumerate([*EPOCH_COLORS, (10, 20, 30)]):
        images[i] = color
    run.log_table("samples", {"image": images, "name": ["r", "g", "b", "dark"]}, step=1)
    run.finish()
    page = nbwandb.show(run.run_dir).to_html()
    caption, rows = table_rows_html(page, "samples")
    assert caption == "4 rows" and [r[1] for r in rows] == ["r", "g", "b", "dark"]
    for row, color in zip(rows, [*EPOCH_COLORS, (10, 20, 30)], strict=True):
        size, rgb = mean_rgb(row[0])
        assert size == (8, 8) and rgb == pytest.approx(color, abs=1)

    # `wandb sync` removes the staged artifact files: the cells then say so, the rest still shows
    files = staged_tables(run.run_file)["samples"]
    assert files and "samples.table.json" in files
    for (
        name,
        path,
    ) in files.items():  # keyed by the path in the artifact; staged files have tmp names
        if name.endswith(".png"):
            path.unlink()
    caption, rows = table_rows_html(nbwandb.show(run.run_dir).to_html(), "samples")
    assert [r[0] for r in rows] == ["image not embedded (file gone or too large)"] * 4 and rows[3][
        1
    ] == "dark"


def test_gif_video_is_an_image_and_overlays_are_drawn(isolated: Path) -> None:
    """A logged video (wandb writes GIFs) shows as <img>; masks and boxes are drawn over their image."""
    import base64

    import numpy as np
    from PIL import Image

    run = nbwandb.init("dash", name="media", mode="offline", quiet=True)
    frames = np.zeros((4, 3, 16, 16), dtype=np.uint8)  # (T, C, H, W)
    frames[:, 0] = np.arange(4)[:, None, None] * 60
    run.log_video("rollout", frames, fps=4, step=0)
    pixels = np.full((32, 32, 3), 90, dtype=np.uint8)
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[8:24, 8:24] = 1
    run.log_image(
        "seg",
        pixels,
        step=0,
        masks={"pred": {"mask_data": mask, "class_labels": {0: "bg", 1: "cat"}}},
        boxes={
            "pred": {
                "box_data": [
                    {
                        "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6},
                        "class_id": 1,
                        "box_caption": "cat",
                    }
                ],
                "class_labels": {1: "cat"},
            }
        },
    )
    run.finish()
    page = nbwandb.show(run.run_dir).to_html()
    assert "<video" not in page
    gif = re.search(
        r"<img class='media video' alt='rollout' src='data:image/gif;base64,([^']+)'>", page
    )
    assert gif, "the GIF is shown as an image"
    with Image.open(io.BytesIO(base64.b64decode(gif.group(1)))) as img:
        assert img.format == "GIF" and img.n_frames == 4
    overlay = re.search(r"<svg class='media overlay'.*?</svg>", page)
    assert overlay, "the image with its overlays is one SVG"
    svg = overlay.group(0)
    # the box: 0.1..0.5 of 32 px wide, 0.2..0.6 high, with its caption
    assert "<rect x='3.20' y='6.40' width='12.80' height='12.80'" in svg and ">cat</text>" in svg
    mask_b64 = re.search(r"<image class='mask' href='data:image/png;base64,([^']+)'", svg).group(1)
    with Image.open(io.BytesIO(base64.b64decode(mask_b64))) as img:
        rgba = np.asarray(img.convert("RGBA"))
    assert (
        rgba[16, 16, 3] == 255 and rgba[0, 0, 3] == 0
    )  # the class is coloured, the background clear


def test_wandb_own_keys_are_charted_only_when_named(isolated: Path) -> None:
    # A run file holds _runtime, _step and _timestamp in every row (issue 29, item 3).
    run_dir = make_run("own-keys", 0.1)
    local = read_run(run_dir)
    assert {"_runtime", "_step", "_timestamp"} <= set(local.history[0])
    page = nbwandb.show(local).to_html()
    titles = re.findall(r'data-title="([^"]+)"', page)
    assert titles == ["train/acc", "train/loss", "val/loss"], titles
    named = nbwandb.show(local, keys=["val", "_runtime"])
    assert named.keys == ["val/loss", "_runtime"]
    assert re.findall(r'data-title="([^"]+)"', named.to_html()) == ["val/loss", "_runtime"]
    assert nbwandb.show(local, keys=["_*"]).keys == ["_runtime", "_step", "_timestamp"]
    with pytest.raises(ValueError, match="'_nope' matches no metric"):
        nbwandb.show(local, keys=["_nope"])
