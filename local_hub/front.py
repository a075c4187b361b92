"""The local Hub's front: a loopback proxy before olah that honours `Range`, shapes the link and injects faults.

It can make the Hub seem far away (`Link`: a round trip per request, a handshake per new
connection, a bandwidth cap per connection or shared) and counts the requests it answers,
so the benchmark can measure first use at internet latency. It can also fail requests for
data files as a Hub or CDN does mid-epoch (`Faults`), so tests can see what a user's
stream does then. `range_bounds` and `reset_connection` are the one parse of a `Range`
header and the one TCP reset of this project's loopback servers.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.client
import http.server
import json
import os
import pathlib
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from types import TracebackType

from local_hub.faults import RETRY_AFTER_SECONDS, FaultKind, Faults, is_data_file_read
from local_hub.storage import StoredObject

STOP_TIMEOUT = 10.0
UPSTREAM_TIMEOUT = 60.0

PACE_CHUNK = 64 * 1024  # bytes sent between two looks at the bandwidth cap
PACE_BURST = 0.05  # seconds of idle link a late sender may still use


@dataclasses.dataclass(frozen=True)
class Link:
    """How far away the Hub seems to its clients: what a request over the internet costs.

    `latency` is one round trip, held before each answer; a new connection first pays
    `handshake_round_trips` more (TCP and TLS 1.3: 2). `bytes_per_second` caps the bodies
    the front sends: per connection (a server or a long fat pipe limits each TCP stream), or
    with `shared_cap` for all connections together (the user's own link). The default is
    loopback: no delay, no cap.
    """

    latency: float = 0.0
    handshake_round_trips: int = 2
    bytes_per_second: float | None = None
    shared_cap: bool = False


class Pacer:
    """Sends at most `rate` bytes a second through whoever shares it: a token bucket holding `burst` seconds.

    The bucket lets a sender that wakes late (a busy machine schedules threads late) use the
    time the link sat idle, as a real link's queue would, up to `burst`; without it, many
    paced connections on a loaded machine would get less than the rate between them.
    """

    def __init__(self, rate: float, burst: float = PACE_BURST) -> None:
        self._rate = rate
        self._burst = burst
        self._free_at = 0.0
        self._lock = threading.Lock()

    def wait_for(self, num_bytes: int) -> None:
        with self._lock:
            start = max(self._free_at, time.monotonic() - self._burst)
            self._free_at = start + num_bytes / self._rate
            done_at = self._free_at
        time.sleep(max(0.0, done_at - time.monotonic()))


COUNTS_PATH = "/_front/counts"  # the front answers it itself: not counted, not delayed


@dataclasses.dataclass(frozen=True)
class FileSlice:
    """Bytes `start` to `end` (inclusive) of a file, sent without reading them into Python."""

    path: pathlib.Path
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1


StoredObjectFinder = Callable[[str], "StoredObject | None"]


class RangeFront:
    """A loopback HTTP proxy in front of olah that answers `Range` requests with 206, as the Hub does.

    Why it exists: olah ignores `Range` on files of its git mirrors and sends the whole
    file with 200. `datasets` streaming reads Parquet through `HfFileSystem`, which asks
    for byte ranges (the footer first) and takes the body as the range it asked for, so
    pyarrow finds no footer ("Parquet magic bytes not found in footer"). The real Hub
    honours ranges; this front makes the local Hub do the same: for a GET with a single
    `bytes=` range of a file that `stored_object` can find on disk (an LFS object), it
    sends just that slice, with olah's headers for the file and a `Content-Range`; other
    ranges are cut from olah's whole answer. A HEAD or a whole GET of such a file is
    answered from the object too, as the Hub's CDN would: olah reads each file through
    Python and answers parallel downloads one after another. Every other request
    passes through unchanged, headers included (`X-Repo-Commit`, `ETag`, `Location`, ...),
    with absolute URLs naming olah's address rewritten to the front's, so redirects come
    back here.

    `link` (settable at any time) makes the Hub seem far away; `counts` holds how many
    requests of each kind the front has answered since `reset_counts()`.

    `routes`, if given, sees every request first (`routes(handler)`) and answers it
    itself by returning True: `local_hub.write_api` adds the Hub's write API this way.
    """

    def __init__(
        self,
        upstream: str,
        routes: Callable[[FrontHandler], bool] | None = None,
        stored_object: StoredObjectFinder | None = None,
    ) -> None:
        self._server = FrontServer(("127.0.0.1", 0), FrontHandler)
        self._server.upstream = urllib.parse.urlsplit(upstream)
        self._server.routes = routes
        self._server.stored_object = stored_object
        self._server.front_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.counts = collections.Counter()
        self._server.api_cache = {}
        self._server.counts_lock = threading.Lock()
        self._server.faults = None
        self._server.data_reads = 0
        self._server.faults_served = 0
        self._server.released = threading.Event()
        self.link = Link()
        self._thread = threading.Thread(target=self._server.serve_forever, name="range-front", daemon=True)

    @property
    def url(self) -> str:
        return self._server.front_url

    @property
    def link(self) -> Link:
        return self._server.link

    @link.setter
    def link(self, link: Link) -> None:
        self._server.shared_pacer = Pacer(link.bytes_per_second) if link.bytes_per_second and link.shared_cap else None
        self._server.link = link

    @property
    def counts(self) -> collections.Counter[str]:
        """Since the last reset: requests by kind (`HEAD file`, `GET range`, `GET api`, ...) and `connections`."""
        with self._server.counts_lock:
            return collections.Counter(self._server.counts)

    def reset_counts(self) -> None:
        with self._server.counts_lock:
            self._server.counts.clear()

    @property
    def faults(self) -> Faults | None:
        return self._server.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        """Arm `faults` (None: disarm); the data-file reads are numbered (and `data_reads` counted) from here on."""
        with self._server.counts_lock:
            self._server.faults = faults
            self._server.data_reads = 0
            self._server.faults_served = 0

    @property
    def data_reads(self) -> int:
        """Data-file reads (GETs of Parquet files) since `faults` was last set: where to put a fault mid-epoch."""
        with self._server.counts_lock:
            return self._server.data_reads

    @property
    def faults_served(self) -> int:
        """How many requests the armed `faults` have failed so far: a test checks its fault did happen."""
        with self._server.counts_lock:
            return self._server.faults_served

    @contextlib.contextmanager
    def failing(self, faults: Faults) -> Iterator[RangeFront]:
        """Arm `faults` for the block, disarm after it (also when it raises)."""
        self.faults = faults
        try:
            yield self
        finally:
            self.faults = None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.released.set()  # a stalled answer gives up now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)

    def __enter__(self) -> RangeFront:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class FrontServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a client holding a keep-alive connection must not block shutdown
    upstream: urllib.parse.SplitResult
    front_url: str
    routes: Callable[[FrontHandler], bool] | None
    stored_object: StoredObjectFinder | None
    link: Link
    shared_pacer: Pacer | None
    counts: collections.Counter[str]
    counts_lock: threading.Lock  # also guards `api_cache` and the faults' numbers
    faults: Faults | None
    data_reads: int  # data-file reads since `faults` was last set
    faults_served: int
    released: threading.Event  # set when the front closes: stalled answers stop waiting
    api_cache: dict[str, tuple[int, list[tuple[str, str]], bytes]]  # API reads at a commit sha -> olah's answer

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A client that hangs up mid-body (a download given up, a stream's worker stopped) is not the front's
        error: it is let go quietly; anything else is printed as `socketserver` does."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_PINNED_API = re.compile(r"^/api/(datasets|models|spaces)/[^/]+/[^/]+/(revision|tree)/[0-9a-f]{40}(/|\?|$)")


class FrontHandler(http.server.BaseHTTPRequestHandler):
    server: FrontServer
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries its Content-Length

    def do_GET(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def body(self) -> bytes:
        """The request body, read once (`Content-Length` or chunked transfer encoding)."""
        if self._body is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                self._body = b"".join(chunks)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(length) if length else b""
        return self._body

    def setup(self) -> None:
        """A new connection: it pays the link's handshake with its first answer, and its own bandwidth cap."""
        super().setup()
        link = self.server.link
        self._handshake_due = True  # and is counted with its first request
        self._own_pacer = Pacer(link.bytes_per_second) if link.bytes_per_second and not link.shared_cap else None

    def _relay(self) -> None:
        self._body: bytes | None = None
        if self.path == COUNTS_PATH:
            self._answer_counts()
            return
        self._count()
        self._wait_like_the_link()
        if self.server.routes is not None and self.server.routes(self):
            return
        fault = self._armed_fault()
        if fault is not None and fault.kind in (FaultKind.UNAVAILABLE, FaultKind.RATE_LIMITED):
            self._refuse(fault.kind)
            return
        wanted = self.headers.get("Range") if self.command == "GET" else None
        reads = self.command in ("GET", "HEAD") and self.server.stored_object is not None
        stored = self.server.stored_object(self.path) if reads else None
        if stored is not None:
            status, headers, body = self._stored_range(wanted, stored) if wanted else self._stored_file(stored)
        elif self.command == "GET" and _PINNED_API.match(self.path):
            status, headers, body = self._pinned_api_answer()
        else:
            status, headers, body = self._ask_upstream()
            if wanted and status == 200:
                status, headers, body = slice_body(wanted, headers, body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value.replace(self._upstream_url(), self.server.front_url))
        if self.command != "HEAD":  # a HEAD answer keeps olah's Content-Length of the file
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault is not None:
            self._break_off(body, fault)
        elif self.command != "HEAD":
            self._send_paced(body)

    def _armed_fault(self) -> Faults | None:
        """The armed faults if this request is a data-file read whose number they hit, else None."""
        if not is_data_file_read(self.command, self.path):
            return None
        with self.server.counts_lock:
            self.server.data_reads += 1
            faults = self.server.faults
            if faults is None or not faults.hits(self.server.data_reads):
                return None
            self.server.faults_served += 1
            return faults

    def _refuse(self, fault: FaultKind) -> None:
        """A 503, or a 429 with `Retry-After`, as the Hub sends them; the connection stays usable."""
        retry_after = [("Retry-After", str(RETRY_AFTER_SECONDS))]
        status, extra = (503, []) if fault == FaultKind.UNAVAILABLE else (429, retry_after)
        body = f"local hub front: injected {status}".encode()
        self.send_response(status)
        for name, value in [("Content-Type", "text/plain"), *extra, ("Content-Length", str(len(body)))]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _break_off(self, body: bytes | FileSlice, fault: Faults) -> None:
        """Send half the body announced, stall (bounded) if asked, then reset the connection."""
        half = len(body) // 2
        if isinstance(body, FileSlice):
            part: bytes | FileSlice = FileSlice(body.path, body.start, body.start + half - 1) if half else b""
        else:
            part = body[:half]
        with contextlib.suppress(OSError):  # a client that gave up early: the reset below still ends the request
            self._send_paced(part)
        if fault.kind == FaultKind.STALL:
            self.server.released.wait(fault.stall_seconds)
        reset_connection(self)

    def _pinned_api_answer(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """olah's answer to an API read at a commit sha, asked once: it cannot change, and olah takes 50-100 ms of
        CPU to list a tree (git runs per call) where the Hub takes a few ms. The link's delay is still paid."""
        with self.server.counts_lock:
            cached = self.server.api_cache.get(self.path)
        if cached is None:
            cached = self._ask_upstream()
            if cached[0] == 200:
                with self.server.counts_lock:
                    self.server.api_cache[self.path] = cached
        return cached

    def _answer_counts(self) -> None:
        """The counts so far, as JSON: a client in another process can take them before and after a run of its own."""
        with self.server.counts_lock:
            body = json.dumps(self.server.counts).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _count(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        kind = "api" if path.startswith("/api/") else "file" if "/resolve/" in path else "other"
        if kind == "file" and self.command == "GET" and self.headers.get("Range"):
            kind = "range"
        with self.server.counts_lock:
            self.server.counts[f"{self.command} {kind}"] += 1
            self.server.counts["connections"] += self._handshake_due

    def _wait_like_the_link(self) -> None:
        """Hold the answer for a round trip, and for the handshake's round trips on a connection's first request."""
        link = self.server.link
        round_trips = 1 + (link.handshake_round_trips if self._handshake_due else 0)
        self._handshake_due = False
        if link.latency:
            time.sleep(round_trips * link.latency)

    def _send_paced(self, body: bytes | FileSlice) -> None:
        """Send the body, at the link's pace if it is capped; a file slice goes by `sendfile`, not through Python."""
        pacer = self._own_pacer or self.server.shared_pacer
        step = PACE_CHUNK if pacer else max(len(body), 1)
        with open(body.path, "rb") if isinstance(body, FileSlice) else contextlib.nullcontext() as file:
            for offset in range(0, len(body), step):
                count = min(step, len(body) - offset)
                if pacer:
                    pacer.wait_for(count)
                if file is None:
                    self.wfile.write(memoryview(body)[offset : offset + count])
                else:
                    self.connection.sendfile(file, body.start + offset, count)

    def _stored_file(self, stored: StoredObject) -> tuple[int, list[tuple[str, str]], FileSlice]:
        """The whole stored object, as the Hub's CDN sends it, with the headers olah gives a HEAD of the file.

        olah reads the object through Python for every GET and answers parallel GETs one after
        another; a client downloading 16 files at once then measured olah, not the link.
        """
        headers = stored.headers()
        if self.command == "HEAD":
            headers.append(("Content-Length", str(stored.size)))
        return 200, headers, FileSlice(stored.path, 0, stored.size - 1)

    def _stored_range(self, wanted: str, stored: StoredObject) -> tuple[int, list[tuple[str, str]], bytes | FileSlice]:
        """Answer the range asked for from the stored object, with the headers olah gives the whole file."""
        bounds = range_bounds(wanted, stored.size)
        if bounds is None:  # not a single range: olah's whole answer, cut as before
            status, headers, body = self._ask_upstream()
            return slice_body(wanted, headers, body) if status == 200 else (status, headers, body)
        if bounds == UNSATISFIABLE:
            return 416, [("Content-Range", f"bytes */{stored.size}")], b""
        start, end = bounds
        return (
            206,
            [*stored.headers(), ("Content-Range", f"bytes {start}-{end}/{stored.size}")],
            FileSlice(stored.path, start, end),
        )

    def _ask_upstream(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request on to olah, without Range (olah would ignore it anyway) or hop-by-hop headers."""
        payload = self.body() or None
        skip = _HOP_BY_HOP | {"host", "range", "accept-encoding", "content-length"}
        forwarded = {name: value for name, value in self.headers.items() if name.lower() not in skip}
        upstream = self.server.upstream
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=UPSTREAM_TIMEOUT)
        try:
            connection.request(self.command, self.path, body=payload, headers=forwarded)
            response = connection.getresponse()
            body = response.read()
        except OSError as error:
            message = f"local hub front: olah at {self._upstream_url()} failed: {error}".encode()
            return 502, [("Content-Type", "text/plain")], message
        finally:
            connection.close()
        kept = [(n, v) for n, v in response.getheaders() if n.lower() not in _HOP_BY_HOP | {"content-length"}]
        if self.command == "HEAD" and response.getheader("Content-Length"):
            kept.append(("Content-Length", response.getheader("Content-Length")))
        return response.status, kept, body

    def _upstream_url(self) -> str:
        return f"{self.server.upstream.scheme}://{self.server.upstream.netloc}"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: olah keeps its own access log."""


UNSATISFIABLE = (-1, -1)


def range_bounds(wanted: str, size: int) -> tuple[int, int] | None:
    """First and last byte of a single `bytes=` range of a `size`-byte file; `UNSATISFIABLE`; None if not one range."""
    match = _SINGLE_RANGE.match(wanted.strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # a suffix range: the last `last` bytes
        start, end = max(size - int(last), 0), size - 1
    return UNSATISFIABLE if start >= size or start > end else (start, end)


def slice_body(wanted: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer a single `bytes=first-last` range of `body` as HTTP would; other range forms get the whole body."""
    bounds = range_bounds(wanted, len(body))
    if bounds is None:
        return 200, headers, body
    if bounds == UNSATISFIABLE:
        return 416, [("Content-Range", f"bytes */{len(body)}")], b""
    start, end = bounds
    return 206, [*headers, ("Content-Range", f"bytes {start}-{end}/{len(body)}")], body[start : end + 1]


def reset_connection(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Close with a TCP RST (linger 0), not a FIN: the client sees `Connection reset by peer` mid-body."""
    handler.close_connection = True
    with contextlib.suppress(OSError):  # the client may have closed first
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(handler.connection.detach())  # rfile and wfile still hold the socket object: close the descriptor now
