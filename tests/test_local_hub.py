"""The local Hub's front: byte ranges answered as HTTP says, the rest passed through from olah; the link; the counts;
the faults it injects into data-file reads."""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import http.client
import json
import os
import pathlib
import socket
import struct
import time
import urllib.parse
from collections.abc import Iterator

import pytest

import fashion_mnist
from local_hub import (
    COUNTS_PATH,
    PACE_BURST,
    FaultKind,
    Faults,
    Link,
    LocalHub,
    RangeFront,
    StoredObject,
    free_port,
)
from scripts import layout
from tests.conftest import HUB_REPO

SHARD = layout.shard_path(fashion_mnist.NAME, "test", 0, fashion_mnist.NUM_SHARDS["test"])


def request(url: str, method: str = "GET", **headers: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def shard_url(hub: LocalHub, base: str) -> str:
    return f"{base}/datasets/{HUB_REPO}/resolve/{hub.head(HUB_REPO)}/{SHARD}"


def test_olah_alone_ignores_range(local_hub: LocalHub, real_repo: pathlib.Path) -> None:
    """Why the front exists: olah answers a range request with the whole file."""
    status, _, body = request(shard_url(local_hub, local_hub.olah_url), Range="bytes=0-3")

    assert status == 200
    assert body == (real_repo / SHARD).read_bytes()


def test_front_answers_ranges_with_206_and_content_range(local_hub: LocalHub, real_repo: pathlib.Path) -> None:
    content = (real_repo / SHARD).read_bytes()
    url = shard_url(local_hub, local_hub.endpoint)

    for wanted, start, end in (("bytes=0-3", 0, 3), ("bytes=-8", len(content) - 8, len(content) - 1)):
        status, headers, body = request(url, Range=wanted)
        assert status == 206, wanted
        assert headers["Content-Range"] == f"bytes {start}-{end}/{len(content)}"
        assert body == content[start : end + 1]
    assert request(url, Range="bytes=0-3")[2] == b"PAR1"  # where pyarrow looks first: the magic bytes

    status, headers, _ = request(url, Range=f"bytes={len(content)}-")
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(content)}"


def test_front_passes_hub_headers_through(local_hub: LocalHub, real_repo: pathlib.Path) -> None:
    url = f"{local_hub.endpoint}/datasets/{HUB_REPO}/resolve/main/{SHARD}"

    status, headers, body = request(url, method="HEAD")

    assert (status, body) == (200, b"")
    assert headers["X-Repo-Commit"] == local_hub.head(HUB_REPO)
    assert headers["ETag"] == layout.sha256_file(real_repo / SHARD)  # an LFS file's ETag is its SHA-256
    assert headers["Content-Length"] == str((real_repo / SHARD).stat().st_size)


def test_front_rewrites_redirects_to_itself(local_hub: LocalHub) -> None:
    """olah redirects with absolute URLs naming its own port; clients must come back through the front."""
    status, headers, _ = request(f"{local_hub.endpoint}/api/datasets/org/missing/tree/main")

    assert status == 307
    assert headers["Location"] == f"{local_hub.endpoint}/api/datasets/org/missing/tree/main/"


# --- Ranges from the stored object, the link, the counts ------------------------------------

FILE_URL = "/datasets/org/x/resolve/0123456789abcdef0123456789abcdef01234567/data/train-00000-of-00001.parquet"


@pytest.fixture
def lone_front(tmp_path: pathlib.Path) -> Iterator[tuple[RangeFront, bytes]]:
    """A front whose upstream (olah's place) answers nothing: what it serves, it serves from the stored object."""
    content = os.urandom(300_000)
    stored = tmp_path / "object"
    stored.write_bytes(content)
    found = StoredObject(stored, len(content), hashlib.sha256(content).hexdigest(), "0123456789abcdef" * 2 + "01234567")
    with RangeFront(
        f"http://127.0.0.1:{free_port()}", stored_object=lambda path: found if path == FILE_URL else None
    ) as front:
        yield front, content


def test_ranges_are_read_from_the_stored_object_without_olah(lone_front: tuple[RangeFront, bytes]) -> None:
    front, content = lone_front

    status, headers, body = request(front.url + FILE_URL, Range="bytes=1000-1999")

    assert status == 206
    assert body == content[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(content)}"
    assert headers["ETag"] == hashlib.sha256(content).hexdigest()  # as olah says it: the LFS SHA-256
    assert headers["X-Repo-Commit"] == "0123456789abcdef" * 2 + "01234567"
    assert request(front.url + FILE_URL, Range=f"bytes={len(content)}-")[0] == 416


def test_whole_files_are_read_from_the_stored_object_without_olah(lone_front: tuple[RangeFront, bytes]) -> None:
    """As the Hub's CDN sends an LFS file: olah sends one GET at a time through Python, which measured olah."""
    front, content = lone_front

    status, headers, body = request(front.url + FILE_URL)
    head_status, head_headers, head_body = request(front.url + FILE_URL, method="HEAD")

    assert (status, body) == (200, content)
    assert (head_status, head_body, int(head_headers["Content-Length"])) == (200, b"", len(content))
    for answer in (headers, head_headers):  # what huggingface_hub reads of a file's metadata, as olah gives it
        assert answer["ETag"] == hashlib.sha256(content).hexdigest()
        assert answer["X-Repo-Commit"] == "0123456789abcdef" * 2 + "01234567"
    assert request(front.url + FILE_URL.replace("00000", "00001"))[0] == 502  # anything else is olah's, not there


def test_an_archive_is_stored_in_lfs_as_the_hub_stores_it(local_hub: LocalHub, tmp_path: pathlib.Path) -> None:
    """A `.gz` file: the Hub's default `.gitattributes` puts it in LFS, so the front serves it from the object."""
    archive = tmp_path / "train-labels-idx1-ubyte.gz"
    archive.write_bytes(gzip.compress(os.urandom(5_000)))
    local_hub.publish("org/archives", {archive.name: archive})

    stored = local_hub.stored_object(f"/datasets/org/archives/resolve/main/{archive.name}")

    assert stored is not None and stored.path.read_bytes() == archive.read_bytes()


def test_local_hub_finds_the_lfs_object_behind_a_resolve_url(local_hub: LocalHub, real_repo: pathlib.Path) -> None:
    sha = local_hub.head(HUB_REPO)
    for revision in (sha, "main"):
        stored = local_hub.stored_object(f"/datasets/{HUB_REPO}/resolve/{revision}/{SHARD}")
        assert stored is not None, revision
        assert stored.path.read_bytes() == (real_repo / SHARD).read_bytes()
        assert (stored.commit, stored.sha256) == (sha, layout.sha256_file(real_repo / SHARD))

    assert local_hub.stored_object(f"/datasets/{HUB_REPO}/resolve/main/README.md") is None  # kept in git, not LFS
    assert local_hub.stored_object(f"/datasets/{HUB_REPO}/resolve/main/data/missing.parquet") is None
    assert local_hub.stored_object(f"/datasets/{HUB_REPO}/resolve/{'0' * 40}/{SHARD}") is None
    assert local_hub.stored_object(f"/api/datasets/{HUB_REPO}/revision/main") is None


def test_the_link_holds_each_answer_a_round_trip_and_a_new_connection_its_handshake(
    lone_front: tuple[RangeFront, bytes],
) -> None:
    front, _ = lone_front
    front.link = Link(latency=0.1, handshake_round_trips=2)
    parts = urllib.parse.urlsplit(front.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        took = []
        for _ in range(2):
            started = time.monotonic()
            connection.request("GET", FILE_URL, headers={"Range": "bytes=0-9"})
            connection.getresponse().read()
            took.append(time.monotonic() - started)
    finally:
        connection.close()

    assert took[0] >= 0.3  # handshake (2 round trips) + the request's own
    assert took[1] >= 0.1  # the same connection: one round trip
    assert front.counts == {"connections": 1, "GET range": 2}


@pytest.mark.parametrize("shared", [False, True])
def test_the_link_caps_bandwidth_per_connection_or_shared(lone_front: tuple[RangeFront, bytes], shared: bool) -> None:
    front, content = lone_front
    front.link = Link(bytes_per_second=1_000_000, shared_cap=shared)
    wanted = "bytes=0-299999"

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: request(front.url + FILE_URL, Range=wanted), range(2)))
    took = time.monotonic() - started

    assert [body for _, _, body in answers] == [content, content]
    # 2 x 300 kB through one 1 MB/s link, or 300 kB through each of two; less the burst an idle link allows
    assert took >= (0.6 if shared else 0.3) - PACE_BURST


def test_the_counts_are_readable_over_http_and_reset(lone_front: tuple[RangeFront, bytes]) -> None:
    front, _ = lone_front
    request(front.url + FILE_URL, Range="bytes=0-9")
    request(front.url + FILE_URL, method="HEAD")

    status, _, body = request(front.url + COUNTS_PATH)

    assert status == 200
    assert json.loads(body) == {"connections": 2, "GET range": 1, "HEAD file": 1} == front.counts  # not itself
    front.reset_counts()
    assert front.counts == {}


def test_api_reads_at_a_commit_are_asked_of_olah_once(local_hub: LocalHub) -> None:
    """They cannot change; a branch's can, so those go to olah every time. Both pay the link's round trip."""
    sha = local_hub.head(HUB_REPO)
    pinned, moving = (f"{local_hub.endpoint}/api/datasets/{HUB_REPO}/revision/{rev}" for rev in (sha, "main"))
    olah_log = local_hub.root / "olah.log"
    seen = olah_log.read_text().count
    before = {rev: seen(f"/api/datasets/{HUB_REPO}/revision/{rev}") for rev in (sha, "main")}

    answers = [request(url) for url in (pinned, pinned, moving, moving)]

    assert [status for status, _, _ in answers] == [200] * 4
    assert answers[0][2] == answers[1][2] and json.loads(answers[0][2])["sha"] == sha
    seen = olah_log.read_text().count
    assert seen(f"/api/datasets/{HUB_REPO}/revision/{sha}") - before[sha] <= 1
    assert seen(f"/api/datasets/{HUB_REPO}/revision/main") - before["main"] == 2


# --- Faults ------------------------------------------------------------------------------------


def open_answer(
    url: str, timeout: float = 30, **headers: str
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send a GET and read only the status line and headers: the body is the test's to read (or fail to)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.request("GET", parts.path, headers=headers)
    return connection, connection.getresponse()


@pytest.mark.parametrize(("kind", "status"), [(FaultKind.UNAVAILABLE, 503), (FaultKind.RATE_LIMITED, 429)])
def test_refusals_answer_the_status_and_keep_the_connection(
    lone_front: tuple[RangeFront, bytes], kind: FaultKind, status: int
) -> None:
    front, content = lone_front
    front.faults = Faults(kind)
    parts = urllib.parse.urlsplit(front.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        answers = []
        for _ in range(2):  # the same keep-alive connection: the second read is served
            connection.request("GET", FILE_URL, headers={"Range": "bytes=0-9"})
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Retry-After"), response.read()))
    finally:
        connection.close()

    assert answers[0][0] == status
    assert answers[0][1] == ("1" if kind == FaultKind.RATE_LIMITED else None)
    assert answers[1] == (206, None, content[:10])
    assert front.faults_served == 1


@pytest.mark.parametrize("ranged", [True, False])
def test_a_reset_sends_headers_and_part_of_the_body_then_breaks_the_connection(
    lone_front: tuple[RangeFront, bytes], ranged: bool
) -> None:
    front, content = lone_front
    front.faults = Faults(FaultKind.RESET)
    connection, response = open_answer(front.url + FILE_URL, **({"Range": "bytes=0-99999"} if ranged else {}))
    try:
        assert response.status == (206 if ranged else 200)
        with pytest.raises(ConnectionResetError):  # an RST, not a clean close
            response.read()
    finally:
        connection.close()

    assert request(front.url + FILE_URL)[2] == content  # the next read is served whole
    assert front.faults_served == 1


def test_a_stall_outlasts_the_clients_read_timeout_and_ends_in_a_reset(lone_front: tuple[RangeFront, bytes]) -> None:
    front, content = lone_front
    front.faults = Faults(FaultKind.STALL, stall_seconds=2)
    connection, response = open_answer(front.url + FILE_URL, timeout=0.5)
    try:
        assert response.status == 200
        assert response.read(len(content) // 4) == content[: len(content) // 4]  # part of the body came
        with pytest.raises(TimeoutError):  # then nothing, for longer than this client waits
            response.read()
    finally:
        connection.close()

    connection, response = open_answer(front.url + FILE_URL, timeout=30)  # faults armed for one request only
    try:
        assert response.read() == content
    finally:
        connection.close()

    front.faults = Faults(FaultKind.STALL, stall_seconds=0.5)
    connection, response = open_answer(front.url + FILE_URL, timeout=30)  # a patient client: the front gives up first
    try:
        with pytest.raises(ConnectionResetError):  # an RST, not a clean close
            response.read()
    finally:
        connection.close()


def test_faults_number_data_file_reads_only(lone_front: tuple[RangeFront, bytes]) -> None:
    """`first=2, count=2`: the 2nd and 3rd GETs of the Parquet file fail; HEADs and other files are not counted."""
    front, _ = lone_front
    statuses = []
    with front.failing(Faults(FaultKind.UNAVAILABLE, first=2, count=2)):
        for _ in range(4):
            request(front.url + FILE_URL, method="HEAD")
            request(front.url + "/datasets/org/x/resolve/main/README.md")  # olah's place: nothing answers, 502
            statuses.append(request(front.url + FILE_URL, Range="bytes=0-9")[0])
        assert (front.faults_served, front.data_reads) == (2, 4)
    assert statuses == [206, 503, 503, 206]
    assert front.faults is None  # disarmed when the block ends
    assert request(front.url + FILE_URL, Range="bytes=0-9")[0] == 206


def test_faults_from_first_on_fail_every_later_read(lone_front: tuple[RangeFront, bytes]) -> None:
    """`count=None`: a Hub that stays down."""
    front, _ = lone_front
    front.faults = Faults(FaultKind.RATE_LIMITED, first=1, count=None)

    assert [request(front.url + FILE_URL)[0] for _ in range(3)] == [429] * 3
    assert front.faults_served == 3


@pytest.mark.parametrize("arguments", [{"first": 0}, {"count": 0}, {"stall_seconds": 0}, {"stall_seconds": 61}])
def test_faults_refuse_numbers_that_fail_nothing_or_stall_unbounded(arguments: dict) -> None:
    with pytest.raises(ValueError):
        Faults(FaultKind.STALL, **arguments)


def test_a_client_hanging_up_mid_body_is_let_go_quietly(
    lone_front: tuple[RangeFront, bytes], capfd: pytest.CaptureFixture[str]
) -> None:
    """A download given up (a stream's worker stopped, torchvision's mirror loop) is no error of the front's."""
    front, content = lone_front
    front.link = Link(bytes_per_second=200_000)  # 1.5 s for the whole file: the client leaves well before the end
    host, port = urllib.parse.urlsplit(front.url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(f"GET {FILE_URL} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # hang up with a reset
    time.sleep(1.0)  # the front's next write meets the closed connection

    assert request(front.url + FILE_URL)[2] == content  # the front serves on
    assert "Traceback" not in capfd.readouterr().err
