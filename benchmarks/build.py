"""The build (archives -> verified shards of both configs, preview, card, infos) against its floor: PIL-encoding
every image as PNG once, in one process, which no build can skip. That costs about the same per image, so by default
it is timed on every `FLOOR_STRIDE`-th image and scaled up; `--long` encodes them all and adds the 1-process build."""

import dataclasses
import functools
import io
import tempfile

import datasets
import numpy as np
from PIL import Image as PILImage

import fashion_mnist
from benchmarks import harness, report
from recipes import arrays_pixels
from scripts import build

FLOOR_STRIDE = 10


@dataclasses.dataclass(frozen=True)
class BuildFigures:
    encode_floor_seconds: float  # scaled up from every `encode_floor_stride`-th image
    encode_floor_stride: int
    build_seconds_2proc: float  # the target; its first run made the copy the other sections read
    build_ratio_2proc: float
    build_seconds_1proc: float | None = None  # `--long`
    build_ratio_1proc: float | None = None


def measure(setup: harness.Setup) -> BuildFigures:
    stride = 1 if setup.long else FLOOR_STRIDE
    pixels = all_pixels(setup)
    sample = pixels[::stride]
    builds = {f"{n}proc": functools.partial(build_seconds, setup, n) for n in ((2, 1) if setup.long else (2,))}
    runs = {"encode_floor": lambda: harness.seconds(lambda: encode_pngs(sample)) * len(pixels) / len(sample), **builds}
    taken = {"2proc": [setup.build_seconds]} if setup.build_seconds else {}
    times = harness.interleaved_medians(runs, setup.repeat, taken)
    floor, two, one = times["encode_floor"], times["2proc"], times.get("1proc")
    return BuildFigures(floor, stride, two, two / floor, one, None if one is None else one / floor)


def all_pixels(setup: harness.Setup) -> np.ndarray:
    splits = datasets.load_dataset(str(setup.repo), fashion_mnist.PIXELS, cache_dir=str(setup.warm_cache))
    return np.concatenate([arrays_pixels.to_arrays(splits[split])[0] for split in fashion_mnist.SPLITS])


def encode_pngs(images: np.ndarray) -> list[bytes]:
    encoded = []
    for image in images:
        buffer = io.BytesIO()
        PILImage.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def build_seconds(setup: harness.Setup, num_proc: int) -> float:
    with tempfile.TemporaryDirectory(prefix=f"build-{num_proc}proc-", dir=setup.work) as repo:
        return build.build_repo(repo, num_proc=num_proc, **setup.builder_kwargs).seconds


def table(f: BuildFigures) -> str:
    sample = "all images" if f.encode_floor_stride == 1 else f"every {f.encode_floor_stride}th image, scaled up"
    floor = f"PIL PNG-encoding {sample}, 1 process: {report.seconds(f.encode_floor_seconds)}"
    builds = {"1 process": f.build_seconds_1proc, "2 processes": f.build_seconds_2proc}
    rows = [
        report.row(what, report.seconds(value), floor, *report.judged(f, ("build", f"build_ratio_{what[0]}proc")))
        for what, value in builds.items()
        if value is not None
    ]
    return report.comparison_table(rows, subject="build")
