"""The panels' widget messages in a real kernel, on the ipywidgets this venv has (7.7.1 or 8).

A kernel (jupyter_client, the venv's own python) is driven message by message, as a frontend
drives it: what each panel sends on iopub (comm_open with the running ipywidgets' model
versions, a display with a widget view plus text/html and text/plain, update_display_data
as a run logs), input sent as comm messages (a field's value, a button's click, a checkbox),
and the final static form once the run is over.
"""

from __future__ import annotations

import os
import queue
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")
ipywidgets = pytest.importorskip("ipywidgets")
from ipywidgets import _version as widget_versions  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAJOR = int(ipywidgets.__version__.split(".")[0])
# The model protocol each ipywidgets major version speaks (its _version.py): a frontend that
# lacks these model modules draws nothing, so the kernel must send the running version's.
CONTROLS = {7: "1.5.0", 8: "2.0.0"}[MAJOR]
BASE = {7: "1.2.0", 8: "2.0.0"}[MAJOR]


class Kernel:
    """A kernel of this venv's python, with helpers that collect each cell's iopub messages."""

    def __init__(self, cwd: Path, kernel_name: str = "python3") -> None:
        env = dict(os.environ)
        # A kernel of the Colab venv runs nbwandb from the work tree (it is not installed there).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.pop("WANDB_SERVICE", None)  # its own wandb-core, not this process's
        self.manager, self.client = jupyter_client.manager.start_new_kernel(
            kernel_name=kernel_name, cwd=str(cwd), env=env, startup_timeout=90
        )
        self.messages: list[dict[str, Any]] = []  # every iopub message, in order

    def execute(self, code: str, timeout: float = 120) -> list[dict[str, Any]]:
        """Run ``code``; its iopub messages (it must not raise)."""
        msg_id = self.client.execute(code)
        mine = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            self.messages.append(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            mine.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        errors = [m["content"] for m in mine if m["msg_type"] == "error"]
        assert not errors, f"{code!r} raised: {errors}"
        return mine

    def output(self, code: str) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.execute(code)
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        ).strip()

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        """What a frontend sends when the user types or clicks in a widget's view."""
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def drain(self) -> None:
        while True:
            try:
                self.messages.append(self.client.get_iopub_msg(timeout=0.5))
            except queue.Empty:
                return

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def _of(msgs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in msgs if m["msg_type"] == kind]


def _displays(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m["content"]
        for m in msgs
        if m["msg_type"] in ("display_data", "execute_result", "update_display_data")
    ]


def _check_models(opened: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every comm_open is a model of the running ipywidgets' protocol; returns them by id."""
    models = {}
    for m in opened:
        content = m["content"]
        assert content["target_name"] == "jupyter.widget"
        assert m["metadata"]["version"] == widget_versions.__protocol_version__
        state = content["data"]["state"]
        module, version = state["_model_module"], state["_model_module_version"]
        expected = {"@jupyter-widgets/controls": CONTROLS, "@jupyter-widgets/base": BASE}
        assert module in expected and version == expected[module], (module, version)
        models[content["comm_id"]] = state
    return models


@pytest.fixture
def kernel(isolated: Path):
    k = Kernel(isolated)
    try:
        yield k
    finally:
        k.stop()


def test_panels_display_take_input_update_and_end_final(kernel: Kernel) -> None:
    assert kernel.output("import ipywidgets; print(ipywidgets.__version__)") == (
        ipywidgets.__version__
    )
    # -- a form: models of this ipywidgets' protocol, a widget view beside the text forms ----
    shown = kernel.execute(
        "%load_ext nbwandb\n"
        "from nbwandb.notebook import ConfigForm, RunPanel\n"
        "form = ConfigForm({'lr': 0.05, 'epochs': 3, 'fast': False}, project='proto', mode='offline')\n"
        "form"
    )
    models = _check_models(_of(shown, "comm_open"))
    (bundle,) = _displays(shown)
    view = bundle["data"][WIDGET_VIEW]
    assert (view["version_major"], view["version_minor"]) == (2, 0)
    assert models[view["model_id"]]["_model_name"] == "VBoxModel"  # the form's own model
    assert "epochs" in bundle["data"]["text/plain"] and "<table" in bundle["data"]["text/html"]
    assert bundle["transient"]["display_id"]  # kept, to replace the saved output later
    assert bundle["metadata"] == {"nbwandb": {"panel": "ConfigForm"}}
    # every child the view draws was opened first (a frontend looks them up by id)
    children = [c.removeprefix("IPY_MODEL_") for c in models[view["model_id"]]["children"]]
    assert children and all(child in models for child in children)

    # -- input through the comm, as a browser sends it -----------------------------------------
    epochs_id, check_id, button_id = kernel.output(
        "print(form.fields['epochs'].input.model_id, form.fields['fast'].input.model_id, "
        "form.button.model_id)"
    ).split()
    kernel.send_comm(epochs_id, {"method": "update", "state": {"value": 7}, "buffer_paths": []})
    kernel.send_comm(check_id, {"method": "update", "state": {"value": True}, "buffer_paths": []})
    assert kernel.output("print(form.value)") == "{'lr': 0.05, 'epochs': 7, 'fast': True}"
    kernel.send_comm(button_id, {"method": "custom", "content": {"event": "click"}})
    assert kernel.output("run = form.run; print(run.config['epochs'], run.mode)") == "7 offline"

    # -- a live RunPanel: updated in place after each cell that logs ----------------------------
    status = kernel.execute("%wandb_status")
    (live,) = _displays(status)
    display_id = live["transient"]["display_id"]
    assert WIDGET_VIEW in live["data"] and "text/plain" in live["data"]
    kernel.execute("for step in range(12):\n    run.log({'loss': 1 / (step + 1)}, step=step)")
    updates = [
        d
        for d in _displays(kernel.messages)
        if d["transient"].get("display_id") == display_id and "data" in d
    ]
    assert len(updates) >= 2, "no update_display_data after the logging cell"
    latest = updates[-1]["data"]
    assert WIDGET_VIEW in latest and latest[WIDGET_VIEW] == live["data"][WIDGET_VIEW]
    assert re.search(r'data-points="12" data-title="loss"', latest["text/html"])
    assert "loss=0.08333" in latest["text/plain"]
    # a view setting changed in the browser redraws the panel's charts (log y)
    log_id = kernel.output(
        "panel = RunPanel(run); before = panel._repr_mimebundle_()['text/html']\n"
        "print(panel.log_scale.model_id)"
    )
    kernel.send_comm(log_id, {"method": "update", "state": {"value": True}, "buffer_paths": []})
    assert (
        kernel.output(
            "print(panel.log_scale.value, before != panel._repr_mimebundle_()['text/html'])"
        )
        == "True True"
    )

    # -- the run is over: the outputs become their final static form (no widget view) ----------
    kernel.execute("%wandb_finish --wait")
    kernel.execute("x = 1")  # the post-cell hook after the finish, as in a notebook
    kernel.drain()
    finals = [
        d
        for d in _displays(kernel.messages)
        if d["transient"].get("display_id") == display_id and "data" in d
    ]
    final = finals[-1]["data"]
    assert WIDGET_VIEW not in final and ">finished</span>" in final["text/html"]
    assert "state=finished" in final["text/plain"]
    # the charts reached the browser as widget state too (an HTML widget's value, by comm)
    charts = [
        str(m["content"]["data"].get("state", {}).get("value", ""))
        for m in _of(kernel.messages, "comm_msg")
    ]
    assert any('data-points="12" data-title="loss"' in value for value in charts)
    form_id = bundle["transient"]["display_id"]
    form_final = [
        d["data"]
        for d in _displays(kernel.messages)
        if d["transient"].get("display_id") == form_id and "data" in d
    ][-1]
    assert WIDGET_VIEW not in form_final and "config of run" in form_final["text/html"]
    assert re.search(r"<td>epochs</td><td class='num'>7</td>", form_final["text/html"])


def test_doctor_in_a_kernel_names_the_running_ipywidgets(kernel: Kernel) -> None:
    msgs = kernel.execute("%load_ext nbwandb\n%wandb_doctor --no-service")
    (report,) = _displays(msgs)
    text = report["data"]["text/plain"]
    assert f"ipywidgets {ipywidgets.__version__} core widgets" in text
    assert "ipywidgets 8 core widgets" not in text or MAJOR == 8
    assert "pip install 'ipywidgets>=8'" not in text


def test_in_the_colab_stand_in_kernel(isolated: Path) -> None:
    """The stand-in kernel (google.colab imported at start, as Colab does): Colab is detected,
    the panels send ipywidgets 7.7.1 models, and the doctor says what was tested there."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("colab-standin")
    except NoSuchKernel:
        pytest.skip("no colab-standin kernel here (make colab-venv builds it in .venv-colab)")
    k = Kernel(isolated, kernel_name="colab-standin")
    try:
        # the spec sets its own PYTHONPATH: nbwandb comes from the work tree, as the tests' does
        k.execute(f"import sys; sys.path.insert(0, {str(REPO)!r})")
        assert (
            k.output(
                "import ipywidgets; print(ipywidgets.__version__, 'google.colab' in sys.modules)"
            )
            == "7.7.1 True"
        )
        shown = k.execute(
            "%load_ext nbwandb\n"
            "from nbwandb.notebook import ConfigForm, detect_environment\n"
            "print(detect_environment())\n"
            "ConfigForm({'lr': 0.1})"
        )
        assert "colab" in [m["content"].get("text", "").strip() for m in _of(shown, "stream")]
        _check_models(_of(shown, "comm_open"))
        (bundle,) = _displays(shown)
        assert {WIDGET_VIEW, "text/plain", "text/html"} <= set(bundle["data"])
        (report,) = _displays(k.execute("%wandb_doctor --no-service"))
        text = report["data"]["text/plain"]
        assert "colab: ipywidgets 7.7.1 core widgets, no custom widget manager" in text
        assert "widgetsnbextension 3.6.10" in text and "not on Colab itself" in text
        assert "ipywidgets 8" not in text
    finally:
        k.stop()
