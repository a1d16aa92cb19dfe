"""``nbwandb.checks.doctor.run_checks`` (core) and its rendering by ``%wandb_doctor`` (notebook layer)."""

from __future__ import annotations

import time

import pytest

import nbwandb
from nbwandb.checks import doctor
from nbwandb.checks.doctor import CheckResult, run_checks

FAKE_KEY = "nbwtest-" + "d0c" * 14


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_run_checks_reports_every_check_and_never_the_key(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # loopback, nothing listens: refused
    monkeypatch.delenv("WANDB_MODE")
    start = time.monotonic()
    results = run_checks(environment="jupyter", service=False)
    assert time.monotonic() - start < 10
    checks = by_name(results)
    assert list(checks) == [
        "python",
        "wandb",
        "ipywidgets",
        "frontend",
        "mode",
        "credentials",
        "W&B host",
        "disk",
        "widgets",
        "save hook",
    ]
    assert checks["W&B host"].ok is False and "refused the connection" in checks["W&B host"].detail
    assert "fall back to offline" in checks["W&B host"].fix
    assert all(isinstance(r, CheckResult) for r in results)
    assert checks["wandb"].ok and checks["wandb"].detail == __import__("wandb").__version__
    assert (
        checks["mode"].detail.startswith("mode='auto' gives 'online'")
        and "env" in checks["mode"].detail
    )
    assert checks["credentials"].ok and "WANDB_API_KEY" in checks["credentials"].detail
    assert checks["widgets"].ok and "environment: jupyter" in checks["frontend"].detail
    assert FAKE_KEY not in repr(results)


def test_problems_come_with_a_fix(monkeypatch, isolated):
    monkeypatch.setenv("WANDB_API_KEY", "too-short")
    monkeypatch.setattr("nbwandb.run.disk_space.MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    checks = by_name(run_checks(environment="terminal", service=False, run_dir=isolated / "runs"))
    assert checks["credentials"].ok is False and "too short" in checks["credentials"].detail
    assert (
        "too-short" not in repr(checks["credentials"]) and "--relogin" in checks["credentials"].fix
    )
    assert checks["disk"].ok is False and str(isolated / "runs") in checks["disk"].detail
    assert "WANDB_DIR" in checks["disk"].fix
    assert checks["widgets"].ok is False and "JupyterLab" in checks["widgets"].fix
    assert all(r.fix for r in checks.values() if r.ok is False)


def test_no_credentials_is_information_with_a_way_to_go_online():
    check = doctor.check_credentials()
    assert check.ok is None and "offline" in check.detail and "%wandb_login" in check.fix


def test_bad_wandb_mode_is_a_problem(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    check = doctor.check_mode()
    assert check.ok is False and "'sometimes'" in check.detail and "WANDB_MODE" in check.fix


def test_service_check_really_starts_wandb_core():
    check = doctor.check_service(timeout=120)
    assert check.ok is True and check.detail == "starts and stops"
    run = nbwandb.init(project="doctor")
    assert doctor.check_service().detail == f"running (active run {run.id})"


def test_doctor_report_text_and_html():
    pytest.importorskip("IPython")
    from nbwandb.notebook import DoctorReport

    report = DoctorReport(
        [
            CheckResult("disk", False, "1 MiB free <here>", "free space, then `nbwandb sync`"),
            CheckResult("python", True, "3.11"),
        ]
    )
    assert len(report.problems) == 1
    text = repr(report)
    assert "1 problem in" in text and "PROBLEM" in text and "fix: free space, then `nbwandb" in text
    bundle = report._repr_mimebundle_()
    assert (
        bundle["text/plain"] == text
        and "<table class='nbwandb-doctor'" in bundle["text/html"]
        and "1 problem<" in bundle["text/html"]
    )
    # commands as code, not with literal backticks; the rest escaped
    assert "then <code>nbwandb sync</code>" in bundle["text/html"]
    assert "`" not in bundle["text/html"] and "free &lt;here&gt;" in bundle["text/html"]


@pytest.mark.parametrize(
    ("environment", "version", "ok", "says", "never"),
    [
        (
            "colab",
            "7.7.1",
            True,
            [
                "colab: ipywidgets 7.7.1 core widgets, no custom widget manager",
                "classic Notebook 6.5.7 with widgetsnbextension 3.6.10",
                "not on Colab itself",
            ],
            ["ipywidgets 8"],
        ),
        (
            "colab",
            "8.1.9",
            False,
            ["ipywidgets 8.1.9 is not Colab's own (7.7.1)", "stay blank"],
            ["tested on"],
        ),
        ("vscode", "8.1.9", None, ["vscode: ipywidgets 8.1.9 core widgets", "not tested"], []),
        ("jupyter", "8.1.9", True, ["tested on JupyterLab 4 and Notebook 7"], ["Colab"]),
        ("jupyter", "7.7.1", True, ["tested on classic Notebook 6.5.7"], ["JupyterLab 4"]),
    ],
)
def test_widgets_line_says_what_is_tested(monkeypatch, environment, version, ok, says, never):
    """The line names the loaded ipywidgets and the frontends tested with it, nothing more."""
    pytest.importorskip("ipywidgets")
    import sys
    from types import SimpleNamespace

    monkeypatch.setitem(sys.modules, "ipywidgets", SimpleNamespace(__version__=version))
    check = doctor.check_widgets(environment)
    assert check.ok is ok, check
    for text in says:
        assert text in check.detail, check.detail
    for text in never:
        assert text not in check.detail, check.detail
    if environment == "colab" and ok is None:
        assert "Runtime > Restart session" in check.fix and ">=8" not in check.fix
