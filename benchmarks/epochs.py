"""An epoch of the train split against the real torchvision `FashionMNIST` epoch (2 workers): in memory, streamed.

The loops run in `benchmarks.epoch_runs`, taking turns, with the python of an environment that holds torchvision
(`--torchvision-python`; torchvision 0.29 needs a torch the project's environment does not hold).
"""

import dataclasses
import json
import os
from collections.abc import Mapping

import fashion_mnist
from benchmarks import copies, report
from benchmarks.harness import Setup, Unavailable, run_json

TORCHVISION = "torchvision `FashionMNIST` + `ToTensor()`"
# In-memory loop -> what the table calls it, in the table's order.
ROWS = {
    "pixels_plain": '`pixels`, plain `DataLoader(ds.with_format("torch"))`',
    "pixels_card": "`pixels`, the card's in-memory recipe",
    "image_plain": '`fashion_mnist`, plain `DataLoader(ds.with_format("torch"))`',
    "image_card": "`fashion_mnist`, the card's PNG `DataLoader` recipe",
}
STREAMS = {
    "pixels": "`pixels`, the card's stream",
    "image": "`fashion_mnist`, the card's stream",
    "one_shard": "`fashion_mnist`, one file per split (the older layout)",
}
WORKER_COUNTS = (0, 1, 2)
DEFAULT_STREAMS = {"pixels": (2,), "image": (1, 2)}  # `--long`: every stream of `STREAMS` at every worker count
DECODES = {
    "decode_pil": "PIL, image by image",
    "decode_zlib": "zlib in one pass (what the builder's filter-0 PNGs allow)",
}


@dataclasses.dataclass(frozen=True)
class EpochFigures:
    versions: dict[str, str]  # torchvision, torch and datasets of the environment that ran the loops
    repeat: int
    train_files: int  # the files the streams read
    torchvision_seconds: float  # the reference: torchvision's epoch, 2 workers
    epoch_seconds: dict[str, float]  # in-memory loop (`ROWS`) -> seconds; `--long`: also "torchvision_0w"
    epoch_ratios: dict[str, float]  # the same -> seconds / torchvision's
    stream_seconds: dict[str, float]  # "{stream}_{workers}w" -> seconds
    stream_rates: dict[str, float]  # the same -> examples per second
    stream_ratios: dict[str, float]  # the same -> seconds / torchvision's
    stream_scaling: dict[str, float]  # stream -> its seconds with 1 worker / with 2
    decode_seconds: dict[str, float]  # `DECODES` -> decoding the train split's PNGs, no batches


def measure(setup: Setup) -> EpochFigures:
    if setup.torchvision_python is None or setup.archive_dir is None:
        why = "no --data-dir" if setup.archive_dir is None else "no environment with torchvision (--torchvision-python)"
        raise Unavailable(why)
    work = setup.work / "epochs"
    spec = {
        "archive_dir": str(setup.archive_dir), "archives": [a.filename for a in setup.archives],
        "root": str(work / "torchvision"), "repo": str(setup.repo), "one_shard": str(setup.one_shard),
        "cache_dir": str(setup.warm_cache), "repeat": setup.repeat, "long": setup.long,
        "streams": dict.fromkeys(STREAMS, WORKER_COUNTS) if setup.long else DEFAULT_STREAMS,
    }  # fmt: skip
    work.mkdir()
    command = [str(setup.torchvision_python), "-m", "benchmarks.epoch_runs", json.dumps(spec)]
    answer = run_json(command, os.environ, cwd=str(work))
    files = len(copies.shard_paths(setup.repo, fashion_mnist.NAME, "train"))
    return figures(answer["seconds"], copies.num_rows(setup.repo, "train"), files, answer["versions"], setup.repeat)


def figures(
    seconds: Mapping[str, float], num_examples: int, train_files: int, versions: dict[str, str], repeat: int
) -> EpochFigures:
    torchvision = seconds["torchvision_2w"]
    in_memory = {name: value for name, value in seconds.items() if name in ROWS or name == "torchvision_0w"}
    streams = {
        f"{name}_{n}w": seconds[f"{name}_{n}w"] for name in STREAMS for n in WORKER_COUNTS if f"{name}_{n}w" in seconds
    }
    return EpochFigures(
        versions=versions,
        repeat=repeat,
        train_files=train_files,
        torchvision_seconds=torchvision,
        epoch_seconds=in_memory,
        epoch_ratios={name: in_memory[name] / torchvision for name in ROWS if name in in_memory},
        stream_seconds=streams,
        stream_rates={name: num_examples / value for name, value in streams.items()},
        stream_ratios={name: value / torchvision for name, value in streams.items()},
        stream_scaling={
            name: streams[f"{name}_1w"] / streams[f"{name}_2w"] for name in STREAMS if f"{name}_1w" in streams
        },
        decode_seconds={name: seconds[name] for name in DECODES},
    )


def table(f: EpochFigures) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in f.versions.items())
    compared = f"{TORCHVISION}, 2 workers: {report.seconds(f.torchvision_seconds)}"
    rows = []
    for name, what in ROWS.items():
        if name in f.epoch_seconds:
            judged = report.judged(f, ("epochs", "epoch_ratios", name))
            rows.append(report.row(what, report.seconds(f.epoch_seconds[name]), compared, *judged))
            compared = "the same"
    if "torchvision_0w" in f.epoch_seconds:
        rows.append(
            report.row(f"{TORCHVISION}, no workers", report.seconds(f.epoch_seconds["torchvision_0w"]), "", "", "")
        )
    for name, what in DECODES.items():
        spent, what = f.decode_seconds[name], f"decoding the train split's PNGs: {what}"
        rows.append(
            report.row(what, report.seconds(spent), "the same", report.ratio(spent / f.torchvision_seconds), "")
        )
    caption = f"{versions}; the median of {f.repeat} runs, taking turns:"
    return report.comparison_table(rows, caption) + "\n\n" + stream_table(f)


def stream_table(f: EpochFigures) -> str:
    rows = []
    for name, what in STREAMS.items():
        if f"{name}_2w" not in f.stream_ratios:
            continue
        rates = [report.rate(f.stream_rates.get(f"{name}_{n}w")) for n in WORKER_COUNTS]
        scaling = f.stream_scaling.get(name)  # given where both 1 and 2 workers were taken
        scaled = ["" if scaling is None else report.ratio(scaling)]
        scaled.append(report.verdict_if_target(("epochs", "stream_scaling", name), scaling))
        rows.append(report.row(what, *rates, *scaled, *report.judged(f, ("epochs", "stream_ratios", f"{name}_2w"))))
    caption = f"The same epoch streamed from local files, in {f.train_files} files, examples per second:"
    header = ("stream", *(report.workers(n) for n in WORKER_COUNTS), "2 workers / 1", "target",
              "epoch time / torchvision's, 2 workers", "target")  # fmt: skip
    return report.table(header, "lrrrrlrl", rows, caption)
