"""benchmarks/run.py end to end on tiny synthetic archives: the default run measures every target, nothing is timed.

Each section's own figures, in the long run too, are tested beside its module (tests/benchmarks/test_*.py).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import pytest

import fashion_mnist
from benchmarks import headline, network
from benchmarks import run as benchmark
from benchmarks.report import REPORT, TARGETS, figure, verdict
from tests.conftest import bench_builder_kwargs
from tests.helpers import synthetic

# The targets of this run (the epochs section needs the real torchvision, --torchvision-python; the network
# section's other links and worker counts are `--long`'s).
NEEDS_TORCHVISION = "epochs"
CONFIGS = ("image", "pixels")
DEFAULT_NETWORK = {
    *(
        ("network", "cold_ratios", network.describe(link), name)
        for link in network.COLD_LINKS["default"]
        for name in CONFIGS
    ),
    *(("network", "hub_stream_ratios", f"{name}_{w}w") for w in network.STREAM_WORKERS["default"] for name in CONFIGS),
}
RUN_TARGETS = [key for key in TARGETS if key[0] not in (NEEDS_TORCHVISION, "network") or key in DEFAULT_NETWORK]
# Figures only `--long` takes: one per row it adds.
LONG_ONLY = (
    ("build", "build_seconds_1proc"),
    ("arrays", "decode_seconds_numpy_format"),
    ("network", "first_uses", network.describe(network.AIM_LINK), "keras_style"),
    ("network", "first_uses", "0 ms, 100 Mbit/s per connection"),
    ("network", "hub_stream_rates", "100 ms"),
)
CARD = """\
# Fashion-MNIST

## Performance

<!-- BEGIN GENERATED: performance -->
Run the benchmark to fill in this section.
<!-- END GENERATED: performance -->
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> benchmark.Results:
    """One default run of every section, on the synthetic archives (40 train, 20 test examples), one run a figure."""
    work = tmp_path_factory.mktemp("benchmark")
    table = synthetic.write_archives(work / "archives")
    return benchmark.run_benchmark(work / "scratch", bench_builder_kwargs(work / "archives", table), repeat=1)


@pytest.mark.parametrize("key", RUN_TARGETS, ids=str)
def test_the_default_run_measures_every_target(results: benchmark.Results, key: tuple[str, ...]) -> None:
    value = figure(results.figures, key)
    assert isinstance(value, float | int) and value > 0


@pytest.mark.parametrize("key", LONG_ONLY, ids=str)
def test_the_default_run_leaves_the_context_rows_to_long(results: benchmark.Results, key: tuple[str, ...]) -> None:
    assert figure(results.figures, key) is None
    assert results.long is False and results.repeat == 1


# Every section but the epochs', which needs --torchvision-python (an environment `make compat` makes).
MEASURED_HERE = [section for section in benchmark.SECTIONS if section.name != NEEDS_TORCHVISION]


@pytest.mark.parametrize("section", MEASURED_HERE, ids=lambda section: section.name)
def test_each_section_measured_something_and_is_timed(results: benchmark.Results, section: benchmark.Section) -> None:
    assert section.name in results.figures
    assert results.times[section.name].seconds > 0 and results.times[section.name].cpu_seconds >= 0
    assert results.run_seconds > results.times["setup"].seconds > 0


def test_every_figure_survives_json(results: benchmark.Results) -> None:
    figures = json.loads(json.dumps(dataclasses.asdict(results)))  # what --json writes
    assert set(figures["figures"]) == {section.name for section in MEASURED_HERE}
    assert figures["figures"]["arrays"]["keras_floor_seconds"] > 0  # the synthetic archives are local
    assert figures["figures"]["bytes"]["parquet_bytes"] > 0
    assert figures["machine"]["python"] and figures["times"]["build"]["seconds"] > 0
    assert set(figures["unavailable"]) <= {"frameworks_jax", NEEDS_TORCHVISION}  # JAX: in the card's tools env


def test_without_torchvisions_environment_its_section_says_why(results: benchmark.Results) -> None:
    assert NEEDS_TORCHVISION not in results.figures
    assert "--torchvision-python" in results.unavailable[NEEDS_TORCHVISION]
    assert benchmark.parse_args(["--torchvision-python", "vision/bin/python"]).torchvision_python == pathlib.Path(
        "vision/bin/python"
    )


def test_the_card_gets_the_headline_and_the_report_every_verdict(
    results: benchmark.Results, tmp_path: pathlib.Path
) -> None:
    readme, full = tmp_path / "README.md", tmp_path / "RESULTS.md"
    readme.write_text(CARD, encoding="utf-8")
    full.write_text(REPORT.read_text(encoding="utf-8"), encoding="utf-8")
    benchmark.write_card_and_report(readme, full, results)

    card_text, report_text = readme.read_text(encoding="utf-8"), full.read_text(encoding="utf-8")
    assert "Run the benchmark" not in card_text + report_text
    assert card_text.startswith("# Fashion-MNIST") and card_text.rstrip().endswith(
        "<!-- END GENERATED: performance -->"
    )
    taken = [row for row in headline.BENCHMARK_ROWS if row.ours[0] != NEEDS_TORCHVISION]
    assert card_text.count("\n| ") == 1 + len(taken), "a header and every headline row measured"
    assert not re.search(r"target|\bmet\b|missed|The run took", card_text), "the verdicts are the report's"
    assert "the default run (`--long` adds" in report_text
    assert report_text.count(benchmark.NOT_MEASURED) == 1, "only the epochs section, without torchvision's environment"
    assert f"this copy ({fashion_mnist.NUM_SHARDS['train']} train" in report_text
    for name, text in benchmark.blocks(results).items():  # each block holds what the run gave, the prose stays
        written = text.strip() or benchmark.NOT_MEASURED
        assert f"<!-- BEGIN GENERATED: {name} -->\n{written}\n<!-- END GENERATED: {name} -->" in report_text
    blank = re.compile(r"(<!-- BEGIN GENERATED: (\w+) -->\n).*?(<!-- END GENERATED: \2 -->)", re.S)
    prose = blank.sub(r"\1\3", report_text)
    assert prose == blank.sub(r"\1\3", REPORT.read_text(encoding="utf-8")) and "First use over the network" in prose
    for key in RUN_TARGETS:  # every target has a verdict in the report
        assert verdict(key, figure(results.figures, key)) in report_text
    assert "The run took " in report_text
    unmeasured = {**results.unavailable, "frameworks_jax": "JAX is not installed"}
    text = benchmark.markdown(dataclasses.replace(results, unavailable=unmeasured))
    unmeasured.pop(NEEDS_TORCHVISION)  # a section's name, and a word of the report: only its reason must not show
    assert results.unavailable[NEEDS_TORCHVISION] not in text
    assert not any(key in text or reason in text for key, reason in unmeasured.items()), (
        "the report speaks to its readers: no figure keys, nothing about what the measuring machine lacked"
    )


@pytest.mark.parametrize(
    ("argv", "long", "repeat"),
    [([], False, None), (["--long"], True, None), (["--long", "--repeat", "2"], True, 2)],
)
def test_command_line(argv: list[str], long: bool, repeat: int | None) -> None:
    args = benchmark.parse_args(argv)
    assert (args.long, args.repeat) == (long, repeat)


def test_repeat_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--repeat", "0"])
    assert "expected a number of runs of at least 1, got 0" in capsys.readouterr().err


def test_sections_run_in_their_order_and_the_card_needs_them_all(capsys: pytest.CaptureFixture[str]) -> None:
    chosen = benchmark.chosen_sections(benchmark.parse_args(["--section", "network", "--section", "build"]).section)
    assert [section.name for section in chosen] == ["build", "network"]
    assert benchmark.chosen_sections(None) == benchmark.SECTIONS

    with pytest.raises(SystemExit):
        benchmark.parse_args(["--section", "build", "--update-card"])
    assert "run without --section to update the card" in capsys.readouterr().err


def test_the_report_holds_only_the_sections_that_ran(results: benchmark.Results) -> None:
    chosen = benchmark.blocks(dataclasses.replace(results, sections=["trainer", "bytes"]))
    text = benchmark.markdown(dataclasses.replace(results, sections=["trainer", "bytes"]))

    assert list(chosen) == ["run", "trainer", "bytes", "background"]
    assert "steps/s" in text and "| config | bytes |" in text
    assert "(trainer)" in text and "(build)" not in text
    assert "(bytes)" not in text  # milliseconds: too short to tell the other processes' load from /proc/stat
