"""Audio, video, histograms and 3-D point clouds: logged offline, files read back."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import soundfile
import torch
from media_support import media_file, media_value
from PIL import Image

import nbwandb
from nbwandb import NbwandbError, NbwandbWarning, NoOpRun
from nbwandb.local import read_run
from nbwandb.media import MediaDependencyError, histogram_counts, to_waveform
from nbwandb.media import audio as audio_module
from nbwandb.media import histograms as histograms_module
from nbwandb.media import points as points_module
from nbwandb.media import video as video_module


def test_audio_mono_and_multichannel_layouts_become_wav_files():
    t = torch.linspace(0, 1, 8000)
    mono = 0.5 * torch.sin(2 * torch.pi * 440 * t)
    stereo = torch.stack([mono, -mono])  # (channels, samples)
    soundfile_layout = stereo.numpy().T.copy()  # (samples, channels)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_audio("mono", mono, 8000, caption="a tone", step=0)
        run.log_audio("stereo", stereo, 8000, step=0)
        run.log_audio("sf", soundfile_layout, 16000, step=0)
        run.log_audio("pcm", (mono.numpy() * 20000).astype(np.int16), 8000, step=0)
    value = media_value(run, "mono")
    assert (value["_type"], value["caption"]) == ("audio-file", "a tone")
    data, rate = soundfile.read(media_file(run, value["path"]))
    assert (rate, data.shape) == (8000, (8000,))
    np.testing.assert_allclose(data, mono.numpy(), atol=1e-4)
    data, rate = soundfile.read(media_file(run, media_value(run, "stereo")["path"]))
    assert data.shape == (8000, 2)
    np.testing.assert_allclose(data[:, 1], -mono.numpy(), atol=1e-4)
    data, rate = soundfile.read(media_file(run, media_value(run, "sf")["path"]))
    assert (rate, data.shape) == (16000, (8000, 2))
    data, _ = soundfile.read(media_file(run, media_value(run, "pcm")["path"]), dtype="int16")
    np.testing.assert_array_equal(data, (mono.numpy() * 20000).astype(np.int16))


def test_loud_audio_is_scaled_by_its_peak_with_a_warning():
    with pytest.warns(NbwandbWarning, match="'loud'.*divided by their peak"):
        wave = to_waveform(np.array([0.0, 2.0, -4.0]), key="loud")
    np.testing.assert_allclose(wave, [0.0, 0.5, -1.0])


BAD_AUDIO = [
    (
        "3-d",
        {"waveform": np.zeros((2, 2, 100))},
        ValueError,
        ["(2, 2, 100)", "(channels, samples)"],
    ),
    ("batch", {"waveform": np.zeros((64, 1000))}, ValueError, ["64 channels", "one by one"]),
    ("empty", {"waveform": np.zeros(0)}, ValueError, ["no samples"]),
    ("nan", {"waveform": np.array([0.1, np.nan])}, ValueError, ["non-finite"]),
    ("int8", {"waveform": np.zeros(10, np.int8)}, TypeError, ["int16 or int32"]),
    ("rate", {"waveform": np.zeros(10), "sample_rate": 0}, ValueError, ["sample_rate=0"]),
    (
        "float rate",
        {"waveform": np.zeros(10), "sample_rate": 8000.5},
        ValueError,
        ["sample_rate=8000.5"],
    ),
    ("type", {"waveform": "song.wav"}, TypeError, ["str", "accepted"]),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "kind", "words"), BAD_AUDIO, ids=[c[0] for c in BAD_AUDIO]
)
def test_bad_audio_gets_clear_errors(case, kwargs, kind, words):
    kwargs.setdefault("sample_rate", 8000)
    with pytest.raises(kind) as info:
        audio_module.log_audio(NoOpRun(), "aud", **kwargs)
    assert isinstance(info.value, NbwandbError) and "'aud'" in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_histogram_counts_and_bins_reach_the_history():
    values = torch.cat([torch.zeros(30), torch.ones(70)]).reshape(10, 10)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_histogram("weights", values, bins=4, step=0, prefix="model")
        run.log_histogram("weights", values * 2, bins=4, step=1, prefix="model")
    rows = [r["model/weights"] for r in read_run(run.run_dir).history]
    assert [r["_type"] for r in rows] == ["histogram", "histogram"]
    assert rows[0]["values"] == [30, 0, 0, 70]
    assert rows[0]["bins"] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert rows[1]["bins"][-1] == pytest.approx(2.0)
    assert histogram_counts([5.0] * 3, bins=2, key="h")[0].tolist() == [0, 3]  # constant values


def test_histograms_of_values_numpy_cannot_bin_by_itself_are_logged():
    # a large constant leaves numpy's +-0.5 range no room for 64 edges (numpy 2.1: IndexError,
    # 2.4: "Too many bins"); a span wider than float64 overflows max - min
    large = np.full((2, 2), 4.5036e15, dtype=np.float32)
    wide = np.array([-1.79e308, 0.0, 1.79e308])
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_histogram("large", large, step=0)
        run.log_histogram("wide", wide, bins=4, step=0)
    row = read_run(run.run_dir).history[0]
    assert sum(row["large"]["values"]) == 4 and len(row["large"]["bins"]) == 65
    assert row["large"]["bins"][0] <= float(large[0, 0]) <= row["large"]["bins"][-1]
    assert row["wide"]["values"] == [1, 0, 1, 1]  # 0.0 is the left edge of the third bin
    assert row["wide"]["bins"][0] == -1.79e308 and row["wide"]["bins"][-1] == 1.79e308


@pytest.mark.parametrize(
    ("values", "bins", "words"),
    [
        ([], 10, ["no values"]),
        ([1.0, float("nan")], 10, ["non-finite"]),
        ([1, 2], 0, ["bins=0"]),
        ([1, 2], 1000, ["bins=1000", "512"]),
        (["a"], 10, ["<U1"]),
    ],
)
def test_bad_histograms_get_clear_errors(values, bins, words):
    with pytest.raises((ValueError, TypeError)) as info:
        histograms_module.log_histogram(NoOpRun(), "h", values, bins=bins)
    assert isinstance(info.value, NbwandbError) and "'h'" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_video_from_both_layouts_is_a_gif_with_every_frame():
    tchw = torch.rand(5, 3, 16, 24)
    thwc = np.random.default_rng(0).integers(0, 256, (3, 10, 12, 1), dtype=np.uint8)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_video("rollout", tchw, fps=5, caption="episode 1", step=0)
        run.log_video("gray", thwc, step=0)
    value = media_value(run, "rollout")
    assert (value["_type"], value["width"], value["height"]) == ("video-file", 24, 16)
    with Image.open(media_file(run, value["path"])) as gif:
        assert (gif.format, gif.n_frames, gif.size) == ("GIF", 5, (24, 16))
    with Image.open(media_file(run, media_value(run, "gray")["path"])) as gif:
        assert (gif.n_frames, gif.size) == (3, (12, 10))


BAD_VIDEO = [
    ("3-d", {"frames": np.zeros((4, 8, 8))}, ValueError, ["(4, 8, 8)", "(T, C, H, W)"]),
    ("no frames", {"frames": np.zeros((0, 3, 8, 8))}, ValueError, ["no frames"]),
    ("channels", {"frames": np.zeros((4, 2, 8, 7))}, ValueError, ["(4, 2, 8, 7)"]),
    ("nan", {"frames": torch.full((2, 3, 4, 4), float("nan"))}, ValueError, ["non-finite"]),
    ("fps", {"frames": np.zeros((2, 3, 4, 4)), "fps": 0}, ValueError, ["fps=0"]),
    ("list", {"frames": [1, 2]}, ValueError, ["list", "(T, C, H, W)"]),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "kind", "words"), BAD_VIDEO, ids=[c[0] for c in BAD_VIDEO]
)
def test_bad_video_gets_clear_errors(case, kwargs, kind, words):
    with pytest.raises(kind) as info:
        video_module.log_video(NoOpRun(), "vid", **kwargs)
    assert isinstance(info.value, NbwandbError) and "'vid'" in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_missing_video_encoder_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "moviepy", None)  # import moviepy now raises ImportError
    with pytest.raises(
        MediaDependencyError, match=r"'vid'.*moviepy.*pip install \"nbwandb\[media\]\""
    ):
        video_module.log_video(NoOpRun(), "vid", np.zeros((2, 3, 4, 4), np.uint8))


def test_point_clouds_are_written_with_every_point():
    xyz = torch.randn(50, 3)
    colored = np.concatenate(
        [np.random.default_rng(0).random((20, 3)), np.full((20, 3), 200.0)], axis=1
    )
    categories = np.concatenate([np.zeros((10, 3)), np.arange(10)[:, None]], axis=1)
    with nbwandb.init(project="p", quiet=True) as run:
        run.log_3d("lidar", xyz, step=0)
        run.log_3d("colored", colored, step=0)
        run.log_3d("classes", categories, step=0)
    value = media_value(run, "lidar")
    assert value["_type"] == "object3D-file" and value["path"].endswith(".pts.json")
    points = json.loads(media_file(run, value["path"]).read_text())
    np.testing.assert_allclose(np.array(points), xyz.numpy(), rtol=1e-6)
    assert np.array(
        json.loads(media_file(run, media_value(run, "colored")["path"]).read_text())
    ).shape == (20, 6)
    assert np.array(
        json.loads(media_file(run, media_value(run, "classes")["path"]).read_text())
    ).shape == (10, 4)


@pytest.mark.parametrize(
    ("points", "words"),
    [
        (np.zeros((10, 5)), ["(10, 5)", "(N, 3)"]),
        (np.zeros(3), ["(3,)", "(N, 3)"]),
        (np.zeros((0, 3)), ["(0, 3)"]),
        (np.array([[0, 0, np.inf]]), ["non-finite"]),
        (np.array([[0, 0, 0, 0, 0, 300]]), ["RGB", "0..255"]),
    ],
)
def test_bad_point_clouds_get_clear_errors(points, words):
    with pytest.raises(ValueError, match="'pc'") as info:
        points_module.log_3d(NoOpRun(), "pc", points)
    assert isinstance(info.value, NbwandbError) and "'pc'" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_noop_run_media_methods_do_nothing():
    run = nbwandb.init(use_wandb=False, quiet=True)
    run.log_image("x", "not even an image")
    run.log_images("x", None, grid=True)
    run.log_table("t", object())
    run.log_audio("a", None, 8000)
    run.log_video("v", None, fps=2)
    run.log_3d("p", None)
    run.finish()
    assert run.run_dir is None


def test_importing_the_converters_loads_no_heavy_library():
    import subprocess

    code = (
        "import sys, nbwandb.media; "
        "print([m for m in ('wandb', 'torch', 'matplotlib', 'pandas', 'IPython') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
