"""`python -m benchmarks`: every section of `SECTIONS`, then the report and the card's headline.

Each figure is a median of runs taking turns with what it is compared with (`benchmarks/RESULTS.md` says why)."""

import argparse
import dataclasses
import json
import logging
import pathlib
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import arrays, copies, epochs, faults, frameworks, headline, load, network, report, sizes, trainer
from benchmarks import build as bench_build
from benchmarks.harness import CpuClock, Section, SectionTime, machine, measured, quiet_datasets
from scripts import build, card

logger = logging.getLogger("benchmark")
PROG = "python -m benchmarks"

# In the order they run and appear in the report. A section is one line: its name, its measure, its table.
SECTIONS = (
    Section("build", bench_build.measure, bench_build.table),
    Section("load", load.measure, load.table),
    Section("arrays", arrays.measure, arrays.table),
    Section("epochs", epochs.measure, epochs.table),  # against the real torchvision: in memory and streamed
    Section("frameworks", frameworks.measure, frameworks.table),  # Keras and JAX beside their own
    Section("network", network.measure, network.table),  # first use from a far-away Hub
    Section("trainer", trainer.measure, trainer.table, fresh_process=True),  # the Trainer on the stream; resuming it
    Section("faults", faults.measure, faults.table, fresh_process=True),  # what a Hub fault mid-epoch costs a stream
    Section("bytes", sizes.measure, sizes.table),
)
SECTION_TABLES = {section.name: section.table for section in SECTIONS}
# /proc/stat counts in 10 ms ticks: over a shorter section (the bytes section takes milliseconds) the load is noise.
LOAD_WINDOW = 0.5  # seconds
REPEAT = 3  # runs per figure by default: the median of 3 still drops one slow spell
LONG_REPEAT = 5
NOT_MEASURED = "Not measured in the last run."


@dataclasses.dataclass(frozen=True)
class Results:
    """A run: each section's figures (a dataclass of its own) and time, and what the run was and could not do."""

    figures: dict[str, Any]  # section name -> its figures; a section with nothing to measure here is left out
    times: dict[str, SectionTime]  # "setup" and each section that ran
    sections: list[str]  # the sections that ran, in order
    repeat: int
    long: bool
    run_seconds: float
    machine: dict[str, Any]
    unavailable: dict[str, str]  # what could not be measured -> why


def run_benchmark(
    work: pathlib.Path,
    builder_kwargs: Mapping[str, Any],
    *,
    repeat: int | None = None,
    long: bool = False,
    torchvision_python: pathlib.Path | None = None,
    sections: Sequence[Section] = SECTIONS,
) -> Results:
    """`sections` after the setup (the copies they read, made from `builder_kwargs` in `work`, a scratch directory)."""
    repeat = repeat or (LONG_REPEAT if long else REPEAT)
    start = CpuClock.read()
    setup = copies.prepare(work, builder_kwargs, repeat=repeat, long=long)
    setup = dataclasses.replace(setup, torchvision_python=torchvision_python)
    times = {"setup": CpuClock.read().since(start)}
    figures: dict[str, Any] = {}
    for section in sections:
        logger.info("measuring %s", section.name)
        found, took = measured(section, setup)
        if found is not None:
            figures[section.name] = found
        times[section.name] = took
        logger.info("%s took %.0f s (%.0f s of CPU)", section.name, took.seconds, took.cpu_seconds)
    return Results(figures, times, [section.name for section in sections], repeat, long,
                   CpuClock.read().wall - start.wall, machine(), setup.unavailable)  # fmt: skip


def blocks(results: Results) -> dict[str, str]:
    """The report's generated blocks by name: the run, each section that ran ("" if it measured nothing), the load."""
    info = results.machine
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items() if version)
    extent = "the long run (`--long`)" if results.long else (
        "the default run (`--long` adds rows given for context and takes more runs per figure)"
    )  # fmt: skip
    run = (
        f"Measured with `{PROG}` on {info['usable_cores']} cores ({info['platform']}), Python {info['python']}, "
        f"{versions}; {extent}. Each figure is the median of {results.repeat} runs."
    )
    tables = {
        name: SECTION_TABLES[name](results.figures[name]) if name in results.figures else ""
        for name in results.sections
    }
    return {"run": run, **tables, "background": background(results)}


def background(results: Results) -> str:
    """How long the run took, and how busy other processes kept the machine during each section."""
    took = f"The run took {results.run_seconds / 60:.1f} minutes."
    times = {name: results.times[name] for name in results.sections if name in results.figures}
    loads = {name: spent.background_cores for name, spent in times.items() if spent.seconds >= LOAD_WINDOW}
    if None in loads.values():
        return f"{took} Other processes' load was not measured (no /proc/stat)."
    listed = ", ".join(f"{value:.1f} ({name})" for name, value in loads.items())
    return f"{took} Other processes kept busy on average {listed} of the {results.machine['usable_cores']} cores."


def markdown(results: Results) -> str:
    """The generated parts of the report, one after the other: what the command prints."""
    return "\n\n".join(filter(None, blocks(results).values()))


def write_card_and_report(readme: pathlib.Path, path: pathlib.Path, results: Results) -> None:
    """The card's Performance block (the headline comparisons only), and each generated block of the report at
    `path`, where a section that measured nothing says so."""
    card.write_block(readme, "performance", headline.table(results.figures, headline.BENCHMARK_ROWS))
    for name, text in blocks(results).items():
        card.write_block(path, name, text or NOT_MEASURED)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    build.add_source_arguments(parser)
    parser.add_argument("--long", action="store_true", help=f"also the rows given for context, {LONG_REPEAT} runs "
                        f"per figure (default: the targets' rows, {REPEAT} runs, minutes on 2 cores)")  # fmt: skip
    parser.add_argument("--repeat", type=report.positive_int, help=f"runs per figure, the median kept (default "
                        f"{REPEAT}, {LONG_REPEAT} with --long)")  # fmt: skip
    parser.add_argument("--json", type=pathlib.Path, metavar="PATH", help="also write every figure to this JSON file")
    parser.add_argument("--section", action="append", choices=[section.name for section in SECTIONS],
                        help="measure only this section (repeatable; the setup always runs): for a quick look while "
                        "changing it; not with --update-card, which needs every section")  # fmt: skip
    report.add_update_card_argument(parser, "performance", also=f", and every table into {report.REPORT.name}")
    parser.add_argument("--torchvision-python", type=pathlib.Path, metavar="PYTHON",
                        help="the python of an environment holding torchvision (make compat's vision environment): "
                        "the epochs section and torchvision's first use; left out without it")  # fmt: skip
    args = parser.parse_args(argv)
    if args.section and args.update_card:
        parser.error("--update-card writes every section's table: run without --section to update the card")
    return args


def chosen_sections(names: Sequence[str] | None) -> tuple[Section, ...]:
    """The sections named, in the order they run; every section if none is named."""
    return tuple(section for section in SECTIONS if not names or section.name in names)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    logger.setLevel(logging.INFO)  # progress of the benchmark only, not every library's info
    quiet_datasets()
    with tempfile.TemporaryDirectory(prefix="fashion-mnist-benchmark-") as work:
        results = run_benchmark(pathlib.Path(work), build.source_kwargs(args), repeat=args.repeat, long=args.long,
                                torchvision_python=args.torchvision_python,
                                sections=chosen_sections(args.section))  # fmt: skip
    print(markdown(results))
    for figure, reason in results.unavailable.items():  # for the maintainer: the report leaves such rows out
        logger.warning("not measured: %s (%s)", figure, reason)
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(results), indent=2) + "\n", encoding="utf-8")
    if args.update_card:
        write_card_and_report(args.update_card, args.report, results)
    return 0
