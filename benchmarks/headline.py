"""The card's Performance table: the headline comparisons a reader can act on.

Each row is this copy's way against what a user would pick instead, both measured in the same
run, given as the two figures and their ratio. No targets and no verdicts: those are the
maintainers', in the full report (`benchmarks/RESULTS.md`). A row whose figures the run did not
take is left out, so a partial run gives a shorter table rather than empty cells.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import report

HEADER = ("what you do", "this copy", "what you would use instead", "ratio")


@dataclasses.dataclass(frozen=True)
class Headline:
    """One row: `ours` and `theirs` are figure keys; `unit` says how both read ("s" or "steps/s")."""

    what: str
    ours: str
    instead: str
    theirs: str
    unit: str = "s"

    def taken(self, results: Mapping[str, Any]) -> bool:
        return results.get(self.ours) is not None and results.get(self.theirs) is not None

    def cells(self, results: Mapping[str, Any]) -> tuple[str, str, str, str]:
        ours, theirs = results[self.ours], results[self.theirs]
        return self.what, self.figure(ours), f"{self.instead}: {self.figure(theirs)}", report.ratio(ours / theirs)

    def figure(self, value: float) -> str:
        return report.seconds(value) if self.unit == "s" else f"{value:.1f} {self.unit}"


# The rows `python -m benchmarks` gives, in the card's order.
BENCHMARK_ROWS = (
    Headline("the train split as uint8 arrays: `pixels` and the arrays recipe", "array_seconds_pixels",
             "gunzip + `np.frombuffer`, as Keras' `load_data()`", "keras_floor_seconds"),
    Headline("a first `load_dataset` of the default config, 100 ms a request",
             "cold_seconds_image_100ms_100mbps_percon", "one file a split",
             "cold_seconds_image_one_file_100ms_100mbps_percon"),
    Headline("the Trainer on the default config's stream", "trainer_steps_per_second_stream_image",
             "the split in memory", "trainer_steps_per_second_memory_image", unit="steps/s"),
    Headline("the Trainer's first step, resumed exactly at 90% of an epoch",
             "trainer_first_step_seconds_resumed_90", "a fresh run's", "trainer_first_step_seconds_fresh"),
)  # fmt: skip


def table(results: Mapping[str, Any], rows: Sequence[Headline]) -> str:
    """The Markdown table of the rows taken; empty if none was."""
    taken = [report.row(*headline.cells(results)) for headline in rows if headline.taken(results)]
    return report.table(HEADER, "lrlr", taken)
