"""The `transformers` Trainer on this copy, as examples/train_trainer.py runs it (one process, 1 torch thread).

Two comparisons, both with the example's own Trainer (`make_trainer`: the same TinyCnn,
arguments and batch of 64):
- steps per second training on the stream (local files, the example's shuffle buffer) against
  the same Trainer on the in-memory split (`load_dataset` of the same copy, the same `.map` to
  model inputs done once beforehand and timed apart), for both configs; the clock runs from
  the WARMUP-th step over STEPS steps, which is two refills of the stream's shuffle buffer;
- the seconds from the start of a resumed run (building the stream and the Trainer, loading
  the checkpoint) to its first step, against a fresh run's seconds to its first step, resuming
  at about 25%, 50% and 90% of the first epoch (the exact stream starts at the checkpoint's
  window: the later the position, the more a resume by re-reading would cost); and the bytes
  of the stream state each rank writes into a checkpoint. Timed in the process, after the
  imports both pay alike; on the `fashion_mnist` config (PNGs: the dearer one to decode). One
  run trains to the last position, saving at each; every round then times a fresh run and a
  resume from each checkpoint, taking turns.

Runs in a fresh interpreter (torch's thread count is per process). One run per figure by
default (each round takes about 40 s on 2 cores with the real data); `--long` takes the median
of `setup.repeat`.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import datasets
import transformers
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

import fashion_mnist
from benchmarks import copies, report
from benchmarks.harness import Figures, Setup, in_fresh_process
from examples import train_trainer

BATCH_SIZE = 64  # the example's
WARMUP = 10  # steps before the clock starts (the first ones allocate and warm the caches)
STEPS = 156  # the stream's 10,000-example shuffle buffer refills every 5,000 examples: 2 refills at 64 a step
CONFIGS = {"image": fashion_mnist.NAME, "pixels": fashion_mnist.PIXELS}
RESUME_AT = (0.25, 0.5, 0.9)  # fractions of the first epoch
RESUMES = tuple(f"{round(100 * fraction)}" for fraction in RESUME_AT)  # figure suffixes: 25, 50, 90


class StepClock(transformers.TrainerCallback):
    """`time.perf_counter()` as each step begins: its batch has been read, its forward is next."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args: object, state: object, control: object, **kwargs: object) -> None:
        self.times.append(time.perf_counter())


class SaveAt(transformers.TrainerCallback):
    """Save a checkpoint at the steps given (besides `--save-steps`)."""

    def __init__(self, steps: Sequence[int]) -> None:
        self.steps = set(steps)

    def on_step_end(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        if state.global_step in self.steps:
            control.should_save = True


class Plan:
    """Batch size and step counts for the data at hand: the real split's, or a few steps of the synthetic one."""

    def __init__(self, num_examples: int) -> None:
        self.batch = min(BATCH_SIZE, max(1, num_examples // 8))
        epoch = num_examples // self.batch
        self.warmup = min(WARMUP, epoch // 4)
        self.steps = min(STEPS, epoch // 2)
        self.speed_steps = self.warmup + self.steps + 1
        self.checkpoints = [max(1, round(fraction * epoch)) for fraction in RESUME_AT]  # where the resumes start


def measure(setup: Setup) -> Figures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> Figures:
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    plan = Plan(copies.num_rows(setup.repo, "train"))
    samples: dict[str, list[float]] = {}
    prepared: dict[str, Any] = {}
    figures: Figures = {}
    # Every round times the resumes (a few seconds each; one run's first step varies by a tenth of a second, as much
    # as the target's margin); the steps-per-second runs take most of the time, so by default they run once.
    checkpoints = train_to_checkpoints(setup, plan)
    for key, value in loader_state_bytes(checkpoints).items():
        samples[key] = [value]
    for round_ in range(setup.repeat):
        runs: dict[str, Callable[[], dict[str, float]]] = {}
        for name, config in CONFIGS.items() if setup.long or round_ == 0 else ():
            runs[f"stream_{name}"] = lambda config=config: stream_run(setup, plan, config)
            runs[f"memory_{name}"] = lambda name=name, config=config: memory_run(setup, plan, config, prepared)
        runs["fresh"] = lambda round_=round_: first_step_run(setup, plan, f"fresh-{round_}", "fresh", None)
        for mode, checkpoint in zip(RESUMES, checkpoints, strict=True):
            runs[f"resume_{mode}"] = lambda mode=mode, checkpoint=checkpoint, round_=round_: first_step_run(
                setup, plan, f"resume-{mode}-{round_}", f"resumed_{mode}", checkpoint
            )
        for run in runs.values():  # taking turns, so that a slow spell of the machine hits all alike
            for key, value in run().items():
                samples.setdefault(key, []).append(value)
    figures |= {key: statistics.median(values) for key, values in samples.items()}
    for name in CONFIGS:
        figures[f"trainer_ratio_{name}"] = (
            figures[f"trainer_steps_per_second_stream_{name}"] / figures[f"trainer_steps_per_second_memory_{name}"]
        )
    for mode in RESUMES:
        figures[f"trainer_resume_ratio_{mode}"] = (
            figures[f"trainer_first_step_seconds_resumed_{mode}"] / figures["trainer_first_step_seconds_fresh"]
        )
    figures["trainer_speed_runs"] = float(setup.repeat if setup.long else 1)
    figures["trainer_resume_runs"] = float(setup.repeat)
    figures["trainer_batch_size"] = float(plan.batch)
    figures["trainer_timed_steps"] = float(plan.steps)
    for mode, step in zip(RESUMES, plan.checkpoints, strict=True):
        figures[f"trainer_resume_step_{mode}"] = float(step)
    return figures


def arguments(setup: Setup, plan: Plan, config: str, *extra: str) -> argparse.Namespace:
    common = ["--repo-id", str(setup.repo), "--config", config, "--batch-size", str(plan.batch), "--no-predict"]
    return train_trainer.parse_args([*common, "--save-steps", "0", "--torch-threads", "1", *extra])


def steps_per_second(clock: StepClock, plan: Plan) -> float:
    return plan.steps / (clock.times[plan.warmup + plan.steps] - clock.times[plan.warmup])


def stream_run(setup: Setup, plan: Plan, config: str) -> dict[str, float]:
    """The example's Trainer on its stream."""
    name = next(key for key, value in CONFIGS.items() if value == config)
    output = setup.work / "trainer" / f"stream-{name}"
    args = arguments(setup, plan, config, "--output-dir", str(output), "--max-steps", str(plan.speed_steps))
    clock = StepClock()
    train_trainer.make_trainer(args, callbacks=[clock]).train()
    return {f"trainer_steps_per_second_stream_{name}": steps_per_second(clock, plan)}


def memory_run(setup: Setup, plan: Plan, config: str, prepared: dict[str, Any]) -> dict[str, float]:
    """The same Trainer on the split in memory: `load_dataset` (cached), then the stream's `.map` done once."""
    name = next(key for key, value in CONFIGS.items() if value == config)
    found: dict[str, float] = {}
    if name not in prepared:
        start = time.perf_counter()
        prepared[name] = in_memory_split(setup, config)
        found[f"trainer_prepare_seconds_memory_{name}"] = time.perf_counter() - start
    output = setup.work / "trainer" / f"memory-{name}"
    args = arguments(setup, plan, config, "--output-dir", str(output), "--max-steps", str(plan.speed_steps))
    clock = StepClock()
    train_trainer.make_trainer(args, prepared[name], callbacks=[clock]).train()
    return found | {f"trainer_steps_per_second_memory_{name}": steps_per_second(clock, plan)}


def in_memory_split(setup: Setup, config: str) -> datasets.Dataset:
    """The train split as model inputs, a `datasets.Dataset`: the example's own batched map, applied once."""
    split = datasets.load_dataset(str(setup.repo), config, split="train", cache_dir=str(setup.warm_cache))
    return train_trainer.as_model_inputs(split, config)


def train_to_checkpoints(setup: Setup, plan: Plan) -> list[pathlib.Path]:
    """One run of the example's Trainer to the last resume position, saving a checkpoint at each."""
    output = setup.work / "trainer" / "checkpoints"
    args = arguments(setup, plan, fashion_mnist.NAME, "--output-dir", str(output), "--max-steps",
                     str(plan.checkpoints[-1]), "--save-total-limit", str(len(plan.checkpoints)))  # fmt: skip
    train_trainer.make_trainer(args, callbacks=[SaveAt(plan.checkpoints)]).train()
    return [output / f"{PREFIX_CHECKPOINT_DIR}-{step}" for step in plan.checkpoints]


def loader_state_bytes(checkpoints: Sequence[pathlib.Path]) -> dict[str, float]:
    """The largest stream state a rank wrote into a checkpoint (one rank here; each rank writes one such file)."""
    sizes = [train_trainer.stream_state_path(checkpoint, 0).stat().st_size for checkpoint in checkpoints]
    return {"trainer_loader_state_bytes": float(max(sizes))}


def first_step_run(setup: Setup, plan: Plan, name: str, figure: str, checkpoint: pathlib.Path | None) -> Figures:
    """Seconds from before the stream and the Trainer are made to the first step: a fresh run, or one resumed from
    `checkpoint` (copied first: a resumed run saves and rotates checkpoints in its output directory)."""
    output = setup.work / "trainer" / name
    if checkpoint is not None:
        shutil.copytree(checkpoint, output / checkpoint.name)
    steps = (int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0) + 2
    args = arguments(setup, plan, fashion_mnist.NAME, "--output-dir", str(output), "--max-steps", str(steps))
    clock = StepClock()
    start = time.perf_counter()
    trainer = train_trainer.make_trainer(args, callbacks=[clock])
    resume_from = train_trainer.last_complete_checkpoint(str(output)) if checkpoint else None
    if checkpoint is not None and resume_from != str(output / checkpoint.name):
        raise RuntimeError(f"resumed from {resume_from}, expected {checkpoint.name}")
    trainer.train(resume_from_checkpoint=resume_from)
    if checkpoint is not None and trainer.train_dataset.start_batch != steps - 2:
        raise RuntimeError(f"the stream started at batch {trainer.train_dataset.start_batch}, not {steps - 2}")
    shutil.rmtree(output, ignore_errors=True)
    return {f"trainer_first_step_seconds_{figure}": clock.times[0] - start}


def table(r: Mapping[str, Any]) -> str:
    rows = []
    for name, config in CONFIGS.items():
        memory = r[f"trainer_steps_per_second_memory_{name}"]
        rows.append(
            report.row(f"`{config}`, the stream", f"{r[f'trainer_steps_per_second_stream_{name}']:.1f} steps/s",
                       f"in memory: {memory:.1f} steps/s (the map beforehand: "
                       f"{report.seconds(r.get(f'trainer_prepare_seconds_memory_{name}'))})",
                       report.ratio(r[f"trainer_ratio_{name}"]), report.target_verdict(r, f"trainer_ratio_{name}"))
        )  # fmt: skip
    for mode in RESUMES:
        rows.append(
            report.row(f"resumed exactly at step {r[f'trainer_resume_step_{mode}']:.0f} ({mode}% of an epoch)",
                       report.seconds(r[f"trainer_first_step_seconds_resumed_{mode}"]),
                       f"a fresh run: {report.seconds(r['trainer_first_step_seconds_fresh'])}",
                       report.ratio(r[f"trainer_resume_ratio_{mode}"]),
                       report.target_verdict(r, f"trainer_resume_ratio_{mode}"))
        )  # fmt: skip
    state = r["trainer_loader_state_bytes"]
    rows.append(
        report.row("the stream state a rank writes into a checkpoint", f"{state:,.0f} bytes", "", "",
                   report.target_verdict(r, "trainer_loader_state_bytes"))
    )  # fmt: skip
    speed = "one run each" if r["trainer_speed_runs"] == 1 else f"the median of {r['trainer_speed_runs']:.0f} runs"
    caption = (
        f"Batches of {r['trainer_batch_size']:.0f}; steps per second over {r['trainer_timed_steps']:.0f} steps, "
        f"{speed}; seconds to the first step, the median of {r['trainer_resume_runs']:.0f} runs:"
    )
    return report.table(("this copy", "measured", "compared with", "ratio", "target"), "lrlrl", rows, caption)
