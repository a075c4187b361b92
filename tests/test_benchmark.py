"""scripts/benchmark.py end to end on tiny synthetic archives: every figure is produced, nothing is timed here."""

from __future__ import annotations

import json
import pathlib

import pytest

from scripts import benchmark

REQUIRED_KEYS = (*benchmark.TARGETS, "build_ratio_1proc", "stream_scaling_2w_one_shard", "epoch_ratio_pixels_card")
CARD = """\
# Fashion-MNIST

## Performance

<!-- BEGIN GENERATED: performance -->
Run the benchmark to fill in this section.
<!-- END GENERATED: performance -->
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of every measurement, once, on the synthetic archives (40 train, 20 test examples)."""
    from tests import synthetic

    work = tmp_path_factory.mktemp("benchmark")
    table = synthetic.write_archives(work / "archives")
    builder_kwargs = {"data_dir": str(work / "archives"), "mirrors": [], "system_dirs": [], "archives": table}
    return benchmark.run_benchmark(work / "scratch", builder_kwargs, repeat=1, with_keras=False)


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_required_figures_are_positive_numbers(results: dict, key: str) -> None:
    value = results[key]
    assert isinstance(value, float) and value > 0


def test_every_figure_survives_json(results: dict) -> None:
    figures = json.loads(json.dumps(results))
    numbers = {key: value for key, value in figures.items() if key.endswith(("_seconds", "_bytes")) or "rate" in key}
    assert numbers and all(value is None or value > 0 for value in numbers.values())
    assert figures["keras_floor_seconds"] > 0  # the synthetic archives are local, so the peer's path was timed
    assert figures["machine"]["python"] and figures["repeat"] == 1
    assert "hub" not in figures["unavailable"], figures["unavailable"]
    assert figures["hub_load_seconds_cold"] > 0  # over the local Hub
    assert figures["hub_stream_rate_image_2w"] > 0 and figures["hub_stream_rate_pixels_2w"] > 0


def test_table_is_written_into_the_performance_block(results: dict, tmp_path: pathlib.Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(CARD, encoding="utf-8")
    benchmark.write_card(readme, benchmark.markdown(results))
    text = readme.read_text(encoding="utf-8")
    assert "Run the benchmark" not in text
    assert "the ratios are what to compare" in text
    assert "| `pixels` (train in 8 files) |" in text and "Against the peers" in text
    for key in benchmark.TARGETS:  # every target has a verdict in the card
        assert benchmark.target_verdict(results, key) in text
    assert text.startswith("# Fashion-MNIST") and text.rstrip().endswith("<!-- END GENERATED: performance -->")
