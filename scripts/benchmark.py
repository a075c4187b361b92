"""Measure the Hub copy against what it has to beat: build, load, decode, stream and bytes.

    python scripts/benchmark.py --data-dir DIR [--repeat N] [--json PATH] [--update-card [README]]

Every figure is the median of `--repeat` runs and is set beside a floor or an
alternative measured in the same run, taking turns so that a slow spell of the machine
hits both alike: absolute times depend on the machine, the ratios carry over. The
pipelines timed are the ones the card's usage section recommends (`scripts/card.py`,
`_usage`); keep the two in step. Streaming is timed in a fresh interpreter, as a training
script would run it. A few minutes on 2 cores; not part of the test suite
(tests/test_benchmark.py runs it on tiny synthetic archives).
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import contextlib
import dataclasses
import functools
import importlib.metadata
import importlib.util
import io
import itertools
import json
import logging
import multiprocessing
import os
import pathlib
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

# The local-Hub section downloads `org/fashion_mnist` from 127.0.0.1: run as a script, keep that copy
# out of the user's Hugging Face cache (datasets and huggingface_hub read the path when imported, below).
SCRATCH_HF_HOME = tempfile.mkdtemp(prefix="fashion-mnist-benchmark-hf-") if __name__ == "__main__" else None
if SCRATCH_HF_HOME:
    os.environ["HF_HOME"] = SCRATCH_HF_HOME
    atexit.register(shutil.rmtree, SCRATCH_HF_HOME, ignore_errors=True)
if __package__ in (None, ""):  # run as `python scripts/benchmark.py`
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import datasets
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from PIL import Image as PILImage

import fashion_mnist
from scripts import bench_peers as peers
from scripts import bench_recipes as recipes
from scripts import build, card, layout

logger = logging.getLogger("benchmark")

Figures = dict[str, float | None]

WORKER_COUNTS = (0, 1, 2)
# key -> (comparison, bound): the targets.
TARGETS = {
    # Against the peers (issue 8): Keras' arrays and torchvision's epoch.
    "array_ratio_pixels": ("<=", 1.0),
    "epoch_ratio_pixels_plain": ("<=", 0.5),
    "epoch_ratio_image_plain": ("<=", 1.2),
    "stream_ratio_pixels": ("<=", 1.5),
    "stream_ratio_image": ("<=", 2.0),
    "bytes_ratio_two_configs": ("<=", 2.1),
    # The build and the layout (issue 5).
    "build_ratio_2proc": ("<=", 0.7),
    "decode_ratio": ("<=", 1.3),
    "stream_scaling_2w": (">=", 1.7),
    "bytes_ratio_vs_one_shard": ("<=", 1.02),
}
VERSIONS_OF = ("datasets", "huggingface_hub", "pyarrow", "pillow", "numpy", "torch", "keras")
UNITS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Setup:
    """What the sections share: the scratch directory, the copies made once, where the archives are."""

    work: pathlib.Path  # scratch directory, removed by the caller
    repeat: int
    builder_kwargs: Mapping[str, Any]  # for `build.build_repo`: data_dir, mirrors, system_dirs, archives
    repo: pathlib.Path  # this copy, built once with 2 processes
    one_shard: pathlib.Path  # the same rows in the older layout, one Parquet file per split
    warm_cache: pathlib.Path  # a `datasets` cache that holds `repo` once the load section has run
    archive_dir: pathlib.Path | None  # a local copy of the archives for the raw loaders, if there is one
    unavailable: dict[str, str]  # figure -> why it could not be measured

    @property
    def archives(self) -> Sequence[fashion_mnist.Archive]:
        return self.builder_kwargs.get("archives", fashion_mnist.ARCHIVES)


# --- Timing ----------------------------------------------------------------------------


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def interleaved_medians(runs: Mapping[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """Median of each run's seconds, the runs taking turns (a, b, a, b, ...) so background load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


@dataclasses.dataclass(frozen=True)
class CpuClock:
    """CPU seconds spent so far by the whole machine and by this process and its finished children.

    The difference between two readings tells how many cores other processes kept busy: on a
    shared 2-core machine that decides whether a scaling figure means anything.
    """

    wall: float
    machine_busy: float | None  # None where /proc/stat is not available (not Linux)
    own: float

    @classmethod
    def read(cls) -> CpuClock:
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return cls(time.perf_counter(), _machine_busy_seconds(), sum(u.ru_utime + u.ru_stime for u in usage))

    def background_cores_since(self, start: CpuClock) -> float | None:
        if self.machine_busy is None or start.machine_busy is None:
            return None
        others = (self.machine_busy - start.machine_busy) - (self.own - start.own)
        return max(0.0, others / (self.wall - start.wall))


def _machine_busy_seconds() -> float | None:
    """Busy CPU time of all cores since boot: user, nice, system, irq, softirq and steal from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as file:
            fields = [int(value) for value in file.readline().split()[1:9]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / UNITS_PER_SECOND


def in_fresh_process(measure: Callable[[Setup], Figures], setup: Setup) -> Figures:
    """Run `measure(setup)` in a new interpreter, the way a training script starts.

    DataLoader workers are forked from the process that iterates. Forked from this one once
    the build and decode sections have grown its heap, they ran up to a third slower
    (copy-on-write faults on the inherited heap), which is not what a training script sees.
    """
    context = multiprocessing.get_context("spawn")
    start_method = multiprocessing.get_start_method()
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_prepare_child, initargs=(start_method,)
    ) as pool:
        return pool.submit(measure, setup).result()


def _prepare_child(start_method: str) -> None:
    """A spawned child defaults to spawning too: give it the start method a script run from a shell has."""
    multiprocessing.set_start_method(start_method, force=True)
    quiet_datasets()


def quiet_datasets() -> None:
    """No progress bars or per-worker warnings in the middle of the report."""
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def measured(section: str, measure: Callable[[], Figures]) -> Figures:
    """Run one section's measurements and add how many cores other processes used meanwhile."""
    logger.info("measuring %s", section)
    start = CpuClock.read()
    figures = measure()
    figures[f"background_cores_{section}"] = CpuClock.read().background_cores_since(start)
    return figures


# --- The machine -----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were taken on: cores, Python and the versions of the libraries involved."""
    versions = {}
    for name in VERSIONS_OF:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "versions": versions,
    }


# --- Build -----------------------------------------------------------------------------


def build_seconds(parent: pathlib.Path, num_proc: int, builder_kwargs: Mapping[str, Any]) -> float:
    """Build a fresh copy (archives -> verified shards, preview, card, infos) and return the build's own time."""
    repo = pathlib.Path(tempfile.mkdtemp(prefix=f"build-{num_proc}proc-", dir=parent))
    try:
        return build.build_repo(repo, num_proc=num_proc, **builder_kwargs).seconds
    finally:
        shutil.rmtree(repo)


def encode_pngs(images: np.ndarray) -> list[bytes]:
    """The build's floor: PIL encoding each image as PNG in one process, nothing else."""
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        PILImage.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def bench_build(setup: Setup) -> Figures:
    """Build with 1 and 2 processes against PIL-encoding every image once (pixels decoded from the built copy)."""
    pixels = decode_pngs([png for split in fashion_mnist.SPLITS for png in read_pngs(setup.repo, split)])
    times = interleaved_medians(
        {
            "encode_floor": lambda: seconds(lambda: encode_pngs(pixels)),
            "1proc": lambda: build_seconds(setup.work, 1, setup.builder_kwargs),
            "2proc": lambda: build_seconds(setup.work, 2, setup.builder_kwargs),
        },
        setup.repeat,
    )
    floor = times["encode_floor"]
    return {
        "encode_floor_seconds": floor,
        "build_seconds_1proc": times["1proc"],
        "build_seconds_2proc": times["2proc"],
        "build_ratio_1proc": times["1proc"] / floor,
        "build_ratio_2proc": times["2proc"] / floor,
    }


# --- Load ------------------------------------------------------------------------------


def load_seconds(repo: pathlib.Path | str, cache_dir: pathlib.Path, *, redownload: bool = False) -> float:
    """`load_dataset` of a local copy (a path) or a Hub repo (an id), both splits, into `cache_dir`.

    Hub files are cached outside `cache_dir` (huggingface_hub's cache), so a cold Hub load
    must also `redownload` them to pay what a first-time user pays.
    """
    mode = datasets.DownloadMode.FORCE_REDOWNLOAD if redownload else None
    return seconds(lambda: datasets.load_dataset(str(repo), cache_dir=str(cache_dir), download_mode=mode))


def bench_load(setup: Setup) -> Figures:
    """`load_dataset` of the local copy (both splits): into a fresh cache each time, and again from a filled one."""
    load_seconds(setup.repo, setup.warm_cache)
    times = interleaved_medians(
        {
            "cold": lambda: load_seconds(setup.repo, pathlib.Path(tempfile.mkdtemp(prefix="cache-", dir=setup.work))),
            "warm": lambda: load_seconds(setup.repo, setup.warm_cache),
        },
        setup.repeat,
    )
    return {"load_seconds_cold": times["cold"], "load_seconds_warm": times["warm"]}


# --- The whole split as arrays: Keras' loader, and bare PIL decoding, against the card's recipes ------


def read_pngs(repo: pathlib.Path, split: str) -> list[bytes]:
    """The PNG bytes of a split, in order, straight from the default config's Parquet files."""
    pngs = []
    for path in sorted((repo / layout.CONFIG_DIRS[fashion_mnist.NAME]).glob(f"{split}-*.parquet")):
        column = pq.read_table(path, columns=["image"]).column("image")
        pngs += pc.struct_field(column, "bytes").to_pylist()
    return pngs


def decode_pngs(pngs: Sequence[bytes]) -> np.ndarray:
    """The decode floor: bare PIL decoding of each PNG, stacked into one array."""
    return np.stack([recipes.decode(png) for png in pngs])


def bench_arrays(setup: Setup, with_keras: bool) -> Figures:
    """The train split as one uint8 array: Keras' loader against the pixels config, PIL against the PNG recipe.

    The pixels figure includes `load_dataset` itself (from a warm cache), as Keras'
    figure includes reading the archives: both start from files on disk.
    """
    pngs = read_pngs(setup.repo, "train")
    expected = decode_pngs(pngs)
    load = functools.partial(datasets.load_dataset, str(setup.repo), split="train", cache_dir=str(setup.warm_cache))
    images = load()
    check_same_pixels("the PNG recipe", recipes.png_array(images)[0], expected)
    check_same_pixels('with_format("numpy")', recipes.png_array_numpy_format(images), expected)
    check_same_pixels("the pixels recipe", recipes.pixels_array(load(name=fashion_mnist.PIXELS))[0], expected)
    runs = {
        "pixels": lambda: seconds(lambda: recipes.pixels_array(load(name=fashion_mnist.PIXELS))),
        "pil_floor": lambda: seconds(lambda: decode_pngs(pngs)),
        "png": lambda: seconds(lambda: recipes.png_array(images)),
        "png_numpy_format": lambda: seconds(lambda: recipes.png_array_numpy_format(images)),
    }
    if setup.archive_dir is not None:
        archive_dir, archives = setup.archive_dir, setup.archives
        check_same_pixels("gunzip", peers.keras_style_split(archive_dir, archives, "train")[0], expected)
        runs["keras_floor"] = lambda: seconds(lambda: peers.keras_style_split(archive_dir, archives, "train"))
    times = interleaved_medians(runs, setup.repeat)
    floor = times.get("keras_floor")
    return {
        "keras_floor_seconds": floor,
        "keras_load_data_seconds": keras_figure(setup) if with_keras else None,
        "array_seconds_pixels": times["pixels"],
        "array_ratio_pixels": times["pixels"] / floor if floor else None,
        "decode_floor_seconds": times["pil_floor"],
        "decode_seconds": times["png"],
        "decode_ratio": times["png"] / times["pil_floor"],
        "decode_seconds_numpy_format": times["png_numpy_format"],
        "decode_ratio_numpy_format": times["png_numpy_format"] / times["pil_floor"],
    }


def keras_figure(setup: Setup) -> float | None:
    """Keras' own loader where it can run; otherwise None, with the reason recorded."""
    try:
        if setup.archive_dir is None:
            raise peers.Unavailable("no local copy of the archives (pass --data-dir)")
        return peers.keras_load_data_seconds(setup.archive_dir, setup.archives, setup.work, setup.repeat)
    except peers.Unavailable as reason:
        setup.unavailable["keras_load_data_seconds"] = str(reason)
        return None


def check_same_pixels(what: str, images: np.ndarray, expected: np.ndarray) -> None:
    """A timing of a wrong result means nothing: each path must give the floor's exact array."""
    if images.shape != expected.shape or images.dtype != np.uint8 or not np.array_equal(images, expected):
        raise RuntimeError(
            f"{what} returned {images.dtype} {images.shape}, expected the {expected.dtype} {expected.shape} "
            "array that bare PIL decoding gives; the benchmark would time a different result"
        )


# --- One epoch, not streaming: torchvision's loop against this copy's ------------------------


def epoch_seconds(batches: recipes.Batches, num_examples: int) -> float:
    """One pass of model inputs; fails unless it gives every example once, as float pixels in [0, 1]."""
    start = time.perf_counter()
    seen = 0
    for x, y in batches:
        if x.dtype != torch.float32 or x.shape[1:] != (1, *fashion_mnist.IMAGE_SHAPE) or len(x) != len(y):
            raise RuntimeError(f"a batch of {tuple(x.shape)} {x.dtype} for {len(y)} labels is not model input")
        seen += len(y)
    elapsed = time.perf_counter() - start
    if seen != num_examples:
        raise RuntimeError(f"an epoch gave {seen} examples, expected {num_examples}")
    return elapsed


def bench_epochs(setup: Setup) -> Figures:
    """A shuffled epoch of 256-example batches with 2 workers: torchvision's loop, then ours.

    The torchvision-style loader holds the uint8 arrays in memory and makes a PIL image and
    a tensor per item. Ours: what users write without the card (`with_format("torch")`)
    for each config, and the card's recipe for each.
    """
    quiet_datasets()
    load = functools.partial(datasets.load_dataset, str(setup.repo), split="train", cache_dir=str(setup.warm_cache))
    images, pixels = load(), load(name=fashion_mnist.PIXELS)
    arrays, labels = recipes.pixels_array(pixels)
    n = len(labels)
    runs = {
        "torchvision_0w": lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 0), n),
        "torchvision_2w": lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 2), n),
        "pixels_plain": lambda: epoch_seconds(recipes.plain_loader(pixels, 2), n),
        "pixels_card": lambda: epoch_seconds(recipes.pixels_in_memory(pixels), n),
        "image_plain": lambda: epoch_seconds(recipes.plain_loader(images, 2), n),
        "image_card": lambda: epoch_seconds(recipes.png_batch_transform(images, 2), n),
    }
    times = interleaved_medians(runs, setup.repeat)
    figures: Figures = {f"epoch_seconds_{name}": value for name, value in times.items()}
    for name in ("pixels_plain", "pixels_card", "image_plain", "image_card"):
        figures[f"epoch_ratio_{name}"] = times[name] / times["torchvision_2w"]
    return figures


# --- One epoch, streaming: the same torchvision loop against the card's streams ---------------


def bench_stream(setup: Setup) -> Figures:
    """Streamed epochs with 0, 1 and 2 workers for each config (and the older one-file layout), against torchvision.

    Runs in a fresh interpreter (`in_fresh_process`), as a training script would.
    """
    arrays, labels = recipes.pixels_array(
        datasets.load_dataset(str(setup.repo), fashion_mnist.PIXELS, split="train", cache_dir=str(setup.warm_cache))
    )
    n = len(labels)
    streams = {
        "pixels": functools.partial(recipes.pixels_stream_batches, setup.repo),
        "image": functools.partial(recipes.png_stream_batches, setup.repo),
        "one_shard": functools.partial(recipes.png_stream_batches, setup.one_shard),
    }
    runs = {"torchvision_2w": lambda: epoch_seconds(peers.torchvision_style_batches(arrays, labels, 2), n)}
    for name, stream in streams.items():
        for workers in WORKER_COUNTS:
            runs[f"{name}_{workers}w"] = functools.partial(_stream_epoch, stream, workers, n)
    times = interleaved_medians(runs, setup.repeat)
    figures: Figures = {f"stream_rate_{key}": n / value for key, value in times.items() if key != "torchvision_2w"}
    figures["stream_seconds_torchvision_2w"] = times["torchvision_2w"]
    figures |= {f"stream_seconds_{name}_2w": times[f"{name}_2w"] for name in ("pixels", "image")}
    figures["stream_seconds_pixels_0w"] = times["pixels_0w"]
    figures["stream_ratio_pixels_0w"] = times["pixels_0w"] / times["torchvision_2w"]
    for name in ("pixels", "image"):
        figures[f"stream_ratio_{name}"] = times[f"{name}_2w"] / times["torchvision_2w"]
    figures["stream_scaling_2w"] = figures["stream_rate_image_2w"] / figures["stream_rate_image_1w"]
    figures["stream_scaling_2w_pixels"] = figures["stream_rate_pixels_2w"] / figures["stream_rate_pixels_1w"]
    figures["stream_scaling_2w_one_shard"] = figures["stream_rate_one_shard_2w"] / figures["stream_rate_one_shard_1w"]
    return figures


def _stream_epoch(batches: Callable[[int], recipes.Batches], workers: int, num_examples: int) -> float:
    return epoch_seconds(batches(workers), num_examples)


def write_one_shard_copy(repo: pathlib.Path, target: pathlib.Path, cache_dir: pathlib.Path) -> pathlib.Path:
    """The older layout from the same rows: one Parquet file per split, as `Dataset.to_parquet` writes by default.

    The card is copied unchanged: its `configs` globs (`data/{split}-*`) match the new names.
    """
    for config, split in itertools.product(fashion_mnist.FEATURES, fashion_mnist.SPLITS):
        files = [str(path) for path in sorted((repo / layout.CONFIG_DIRS[config]).glob(f"{split}-*.parquet"))]
        rows = datasets.Dataset.from_parquet(files, cache_dir=str(cache_dir))
        path = target / layout.shard_path(config, split, 0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(str(path))
    shutil.copy(repo / layout.CARD, target / layout.CARD)
    return target


# --- The local Hub -------------------------------------------------------------------

HUB_REPO_ID = "org/fashion_mnist"
HUB_WORKER_COUNTS = (1, 2)


@contextlib.contextmanager
def local_hub_serving(repo: pathlib.Path, root: pathlib.Path) -> Iterator[str]:
    """Serve the push's upload set of `repo` as `org/fashion_mnist` on the tests' local Hub; yield the repo id.

    The same olah server and Range-honouring front the tests use (`tests/local_hub.py`),
    with huggingface_hub, `datasets` and child processes pointed at it.
    """
    from scripts.push_to_hub import upload_set
    from tests.local_hub import OLAH_CLI, LocalHub, clients_pointed_at

    if not OLAH_CLI.exists():
        raise peers.Unavailable("olah is not installed (it comes with the `test` extra)")

    with LocalHub(root) as hub:
        hub.publish(HUB_REPO_ID, upload_set(repo))
        with clients_pointed_at(hub.endpoint):
            yield HUB_REPO_ID


def bench_hub(setup: Setup) -> Figures:
    """`load_dataset("org/fashion_mnist")` and streaming over HTTP from a local Hub serving what the push uploads."""
    try:
        with local_hub_serving(setup.repo, pathlib.Path(tempfile.mkdtemp(prefix="hub-", dir=setup.work))) as repo_id:
            warm = setup.work / "hub-cache"
            load_seconds(repo_id, warm)
            times = interleaved_medians(
                {
                    "cold": lambda: load_seconds(
                        repo_id, pathlib.Path(tempfile.mkdtemp(prefix="cache-", dir=setup.work)), redownload=True
                    ),
                    "warm": lambda: load_seconds(repo_id, warm),
                },
                setup.repeat,
            )
            figures: Figures = {"hub_load_seconds_cold": times["cold"], "hub_load_seconds_warm": times["warm"]}
            return figures | in_fresh_process(bench_hub_stream, setup)
    except peers.Unavailable as reason:
        setup.unavailable["hub"] = str(reason)
        return {}


def bench_hub_stream(setup: Setup) -> Figures:
    """Examples per second streamed over HTTP from the local Hub (HF_ENDPOINT is inherited) with 1 and 2 workers."""
    n = num_rows(setup.repo, "train")
    streams = {
        "image": functools.partial(recipes.png_stream_batches, HUB_REPO_ID),
        "pixels": functools.partial(recipes.pixels_stream_batches, HUB_REPO_ID),
    }
    runs = {
        f"{name}_{workers}w": functools.partial(_stream_epoch, stream, workers, n)
        for name, stream in streams.items()
        for workers in HUB_WORKER_COUNTS
    }
    times = interleaved_medians(runs, setup.repeat)
    return {f"hub_stream_rate_{key}": n / value for key, value in times.items()}


# --- Bytes -----------------------------------------------------------------------------


def parquet_bytes(repo: pathlib.Path, config: str) -> int:
    return sum(path.stat().st_size for path in (repo / layout.CONFIG_DIRS[config]).glob("*.parquet"))


def bench_bytes(setup: Setup) -> Figures:
    """What users download: each config's Parquet bytes, against the archives, the one-file layout, each other."""
    image, pixels = (parquet_bytes(setup.repo, config) for config in (fashion_mnist.NAME, fashion_mnist.PIXELS))
    one_shard = parquet_bytes(setup.one_shard, fashion_mnist.NAME)
    gz = sum(archive.gz_num_bytes for archive in setup.archives)
    return {
        "parquet_bytes": image,
        "parquet_bytes_pixels": pixels,
        "parquet_bytes_one_shard": one_shard,
        "gz_bytes": gz,
        "bytes_ratio_vs_gz": image / gz,
        "bytes_ratio_vs_one_shard": image / one_shard,
        "bytes_ratio_two_configs": (image + pixels) / image,
    }


# --- The whole run ---------------------------------------------------------------------


def local_archive_dir(builder_kwargs: Mapping[str, Any]) -> pathlib.Path | None:
    """Where the raw loaders can read the archives: `data_dir`, else a system copy; None if only mirrors have them."""
    archives = builder_kwargs.get("archives", fashion_mnist.ARCHIVES)
    candidates = [builder_kwargs.get("data_dir"), *builder_kwargs.get("system_dirs", fashion_mnist.SYSTEM_DIRS)]
    for directory in filter(None, candidates):
        path = pathlib.Path(directory).expanduser()
        if all((path / archive.filename).is_file() for archive in archives):
            return path
    return None


def num_rows(repo: pathlib.Path, split: str) -> int:
    files = (repo / layout.CONFIG_DIRS[fashion_mnist.NAME]).glob(f"{split}-*.parquet")
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def run_benchmark(
    work: pathlib.Path, builder_kwargs: Mapping[str, Any], *, repeat: int = 5, with_keras: bool = True
) -> dict[str, Any]:
    """Every measurement, in `work` (a scratch directory); returns the figures, the machine and what could not run.

    `builder_kwargs` go to `build.build_repo` (`data_dir`, `mirrors`, `system_dirs`, `archives`).
    """
    logger.info("building the copy the other measurements read")
    repo = build.build_repo(work / "repo", num_proc=2, **builder_kwargs).repo_dir
    warm_cache = work / "hf-cache"
    setup = Setup(
        work=work,
        repeat=repeat,
        builder_kwargs=builder_kwargs,
        repo=repo,
        one_shard=write_one_shard_copy(repo, work / "one-shard", warm_cache),
        warm_cache=warm_cache,
        archive_dir=local_archive_dir(builder_kwargs),
        unavailable={},
    )
    if setup.archive_dir is None:
        setup.unavailable["keras_floor_seconds"] = "no local copy of the archives (pass --data-dir)"
    figures: Figures = {}
    figures |= measured("build", lambda: bench_build(setup))
    figures |= measured("load", lambda: bench_load(setup))
    figures |= measured("arrays", lambda: bench_arrays(setup, with_keras))
    figures |= measured("epochs", lambda: in_fresh_process(bench_epochs, setup))
    figures |= measured("stream", lambda: in_fresh_process(bench_stream, setup))
    figures |= measured("hub", lambda: bench_hub(setup))
    figures |= bench_bytes(setup)
    return {**figures, "repeat": repeat, "machine": machine(), "unavailable": setup.unavailable}


# --- Report ----------------------------------------------------------------------------


def target_verdict(results: Mapping[str, Any], key: str) -> str:
    comparison, bound = TARGETS[key]
    value = results.get(key)
    if value is None:
        return f"{'≤' if comparison == '<=' else '≥'} {bound}: not measured"
    met = value <= bound if comparison == "<=" else value >= bound
    return f"{'≤' if comparison == '<=' else '≥'} {bound}: {'met' if met else '**missed**'}"


def markdown(results: Mapping[str, Any]) -> str:
    """The card's performance section: machine, the comparison with the peers, the other steps, streaming rates."""
    parts = [
        _preamble(results),
        _peers_table(results),
        PLAIN_RECIPE_NOTE,
        _steps_table(results),
        _stream_table(results),
    ]
    return "\n\n".join([*parts, _background(results)])


def _preamble(results: Mapping[str, Any]) -> str:
    info = results["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items() if version)
    return (
        f"Measured with `scripts/benchmark.py` on {info['usable_cores']} cores ({info['platform']}), "
        f"Python {info['python']}, {versions}; each figure is the median of {results['repeat']} runs, "
        "the compared steps taking turns. Absolute times depend on the machine; the ratios are what to compare."
    )


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _ratio(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _peers_table(r: Mapping[str, Any]) -> str:
    """This copy against Keras and torchvision, on the train split: what someone who wants tensors compares."""
    keras = f"gunzip + `np.frombuffer` (Keras' `load_data()`): {_seconds(r['keras_floor_seconds'])}"
    torchvision = f"torchvision-style `FashionMNIST` + `ToTensor()`: {_seconds(r['epoch_seconds_torchvision_2w'])}"
    streamed_peer = f"the same loop, this run: {_seconds(r['stream_seconds_torchvision_2w'])}"
    return "\n".join(
        [
            "Against the peers (train split, 60,000 examples; an epoch is shuffled 256-example batches of float "
            "tensors `(256, 1, 28, 28)` in [0, 1], with 2 `DataLoader` workers):",
            "",
            "| what | the peer | this copy | ratio | target |",
            "|---|---|---|---:|---|",
            _row("train split as one uint8 array", keras,
                 f"`pixels`, `load_dataset` (cached) + the card's recipe: {_seconds(r['array_seconds_pixels'])}",
                 _ratio(r["array_ratio_pixels"]), target_verdict(r, "array_ratio_pixels")),
            _row("an epoch, not streaming", torchvision,
                 f"`pixels`, plain `DataLoader(ds.with_format(\"torch\"))`: "
                 f"{_seconds(r['epoch_seconds_pixels_plain'])}",
                 _ratio(r["epoch_ratio_pixels_plain"]), target_verdict(r, "epoch_ratio_pixels_plain")),
            _row("", "the same",
                 f"`pixels`, the card's in-memory recipe: {_seconds(r['epoch_seconds_pixels_card'])}",
                 _ratio(r["epoch_ratio_pixels_card"]), ""),
            _row("", "the same",
                 f"`fashion_mnist`, plain `DataLoader(ds.with_format(\"torch\"))`: "
                 f"{_seconds(r['epoch_seconds_image_plain'])}",
                 _ratio(r["epoch_ratio_image_plain"]), target_verdict(r, "epoch_ratio_image_plain")),
            _row("", "the same",
                 f"`fashion_mnist`, the card's batch-decoding recipe: {_seconds(r['epoch_seconds_image_card'])}",
                 _ratio(r["epoch_ratio_image_card"]), ""),
            _row("an epoch, streaming (local files)", streamed_peer,
                 f"`pixels`, the card's stream: {_seconds(r['stream_seconds_pixels_2w'])}",
                 _ratio(r["stream_ratio_pixels"]), target_verdict(r, "stream_ratio_pixels")),
            _row("", "the same",
                 f"`pixels`, the same stream with no workers: {_seconds(r['stream_seconds_pixels_0w'])}",
                 _ratio(r["stream_ratio_pixels_0w"]), ""),
            _row("", "the same",
                 f"`fashion_mnist`, the card's stream: {_seconds(r['stream_seconds_image_2w'])}",
                 _ratio(r["stream_ratio_image"]), target_verdict(r, "stream_ratio_image")),
        ]
    )  # fmt: skip


PLAIN_RECIPE_NOTE = (
    'The plain `DataLoader(ds.with_format("torch"), batch_size=256, shuffle=True)` rows are what `datasets` gives '
    "without the card: it gathers each batch as 256 one-row slices, converts each example on its own (decoding each "
    "PNG through a `PIL.Image`, widening `pixels` to int64), splits the batch into examples and the collate function "
    "stacks them again. The card's recipes do none of that."
)


def _steps_table(r: Mapping[str, Any]) -> str:
    floor = f"PIL PNG-encoding all images, 1 process: {_seconds(r['encode_floor_seconds'])}"
    pil = f"bare PIL decoding of the same PNGs: {_seconds(r['decode_floor_seconds'])}"
    return "\n".join(
        [
            "The other steps:",
            "",
            "| step | measured | compared with | ratio | target |",
            "|---|---:|---|---:|---|",
            _row("build: archives → verified shards of both configs + card, 1 process",
                 _seconds(r["build_seconds_1proc"]), floor, _ratio(r["build_ratio_1proc"]), ""),
            _row("build, 2 processes", _seconds(r["build_seconds_2proc"]), "the same", _ratio(r["build_ratio_2proc"]),
                 target_verdict(r, "build_ratio_2proc")),
            _row("`load_dataset` of a local copy, both splits, cold cache", _seconds(r["load_seconds_cold"]),
                 "", "", ""),
            _row("the same, warm cache", _seconds(r["load_seconds_warm"]), "", "", ""),
            _row('`load_dataset("org/fashion_mnist")` from a local Hub (olah), nothing cached',
                 _seconds(r.get("hub_load_seconds_cold")), "", "", ""),
            _row("the same, warm cache", _seconds(r.get("hub_load_seconds_warm")), "", "", ""),
            _row("`fashion_mnist` train split to a uint8 array as the usage section shows",
                 _seconds(r["decode_seconds"]), pil, _ratio(r["decode_ratio"]), target_verdict(r, "decode_ratio")),
            _row('the same with `.with_format("numpy")["image"][:]`', _seconds(r["decode_seconds_numpy_format"]),
                 "the same", _ratio(r["decode_ratio_numpy_format"]), ""),
            _row("`keras.datasets.fashion_mnist.load_data()`, both splits", _seconds(r["keras_load_data_seconds"]),
                 "", "", ""),
            _row("Parquet bytes, `fashion_mnist`", f"{r['parquet_bytes']:,}", f"the .gz archives: {r['gz_bytes']:,}",
                 _ratio(r["bytes_ratio_vs_gz"]), ""),
            _row("", "", f"one file per split: {r['parquet_bytes_one_shard']:,}",
                 _ratio(r["bytes_ratio_vs_one_shard"], 3), target_verdict(r, "bytes_ratio_vs_one_shard")),
            _row("Parquet bytes, both configs", f"{r['parquet_bytes'] + r['parquet_bytes_pixels']:,}",
                 f"`fashion_mnist` alone: {r['parquet_bytes']:,}", _ratio(r["bytes_ratio_two_configs"]),
                 target_verdict(r, "bytes_ratio_two_configs")),
        ]
    )  # fmt: skip


def _stream_table(r: Mapping[str, Any]) -> str:
    names = {
        "pixels": f"`pixels` (train in {fashion_mnist.NUM_SHARDS['train']} files)",
        "image": f"`fashion_mnist` (train in {fashion_mnist.NUM_SHARDS['train']} files)",
        "one_shard": "`fashion_mnist`, one file per split (the older layout)",
    }
    lines = [
        "Streaming the train split from local files into a torch `DataLoader` as the usage section shows, "
        "examples per second:",
        "",
        "| stream | " + " | ".join(_workers(n) for n in WORKER_COUNTS) + " | 2 workers / 1 | target |",
        "|---|" + "---:|" * (len(WORKER_COUNTS) + 1) + "---|",
    ]
    scaling = {
        "pixels": "stream_scaling_2w_pixels",
        "image": "stream_scaling_2w",
        "one_shard": "stream_scaling_2w_one_shard",
    }
    for name, key in scaling.items():
        rates = " | ".join(f"{r[f'stream_rate_{name}_{n}w']:,.0f}" for n in WORKER_COUNTS)
        target = target_verdict(r, key) if key in TARGETS else ""
        lines.append(f"| {names[name]} | {rates} | {r[key]:.2f} | {target} |")
    for name in ("image", "pixels"):
        if f"hub_stream_rate_{name}_1w" in r:
            rates = " | ".join(
                f"{r[f'hub_stream_rate_{name}_{n}w']:,.0f}" if n in HUB_WORKER_COUNTS else "" for n in WORKER_COUNTS
            )
            scaling_2w = r[f"hub_stream_rate_{name}_2w"] / r[f"hub_stream_rate_{name}_1w"]
            lines.append(f"| {names[name]} over HTTP from a local Hub (olah) | {rates} | {scaling_2w:.2f} | |")
    return "\n".join(lines)


def _workers(count: int) -> str:
    return f"{count} worker{'' if count == 1 else 's'}"


def _background(r: Mapping[str, Any]) -> str:
    sections = ("build", "load", "arrays", "epochs", "stream", "hub")
    loads = [(name, r.get(f"background_cores_{name}")) for name in sections]
    if any(value is None for _, value in loads):
        return "Other processes' load was not measured (no /proc/stat)."
    listed = ", ".join(f"{value:.1f} ({name})" for name, value in loads)
    notes = "".join(f" {key}: {reason}." for key, reason in r["unavailable"].items())
    return (
        f"Other processes kept busy on average {listed} of the {r['machine']['usable_cores']} cores; "
        f"a figure taken beside a busy machine understates what a second worker or process adds.{notes}"
    )


def write_card(readme: pathlib.Path, section: str) -> None:
    text = readme.read_text(encoding="utf-8")
    layout.write_atomic(readme, card.replace_block(text, "performance", section))


# --- Command line ----------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs of at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    build.add_source_arguments(parser)
    parser.add_argument("--repeat", type=positive_int, default=5, help="runs per figure, the median kept (default 5)")
    parser.add_argument("--json", type=pathlib.Path, metavar="PATH", help="also write every figure to this JSON file")
    parser.add_argument(
        "--update-card",
        nargs="?",
        const=layout.PROJECT_ROOT / layout.CARD,
        type=pathlib.Path,
        metavar="README",
        help="write the table into the card's `performance` block (default card: this repository's README.md)",
    )
    parser.add_argument("--skip-keras", action="store_true", help="do not time keras.datasets.fashion_mnist")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    logger.setLevel(logging.INFO)  # progress of the benchmark only, not every library's info
    quiet_datasets()
    builder_kwargs = build.source_kwargs(args)
    with tempfile.TemporaryDirectory(prefix="fashion-mnist-benchmark-") as work:
        results = run_benchmark(pathlib.Path(work), builder_kwargs, repeat=args.repeat, with_keras=not args.skip_keras)
    section = markdown(results)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.update_card:
        write_card(args.update_card, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
