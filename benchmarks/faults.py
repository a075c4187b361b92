"""What a Hub fault costs a streamed epoch (`tests/test_stream_faults.py` shows it stays whole): the card's PNG stream
of the test split from the tests' local Hub, clean, then with its middle Parquet read failing as each fault. The cost
is huggingface_hub's wait (`HF_HUB_DOWNLOAD_TIMEOUT` as users have it); one round by default: the waits are fixed."""

import dataclasses
import functools
import tempfile

from benchmarks import copies, loops, report
from benchmarks.harness import Setup, Unavailable, epoch_seconds, interleaved_medians
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


def measure(setup: Setup) -> FaultFigures:
    from local_hub import OLAH_CLI, FaultKind, Faults, LocalHub, clients_pointed_at
    from scripts.push_to_hub import upload_set

    if not OLAH_CLI.exists():
        raise Unavailable("olah is not installed (it comes with the `test` extra)")
    rounds = setup.repeat if setup.long else 1
    num_examples = copies.num_rows(setup.repo, SPLIT)
    with LocalHub(tempfile.mkdtemp(prefix="faulty-hub-", dir=setup.work)) as hub, clients_pointed_at(hub.endpoint):
        hub.publish(layout.REPO_ID, upload_set(setup.repo))

        def clean_epoch() -> float:
            hub.front.faults = None  # no fault armed; the Parquet reads are counted from here
            return epoch_seconds(split_batches(), num_examples)

        clean = clean_epoch()  # also warms the process: imports, the Hub's metadata
        reads = hub.front.data_reads

        def faulted_epoch(kind: str) -> float:
            """The same epoch with the middle one of a clean epoch's Parquet reads failing as `kind`, once."""
            with hub.front.failing(Faults(FaultKind(kind), first=max(1, reads // 2))):
                seconds = epoch_seconds(split_batches(), num_examples)
                if hub.front.faults_served != 1:
                    raise RuntimeError(f"the {kind} fault was served {hub.front.faults_served} times, not once")
            return seconds

        runs = {"none": clean_epoch} | {kind: functools.partial(faulted_epoch, kind) for kind in KINDS}
        times = interleaved_medians(runs, rounds, taken={"none": [clean]})
    costs = {kind: times[kind] - times["none"] for kind in KINDS}
    return FaultFigures(times, costs, reads, num_examples, rounds)


def split_batches() -> loops.Batches:
    """The test split through the card's PNG stream (`recipes/stream_png.py`) from the Hub, decoded in the workers."""
    return loops.png_stream_batches(layout.REPO_ID, WORKERS, split=SPLIT)


def table(f: FaultFigures) -> str:
    runs = "one run each" if f.rounds == 1 else f"the median of {f.rounds} runs each, taking turns"
    faults = {"none": "none", **WHAT_THE_CLIENT_DOES}
    costs = {"none": ""} | {kind: f"{f.cost_seconds[kind]:+.2f} s" for kind in KINDS}
    rows = [report.row(faults[name], report.seconds(f.epoch_seconds[name]), costs[name]) for name in ("none", *KINDS)]
    caption = f"The test split's {f.examples:,} examples, {f.data_reads} Parquet reads a clean epoch; {runs}:"
    return report.table(("fault", "epoch", "cost"), "lrr", rows, caption)
