"""Credentials and a W&B host that does not answer: an answer in seconds, never a 90 s hang.

Every way a host can fail to answer, on loopback: nothing listening (refused), a
connect that never completes (blackholed), a name that does not resolve, a server that
accepts and never answers (a proxy holding the bytes), and a real server that is stopped
(SIGSTOP). With mode "auto" the run is offline and says why in one line; with "online"
``init`` raises ``NbwandbError`` naming the host and the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fault_proxy import BlackHole, FaultProxy
from openwandb_server import free_port
from relkit import record

import nbwandb
from nbwandb.connection.network import AUTO_TIMEOUT
from nbwandb.local import read_run

KINDS = ("refused", "blackholed", "dns", "silent", "stopped-server")
SLACK = 4.0  # seconds for importing wandb and starting an offline run on a busy 2-core machine
FIGURES: dict[str, dict[str, float]] = {}


@pytest.fixture(params=KINDS)
def dead_host(request) -> Iterator[tuple[str, str]]:
    """``(kind, url)`` of a host that does not answer in the way ``kind`` says."""
    kind = request.param
    if kind == "refused":
        yield kind, f"http://127.0.0.1:{free_port()}"
    elif kind == "blackholed":
        hole = BlackHole()
        yield kind, hole.url
        hole.close()
    elif kind == "dns":
        yield kind, "http://nbwandb-no-such-host.invalid"  # .invalid never resolves (RFC 6761)
    elif kind == "silent":
        proxy = FaultProxy(free_port(), mode="silent")
        yield kind, proxy.url
        proxy.close()
    else:
        srv = request.getfixturevalue(
            "private_server"
        )  # stopped again (and cleaned up) by its fixture
        srv.pause()
        yield kind, srv.url


def test_auto_mode_falls_back_to_offline_within_seconds(dead_host, online_env, capsys) -> None:
    kind, url = dead_host
    online_env(url)
    start = time.monotonic()
    run = nbwandb.init("unreachable", config={"kind": kind})
    seconds = time.monotonic() - start
    assert run.mode == "offline", kind
    assert seconds < AUTO_TIMEOUT + SLACK, f"{kind}: init took {seconds:.1f}s"
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("nbwandb:")]
    assert len(lines) == 1, lines
    assert (
        url in lines[0]
        and "this run is offline" in lines[0]
        and f"wandb sync {run.run_dir}" in lines[0]
    )
    run.log({"x": 1.0}, step=0)
    run.finish()
    assert read_run(run.run_dir).history[0]["x"] == 1.0
    FIGURES.setdefault(kind, {})["auto_s"] = round(seconds, 2)


def test_online_mode_raises_nbwandb_error_in_bounded_time(dead_host, online_env) -> None:
    kind, url = dead_host
    online_env(url)
    start = time.monotonic()
    with pytest.raises(nbwandb.NbwandbError) as caught:
        nbwandb.init("unreachable", mode="online", network_timeout=3)
    seconds = time.monotonic() - start
    assert seconds < 3 + SLACK, f"{kind}: {seconds:.1f}s"
    message = str(caught.value)
    assert url in message and "network_timeout=3s" in message and "mode='auto'" in message
    assert "CommError" not in message and type(caught.value).__name__ != "CommError"
    assert nbwandb.active_run() is None
    FIGURES.setdefault(kind, {})["online_s"] = round(seconds, 2)


def test_online_mode_default_timeout_is_about_ten_seconds(online_env) -> None:
    hole = BlackHole()
    try:
        online_env(hole.url)
        start = time.monotonic()
        with pytest.raises(nbwandb.NbwandbError, match="network_timeout=10s"):
            nbwandb.init("unreachable", mode="online")
        seconds = time.monotonic() - start
        assert 9.5 < seconds < 10 + SLACK
    finally:
        hole.close()
    FIGURES.setdefault("blackholed", {})["online_default_s"] = round(seconds, 2)


def test_magic_and_config_form_fall_back_the_same_way(online_env, capsys) -> None:
    pytest.importorskip("ipywidgets")
    import IPython
    from IPython.testing.globalipapp import start_ipython

    from nbwandb.notebook.config_form import ConfigForm
    from nbwandb.run import session

    hole = BlackHole()
    try:
        online_env(hole.url)
        shell = start_ipython() or IPython.get_ipython()
        shell.run_line_magic("load_ext", "nbwandb")
        start = time.monotonic()
        shell.run_line_magic("wandb_init", "-p unreachable-magic")
        assert time.monotonic() - start < AUTO_TIMEOUT + SLACK
        run = session.active_run()
        assert run is not None and run.mode == "offline" and "did not answer" in run.mode_reason
        assert "this run is offline" in capsys.readouterr().out
        shell.run_line_magic("wandb_finish", "")
        from IPython.core.error import UsageError

        start = time.monotonic()
        with pytest.raises(UsageError, match=r"mode='online': the W&B host .* network_timeout=2s"):
            shell.run_line_magic(
                "wandb_init", "-p unreachable-magic --mode online --network-timeout 2"
            )
        assert time.monotonic() - start < 2 + SLACK
        shell.run_line_magic("unload_ext", "nbwandb")

        form = ConfigForm({"lr": 0.1}, project="unreachable-form")
        start = time.monotonic()
        form.button.click()
        assert time.monotonic() - start < AUTO_TIMEOUT + SLACK
        assert (
            form.run is not None
            and form.run.mode == "offline"
            and "did not answer" in form.run.mode_reason
        )
        form.run.finish()
    finally:
        hole.close()


def test_login_panel_with_an_unreachable_host_says_what_happens_next(
    online_env, panel_login
) -> None:
    from openwandb_server import KEY

    hole = BlackHole()
    try:
        online_env(hole.url)
        panel = panel_login(hole.url, timeout=2)
        status = panel.status.value
        assert "stored in" in status and "not verified" in status
        assert "runs try online and fall back to offline" in status and KEY not in status
        # ... and the run that follows does fall back, without a hang.
        start = time.monotonic()
        run = nbwandb.init("after-login")
        assert run.mode == "offline" and time.monotonic() - start < AUTO_TIMEOUT + SLACK
        run.finish()
    finally:
        hole.close()


def test_doctor_reports_the_unreachable_host_within_seconds(online_env) -> None:
    from nbwandb.checks.doctor import check_host

    hole = BlackHole()
    try:
        online_env(hole.url)
        start = time.monotonic()
        result = check_host()
        assert time.monotonic() - start < 3 + 1.5
        assert (
            result.ok is False and hole.url in result.detail and "did not answer" in result.detail
        )
    finally:
        hole.close()


def test_host_that_answers_the_probe_then_hangs(server, online_env, capsys) -> None:
    """The probe gets an answer, then wandb's own calls hang: auto still ends offline, bounded."""
    proxy = FaultProxy(server.port, mode="silent-after", answered=1)
    try:
        online_env(proxy.url)
        start = time.monotonic()
        run = nbwandb.init("probe-then-hang", settings={"init_timeout": 4})
        seconds = time.monotonic() - start
        assert run.mode == "offline" and "wandb could not start the run" in run.mode_reason
        assert seconds < 4 + SLACK + 2
        assert "this run is offline" in capsys.readouterr().out
        run.finish()
        proxy.accepted = 0  # the probe answers again; wandb hangs again
        with pytest.raises(
            nbwandb.NbwandbError, match="mode='online': wandb could not start the run"
        ):
            nbwandb.init("probe-then-hang", mode="online", settings={"init_timeout": 4})
    finally:
        proxy.close()


def test_login_magic_against_the_server_says_verified(server, online_env, capsys) -> None:
    pytest.importorskip("ipywidgets")
    import IPython
    from IPython.testing.globalipapp import start_ipython

    online_env(server.url)
    shell = start_ipython() or IPython.get_ipython()
    shell.run_line_magic("load_ext", "nbwandb")
    try:
        shell.run_line_magic("wandb_login", "")
    finally:
        shell.run_line_magic("unload_ext", "nbwandb")
    out = capsys.readouterr().out
    assert "(verified" in out and "not verified" not in out


def test_record_figures() -> None:
    """Runs last in this file: the figures of the cases above, for RELIABILITY.md."""
    if not FIGURES:
        pytest.skip("run with the cases above")
    record("online_unreachable_host", auto_timeout_s=AUTO_TIMEOUT, kinds=FIGURES)
