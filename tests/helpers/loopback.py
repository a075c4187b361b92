"""A tiny HTTP server on 127.0.0.1 that plays mirrors, good and bad, for tests.

The builder downloads over real sockets, so the only honest way to test its mirror
handling offline is a real server. Each path is given a `Route`: serve bytes, answer
404, send the headers and half the body and then reset the connection (a mirror dying
mid-download), or one of the hostile behaviours: stall after half the body, accept and
never answer, stream zeros without end or far past the archive's size. Every request
is recorded so a test can tell which mirror was asked for what, and in which order, and
`bytes_sent` counts what each path's bodies cost the server.

    with LoopbackServer({"/m1/a.gz": Route.serve(data)}) as server:
        url = server.url("/m1/a.gz")
        ...
        assert server.requests == [Request("HEAD", "/m1/a.gz"), Request("GET", "/m1/a.gz")]
"""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Literal

from local_hub.front import UNSATISFIABLE, range_bounds, reset_connection


@dataclasses.dataclass(frozen=True)
class Route:
    """What the server does for one path. Build with one of the class methods."""

    behaviour: Literal["serve", "not_found", "drop", "stall", "silent", "zeros"]
    body: bytes = b""
    length: int | None = None  # for "zeros": the announced size, None for an endless body

    @classmethod
    def serve(cls, body: bytes) -> Route:
        """200 with `body` and its Content-Length; HEAD and single `Range: bytes=a-b` requests are honoured."""
        return cls("serve", body)

    @classmethod
    def not_found(cls) -> Route:
        """404 with an empty body (what unknown paths get too)."""
        return cls("not_found")

    @classmethod
    def drop_mid_body(cls, body: bytes) -> Route:
        """Announce all of `body` (HEAD answers normally), send half of it, then reset the connection."""
        return cls("drop", body)

    @classmethod
    def stall_mid_body(cls, body: bytes) -> Route:
        """Announce all of `body`, send half of it, then keep the connection open and send nothing more."""
        return cls("stall", body)

    @classmethod
    def silent(cls) -> Route:
        """Accept the connection and read the request, then never answer."""
        return cls("silent")

    @classmethod
    def zeros(cls, length: int | None) -> Route:
        """Stream zero bytes: `length` of them with that Content-Length, or without end and without one."""
        return cls("zeros", length=length)


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        with self.server.lock:
            self.server.requests.append(Request(self.command, self.path))
            route = self.server.routes.get(self.path, Route.not_found())
        if route.behaviour in ("stall", "silent", "zeros") and not head:
            self._hostile(route)
            return
        if route.behaviour == "not_found":
            self._send(404, b"", head)
            return
        body, status, extra = route.body, 200, {"Accept-Ranges": "bytes"}
        bounds = range_bounds(self.headers.get("Range", ""), len(body))
        if bounds is not None and route.behaviour == "serve" and body:
            if bounds == UNSATISFIABLE:
                self._send(416, b"", head, {"Content-Range": f"bytes */{len(body)}"})
                return
            start, end = bounds
            extra["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start : end + 1], 206
        if route.behaviour == "drop" and not head:
            self._drop(body)
            return
        self._send(status, body, head, extra)

    def _send(self, status: int, body: bytes, head: bool, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _drop(self, body: bytes) -> None:
        """Promise all of `body`, deliver half, then close with RST (SO_LINGER 0), not a clean FIN."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        reset_connection(self)

    def _hostile(self, route: Route) -> None:
        """Stall, stay silent, or stream zeros until the client gives up or the server stops."""
        if route.behaviour == "silent":
            self.server.stopping.wait()
            return
        self.send_response(200)
        if route.behaviour == "stall" or route.length is not None:
            self.send_header("Content-Length", str(len(route.body) if route.behaviour == "stall" else route.length))
        self.end_headers()
        if route.behaviour == "stall":
            self._count(route.body[: len(route.body) // 2])
            self.server.stopping.wait()
            return
        chunk, left = bytes(1 << 16), route.length
        while left is None or left > 0:
            piece = chunk if left is None or left >= len(chunk) else chunk[:left]
            if self.server.stopping.is_set() or not self._count(piece):
                break
            left = None if left is None else left - len(piece)
        self.close_connection = True

    def _count(self, data: bytes) -> bool:
        """Send `data`, adding it to the path's `bytes_sent`; False once the client has hung up."""
        try:
            self.wfile.write(data)
        except OSError:  # the client closed the connection: what a bounded reader does
            return False
        with self.server.lock:
            self.server.bytes_sent[self.path] = self.server.bytes_sent.get(self.path, 0) + len(data)
        return True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: `requests` is the log tests read."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a client that keeps a connection open must not block shutdown
    routes: dict[str, Route]
    requests: list[Request]
    bytes_sent: dict[str, int]
    lock: threading.Lock
    stopping: threading.Event


class LoopbackServer:
    """Serve `routes` (path -> `Route`) on an ephemeral 127.0.0.1 port while the context is open.

    `routes` is a live dict: tests may add or replace routes once they know `url(...)`.
    `requests` lists every request received, in arrival order.
    """

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = dict(routes or {})
        self._server.requests = []
        self._server.bytes_sent = {}
        self._server.lock = threading.Lock()
        self._server.stopping = threading.Event()  # releases stalled and silent handlers at exit
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="loopback-http", daemon=True
        )  # a short poll interval: `shutdown` waits for one

    @property
    def routes(self) -> dict[str, Route]:
        return self._server.routes

    @property
    def requests(self) -> list[Request]:
        """A snapshot of the requests so far."""
        with self._server.lock:
            return list(self._server.requests)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` (which starts with "/") on this server."""
        return self.base_url + path

    def bytes_sent(self, path: str) -> int:
        """Body bytes the server managed to send for `path` (all requests), as far as the socket took them."""
        with self._server.lock:
            return self._server.bytes_sent.get(path, 0)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested so far, optionally only those of one method, in order."""
        return [request.path for request in self.requests if method is None or request.method == method]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
