"""The `transformers` Trainer as examples/train_trainer.py runs it (its `make_trainer`: one process, 1 thread).

Steps per second on the stream (local files, the example's shuffle buffer) against the same Trainer
on the split in memory (the same `.map` to model inputs done once beforehand, timed apart), from the
WARMUP-th step over STEPS steps (two refills of the shuffle buffer), for both configs. And a resumed
run's seconds to its first step (the stream and the Trainer made, the checkpoint loaded) against a
fresh run's, at 25%, 50% and 90% of an epoch on `fashion_mnist`: the exact stream starts at the
checkpoint's window, where a resume by re-reading would cost more the later it is; and the bytes of
the stream state a rank writes into a checkpoint. Runs in a fresh interpreter (torch's thread count
is per process); the steps-per-second runs, about 40 s a round, once by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import shutil
import statistics
import time
from collections.abc import Callable, Sequence

import datasets
import transformers
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

import fashion_mnist
from benchmarks import copies, report
from benchmarks.harness import Setup, in_fresh_process
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


@dataclasses.dataclass(frozen=True)
class TrainerFigures:
    """Configs are `CONFIGS`' keys ("image", "pixels"); resume positions `RESUMES` ("25", "50", "90")."""

    steps_per_second_stream: dict[str, float]  # config -> on the stream of local files
    steps_per_second_memory: dict[str, float]  # config -> on the split in memory
    prepare_seconds_memory: dict[str, float]  # config -> the map to model inputs, done once beforehand
    trainer_ratios: dict[str, float]  # config -> the stream's steps per second / in memory's
    first_step_seconds_fresh: float
    first_step_seconds_resumed: dict[str, float]  # position -> a resumed run's seconds to its first step
    resume_ratios: dict[str, float]  # position -> resumed / fresh
    resume_steps: dict[str, int]  # position -> the step it resumes at
    loader_state_bytes: int  # the largest stream state a rank wrote into a checkpoint
    batch_size: int
    timed_steps: int
    speed_runs: int  # runs per steps-per-second figure
    resume_runs: int  # runs per first-step figure


def measure(setup: Setup) -> TrainerFigures:
    return in_fresh_process(measure_here, setup)


def measure_here(setup: Setup) -> TrainerFigures:
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    plan = Plan(copies.num_rows(setup.repo, "train"))
    samples: dict[tuple[str, str], list[float]] = {}  # (what, config or position) -> each round's figure
    prepared: dict[str, datasets.Dataset] = {}
    prepare_seconds: dict[str, float] = {}
    # Every round times the resumes (a few seconds each; one run's first step varies by a tenth of a second, as much
    # as the target's margin); the steps-per-second runs take most of the time, so by default they run once.
    checkpoints = train_to_checkpoints(setup, plan)
    speed_runs = setup.repeat if setup.long else 1
    for round_ in range(setup.repeat):
        runs: dict[tuple[str, str], Callable[[], float]] = {}
        for name in CONFIGS if round_ < speed_runs else ():
            runs["stream", name] = lambda name=name: speed_run(setup, plan, name)
            runs["memory", name] = lambda name=name: memory_run(setup, plan, name, prepared, prepare_seconds)
        runs["fresh", ""] = lambda round_=round_: first_step_run(setup, plan, f"fresh-{round_}", None)
        for mode, checkpoint in zip(RESUMES, checkpoints, strict=True):
            runs["resumed", mode] = lambda mode=mode, checkpoint=checkpoint, round_=round_: first_step_run(
                setup, plan, f"resume-{mode}-{round_}", checkpoint
            )
        for key, run in runs.items():  # taking turns, so that a slow spell of the machine hits all alike
            samples.setdefault(key, []).append(run())
    median = {key: statistics.median(values) for key, values in samples.items()}
    stream, memory = ({name: median[kind, name] for name in CONFIGS} for kind in ("stream", "memory"))
    resumed = {mode: median["resumed", mode] for mode in RESUMES}
    fresh = median["fresh", ""]
    return TrainerFigures(
        steps_per_second_stream=stream,
        steps_per_second_memory=memory,
        prepare_seconds_memory=prepare_seconds,
        trainer_ratios={name: stream[name] / memory[name] for name in CONFIGS},
        first_step_seconds_fresh=fresh,
        first_step_seconds_resumed=resumed,
        resume_ratios={mode: value / fresh for mode, value in resumed.items()},
        resume_steps=dict(zip(RESUMES, plan.checkpoints, strict=True)),
        loader_state_bytes=loader_state_bytes(checkpoints),
        batch_size=plan.batch,
        timed_steps=plan.steps,
        speed_runs=speed_runs,
        resume_runs=setup.repeat,
    )


def arguments(setup: Setup, plan: Plan, config: str, *extra: str) -> argparse.Namespace:
    common = ["--repo-id", str(setup.repo), "--config", config, "--batch-size", str(plan.batch), "--no-predict"]
    return train_trainer.parse_args([*common, "--save-steps", "0", "--torch-threads", "1", *extra])


def speed_run(setup: Setup, plan: Plan, name: str, in_memory: datasets.Dataset | None = None) -> float:
    """Steps per second of the example's Trainer on its stream of config `name`, or on the split `in_memory`."""
    output = setup.work / "trainer" / f"{'stream' if in_memory is None else 'memory'}-{name}"
    args = arguments(setup, plan, CONFIGS[name], "--output-dir", str(output), "--max-steps", str(plan.speed_steps))
    clock = StepClock()
    train_trainer.make_trainer(args, in_memory, callbacks=[clock]).train()
    return plan.steps / (clock.times[plan.warmup + plan.steps] - clock.times[plan.warmup])


def memory_run(setup: Setup, plan: Plan, name: str, prepared: dict[str, datasets.Dataset],
               prepare_seconds: dict[str, float]) -> float:  # fmt: skip
    """The same Trainer on the split in memory: `load_dataset` (cached), then the stream's `.map` done once, the
    first time (its seconds go to `prepare_seconds`)."""
    if name not in prepared:
        start = time.perf_counter()
        prepared[name] = in_memory_split(setup, CONFIGS[name])
        prepare_seconds[name] = time.perf_counter() - start
    return speed_run(setup, plan, name, prepared[name])


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


def loader_state_bytes(checkpoints: Sequence[pathlib.Path]) -> int:
    """The largest stream state a rank wrote into a checkpoint (one rank here; each rank writes one such file)."""
    sizes = [train_trainer.stream_state_path(checkpoint, 0).stat().st_size for checkpoint in checkpoints]
    return max(sizes)


def first_step_run(setup: Setup, plan: Plan, name: str, checkpoint: pathlib.Path | None) -> float:
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
    return clock.times[0] - start


def table(f: TrainerFigures) -> str:
    rows = [
        report.row(f"`{config}`, the stream", f"{f.steps_per_second_stream[name]:.1f} steps/s",
                   f"in memory: {f.steps_per_second_memory[name]:.1f} steps/s (the map beforehand: "
                   f"{report.seconds(f.prepare_seconds_memory.get(name))})",
                   report.ratio(f.trainer_ratios[name]),
                   report.verdict(("trainer", "trainer_ratios", name), f.trainer_ratios[name]))
        for name, config in CONFIGS.items()
    ]  # fmt: skip
    rows += [
        report.row(f"resumed exactly at step {f.resume_steps[mode]} ({mode}% of an epoch)",
                   report.seconds(f.first_step_seconds_resumed[mode]),
                   f"a fresh run: {report.seconds(f.first_step_seconds_fresh)}", report.ratio(f.resume_ratios[mode]),
                   report.verdict(("trainer", "resume_ratios", mode), f.resume_ratios[mode]))
        for mode in RESUMES
    ]  # fmt: skip
    rows.append(
        report.row("the stream state a rank writes into a checkpoint", f"{f.loader_state_bytes:,} bytes", "", "",
                   report.verdict(("trainer", "loader_state_bytes"), f.loader_state_bytes))
    )  # fmt: skip
    speed = "one run each" if f.speed_runs == 1 else f"the median of {f.speed_runs} runs"
    caption = (
        f"Batches of {f.batch_size}; steps per second over {f.timed_steps} steps, {speed}; seconds to the first step, "
        f"the median of {f.resume_runs} runs:"
    )
    return report.table(("this copy", "measured", "compared with", "ratio", "target"), "lrlrl", rows, caption)
