"""``nbwandb.connection.network``: the bounded host probe, each failure kind on loopback, no server needed."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from nbwandb.connection.credentials import Secret
from nbwandb.connection.network import ProbeThread, probe_host

KEY = Secret("local" + "k" * 40)


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200
    body: ClassVar[dict] = {"data": {"viewer": {"username": "ada"}}}

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: http.server.HTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_an_answer_names_the_user(http_server) -> None:
    probe = probe_host(_url(http_server), KEY, timeout=3)
    assert (
        probe.kind == "ok"
        and probe.reachable
        and probe.key_accepted is True
        and probe.user == "ada"
    )
    assert "answered" in probe.describe() and "k" * 40 not in repr(probe)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {}, "rejected"),
        (403, {}, "rejected"),
        (200, {"data": {"viewer": None}}, "rejected"),
        (500, {}, "http-error"),
    ],
)
def test_the_server_judges_the_key(http_server, monkeypatch, status, body, kind) -> None:
    monkeypatch.setattr(_Handler, "status", status)
    monkeypatch.setattr(_Handler, "body", body)
    probe = probe_host(_url(http_server), KEY, timeout=3)
    assert probe.kind == kind
    assert probe.key_accepted is ({"rejected": False}.get(kind))


def test_refused_is_known_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    start = time.monotonic()
    probe = probe_host(f"http://127.0.0.1:{port}", KEY, timeout=5)
    assert probe.kind == "refused" and not probe.reachable and time.monotonic() - start < 1


def test_a_silent_server_is_given_up_on_at_the_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel accepts; nobody reads or answers
    try:
        start = time.monotonic()
        probe = probe_host(f"http://127.0.0.1:{listener.getsockname()[1]}", KEY, timeout=1.0)
        elapsed = time.monotonic() - start
    finally:
        listener.close()
    assert probe.kind == "silent" and 0.9 < elapsed < 2.0
    assert (
        "did not answer within 1s (accepted the connection but did not answer)" in probe.describe()
    )


def test_a_name_that_does_not_resolve() -> None:
    probe = probe_host("http://nbwandb-no-such-host.invalid", KEY, timeout=3)
    assert probe.kind == "dns" and "does not resolve" in probe.describe()


def test_result_is_bounded_even_when_the_probe_thread_is_stuck(monkeypatch) -> None:
    """A resolver that ignores every timeout: the caller still gets an answer at the deadline."""
    release = threading.Event()

    def stuck_resolver(*_args: object, **_kwargs: object) -> list:
        release.wait(30)
        raise socket.gaierror("too late")

    monkeypatch.setattr(socket, "getaddrinfo", stuck_resolver)
    start = time.monotonic()
    probe = ProbeThread("http://example.invalid", KEY, timeout=0.5).result()
    elapsed = time.monotonic() - start
    release.set()
    assert probe.kind == "dns" and "name server did not answer" in probe.detail and elapsed < 1.5


@pytest.mark.parametrize("timeout", [0, -1, "5", True])
def test_bad_timeouts_are_refused(timeout) -> None:
    with pytest.raises(ValueError, match="timeout"):
        ProbeThread("http://127.0.0.1:9", None, timeout=timeout)


def test_init_with_a_rejected_key(http_server, monkeypatch, capsys) -> None:
    """A server that says no to the key: auto gives an offline run that says why, online an error."""
    import nbwandb

    monkeypatch.setattr(_Handler, "status", 401)
    monkeypatch.setenv("WANDB_BASE_URL", _url(http_server))
    monkeypatch.setenv("WANDB_API_KEY", KEY.reveal())
    monkeypatch.delenv("WANDB_MODE")
    run = nbwandb.init("rejected")
    assert run.mode == "offline" and "rejected the API key" in run.mode_reason
    assert "rejected the API key" in capsys.readouterr().out
    run.finish()
    from nbwandb.errors import LoginError

    with pytest.raises(LoginError, match=r"rejected the API key.*nbwandb.login") as caught:
        nbwandb.init("rejected", mode="online")
    assert KEY.reveal() not in str(caught.value)


def test_a_failed_tls_check_leaves_the_decision_to_wandb(http_server) -> None:
    """An https URL on a plain-HTTP port: the handshake fails, but the host did answer.

    (As with a company CA the probe cannot check: wandb verifies on its own, so the probe
    must not send such a user offline.)
    """
    probe = probe_host(_url(http_server).replace("http://", "https://"), KEY, timeout=3)
    assert probe.kind == "tls" and probe.reachable and probe.key_accepted is None
    assert "TLS certificate could not be checked" in probe.describe()


def test_https_with_the_ca_bundle_wandb_would_use(tmp_path, monkeypatch) -> None:
    """A TLS server with its own CA: unchecked at first, answered once REQUESTS_CA_BUNDLE names it."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        assert probe_host(url, KEY, timeout=3).kind == "tls"  # reachable, left to wandb
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        probe = probe_host(url, KEY, timeout=3)
        assert probe.kind == "ok" and probe.user == "ada"
    finally:
        server.shutdown()
        server.server_close()
