"""SweepPanel: progress, leaderboard and parallel coordinates, updated by a real offline sweep."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from nbwandb.notebook import sweep_panel  # noqa: E402
from nbwandb.notebook.sweep_panel import (  # noqa: E402
    PNG_MAGIC,
    SweepPanel,
    parallel_coordinates_png,
    parallel_coordinates_svg,
)
from nbwandb.sweeps import SweepResult, TrialRecord  # noqa: E402


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_panel_follows_a_real_sweep_trial_by_trial(isolated: Path) -> None:
    pytest.importorskip("optuna")  # the offline backend (not in the Colab stand-in)
    import matplotlib.pyplot as plt

    figures_before = plt.get_fignums()
    config = {
        "method": "grid",
        "metric": {"name": "val/loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.001, 0.01, 0.1]}, "act": {"values": ["relu", "tanh"]}},
    }
    panel = SweepPanel(plot_interval=0)
    seen: list[int] = []
    progress: list[tuple[int, int]] = []

    def user_callback(result: SweepResult, trial: TrialRecord) -> None:
        seen.append(trial.number)
        progress.append((panel._progress.value, panel._progress.max))

    result = panel.run(
        config,
        lambda cfg: {"val/loss": cfg["lr"] * (2 if cfg["act"] == "relu" else 1)},
        callback=user_callback,
    )

    assert sorted(seen) == list(range(6))
    assert progress == [(i, 6) for i in range(1, 7)]  # the bar moved once per trial, panel first
    assert (panel._progress.value, panel._progress.max, panel._progress.bar_style) == (
        6,
        6,
        "success",
    )
    best = result.best
    assert best is not None and best.params == {"lr": 0.001, "act": "tanh"}
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", panel._leaderboard.value).group(1)
    assert best.run_name in first_row and "0.001" in first_row
    svg = panel._plot.value
    assert svg.startswith("<svg") and 'data-trials="6"' in svg and panel.plots_drawn >= 2
    assert (
        svg.count("<polyline") == 6 and "stroke='crimson'" in svg
    )  # one line per trial, the best in red
    assert ">tanh<" in svg and "'tanh'" not in svg  # categories without quotes

    bundle = panel._repr_mimebundle_()
    assert "6 of 6 trials (6 complete)" in bundle["text/plain"]
    assert (
        f"in run {best.run_name} (lr=0.001, act=tanh)" in bundle["text/plain"]
    )  # named as in the table
    assert best.run_name in bundle["text/plain"].splitlines()[1]  # the leaderboard's first line
    assert "<svg" in bundle["text/html"] and "<table" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" not in bundle  # the sweep is over: final HTML
    assert plt.get_fignums() == figures_before  # no pyplot figure was opened or left behind


def _records(n: int) -> list[TrialRecord]:
    return [
        TrialRecord(
            i,
            "complete",
            {"lr": 10.0 ** -(1 + i % 4), "opt": {"name": ["sgd", "adam"][i % 2]}, "epochs": 3},
            float(i % 7),
            f"r{i}",
            f"s-{i}",
            f"/runs/{i}",
        )
        for i in range(n)
    ]


def test_parallel_coordinates_bounds_lines_and_skips_constant_parameters() -> None:
    result = SweepResult(
        name="s",
        backend="optuna",
        method="random",
        metric="loss",
        goal="minimize",
        trials=_records(50),
    )
    png = parallel_coordinates_png(result, max_lines=10)
    assert png is not None and png.startswith(PNG_MAGIC)
    from nbwandb.notebook.sweep_panel import _axis_values

    positions, ticks, log = _axis_values([1e-4, 1e-2, 1e-1])  # spans decades: log, evenly spread
    assert positions == pytest.approx([0.0, 2 / 3, 1.0]) and log
    positions, ticks, log = _axis_values(["sgd", "adam", "sgd"])
    assert positions == [1.0, 0.0, 1.0] and [t[1] for t in ticks] == ["adam", "sgd"]
    one = SweepResult(
        name="s",
        backend="optuna",
        method="grid",
        metric="loss",
        goal="minimize",
        trials=_records(1),
    )
    assert parallel_coordinates_png(one) is None


def test_panel_text_forms_before_and_after_updates() -> None:
    panel = SweepPanel(max_rows=2, plot_interval=3600)
    assert "waiting" in repr(panel) and "waiting" in panel._repr_mimebundle_()["text/html"]
    assert (
        "appears after the first two trials" in panel._plot.value
    )  # a placeholder, not a broken image
    result = SweepResult(
        name="s",
        backend="optuna",
        method="random",
        metric="loss",
        goal="maximize",
        trials=[*_records(5), TrialRecord(5, "failed", {"lr": 1.0}, error="ValueError: x")],
        planned=8,
    )
    panel.update(result, result.trials[-1])
    panel.update(result, result.trials[-1])
    assert panel.plots_drawn == 1  # redrawn at most once per plot_interval
    assert (panel._progress.value, panel._progress.max, panel._progress.bar_style) == (6, 8, "info")
    lines = repr(panel).splitlines()
    assert "6 of 8 trials (5 complete, 1 failed)" in lines[0]
    assert (
        len(lines) == 3 and "loss=4" in lines[1] and "loss=3" in lines[2]
    )  # max_rows=2, best first
    board = panel._leaderboard.value
    assert (
        "failed" in board and "<td class='num'>4</td>" in board
    )  # every state listed; numbers short
    assert "0.0001" in board and "1e-05" not in board


def test_pruned_trials_are_listed_and_drawn_dashed() -> None:
    trials = [
        *_records(4),
        TrialRecord(
            4,
            "pruned",
            {"lr": 0.5, "opt": {"name": "sgd"}, "epochs": 3},
            9.0,
            "r4",
            "s-4",
            "/runs/4",
        ),
    ]
    result = SweepResult(
        name="s", backend="optuna", method="random", metric="loss", goal="minimize", trials=trials
    )
    board = result.leaderboard_html()
    assert "s-4" in board and "pruned" in board and "5 of 5 trials" in board
    svg = parallel_coordinates_svg(result)
    assert svg is not None and "stroke-dasharray='4,3'" in svg and "s-4 (pruned)" in svg


@pytest.mark.parametrize("kwargs", [{"max_rows": 0}, {"max_lines": "10"}, {"plot_interval": -1}])
def test_panel_rejects_bad_options(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SweepPanel(**kwargs)


def test_panel_run_live_then_final_with_a_trial_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``panel.run`` on any ipywidgets, fed trial by trial by a stand-in for ``nbwandb.sweep``."""
    from nbwandb.notebook import sweep_panel
    from nbwandb.notebook.published import publish, refresh

    view = "application/vnd.jupyter.widget-view+json"
    trials = _records(4)
    seen: list[dict] = []

    def feed(config, train_fn, *, callback, **kwargs):
        assert kwargs == {"count": 4}
        for n in range(1, len(trials) + 1):
            result = SweepResult("s", "optuna", "grid", "loss", "maximize", trials[:n], planned=4)
            callback(result, trials[n - 1])
            seen.append(panel._repr_mimebundle_())  # what a refresh sends meanwhile
        return result

    monkeypatch.setattr(sweep_panel, "sweep", feed)
    panel = SweepPanel(plot_interval=0)
    sent: list[dict] = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: sent.append(data))
    monkeypatch.setattr("IPython.display.update_display", lambda data, **kw: sent.append(data))
    publish(panel)
    assert view in sent[0] and "waiting" in sent[0]["text/plain"]
    result = panel.run({"method": "grid"}, lambda cfg: 0.0, count=4)
    assert [view in b for b in seen] == [True] * 4  # live while trials come in
    assert "1 of 4 trials" in seen[0]["text/plain"] and "4 of 4 trials" in seen[-1]["text/plain"]
    final = panel._repr_mimebundle_()
    assert view not in final and result.best.run_name in final["text/plain"]
    assert "<svg" in final["text/html"] and "<polyline" in final["text/html"]
    with monkeypatch.context() as m:
        m.setattr("nbwandb.notebook.published.widgets_can_render", lambda: True)
        assert refresh(panel)  # the saved output becomes the final HTML
    assert view not in sent[-1] and sent[-1]["text/html"] == final["text/html"]


# -- issue 29, item 5: log axes, readable PNG labels, pruned trials, counts --------------------
def _lr_sweep() -> SweepResult:
    """lr from 1e-3 to 0.3 (log), three complete trials and two pruned at their last report."""
    lrs = [0.0016437, 0.023, 0.091, 0.26556, 0.004]
    states = ["complete", "complete", "complete", "pruned", "pruned"]
    values = [0.9, 0.4, 0.5, 1.7, 1.2]
    trials = [
        TrialRecord(i, state, {"lr": lr, "width": 8 * (1 + i % 2)}, v, f"r{i}", f"s-{i}", f"/r/{i}")
        for i, (lr, state, v) in enumerate(zip(lrs, states, values, strict=True))
    ]
    return SweepResult("s", "optuna", "random", "val/loss", "minimize", trials, planned=10)


def test_log_axis_is_labelled_at_decades_and_marked_log_in_svg_and_png() -> None:
    result = _lr_sweep()
    svg = parallel_coordinates_svg(result)
    assert svg is not None
    texts = re.findall(r"<text [^>]*>([^<]+)<", svg)
    assert {"1e-2", "0.1"} <= set(texts), texts  # the decades inside 0.0016..0.27
    assert "0.0016437" not in texts and "0.26556" not in texts  # not the raw ends
    assert "lr (log)" in texts and "width" in texts  # a linear axis is not marked
    fig = sweep_panel.parallel_coordinates_figure(result)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "lr (log)" and labels[-1] == "val/loss", labels
    lr_ticks = [t.get_text() for t in ax.texts if t.xy[0] == 0]
    assert lr_ticks == ["1e-2", "0.1"], lr_ticks


def test_png_labels_are_readable_and_never_crossed_by_a_line() -> None:
    import numpy as np
    from PIL import Image

    result = _lr_sweep()
    fig = sweep_panel.parallel_coordinates_figure(result)
    png = sweep_panel.parallel_coordinates_png(result)
    assert png is not None
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert pixels.shape[1::-1] == (int(fig.bbox.width), int(fig.bbox.height))
    texts = [*fig.axes[0].texts, *fig.axes[0].get_xticklabels(), fig.axes[0].title]
    assert len(fig.axes[0].texts) == 6  # 2 decades of lr, 2 widths, 2 ends of val/loss
    height = pixels.shape[0]
    for text in texts:
        # at least 11 px at the PNG's natural size (points -> pixels at the figure's dpi)
        assert text.get_fontsize() * fig.dpi / 72 >= 11, text.get_text()
    for text in fig.axes[0].texts:  # tick labels: on white, no coloured line through them
        box = text.get_window_extent(renderer)
        x0, x1 = int(box.x0) + 1, int(box.x1) - 1
        y0, y1 = height - int(box.y1) + 1, height - int(box.y0) - 1
        patch = pixels[y0:y1, x0:x1]
        colourful = np.abs(patch - patch.mean(axis=2, keepdims=True)).max(axis=2) > 24
        assert not colourful.any(), (text.get_text(), int(colourful.sum()))


def test_pruned_trials_are_in_the_png_and_the_table_with_their_last_value() -> None:
    result = _lr_sweep()
    fig = sweep_panel.parallel_coordinates_figure(result)
    dashed = [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2  # both pruned trials, dashed
    # the lr axis spans every trial (0.0016 .. 0.27), not the complete ones' 0.023 .. 0.091
    assert "1e-2" in [t.get_text() for t in fig.axes[0].texts]
    metric_ticks = [t.get_text() for t in fig.axes[0].texts if t.xy[0] == 2]
    assert metric_ticks == ["0.4", "1.7"], metric_ticks  # the pruned 1.7 sets the top
    board = result.leaderboard_html()
    row = re.search(r"<tr><td[^>]*></td><td[^>]*>s-3</td>(.*?)</tr>", board)
    assert row is not None and "pruned" in row.group(1) and ">1.7<" in row.group(1), board


def test_counts_agree_before_and_after_the_first_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    trials = _records(2)
    headers: list[tuple[str, str, str]] = []

    def feed(config, train_fn, *, callback, **kwargs):
        headers.append((panel._header.value, panel._progress.description, repr(panel)))
        result = SweepResult("s", "optuna", "random", "loss", "minimize", trials[:1], planned=10)
        callback(result, trials[0])
        headers.append((panel._header.value, panel._leaderboard.value, repr(panel)))
        return result

    monkeypatch.setattr(sweep_panel, "sweep", feed)
    panel = SweepPanel()
    panel.run({"method": "random", "parameters": {"x": {"values": [1, 2]}}}, print, count=10)
    (head0, bar0, text0), (head1, board1, text1) = headers
    assert "0 of 10 trials" in head0 and bar0 == "0 of 10" and "0 of 10 trials" in text0
    assert "1 of 10 trials" in head1 and "1 of 10 trials" in board1 and "1 of 10 trials" in text1
    assert "of 1 trials" not in board1
    assert panel._progress.description == "1 of 10"
