"""Fashion-MNIST as a `datasets` builder: the reproducible source of the Hub copy.

Zalando's 70,000 28x28 grayscale article images in 10 classes, read from the four
original IDX archives. The archives come from the first good source among: a
directory the caller names (`data_dir`), a system copy (Debian's
`dataset-fashion-mnist`), then the `mirrors`. Every archive is checked before any
example is written: gzip integrity, IDX structure, and the SHA-256 of its
decompressed bytes, so a recompressed copy passes and a wrong one never does.

`datasets` 5.x no longer runs loading scripts, so use the class directly:

    from fashion_mnist import FashionMnist
    builder = FashionMnist(data_dir="path/to/archives")  # or mirrors=[...]
    builder.download_and_prepare(num_proc=2)
    dataset = builder.as_dataset()

Everything the card, `dataset_infos.json` and the push publish about the data (label
names, split sizes, checksums, citation) is defined here, once.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import hashlib
import itertools
import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import ClassVar

import datasets
import numpy as np
from datasets.utils.file_utils import xopen

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

# --- Where the archives come from ------------------------------------------------------

# Tried in order after `data_dir` and SYSTEM_DIRS; each base URL + file name is an archive.
MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
# Debian's `dataset-fashion-mnist` installs the archives here (recompressed, same content).
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)


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
# workers split the work) and, in the Hub copy, Parquet files.
NUM_SHARDS = {"train": 8, "test": 2}

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


class DownloadError(FashionMnistError):
    """A mirror could not deliver the file (HTTP error, dropped connection, ...)."""


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
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as error:
        raise ArchiveCorruptError(
            f"{where}: expected a complete gzip file, found {len(compressed)} bytes that do not "
            f"decompress ({error}). The file is damaged or incomplete; get it again."
        ) from error
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


# --- The builder ---------------------------------------------------------------------


@dataclasses.dataclass
class FashionMnistConfig(datasets.BuilderConfig):
    """Where to look for the archives, and what they must contain.

    `mirrors` and `system_dirs` are tables a caller can replace (tests point them at a
    server on 127.0.0.1); `archives` lets tests drive the real builder with small
    archives of their own.
    """

    mirrors: Sequence[str] = MIRRORS
    system_dirs: Sequence[str] = SYSTEM_DIRS
    archives: Sequence[Archive] = ARCHIVES


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
        return datasets.DatasetInfo(
            description=DESCRIPTION,
            features=FEATURES[self.config.name],
            supervised_keys=("image", "label"),
            homepage=HOMEPAGE,
            license=LICENSE,
            citation=CITATION,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        arrays = {archive.filename: self._fetch_verified(archive, dl_manager) for archive in self.config.archives}
        generators = []
        for split in SPLITS:
            images, labels = (arrays[_archive_for(self.config.archives, split, kind).filename] for kind in IDX_MAGIC)
            if len(images) != len(labels):
                raise CountMismatchError(
                    f"{split} split: the images archive holds {len(images)} examples but the labels "
                    f"archive holds {len(labels)}; they must agree. One of the files is from another "
                    "release; get both again from the same source."
                )
            bounds = np.linspace(0, len(images), NUM_SHARDS[split] + 1).astype(int)
            shards = [
                (int(start), images[start:stop], labels[start:stop]) for start, stop in itertools.pairwise(bounds)
            ]
            generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"shards": shards}))
        return generators

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

        A source that fails is logged and the next one is tried; a bad download is
        removed from the cache so it is never reused.
        """
        failures: list[FashionMnistError] = []
        for source in self._sources(archive):
            try:
                array = read_archive(_fetch(source, dl_manager), archive, source.name)
                self.served_by[archive.filename] = source.name
                return array
            except Exception as error:  # noqa: BLE001 - any failure of one source sends us to the next
                if source.remote:
                    _evict_download(dl_manager, source.location)
                failure = error if isinstance(error, FashionMnistError) else _describe(error, archive, source)
                logger.warning("%s", failure)
                failures.append(failure)
        if not failures:
            failures.append(
                SourceNotFoundError(f"{archive.filename}: no data_dir, system copy or mirror is configured")
            )
        tried = "\n".join(f"  - {error}" for error in failures)
        raise NoValidSourceError(
            f"No source gave a good copy of {archive.filename}. Tried, in order:\n{tried}\n"
            "Pass data_dir=<directory holding the four .gz archives> (or mirrors=[...]) to use a copy you have.",
            failures,
        )

    def _sources(self, archive: Archive) -> Iterator[Source]:
        """Yield each place `archive` may come from, in order: data_dir, system copies, mirrors."""
        if self.config.data_dir:
            directory = os.path.expanduser(self.config.data_dir)
            yield Source(f"data_dir {directory}", os.path.join(directory, archive.filename), remote=False)
        for directory in self.config.system_dirs:
            path = os.path.join(directory, archive.filename)
            if os.path.isfile(path):  # optional: absent unless the system package is installed
                yield Source(f"system copy {directory}", path, remote=False)
        for base in self.config.mirrors:
            yield Source(f"mirror {base}", base.rstrip("/") + "/" + archive.filename, remote=True)


@dataclasses.dataclass(frozen=True)
class Source:
    """One place an archive may come from: `location` is a local path or a URL."""

    name: str
    location: str
    remote: bool


def _fetch(source: Source, dl_manager: datasets.DownloadManager) -> bytes:
    """Read the archive's bytes: downloaded through `dl_manager` (cached; streamed when streaming)."""
    if not source.remote and not os.path.isfile(source.location):
        raise SourceNotFoundError(
            f"{os.path.basename(source.location)} from {source.name}: not found at {source.location}. "
            "Put the four original .gz archives in that directory, or leave data_dir unset to download them."
        )
    path = dl_manager.download(source.location) if source.remote else source.location
    with xopen(path, "rb", download_config=dl_manager.download_config) as file:
        return file.read()


def _archive_for(archives: Sequence[Archive], split: str, kind: str) -> Archive:
    return next(archive for archive in archives if archive.split == split and archive.kind == kind)


def _describe(error: Exception, archive: Archive, source: Source) -> FashionMnistError:
    """Turn a transport error (404, reset connection, ...) into one naming file and source."""
    described = DownloadError(
        f"{archive.filename} from {source.name}: download of {source.location} failed "
        f"({type(error).__name__}: {error}); trying the next source."
    )
    described.__cause__ = error
    return described


def _evict_download(dl_manager: datasets.DownloadManager, url: str) -> None:
    """Delete every cache entry of `url` (file, metadata, lock, partial download).

    `datasets` names cached downloads after the URL's SHA-256, with the ETag's hash,
    `.json`, `.lock` or `.incomplete` after it.
    """
    if dl_manager.is_streaming:
        return
    # The fallback is where `cached_path` downloads when the download config names no cache_dir.
    cache_dir = str(dl_manager.download_config.cache_dir or datasets.config.DOWNLOADED_DATASETS_PATH)
    prefix = hashlib.sha256(url.encode("utf-8")).hexdigest()
    for path in glob.glob(os.path.join(glob.escape(cache_dir), prefix + "*")):
        os.remove(path)
