"""Does the W&B host answer? A bounded probe, so no call of nbwandb waits on a network forever.

``probe_host`` asks the server who owns the key (the GraphQL ``viewer`` query, as
``wandb login`` does) and classifies what happened: an answer, a rejected key, a
refused connection, a connection that never completes (blackholed), a name that
does not resolve, or a server that accepts the connection and then says nothing.
It runs in a daemon thread and gives up at ``timeout`` whatever the resolver or
the socket do, so the caller's wait is bounded.

>>> probe = probe_host("http://127.0.0.1:9", timeout=2)   # nothing listens on the discard port
>>> probe.kind, probe.reachable
('refused', False)
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from nbwandb.connection.credentials import Secret

AUTO_TIMEOUT = 5.0  # mode="auto": seconds before a run falls back to offline
ONLINE_TIMEOUT = 10.0  # mode="online": seconds before init raises
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")

# What went wrong, as the user should read it after "the W&B host ... ".
_KIND_TEXT = {
    "dns": "does not resolve",
    "refused": "refused the connection",
    "connect-timeout": "did not accept a connection",
    "silent": "accepted the connection but did not answer",
    "error": "could not be reached",
    "http-error": "answered with an error",
    "rejected": "rejected the API key",
    "tls": "answered, but its TLS certificate could not be checked here",
}


@dataclass(frozen=True)
class HostProbe:
    """What one probe found. ``reachable`` is True when the server answered (even with 401).

    ``kind``: "ok", "rejected" (the key), "dns", "refused", "connect-timeout" (the connection
    never completes), "silent" (accepted, then no answer), "tls" (the host answered but our
    certificate check failed; wandb is left to try), "http-error" or "error".
    ``user`` is the key's owner when the server said so. Never holds the key.
    """

    host: str
    kind: str
    seconds: float
    timeout: float
    detail: str = ""
    user: str = ""

    @property
    def reachable(self) -> bool:
        """True when the host answered: with a judgement on the key, or at least a TLS handshake."""
        return self.kind in ("ok", "rejected", "tls")

    @property
    def key_accepted(self) -> bool | None:
        """True/False when the server judged the key, None when it did not answer."""
        return {"ok": True, "rejected": False}.get(self.kind)

    def describe(self) -> str:
        """One line: what happened, e.g. "the W&B host http://x did not answer within 5s (...)"."""
        if self.kind == "ok":
            return f"the W&B host {self.host} answered in {self.seconds:.2f}s"
        if self.kind in ("silent", "connect-timeout"):
            what = f"did not answer within {self.timeout:g}s ({_KIND_TEXT[self.kind]})"
        else:
            what = _KIND_TEXT.get(self.kind, "could not be reached")
        detail = f": {self.detail}" if self.detail else ""
        return f"the W&B host {self.host} {what}{detail}"

    def __str__(self) -> str:
        return self.describe()


def _tls_context() -> ssl.SSLContext:
    """The CA bundle wandb's own HTTP clients would use (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``)."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    if bundle and os.path.isfile(bundle):
        return ssl.create_default_context(cafile=bundle)
    return ssl.create_default_context()


def _viewer_request(host: str, secret: Secret | None) -> tuple[str, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json", "User-Agent": "nbwandb-probe"}
    if secret is not None:
        token = base64.b64encode(f"api:{secret.reveal()}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    body = json.dumps({"query": "query { viewer { username } }"}).encode()
    return f"{host}/graphql", body, headers


def _judge_answer(status: int, payload: bytes) -> tuple[str, str, str]:
    """(kind, detail, user) from the server's HTTP answer to the viewer query."""
    if status in (401, 403):
        return "rejected", f"HTTP {status}", ""
    if status >= 400:
        return "http-error", f"HTTP {status}", ""
    try:
        data = json.loads(payload or b"{}")
    except ValueError:
        return "http-error", "the answer is not JSON (is this a W&B server?)", ""
    viewer = (data.get("data") or {}).get("viewer") if isinstance(data, dict) else None
    if not viewer:
        return "rejected", "the server does not know this key", ""
    return "ok", "", str(viewer.get("username") or "")


def _direct_probe(
    host: str, secret: Secret | None, deadline: float, stage: list[str]
) -> tuple[str, str, str]:
    """Resolve, connect and ask, each step classified (no proxy in the way).

    ``stage`` is appended to as the probe goes, so a caller whose deadline passed can tell
    where it hangs (a resolver, a connect or a read may all outlive their timeouts).
    """
    url = urlparse(host)
    hostname = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    stage.append("dns")
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return "dns", f"{hostname}: {exc.strerror or exc}", ""
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(max(deadline - time.monotonic(), 0.01))
    stage.append("connect-timeout")
    try:
        sock.connect(address)
    except ConnectionRefusedError:
        sock.close()
        return "refused", "", ""
    except TimeoutError:
        sock.close()
        return "connect-timeout", "", ""
    except OSError as exc:
        sock.close()
        return "error", f"{type(exc).__name__}: {exc.strerror or exc}", ""
    stage.append("silent")
    path, body, headers = _viewer_request(host, secret)
    # The socket is already connected (and wrapped for TLS below): the connection object only
    # speaks HTTP over it. Its class sets the Host header as a browser would (no default port).
    conn_class = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(hostname, port)
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        if url.scheme == "https":
            sock = _tls_context().wrap_socket(sock, server_hostname=hostname)
        conn.sock = sock
        conn.request("POST", urlparse(path).path or "/graphql", body=body, headers=headers)
        resp = conn.getresponse()
        return _judge_answer(resp.status, resp.read(1 << 16))
    except TimeoutError:
        return "silent", "", ""
    except ssl.SSLError as exc:
        # The host answered; only our TLS check failed (a company CA we do not know, ...).
        # wandb verifies on its own, with its own bound: let it try rather than go offline.
        return "tls", f"{exc.reason or exc}", ""
    except (OSError, http.client.HTTPException) as exc:
        return (
            "silent" if isinstance(exc, http.client.RemoteDisconnected) else "error",
            f"{type(exc).__name__}",
            "",
        )
    finally:
        conn.close()


def _proxy_probe(
    host: str, secret: Secret | None, deadline: float, stage: list[str]
) -> tuple[str, str, str]:
    """Through the proxy the environment names (urllib honours it); coarser classification."""
    stage.append("silent")
    path, body, headers = _viewer_request(host, secret)
    req = urllib.request.Request(path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=max(deadline - time.monotonic(), 0.01)) as resp:
            return _judge_answer(resp.status, resp.read(1 << 16))
    except urllib.error.HTTPError as exc:
        return _judge_answer(exc.code, b"")
    except TimeoutError:
        return "silent", "through the proxy", ""
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ConnectionRefusedError):
            return "refused", "the proxy refused", ""
        if isinstance(reason, TimeoutError):
            return "silent", "through the proxy", ""
        return "error", f"through the proxy: {type(reason).__name__}", ""


class ProbeThread:
    """A probe running in the background: start it early, ``result()`` it later (bounded).

    ``init`` starts one before importing wandb, so the probe overlaps wandb's start-up.

    >>> probe = ProbeThread("http://127.0.0.1:9", None, timeout=2)   # returns at once
    >>> probe.result().kind                                          # waits, at most 2 s
    'refused'
    """

    def __init__(self, host: str, secret: Secret | None, *, timeout: float) -> None:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(
                f"network timeout={timeout!r} is not accepted; use a number of seconds > 0"
            )
        self.host = host.rstrip("/")
        self.timeout = float(timeout)
        self._secret = secret
        self._start = time.monotonic()
        self._deadline = self._start + self.timeout
        self._box: list[tuple[str, str, str]] = []
        self._stage: list[str] = []
        self._done = threading.Event()
        # A daemon thread: a resolver or socket that ignores its timeout never keeps the kernel.
        self._thread = threading.Thread(target=self._run, name="nbwandb-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        use_proxy = any(os.environ.get(v) for v in PROXY_VARS)
        try:
            probe = _proxy_probe if use_proxy else _direct_probe
            self._box.append(probe(self.host, self._secret, self._deadline, self._stage))
        except Exception as exc:  # classified, never raised into a daemon thread's void
            self._box.append(("error", f"{type(exc).__name__}: {exc}", ""))
        finally:
            self._secret = None
            self._done.set()

    def result(self) -> HostProbe:
        """Wait until the probe ends or its deadline passes; never longer."""
        self._done.wait(max(self._deadline - time.monotonic(), 0) + 0.05)
        seconds = time.monotonic() - self._start
        if not self._box:
            # The resolver, connect or read is still blocked: classify by where it hangs.
            stage = self._stage[-1] if self._stage else "connect-timeout"
            detail = "the name server did not answer" if stage == "dns" else ""
            return HostProbe(self.host, stage, seconds, self.timeout, detail)
        kind, detail, user = self._box[0]
        return HostProbe(self.host, kind, seconds, self.timeout, detail, user)


def probe_host(
    host: str, secret: Secret | None = None, *, timeout: float = AUTO_TIMEOUT
) -> HostProbe:
    """Ask ``host`` who owns ``secret`` (or just whether it answers), within ``timeout`` seconds."""
    return ProbeThread(host, secret, timeout=timeout).result()
