"""Images, batches, grids, overlays and figures: logged to real offline runs and read back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from leet import leet_history
from media_support import media_file, media_value, media_values, png_array
from PIL import Image

import nbwandb
from nbwandb import NbwandbError, NbwandbWarning, NoOpRun
from nbwandb.media import images as images_module
from nbwandb.media import make_grid, to_image_array, to_image_batch

CHANNELS_SET = {1, 3, 4}


def expected_uint8(x: torch.Tensor) -> np.ndarray:
    """What a [0, 1] float CHW tensor should look like as HWC uint8 (independent of nbwandb)."""
    return np.floor(x.detach().permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def test_float_tensor_image_is_written_as_a_png_of_its_pixels():
    x = torch.rand(3, 20, 30, requires_grad=True)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log({"loss": 0.5}, step=3)
        run.log_image("input", x * 1, caption="first", step=3)  # a non-leaf tensor with grad
    rows = media_values(run, "input")
    assert len(rows) == 1
    value = rows[0]
    assert (value["_type"], value["width"], value["height"], value["caption"]) == (
        "image-file",
        30,
        20,
        "first",
    )
    history = nbwandb.local.read_run(run.run_dir).history
    assert [(r["global_step"], r["loss"]) for r in history] == [(3, 0.5)]  # same row as the metric
    pixels = png_array(media_file(run, value["path"]))
    assert pixels.shape == (20, 30, 3)
    np.testing.assert_array_equal(pixels, expected_uint8(x))
    [leet_row] = leet_history(run.run_dir)  # wandb's own reader agrees
    assert (leet_row["input._type"], leet_row["input.path"], leet_row["global_step"]) == (
        "image-file",
        value["path"],
        3,
    )


def test_arrays_pil_images_and_files_in_their_layouts():
    gray = (np.arange(12 * 16) % 256).astype(np.uint8).reshape(12, 16)
    rgba = np.random.default_rng(0).integers(0, 256, (10, 8, 4), dtype=np.uint8)
    chw_numpy = np.random.default_rng(1).random((3, 9, 7)).astype(np.float32)
    one_channel_tensor = torch.rand(1, 6, 5)
    jpg = Image.fromarray(np.full((11, 13, 3), 200, np.uint8))
    jpg.save("photo.jpg")
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_image("gray", gray, step=0)
        run.log_image("rgba", rgba, step=0)
        run.log_image("chw", chw_numpy, step=0)
        run.log_image("one", one_channel_tensor, step=0)
        run.log_image("pil", Image.fromarray(rgba[..., :3]), step=0)
        run.log_image("file", "photo.jpg", step=0)
        run.log_image("bool", np.eye(4, dtype=bool), step=0)
        run.log_image("ints", np.full((4, 4), 7, dtype=np.int64), step=0)
        run.log_image("half", torch.full((3, 4, 4), 0.5, dtype=torch.bfloat16), step=0)
    np.testing.assert_array_equal(
        png_array(media_file(run, media_value(run, "gray")["path"])), gray
    )
    np.testing.assert_array_equal(
        png_array(media_file(run, media_value(run, "rgba")["path"])), rgba
    )
    chw = png_array(media_file(run, media_value(run, "chw")["path"]))
    assert chw.shape == (9, 7, 3)
    one = png_array(media_file(run, media_value(run, "one")["path"]))
    assert one.shape == (6, 5)
    np.testing.assert_array_equal(one, expected_uint8(one_channel_tensor)[:, :, 0])
    np.testing.assert_array_equal(
        png_array(media_file(run, media_value(run, "pil")["path"])), rgba[..., :3]
    )
    file_value = media_value(run, "file")
    assert (file_value["format"], file_value["width"], file_value["height"]) == ("jpg", 13, 11)
    assert file_value["path"].endswith(".jpg")
    np.testing.assert_array_equal(
        png_array(media_file(run, media_value(run, "bool")["path"])),
        np.eye(4, dtype=np.uint8) * 255,
    )
    assert png_array(media_file(run, media_value(run, "ints")["path"])).max() == 7
    assert set(np.unique(png_array(media_file(run, media_value(run, "half")["path"])))) == {128}


def test_batch_becomes_separate_images_with_captions_and_max_images():
    batch = torch.rand(6, 3, 8, 10)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_images(
            "samples",
            batch,
            captions=[f"c{i}" for i in range(6)],
            max_images=4,
            step=1,
            prefix="val",
        )
        run.log_images("hwc", np.zeros((2, 5, 6, 3), np.uint8), step=1)
        run.log_images("list", [torch.rand(3, 4, 4), np.zeros((7, 7), np.uint8)], step=1)
    value = media_value(run, "val/samples")
    assert (value["_type"], value["count"], value["width"], value["height"]) == (
        "images/separated",
        4,
        10,
        8,
    )
    assert value["captions"] == ["c0", "c1", "c2", "c3"]
    files = [media_file(run, name) for name in value["filenames"]]
    for i, path in enumerate(files):
        np.testing.assert_array_equal(png_array(path), expected_uint8(batch[i]))
    assert len(list((run.files_dir / "media" / "images").glob("val/samples_*.png"))) == 4
    assert (media_value(run, "hwc")["count"], media_value(run, "hwc")["width"]) == (2, 6)
    assert (
        media_value(run, "list")["count"] == 2
    )  # images of different sizes are fine without a grid


def test_grid_is_one_image_with_the_tiles_in_order():
    batch = torch.rand(5, 3, 8, 8)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_images("grid", batch, grid=True, captions=list("abcde"), step=0)
    value = media_value(run, "grid")
    # 5 tiles -> 3 columns x 2 rows of 8 px, 2 px padding around each tile.
    assert (value["_type"], value["width"], value["height"]) == ("image-file", 32, 22)
    assert value["caption"] == "0: a | 1: b | 2: c | 3: d | 4: e"
    pixels = png_array(media_file(run, value["path"]))
    np.testing.assert_array_equal(pixels[2:10, 2:10], expected_uint8(batch[0]))
    np.testing.assert_array_equal(pixels[12:20, 2:10], expected_uint8(batch[3]))
    np.testing.assert_array_equal(pixels[12:20, 22:30], 0)  # the empty sixth tile
    assert len(list((run.files_dir / "media" / "images").glob("*.png"))) == 1


def test_make_grid_and_batch_converters():
    batch = to_image_batch(torch.rand(7, 1, 4, 6), key="b")
    assert batch.shape == (7, 4, 6, 1) and batch.dtype == np.uint8
    grid = make_grid(batch, ncols=7, padding=0)
    assert grid.shape == (4, 42, 1)
    np.testing.assert_array_equal(grid[:, 6:12], batch[1])
    assert make_grid(batch, ncols=2, padding=1, pad_value=255).shape == (4 * 5 + 1, 2 * 7 + 1, 1)
    with pytest.raises(NbwandbError, match="uint8"):
        make_grid(np.zeros((2, 4, 4, 3), np.float32))


def test_out_of_range_floats_are_min_max_rescaled_with_one_warning():
    x = torch.linspace(-1, 1, 16).reshape(1, 4, 4)
    with (
        nbwandb.init(project="p", quiet=True) as run,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        run.log_image("gan", x, step=0)
        run.log_image("gan", x * 3, step=1)
    messages = [str(w.message) for w in caught if issubclass(w.category, NbwandbWarning)]
    assert len(messages) == 1 and "'gan'" in messages[0] and "min-max" in messages[0]
    pixels = png_array(media_file(run, media_values(run, "gan")[0]["path"]))
    assert (pixels.min(), pixels.max()) == (0, 255)
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_masks_and_boxes_reach_wandbs_overlays():
    image = torch.rand(3, 12, 16)
    mask = torch.zeros(12, 16, dtype=torch.long)
    mask[4:8, 5:10] = 2
    boxes = {
        "pred": {
            "box_data": [
                {
                    "position": {
                        "minX": 0.1,
                        "maxX": torch.tensor(0.5),
                        "minY": 0.2,
                        "maxY": np.float32(0.6),
                    },
                    "class_id": 2,
                    "scores": {"p": np.float64(0.9)},
                }
            ],
            "class_labels": {2: "cat"},
        }
    }
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_image(
            "seg",
            image,
            masks={"pred": {"mask_data": mask, "class_labels": {0: "bg", 2: "cat"}}},
            boxes=boxes,
            step=0,
        )
    value = media_value(run, "seg")
    mask_png = png_array(media_file(run, value["masks"]["pred"]["path"]))
    np.testing.assert_array_equal(mask_png, mask.numpy().astype(np.uint8))
    import json

    box_json = json.loads(media_file(run, value["boxes"]["pred"]["path"]).read_text())
    assert box_json["box_data"][0]["position"] == {
        "minX": 0.1,
        "maxX": 0.5,
        "minY": 0.2,
        "maxY": pytest.approx(0.6),
    }
    assert box_json["class_labels"] == {"2": "cat"}


def test_figure_is_rendered_and_closed():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    with nbwandb.init(project="p", quiet=True) as run:
        for step in range(3):
            fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
            ax.plot([0, 1], [step, 1])
            run.log_figure("curve", fig, step=step)
        kept, ax = plt.subplots(figsize=(2, 2), dpi=50)
        run.log_figure("kept", ax, close=False, step=3)
    assert set(plt.get_fignums()) - before == {kept.number}
    plt.close(kept)
    values = media_values(run, "curve")
    assert [(v["width"], v["height"]) for v in values] == [(150, 100)] * 3
    for v in values:
        assert png_array(media_file(run, v["path"])).shape == (100, 150, 4)
    assert to_image_array(plt.figure(figsize=(1, 1), dpi=20), key="f").shape == (20, 20, 4)
    plt.close("all")


def test_good_image_survives_a_bad_one():
    good = torch.rand(3, 8, 8)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_image("img", good, step=0)
        for bad in (
            torch.rand(2, 8, 8),
            torch.full((3, 4, 4), float("nan")),
            np.zeros((0, 3, 4, 4)),
        ):
            with pytest.raises((NbwandbError, ValueError, TypeError), match="'img'"):
                run.log_image("img", bad, step=1)
        with pytest.raises(NbwandbError, match="4 captions for 3 images"):
            run.log_images("batch", torch.rand(3, 3, 4, 4), captions=list("abcd"), step=1)
        run.log({"loss": 1.0}, step=1)
    values = media_values(run, "img")
    assert len(values) == 1
    np.testing.assert_array_equal(
        png_array(media_file(run, values[0]["path"])), expected_uint8(good)
    )
    assert "batch" not in str(nbwandb.local.read_run(run.run_dir).history)


SINGLE = [
    ("wrong rank", torch.rand(2, 3, 8, 8), ValueError, ["(2, 3, 8, 8)", "log_images", "accepted"]),
    ("1-d", np.zeros(5), ValueError, ["(5,)", "accepted"]),
    ("two channels", torch.rand(2, 8, 8), ValueError, ["(2, 8, 8)", "1, 3 or 4 channels"]),
    ("five channels hwc", np.zeros((8, 8, 5)), ValueError, ["(8, 8, 5)", "accepted"]),
    (
        "nan pixels",
        torch.tensor([[0.1, float("nan")], [0.2, 0.3]]),
        ValueError,
        ["non-finite", "(2, 2)"],
    ),
    ("inf pixels", np.array([[0.1, np.inf]]), ValueError, ["non-finite"]),
    ("complex dtype", np.zeros((4, 4), np.complex64), TypeError, ["complex64", "accepted"]),
    (
        "complex tensor",
        torch.zeros(3, 4, 4, dtype=torch.complex64),
        TypeError,
        ["torch.complex64", "accepted"],
    ),
    ("object dtype", np.array([[None, 1]], dtype=object), TypeError, ["object", "accepted"]),
    ("string dtype", np.array([["a", "b"]]), TypeError, ["<U1", "accepted"]),
    ("not an image", {"a": 1}, TypeError, ["dict", "accepted"]),
    ("missing file", "no/such.png", ValueError, ["no/such.png", "does not exist"]),
    ("no pixels", np.zeros((0, 4)), ValueError, ["no pixels"]),
    ("too long", np.zeros((1, 70_000), np.uint8), ValueError, ["70000x1", "65500"]),
]


@pytest.mark.parametrize(("case", "value", "kind", "words"), SINGLE, ids=[c[0] for c in SINGLE])
def test_bad_images_get_clear_errors(case, value, kind, words):
    with pytest.raises(kind) as info:
        images_module.log_image(NoOpRun(), "my/key", value)
    assert isinstance(info.value, NbwandbError)
    message = str(info.value)
    assert "'my/key'" in message
    for word in words:
        assert word in message, (word, message)


BATCHES = [
    ("one image", {"images": torch.rand(3, 8, 8)}, ["(3, 8, 8)", "use log_image"]),
    ("empty batch", {"images": torch.rand(0, 3, 8, 8)}, ["empty batch", "(0, 3, 8, 8)"]),
    ("empty list", {"images": []}, ["empty list"]),
    (
        "captions",
        {"images": torch.rand(2, 3, 8, 8), "captions": ["a"]},
        ["1 captions for 2 images"],
    ),
    (
        "caption type",
        {"images": torch.rand(2, 3, 8, 8), "captions": [1, 2]},
        ["caption must be a string"],
    ),
    (
        "grid of sizes",
        {"images": [np.zeros((4, 4)), np.zeros((5, 5))], "grid": True},
        ["different shapes"],
    ),
    ("too many", {"images": torch.rand(200, 1, 2, 2), "max_images": 200}, ["108", "grid=True"]),
    ("max_images", {"images": torch.rand(2, 1, 2, 2), "max_images": 0}, ["max_images=0"]),
    ("wrong channels", {"images": torch.rand(2, 5, 8, 8)}, ["(2, 5, 8, 8)", "accepted"]),
    ("nan", {"images": torch.full((2, 3, 4, 4), float("inf"))}, ["non-finite"]),
    ("bad list item", {"images": [np.zeros((4, 4)), "nope.png"]}, ["'k[1]'", "nope.png"]),
]


@pytest.mark.parametrize(("case", "kwargs", "words"), BATCHES, ids=[c[0] for c in BATCHES])
def test_bad_batches_get_clear_errors(case, kwargs, words):
    with pytest.raises((ValueError, TypeError)) as info:
        images_module.log_images(NoOpRun(), "k", **kwargs)
    assert isinstance(info.value, NbwandbError)
    assert "'k" in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_masks_boxes_and_figures():
    run = NoOpRun()
    image = np.zeros((4, 6, 3), np.uint8)
    with pytest.raises(ValueError, match=r"'seg'.*\(4, 6\)"):
        images_module.log_image(
            run, "seg", image, masks={"m": {"mask_data": np.zeros((4, 5), int)}}
        )
    with pytest.raises(TypeError, match="class ids must be integers"):
        images_module.log_image(run, "seg", image, masks={"m": {"mask_data": np.zeros((4, 6))}})
    with pytest.raises(ValueError, match=r"0\.\.255"):
        images_module.log_image(run, "seg", image, masks={"m": np.full((4, 6), 300)})
    with pytest.raises(ValueError, match="'position' and 'class_id'"):
        images_module.log_image(run, "seg", image, boxes={"b": {"box_data": [{"class_id": 1}]}})
    with pytest.raises(TypeError, match=r"'fig'.*matplotlib Figure"):
        images_module.log_figure(run, "fig", np.zeros((4, 4)))


def test_converters_take_devices_grad_and_pil_modes():
    x = torch.rand(3, 5, 5, requires_grad=True)
    np.testing.assert_array_equal(to_image_array(x, key="x"), expected_uint8(x))
    assert to_image_array(Image.new("P", (3, 2)), key="p").shape == (2, 3, 3)
    assert to_image_array(Image.new("LA", (3, 2)), key="la").shape == (2, 3, 4)
    assert to_image_array(torch.rand(1, 3, 4, 4), key="batch of one").shape == (4, 4, 3)
    assert to_image_array(torch.eye(4).to_sparse(), key="sparse").shape == (4, 4, 1)
    with pytest.raises(TypeError, match=r"'meta'.*on meta.*cannot be copied"):
        to_image_array(torch.empty(3, 4, 4, device="meta"), key="meta")
    # A numpy array whose first and last axes both fit is read as (H, W, C); a tensor as (C, H, W).
    assert to_image_array(np.zeros((3, 5, 3), np.uint8), key="a").shape == (3, 5, 3)
    assert to_image_array(torch.zeros(3, 5, 3, dtype=torch.uint8), key="t").shape == (5, 3, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_convert():
    x = torch.rand(4, 3, 8, 8, device="cuda", requires_grad=True)
    batch = to_image_batch(x * 1, key="gpu")
    np.testing.assert_array_equal(batch[2], expected_uint8(x[2].cpu()))


def test_a_wandb_image_is_logged_as_it_is():
    import wandb

    with nbwandb.init(project="p", quiet=True) as run:
        run.log_image(
            "ready", wandb.Image(np.full((3, 5), 9, np.uint8)), caption="made by hand", step=0
        )
    value = media_value(run, "ready")
    assert (value["width"], value["height"], value["caption"]) == (5, 3, "made by hand")
    assert png_array(media_file(run, value["path"])).max() == 9


def test_range_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        to_image_array(np.array([[2.0, 3.0]]), key="where")
    [warning] = [w for w in caught if issubclass(w.category, NbwandbWarning)]
    assert warning.filename == __file__


@settings(max_examples=40, deadline=None)
@example(
    n=1, c=3, h=3, w=3, channels_last=False, seed=0
)  # C == H == W: layout must not be guessed from shapes
@given(
    n=st.integers(1, 5),
    c=st.sampled_from([1, 3, 4]),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    channels_last=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batch_conversion_and_grid_keep_every_pixel(n, c, h, w, channels_last, seed):
    nhwc = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    given_batch = nhwc if channels_last else torch.from_numpy(nhwc).permute(0, 3, 1, 2)
    if channels_last and h in CHANNELS_SET and c in CHANNELS_SET:
        given_batch = torch.from_numpy(nhwc).permute(
            0, 3, 1, 2
        )  # ambiguous numpy layouts read as HWC anyway
    batch = to_image_batch(given_batch, key="prop")
    np.testing.assert_array_equal(batch, nhwc)
    grid = make_grid(batch, padding=1)
    ncols = int(np.ceil(np.sqrt(n)))
    for i in range(n):
        r, col = divmod(i, ncols)
        y, x = 1 + r * (h + 1), 1 + col * (w + 1)
        np.testing.assert_array_equal(grid[y : y + h, x : x + w], nhwc[i])
