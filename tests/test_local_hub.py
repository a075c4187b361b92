"""The local Hub's Range front: byte ranges answered as HTTP says, everything else passed through from olah."""

from __future__ import annotations

import http.client
import pathlib
import urllib.parse

import fashion_mnist
from scripts import layout
from tests.conftest import HUB_REPO
from tests.local_hub import LocalHub

SHARD = layout.shard_path(fashion_mnist.NAME, "test", 0, 2)


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
