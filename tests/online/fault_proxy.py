"""A small loopback TCP proxy that misbehaves on purpose, for the online tests.

Modes (``proxy.mode = ...``, switchable while connections are open):

- ``"pass"``: forward both ways;
- ``"latency"``: forward, each chunk delayed by ``latency`` seconds;
- ``"drop"``: close every connection (new ones at once, open ones on their next chunk);
- ``"silent"``: accept connections and never answer (the server seems hung);
- ``"silent-after"``: forward the first ``answered`` connections, then behave as "silent"
  (a server that answers a probe and then hangs);

``BlackHole`` is a listener whose backlog is full and that never accepts: a connect to
it never completes (as with a firewall that drops packets), all on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

MODES = ("pass", "latency", "drop", "silent", "silent-after")


class FaultProxy:
    """``127.0.0.1:port`` forwards to ``target_port`` on loopback, as ``mode`` says."""

    def __init__(
        self, target_port: int, mode: str = "pass", latency: float = 0.2, answered: int = 1
    ) -> None:
        self.target_port = target_port
        self.answered = answered
        self.accepted = 0
        self.mode = mode
        self.latency = latency
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._track(client)
            self.accepted += 1
            if self.mode == "silent-after" and self.accepted > self.answered:
                continue  # held open, never answered
            if self.mode == "drop":
                client.close()
                continue
            if self.mode == "silent":
                continue  # held open, never read, never answered
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._track(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.mode == "drop":
                    break
                while self.mode == "silent" and not self._closed.is_set():
                    time.sleep(0.05)  # hold the bytes: the peer sees a hung server
                if self.mode == "latency":
                    time.sleep(self.latency)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()


class BlackHole:
    """A loopback port whose connects never complete: backlog 0, filled, never accepted."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(4):  # more than the backlog holds: later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in (*self._fillers, self._listener):
            sock.close()
