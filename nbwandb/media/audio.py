"""Audio from numpy arrays or torch tensors.

Layout: ``(samples,)`` is mono; a 2-D value is ``(channels, samples)`` as torchaudio and
librosa return it. A ``(samples, channels)`` array (soundfile's layout) is also taken
when its first axis is the longer one. Floats are expected in ``[-1, 1]``; louder
waveforms are scaled down by their peak with a one-time warning (wandb's 16-bit WAV would
clip them). ``int16``/``int32`` samples are written as they are.

>>> with nbwandb.init(project="demo", quiet=True) as run:
...     run.log_audio("speech", np.sin(np.linspace(0, 900, 16000)), 16000, step=0)
>>> [(entry["key"], entry["type"]) for entry in nbwandb.local.read_run(run).media]
[('speech', 'audio')]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbwandb.errors import require
from nbwandb.media.arrays import (
    MediaDependencyError,
    MediaError,
    MediaTypeError,
    check_caption,
    check_numeric,
    describe,
    positive_int,
    to_numpy,
    wandb_module,
    warn_once,
)
from nbwandb.run.handle import RunHandle
from nbwandb.values.metrics import join_key

AUDIO_SHAPES = (
    "(samples,) mono, or (channels, samples) with up to 32 channels (or (samples, channels)); "
    "float in [-1, 1] or int16/int32"
)
MAX_CHANNELS = 32


def to_waveform(x: Any, *, key: str = "audio") -> np.ndarray:
    """A ``(samples,)`` or ``(samples, channels)`` array as soundfile writes it.

    >>> to_waveform(np.zeros((2, 100), dtype=np.float32), key="a").shape
    (100, 2)
    """
    arr = to_numpy(x, key=key, what="audio", accepted=AUDIO_SHAPES)
    check_numeric(arr, key=key, what="audio", accepted=AUDIO_SHAPES, original=x)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim == 2:
        channels_first = arr.shape[0] <= arr.shape[1]
        channels = arr.shape[0] if channels_first else arr.shape[1]
        if channels > MAX_CHANNELS:
            raise MediaError(
                f"audio {key!r}: got {describe(x)}, read as {channels} channels; "
                f"accepted: {AUDIO_SHAPES} (a batch of clips: log them one by one)"
            )
        arr = arr.T if channels_first else arr
    elif arr.ndim != 1:
        raise MediaError(f"audio {key!r}: got {describe(x)}; accepted: {AUDIO_SHAPES}")
    if arr.shape[0] == 0:
        raise MediaError(
            f"audio {key!r}: got {describe(x)} with no samples; accepted: {AUDIO_SHAPES}"
        )
    if arr.dtype in (np.int16, np.int32):
        return np.ascontiguousarray(arr)
    if arr.dtype.kind in "biu":
        raise MediaTypeError(
            f"audio {key!r}: got {describe(x)}; integer samples must be int16 or int32 "
            f"(or pass floats in [-1, 1]); accepted: {AUDIO_SHAPES}"
        )
    arr = arr.astype(np.float32)
    peak = float(np.abs(arr).max())
    if peak > 1.0:
        warn_once(
            "audio-range",
            key,
            f"audio {key!r}: samples reach {peak:g}, outside [-1, 1]; they are "
            "divided by their peak so the WAV file does not clip",
        )
        arr = arr / peak
    return np.ascontiguousarray(arr)


def log_audio(
    run: RunHandle,
    key: str,
    waveform: Any,
    sample_rate: int,
    *,
    caption: str | None = None,
    step: int | None = None,
    prefix: str | None = None,
) -> None:
    """Log a waveform as a WAV file (needs ``soundfile``: ``pip install "nbwandb[media]"``).

    Raises:
        MediaError: (also a ValueError) a waveform of the wrong shape or values, or a
            ``sample_rate`` that is not a positive int.
        MediaTypeError: (also a TypeError) a type or dtype that cannot be converted.
        MediaDependencyError: (a MissingDependencyError, an ImportError) soundfile is not
            installed.
        RunFinishedError: the run has finished.
    """
    full = join_key(prefix, key)
    rate = positive_int(sample_rate, name="sample_rate", what="audio", key=full)
    check_caption(caption, key=full)
    data = to_waveform(waveform, key=full)
    # wandb imports soundfile to write the WAV: fail here, with the key, not inside wandb.
    require("soundfile", purpose=f"audio {full!r}", extra="media", error=MediaDependencyError)
    run.log(
        {key: wandb_module().Audio(data, sample_rate=rate, caption=caption)},
        step=step,
        prefix=prefix,
    )
