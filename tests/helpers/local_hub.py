"""A Hugging Face Hub on 127.0.0.1 for tests: olah serving git repos, behind a Range-honouring front.

The front can also make the Hub seem far away (`Link`: a round trip per request, a
handshake per new connection, a bandwidth cap per connection or shared) and counts
the requests it answers, so the benchmark can measure first use at internet latency.
It can also fail requests for data files as a Hub or CDN does mid-epoch (`Faults`:
a connection reset mid-body, 503, 429, a stalled body), so tests can see what a
user's stream does then.

No real Hub is reachable from the test machines, and the user paths (`load_dataset`,
streaming, `snapshot_download`, `HfFileSystem`, the push's read of the remote file
list) are only worth testing against a server that speaks the Hub's HTTP API.
`olah` (a self-hosted Hub mirror) does, for plain git repositories in its
`mirrors` directory:

    with LocalHub(tmp_path) as hub:
        hub.publish("org/fashion_mnist", push_to_hub.upload_set(built_repo))
        with clients_pointed_at(hub.endpoint):
            load_dataset("org/fashion_mnist")

Each repo is a git repository whose commits hold exactly the files given to
`publish`. Binary files are stored the way the Hub stores them, as Git LFS pointers
with the content in `.git/lfs/objects` (olah reads that layout), so the file list
reports an LFS SHA-256 for them and a git blob id for the text files, as the Hub does.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import enum
import hashlib
import http.client
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from unittest import mock

import datasets
import huggingface_hub
from huggingface_hub import constants

# The Hub's default .gitattributes for dataset repos stores these in LFS (among others).
LFS_SUFFIXES = (".parquet", ".png", ".gz")
LFS_POINTER_MAX_BYTES = 1024  # a Git LFS pointer is about 130 bytes; a larger blob is the file itself
OLAH_CLI = pathlib.Path(sys.executable).with_name("olah-cli")  # installed beside this interpreter (`test` extra)
START_TIMEOUT = 60.0  # seconds for olah to answer after launch (its imports take a few seconds)
STOP_TIMEOUT = 10.0
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "local-hub",
    "GIT_AUTHOR_EMAIL": "local-hub@127.0.0.1",
    "GIT_COMMITTER_NAME": "local-hub",
    "GIT_COMMITTER_EMAIL": "local-hub@127.0.0.1",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The Range-honouring front ----------------------------------------------------------

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


class _Pacer:
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


class FaultKind(enum.StrEnum):
    """How a data-file request fails: the faults seen from the Hub and its CDN in long streamed runs."""

    RESET = "reset"  # the headers and part of the body, then the connection is reset (TCP RST)
    UNAVAILABLE = "503"  # 503 Service Unavailable, no body to speak of
    RATE_LIMITED = "429"  # 429 Too Many Requests with `Retry-After: 1`
    STALL = "stall"  # the headers and part of the body, then nothing until `stall_seconds` have passed, then a reset


STALL_LIMIT = 60.0  # seconds a stalled answer holds its server thread at most: longer than any client read timeout
RETRY_AFTER_SECONDS = 1


@dataclasses.dataclass(frozen=True)
class Faults:
    """Which data-file requests fail, and how: the `first`-th request after arming and the `count - 1` after it.

    Data-file requests are GETs (ranged or whole) of a `.parquet` file under `/resolve/`: the
    reads a stream makes mid-epoch. `count=None` fails every one from `first` on (a Hub that
    stays down). Numbers count from 1, in the order the front received the requests.
    """

    kind: FaultKind
    first: int = 1
    count: int | None = 1
    stall_seconds: float = STALL_LIMIT

    def __post_init__(self) -> None:
        if self.first < 1 or (self.count is not None and self.count < 1):
            raise ValueError(f"faults number requests from 1 and fail at least one: {self}")
        if not 0 < self.stall_seconds <= STALL_LIMIT:
            raise ValueError(f"a stall lasts more than 0 and at most {STALL_LIMIT:g} s: {self}")

    def hits(self, number: int) -> bool:
        """Whether the `number`-th data-file request since arming fails."""
        return number >= self.first and (self.count is None or number < self.first + self.count)


def is_data_file_read(command: str, url_path: str) -> bool:
    """A GET of a Parquet file of a repo: what `Faults` fail (HEADs, API calls and the card pass)."""
    match = _RESOLVE_URL.match(urllib.parse.urlsplit(url_path).path)
    return command == "GET" and match is not None and match["file"].endswith(".parquet")


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """A file of a repo as the Hub stores it: where its bytes are on disk, and the commit it was resolved at."""

    path: pathlib.Path
    size: int
    sha256: str
    commit: str

    def headers(self) -> list[tuple[str, str]]:
        """What olah says of the file (`X-Repo-Commit`, the LFS SHA-256 as `ETag`), without asking it."""
        return [("X-Repo-Commit", self.commit), ("ETag", self.sha256), ("Accept-Ranges", "bytes")]


COUNTS_PATH = "/_front/counts"  # the front answers it itself: not counted, not delayed


@dataclasses.dataclass(frozen=True)
class _FileSlice:
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
    itself by returning True: `tests.hub_write_front` adds the Hub's write API this way.
    """

    def __init__(
        self,
        upstream: str,
        routes: Callable[[_FrontHandler], bool] | None = None,
        stored_object: StoredObjectFinder | None = None,
    ) -> None:
        self._server = _FrontServer(("127.0.0.1", 0), _FrontHandler)
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
        self._server.shared_pacer = _Pacer(link.bytes_per_second) if link.bytes_per_second and link.shared_cap else None
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


class _FrontServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a client holding a keep-alive connection must not block shutdown
    upstream: urllib.parse.SplitResult
    front_url: str
    routes: Callable[[_FrontHandler], bool] | None
    stored_object: StoredObjectFinder | None
    link: Link
    shared_pacer: _Pacer | None
    counts: collections.Counter[str]
    counts_lock: threading.Lock  # also guards `api_cache` and the faults' numbers
    faults: Faults | None
    data_reads: int  # data-file reads since `faults` was last set
    faults_served: int
    released: threading.Event  # set when the front closes: stalled answers stop waiting
    api_cache: dict[str, tuple[int, list[tuple[str, str]], bytes]]  # API reads at a commit sha -> olah's answer


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _FrontHandler(http.server.BaseHTTPRequestHandler):
    server: _FrontServer
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
        self._own_pacer = _Pacer(link.bytes_per_second) if link.bytes_per_second and not link.shared_cap else None

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
                status, headers, body = _slice(wanted, headers, body)
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

    def _break_off(self, body: bytes | _FileSlice, fault: Faults) -> None:
        """Send half the body announced, stall (bounded) if asked, then reset the connection."""
        half = len(body) // 2
        if isinstance(body, _FileSlice):
            part: bytes | _FileSlice = _FileSlice(body.path, body.start, body.start + half - 1) if half else b""
        else:
            part = body[:half]
        with contextlib.suppress(OSError):  # a client that gave up early: the reset below still ends the request
            self._send_paced(part)
        if fault.kind == FaultKind.STALL:
            self.server.released.wait(fault.stall_seconds)
        self._reset_connection()

    def _reset_connection(self) -> None:
        """Close with a TCP RST (linger 0), not a FIN: the client sees `Connection reset by peer` mid-body."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have closed first
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())  # rfile and wfile still hold the socket object: close the descriptor now

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

    def _send_paced(self, body: bytes | _FileSlice) -> None:
        """Send the body, at the link's pace if it is capped; a file slice goes by `sendfile`, not through Python."""
        pacer = self._own_pacer or self.server.shared_pacer
        step = PACE_CHUNK if pacer else max(len(body), 1)
        with open(body.path, "rb") if isinstance(body, _FileSlice) else contextlib.nullcontext() as file:
            for offset in range(0, len(body), step):
                count = min(step, len(body) - offset)
                if pacer:
                    pacer.wait_for(count)
                if file is None:
                    self.wfile.write(memoryview(body)[offset : offset + count])
                else:
                    self.connection.sendfile(file, body.start + offset, count)

    def _stored_file(self, stored: StoredObject) -> tuple[int, list[tuple[str, str]], _FileSlice]:
        """The whole stored object, as the Hub's CDN sends it, with the headers olah gives a HEAD of the file.

        olah reads the object through Python for every GET and answers parallel GETs one after
        another; a client downloading 16 files at once then measured olah, not the link.
        """
        headers = stored.headers()
        if self.command == "HEAD":
            headers.append(("Content-Length", str(stored.size)))
        return 200, headers, _FileSlice(stored.path, 0, stored.size - 1)

    def _stored_range(self, wanted: str, stored: StoredObject) -> tuple[int, list[tuple[str, str]], bytes | _FileSlice]:
        """Answer the range asked for from the stored object, with the headers olah gives the whole file."""
        bounds = _range_bounds(wanted, stored.size)
        if bounds is None:  # not a single range: olah's whole answer, cut as before
            status, headers, body = self._ask_upstream()
            return _slice(wanted, headers, body) if status == 200 else (status, headers, body)
        if bounds == _UNSATISFIABLE:
            return 416, [("Content-Range", f"bytes */{stored.size}")], b""
        start, end = bounds
        return (
            206,
            [*stored.headers(), ("Content-Range", f"bytes {start}-{end}/{stored.size}")],
            _FileSlice(stored.path, start, end),
        )

    def _ask_upstream(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request on to olah, without Range (olah would ignore it anyway) or hop-by-hop headers."""
        payload = self.body() or None
        skip = _HOP_BY_HOP | {"host", "range", "accept-encoding", "content-length"}
        forwarded = {name: value for name, value in self.headers.items() if name.lower() not in skip}
        upstream = self.server.upstream
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
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


_UNSATISFIABLE = (-1, -1)


def _range_bounds(wanted: str, size: int) -> tuple[int, int] | None:
    """First and last byte of a single `bytes=` range of a `size`-byte file; `_UNSATISFIABLE`; None if not one range."""
    match = _SINGLE_RANGE.match(wanted.strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # a suffix range: the last `last` bytes
        start, end = max(size - int(last), 0), size - 1
    return _UNSATISFIABLE if start >= size or start > end else (start, end)


def _slice(wanted: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer a single `bytes=first-last` range of `body` as HTTP would; other range forms get the whole body."""
    bounds = _range_bounds(wanted, len(body))
    if bounds is None:
        return 200, headers, body
    if bounds == _UNSATISFIABLE:
        return 416, [("Content-Range", f"bytes */{len(body)}")], b""
    start, end = bounds
    return 206, [*headers, ("Content-Range", f"bytes {start}-{end}/{len(body)}")], body[start : end + 1]


# --- The git repositories olah serves ---------------------------------------------------


_RESOLVE_URL = re.compile(
    r"^/(?P<type>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$"
)
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_PINNED_API = re.compile(r"^/api/(datasets|models|spaces)/[^/]+/[^/]+/(revision|tree)/[0-9a-f]{40}(/|\?|$)")
_LFS_POINTER = re.compile(r"^oid sha256:(?P<oid>[0-9a-f]{64})\nsize (?P<size>\d+)$", re.MULTILINE)


def _git(repo: pathlib.Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    environment = {
        **os.environ,
        **GIT_IDENTITY,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **(env or {}),
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=environment, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def _lfs_object(git_dir: pathlib.Path, digest: str) -> pathlib.Path:
    """Where Git LFS (and olah) keep the content whose SHA-256 is `digest`: `.git/lfs/objects/ab/cd/<sha256>`."""
    return git_dir / "lfs" / "objects" / digest[:2] / digest[2:4] / digest


def _lfs_pointer_text(digest: str, size: int) -> bytes:
    """The Git LFS pointer file that stands in the git tree for the content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize {size}\n".encode()


def _lfs_pointer(content_path: pathlib.Path, git_dir: pathlib.Path) -> bytes:
    """Store the file as Git LFS does and return its pointer."""
    digest = hashlib.sha256(content_path.read_bytes()).hexdigest()
    stored = _lfs_object(git_dir, digest)
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(content_path, stored)
    return _lfs_pointer_text(digest, content_path.stat().st_size)


class LocalHub:
    """olah on a free port plus a `RangeFront`; clients use `endpoint` (the front) as HF_ENDPOINT.

    `publish` may be called before or after `start`: olah reads the git repositories on
    every request.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = pathlib.Path(root)
        self.mirrors = self.root / "mirrors"
        self.repos = self.root / "repos"
        self._olah: subprocess.Popen | None = None
        self._front: RangeFront | None = None
        self._port = 0
        self._objects: dict[tuple[pathlib.Path, str, str], StoredObject | None] = {}  # (repo, commit, file) -> object

    @property
    def olah_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def endpoint(self) -> str:
        if self._front is None:
            raise RuntimeError("the local hub is not started")
        return self._front.url

    def publish(
        self, repo_id: str, files: Mapping[str, pathlib.Path], *, branch: str = "main", message: str = "publish"
    ) -> str:
        """Commit exactly `files` (repo path -> local file) as the content of `branch`; return the commit sha."""
        work = self.mirrors / "datasets" / repo_id
        if not work.exists():
            work.mkdir(parents=True)
            _git(work, "init", "-q", "-b", "main")
        if _git(work, "symbolic-ref", "--short", "HEAD") != branch:
            exists = bool(_git(work, "branch", "--list", branch))
            _git(work, "checkout", "-q", *([branch] if exists else ["-b", branch]))
        for entry in work.iterdir():
            if entry.is_dir() and entry.name != ".git":
                shutil.rmtree(entry)
            elif entry.is_file():
                entry.unlink()
        for path, source in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith(LFS_SUFFIXES):
                target.write_bytes(_lfs_pointer(source, work / ".git"))
            else:
                shutil.copyfile(source, target)
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "--allow-empty", "-m", message)
        sha = _git(work, "rev-parse", "HEAD")
        if branch == "main":
            self._write_meta_head(repo_id, sha)
        return sha

    def head(self, repo_id: str, branch: str = "main") -> str:
        """The commit sha `branch` points at."""
        return _git(self.mirrors / "datasets" / repo_id, "rev-parse", f"refs/heads/{branch}")

    def _write_meta_head(self, repo_id: str, sha: str) -> None:
        """olah answers `GET /api/datasets/{repo}` (no revision) for a mirror only from this file; else 401."""
        meta = self.repos / "api" / "datasets" / repo_id / "revision" / "main" / "meta_head.json"
        meta.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC).isoformat()
        meta.write_text(json.dumps({"sha": sha, "lastModified": now}), encoding="utf-8")

    def start(self) -> None:
        """Launch olah and the front; return once olah answers HTTP."""
        self._port = free_port()
        config = self.root / "olah.toml"
        config.write_text(self._config(), encoding="utf-8")
        log = open(self.root / "olah.log", "wb")  # noqa: SIM115 - the child process writes it until stop()
        self._olah = subprocess.Popen(
            [str(OLAH_CLI), "-c", str(config)], cwd=self.root, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._wait_until_up()
        self._front = RangeFront(self.olah_url, self._routes(), self.stored_object)
        self._front.start()

    @property
    def front(self) -> RangeFront:
        """The front clients talk to: set its `link`, read its `counts`."""
        if self._front is None:
            raise RuntimeError("the local hub is not started")
        return self._front

    def stored_object(self, url_path: str) -> StoredObject | None:
        """Where the LFS object behind a `/{type}s/{repo}/resolve/{revision}/{file}` URL lies, if it is one.

        Resolved through git as olah does (revision -> commit -> the file's LFS pointer), so
        a range is read from the same bytes olah would send whole. None for anything else:
        other URLs, files stored in git itself, missing revisions or files.
        """
        match = _RESOLVE_URL.match(urllib.parse.urlsplit(url_path).path)
        if not match:
            return None
        repo = self.mirrors / match["type"] / urllib.parse.unquote(match["repo"])
        revision, file = urllib.parse.unquote(match["revision"]), urllib.parse.unquote(match["file"])
        if not (repo / ".git").is_dir():
            return None
        try:
            # A commit sha names itself (HfFileSystem reads ranges at one); a branch is looked up each time: it moves.
            commit = (
                revision
                if _COMMIT_SHA.match(revision)
                else _git(repo, "rev-parse", "--verify", f"{revision}^{{commit}}")
            )
            key = (repo, commit, file)
            if key not in self._objects:
                self._objects[key] = self._lfs_object_of(repo, commit, file)
        except subprocess.CalledProcessError:
            return None
        return self._objects[key]

    @staticmethod
    def _lfs_object_of(repo: pathlib.Path, commit: str, file: str) -> StoredObject | None:
        if int(_git(repo, "cat-file", "-s", f"{commit}:{file}")) > LFS_POINTER_MAX_BYTES:
            return None  # stored in git itself, perhaps binary: not a pointer to read as text
        pointer = _git(repo, "cat-file", "-p", f"{commit}:{file}")
        match = _LFS_POINTER.search(pointer)
        if not match:
            return None
        stored = _lfs_object(repo / ".git", match["oid"])
        return StoredObject(stored, int(match["size"]), match["oid"], commit) if stored.is_file() else None

    def _routes(self) -> Callable[[_FrontHandler], bool] | None:
        """Extra routes the front answers itself (none: a read-only Hub)."""
        return None

    def _config(self) -> str:
        # `offline = true`: with it false, olah asks huggingface.co first and every mirror request is a 504.
        return (
            "[basic]\n"
            'host = "127.0.0.1"\n'
            f"port = {self._port}\n"
            f'repos-path = "{self.repos}"\n'
            f'mirrors-path = ["{self.mirrors}"]\n'
            'mirror-scheme = "http"\n'
            f'mirror-netloc = "127.0.0.1:{self._port}"\n'
            f'mirror-lfs-netloc = "127.0.0.1:{self._port}"\n'
            "[accessibility]\n"
            "offline = true\n"
        )

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._olah is not None and self._olah.poll() is not None:
                raise RuntimeError(f"olah exited with {self._olah.returncode}; see {self.root / 'olah.log'}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=2)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"olah did not answer within {START_TIMEOUT:.0f} s; see {self.root / 'olah.log'}")

    def stop(self) -> None:
        """Stop the front and olah (terminate, then kill if it has not exited in time)."""
        if self._front is not None:
            self._front.close()
            self._front = None
        if self._olah is not None:
            self._olah.terminate()
            try:
                self._olah.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._olah.kill()
                self._olah.wait(STOP_TIMEOUT)
            self._olah = None

    def __enter__(self) -> LocalHub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


# --- Pointing clients at it -------------------------------------------------------------


@contextlib.contextmanager
def clients_pointed_at(endpoint: str) -> Iterator[None]:
    """Make huggingface_hub, datasets and child processes use `endpoint` as the Hub, until the block ends.

    Both libraries copy HF_ENDPOINT into module constants when first imported, which in a
    test session is long before a local Hub has a port; so the constants are patched as
    well as the environment (which subprocesses read when they import the libraries).
    """
    host = urllib.parse.urlsplit(endpoint).hostname
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, {"HF_ENDPOINT": endpoint}))
        for owner, name, value in (
            (constants, "ENDPOINT", endpoint),
            (constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"),
            (constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {host}),
            (datasets.config, "HF_ENDPOINT", endpoint),
            (datasets.config, "HUB_DATASETS_URL", endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}"),
        ):
            stack.enter_context(mock.patch.object(owner, name, value))
        huggingface_hub.HfFileSystem.clear_instance_cache()  # instances remember the endpoint they were made with
        yield
    huggingface_hub.HfFileSystem.clear_instance_cache()
