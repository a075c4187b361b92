"""The benchmark's targets, the project's numbers in one place, and the pieces of every section's table."""

import argparse
import operator
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from scripts import layout

REPORT = pathlib.Path(__file__).with_name("RESULTS.md")  # the full report: every table, each target's verdict

# A figure's name: its section, the field of the section's figures and, for a field that holds a table of figures
# (a dict), the entries down to the figure: ("build", "build_ratio_2proc"), ("epochs", "stream_ratios", "image_2w").
Key = tuple[str, ...]
Bound = tuple[str, float]  # (comparison, bound): "<=" or ">=", and the number
# Each link the network section tries: every one with `--long`, the first (where parallel files should win) by default.
LINKS = tuple(
    f"{ms} ms, 100 Mbit/s {scope}" for ms in (100, 50, 0) for scope in ("per connection", "shared by all connections")
)

TARGETS: dict[Key, Bound] = {
    # Against the peers: Keras' arrays and the real torchvision's epoch (`--torchvision-python`): what users write
    # without the card, the card's recipes, and its streams.
    ("arrays", "array_ratio_pixels"): ("<=", 1.0),
    ("epochs", "epoch_ratios", "pixels_plain"): ("<=", 0.5),
    ("epochs", "epoch_ratios", "image_plain"): ("<=", 1.2),
    ("epochs", "epoch_ratios", "pixels_card"): ("<=", 0.3),
    ("epochs", "epoch_ratios", "image_card"): ("<=", 1.0),
    ("epochs", "stream_ratios", "pixels_2w"): ("<=", 1.5),
    ("epochs", "stream_ratios", "image_2w"): ("<=", 2.0),
    ("bytes", "bytes_ratio_two_configs"): ("<=", 2.1),
    # The build and the layout.
    ("build", "build_ratio_2proc"): ("<=", 0.7),
    ("arrays", "decode_ratio"): ("<=", 1.3),
    ("epochs", "stream_scaling", "image"): (">=", 1.7),
    ("bytes", "bytes_ratio_vs_one_shard"): ("<=", 1.02),
    # First use over the network: a cold load of each config against the one-file layout's, at every link; and
    # streaming from the Hub at 0 ms against the same recipe on local files, with each worker count `--long` takes.
    **{("network", "cold_ratios", LINKS[0], config): ("<=", 0.8) for config in ("image", "pixels")},
    **{("network", "cold_ratios", link, config): ("<=", 1.0) for link in LINKS[1:] for config in ("image", "pixels")},
    **{("network", "hub_stream_ratios", f"{c}_{w}w"): (">=", 0.7) for c in ("image", "pixels") for w in (0, 1, 2)},
    # The Trainer's steps per second on the stream against the split in memory, a run resumed exactly at 25%, 50% and
    # 90% of an epoch: seconds to its first step against a fresh run's, and the stream state a rank checkpoints.
    **{("trainer", "trainer_ratios", config): (">=", 0.9) for config in ("image", "pixels")},
    **{("trainer", "resume_ratios", at): ("<=", 1.2) for at in ("25", "50", "90")},
    ("trainer", "loader_state_bytes"): ("<=", 16_000_000),
}


def figure(figures: Mapping[str, Any], key: Key) -> Any:
    """The figure `key` names in `{section: its figures}`; None where its section or entry was not taken. A field
    the section's figures do not have raises AttributeError: a typo is an error, not a missing row."""
    section, field, *entries = key
    value = getattr(figures[section], field) if section in figures else None
    for entry in entries:  # into a dict of figures, or a dataclass of them
        value = value if value is None else value.get(entry) if isinstance(value, dict) else getattr(value, entry)
    return value


def verdict(key: Key, value: float | None) -> str:
    """`≤ 0.7: met`, `≤ 0.7: **missed**` or `≤ 0.7: not measured`: the figure `key` names against its target."""
    comparison, bound = TARGETS[key]
    symbol, within = {"<=": ("≤", operator.le), ">=": ("≥", operator.ge)}[comparison]
    outcome = "not measured" if value is None else "met" if within(value, bound) else "**missed**"
    return f"{symbol} {bound}: {outcome}"


def verdict_if_target(key: Key, value: float | None) -> str:
    """The target cell of a row: the verdict for a target, empty for a figure given for context."""
    return verdict(key, value) if key in TARGETS else ""


def judged(figures: Any, key: Key, digits: int = 2) -> tuple[str, str]:
    """The ratio and target cells of the figure `key` names in its section's `figures`: the value shown is the value
    judged, and a key the figures do not have is an error."""
    value = figure({key[0]: figures}, key)
    return ratio(value, digits), verdict_if_target(key, value)


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
    """A Markdown table (empty if no rows), after a caption that says what the run measured that the table cannot
    (the sentences around it are Markdown in `benchmarks/RESULTS.md`); `alignments`: an `l` or `r` a column."""
    if not rows:
        return ""
    rule = "|" + "".join("---:|" if align == "r" else "---|" for align in alignments)
    return "\n".join([*([caption, ""] if caption else []), row(*header), rule, *rows])


def comparison_table(
    rows: Sequence[str], caption: str = "", *, subject: str = "this copy", measure: str = "measured"
) -> str:
    """The table most sections give: a figure, what it is compared with, the ratio of the two and its target."""
    return table((subject, measure, "compared with", "ratio", "target"), "lrlrl", rows, caption)


def positive_int(text: str) -> int:
    """An argparse type for a number of runs: 1 or more."""
    if (value := int(text)) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs of at least 1, got {value}")
    return value


def add_update_card_argument(parser: argparse.ArgumentParser, block: str, also: str = "") -> None:
    """`--update-card [README]`: a script's tables into one block of the card, and (`--report`) into the report."""
    parser.add_argument("--update-card", nargs="?", const=layout.PROJECT_ROOT / layout.CARD, type=pathlib.Path,
                        metavar="README", help=f"write the tables into the card's `{block}` block (default card: "
                        f"this repository's README.md){also}")  # fmt: skip
    parser.add_argument("--report", type=pathlib.Path, default=REPORT,
                        help=f"with --update-card: the full report (default {REPORT})")  # fmt: skip
