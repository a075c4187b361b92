"""Tests of `fashion_mnist.py`: the builder end to end, where it takes the archives from, and every check.

Synthetic archives (`tests/helpers/synthetic.py`) drive the real builder in milliseconds. Mirrors are
played by a server on 127.0.0.1 (`tests/helpers/loopback.py`) and reached through the builder's real
download path (its bounded urllib fetcher and the downloads cache), so caching and the refusal
to cache bad copies are the production ones. Hostile sources (stalls, silence, endless bodies,
gzip bombs) are in `tests/test_downloads.py`. One module-scoped build checks the real archives.

Expected values are derived from the inputs the tests make (or, for the real data, from the
published facts: split sizes, class balance, label names), never from the builder.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.client
import io
import logging
import pathlib
import struct
import urllib.error
from collections.abc import Callable, Iterator, Sequence

import datasets
import numpy as np
import pytest
from PIL import Image

import fashion_mnist
from fashion_mnist import (
    ArchiveCorruptError,
    ArchiveMismatchError,
    CountMismatchError,
    DownloadError,
    FashionMnist,
    IdxLengthError,
    IdxMagicError,
    IdxShapeError,
    LabelRangeError,
    NoValidSourceError,
    SourceNotFoundError,
    encode_png,
    parse_idx,
)
from tests.helpers import synthetic
from tests.helpers.loopback import LoopbackServer, Route
from tests.helpers.synthetic import read_idx_gz

# The published label names, in label order (upstream spelling).
LABEL_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
SPLITS = ["train", "test"]  # in the order the builder must produce them
REAL_SIZES = {"train": 60_000, "test": 10_000}

Expected = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (images, labels)


def filename(split: str, kind: str) -> str:
    """The original archive name of one split's images or labels."""
    return next(a.filename for a in fashion_mnist.ARCHIVES if a.split == split and a.kind == kind)


TRAIN_IMAGES, TRAIN_LABELS = filename("train", "images"), filename("train", "labels")
FILENAMES = [a.filename for a in fashion_mnist.ARCHIVES]


# --- Helpers -----------------------------------------------------------------------------


def expected_from(directory: pathlib.Path) -> Expected:
    """What the dataset must hold, read straight from the archives in `directory`."""
    return {
        split: tuple(read_idx_gz((directory / filename(split, kind)).read_bytes()) for kind in ("images", "labels"))
        for split in SPLITS
    }


def make_builder(
    cache_dir: pathlib.Path,
    archives: Sequence[fashion_mnist.Archive],
    *,
    data_dir: pathlib.Path | None = None,
    system_dirs: Sequence[pathlib.Path] = (),
    mirrors: Sequence[str] = (),
    **config: object,
) -> FashionMnist:
    """The real builder, with every source given explicitly (no default mirror or system dir).

    `config` sets other `FashionMnistConfig` fields (`fallback_to_mirrors`, timeouts, ...).
    """
    return FashionMnist(
        cache_dir=str(cache_dir),
        data_dir=str(data_dir) if data_dir else None,
        system_dirs=[str(directory) for directory in system_dirs],
        mirrors=list(mirrors),
        archives=tuple(archives),
        **config,
    )


def assert_dataset_equals(dataset: datasets.DatasetDict, expected: Expected) -> None:
    """Same splits in the same order, and per split the same pixels and labels row by row."""
    assert list(dataset) == list(expected)
    for split, (images, labels) in expected.items():
        columns = dataset[split].with_format("numpy")[:]
        np.testing.assert_array_equal(columns["image"], images)
        np.testing.assert_array_equal(columns["label"], labels)


def written_files(cache_dir: pathlib.Path) -> list[pathlib.Path]:
    """Every example file the builder wrote under `cache_dir`."""
    return sorted(p for p in cache_dir.rglob("*") if p.suffix in {".arrow", ".parquet"})


def assert_nothing_written(cache_dir: pathlib.Path, generated: list[int]) -> None:
    """The failure came before the first example: none generated, no example file left.

    `datasets` deletes its `.incomplete` output directory on any error, so the file check
    alone would pass even for a late failure; the `generated` spy is what proves "before".
    """
    assert generated == []
    assert written_files(cache_dir) == []


def download_entries(cache_dir: pathlib.Path, url: str) -> list[str]:
    """Names in `<cache_dir>/downloads` that belong to `url` (file, .json, .lock, .incomplete)."""
    prefix = hashlib.sha256(url.encode("utf-8")).hexdigest()
    downloads = cache_dir / "downloads"
    return sorted(p.name for p in downloads.iterdir() if p.name.startswith(prefix)) if downloads.is_dir() else []


def cached_download(cache_dir: pathlib.Path, url: str) -> bytes:
    """The bytes `datasets` cached for `url` (without ETag, the name is the URL's SHA-256)."""
    return (cache_dir / "downloads" / hashlib.sha256(url.encode("utf-8")).hexdigest()).read_bytes()


def recompress(data: bytes) -> bytes:
    """The same content in a different gzip stream (header mtime and level), as Debian ships it."""
    other = gzip.compress(gzip.decompress(data), compresslevel=1, mtime=1_234_567_890)
    assert other != data and gzip.decompress(other) == gzip.decompress(data)
    return other


def replace_row(
    table: Sequence[fashion_mnist.Archive], row: fashion_mnist.Archive
) -> tuple[fashion_mnist.Archive, ...]:
    return tuple(row if archive.filename == row.filename else archive for archive in table)


def served_by(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """archive file name -> the builder's INFO line saying which source served it."""
    lines = [r.getMessage() for r in caplog.records if r.name == "fashion_mnist" and r.levelno == logging.INFO]
    return {line.split(":", 1)[0]: line for line in lines if ": served by " in line}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fashion_mnist" and r.levelno == logging.WARNING]


def publish(server: LoopbackServer, prefix: str, files: dict[str, bytes | Route]) -> str:
    """Serve `files` under `prefix` (bytes are served as is); return the mirror's base URL."""
    for name, content in files.items():
        server.routes[prefix + name] = content if isinstance(content, Route) else Route.serve(content)
    return server.url(prefix)


@dataclasses.dataclass(frozen=True)
class SyntheticBuild:
    """The synthetic archives, read before the test damages or serves them, and the cache they are built into.

    `build` is the build-and-compare that every test of where the archives come from starts with, so those
    tests say only what differs: the sources, and what the builder logged, cached and fetched.
    """

    directory: pathlib.Path  # the four archives, usable as a data_dir
    table: tuple[fashion_mnist.Archive, ...]  # the checksums they match
    files: dict[str, bytes]  # their bytes by name: what a good mirror serves
    expected: Expected  # what a build of them must hold
    cache_dir: pathlib.Path

    @classmethod
    def of(cls, synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path) -> SyntheticBuild:
        directory, table = synthetic_archives
        files = {archive.filename: (directory / archive.filename).read_bytes() for archive in table}
        return cls(directory, tuple(table), files, expected_from(directory), cache_dir)

    def builder(self, **sources: object) -> FashionMnist:
        """The real builder of these archives into `cache_dir`, reading only `sources` (as `make_builder` takes)."""
        return make_builder(self.cache_dir, self.table, **sources)

    def build(self, **sources: object) -> FashionMnist:
        """Build from `sources` and check that the dataset holds exactly the archives' images and labels."""
        builder = self.builder(**sources)
        builder.download_and_prepare()
        assert_dataset_equals(builder.as_dataset(), self.expected)
        return builder


# --- Fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_progress_bars() -> Iterator[None]:
    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


@pytest.fixture
def cache_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "cache"


@pytest.fixture
def synthetic_build(synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path) -> SyntheticBuild:
    return SyntheticBuild.of(synthetic_archives, cache_dir)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """A loopback server for mirrors; urllib honours proxy variables, so keep any proxy off 127.0.0.1."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with LoopbackServer() as loopback:
        yield loopback


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Keys of the examples the builder generates in this process (a spy on `_generate_examples`)."""
    keys: list[int] = []
    original = FashionMnist._generate_examples

    @functools.wraps(original)
    def spy(self: FashionMnist, **kwargs: object) -> Iterator[tuple[int, dict]]:
        for key, example in original(self, **kwargs):
            keys.append(key)
            yield key, example

    monkeypatch.setattr(FashionMnist, "_generate_examples", spy)
    return keys


@pytest.fixture
def info_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="fashion_mnist")
    return caplog


# --- End to end, synthetic archives from data_dir -----------------------------------------


def test_builds_from_data_dir(
    synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    """Rows, features, decoded PIL images and labels match the archives, splits in order."""
    directory, table = synthetic_archives
    expected = expected_from(directory)
    builder = make_builder(cache_dir, table, data_dir=directory)
    builder.download_and_prepare()
    # Keys run 0..n-1 per split, in order (this also shows the `generated` spy sees every example).
    assert generated == [key for images, _ in expected.values() for key in range(len(images))]
    dataset = builder.as_dataset()

    assert list(dataset) == SPLITS
    for split, (images, labels) in expected.items():
        assert dataset[split].num_rows == len(images) == len(labels)
        assert builder.info.splits[split].num_examples == len(images)
        features = dataset[split].features
        assert isinstance(features["image"], datasets.Image)
        assert isinstance(features["label"], datasets.ClassLabel)
        assert features["label"].names == LABEL_NAMES
        for index, row in enumerate(dataset[split]):
            assert isinstance(row["image"], Image.Image)
            assert row["image"].mode == "L"
            np.testing.assert_array_equal(np.asarray(row["image"]), images[index])
            assert row["label"] == labels[index]
    assert_dataset_equals(dataset, expected)


def test_parquet_output_loads_with_class_labels(
    synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """`file_format="parquet"` writes files the generic parquet loader reads back, label names included."""
    directory, table = synthetic_archives
    builder = make_builder(cache_dir, table, data_dir=directory)
    builder.download_and_prepare(file_format="parquet")
    output = pathlib.Path(builder.cache_dir)
    data_files = {split: sorted(str(p) for p in output.glob(f"*-{split}*.parquet")) for split in SPLITS}
    assert all(data_files.values()), data_files

    loaded = datasets.load_dataset("parquet", data_files=data_files, cache_dir=str(tmp_path / "parquet_cache"))
    for split in SPLITS:
        assert isinstance(loaded[split].features["image"], datasets.Image)
        assert loaded[split].features["label"].names == LABEL_NAMES
    assert_dataset_equals(loaded, expected_from(directory))


def test_streaming_yields_the_same_examples(
    synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path
) -> None:
    directory, table = synthetic_archives
    streamed = make_builder(cache_dir, table, data_dir=directory).as_streaming_dataset()
    assert list(streamed) == SPLITS
    for split, (images, labels) in expected_from(directory).items():
        rows = list(streamed[split])
        assert len(rows) == len(images)
        np.testing.assert_array_equal(np.stack([np.asarray(row["image"]) for row in rows]), images)
        np.testing.assert_array_equal([row["label"] for row in rows], labels)


@pytest.mark.parametrize(("num_examples", "num_shards"), [(60_000, 8), (10_000, 3), (40, 8), (7, 3), (5, 5)])
def test_shard_bounds_cut_as_datasets_contiguous_shard(num_examples: int, num_shards: int) -> None:
    """The builder's generator shards and the Hub files are cut where `Dataset.shard(contiguous=True)` cuts."""
    dataset = datasets.Dataset.from_dict({"i": list(range(num_examples))})
    expected = [dataset.shard(num_shards, index, contiguous=True)["i"] for index in range(num_shards)]
    bounds = fashion_mnist.shard_bounds(num_examples, num_shards)
    assert [list(range(start, stop)) for start, stop in bounds] == [list(rows) for rows in expected]


def test_num_proc_2_gives_the_same_rows_in_the_same_order(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> None:
    directory, table = synthetic_archives
    results = {}
    for num_proc in (1, 2):
        builder = make_builder(tmp_path / f"cache{num_proc}", table, data_dir=directory)
        builder.download_and_prepare(num_proc=num_proc)
        results[num_proc] = builder.as_dataset()
        if num_proc == 2:  # the parallel path really ran: one file per job and split
            for split in SPLITS:
                assert len(list(pathlib.Path(builder.cache_dir).glob(f"*-{split}-*-of-00002.arrow"))) == 2
    for split in SPLITS:
        assert results[1][split].data.table.equals(results[2][split].data.table)
    assert_dataset_equals(results[2], expected_from(directory))


# --- The real archives -------------------------------------------------------------------


class _ListHandler(logging.Handler):
    """Keeps the formatted messages of the records it sees."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclasses.dataclass
class RealBuild:
    dataset: datasets.DatasetDict
    expected: Expected
    log: list[str]


@pytest.fixture(scope="module")
def real_build(real_archives: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> RealBuild:
    """The real archives built once (num_proc=2), with the builder's INFO log."""
    handler = _ListHandler()
    logger = logging.getLogger("fashion_mnist")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        builder = make_builder(tmp_path_factory.mktemp("real_cache"), fashion_mnist.ARCHIVES, data_dir=real_archives)
        builder.download_and_prepare(num_proc=2)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return RealBuild(builder.as_dataset(), expected_from(real_archives), handler.messages)


def test_real_split_sizes_and_class_balance(real_build: RealBuild) -> None:
    assert list(real_build.dataset) == SPLITS
    for split, size in REAL_SIZES.items():
        labels = real_build.dataset[split].with_format("numpy")["label"][:]
        assert len(labels) == size
        assert np.bincount(labels, minlength=len(LABEL_NAMES)).tolist() == [size // 10] * len(LABEL_NAMES)


def test_real_features(real_build: RealBuild) -> None:
    for split in SPLITS:
        features = real_build.dataset[split].features
        assert isinstance(features["image"], datasets.Image)
        assert features["label"].names == LABEL_NAMES
        first = real_build.dataset[split][0]["image"]
        assert (first.mode, first.size) == ("L", (28, 28))


def test_real_images_equal_the_idx_pixels(real_build: RealBuild) -> None:
    """Every decoded image and label of both splits equals the IDX data parsed straight from the .gz."""
    assert_dataset_equals(real_build.dataset, real_build.expected)


def test_real_archives_are_reported_byte_identical(real_build: RealBuild, real_archives: pathlib.Path) -> None:
    for name in FILENAMES:
        assert f"{name}: served by data_dir {real_archives} (byte-identical to the official .gz)" in real_build.log


def test_real_archives_through_mirror_fallback(
    real_archives: pathlib.Path, server: LoopbackServer, cache_dir: pathlib.Path, info_logs: pytest.LogCaptureFixture
) -> None:
    """The real archives over HTTP: the first mirror has nothing, the second serves all four."""
    first = server.url("/empty/")
    second = publish(server, "/real/", {name: (real_archives / name).read_bytes() for name in FILENAMES})
    builder = make_builder(cache_dir, fashion_mnist.ARCHIVES, mirrors=[first, second])
    builder.download_and_prepare(num_proc=2)
    dataset = builder.as_dataset()
    assert {split: dataset[split].num_rows for split in SPLITS} == REAL_SIZES
    assert all(f"served by mirror {second} (byte-identical" in served_by(info_logs)[name] for name in FILENAMES)
    assert builder.served_by == {name: f"mirror {second}" for name in FILENAMES}


# --- Sources: system copies and data_dir ---------------------------------------------------


@pytest.fixture
def system_copy(synthetic_build: SyntheticBuild, tmp_path: pathlib.Path) -> pathlib.Path:
    """A system directory holding recompressed copies: same content, different .gz bytes."""
    directory = tmp_path / "system"
    directory.mkdir()
    for name, data in synthetic_build.files.items():
        (directory / name).write_bytes(recompress(data))
    return directory


def test_recompressed_system_copy_is_used(
    synthetic_build: SyntheticBuild,
    system_copy: pathlib.Path,
    tmp_path: pathlib.Path,
    info_logs: pytest.LogCaptureFixture,
) -> None:
    for archive in synthetic_build.table:  # the copies really differ from what the table describes
        assert hashlib.sha256((system_copy / archive.filename).read_bytes()).hexdigest() != archive.gz_sha256
    absent = tmp_path / "not-installed"
    synthetic_build.build(system_dirs=[absent, system_copy])

    served = served_by(info_logs)
    for name in FILENAMES:
        assert served[name] == f"{name}: served by system copy {system_copy} (recompressed, same content)"
    assert not warnings_of(info_logs)  # an absent system dir is not a failure


def test_data_dir_takes_priority_over_system_copy(
    synthetic_build: SyntheticBuild, system_copy: pathlib.Path, info_logs: pytest.LogCaptureFixture
) -> None:
    directory = synthetic_build.directory
    synthetic_build.build(data_dir=directory, system_dirs=[system_copy])

    served = served_by(info_logs)
    for name in FILENAMES:
        assert served[name] == f"{name}: served by data_dir {directory} (byte-identical to the official .gz)"
    assert not any("system copy" in line for line in served.values())


def test_system_copy_fills_in_for_a_file_missing_from_data_dir(
    synthetic_build: SyntheticBuild, system_copy: pathlib.Path, info_logs: pytest.LogCaptureFixture
) -> None:
    directory = synthetic_build.directory
    (directory / TRAIN_LABELS).unlink()  # after `synthetic_build.expected` was read: the system copy fills it in
    synthetic_build.build(data_dir=directory, system_dirs=[system_copy], fallback_to_mirrors=True)

    served = served_by(info_logs)
    assert f"served by system copy {system_copy}" in served[TRAIN_LABELS]
    assert all(f"served by data_dir {directory}" in served[name] for name in FILENAMES if name != TRAIN_LABELS)
    [warning] = warnings_of(info_logs)
    assert warning.startswith(f"{TRAIN_LABELS} from data_dir {directory}: not found at ")
    assert f"not found at {directory / TRAIN_LABELS}" in warning


def test_no_source_configured(
    synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    _, table = synthetic_archives
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(cache_dir, table).download_and_prepare()
    [error] = excinfo.value.exceptions
    assert isinstance(error, SourceNotFoundError)
    assert str(error) == f"{table[0].filename}: no data_dir, system copy or mirror is configured"
    assert_nothing_written(cache_dir, generated)


# --- Mirrors, through the real download path ----------------------------------------------


def test_first_mirror_404_then_second_mirror_serves(
    synthetic_build: SyntheticBuild, server: LoopbackServer, info_logs: pytest.LogCaptureFixture
) -> None:
    first = server.url("/m1/")  # no routes: every file is a 404
    second = publish(server, "/m2/", synthetic_build.files)
    synthetic_build.build(mirrors=[first, second])

    paths = server.paths()
    for name, data in synthetic_build.files.items():
        assert paths.index(f"/m1/{name}") < paths.index(f"/m2/{name}")
        assert f"/m2/{name}" in server.paths("GET")
        assert download_entries(synthetic_build.cache_dir, first + name) == []
        assert cached_download(synthetic_build.cache_dir, second + name) == data
        assert served_by(info_logs)[name] == f"{name}: served by mirror {second} (byte-identical to the official .gz)"
    assert len(warnings_of(info_logs)) == len(synthetic_build.files)
    for name, warning in zip(FILENAMES, warnings_of(info_logs), strict=True):
        assert warning.startswith(f"{name} from mirror {first}: download of {first}{name} failed (")
        assert first + name in warning


def _wrong_content(data: bytes) -> Route:
    """A valid gzip of a valid IDX file whose content differs by one pixel."""
    images = read_idx_gz(data).copy()
    images[0, 0, 0] ^= 0xFF
    return Route.serve(synthetic.gzip_bytes(synthetic.idx_bytes(images)))


BAD_MIRROR_COPIES: dict[str, tuple[Callable[[bytes], Route], str]] = {
    # fault -> (what the first mirror serves instead of the good file, what the warning says)
    "wrong_content": (_wrong_content, "expected decompressed SHA-256"),
    "truncated_gzip": (lambda data: Route.serve(data[: len(data) // 2]), "expected a complete gzip file"),
    # The warning says how far the body got before the connection was reset.
    "dropped_mid_body": (Route.drop_mid_body, "failed after "),
}


@pytest.mark.parametrize("fault", list(BAD_MIRROR_COPIES))
def test_bad_mirror_copy_is_skipped_and_evicted(
    fault: str, synthetic_build: SyntheticBuild, server: LoopbackServer, info_logs: pytest.LogCaptureFixture
) -> None:
    """The next mirror serves the file; nothing of the bad download stays cached, the good ones do."""
    make_route, reason = BAD_MIRROR_COPIES[fault]
    files, cache_dir = synthetic_build.files, synthetic_build.cache_dir
    first = publish(server, "/m1/", {**files, TRAIN_IMAGES: make_route(files[TRAIN_IMAGES])})
    second = publish(server, "/m2/", files)
    synthetic_build.build(mirrors=[first, second])

    assert {path for path in server.paths() if path.startswith("/m2/")} == {f"/m2/{TRAIN_IMAGES}"}
    assert download_entries(cache_dir, first + TRAIN_IMAGES) == []  # no file, .json, .lock or .incomplete
    assert cached_download(cache_dir, second + TRAIN_IMAGES) == files[TRAIN_IMAGES]
    for name in FILENAMES:
        if name != TRAIN_IMAGES:
            assert cached_download(cache_dir, first + name) == files[name]
    [warning] = warnings_of(info_logs)
    assert warning.startswith(f"{TRAIN_IMAGES} from mirror {first}: ")
    assert reason in warning
    assert f"served by mirror {second}" in served_by(info_logs)[TRAIN_IMAGES]


def test_recompressed_mirror_copy_passes(
    synthetic_build: SyntheticBuild, server: LoopbackServer, info_logs: pytest.LogCaptureFixture
) -> None:
    recompressed = {name: recompress(data) for name, data in synthetic_build.files.items()}
    mirror = publish(server, "/m1/", recompressed)
    synthetic_build.build(mirrors=[mirror])

    for name, data in recompressed.items():
        assert served_by(info_logs)[name] == f"{name}: served by mirror {mirror} (recompressed, same content)"
        assert cached_download(synthetic_build.cache_dir, mirror + name) == data


def test_streaming_from_mirrors(synthetic_build: SyntheticBuild, server: LoopbackServer) -> None:
    """Streaming reads the mirror over HTTP (no cache) and falls through a 404 the same way."""
    first, second = server.url("/m1/"), publish(server, "/m2/", synthetic_build.files)
    streamed = synthetic_build.builder(mirrors=[first, second]).as_streaming_dataset()
    for split, (images, labels) in synthetic_build.expected.items():
        rows = list(streamed[split])
        np.testing.assert_array_equal(np.stack([np.asarray(row["image"]) for row in rows]), images)
        np.testing.assert_array_equal([row["label"] for row in rows], labels)
    assert {f"/m1/{name}" for name in FILENAMES} <= set(server.paths())
    assert {f"/m2/{name}" for name in FILENAMES} <= set(server.paths("GET"))
    assert not (synthetic_build.cache_dir / "downloads").exists()


def test_eviction_when_the_download_config_names_no_cache_dir(
    synthetic_build: SyntheticBuild, server: LoopbackServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a caller's `DownloadConfig()` (no cache_dir), `datasets` caches in its default downloads
    directory; the bad download must be evicted from there too, or it would be reused forever."""
    default_downloads = tmp_path / "default_downloads"
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", default_downloads)
    files = synthetic_build.files
    first = publish(server, "/m1/", {**files, TRAIN_IMAGES: _wrong_content(files[TRAIN_IMAGES])})
    second = publish(server, "/m2/", files)
    builder = synthetic_build.builder(mirrors=[first, second])
    builder.download_and_prepare(download_config=datasets.DownloadConfig())

    def entries(url: str) -> list[str]:
        prefix = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return [p.name for p in default_downloads.iterdir() if p.name.startswith(prefix)]

    assert entries(first + TRAIN_IMAGES) == []
    assert entries(second + TRAIN_IMAGES)  # the good copy is cached (with an ETag-less name)


def test_every_source_failing_lists_each_in_order(
    synthetic_build: SyntheticBuild, server: LoopbackServer, tmp_path: pathlib.Path, generated: list[int]
) -> None:
    """data_dir lacks the file, the system copy is not gzip, mirror 1 is 404, mirror 2 drops, mirror 3 is wrong."""
    train_images, cache_dir = synthetic_build.files[TRAIN_IMAGES], synthetic_build.cache_dir
    data_dir, system = tmp_path / "empty", tmp_path / "system"
    data_dir.mkdir()
    system.mkdir()
    (system / TRAIN_IMAGES).write_bytes(gzip.decompress(train_images))
    mirrors = [
        server.url("/404/"),
        publish(server, "/drop/", {TRAIN_IMAGES: Route.drop_mid_body(train_images)}),
        publish(server, "/wrong/", {TRAIN_IMAGES: _wrong_content(train_images)}),
    ]
    builder = synthetic_build.builder(
        data_dir=data_dir, system_dirs=[system], mirrors=mirrors, fallback_to_mirrors=True
    )
    with pytest.raises(NoValidSourceError) as excinfo:
        builder.download_and_prepare()

    group = excinfo.value
    sources = [f"data_dir {data_dir}", f"system copy {system}", *(f"mirror {url}" for url in mirrors)]
    expected_types = [SourceNotFoundError, ArchiveCorruptError, DownloadError, DownloadError, ArchiveMismatchError]
    assert [type(error) for error in group.exceptions] == expected_types
    for error, source in zip(group.exceptions, sources, strict=True):
        assert str(error).startswith(f"{TRAIN_IMAGES} from {source}: ")
    # The message lists every source with its reason, in the order tried.
    message = str(group)
    assert message.startswith(f"No source gave a good copy of {TRAIN_IMAGES}. Tried, in order:")
    positions = [message.index(f"  - {error}") for error in group.exceptions]
    assert positions == sorted(positions)
    # The transport errors are kept as causes: a 404 is urllib's HTTPError, a dropped body a reset or short read.
    not_found, dropped = group.exceptions[2], group.exceptions[3]
    assert isinstance(not_found.__cause__, urllib.error.HTTPError) and "HTTP 404" in str(not_found)
    assert isinstance(dropped.__cause__, ConnectionResetError | http.client.IncompleteRead)
    assert type(dropped.__cause__).__name__ in str(dropped)
    for url in mirrors:
        assert download_entries(cache_dir, url + TRAIN_IMAGES) == []
    assert_nothing_written(cache_dir, generated)


# --- IDX faults: parse_idx directly, then through the builder -------------------------------


@dataclasses.dataclass(frozen=True)
class IdxFault:
    """A damaged IDX file: how to make it from good arrays, which error, and what the message must say."""

    filename: str
    error: type[Exception]
    corrupt: Callable[[np.ndarray], bytes]  # the archive's good array -> damaged IDX bytes
    says: Callable[[bytes, bytes], list[str]]  # (damaged, good) IDX bytes -> fragments of the message


def _header(raw: bytes, count: int) -> tuple[int, ...]:
    return struct.unpack_from(f">{count}I", raw)


def _with_label_ten(labels: np.ndarray) -> bytes:
    labels = labels.copy()
    labels[7] = 10
    return synthetic.idx_bytes(labels)


def _first_bad_label(bad: bytes) -> tuple[int, int]:
    labels = np.frombuffer(bad, dtype=np.uint8, offset=8)
    index = int(np.flatnonzero(labels >= len(LABEL_NAMES))[0])
    return int(labels[index]), index


IDX_FAULTS = {
    "bad_magic": IdxFault(  # a labels magic in the images file
        TRAIN_IMAGES,
        IdxMagicError,
        lambda images: synthetic.idx_bytes(images, magic=0x00000801),
        lambda bad, good: ["expected IDX magic 0x00000803 (images)", f"found 0x{_header(bad, 1)[0]:08x}"],
    ),
    "shape_28x27": IdxFault(
        TRAIN_IMAGES,
        IdxShapeError,
        lambda images: synthetic.idx_bytes(np.ascontiguousarray(images[:, :, :27])),
        lambda bad, good: ["expected 28x28 images", "found {}x{}".format(*_header(bad, 4)[2:])],
    ),
    "truncated_payload": IdxFault(
        TRAIN_IMAGES,
        IdxLengthError,
        lambda images: synthetic.idx_bytes(images)[:-100],
        lambda bad, good: [
            f"header declares {_header(bad, 2)[1]} images, so {len(good)} bytes; found {len(bad)} (truncated)"
        ],
    ),
    "trailing_bytes": IdxFault(
        TRAIN_LABELS,
        IdxLengthError,
        lambda labels: synthetic.idx_bytes(labels) + bytes(7),
        lambda bad, good: [
            f"header declares {_header(bad, 2)[1]} labels, so {len(good)} bytes; found {len(bad)} "
            f"({len(bad) - len(good)} trailing bytes)"
        ],
    ),
    "short_header": IdxFault(
        TRAIN_IMAGES,
        IdxLengthError,
        lambda images: synthetic.idx_bytes(images)[:10],
        lambda bad, good: [f"expected an IDX images header of 16 bytes, found only {len(bad)} bytes"],
    ),
    "label_10": IdxFault(
        TRAIN_LABELS,
        LabelRangeError,
        _with_label_ten,
        lambda bad, good: ["expected labels 0..9, found {} at index {}".format(*_first_bad_label(bad))],
    ),
}


def _kind(name: str) -> str:
    return next(a.kind for a in fashion_mnist.ARCHIVES if a.filename == name)


@pytest.mark.parametrize("fault", IDX_FAULTS.values(), ids=IDX_FAULTS.keys())
def test_parse_idx_rejects(fault: IdxFault) -> None:
    array = synthetic.make_arrays()[fault.filename]
    good, bad = synthetic.idx_bytes(array), fault.corrupt(array)
    with pytest.raises(fault.error) as excinfo:
        parse_idx(bad, _kind(fault.filename), "WHERE")
    assert type(excinfo.value) is fault.error
    message = str(excinfo.value)
    assert message.startswith("WHERE: ")
    for fragment in fault.says(bad, good):
        assert fragment in message


@pytest.mark.parametrize("name", [TRAIN_IMAGES, TRAIN_LABELS])
def test_parse_idx_returns_a_read_only_view(name: str) -> None:
    array = synthetic.make_arrays()[name]
    raw = synthetic.idx_bytes(array)
    parsed = parse_idx(raw, _kind(name), "WHERE")
    assert parsed.dtype == np.uint8 and parsed.shape == array.shape
    np.testing.assert_array_equal(parsed, array)
    assert not parsed.flags.writeable and not parsed.flags.owndata


def _damaged_data_dir(
    directory: pathlib.Path, table: Sequence[fashion_mnist.Archive], name: str, raw: bytes, *, describe: bool = True
) -> tuple[fashion_mnist.Archive, ...]:
    """Replace archive `name` with gzipped `raw`; with `describe`, the table's checksums match it."""
    compressed = synthetic.gzip_bytes(raw)
    (directory / name).write_bytes(compressed)
    return replace_row(table, synthetic.describe(name, raw, compressed)) if describe else tuple(table)


def _single_failure(excinfo: pytest.ExceptionInfo[NoValidSourceError], error_type: type[Exception]) -> str:
    """The one error in the group, checked for type; returns its message."""
    assert excinfo.group_contains(error_type, depth=1)
    [error] = excinfo.value.exceptions
    assert type(error) is error_type
    assert f"  - {error}" in str(excinfo.value)
    return str(error)


@pytest.mark.parametrize("fault", IDX_FAULTS.values(), ids=IDX_FAULTS.keys())
def test_idx_fault_in_data_dir(
    fault: IdxFault, synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    """The checksums match the damaged content, so the structural check is what must fail, before any write."""
    directory, table = synthetic_archives
    array = read_idx_gz((directory / fault.filename).read_bytes())
    good, bad = synthetic.idx_bytes(array), fault.corrupt(array)
    table = _damaged_data_dir(directory, table, fault.filename, bad)
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(cache_dir, table, data_dir=directory).download_and_prepare()

    message = _single_failure(excinfo, fault.error)
    assert message.startswith(f"{fault.filename} from data_dir {directory}: ")
    for fragment in fault.says(bad, good):
        assert fragment in message
    assert_nothing_written(cache_dir, generated)


@pytest.mark.parametrize("damage", ["not_gzip", "truncated_gzip"])
def test_corrupt_gzip_in_data_dir(
    damage: str, synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    directory, table = synthetic_archives
    path = directory / TRAIN_LABELS
    data = gzip.decompress(path.read_bytes()) if damage == "not_gzip" else path.read_bytes()[:-20]
    path.write_bytes(data)
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(cache_dir, table, data_dir=directory).download_and_prepare()

    message = _single_failure(excinfo, ArchiveCorruptError)
    assert message.startswith(f"{TRAIN_LABELS} from data_dir {directory}: ")
    assert f"expected a complete gzip file, found {len(data)} bytes that do not decompress" in message
    assert_nothing_written(cache_dir, generated)


def test_well_formed_other_content_in_data_dir(
    synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    directory, table = synthetic_archives
    images = read_idx_gz((directory / TRAIN_IMAGES).read_bytes()).copy()
    images[-1, -1, -1] ^= 1
    other = synthetic.idx_bytes(images)
    table = _damaged_data_dir(directory, table, TRAIN_IMAGES, other, describe=False)
    with pytest.raises(NoValidSourceError) as excinfo:
        make_builder(cache_dir, table, data_dir=directory).download_and_prepare()

    message = _single_failure(excinfo, ArchiveMismatchError)
    expected = next(a.raw_sha256 for a in table if a.filename == TRAIN_IMAGES)
    assert message.startswith(f"{TRAIN_IMAGES} from data_dir {directory}: ")
    assert f"expected decompressed SHA-256 {expected}, found {hashlib.sha256(other).hexdigest()}" in message
    assert_nothing_written(cache_dir, generated)


@pytest.mark.parametrize("split", SPLITS)
def test_image_and_label_counts_must_agree(
    split: str, synthetic_archives: tuple[pathlib.Path, tuple], cache_dir: pathlib.Path, generated: list[int]
) -> None:
    directory, table = synthetic_archives
    name = filename(split, "labels")
    labels = read_idx_gz((directory / name).read_bytes())[:-1]
    table = _damaged_data_dir(directory, table, name, synthetic.idx_bytes(labels))
    num_images = len(read_idx_gz((directory / filename(split, "images")).read_bytes()))
    with pytest.raises(CountMismatchError) as excinfo:
        make_builder(cache_dir, table, data_dir=directory).download_and_prepare()

    assert str(excinfo.value).startswith(
        f"{split} split: the images archive holds {num_images} examples but the labels archive holds {len(labels)}"
    )
    assert_nothing_written(cache_dir, generated)


# --- PNG encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("pixels", ["random", "all_0", "all_255"])
def test_encode_png_decodes_to_the_exact_pixels(pixels: str) -> None:
    if pixels == "random":
        images = np.random.default_rng(7).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    else:
        images = np.full((2, 28, 28), 0 if pixels == "all_0" else 255, dtype=np.uint8)
    pngs = encode_png(images)
    assert len(pngs) == len(images)
    for png, image in zip(pngs, images, strict=True):
        decoded = Image.open(io.BytesIO(png))
        decoded.load()  # decodes fully: a bad CRC or zlib stream fails here
        assert decoded.format == "PNG" and decoded.mode == "L" and decoded.size == (28, 28)
        np.testing.assert_array_equal(np.asarray(decoded), image)


def test_encode_png_of_no_images() -> None:
    assert encode_png(np.zeros((0, 28, 28), dtype=np.uint8)) == []
