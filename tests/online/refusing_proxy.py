"""A loopback HTTP proxy that answers a chosen status (401, 403, ...) instead of the server.

It forwards each request to openwandb on loopback until told to refuse: ``refuse(401)``
answers every later request with that status (as a server does once a key is revoked),
``refuse(403, only=is_file_upload)`` only the requests the predicate picks (a storage
that refuses one kind of upload). Unlike ``fault_proxy`` it works per request, so a
keep-alive connection opened before the refusal is refused too. A script under test
can switch it itself, at a point of its own timing: ``POST URL/_test_proxy/refuse/401``
(or ``.../403/file-uploads``).

>>> proxy = RefusingProxy(server.port)            # doctest: +SKIP
>>> proxy.refuse(401)                             # doctest: +SKIP
>>> proxy.refused > 0, proxy.first_refusal        # doctest: +SKIP
(True, 1767000000.1)
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Predicate = Callable[[str, str], bool]  # (method, path) -> refuse this one?
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 410: "Gone"}


def is_file_upload(method: str, path: str) -> bool:
    """A run file's upload (openwandb's upload URLs: ``PUT /files/...``), not the file stream."""
    return method == "PUT" and path.startswith("/files/")


ONLY: dict[str, Predicate] = {"file-uploads": is_file_upload}
CONTROL = "/_test_proxy/refuse/"  # POST .../401 or .../403/file-uploads: refuse from now on


class RefusingProxy:
    """``127.0.0.1:port`` forwards HTTP to ``127.0.0.1:target_port`` until ``refuse`` is called."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.status: int | None = None
        self.only: Predicate | None = None
        self.refused = 0
        self.forwarded = 0
        self.refusing_since: float | None = None  # time.time() when refuse() was called
        self.first_refusal: float | None = None  # time.time() of the first refused request
        self.refused_paths: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the server speaks it

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body()
                if self.path.startswith(CONTROL):  # the script under test says when
                    what = self.path[len(CONTROL) :].split("/")
                    proxy.refuse(int(what[0]), only=ONLY.get(what[1]) if len(what) > 1 else None)
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = proxy._decide(self.command, self.path)
                if status is not None:
                    payload = b'{"errors":[{"message":"refused by the test proxy"}]}'
                    self.send_response(status, REASONS.get(status))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                finally:
                    upstream.close()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client (wandb-core at exit) that drops its connection: not news

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(
            target=self._server.serve_forever, name="refusing-proxy", daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse(self, status: int, *, only: Predicate | None = None) -> None:
        """Answer ``status`` from now on (to the requests ``only`` picks; all without it)."""
        with self._lock:
            self.status, self.only = status, only
            self.refusing_since = time.time()

    def _decide(self, method: str, path: str) -> int | None:
        with self._lock:
            if self.status is None or (self.only is not None and not self.only(method, path)):
                self.forwarded += 1
                return None
            self.refused += 1
            self.refused_paths.append(f"{method} {path}")
            if self.first_refusal is None:
                self.first_refusal = time.time()
            return self.status

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
