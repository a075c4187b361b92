"""The card's Performance table: each row this copy's way against what a user would pick instead, both measured in
the same run, and their ratio. No targets or verdicts: those are the maintainers', in `benchmarks/RESULTS.md`."""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import report


@dataclasses.dataclass(frozen=True)
class Headline:
    """One row: `ours` and `theirs` name figures (`report.Key`); `unit` says how both read ("s" or "steps/s")."""

    what: str
    ours: report.Key
    instead: str
    theirs: report.Key
    unit: str = "s"

    def cells(self, figures: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
        """The row's cells; None if the run did not take both figures."""
        ours, theirs = report.figure(figures, self.ours), report.figure(figures, self.theirs)
        if ours is None or theirs is None:
            return None
        return self.what, self.figure(ours), f"{self.instead}: {self.figure(theirs)}", report.ratio(ours / theirs)

    def figure(self, value: float) -> str:
        return report.seconds(value) if self.unit == "s" else f"{value:.1f} {self.unit}"


# The rows `python -m benchmarks` gives, in the card's order.
TORCHVISION_EPOCH = ("epochs", "torchvision_seconds")
BENCHMARK_ROWS = (
    Headline("the train split as uint8 arrays (`pixels`)", ("arrays", "array_seconds_pixels"),
             "Keras' `load_data()` way", ("arrays", "keras_floor_seconds")),
    Headline("an epoch, batches of 256: `pixels` in memory", ("epochs", "epoch_seconds", "pixels_card"),
             "torchvision `FashionMNIST`", TORCHVISION_EPOCH),
    Headline("the same, PNGs: the `DataLoader` recipe", ("epochs", "epoch_seconds", "image_card"),
             "the same", TORCHVISION_EPOCH),
    Headline("a first `load_dataset`, 100 ms a request",
             ("network", "first_uses", report.LINKS[0], "image", "seconds"), "one file a split",
             ("network", "first_uses", report.LINKS[0], "image_one_file", "seconds")),
    Headline("the Trainer on the stream", ("trainer", "steps_per_second_stream", "image"),
             "the split in memory", ("trainer", "steps_per_second_memory", "image"), unit="steps/s"),
    Headline("the Trainer resumed at 90% of an epoch: first step", ("trainer", "first_step_seconds_resumed", "90"),
             "a fresh run's", ("trainer", "first_step_seconds_fresh")),
)  # fmt: skip


def table(figures: Mapping[str, Any], rows: Sequence[Headline]) -> str:
    """The Markdown table of the rows taken from `{section: its figures}` (fewer rows, not empty cells); "" if none."""
    taken = [report.row(*cells) for cells in (headline.cells(figures) for headline in rows) if cells]
    return report.table(("what you do", "this copy", "what you would use instead", "ratio"), "lrlr", taken)
