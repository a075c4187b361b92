"""Epochs of the train split against torchvision's loop: in memory (`in_memory`) and streamed (`stream`).

Both compare with the same torchvision-style epoch (in-memory uint8 arrays, a PIL image and
`ToTensor()` per item, 2 `DataLoader` workers). It runs once a round, taking turns with every
loop of both, so the two tables share one measurement of it. Runs in a fresh interpreter
(`in_fresh_process`), as a training script would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks import in_memory as bench_in_memory
from benchmarks import peers, stream
from benchmarks.harness import Figures, Setup, epoch_seconds, in_fresh_process, interleaved_medians
from benchmarks.in_memory import TrainSplit


def measure(setup: Setup) -> Figures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> Figures:
    train = TrainSplit.load(setup)
    n = len(train)
    in_memory, streamed = bench_in_memory.runs(setup, train), stream.runs(setup, n)
    torchvision = {
        "torchvision_2w": lambda: epoch_seconds(peers.torchvision_style_batches(train.arrays, train.labels, 2), n)
    }
    times = interleaved_medians(torchvision | in_memory | streamed, setup.repeat)
    reference = times["torchvision_2w"]
    return (
        {"epoch_seconds_torchvision_2w": reference}
        | bench_in_memory.figures({name: times[name] for name in in_memory}, reference)
        | stream.figures({name: times[name] for name in streamed}, reference, n)
    )


def table(r: Mapping[str, Any]) -> str:
    return bench_in_memory.table(r) + "\n\n" + stream.table(r)
