"""The `transformers` Trainer as examples/train_trainer.py runs it: steps per second on the stream against the split in
memory; a resumed run's seconds to its first step against a fresh run's; the stream state's bytes. In a fresh
interpreter (`fresh_process` in `run.SECTIONS`: torch's threads are per process)."""

import argparse
import collections
import dataclasses
import pathlib
import shutil
import statistics
import time
from collections.abc import Sequence

import datasets
import transformers
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

import fashion_mnist
from benchmarks import copies, report
from benchmarks.harness import Setup
from examples import train_trainer

CONFIGS = {"image": fashion_mnist.NAME, "pixels": fashion_mnist.PIXELS}
RESUMES = ("25", "50", "90")  # where the resumes start, in % of the first epoch: the figures' suffixes


class StepClock(transformers.TrainerCallback):
    """`time.perf_counter()` as each step begins (its batch read, its forward next); saves after the steps `save_at`."""

    def __init__(self, save_at: Sequence[int] = ()) -> None:
        self.times: list[float] = []
        self.save_at = set(save_at)

    def on_step_begin(self, args: object, state: object, control: object, **kwargs: object) -> None:
        self.times.append(time.perf_counter())

    def on_step_end(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        if state.global_step in self.save_at:
            control.should_save = True


class Plan:
    """Batch size and step counts for the data at hand: the real split's, or a few steps of the synthetic one."""

    def __init__(self, num_examples: int) -> None:
        self.batch = min(64, max(1, num_examples // 8))  # the example's
        epoch = num_examples // self.batch
        self.warmup = min(10, epoch // 4)  # steps before the clock starts (the first ones allocate, warm the caches)
        self.steps = min(156, epoch // 2)  # 2 refills of the 10,000-example shuffle buffer (every 5,000 examples)
        self.speed_steps = self.warmup + self.steps + 1
        self.checkpoints = [max(1, round(int(percent) / 100 * epoch)) for percent in RESUMES]  # the resumes' steps


@dataclasses.dataclass(frozen=True)
class TrainerFigures:
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
    transformers.logging.set_verbosity_error()  # `datasets` is quiet in the fresh process
    plan = Plan(copies.num_rows(setup.repo, "train"))
    args = arguments(setup, plan, fashion_mnist.NAME, "checkpoints", plan.checkpoints[-1])
    args.save_total_limit = len(plan.checkpoints)  # one run saves and keeps a checkpoint at each resume's step
    train_trainer.make_trainer(args, callbacks=[StepClock(save_at=plan.checkpoints)]).train()
    checkpoints = [pathlib.Path(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{step}") for step in plan.checkpoints]
    samples = {kind: collections.defaultdict(list) for kind in ("stream", "memory", "fresh", "resumed")}
    in_memory: dict[str, tuple[datasets.Dataset, float]] = {}  # config -> the split as model inputs, seconds to make it
    # Every round times the resumes: one run's first step varies by a tenth of a second, as much as the target's margin.
    speed_runs = setup.repeat if setup.long else 1  # the steps-per-second runs take most of the time: once by default
    for round_ in range(setup.repeat):  # the runs take turns, so that a slow spell of the machine hits all alike
        for name, config in CONFIGS.items() if round_ < speed_runs else ():
            samples["stream"][name].append(speed_run(setup, plan, name, "stream"))
            if name not in in_memory:  # `load_dataset` (cached), then the stream's own batched map, done once
                start = time.perf_counter()
                split = datasets.load_dataset(str(setup.repo), config, split="train", cache_dir=str(setup.warm_cache))
                in_memory[name] = train_trainer.as_model_inputs(split, config), time.perf_counter() - start
            samples["memory"][name].append(speed_run(setup, plan, name, "memory", in_memory[name][0]))
        samples["fresh"][""].append(first_step_run(setup, plan, f"fresh-{round_}", None))
        for mode, checkpoint in zip(RESUMES, checkpoints, strict=True):
            samples["resumed"][mode].append(first_step_run(setup, plan, f"resume-{mode}-{round_}", checkpoint))
    median = {kind: {key: statistics.median(runs) for key, runs in by_key.items()} for kind, by_key in samples.items()}
    stream, memory, resumed, fresh = median["stream"], median["memory"], median["resumed"], median["fresh"][""]
    return TrainerFigures(
        steps_per_second_stream=stream,
        steps_per_second_memory=memory,
        prepare_seconds_memory={name: seconds for name, (_, seconds) in in_memory.items()},
        trainer_ratios={name: stream[name] / memory[name] for name in CONFIGS},
        first_step_seconds_fresh=fresh,
        first_step_seconds_resumed=resumed,
        resume_ratios={mode: value / fresh for mode, value in resumed.items()},
        resume_steps=dict(zip(RESUMES, plan.checkpoints, strict=True)),
        loader_state_bytes=max(train_trainer.stream_state_path(path, 0).stat().st_size for path in checkpoints),
        batch_size=plan.batch,
        timed_steps=plan.steps,
        speed_runs=speed_runs,
        resume_runs=setup.repeat,
    )


def arguments(setup: Setup, plan: Plan, config: str, run: str, steps: int) -> argparse.Namespace:
    common = ["--repo-id", str(setup.repo), "--config", config, "--batch-size", str(plan.batch), "--no-predict"]
    this_run = ["--output-dir", str(setup.work / "trainer" / run), "--max-steps", str(steps)]
    return train_trainer.parse_args([*common, "--save-steps", "0", "--torch-threads", "1", *this_run])


def speed_run(setup: Setup, plan: Plan, name: str, kind: str, in_memory: datasets.Dataset | None = None) -> float:
    args = arguments(setup, plan, CONFIGS[name], f"{kind}-{name}", plan.speed_steps)
    clock = StepClock()
    train_trainer.make_trainer(args, in_memory, callbacks=[clock]).train()
    return plan.steps / (clock.times[plan.warmup + plan.steps] - clock.times[plan.warmup])


def first_step_run(setup: Setup, plan: Plan, name: str, checkpoint: pathlib.Path | None) -> float:
    """Seconds from before the stream and the Trainer are made to the first step, fresh or resumed from `checkpoint`
    (copied first: a resumed run saves and rotates checkpoints in its output directory)."""
    start_batch = int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0
    args = arguments(setup, plan, fashion_mnist.NAME, name, start_batch + 2)
    output = pathlib.Path(args.output_dir)
    expected = None if checkpoint is None else str(shutil.copytree(checkpoint, output / checkpoint.name))
    clock = StepClock()
    start = time.perf_counter()
    trainer = train_trainer.make_trainer(args, callbacks=[clock])
    resume_from = train_trainer.last_complete_checkpoint(str(output)) if checkpoint else None
    trainer.train(resume_from_checkpoint=resume_from)
    if (resume_from, trainer.train_dataset.start_batch) != (expected, start_batch):
        raise RuntimeError(f"resumed from {resume_from} at batch {trainer.train_dataset.start_batch}, not {expected}")
    shutil.rmtree(output, ignore_errors=True)
    return clock.times[0] - start


def table(f: TrainerFigures) -> str:
    rows = [
        report.row(f"`{config}`, the stream", f"{f.steps_per_second_stream[name]:.1f} steps/s",
                   f"in memory: {f.steps_per_second_memory[name]:.1f} steps/s (the map beforehand: "
                   f"{report.seconds(f.prepare_seconds_memory.get(name))})",
                   *report.judged(f, ("trainer", "trainer_ratios", name)))
        for name, config in CONFIGS.items()
    ]  # fmt: skip
    rows += [
        report.row(f"resumed exactly at step {f.resume_steps[mode]} ({mode}% of an epoch)",
                   report.seconds(f.first_step_seconds_resumed[mode]),
                   f"a fresh run: {report.seconds(f.first_step_seconds_fresh)}",
                   *report.judged(f, ("trainer", "resume_ratios", mode)))
        for mode in RESUMES
    ]  # fmt: skip
    state = f.loader_state_bytes
    verdict = report.verdict(("trainer", "loader_state_bytes"), state)
    rows.append(report.row("the stream state a rank writes into a checkpoint", f"{state:,} bytes", "", "", verdict))
    speed = "one run each" if f.speed_runs == 1 else f"the median of {f.speed_runs} runs"
    resumes = f"seconds to the first step, the median of {f.resume_runs} runs"
    caption = f"Batches of {f.batch_size}; steps per second over {f.timed_steps} steps, {speed}; {resumes}:"
    return report.comparison_table(rows, caption)
