"""Panels driven as a frontend would: set traits, click buttons; no browser needed."""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import pytest

import nbwandb
from nbwandb.local import read_run

widgets = pytest.importorskip("ipywidgets")

from nbwandb.notebook import ConfigForm, LoginPanel, MediaGallery, RunPanel, TablePreview  # noqa: E402
from nbwandb.notebook._widgets import WIDGETS_MAJOR  # noqa: E402
from nbwandb.notebook.charts import line_chart_svg  # noqa: E402
from nbwandb.notebook.environment import detect_environment, force_environment  # noqa: E402
from nbwandb.notebook.images import thumbnail_png  # noqa: E402
from nbwandb.notebook.series import Series  # noqa: E402

FAKE_KEY = "nbwtest-" + "s3cr" * 11
UNREACHABLE = "http://127.0.0.1:9"  # connection refused at once: "not verified"


def all_widgets(root: Any) -> list[Any]:
    found, todo = [], [root]
    while todo:
        w = todo.pop()
        found.append(w)
        todo.extend(c for c in getattr(w, "children", ()) if isinstance(c, widgets.Widget))
    return found


def assert_text_forms(panel: Any, *, live: bool = True) -> dict[str, Any]:
    """Text forms always; the widget view only while the panel is live (its static form is final)."""
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] and bundle["text/html"]
    assert ("application/vnd.jupyter.widget-view+json" in bundle) == live
    return bundle


# -- LoginPanel ------------------------------------------------------------------------------
def test_login_panel_key_never_reaches_widget_state_or_outputs(isolated):
    panel = LoginPanel(host=UNREACHABLE, timeout=2)
    panel.key_field.value = FAKE_KEY
    panel.login_button.click()
    assert panel.key_field.value == ""  # cleared at once, before the check
    assert panel.wait(10)
    assert panel.result.logged_in and panel.result.source == "argument"
    assert panel.result.verified is None  # no server: not verified, but stored as wandb does
    for w in all_widgets(panel):
        assert FAKE_KEY not in repr(w.get_state())
    bundle = assert_text_forms(panel, live=False)  # logged in: the saved output is the outcome
    assert FAKE_KEY not in repr(bundle) and FAKE_KEY not in repr(panel.result)
    assert "not verified" in panel.status.value
    assert FAKE_KEY in (isolated / ".netrc").read_text()
    assert nbwandb.find_credentials(UNREACHABLE).source == "netrc"


def test_login_panel_verification_does_not_block_the_kernel(isolated):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts connections, never answers: the check must time out
    try:
        panel = LoginPanel(host=f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1.0)
        panel.key_field.value = FAKE_KEY
        started = time.monotonic()
        panel.login_button.click()
        assert time.monotonic() - started < 0.5
        assert "Checking" in panel.status.value and panel.login_button.disabled
        assert panel.wait(5)
        assert time.monotonic() - started < 5
        assert "not verified" in panel.status.value
        assert not panel.login_button.disabled
    finally:
        server.close()


def test_login_panel_malformed_key_is_explained_and_not_stored(isolated):
    panel = LoginPanel(host=UNREACHABLE)
    panel.key_field.value = "short-key"
    panel.login_button.click()
    assert panel.key_field.value == ""
    assert "too short" in panel.status.value and "short-key" not in panel.status.value
    assert not (isolated / ".netrc").exists()
    panel.login_button.click()
    assert "empty" in panel.status.value


def test_login_panel_continue_offline():
    panel = LoginPanel()
    assert "`" not in panel.status.value and "<code>nbwandb sync</code>" in panel.status.value
    panel.offline_button.click()
    assert panel.choice == "offline" and panel.result.mode == "offline"
    assert "offline" in panel.status.value and "nbwandb sync" in repr(panel)
    assert "`" not in panel.status.value  # commands shown as code, not with literal backticks
    final = assert_text_forms(
        panel, live=False
    )  # the choice is made: the saved output is its outcome
    assert "Runs will be offline" in final["text/html"] and "`" not in final["text/html"]


# -- ConfigForm ------------------------------------------------------------------------------
class Optim(enum.Enum):
    ADAM = "adam"
    SGD = "sgd"


@dataclasses.dataclass
class TrainConfig:
    lr: float = dataclasses.field(default=1e-3, metadata={"min": 1e-5, "max": 0.1})
    epochs: int = 3
    batch_size: int = dataclasses.field(default=32, metadata={"min": 1, "max": 512})
    optimizer: Optim = Optim.ADAM
    scheduler: Literal["cosine", "step"] = "cosine"
    augment: bool = True
    name: str = "baseline"
    layers: list = dataclasses.field(default_factory=lambda: [64, 32])


def test_config_form_widgets_follow_types():
    form = ConfigForm(TrainConfig())
    kinds = {name: type(f.input).__name__ for name, f in form.fields.items()}
    assert kinds == {
        "lr": "FloatSlider",
        "epochs": "IntText",
        "batch_size": "IntSlider",
        "optimizer": "Dropdown",
        "scheduler": "Dropdown",
        "augment": "Checkbox",
        "name": "Text",
        "layers": "Text",
    }
    assert (form.fields["lr"].input.min, form.fields["lr"].input.max) == (1e-5, 0.1)
    assert form.value == {
        "lr": 1e-3,
        "epochs": 3,
        "batch_size": 32,
        "optimizer": Optim.ADAM,
        "scheduler": "cosine",
        "augment": True,
        "name": "baseline",
        "layers": [64, 32],
    }
    assert "nbwandb-config-form" in form._dom_classes
    assert_text_forms(form)


def test_config_form_edits_validation_and_start_run():
    form = ConfigForm(TrainConfig(), project="form", mode="offline")
    form.fields["epochs"].input.value = 5000  # unusual, not wrong: a note, no error
    assert (
        "epochs" not in form.errors and "larger than usual" in form.fields["epochs"].message.value
    )
    form.fields["epochs"].input.value = -3  # the default is positive: a negative count is a typo
    assert "epochs" in form.errors
    assert "below the minimum 0" in form.fields["epochs"].message.value
    form.fields["layers"].input.value = "[64,"
    assert "not valid JSON" in form.fields["layers"].message.value
    with pytest.raises(ValueError, match=r"epochs=-3 is below the minimum 0.*layers"):
        form.value  # noqa: B018
    form.button.click()
    assert form.run is None and "invalid" in form.status.value
    form.fields["epochs"].input.value = 7
    form.fields["layers"].input.value = "[128]"
    form.fields["optimizer"].input.value = Optim.SGD
    form.fields["scheduler"].input.value = "step"
    form.fields["augment"].input.value = False
    assert form.errors == {} and form.fields["epochs"].message.value == ""
    assert form.as_dataclass() == TrainConfig(
        epochs=7, layers=[128], optimizer=Optim.SGD, scheduler="step", augment=False
    )
    form.button.click()
    assert form.run is nbwandb.active_run() and form.run.id in form.status.value
    form.run.finish()
    config = read_run(form.run.run_dir).config
    assert config["epochs"] == 7 and config["optimizer"] == "sgd" and config["layers"] == [128]
    assert config["augment"] is False and config["scheduler"] == "step"


def test_config_form_slider_checks_typed_values_like_other_fields():
    form = ConfigForm(TrainConfig())
    field = form.fields["batch_size"]  # a slider 1..512
    assert field.typed is not None and field.typed.value == "32" and not field.input.readout
    field.typed.value = "999"  # a slider's own readout would clamp this to 512 without a word
    assert field.input.value == 32 and form.errors == {
        "batch_size": "batch_size=999 is above the maximum 512"
    }
    assert "above the maximum 512" in field.message.value
    field.typed.value = "abc"
    assert form.errors == {"batch_size": "batch_size='abc' is not an integer"}
    with pytest.raises(ValueError, match="batch_size='abc' is not an integer"):
        form.value  # noqa: B018
    field.typed.value = "64"
    assert field.input.value == 64 and form.errors == {} and field.message.value == ""
    field.input.value = 128  # moving the slider updates the text box
    assert field.typed.value == "128" and form.value["batch_size"] == 128
    lr = form.fields["lr"]
    lr.typed.value = "0.5"
    assert form.errors == {"lr": "lr=0.5 is above the maximum 0.1"}


def test_config_form_labels_line_up():
    form = ConfigForm(TrainConfig())
    widths = {f.input.style.description_width for f in form.fields.values()}
    assert len(widths) == 1 and widths != {"initial"}  # one width for every label


def test_config_form_second_start_asks_before_finishing_the_run():
    form = ConfigForm({"lr": 0.1}, project="form", mode="offline")
    form.button.click()
    first = form.run
    assert first is not None and not first.finished
    form.button.click()  # a second click: it says what it would do, and does nothing yet
    assert form.run is first and not first.finished
    assert "still running" in form.status.value and form.button.description == "Finish it and start"
    form.button.click()  # confirmed
    assert first.finished and form.run is not first and not form.run.finished
    assert (
        f"finished run {first.name}" in form.status.value and form.button.description == "Start run"
    )
    form.run.finish()


def test_config_form_json_fields_for_nested_values():
    @dataclasses.dataclass
    class Inner:
        width: int = 4

    form = ConfigForm(
        {"inner": Inner(), "data": Path("/data/x"), "betas": (0.9, 0.99), "seed": None}
    )
    assert {name: f.spec.kind for name, f in form.fields.items()} == {
        "inner": "json",
        "data": "json",
        "betas": "json",
        "seed": "json",
    }
    assert form.fields["inner"].input.value == '{"width": 4}'
    assert form.value == {
        "inner": {"width": 4},
        "data": "/data/x",
        "betas": [0.9, 0.99],
        "seed": None,
    }
    with pytest.raises(nbwandb.NbwandbError, match="config key 'bad'"):
        ConfigForm({"bad": object()})


def test_config_form_from_dict_and_bad_input():
    form = ConfigForm({"lr": 0.5, "warmup": -2, "tag": "x"})
    assert form.value == {"lr": 0.5, "warmup": -2, "tag": "x"}
    with pytest.raises(TypeError, match="config of type int"):
        ConfigForm(42)
    with pytest.raises(TypeError, match="config key 1"):
        ConfigForm({1: "a"})
    with pytest.raises(TypeError, match="built from a dict"):
        form.as_dataclass()


# -- RunPanel --------------------------------------------------------------------------------
def test_run_panel_live_charts_sections_and_text_forms():
    run = nbwandb.init(project="panel", mode="offline")
    panel = RunPanel(run, interval=0.05)
    assert "nbwandb-run-panel" in panel._dom_classes
    for step in range(200):
        run.log({"loss": 1 / (step + 1), "acc": step / 200}, step=step, prefix="train")
        run.log({"loss": 2 / (step + 1)}, step=step, prefix="val")
    run.log({"lr": 0.1}, step=200)
    assert panel.wait_idle(10)
    sections = [s.children[0].value for s in panel._sections_box.children]
    assert sections == ["<b>train</b>", "<b>val</b>", "<b>charts</b>"]
    # within a section, charts sorted by key (as nbwandb.show draws them), not in logging order
    train_grid = panel._sections_box.children[0].children[1]
    assert [re.search(r'data-title="([^"]+)"', w.value)[1] for w in train_grid.children] == [
        "train/acc",
        "train/loss",
    ]
    charts = [w for w in all_widgets(panel) if "nbwandb-chart" in w._dom_classes]
    assert len(charts) == 4
    loss_chart = panel._charts["train/loss"]
    assert 'data-points="' in loss_chart.value and "<polyline" in loss_chart.value
    assert panel.series("train/loss").count == 200 and panel.series(
        "train/loss"
    ).last == pytest.approx(1 / 200)
    bundle = assert_text_forms(panel)
    assert run.id in bundle["text/plain"] and run.sync_command in bundle["text/plain"]
    assert "train/loss=0.005" in bundle["text/plain"]
    assert bundle["text/html"].count('class="nbwandb-chart"') == 4
    titles = re.findall(r'data-title="([^"]+)"', bundle["text/html"])
    assert titles == ["train/acc", "train/loss", "val/loss", "lr"], titles
    run.finish()
    panel._thread.join(5)  # the timer draws the final state, then stops
    assert not panel._thread.is_alive() and ">finished</span>" in panel._header.value
    # finished: the output is the final static form, charts included, with no widget view
    final = assert_text_forms(panel, live=False)
    assert (
        final["text/html"].count('class="nbwandb-chart"') == 4 and "finished" in final["text/plain"]
    )


def test_run_panel_smoothing_and_log_scale_toggles():
    run = nbwandb.init(project="panel", mode="offline")
    panel = RunPanel(run, interval=0.05)
    for step in range(1, 101):
        run.log({"loss": 1 / step}, step=step)
    assert panel.wait_idle(10)
    plain = panel._charts["loss"].value
    assert plain.count("<polyline") == 1 and ">0.5<" in plain  # linear ticks
    panel.smoothing.value = 0.6
    smoothed = panel._charts["loss"].value
    assert (
        smoothed.count("<polyline") == 2 and "stroke-opacity='0.3'" in smoothed
    )  # raw values stay, faint
    panel.smoothing.value = 0.0
    panel.log_scale.value = True
    logged = panel._charts["loss"].value
    ticks = re.findall(r"<text class='tick'[^>]*text-anchor='end'[^>]*>([^<]+)<", logged)
    assert ticks == ["0.01", "0.1", "1"], ticks  # decades on the y axis
    assert ">1<" in panel._html() and "0.01" in panel._html()  # the saved form uses the same view
    run.finish()


def test_run_panel_redraws_are_throttled_and_memory_flat():
    run = nbwandb.init(project="panel", mode="offline")
    panel = RunPanel(run, interval=0.2, capacity=64)
    started = time.monotonic()
    for step in range(3000):
        run.log({"x": math.sin(step / 50)}, step=step)
    run.flush()
    panel.wait_idle(10)
    elapsed = time.monotonic() - started
    assert panel.rows_seen == 3000
    assert panel.redraws <= elapsed / 0.2 + 3  # at most one redraw per interval, plus start/final
    assert len(panel.series("x")) <= 65  # bounded, whatever the number of steps
    points = panel.series("x").points()
    assert points[0][0] < 100 and points[-1][0] > 2900  # still spans the whole run
    panel.close()
    assert panel._dirty not in panel._data._subscribers
    assert panel._thread is not None
    panel._thread.join(2)
    assert not panel._thread.is_alive()  # the timer thread ends with the panel


def test_run_panel_shows_latest_image_thumbnails():
    run = nbwandb.init(project="panel", mode="offline")
    panel = RunPanel(run, interval=0.05)
    run.log_image("samples/pred", np.random.default_rng(0).random((24, 24, 3)), step=0)
    run.log_image("samples/pred", np.zeros((24, 24, 3)), step=1)
    run.flush()
    assert panel.wait_idle(10)
    thumbs = [w for w in all_widgets(panel) if isinstance(w, widgets.Image)]
    assert len(thumbs) == 1 and thumbs[0].value[:4] == b"\x89PNG"
    assert panel._drawn_images == {
        "samples/pred": 2
    }  # the latest image of the key is the one shown
    assert thumbs[0].value == thumbnail_png(panel._data.images["samples/pred"])
    assert "data:image/png;base64," in panel._html()


def test_run_panel_for_noop_and_finished_runs():
    noop = nbwandb.init(use_wandb=False)
    panel = RunPanel(noop)
    assert "off (use_wandb=False)" in repr(panel)
    run = nbwandb.init(project="panel", mode="offline")
    run.log({"a": 1.0}, step=0)
    run.log({"a": 2.0}, step=1)
    run.finish()
    late = RunPanel(run)  # the rows come from the run's files
    assert late.series("a").count == 2 and "finished" in repr(late)
    with pytest.raises(KeyError, match="no series 'b'"):
        late.series("b")
    with pytest.raises(ValueError, match="interval=0"):
        RunPanel(run, interval=0)


def test_run_panel_for_an_online_run_shows_its_url():
    # No server here: a finished run-like object stands in for an online run's handle.
    online = SimpleNamespace(
        enabled=True,
        finished=True,
        mode="online",
        url="https://wandb.ai/team/proj/runs/abc123",
        name="bright-sun-1",
        id="abc123",
        state="finished",
        run_dir=None,
        step_metric="global_step",
        mode_reason="credentials found in env",
        sync_command=None,
    )
    panel = RunPanel(online)
    assert '<a href="https://wandb.ai/team/proj/runs/abc123"' in panel._header.value
    assert "url: https://wandb.ai/team/proj/runs/abc123" in repr(
        panel
    ) and "wandb sync" not in repr(panel)


# -- series and charts -----------------------------------------------------------------------
def test_series_downsampling_keeps_mean_and_bounds():
    s = Series(capacity=8)
    for i in range(1000):
        s.append(i, float(i))
    pts = s.points()
    assert len(pts) <= 9 and s.count == 1000 and s.last == 999.0
    assert all(x == pytest.approx(y) for x, y in pts)  # averaged buckets of y=x stay on the line
    s.append(1000, math.nan)
    assert math.isnan(s.last) and s.count == 1001 and s.high == 999.0
    with pytest.raises(ValueError, match="capacity=2"):
        Series(capacity=2)


def test_chart_svg_points_and_escaping():
    svg = line_chart_svg("a<b", [(0, 1.0), (1, 2.0)], last=2.0)
    assert 'data-points="2"' in svg and "a&lt;b" in svg and "<polyline" in svg
    assert "no points yet" in line_chart_svg("empty", [])


# -- previews --------------------------------------------------------------------------------
def test_table_preview_inputs():
    pd = pytest.importorskip("pandas")
    for data in (
        [[1, "a"], [2, "b"]],
        {"n": [1, 2], "s": ["a", "b"]},
        pd.DataFrame({"n": [1, 2], "s": ["a", "b"]}),
        [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}],
    ):
        preview = TablePreview(
            data,
            columns=["n", "s"] if isinstance(data, list) and isinstance(data[0], list) else None,
        )
        assert preview.columns == ["n", "s"] and preview.rows == [[1, "a"], [2, "b"]]
        assert "2 rows x 2 columns" in repr(preview)
        assert_text_forms(
            preview, live=False
        )  # nothing changes: plain HTML, shown even without a kernel
    big = TablePreview({"i": list(range(100))}, max_rows=5)
    assert "first 5 shown" in repr(big) and big._html().count("<tr>") == 6
    with pytest.raises(ValueError, match="different lengths"):
        TablePreview({"a": [1, 2], "b": [1]})
    with pytest.raises(TypeError, match="table of type int"):
        TablePreview(3)


def test_table_preview_reads_like_pandas():
    images = [np.zeros((24, 24, 3), dtype=np.uint8), np.ones((100, 50)) * 0.5]
    preview = TablePreview(
        {"image": images, "score": [0.123456789, 12.0], "name": ["a", "b"], "steps": [1, 2000]}
    )
    page = preview._html()
    # numbers right-aligned at 5 significant digits (the full value on hover), text left
    assert "<td class='num' title='0.123456789'>0.12346</td>" in page and "<td>a</td>" in page
    assert "<th class=num>score</th>" in page and "<td class='num'>2000</td>" in page
    # image cells at one fixed size, whatever the image's own size
    assert (
        page.count("<img class='nbw-cell'") == 2 and "img.nbw-cell{width:64px;height:64px" in page
    )
    assert "position:sticky" in page and "nbw-scroll" in page  # scroll box, sticky header


def test_media_gallery_inputs():
    batch = np.random.default_rng(1).random((3, 3, 16, 16))  # (N, C, H, W), as a torch batch is
    gallery = MediaGallery(batch, captions=["a", "b", "c"])
    assert len(gallery.thumbnails) == 3 and all(p[:4] == b"\x89PNG" for p in gallery.thumbnails)
    assert gallery._html().count("<img") == 3
    assert_text_forms(gallery, live=False)
    single = MediaGallery([np.zeros((8, 8)), np.ones((8, 8, 3))], max_images=1)
    assert "first 1 shown" in repr(single)
    with pytest.raises(ValueError, match="captions has 1 entries for 2 images"):
        MediaGallery([np.zeros((8, 8))] * 2, captions=["x"])
    with pytest.raises(TypeError, match="images of type int"):
        MediaGallery(5)


def test_previews_from_a_logged_run():
    run = nbwandb.init(project="previews", mode="offline")
    rng = np.random.default_rng(2)
    run.log_image("samples/pred", rng.random((8, 8, 3)), step=0, caption="first")
    run.log_image("samples/pred", rng.random((8, 8, 3)), step=1)
    run.log_image("samples/input", rng.random((8, 8, 3)), step=1)
    run.log_table("eval/table", {"id": [1, 2, 3], "label": ["a", "b", "c"]}, step=1)
    run.finish()
    gallery = MediaGallery.from_run(run.run_dir, key="samples/pred")
    assert gallery.captions == ["samples/pred @ 0: first", "samples/pred @ 1"]
    assert len(MediaGallery.from_run(run).thumbnails) == 3
    table = TablePreview.from_run(run, "eval/table")
    assert table.columns == ["id", "label"] and table.rows == [[1, "a"], [2, "b"], [3, "c"]]
    with pytest.raises(
        KeyError, match=r"no image logged under 'nope'.*\['samples/input', 'samples/pred'\]"
    ):
        MediaGallery.from_run(run, key="nope")


# -- environment -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shell_class", "modules", "env", "expected"),
    [
        (None, [], {}, "terminal"),
        ("TerminalInteractiveShell", [], {}, "ipython"),
        ("ZMQInteractiveShell", ["ipykernel"], {}, "jupyter"),
        ("ZMQInteractiveShell", ["ipykernel"], {"VSCODE_PID": "1"}, "vscode"),
        ("Shell", ["ipykernel", "google.colab"], {}, "colab"),
    ],
)
def test_environment_detection_cases(monkeypatch, shell_class, modules, env, expected):
    # A stand-in IPython module: detection only looks at the shell's class and loaded modules.
    shell = type(shell_class, (), {})() if shell_class else None
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    for name in ("google.colab", "ipykernel"):
        if name in modules:
            monkeypatch.setitem(sys.modules, name, SimpleNamespace())
        else:
            monkeypatch.delitem(sys.modules, name, raising=False)
    for name in ("VSCODE_PID", "VSCODE_CWD", "NBWANDB_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert detect_environment() == expected


def test_environment_detection_is_one_overridable_function(monkeypatch):
    with force_environment("colab"):
        assert detect_environment() == "colab"
    monkeypatch.setenv("NBWANDB_ENVIRONMENT", "vscode")
    assert detect_environment() == "vscode"
    monkeypatch.setenv("NBWANDB_ENVIRONMENT", "emacs")
    with pytest.raises(ValueError, match="'emacs'"):
        detect_environment()
    with pytest.raises(ValueError, match="environment 'x'"), force_environment("x"):
        pass


def test_run_panel_made_after_logging_shows_every_row_once(isolated):
    run = nbwandb.init(project="late-panel", mode="offline", quiet=True)
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    panel = RunPanel(run)  # right after the calls: the rows are not in the file yet
    assert panel.rows_seen == 5
    for step in range(5, 8):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    run.flush()
    assert panel.rows_seen == 8
    points = panel._data.series["train/loss"].points()
    assert [x for x, _ in points] == list(range(8)) and points[-1][1] == 1.0 / 8
    run.finish()


# -- ipywidgets 7 and 8 ------------------------------------------------------------------------
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def ipywidgets_own_view(widget: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The widget-view entry ipywidgets itself shows ``widget`` with (8: its mime bundle; 7: what
    its ``_ipython_display_`` hands to IPython's display)."""
    if WIDGETS_MAJOR >= 8:
        return widgets.Widget._repr_mimebundle_(widget)[WIDGET_VIEW]
    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(
        sys.modules["ipywidgets.widgets.widget"], "display", lambda data, **_kw: shown.append(data)
    )
    widgets.Widget._ipython_display_(widget)
    (data,) = shown
    return data[WIDGET_VIEW]


def live_panels() -> list[Any]:
    from nbwandb.notebook.sweep_panel import SweepPanel

    return [
        LoginPanel(host=UNREACHABLE, timeout=1),
        ConfigForm({"lr": 0.1, "fast": True}),
        RunPanel(nbwandb.init(project="views", mode="offline", quiet=True)),
        SweepPanel(),
    ]


def test_widget_view_is_the_one_ipywidgets_itself_displays(monkeypatch):
    for panel in live_panels():
        view = panel._repr_mimebundle_()[WIDGET_VIEW]
        assert view == ipywidgets_own_view(panel, monkeypatch), type(panel).__name__
        assert (view["version_major"], view["version_minor"]) == (2, 0)
        assert view["model_id"] == panel.model_id
        # the models of the running ipywidgets' protocol (controls 1.5.0 on 7, 2.0.0 on 8)
        assert panel._model_module_version == {7: "1.5.0", 8: "2.0.0"}[WIDGETS_MAJOR]


def test_closed_panel_shows_its_text_forms_only():
    from IPython.display import display

    from nbwandb.notebook.published import _bundle

    panel = ConfigForm({"lr": 0.1})
    panel.close()
    bundle = _bundle(panel)  # what publish sends
    assert WIDGET_VIEW not in bundle and "lr" in bundle["text/html"]
    display(panel)  # ipywidgets 7 and 8 each unset a different display method on close


def test_button_icons_exist_in_font_awesome_4_7_and_jupyterlab():
    """Notebook 6 (Colab's pinned frontend) bundles Font Awesome 4.7; JupyterLab 4 its own."""
    source = "\n".join(p.read_text() for p in Path(nbwandb.__file__).parent.glob("notebook/*.py"))
    icons = set(re.findall(r"\bicon=\"([\w-]+)\"", source))
    assert {"play", "sign-in", "repeat"} <= icons
    roots = [Path(sys.prefix), *Path(__file__).resolve().parents[1].glob(".venv*")]
    fa47 = [
        p
        for root in roots
        for p in root.glob(
            "lib/python*/site-packages/*/static/components/font-awesome/css/font-awesome.css"
        )
    ]
    lab = [p for root in roots for p in root.glob("share/jupyter/lab/static/*.js")]
    lab = [p for p in lab if b".fa-play:before" in p.read_bytes()]
    if not fa47 and not lab:
        pytest.skip("no Notebook 6 or JupyterLab installed here")
    for css in [*fa47[:1], *lab[:1]]:
        text = css.read_text(errors="replace")
        missing = sorted(icon for icon in icons if f".fa-{icon}:before" not in text)
        assert not missing, f"{css}: no Font Awesome icon {missing}"


def test_colab_needs_no_custom_widget_manager(monkeypatch):
    """In Colab, panels are core widgets: nothing turns Colab's custom widget manager on."""
    from ipython_shell import shared_shell

    shell = shared_shell()
    panels = live_panels()
    calls: list[str] = []
    output = SimpleNamespace(
        enable_custom_widget_manager=lambda: calls.append("enable"),
        disable_custom_widget_manager=lambda: calls.append("disable"),
    )
    monkeypatch.setitem(sys.modules, "google.colab", SimpleNamespace(output=output, __path__=[]))
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    monkeypatch.delenv("NBWANDB_ENVIRONMENT", raising=False)
    assert detect_environment() == "colab"
    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, *a, **kw: shown.append(data))
    for panel in panels:
        from IPython.display import display

        display(panel)
    assert len(shown) == len(panels)
    # each live panel as a widget view (a login panel nobody used is final once a run started)
    assert [WIDGET_VIEW in data for data in shown] == [not p._is_final() for p in panels]
    assert sum(WIDGET_VIEW in data for data in shown) >= 3
    assert calls == []


def test_run_panel_of_a_resumed_run_charts_only_what_the_user_logged(isolated):
    # The earlier segment's rows come from its file, where wandb wrote _runtime, _step and
    # _timestamp next to the user's keys: those are wandb's, not charts (issue 29, item 3).
    first = nbwandb.init(project="resumed", mode="offline", quiet=True)
    for step in range(5):
        first.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    first.finish(exit_code=1, wait=True)  # failed: "auto" resumes it
    assert "_runtime" in read_run(first).history[0]  # the file really holds wandb's keys
    run = nbwandb.init(project="resumed", mode="offline", quiet=True, resume="auto")
    assert run.id == first.id and run.resumed_from
    panel = RunPanel(run, interval=0.05)
    for step in range(5, 8):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
    assert panel.wait_idle(10)
    assert sorted(panel._data.series) == ["train/loss"]
    assert panel.series("train/loss").count == 8
    run.finish(wait=True)
    final = assert_text_forms(RunPanel(run), live=False)
    titles = re.findall(r'data-title="([^"]+)"', final["text/html"])
    assert titles == ["train/loss"], titles
    assert "_runtime" not in final["text/html"] and "_timestamp" not in final["text/plain"]
    # named, a key of wandb's is charted all the same
    named = RunPanel(run, include=["_runtime"])
    assert sorted(named._data.series) == ["_runtime", "train/loss"]


# -- issue 29, item 7: small things a careful reader notices ------------------------------------
def test_an_offline_run_named_after_its_id_is_named_once(isolated):
    form = ConfigForm({"lr": 0.1}, project="once", mode="offline", quiet=True)
    form.button.click()
    run = form.run
    assert run.name == run.id  # wandb names an offline run after its id
    panel = RunPanel(run)
    run.log({"loss": 1.0}, step=0)
    run.finish(wait=True)
    texts = [repr(form), form._repr_mimebundle_()["text/html"], repr(panel), panel._header_html()]
    for text in texts:
        assert text.count(run.id) == 1 or (
            # the run folder's name holds the id too: count it outside the folder's path
            text.replace(str(run.run_dir), "").count(run.id) == 1
        ), text
    assert f"config of run {run.id} (finished)" in repr(form)
    named = nbwandb.init(project="once", name="bright-sun", mode="offline", quiet=True)
    named.finish(wait=True)
    assert f"'bright-sun' ({named.id}) mode=offline" in repr(RunPanel(named))


def test_sync_hint_is_nbwandb_sync(isolated, capsys):
    run = nbwandb.init(project="hint", mode="offline")
    start_line = capsys.readouterr().out
    assert "upload later with `nbwandb sync " in start_line and "`wandb sync" not in start_line
    assert run.sync_command == f"nbwandb sync {run.run_dir}"
    panel = RunPanel(run)
    run.finish(wait=True)
    assert f"nbwandb sync {run.run_dir}" in repr(panel)
    assert not re.search(r"(?<!nb)wandb sync", panel._repr_mimebundle_()["text/html"])
    # every tutorial notebook's text says nbwandb sync (the outputs are made by nbwandb)
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    import json

    for path in sorted(notebooks.glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            assert not re.search(r"(?<!nb)wandb sync", source), (path.name, source[:200])


def test_login_panel_is_neutral_when_a_run_started_and_nobody_was_asked(isolated, monkeypatch):
    # After Run All, the panel's cell ran and the next cell started a run: nobody was asked.
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    panel = LoginPanel(host=UNREACHABLE, timeout=1)
    assert panel.wait(5)
    run = nbwandb.init(project="neutral", mode="offline", quiet=True)
    panel._before_publish()  # what the post-cell refresh of published panels calls
    final = assert_text_forms(panel, live=False)
    html = final["text/html"]
    assert "No key" not in html and "no key" not in html.lower()
    assert "color:#555" in html and "#c62828" not in html  # neutral grey, not an error's red
    assert "Runs are offline for now" in html and "<code>nbwandb sync</code>" in html
    run.finish()


def test_run_panel_widget_and_static_html_draw_one_section_model(isolated):
    run = nbwandb.init(project="model", mode="offline", quiet=True)
    panel = RunPanel(run, interval=0.05)
    for step in range(30):
        run.log({"lr": 0.1, "z": step}, step=step)
        run.log({"loss": 1 / (step + 1), "acc": step / 30}, step=step, prefix="train")
        run.log({"loss": 2 / (step + 1)}, step=step, prefix="val")
    assert panel.wait_idle(10)
    panel.smoothing.value = 0.5  # a view setting reaches both forms
    panel.redraw()
    widget = [
        (section.children[0].value, [chart.value for chart in section.children[1].children])
        for section in panel._sections_box.children
    ]
    static = []
    for chunk in panel._html().split("<div class='nbwandb-section'>")[1:]:
        name = re.match(r"<div class='nbw-section-title'>([^<]+)<", chunk)[1]
        charts = re.findall(r'<div class="nbwandb-chart"[^>]*>(<svg.*?</svg>)</div>', chunk)
        static.append((f"<b>{name}</b>", charts))
    assert [name for name, _ in widget] == ["<b>train</b>", "<b>val</b>", "<b>charts</b>"]
    assert static == widget  # same sections, same charts in the same order, drawn alike
    run.finish()


def test_few_points_get_markers_and_sections_share_the_run_x_range(isolated):
    run = nbwandb.init(project="axes", mode="offline", quiet=True)
    panel = RunPanel(run, interval=0.05)
    for step in range(58):
        run.log({"loss": 1.0 / (step + 1)}, step=step, prefix="train")
        if step in (20, 40, 57):
            run.log({"loss": 2.0 / (step + 1)}, step=step, prefix="val")
    assert panel.wait_idle(10)
    val, train = panel._charts["val/loss"].value, panel._charts["train/loss"].value
    # three points: a dot on each, so they do not read as a measured curve
    assert val.count('class="nbwandb-marker"') + val.count("class='nbwandb-marker'") == 3
    assert "nbwandb-marker" not in train  # 58 points: a line
    # one step, one x: the val chart's x-axis is the run's (0-57), like train's

    def x_of(svg: str) -> list[tuple[str, float]]:
        """The x tick labels and where they sit, as a fraction of the way across the axis."""
        ticks = re.findall(
            r"<text class=.tick. x=.([\d.]+). y=.\d+. font-size=.10. text-anchor=.\w+. "
            r"fill=.#666.>([^<]+)<",
            svg,
        )
        first, last = float(ticks[0][0]), float(ticks[-1][0])
        return [(label, round((float(x) - first) / (last - first), 3)) for x, label in ticks]

    assert x_of(val) == x_of(train) and x_of(val)[0][0] == "0"
    run.finish(wait=True)
    page = nbwandb.show(run).to_html()
    svgs = re.findall(r'(<svg[^>]*data-title="([^"]+)".*?</svg>)', page, flags=re.S)
    by_title = {title: svg for svg, title in svgs}
    assert x_of(by_title["val/loss"]) == x_of(by_title["train/loss"])
    assert by_title["val/loss"].count("nbwandb-marker") == 3
