"""What a Hub fault costs a streamed epoch: the test split from the local Hub, clean and with one failed read.

Long streamed runs meet the Hub's faults (a reset connection, a 503, a 429, a body that
stalls); `tests/test_stream_faults.py` shows that one failed read leaves the epoch whole on
datasets 5.2. This section says what it costs: an epoch of the card's PNG stream of the test
split (2 DataLoader workers) from the tests' local Hub (`local_hub`), clean, then
with the front failing one Parquet read in the middle of the epoch (half the reads of the
clean epoch), each fault in turn. The difference from the clean epoch is the fault's cost:
huggingface_hub's first backoff (1 s), `Retry-After` + 1 s for a 429, and for a stall the
read timeout (`HF_HUB_DOWNLOAD_TIMEOUT`, 10 s by default, left as users have it) before it.

One round by default (the costs are mostly fixed waits; under a minute on 2 cores); `--long`
takes the median of the run's repeats, the epochs taking turns. Runs in a fresh interpreter.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from collections.abc import Callable
from typing import Any

from benchmarks import copies, loops, report
from benchmarks.harness import Setup, epoch_seconds, in_fresh_process, interleaved_medians
from scripts import layout

SPLIT = "test"
WORKERS = 2
KINDS = ("reset", "503", "429", "stall")  # `local_hub.FaultKind` values, in the table's order
WHAT_THE_CLIENT_DOES = {
    "reset": "a reset mid-body: huggingface_hub retries the range after 1 s",
    "503": "503: huggingface_hub retries after 1 s",
    "429": "429 with `Retry-After: 1`: huggingface_hub waits 1 + 1 s",
    "stall": "a body that stalls: the read timeout (10 s), then a retry after 1 s",
}


@dataclasses.dataclass(frozen=True)
class FaultFigures:
    epoch_seconds: dict[str, float]  # "none" (a clean epoch) and each fault kind -> the epoch's seconds
    cost_seconds: dict[str, float]  # each fault kind -> its epoch's seconds less the clean epoch's
    data_reads: int  # the Parquet reads of a clean epoch; the fault falls on the middle one
    examples: int
    rounds: int  # runs per figure


def measure(setup: Setup) -> FaultFigures | None:
    """The section, in a fresh interpreter; nothing if olah (the `test` extra) is not installed."""
    from local_hub import OLAH_CLI

    if not OLAH_CLI.exists():
        setup.unavailable["faults"] = "olah is not installed (it comes with the `test` extra)"
        return None
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> FaultFigures:
    from local_hub import LocalHub, clients_pointed_at
    from scripts.push_to_hub import upload_set

    rounds = setup.repeat if setup.long else 1
    root = pathlib.Path(tempfile.mkdtemp(prefix="faulty-hub-", dir=setup.work))
    num_examples = copies.num_rows(setup.repo, SPLIT)
    with LocalHub(root) as hub, clients_pointed_at(hub.endpoint):
        hub.publish(layout.REPO_ID, upload_set(setup.repo))
        clean, reads = clean_epoch(hub.front, num_examples)  # also warms the process: imports, the Hub's metadata
        runs = {"none": lambda: clean_epoch(hub.front, num_examples)[0]}
        runs |= {kind: faulted_epoch(hub.front, kind, max(1, reads // 2), num_examples) for kind in KINDS}
        times = interleaved_medians(runs, rounds, taken={"none": [clean]})
    costs = {kind: times[kind] - times["none"] for kind in KINDS}
    return FaultFigures(times, costs, reads, num_examples, rounds)


def split_batches() -> loops.Batches:
    """The test split through the card's PNG stream (`recipes/stream_png.py`), decoded in the workers."""
    return loops.png_stream_batches(layout.REPO_ID, WORKERS, split=SPLIT)


def clean_epoch(front: Any, num_examples: int) -> tuple[float, int]:
    """Seconds of a clean epoch, and how many Parquet reads it made."""
    front.faults = None
    seconds = epoch_seconds(split_batches(), num_examples)
    return seconds, front.data_reads


def faulted_epoch(front: Any, kind: str, first: int, num_examples: int) -> Callable[[], float]:
    """A run: an epoch with read number `first` failing as `kind`; it must still give every example once."""
    from local_hub import FaultKind, Faults

    def run() -> float:
        with front.failing(Faults(FaultKind(kind), first=first)):
            seconds = epoch_seconds(split_batches(), num_examples)
            if front.faults_served != 1:
                raise RuntimeError(f"the {kind} fault was served {front.faults_served} times, not once")
        return seconds

    return run


def table(f: FaultFigures) -> str:
    runs = "one run each" if f.rounds == 1 else f"the median of {f.rounds} runs each, taking turns"
    rows = [report.row("none", report.seconds(f.epoch_seconds["none"]), "")]
    rows += [
        report.row(WHAT_THE_CLIENT_DOES[kind], report.seconds(f.epoch_seconds[kind]), f"{f.cost_seconds[kind]:+.2f} s")
        for kind in KINDS
    ]
    caption = f"The test split's {f.examples:,} examples, {f.data_reads} Parquet reads a clean epoch; {runs}:"
    return report.table(("fault", "epoch", "cost"), "lrr", rows, caption)
