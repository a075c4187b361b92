"""benchmarks/torchvision_peer.py: the program's answer as figures, the report's table and the card's rows.

The timed program needs torchvision's own environment (`make compat` makes it); these tests give the
functions an answer shaped as the program prints it.
"""

from __future__ import annotations

import fashion_mnist
from benchmarks import headline, report, torchvision_peer

PROGRAM_ANSWER = {
    "torchvision": "0.29.1",
    "torch": "2.14.1",
    "datasets": "5.2.0",
    "download_seconds": 1.0,
    "epoch_seconds": {name: 1.0 + index / 10 for index, name in enumerate(torchvision_peer.LOOPS)},
}
FIRST_USES = {"download": 3.0} | {f"load_dataset_{config}": 2.5 for config in fashion_mnist.FEATURES}


def results() -> torchvision_peer.TorchvisionFigures:
    return torchvision_peer.figures(PROGRAM_ANSWER, FIRST_USES, 3)


def test_each_loop_is_set_against_torchvisions_epoch() -> None:
    figures = results()
    assert figures.ratios["torchvision"] == 1.0
    assert figures.ratios["pixels_in_memory"] == PROGRAM_ANSWER["epoch_seconds"]["pixels_in_memory"]
    assert figures.versions == {"torchvision": "0.29.1", "torch": "2.14.1", "datasets": "5.2.0"}


def test_the_report_gives_every_loop_and_the_targets_verdicts() -> None:
    text = torchvision_peer.table(results())
    assert "torchvision 0.29.1, torch 2.14.1, datasets 5.2.0" in text
    for what in [*torchvision_peer.LOOPS.values(), *torchvision_peer.FIRST_USES.values()]:
        assert f"| {what} |" in text
    peer_targets = [key for key in report.TARGETS if key[0] == report.PEER_SECTION]
    assert peer_targets
    for key in peer_targets:
        assert report.verdict(key, report.figure({report.PEER_SECTION: results()}, key)) in text


def test_the_card_gets_every_headline_row() -> None:
    rows = [row for row in headline.BENCHMARK_ROWS if row.ours[0] == report.PEER_SECTION]
    text = headline.table({report.PEER_SECTION: results()}, rows)
    assert rows and len(text.splitlines()) == 2 + len(rows)  # a header, a rule and each row
    assert "target" not in text and "met" not in text
