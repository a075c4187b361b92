"""Small synthetic Fashion-MNIST archives, so tests drive the real builder in milliseconds.

The archives are real IDX files in real gzip streams; `archive_table` describes them
the way `fashion_mnist.ARCHIVES` describes the originals, so the builder verifies
them with its real code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gzip
import hashlib
import os
import struct
import zlib

import numpy as np

import fashion_mnist

SIZES = {"train": 40, "test": 20}


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """IDX encoding of a uint8 array: big-endian magic, one uint32 per dimension, then data."""
    magic = magic if magic is not None else 0x0800 | array.ndim
    return struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def make_split(num_examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random images and labels, every class present (labels cycle 0..9)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_examples, 28, 28), dtype=np.uint8)
    labels = (np.arange(num_examples) % 10).astype(np.uint8)
    return images, labels


def make_arrays(sizes: dict[str, int] = SIZES) -> dict[str, np.ndarray]:
    """Arrays keyed by archive file name, as the originals hold them."""
    arrays = {}
    for seed, archive in enumerate(a for a in fashion_mnist.ARCHIVES if a.kind == "images"):
        images, labels = make_split(sizes[archive.split], seed)
        arrays[archive.filename] = images
        labels_archive = next(a for a in fashion_mnist.ARCHIVES if a.split == archive.split and a.kind == "labels")
        arrays[labels_archive.filename] = labels
    return arrays


def read_idx_gz(data: bytes) -> np.ndarray:
    """Parse an IDX .gz without the builder (the tests' independent reading): gunzip, header, np.frombuffer."""
    raw = gzip.decompress(data)
    ndim = raw[3]
    dims = struct.unpack_from(f">{ndim}I", raw, 4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def gzip_bytes(raw: bytes, mtime: int = 0) -> bytes:
    return gzip.compress(raw, mtime=mtime)


def describe(filename: str, raw: bytes, compressed: bytes) -> fashion_mnist.Archive:
    """An `Archive` row for synthetic content, shaped like the real table's rows."""
    original = next(a for a in fashion_mnist.ARCHIVES if a.filename == filename)
    count = struct.unpack_from(">I", raw, 4)[0]
    return dataclasses.replace(
        original,
        num_examples=count,
        gz_num_bytes=len(compressed),
        gz_md5=hashlib.md5(compressed).hexdigest(),
        gz_sha256=hashlib.sha256(compressed).hexdigest(),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
    )


def write_archives(
    directory: str | os.PathLike, arrays: dict[str, np.ndarray] | None = None
) -> tuple[fashion_mnist.Archive, ...]:
    """Write the four synthetic archives into `directory`; return the table that describes them."""
    arrays = arrays if arrays is not None else make_arrays()
    os.makedirs(directory, exist_ok=True)
    table = []
    for archive in fashion_mnist.ARCHIVES:
        raw = idx_bytes(arrays[archive.filename])
        compressed = gzip_bytes(raw)
        with open(os.path.join(directory, archive.filename), "wb") as file:
            file.write(compressed)
        table.append(describe(archive.filename, raw, compressed))
    return tuple(table)


def zero_bomb(size: int, block: int = 1 << 24) -> bytes:
    """A valid gzip file of `size` zero bytes (a multiple of `block`), made in about a second for 4 GiB.

    A zero block compressed and then fully flushed is the same bytes every time (the flush
    resets the dictionary), so one is compressed and repeated; the CRC of the zeros is
    combined with zlib's `crc32_combine` instead of hashing gigabytes.
    """
    assert size % block == 0 and size > 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    libz = ctypes.CDLL(ctypes.util.find_library("z"))
    libz.crc32_combine64.restype = ctypes.c_ulong
    libz.crc32_combine64.argtypes = (ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int64)
    crc, length = zlib.crc32(bytes(block)), block
    while length < size:  # size / block is a power of two in practice; add blocks one by one otherwise
        step = length if 2 * length <= size else block
        crc = libz.crc32_combine64(crc, crc if step == length else zlib.crc32(bytes(block)), step)
        length += step
    header = b"\x1f\x8b\x08\x00" + bytes(4) + b"\x02\xff"  # magic, deflate, no flags, mtime 0, best, unknown OS
    return header + piece * (size // block) + end + struct.pack("<II", crc, size & 0xFFFFFFFF)


def table_of(directory: str | os.PathLike) -> tuple[fashion_mnist.Archive, ...]:
    """The table describing the four archives already in `directory` (what `write_archives` returned)."""
    table = []
    for archive in fashion_mnist.ARCHIVES:
        with open(os.path.join(directory, archive.filename), "rb") as file:
            compressed = file.read()
        table.append(describe(archive.filename, gzip.decompress(compressed), compressed))
    return tuple(table)
