"""benchmarks/baselines.py end to end on a tiny synthetic copy: it loads, trains every classifier, writes the card.

The accuracies on random pixels mean nothing; what is checked is the path: the copy's
`pixels` config loaded with `load_dataset`, the paper's preprocessing, each classifier
fitted and scored, the accuracies written into the card's `benchmarks` block and the whole
table into the report's `baselines` block.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from benchmarks import baselines
from tests.helpers.synthetic import SIZES

CARD = """\
# Fashion-MNIST

## Benchmarks

<!-- BEGIN GENERATED: benchmarks -->
Run the script to fill in this section.
<!-- END GENERATED: benchmarks -->

## Performance
"""
REPORT = """\
# Benchmark report

<!-- BEGIN GENERATED: baselines -->
<!-- END GENERATED: baselines -->
"""


def test_loads_the_pixels_config_as_the_archives_hold_it(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    from tests.helpers.synthetic import make_arrays

    arrays = baselines.load_split_arrays(str(repo))

    originals = make_arrays()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        pixels, labels = arrays[split]
        assert pixels.dtype == np.uint8 and pixels.shape == (SIZES[split], 784)
        assert np.array_equal(pixels.reshape(-1, 28, 28), originals[f"{prefix}-images-idx3-ubyte.gz"])
        assert np.array_equal(labels, originals[f"{prefix}-labels-idx1-ubyte.gz"])


def test_standardised_is_fitted_on_the_training_set() -> None:
    train = np.array([[0, 10], [2, 30]], dtype=np.uint8)
    test = np.array([[1, 50]], dtype=np.uint8)
    scaled_train, scaled_test = baselines.standardised(train, test)
    assert np.allclose(scaled_train.mean(axis=0), 0) and np.allclose(scaled_train.std(axis=0), 1)
    assert np.allclose(scaled_test, [[0.0, 3.0]])  # (1 - 1) / 1 and (50 - 20) / 10


def test_every_classifier_runs_the_card_gets_the_accuracies_and_the_report_the_table(
    synthetic_repo: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _ = synthetic_repo
    readme, full = tmp_path / "README.md", tmp_path / "RESULTS.md"
    readme.write_text(CARD, encoding="utf-8")
    full.write_text(REPORT, encoding="utf-8")

    code = baselines.main(
        [
            "--repo",
            str(repo),
            "--classifiers",
            *baselines.BASELINES,
            "--update-card",
            str(readme),
            "--report",
            str(full),
        ]
    )

    assert code == 0
    card_text, report_text = readme.read_text(encoding="utf-8"), full.read_text(encoding="utf-8")
    assert "Run the script" not in card_text + report_text and card_text.rstrip().endswith("## Performance")
    assert f"(source/{baselines.REPORT_PATH})" in card_text
    printed = capsys.readouterr().out
    for baseline in baselines.BASELINES.values():
        card_cells = cells_of(card_text, baseline.name)
        assert card_cells[1] == f"{baseline.published:.3f}" and 0.0 <= float(card_cells[2]) <= 1.0
        report_cells = cells_of(report_text, baseline.name)
        assert report_cells[1] == f"`{baseline.parameters}`" and report_cells[3] == card_cells[2]
        assert f"{baseline.name} ({baseline.parameters}): " in printed
    assert "`python -m benchmarks.baselines --classifiers " in report_text
    assert "parameters" not in card_text.replace("(parameters,", ""), "the card keeps the accuracies only"


def cells_of(text: str, name: str) -> list[str]:
    row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_default_classifiers_include_logistic_regression_and_another_of_the_papers() -> None:
    assert baselines.DEFAULT_CLASSIFIERS[0] == "logistic_regression"
    assert len(baselines.DEFAULT_CLASSIFIERS) >= 2
    assert all(0.5 < baselines.BASELINES[key].published < 0.9 for key in baselines.BASELINES)


def test_a_bad_repeat_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        baselines.parse_args(["--repeat", "0"])
    assert "at least 1" in capsys.readouterr().err
