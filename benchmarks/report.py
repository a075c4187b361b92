"""The benchmark's targets and the pieces every section's table is made of (cells, rows, verdicts).

The targets are the project's numbers in one place; each section's table sets its figure beside
its target, and `tests/benchmarks/test_run.py` checks that every target has a verdict in the card.
"""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from scripts import layout

REPORT = pathlib.Path(__file__).with_name("RESULTS.md")  # the full report: every table, each target's verdict

# key -> (comparison, bound): the targets the benchmark is held to.
TARGETS = {
    # Against the peers: Keras' arrays and torchvision's epoch.
    "array_ratio_pixels": ("<=", 1.0),
    "epoch_ratio_pixels_plain": ("<=", 0.5),
    "epoch_ratio_image_plain": ("<=", 1.2),
    "stream_ratio_pixels_2w": ("<=", 1.5),
    "stream_ratio_image_2w": ("<=", 2.0),
    "bytes_ratio_two_configs": ("<=", 2.1),
    # The build and the layout.
    "build_ratio_2proc": ("<=", 0.7),
    "decode_ratio": ("<=", 1.3),
    "stream_scaling_2w_image": (">=", 1.7),
    "bytes_ratio_vs_one_shard": ("<=", 1.02),
    # First use over the network: a cold load of each config at most the one-file layout's at every link `--long`
    # tries (0, 50 and 100 ms; 100 Mbit/s per connection or shared); at 100 ms with a cap per connection, the default
    # run's link, parallel files should win: aim 0.8. Streaming from the Hub at 0 ms against the same recipe on local
    # files, with each worker count `--long` takes.
    **{
        f"cold_ratio_{config}_{ms}ms_100mbps_{scope}": ("<=", 0.8 if (ms, scope) == (100, "percon") else 1.0)
        for config in ("image", "pixels")
        for ms in (0, 50, 100)
        for scope in ("percon", "shared")
    },
    **{
        f"hub_stream_ratio_{config}_{workers}w_0ms": (">=", 0.7)
        for config in ("image", "pixels")
        for workers in (0, 1, 2)
    },
    # The Trainer on the stream: steps per second against the same Trainer on the split in memory, and a
    # resumed run's seconds to its first step against a fresh run's, resumed exactly at 25%, 50% and 90% of an
    # epoch, and the stream state each rank writes into a checkpoint.
    "trainer_ratio_image": (">=", 0.9),
    "trainer_ratio_pixels": (">=", 0.9),
    "trainer_resume_ratio_25": ("<=", 1.2),
    "trainer_resume_ratio_50": ("<=", 1.2),
    "trainer_resume_ratio_90": ("<=", 1.2),
    "trainer_loader_state_bytes": ("<=", 16_000_000),
    # The real torchvision (`benchmarks.torchvision_peer`, run apart: it needs torchvision's own environment): an
    # epoch of the card's recipes against its `FashionMNIST` + `ToTensor()` epoch.
    "torchvision_ratio_pixels_in_memory": ("<=", 0.3),
    "torchvision_ratio_png_dataloader": ("<=", 1.0),
}
# The targets `python -m benchmarks.torchvision_peer` measures; `python -m benchmarks` measures every other.
PEER_PREFIX = "torchvision_"


def target_verdict(results: Mapping[str, Any], key: str) -> str:
    """`≤ 0.7: met`, `≤ 0.7: **missed**` or `≤ 0.7: not measured` for one target."""
    return verdict(results.get(key), TARGETS[key])


def verdict(value: float | None, target: tuple[str, float]) -> str:
    """The verdict of one figure against one `(comparison, bound)`."""
    comparison, bound = target
    symbol = "≤" if comparison == "<=" else "≥"
    if value is None:
        return f"{symbol} {bound}: not measured"
    met = value <= bound if comparison == "<=" else value >= bound
    return f"{symbol} {bound}: {'met' if met else '**missed**'}"


def verdict_if_target(results: Mapping[str, Any], key: str) -> str:
    """The target cell of a row: the verdict for a target, empty for a figure given for context."""
    return target_verdict(results, key) if key in TARGETS else ""


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def ratio(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def rate(value: float | None) -> str:
    """Examples per second; empty where that rate was not taken (`--long` takes every worker count)."""
    return "" if value is None else f"{value:,.0f}"


def workers(count: int) -> str:
    return f"{count} worker{'' if count == 1 else 's'}"


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def table(header: Sequence[str], alignments: str, rows: Sequence[str], caption: str = "") -> str:
    """A Markdown table, after a caption line if one is given; `alignments` has one `l` or `r` per column.

    Empty if no rows. The sentences around a table are Markdown in `benchmarks/RESULTS.md`: a caption
    only says what the run measured that the table cannot.
    """
    if not rows:
        return ""
    rule = "|" + "".join("---:|" if align == "r" else "---|" for align in alignments)
    return "\n".join([*([caption, ""] if caption else []), row(*header), rule, *rows])


def comparison_table(rows: Sequence[str], *, subject: str = "this copy", measure: str = "measured") -> str:
    """The table most sections give: a figure, what it is compared with, the ratio of the two and its target."""
    return table((subject, measure, "compared with", "ratio", "target"), "lrlrl", rows)


def taken(results: Mapping[str, Any], *keys: str) -> bool:
    """Whether a row's figures were taken (`None`, for a figure that could not be, counts): the rows only
    `--long` measures are left out of a default run's tables rather than shown empty."""
    return all(key in results for key in keys)


# --- The command lines of the benchmark's scripts ----------------------------------------


def positive_int(text: str) -> int:
    """An argparse type for a number of runs: 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs of at least 1, got {value}")
    return value


def add_update_card_argument(parser: argparse.ArgumentParser, block: str, also: str = "") -> None:
    """`--update-card [README]`: a script that measures something writes its tables into one block of the card
    (and, as `also` says, its full tables into the report)."""
    parser.add_argument(
        "--update-card",
        nargs="?",
        const=layout.PROJECT_ROOT / layout.CARD,
        type=pathlib.Path,
        metavar="README",
        help=f"write the tables into the card's `{block}` block (default card: this repository's README.md){also}",
    )
