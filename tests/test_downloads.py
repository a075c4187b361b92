"""Hostile sources, through the real builder and its real download path: each fault is served on 127.0.0.1.

A stalled or silent mirror must cost one short timeout and send the build to the next source;
an oversized or endless body and a gzip bomb must cost no more than an honest copy (bytes read
from the server, disk, and peak memory in a child process under RLIMIT_AS); a data_dir is the
only source unless the caller asks for fallback. Timeouts are set short here; the defaults are
measured by hand (see the report in the branch history), not in a timed test.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import numpy as np
import pytest

import fashion_mnist
from fashion_mnist import ArchiveTooLargeError, DownloadTimeoutError, FashionMnist, NoValidSourceError
from tests.helpers import synthetic
from tests.helpers.loopback import LoopbackServer, Route
from tests.test_fashion_mnist import (
    FILENAMES,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    SyntheticBuild,
    assert_dataset_equals,
    make_builder,
    publish,
    warnings_of,
)

SHORT = {"connect_timeout": 1.0, "read_timeout": 0.5, "download_deadline": 5.0}
# What the socket buffers between the server and a reader that stopped can hold: a reader that
# stopped at the limit has let the server send at most this much more.
SOCKET_BUFFERS = 16 << 20
BOMB_SIZE = 4 << 30
PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as loopback:
        yield loopback


@pytest.fixture
def synthetic_build(synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path) -> SyntheticBuild:
    return SyntheticBuild.of(synthetic_archives, tmp_path / "cache")


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """4 GiB of zeros in a valid gzip file of about 4 MB."""
    return synthetic.zero_bomb(BOMB_SIZE)


def limit_of(table: tuple, name: str) -> int:
    return next(a for a in table if a.filename == name).gz_limit()


# --- Time: stalled, silent, unreachable ------------------------------------------------------


@pytest.mark.parametrize("fault", ["stall", "silent"])
def test_stalled_or_silent_mirror_falls_through_in_one_timeout(
    fault: str, synthetic_build: SyntheticBuild, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    files = synthetic_build.files
    route = Route.stall_mid_body(files[TRAIN_IMAGES]) if fault == "stall" else Route.silent()
    first = publish(server, "/bad/", {**files, TRAIN_IMAGES: route})
    second = publish(server, "/good/", files)
    builder = synthetic_build.builder(mirrors=[first, second], **SHORT)
    started = time.monotonic()  # the download alone: why this test takes `builder`, not `build`
    builder.download_and_prepare()
    elapsed = time.monotonic() - started

    assert_dataset_equals(builder.as_dataset(), synthetic_build.expected)
    assert builder.served_by[TRAIN_IMAGES] == f"mirror {second}"
    assert elapsed < 8, f"falling through one {fault} mirror took {elapsed:.1f} s"
    [warning] = warnings_of(caplog)
    got = "after 0 bytes" if fault == "silent" else f"after {len(files[TRAIN_IMAGES]) // 2:,} bytes"
    assert warning.startswith(f"{TRAIN_IMAGES} from mirror {first}: {first}{TRAIN_IMAGES} sent nothing for 0.5 s")
    assert got in warning and "trying the next source" in warning


def test_unreachable_mirror_times_out_connecting(server: LoopbackServer) -> None:
    """A listener whose accept queue is full drops the SYN: the connect timeout is what ends the wait."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        while True:  # fill the accept queue until a connect hangs: that is what the builder meets
            try:
                fillers.append(socket.create_connection(("127.0.0.1", port), timeout=0.3))
            except TimeoutError:
                break
            assert len(fillers) < 8, "the listener keeps accepting; cannot make an unreachable port"
        try:
            started = time.monotonic()
            with pytest.raises(DownloadTimeoutError, match=r"sent nothing for 1 s while connecting"):
                fashion_mnist.download_bounded(
                    f"http://127.0.0.1:{port}/a.gz", 1000, "a.gz from mirror X", connect_timeout=1.0,
                    read_timeout=5.0, deadline=30.0,
                )  # fmt: skip
            assert time.monotonic() - started < 4
        finally:
            for filler in fillers:
                filler.close()


def test_deadline_ends_a_body_that_keeps_coming(server: LoopbackServer) -> None:
    """A body that never pauses long enough for the idle timeout still stops at the per-archive deadline."""
    url = publish(server, "/endless/", {"a.gz": Route.zeros(None)}) + "a.gz"
    started = time.monotonic()
    with pytest.raises(DownloadTimeoutError, match=r"took over 0\.3 s \(download_deadline\)"):
        fashion_mnist.download_bounded(
            url, 1 << 40, "a.gz from mirror X", connect_timeout=1.0, read_timeout=1.0, deadline=0.3
        )
    assert time.monotonic() - started < 3


# --- Size: bodies, files and decompression ----------------------------------------------------


@pytest.mark.parametrize("announced", [True, False], ids=["content_length_2GiB", "endless_no_length"])
def test_oversized_body_is_cut_and_the_next_mirror_serves(
    announced: bool, synthetic_build: SyntheticBuild, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    files = synthetic_build.files
    route = Route.zeros(2 << 30 if announced else None)
    first = publish(server, "/big/", {**files, TRAIN_IMAGES: route})
    second = publish(server, "/good/", files)
    synthetic_build.build(mirrors=[first, second], **SHORT)

    limit = limit_of(synthetic_build.table, TRAIN_IMAGES)
    sent = server.bytes_sent(f"/big/{TRAIN_IMAGES}")
    assert sent <= limit + SOCKET_BUFFERS, f"the server sent {sent:,} bytes for an archive of at most {limit:,}"
    [warning] = warnings_of(caplog)
    found = f"announces {2 << 30:,} bytes" if announced else f"sent over {limit:,} bytes"
    assert f"{TRAIN_IMAGES} from mirror {first}: {first}{TRAIN_IMAGES} {found}, larger than the archive" in warning
    assert f"at most {limit:,} bytes" in warning
    downloads = sum(path.stat().st_size for path in (synthetic_build.cache_dir / "downloads").iterdir())
    assert downloads == sum(len(data) for data in files.values())  # only the good copies were kept


def test_oversized_local_file_is_refused_unread(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> None:
    directory, table = synthetic_archives
    big = directory / TRAIN_LABELS
    with big.open("wb") as file:  # sparse: 2 GiB that cost no disk
        file.truncate(2 << 30)
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(tmp_path / "cache", table, data_dir=directory).download_and_prepare()
    [error] = excinfo.value.exceptions
    assert isinstance(error, ArchiveTooLargeError)
    limit = limit_of(table, TRAIN_LABELS)
    assert str(error).startswith(
        f"{TRAIN_LABELS} from data_dir {directory}: {big} is {2 << 30:,} bytes, larger than the archive can be "
        f"(at most {limit:,} bytes"
    )
    assert "download" not in str(error)


def test_small_gzip_bomb_in_data_dir_stops_at_the_idx_size(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> None:
    """A bomb small enough to pass the file-size check (64 MiB of zeros in 65 KB) is stopped while decompressing."""
    directory, table = synthetic_archives
    (directory / TRAIN_IMAGES).write_bytes(synthetic.zero_bomb(64 << 20))
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(tmp_path / "cache", table, data_dir=directory).download_and_prepare()
    [error] = excinfo.value.exceptions
    archive = next(a for a in table if a.filename == TRAIN_IMAGES)
    limit = archive.raw_num_bytes + fashion_mnist.RAW_SLACK
    assert isinstance(error, ArchiveTooLargeError)
    assert str(error).startswith(
        f"{TRAIN_IMAGES} from data_dir {directory}: decompresses to more than {limit:,} bytes, larger than the "
        f"archive can be ({archive.num_examples:,} images, an IDX file of {archive.raw_num_bytes:,} bytes)"
    )


def test_gunzip_bounded_reads_multi_member_gzip() -> None:
    raw = bytes(range(256)) * 100
    two_members = synthetic.gzip_bytes(raw[:1000]) + synthetic.gzip_bytes(raw[1000:])
    assert fashion_mnist.gunzip_bounded(two_members, len(raw), "WHERE") == raw
    with pytest.raises(ArchiveTooLargeError, match=r"^WHERE: decompresses to more than 25,599 bytes"):
        fashion_mnist.gunzip_bounded(two_members, len(raw) - 1, "WHERE")


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    import datasets, fashion_mnist
    first, second, cache = sys.argv[1:4]
    builder = fashion_mnist.FashionMnist(cache_dir=cache, mirrors=[first, second], system_dirs=[], read_timeout=5.0)
    manager = datasets.DownloadManager(download_config=datasets.DownloadConfig(cache_dir=cache + "/downloads"))
    builder._split_generators(manager)  # fetch and verify the four archives, as download_and_prepare does
    # VmHWM, this process's own peak: getrusage's ru_maxrss starts from the forking parent's (pytest's) peak.
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"served_by": builder.served_by, "maxrss_kib": peak}))
    """
)


def test_real_archives_past_a_bomb_and_huge_bodies_under_a_2_gib_address_space(
    real_archives: pathlib.Path, bomb: bytes, server: LoopbackServer, tmp_path: pathlib.Path
) -> None:
    """The hostile mirror serves a 4 GiB bomb, a 2 GiB body and an endless one; the build, capped at 2 GiB of
    address space, falls through each to the good mirror with a peak RSS near an honest build's."""
    real = {name: (real_archives / name).read_bytes() for name in FILENAMES}
    hostile = {
        TRAIN_IMAGES: Route.serve(bomb),
        TRAIN_LABELS: Route.zeros(2 << 30),
        "t10k-images-idx3-ubyte.gz": Route.zeros(None),
    }
    first = publish(server, "/hostile/", {**real, **hostile})
    second = publish(server, "/good/", real)
    cache = tmp_path / "cache"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, first, second, str(cache)],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
        env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["served_by"] == {
        **{name: f"mirror {second}" for name in hostile},
        "t10k-labels-idx1-ubyte.gz": f"mirror {first}",
    }
    peak = report["maxrss_kib"] * 1024
    assert peak < 700 << 20, f"peak RSS {peak:,} bytes"
    for name in (TRAIN_LABELS, "t10k-images-idx3-ubyte.gz"):
        limit = next(a for a in fashion_mnist.ARCHIVES if a.filename == name).gz_limit()
        assert server.bytes_sent(f"/hostile/{name}") <= limit + SOCKET_BUFFERS
    assert "decompresses to more than" in result.stderr and str(BOMB_SIZE) not in result.stderr
    on_disk = sum(path.stat().st_size for path in (cache / "downloads").iterdir())
    assert on_disk == sum(len(data) for data in real.values())


# --- data_dir is a local source, not a hint --------------------------------------------------


def test_bad_data_dir_file_does_not_go_to_the_mirrors(synthetic_build: SyntheticBuild, server: LoopbackServer) -> None:
    directory = synthetic_build.directory
    (directory / TRAIN_LABELS).write_bytes(b"not gzip")
    mirror = publish(server, "/m/", synthetic_build.files)
    with pytest.raises(NoValidSourceError) as excinfo:
        synthetic_build.builder(data_dir=directory, mirrors=[mirror]).download_and_prepare()
    assert server.requests == []
    message = str(excinfo.value)
    assert f"{TRAIN_LABELS} from data_dir {directory}: expected a complete gzip file" in message
    assert "fallback_to_mirrors=True" in message and "--fallback-to-mirrors" in message


def test_fallback_to_mirrors_when_asked(synthetic_build: SyntheticBuild, server: LoopbackServer) -> None:
    directory = synthetic_build.directory
    (directory / TRAIN_LABELS).unlink()
    mirror = publish(server, "/m/", synthetic_build.files)
    builder = synthetic_build.builder(data_dir=directory, mirrors=[mirror], fallback_to_mirrors=True)
    builder.download_and_prepare()
    assert builder.served_by[TRAIN_LABELS] == f"mirror {mirror}"
    assert server.paths() == [f"/m/{TRAIN_LABELS}"]
    labels = builder.as_dataset()["train"].with_format("numpy")["label"][:]
    np.testing.assert_array_equal(labels, synthetic.make_arrays()[TRAIN_LABELS])


def test_memory_error_is_not_relabelled(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, table = synthetic_archives

    def out_of_memory(*args: object, **kwargs: object) -> bytes:
        raise MemoryError

    monkeypatch.setattr(fashion_mnist, "gunzip_bounded", out_of_memory)
    with pytest.raises(MemoryError):
        FashionMnist(
            cache_dir=str(tmp_path / "cache"), data_dir=str(directory), archives=table, system_dirs=[], mirrors=[]
        ).download_and_prepare()
