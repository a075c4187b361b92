"""The `transformers` Trainer on this copy, as examples/train_trainer.py runs it (one process, 1 torch thread).

Two comparisons, both with the example's own Trainer (`make_trainer`: the same TinyCnn,
arguments and batch of 64):
- steps per second training on the stream (local files, the example's shuffle buffer) against
  the same Trainer on the in-memory split (`load_dataset` of the same copy, the same `.map` to
  model inputs done once beforehand and timed apart), for both configs; the clock runs from
  the WARMUP-th step over STEPS steps, which is two refills of the stream's shuffle buffer;
- the seconds from the start of a resumed run (building the stream and the Trainer, loading
  the checkpoint) to its first step, against a fresh run's seconds to its first step, resuming
  mid-epoch by skipping the batches trained (the Trainer's way: it reads them again) and with
  the stateful data loader (`--stateful-dataloader`: the stream restarts where the checkpoint
  was). Timed in the process, after the imports both pay alike. The fresh run is the one that
  writes the checkpoint; on the `fashion_mnist` config (PNGs: the dearer one to read again).

Runs in a fresh interpreter (torch's thread count is per process). One run per figure by
default (each round takes about 40 s on 2 cores with the real data); `--long` takes the median
of `setup.repeat`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import datasets
import transformers
from transformers.trainer_utils import get_last_checkpoint

import fashion_mnist
from benchmarks import copies, report
from benchmarks.harness import Figures, Setup, in_fresh_process
from examples import train_trainer

BATCH_SIZE = 64  # the example's
WARMUP = 10  # steps before the clock starts (the first ones allocate and warm the caches)
STEPS = 156  # the stream's 10,000-example shuffle buffer refills every 5,000 examples: 2 refills at 64 a step
CONFIGS = {"image": fashion_mnist.NAME, "pixels": fashion_mnist.PIXELS}
RESUMES = ("skip", "stateful")


class StepClock(transformers.TrainerCallback):
    """`time.perf_counter()` as each step begins: its batch has been read, its forward is next."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args: object, state: object, control: object, **kwargs: object) -> None:
        self.times.append(time.perf_counter())


class Plan:
    """Batch size and step counts for the data at hand: the real split's, or a few steps of the synthetic one."""

    def __init__(self, num_examples: int) -> None:
        self.batch = min(BATCH_SIZE, max(1, num_examples // 8))
        epoch = num_examples // self.batch
        self.warmup = min(WARMUP, epoch // 4)
        self.steps = min(STEPS, epoch // 2)
        self.checkpoint = self.warmup + self.steps + 1  # the fresh run's last step: mid-epoch, where it saves


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
    for round_ in range(setup.repeat):
        runs: dict[str, Callable[[], dict[str, float]]] = {}
        for name, config in CONFIGS.items() if setup.long or round_ == 0 else ():
            runs[f"stream_{name}"] = lambda config=config: stream_run(setup, plan, config)
            runs[f"memory_{name}"] = lambda name=name, config=config: memory_run(setup, plan, config, prepared)
        for mode in RESUMES:
            runs[f"resume_{mode}"] = lambda mode=mode, round_=round_: resume_run(setup, plan, mode, round_)
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
            figures[f"trainer_first_step_seconds_resumed_{mode}"] / figures[f"trainer_first_step_seconds_fresh_{mode}"]
        )
    figures["trainer_speed_runs"] = float(setup.repeat if setup.long else 1)
    figures["trainer_resume_runs"] = float(setup.repeat)
    figures["trainer_batch_size"] = float(plan.batch)
    figures["trainer_timed_steps"] = float(plan.steps)
    figures["trainer_resume_step"] = float(plan.checkpoint)
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
    args = arguments(setup, plan, config, "--output-dir", str(output), "--max-steps", str(plan.checkpoint))
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
    args = arguments(setup, plan, config, "--output-dir", str(output), "--max-steps", str(plan.checkpoint))
    clock = StepClock()
    train_trainer.make_trainer(args, prepared[name], callbacks=[clock]).train()
    return found | {f"trainer_steps_per_second_memory_{name}": steps_per_second(clock, plan)}


def in_memory_split(setup: Setup, config: str) -> datasets.Dataset:
    """The train split as model inputs, a `datasets.Dataset`: the example's own batched map, applied once."""
    split = datasets.load_dataset(str(setup.repo), config, split="train", cache_dir=str(setup.warm_cache))
    return train_trainer.as_model_inputs(split, config)


def resume_run(setup: Setup, plan: Plan, mode: str, round_: int) -> dict[str, float]:
    """A fresh run to the checkpoint step, saving there; then a run resumed from it. Each: seconds to its first
    step, from before the stream and the Trainer are made."""
    output = setup.work / "trainer" / f"resume-{mode}-{round_}"
    stateful = ("--stateful-dataloader",) if mode == "stateful" else ()
    common = ("--output-dir", str(output), "--save-steps", str(plan.checkpoint), *stateful)
    first_step = {}
    for run, steps, resume in (("fresh", plan.checkpoint, ()), ("resumed", plan.checkpoint + 3, ("--resume",))):
        args = arguments(setup, plan, fashion_mnist.NAME, "--max-steps", str(steps), *common, *resume)
        clock = StepClock()
        start = time.perf_counter()
        trainer = train_trainer.make_trainer(args, callbacks=[clock])
        checkpoint = get_last_checkpoint(str(output)) if resume else None
        trainer.train(resume_from_checkpoint=checkpoint)
        if resume and int(checkpoint.rsplit("-", 1)[-1]) != plan.checkpoint:
            raise RuntimeError(f"resumed from {checkpoint}, expected the checkpoint of step {plan.checkpoint}")
        first_step[run] = clock.times[0] - start
    return {f"trainer_first_step_seconds_{run}_{mode}": value for run, value in first_step.items()}


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
    for mode, what in (("skip", "skipping the batches trained (re-read)"), ("stateful", "the stateful loader")):
        rows.append(
            report.row(f"resumed at step {r['trainer_resume_step']:.0f}, {what}",
                       report.seconds(r[f"trainer_first_step_seconds_resumed_{mode}"]),
                       f"a fresh run: {report.seconds(r[f'trainer_first_step_seconds_fresh_{mode}'])}",
                       report.ratio(r[f"trainer_resume_ratio_{mode}"]),
                       report.target_verdict(r, f"trainer_resume_ratio_{mode}"))
        )  # fmt: skip
    caption = (
        "The `transformers` Trainer as examples/train_trainer.py runs it (a small CNN, batches of "
        f"{r['trainer_batch_size']:.0f}, one process, "
        f"1 torch thread): steps per second over {r['trainer_timed_steps']:.0f} steps on the stream of local files "
        "against the same Trainer on the split in memory; and the seconds to a resumed run's first step (the stream "
        "and the Trainer made, the checkpoint loaded) against a fresh run's. "
        + (
            f"The median of {r['trainer_resume_runs']:.0f} runs each."
            if r["trainer_speed_runs"] > 1
            else "Steps per second from one run each (`--long`: the median of 5), first steps: medians of "
            f"{r['trainer_resume_runs']:.0f}."
        )
        + " In memory, the map's float pixels are stored as nested Arrow lists that every batch converts back to "
        "tensors; the stream hands the map's arrays on as they are."
    )
    return report.comparison_table(caption, rows)
