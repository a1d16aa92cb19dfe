"""Media for a run: images, tables, text, audio, video, histograms and 3-D point clouds.

Each ``log_*`` function converts on the caller's thread (so bad input fails at the call,
naming the key, before anything is written) and then calls ``run.log({key: value},
step=step, prefix=prefix)``, so media share the run's step and its one row per step.
``Run.log_image(...)`` and friends delegate here.

The pure converters (``to_image_array``, ``to_image_batch``, ``make_grid``, ``to_table_rows``,
...) return numpy arrays and plain lists, for previews in the notebook layer.

>>> import numpy as np
>>> from nbwandb.media import make_grid, to_image_batch
>>> make_grid(to_image_batch(np.random.rand(16, 3, 32, 32), key="batch")).shape
(138, 138, 3)
"""

from __future__ import annotations

from nbwandb.media.arrays import MediaDependencyError, MediaError, MediaTypeError
from nbwandb.media.audio import AUDIO_SHAPES, log_audio, to_waveform
from nbwandb.media.histograms import histogram_counts, log_histogram
from nbwandb.media.images import (
    BATCH_SHAPES,
    IMAGE_SHAPES,
    figure_to_array,
    log_figure,
    log_image,
    log_images,
    make_grid,
    to_image_array,
    to_image_batch,
)
from nbwandb.media.points import POINT_SHAPES, log_3d, to_point_cloud
from nbwandb.media.tables import (
    PredictionTable,
    log_table,
    log_text,
    make_table,
    table_rows,
    to_table_rows,
)
from nbwandb.media.video import VIDEO_SHAPES, log_video, to_video_frames

__all__ = [
    "AUDIO_SHAPES",
    "BATCH_SHAPES",
    "IMAGE_SHAPES",
    "POINT_SHAPES",
    "VIDEO_SHAPES",
    "MediaDependencyError",
    "MediaError",
    "MediaTypeError",
    "PredictionTable",
    "figure_to_array",
    "histogram_counts",
    "log_3d",
    "log_audio",
    "log_figure",
    "log_histogram",
    "log_image",
    "log_images",
    "log_table",
    "log_text",
    "log_video",
    "make_grid",
    "make_table",
    "table_rows",
    "to_image_array",
    "to_image_batch",
    "to_point_cloud",
    "to_table_rows",
    "to_video_frames",
    "to_waveform",
]
